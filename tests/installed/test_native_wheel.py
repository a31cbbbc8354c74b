"""The native wheel: one abi3 build for CPython 3.10 and up, running the Rust backend."""

from __future__ import annotations

import allm


def test_the_native_wheel_runs_the_rust_backend_by_default():
    info = allm.backend_info()
    assert (info.name, info.reason) == ("rust", "auto: native module loaded")


def test_the_native_module_is_a_release_build():
    assert allm.backend_info().build_profile == "release"


def test_the_native_wheel_is_abi3_for_cpython_3_10_and_up(wheel):
    assert "-cp310-abi3-" in wheel.name
