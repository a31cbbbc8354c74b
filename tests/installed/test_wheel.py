"""What a built wheel holds, and that the suite runs against the installed copy of it."""

from __future__ import annotations

import sys
import sysconfig
import zipfile
from pathlib import Path

import allm

PACKAGE_SUFFIXES = {".py", ".pyi"}
TYPING_MARKER = "py.typed"
NATIVE_SUFFIXES = (".so", ".pyd")


def names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def native_modules(wheel: Path) -> set[str]:
    return {
        name for name in names(wheel) if name.startswith("allm/_native.") and name.endswith(NATIVE_SUFFIXES)
    }


def source_files(source: Path) -> set[str]:
    return {
        f"allm/{path.relative_to(source).as_posix()}"
        for path in source.rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and (path.suffix in PACKAGE_SUFFIXES or path.name == TYPING_MARKER)
    }


def dist_info(wheel: Path) -> str:
    return f"allm_engine-{wheel.name.split('-')[1]}.dist-info/"


def test_the_wheel_holds_exactly_the_package_sources_stub_and_typing_marker(wheel, package_source):
    package = {name for name in names(wheel) if name.startswith("allm/")} - native_modules(wheel)
    assert package == source_files(package_source)
    assert {"allm/py.typed", "allm/_native.pyi", "allm/__main__.py"} <= package


def test_the_native_module_is_in_the_native_wheel_only(wheel, pure):
    assert len(native_modules(wheel)) == (0 if pure else 1)


def test_everything_else_in_the_wheel_is_metadata_and_the_licence(wheel):
    info = dist_info(wheel)
    rest = {name.removeprefix(info) for name in names(wheel) if not name.startswith("allm/")}
    assert {"METADATA", "WHEEL", "RECORD", "licenses/LICENSE"} <= rest
    assert all(
        name in {"METADATA", "WHEEL", "RECORD", "licenses/LICENSE"} or name.startswith("sboms/")
        for name in rest
    )


def test_allm_is_imported_from_the_virtual_environment_not_the_sources():
    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    assert sys.prefix != sys.base_prefix
    assert Path(allm.__file__).resolve().parents[1] in site


def test_the_installed_version_is_the_wheels(wheel):
    assert allm.__version__ == wheel.name.split("-")[1]
