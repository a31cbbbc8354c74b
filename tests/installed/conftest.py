"""Checks of one built wheel installed in a fresh virtual environment (see run.py here).

Collected only when ``ALLM_WHEEL`` names the wheel under test, and then only
the module for that kind of wheel (native or pure) besides ``test_wheel.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

WHEEL = Path(os.environ["ALLM_WHEEL"]) if os.environ.get("ALLM_WHEEL") else None
PURE = WHEEL is not None and WHEEL.name.endswith("-none-any.whl")

if WHEEL is None:
    collect_ignore_glob = ["test_*.py"]
else:
    collect_ignore_glob = ["test_native_wheel.py" if PURE else "test_pure_wheel.py"]


@pytest.fixture
def wheel() -> Path:
    """The wheel under test."""
    assert WHEEL is not None
    return WHEEL


@pytest.fixture
def pure() -> bool:
    """Whether the wheel under test is the pure-Python one."""
    return PURE


@pytest.fixture
def dist(wheel: Path) -> Path:
    """The directory holding the wheel under test and the artifacts built with it."""
    return wheel.parent


@pytest.fixture
def package_source() -> Path:
    """The package sources the wheel was built from (only listed, never imported)."""
    return Path(os.environ["ALLM_PACKAGE_SOURCE"])


@pytest.fixture
def sdist() -> Path:
    """The sdist built alongside the wheel; skips when run.py was not given one."""
    if not os.environ.get("ALLM_SDIST"):
        pytest.skip("no sdist given (run.py --sdist)")
    return Path(os.environ["ALLM_SDIST"])
