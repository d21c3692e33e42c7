"""The package version, read once from the installed distribution's metadata.

``importlib.metadata.version("cch-jax")`` is the single source (``pyproject.toml``'s
``version``); a source tree used without being installed (no ``cch-jax`` distribution on the
path) reports :data:`UNINSTALLED_VERSION`. Standard library only, so that any module may import
it without importing the rest of the package.
"""

from __future__ import annotations

import importlib.metadata

DISTRIBUTION = "cch-jax"
UNINSTALLED_VERSION = "0+unknown"


def package_version() -> str:
    """The installed ``cch-jax`` version string, or ``"0+unknown"`` for an uninstalled tree.

    Returns:
      The version, e.g. ``"0.1.0"``.
    """
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return UNINSTALLED_VERSION


__version__ = package_version()
