"""Shared fixtures of the benchmark suite.

* ``wire`` and ``size`` parametrize every bench over the three provider wires and the
  three stream sizes (200, 2,000, 20,000 SSE events).
* ``native`` / ``pure`` give the two backends; ``require(module, "Fold.apply_many", ...)``
  skips a variant cleanly (with the reason) when the module lacks that API.
* ``measure(benchmark, fn, suite=..., impl=..., check=...)`` runs one benchmark with a time
  budget: one call to calibrate (its result goes to ``check``), then enough rounds
  (3..200, grouped in iterations of >= ~2 ms) to fill ``ALLM_BENCH_BUDGET`` seconds
  (default 1.2). It tags the result's extra_info with suite / wire / size / impl, which
  ``benches/report.py`` reads.

Benchmarks only measure: nothing here asserts on timings. The sanity checks (that an
implementation produced the expected text and tool calls) run once, outside the timing.
"""

from __future__ import annotations

import gc
import importlib.metadata
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from streams import SIZES, WIRES

BUDGET = float(os.environ.get("ALLM_BENCH_BUDGET", "1.2"))
MIN_ROUNDS = int(os.environ.get("ALLM_BENCH_MIN_ROUNDS", "3"))
MAX_ROUNDS = 200
ROUND_SECONDS = 0.002


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "wire" in metafunc.fixturenames:
        metafunc.parametrize("wire", WIRES)
    if "size" in metafunc.fixturenames:
        metafunc.parametrize("size", SIZES)


def _import(name: str) -> ModuleType:
    try:
        __import__(name)
    except Exception as exc:  # ImportError, or a half-finished package raising anything
        pytest.skip(f"{name} not importable: {type(exc).__name__}: {exc}")
    return sys.modules[name]


@pytest.fixture(scope="session")
def native() -> ModuleType:
    return _import("allm._native")


@pytest.fixture(scope="session")
def pure() -> ModuleType:
    return _import("allm._pure")


def dist_version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def require(module: ModuleType, *paths: str) -> None:
    """Skip unless every dotted attribute path exists on module (e.g. "Fold.apply_many")."""
    for path in paths:
        obj: Any = module
        for part in path.split("."):
            if not hasattr(obj, part):
                pytest.skip(f"{module.__name__} has no {path} (API not there yet)")
            obj = getattr(obj, part)


@pytest.fixture
def backend_for(request: pytest.FixtureRequest) -> Callable[[str], ModuleType]:
    """backend_for("native") / backend_for("pure"), each skipping if not importable."""

    def get(impl: str) -> ModuleType:
        if impl == "native":
            return request.getfixturevalue("native")
        if impl == "pure":
            return request.getfixturevalue("pure")
        raise ValueError(impl)

    return get


@pytest.fixture
def measure(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """measure(benchmark, fn, suite=..., impl=..., check=None, **extra_info).

    Calls ``fn`` once (warm-up and calibration; ``check(result)`` then validates the
    output, outside the timing), then times it with ``benchmark.pedantic``.
    """
    callspec = getattr(request.node, "callspec", None)
    params = dict(callspec.params) if callspec else {}

    def run(
        benchmark: Any,
        fn: Callable[[], Any],
        *,
        suite: str,
        impl: str,
        check: Callable[[Any], None] | None = None,
        **info: Any,
    ) -> Any:
        wire = params.get("wire", info.pop("wire", None))
        size = params.get("size", info.pop("size", None))
        benchmark.group = f"{suite} {wire} {size}"
        start = time.perf_counter()
        result = fn()
        once = max(time.perf_counter() - start, 1e-7)
        if check is not None:
            check(result)
        if impl == "native" and "allm._native" in sys.modules:
            info.setdefault("build_profile", getattr(sys.modules["allm._native"], "BUILD_PROFILE", "?"))
        benchmark.extra_info.update(suite=suite, wire=wire, size=size, impl=impl, **info)
        gc.collect()  # start each benchmark without garbage left by the previous one
        iterations = max(1, int(ROUND_SECONDS / once))
        rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(BUDGET / (once * iterations))))
        return benchmark.pedantic(fn, rounds=rounds, iterations=iterations, warmup_rounds=0)

    return run
