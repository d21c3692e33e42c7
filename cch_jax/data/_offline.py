"""Real image data that installs from package registries, for machines without internet.

* Fashion-MNIST as the original gzip IDX files of the Debian package ``dataset-fashion-mnist``
  (``apt-get install dataset-fashion-mnist``; MIT licence), in /usr/share/datasets/fashion-mnist/.
  These are the same images as tfds's fashion_mnist (the archives' checksums differ).
* scikit-learn's 8x8 handwritten digits (1797 images, 10 classes), a tiny real dataset.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from cch_jax import _checks

DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
# IDX type codes (the third byte of the magic number) -> big-endian NumPy dtypes.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
DIGITS_TEST_EXAMPLES = 500


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Reads one IDX file (LeCun's MNIST format), gzip-compressed or not.

    Args:
      path: the file; a name ending in ``.gz`` is decompressed.

    Returns:
      The array, shape from the header (``[n, rows, cols]`` images or ``[n]`` labels), in the
      file's dtype (uint8 for MNIST-like data), native byte order.

    Raises:
      FileNotFoundError: no such file.
      ValueError: not an IDX file (bad magic number, unknown type, wrong payload size).
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"path: {path} is not an IDX file (bad magic number)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"path: {path} has unknown IDX type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if ndim < 1 or len(raw) < header:
        raise ValueError(f"path: {path} has a truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"path: {path} holds {len(raw) - header} data bytes, the header {shape} needs {expected}"
        )
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _check_split(split) -> str:
    return _checks.check_choice("split", split, tuple(_IDX_FILES))


def _take(images, labels, max_examples):
    if max_examples is not None:
        max_examples = _checks.check_int("max_examples", max_examples, minimum=1)
        images, labels = images[:max_examples], labels[:max_examples]
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.int32)


def load_fashion_mnist_idx(
    split: str,
    *,
    root: str | os.PathLike = DEBIAN_FASHION_MNIST_DIR,
    max_examples: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads real Fashion-MNIST from the original IDX files (e.g. the Debian package's).

    Args:
      split: 'train' (60 000 images) or 'test' (10 000).
      root: folder holding ``train-images-idx3-ubyte.gz`` etc. (default: where the Debian package
        ``dataset-fashion-mnist`` puts them).
      max_examples: keep only the first ``max_examples``.

    Returns:
      ``(images [n, 28, 28, 1] uint8, labels [n] int32)``.

    Raises:
      FileNotFoundError: the files are missing (the message names the path and the package).
    """
    _check_split(split)
    root = Path(root)
    image_file, label_file = (root / f for f in _IDX_FILES[split])
    for f in (image_file, label_file):
        if not f.exists():
            raise FileNotFoundError(
                f"root: {f} not found. Real Fashion-MNIST offline comes from the Debian package "
                f"'dataset-fashion-mnist' (`sudo apt-get install dataset-fashion-mnist`, files in "
                f"{DEBIAN_FASHION_MNIST_DIR}), or use cch_jax.data.load('fashion_mnist', ...) "
                f"with tensorflow-datasets."
            )
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"root: {root} holds images {images.shape} and labels {labels.shape}, expected "
            f"[n, 28, 28] and [n]"
        )
    return _take(images[..., None], labels, max_examples)


def load_digits(split: str, *, max_examples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits as uint8 images, with a fixed train/test split.

    The 1797 images are shuffled once with a fixed seed; the last 500 are the test split.
    Pixel values 0..16 are scaled to 0..255.

    Args:
      split: 'train' (1297 images) or 'test' (500).
      max_examples: keep only the first ``max_examples`` of the split.

    Returns:
      ``(images [n, 8, 8, 1] uint8, labels [n] int32)``.
    """
    _check_split(split)
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as err:  # scikit-learn is in the `test` extra, not the core
        raise ImportError(
            "load_digits needs scikit-learn: pip install scikit-learn (or cch-jax[test])"
        ) from err

    bunch = _sk_load_digits()
    order = np.random.default_rng(0).permutation(bunch.images.shape[0])
    cut = bunch.images.shape[0] - DIGITS_TEST_EXAMPLES
    order = order[:cut] if split == "train" else order[cut:]
    images = np.rint(bunch.images[order] * (255.0 / 16.0)).astype(np.uint8)[..., None]
    return _take(images, bunch.target[order], max_examples)
