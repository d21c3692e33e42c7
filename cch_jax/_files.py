"""Output paths, checked before any work starts: folders created and proven writable.

Standard library only (no JAX, no NumPy), so that the CLI can check ``--out`` / ``--json`` in a
fraction of a second. Every problem is a ``ValueError`` whose message starts with the argument's
name, like the checks of :mod:`cch_jax._checks`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"


def output_dir(name: str, path) -> Path:
    """Creates the output folder ``path`` (and parents) and proves it writable, before any work.

    Args:
      name: the argument's name (e.g. ``"out"`` or ``"--out"``), used in error messages.
      path: a folder path (str or ``os.PathLike``).

    Returns:
      The folder as a ``Path`` (``~`` expanded).
    """
    if path is None or (isinstance(path, str) and not path.strip()):
        raise ValueError(f"{name}: expected a folder path, got {path!r}")
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"{name}: expected a folder path, got {_shown(path)}")
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{name}: {str(folder)!r} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cch_write_test_"):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ValueError(f"{name}: cannot write to folder {str(folder)!r} ({reason})") from None
    return folder


def output_file(name: str, path) -> Path:
    """Checks that the file ``path`` can be written before any work: its folder is created and
    proven writable, and ``path`` is not itself a folder.

    Args:
      name: the argument's name (e.g. ``"--json"``), used in error messages.
      path: a file path (str or ``os.PathLike``).

    Returns:
      The file path as a ``Path`` (``~`` expanded; the file itself is not created).
    """
    if path is None or not str(path).strip():
        raise ValueError(f"{name}: expected a file path, got {path!r}")
    target = Path(path).expanduser()
    if target.is_dir():
        raise ValueError(f"{name}: {str(target)!r} is a folder; expected a file path")
    output_dir(name, target.parent if str(target.parent) else ".")
    return target
