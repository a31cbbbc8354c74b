"""PEP 517 backend: maturin builds the native wheel, hatchling the pure-Python one.

The pure wheel (``py3-none-any``) is built when asked for (``-C pure=1`` or
``ALLM_PURE=1``) and whenever cargo is missing, so ``pip install`` from the
sdist on a machine without Rust gets the pure-Python backend instead of a
compiler error. It is the same package at the same version: the package
location comes from ``[tool.maturin]`` and the version from the workspace
Cargo.toml, the places the native build reads them from. There is no
metadata-only hook: a frontend builds the wheel and reads its metadata, and
reuses that wheel.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from collections.abc import Mapping
from typing import Any

import maturin  # type: ignore[import-untyped]  # pyright: ignore[reportMissingTypeStubs]
from maturin import (  # pyright: ignore[reportMissingTypeStubs]
    build_editable,
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
)

# Python 3.10 has no tomllib; maturin and hatchling depend on tomli there.
tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
]

PURE_REQUIRES = ["hatchling>=1.26"]
NATIVE_FILES = ["*.so", "*.pyd", "*.dll", "*.dylib", "__pycache__"]


def _wants_pure(config_settings: Mapping[str, Any] | None) -> bool:
    chosen = str((config_settings or {}).get("pure", os.environ.get("ALLM_PURE", ""))).lower()
    if chosen in {"1", "true", "yes"}:
        return True
    if shutil.which("cargo") is None:
        print(
            "allm: cargo (Rust) is not on PATH, so this builds the pure-Python wheel; "
            "allm will run on its pure-Python backend. Install Rust (https://rustup.rs) "
            "and reinstall for the native one.",
            file=sys.stderr,
        )
        return True
    return False


def _load_toml(path: str) -> dict[str, Any]:
    with open(path, "rb") as handle:
        loaded: dict[str, Any] = tomllib.load(handle)
    return loaded


def _pure_config(root: str) -> dict[str, Any]:
    """pyproject.toml with the hatchling settings derived from [tool.maturin] and Cargo.toml."""
    from packaging.version import Version

    config = _load_toml(os.path.join(root, "pyproject.toml"))
    native = config["tool"]["maturin"]
    package = f"{native.get('python-source', '.')}/{native['module-name'].split('.')[0]}"
    cargo_version = _load_toml(os.path.join(root, "Cargo.toml"))["workspace"]["package"]["version"]
    project = config["project"]
    project["version"] = str(Version(cargo_version))
    project["dynamic"] = [field for field in project.get("dynamic", []) if field != "version"]
    wheel = {"packages": [package], "exclude": NATIVE_FILES, "core-metadata-version": "2.4"}
    config["tool"]["hatch"] = {"build": {"targets": {"wheel": wheel}}}
    return config


def get_requires_for_build_wheel(config_settings: Mapping[str, Any] | None = None) -> list[str]:
    """hatchling for the pure wheel, else what maturin asks for."""
    if _wants_pure(config_settings):
        return list(PURE_REQUIRES)
    return list(maturin.get_requires_for_build_wheel(config_settings))


def build_wheel(
    wheel_directory: str,
    config_settings: Mapping[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """Build the native wheel with maturin, or the pure one with hatchling."""
    if not _wants_pure(config_settings):
        return str(maturin.build_wheel(wheel_directory, config_settings, metadata_directory))
    from hatchling.builders.wheel import WheelBuilder

    root = os.getcwd()
    builder = WheelBuilder(root, config=_pure_config(root))
    return os.path.basename(next(builder.build(directory=wheel_directory, versions=["standard"])))
