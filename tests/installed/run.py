"""Install one built wheel into a fresh virtual environment and run the suite against it.

    python tests/installed/run.py WHEEL [--extras fast] [--sdist SDIST] [--interpreter PYTHON]
                                        [-- PYTEST_ARGS...]

The suite is copied (with README.md and the pytest settings in pyproject.toml)
into a temporary directory and run from there, so the source tree's
``python/allm`` cannot shadow the installed package. ``tests/installed`` joins
that run: it checks the wheel's file list, where ``allm`` was imported from and
which backend the wheel gives. Afterwards it prints what ``import allm`` costs
in that environment (``-X importtime``, best of five).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMPORT_RUNS = 5


def venv_python(env_dir: Path) -> Path:
    """The interpreter of the virtual environment at ``env_dir``."""
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def create_env(env_dir: Path, interpreter: str, wheel: Path, extras: str) -> Path:
    """A fresh virtual environment: the current pip, the wheel (with ``extras``), the test dependencies."""
    subprocess.run([interpreter, "-m", "venv", str(env_dir)], check=True)
    python = venv_python(env_dir)
    target = f"{wheel}[{extras}]" if extras else str(wheel)
    group = f"{ROOT / 'pyproject.toml'}:test"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip", target, "--group", group], check=True)
    return python


def copy_suite(dest: Path) -> Path:
    """The tests, the fuzzer they check, README.md and pyproject.toml, without the package sources.

    The shared recorded streams beside the checkout are not linked: the tests
    that read them take most of the suite's time and run in the source-tree
    run of ``make test``; here they skip.
    """
    skip = shutil.ignore_patterns("__pycache__", "failures")
    for folder in ("tests", "fuzz"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=skip)
    for name in ("README.md", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def suite_env(env_dir: Path, wheel: Path, sdist: Path | None) -> dict[str, str]:
    """The environment the suite runs in: the venv first on PATH, nothing pointing at the sources."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "ALLM_BACKEND", "ALLM_EXPECT_NATIVE"}
    }
    env["VIRTUAL_ENV"] = str(env_dir)
    env["PATH"] = os.pathsep.join([str(venv_python(env_dir).parent), env.get("PATH", "")])
    env["ALLM_WHEEL"] = str(wheel)
    env["ALLM_PACKAGE_SOURCE"] = str(ROOT / "python" / "allm")
    if not wheel.name.endswith("-none-any.whl"):
        env["ALLM_EXPECT_NATIVE"] = "1"
    if sdist is not None:
        env["ALLM_SDIST"] = str(sdist)
    return env


def parse_importtime(stderr: str) -> list[tuple[str, int, int]]:
    """(module, self us, cumulative us) rows of ``-X importtime`` output."""
    rows: list[tuple[str, int, int]] = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, cumulative, name = line.removeprefix("import time:").split("|")
            rows.append((name.strip(), int(own), int(cumulative)))
    return rows


def import_time(python: Path, env: dict[str, str], cwd: Path) -> str:
    """``import allm`` in ms (best of IMPORT_RUNS) and the packages that take most of it."""
    runs: list[tuple[int, list[tuple[str, int, int]]]] = []
    for _ in range(IMPORT_RUNS):
        done = subprocess.run(
            [str(python), "-X", "importtime", "-c", "import allm"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        )
        rows = parse_importtime(done.stderr)
        totals = [cumulative for name, _, cumulative in rows if name == "allm"]
        if not totals:  # PyPy, for one, ignores -X importtime
            return "import allm: this interpreter does not report -X importtime"
        runs.append((totals[0], rows))
    total, rows = min(runs, key=lambda run: run[0])
    by_package: Counter[str] = Counter()
    for name, own, _ in rows:
        by_package[name.split(".")[0]] += own
    top = ", ".join(f"{name} {own / 1000:.1f}" for name, own in by_package.most_common(8))
    return f"import allm: {total / 1000:.1f} ms (best of {IMPORT_RUNS}); self time by package (ms): {top}"


def main() -> int:
    parser = argparse.ArgumentParser(description="Test one built wheel installed in a fresh venv.")
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--extras", default="", help="extras to install with the wheel, e.g. fast")
    parser.add_argument("--interpreter", default=sys.executable, help="the Python the venv is made from")
    parser.add_argument(
        "--sdist", type=Path, help="also check that this sdist builds the pure wheel without cargo"
    )
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    pytest_args = argv[split + 1 :]
    wheel = args.wheel.resolve()
    sdist = args.sdist.resolve() if args.sdist else None
    with tempfile.TemporaryDirectory(prefix="allm-installed-") as tmp:
        work = Path(tmp)
        python = create_env(work / "venv", args.interpreter, wheel, args.extras)
        checkout = copy_suite(work / "checkout")
        env = suite_env(work / "venv", wheel, sdist)
        print(f"{wheel.name}: testing the installed package in {work}", flush=True)
        pytest = [str(python), "-m", "pytest", "-q", "-rfE", "-p", "no:cacheprovider", *pytest_args]
        code = subprocess.run(pytest, cwd=checkout, env=env, check=False).returncode
        print(f"{wheel.name}: {import_time(python, env, work)}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
