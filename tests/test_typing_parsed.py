"""``response.parsed`` is typed as the output type (tests/typing/parsed_types.py, mypy and pyright)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TYPING = Path(__file__).resolve().parent / "typing" / "parsed_types.py"
ROOT = TYPING.parents[2]


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_parsed_types_under_mypy_strict(tmp_path: Path) -> None:
    command = [_tool("mypy"), "--strict", "--warn-unused-ignores", "--cache-dir", str(tmp_path), str(TYPING)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_parsed_types_under_pyright_strict() -> None:
    command = [_tool("pyright"), "--pythonpath", sys.executable, str(TYPING)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
