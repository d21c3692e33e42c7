"""A folder of phase outputs: each a dict of arrays kept as ``<name>.npz``, made once, then read.

Shared by the benchmark runner (:mod:`cch_jax.bench._run`) and ``cch trial``
(:mod:`cch_jax.bench._trial`); each of them adds its own fingerprint check (which configurations a
folder may hold; :func:`hash_arrays` feeds it the data) and its own JSON files.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np


class PhaseCache:
    """Named dicts of arrays as ``.npz`` files in ``folder`` (``None``: nothing is kept).

    Attributes:
      dir: the folder, or None.
      hits: the names read back from the folder, in order.
      made: the names computed (and, with a folder, written), in order.
    """

    def __init__(self, folder: Path | None):
        self.dir = folder
        self.hits: list[str] = []
        self.made: list[str] = []

    def get(self, name: str, make: Callable[[], dict]) -> dict:
        """The arrays stored under ``name``, or ``make()``'s (then stored: write, then rename).

        Args:
          name: the phase output's name (the file is ``<name>.npz``).
          make: computes the dict of arrays when it is not stored yet.

        Returns:
          A dict of NumPy arrays (those read back, or what ``make`` returned).
        """
        if self.dir is None:
            value = make()
            self.made.append(name)
            return value
        path = self.dir / f"{name}.npz"
        if path.exists():
            self.hits.append(name)
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        value = make()
        tmp = self.dir / f"{name}.tmp.npz"
        np.savez(tmp, **value)
        tmp.replace(path)
        self.made.append(name)
        return value


def hash_arrays(h, arrays) -> None:
    """Feeds named arrays to the hash ``h`` (a ``hashlib`` object), in name order: each name, then
    the array's bytes in C order. Part of a cache folder's fingerprint.

    Args:
      h: the hash object, updated in place.
      arrays: a mapping name (str) -> array (any shape and dtype).
    """
    for k in sorted(arrays):
        h.update(k.encode())
        h.update(np.ascontiguousarray(arrays[k]).tobytes())
