"""Image classification datasets through tensorflow-datasets' array_record data sources.

``tfds.data_source`` reads a prepared array_record directory with NumPy only, so MNIST,
Fashion-MNIST and CIFAR-10 load without TensorFlow. Preparing (downloading) a dataset the first
time does need TensorFlow (``pip install cch-jax[tf]``) and a network. An unprepared dataset fails
fast here, instead of retrying a download for minutes, unless ``download=True``.
"""

from __future__ import annotations

import os

import numpy as np

from cch_jax import _checks

TFDS_DATASETS = ("mnist", "fashion_mnist", "cifar10")
_SPLITS = ("train", "test")
_ARRAY_RECORD = {"file_format": "array_record"}


def _check_max_examples(max_examples) -> int | None:
    """None, or an integer >= 1 (shared with the offline loaders)."""
    if max_examples is None:
        return None
    return _checks.check_int("max_examples", max_examples, minimum=1)


def _records(source, count: int, chunk: int = 4096) -> list:
    """Reads the first ``count`` records, in batches where the source supports it.

    ``__getitems__`` batches the reads of a real array_record source; the test mock's raises, and
    then the records are read one at a time.
    """
    out: list = []
    for start in range(0, count, chunk):
        idx = list(range(start, min(start + chunk, count)))
        try:
            out.extend(source.__getitems__(idx))
        except (TypeError, AttributeError, NotImplementedError):
            out.extend(source[i] for i in idx)
    return out


def load(
    name: str,
    split: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    max_examples: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Loads an image classification split from tensorflow-datasets, without TensorFlow.

    Args:
      name: 'mnist', 'fashion_mnist' or 'cifar10'.
      split: 'train' or 'test'.
      data_dir: tfds data directory (default: tfds's, usually ~/tensorflow_datasets).
      download: prepare the dataset when it is missing (needs TensorFlow: ``pip install
        cch-jax[tf]``, and a network). When False, a missing dataset raises at once.
      max_examples: keep only the first ``max_examples`` examples of the split.

    Returns:
      ``(images, labels)``: images ``[n, H, W, C]`` uint8 (28x28x1 or 32x32x3) and labels ``[n]``
      int32.

    Raises:
      ValueError: unknown name or split, bad max_examples.
      RuntimeError: the dataset is not prepared in ``data_dir`` and ``download`` is False.
    """
    _checks.check_choice("name", name, TFDS_DATASETS)
    _checks.check_choice("split", split, _SPLITS)
    max_examples = _check_max_examples(max_examples)
    download = _checks.check_bool("download", download)
    import tensorflow_datasets as tfds

    builder = tfds.builder(name, data_dir=data_dir, **_ARRAY_RECORD)
    if not download and not builder.is_prepared():
        raise RuntimeError(
            f"data_dir: tensorflow-datasets has no prepared {name!r} (array_record) in "
            f"{builder.data_dir}. Prepare it once with TensorFlow and a network: "
            f"`pip install cch-jax[tf]`, then call load({name!r}, {split!r}, download=True"
            f"{', data_dir=...' if data_dir is not None else ''}) (or pass --download to the CLI)."
        )
    source = tfds.data_source(
        name,
        split=split,
        data_dir=data_dir,
        download=download,
        builder_kwargs=dict(_ARRAY_RECORD),
    )
    count = len(source) if max_examples is None else min(max_examples, len(source))
    if count < 1:
        raise RuntimeError(f"{name}/{split}: the prepared split is empty")
    records = _records(source, count)
    images = np.stack([np.asarray(r["image"], dtype=np.uint8) for r in records])
    labels = np.asarray([int(r["label"]) for r in records], dtype=np.int32)
    return images, labels
