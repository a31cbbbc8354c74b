"""The pure-Python wheel: any Python, the python backend, and a clear refusal of ALLM_BACKEND=rust."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import allm


def test_the_pure_wheel_is_tagged_for_any_python_3(wheel):
    assert wheel.name.endswith("-py3-none-any.whl")


def test_the_pure_wheel_runs_the_python_backend_and_records_why():
    info = allm.backend_info()
    assert info.name == "python"
    assert info.reason.startswith("auto: native module unavailable (No module named 'allm._native')")


def test_backend_rust_fails_with_an_import_error_that_names_the_cause():
    env = {**os.environ, "ALLM_BACKEND": "rust"}
    done = subprocess.run([sys.executable, "-c", "import allm"], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "ImportError: ALLM_BACKEND=rust but the native module is unusable" in done.stderr


def test_the_sdist_builds_the_pure_wheel_where_cargo_is_missing(sdist, tmp_path):
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not shutil.which("cargo", path=p)
    )
    command = [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(sdist)]
    done = subprocess.run(command, env={**os.environ, "PATH": path}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [p.name for p in tmp_path.iterdir()] == [f"allm_engine-{allm.__version__}-py3-none-any.whl"]
    assert "cargo (Rust) is not on PATH" in done.stdout + done.stderr
