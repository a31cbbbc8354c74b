"""The package version, from the installed distribution's metadata.

The one place it is written is the workspace Cargo.toml: maturin and the pure
build both take it from there, and the native module carries the same value.
"""

from importlib.metadata import version

__version__: str = version("allm-engine")
