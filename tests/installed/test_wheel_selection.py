"""pip takes the native wheel where its tags match and the pure wheel everywhere else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import allm

PURE = f"allm_engine-{allm.__version__}-py3-none-any.whl"
NATIVE_X86_64 = f"allm_engine-{allm.__version__}-cp310-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"


def chosen_wheel(dist: Path, target: Path, python: str, implementation: str, abi: str, platform: str) -> str:
    """The wheel pip picks from ``dist`` for the given interpreter and platform."""
    command = [
        *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-index"),
        *("--only-binary", ":all:", "--find-links", str(dist), "--dest", str(target)),
        *("--python-version", python, "--implementation", implementation, "--abi", abi),
        *("--platform", platform, f"allm-engine=={allm.__version__}"),
    ]
    subprocess.run(command, check=True, capture_output=True, text=True)
    (chosen,) = [path.name for path in target.iterdir()]
    return chosen


@pytest.mark.parametrize(
    ("python", "implementation", "abi", "platform", "expected"),
    [
        ("3.10", "cp", "cp310", "manylinux2014_x86_64", NATIVE_X86_64),
        ("3.14", "cp", "cp314", "manylinux2014_x86_64", NATIVE_X86_64),
        ("3.13", "cp", "cp313t", "manylinux2014_x86_64", PURE),
        ("3.10", "pp", "pypy310_pp73", "manylinux2014_x86_64", PURE),
        ("3.12", "cp", "cp312", "linux_riscv64", PURE),
    ],
    ids=["cpython-3.10", "cpython-3.14", "free-threaded-3.13", "pypy-3.10", "riscv64"],
)
def test_pip_picks_the_native_wheel_where_it_matches_and_the_pure_one_elsewhere(
    dist, tmp_path, python, implementation, abi, platform, expected
):
    assert chosen_wheel(dist, tmp_path, python, implementation, abi, platform) == expected
