"""``python -m allm`` prints the version, the active backend and why, and the extras."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

import allm
from conftest import use_backend


def run_main(backend: str) -> list[str]:
    env = {**os.environ, "ALLM_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-m", "allm"], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.splitlines()


@pytest.mark.parametrize("name", ["rust", "python"])
def test_python_m_allm_prints_version_backend_and_reason(name: str) -> None:
    use_backend(name)
    lines = run_main(name)
    assert lines[0] == f"allm-engine {allm.__version__}"
    assert lines[1].startswith(f"backend: {name} {allm.__version__} (")
    assert lines[2].startswith(f"reason: {name}: ")


def test_python_m_allm_lists_the_fast_extra_as_installed_exactly_when_orjson_is() -> None:
    lines = run_main("python")
    has_orjson = importlib.util.find_spec("orjson") is not None
    expected = "extras installed: fast" if has_orjson else "extras missing: fast"
    assert expected in lines
