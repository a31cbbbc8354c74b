"""Shared fixtures: every behavioural test runs on both backends through ``backend``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

if os.environ.get("ALLM_TEST_WITHOUT_ORJSON"):
    # As in the default install, which has no orjson: the import fails and the
    # pure twin falls back to the json module (make test runs the JSON-heavy
    # tests this way too).
    sys.modules["orjson"] = None  # type: ignore[assignment]

from allm import _backend, _pure
from allm.providers._clients import TRANSPORT_ENV

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
OWN_FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _native() -> tuple[ModuleType | None, str]:
    try:
        return _backend._load_native(), ""
    except ImportError as exc:
        return None, str(exc)


NATIVE, NATIVE_PROBLEM = _native()
BACKENDS: dict[str, ModuleType | None] = {"rust": NATIVE, "python": _pure}


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("ALLM_EXPECT_NATIVE") and NATIVE is None:
        raise pytest.UsageError(
            f"ALLM_EXPECT_NATIVE is set but the native backend did not load: {NATIVE_PROBLEM}"
        )


def use_backend(name: str) -> ModuleType:
    """The backend module called ``name``; skips (or fails under ALLM_EXPECT_NATIVE) when absent."""
    module = BACKENDS[name]
    if module is None:
        if os.environ.get("ALLM_EXPECT_NATIVE"):
            pytest.fail(f"native backend expected but missing: {NATIVE_PROBLEM}")
        pytest.skip(f"native backend not built: {NATIVE_PROBLEM}")
    return module


HTTP_BACKENDS = ["rust", "rust+httpx", "python"]
"""The ``backend`` params of tests marked ``http``: the native backend over its native
transport and over httpx, and the pure backend (always httpx)."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        http = metafunc.definition.get_closest_marker("http") is not None
        metafunc.parametrize("backend", HTTP_BACKENDS if http else ["rust", "python"], indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The backend under test, also installed as the one the façade uses, with its HTTP
    transport: native for ``rust``, httpx for ``rust+httpx`` and ``python``."""
    name, _, transport = str(request.param).partition("+")
    module = use_backend(name)
    monkeypatch.setattr(_backend, "backend", module)
    if transport:
        monkeypatch.setenv(TRANSPORT_ENV, transport)
    else:
        monkeypatch.delenv(TRANSPORT_ENV, raising=False)
    return module


@pytest.fixture
def native() -> ModuleType:
    """The native backend (for parity tests)."""
    return use_backend("rust")


@pytest.fixture
def shared_fixtures() -> Path:
    """``../shared/fixtures``; skips cleanly when that folder is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is not present")
    return SHARED_FIXTURES
