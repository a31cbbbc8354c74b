"""Backend selection: auto falls back and says why; rust fails loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import allm

PYTHON_DIR = str(Path(allm.__file__).resolve().parents[1])


def run(code: str, backend: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLM_BACKEND": backend, "PYTHONPATH": PYTHON_DIR}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)


def test_backend_info_reports_name_version_profile_and_reason():
    info = allm.backend_info()
    assert info.name in {"rust", "python"}
    assert info.version == allm.__version__
    assert info.build_profile and info.reason


def test_backend_info_names_the_default_http_transport():
    script = "import allm; print(allm.backend_info().http_transport)"
    assert run(script, "python").stdout.strip() == "httpx"
    if allm.backend_info().name == "rust":
        assert run(script, "rust").stdout.strip() == "native"


def test_python_backend_is_chosen_on_request():
    out = run("import allm; print(allm.backend_info().name)", "python")
    assert out.stdout.strip() == "python"


def test_an_unknown_backend_name_fails_at_import():
    out = run("import allm", "cobol")
    assert out.returncode != 0 and "ALLM_BACKEND must be" in out.stderr


def test_rust_backend_fails_loudly_when_the_native_module_is_missing():
    code = "import sys; sys.modules['allm._native'] = None\nimport allm"
    out = run(code, "rust")
    assert out.returncode != 0 and "ALLM_BACKEND=rust" in out.stderr


def test_auto_falls_back_to_python_and_records_why_when_native_is_missing():
    code = (
        "import sys; sys.modules['allm._native'] = None\n"
        "import allm; info = allm.backend_info(); print(info.name); print(info.reason)"
    )
    out = run(code, "auto")
    name, reason = out.stdout.strip().splitlines()
    assert name == "python" and "unavailable" in reason


def test_native_backend_is_active_when_make_test_expects_it():
    if not os.environ.get("ALLM_EXPECT_NATIVE"):
        pytest.skip("ALLM_EXPECT_NATIVE is not set (make test sets it)")
    assert allm.backend_info().name == "rust"


def test_rust_backend_refuses_a_native_module_of_another_version():
    code = (
        "import sys, types; m = types.ModuleType('allm._native')\n"
        "m.VERSION = '0.0.0'; m.BUILD_PROFILE = 'x'\n"
        "sys.modules['allm._native'] = m\n"
        "import allm"
    )
    out = run(code, "rust")
    assert out.returncode != 0 and "version 0.0.0" in out.stderr


def test_orjson_is_hidden_when_the_suite_runs_without_it():
    if not os.environ.get("ALLM_TEST_WITHOUT_ORJSON"):
        pytest.skip("ALLM_TEST_WITHOUT_ORJSON is not set (make test sets it for a second run)")
    from allm._pure.decoders import _json

    assert _json._orjson is None
    with pytest.raises(ImportError):
        import orjson  # noqa: F401
