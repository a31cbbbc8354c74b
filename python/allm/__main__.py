"""``python -m allm``: version, active backend and why, installed extras.

This is what to paste into a bug report; ``allm.backend_info()`` gives the
backend part to programs.
"""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

import allm

DISTRIBUTION = "allm-engine"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def _is_installed(requirement: str) -> bool:
    name = _NAME.match(requirement.strip())
    if name is None:
        return False
    try:
        metadata.version(name.group())
    except metadata.PackageNotFoundError:
        return False
    return True


def extras() -> dict[str, bool]:
    """Each optional extra of the distribution, and whether everything it needs is installed."""
    dist = metadata.distribution(DISTRIBUTION)
    status = dict.fromkeys(dist.metadata.get_all("Provides-Extra") or [], True)
    for requirement in dist.requires or []:
        name, _, marker = requirement.partition(";")
        for extra in _EXTRA_MARKER.findall(marker):
            status[extra] = status.get(extra, True) and _is_installed(name)
    return status


def report() -> str:
    """The lines ``python -m allm`` prints."""
    info = allm.backend_info()
    status = extras()
    installed = sorted(name for name, ok in status.items() if ok)
    missing = sorted(name for name, ok in status.items() if not ok)
    return "\n".join(
        [
            f"{DISTRIBUTION} {allm.__version__}",
            f"backend: {info.name} {info.version} ({info.build_profile})",
            f"reason: {info.reason}",
            f"http transport: {info.http_transport}",
            f"extras installed: {', '.join(installed) or 'none'}",
            f"extras missing: {', '.join(missing) or 'none'}",
            f"python: {platform.python_implementation()} {platform.python_version()} "
            f"on {platform.system()} {platform.machine()}",
            f"location: {Path(allm.__file__).parent}",
        ]
    )


if __name__ == "__main__":
    print(report())
