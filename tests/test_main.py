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


def _listed(lines: list[str], label: str) -> set[str]:
    (line,) = [line for line in lines if line.startswith(f"extras {label}: ")]
    names = line.split(": ", 1)[1]
    return set() if names == "none" else set(names.split(", "))


@pytest.mark.parametrize(
    ("extra", "module"), [("fast", "orjson"), ("otel", "opentelemetry"), ("prices", "genai_prices")]
)
def test_python_m_allm_lists_an_extra_as_installed_exactly_when_its_package_is(
    extra: str, module: str
) -> None:
    lines = run_main("python")
    present = importlib.util.find_spec(module) is not None
    assert (extra in _listed(lines, "installed")) is present
    assert (extra in _listed(lines, "missing")) is not present
