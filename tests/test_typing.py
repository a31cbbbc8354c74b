"""The public API type-checks in ordinary user programs (tests/typing) under mypy --strict and pyright."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = ROOT / "tests" / "typing"


def _tool(name: str) -> list[str]:
    exe = Path(sys.executable).parent / name
    if exe.exists():
        return [str(exe)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return [found]


def test_user_programs_pass_mypy_strict() -> None:
    done = subprocess.run(
        [
            *_tool("mypy"),
            "--strict",
            "--no-incremental",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(PROGRAMS),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]


def test_user_programs_pass_pyright_strict() -> None:
    done = subprocess.run(
        [*_tool("pyright"), "--pythonpath", sys.executable, str(PROGRAMS)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
