"""Repeated random train/test splits of one dataset: run the experiment on each, merge the rows.

Sources without a fixed split (mfeat, nutrimouse, 'pairs', the R tables) can be split R times at random
(repeated hold-out). Split r is loaded with the key ``fold_in(key(seed), r)``, run by
:func:`cch_jax.experiments.run_experiment` into ``out_dir/split<r>`` (``out_dir`` itself for one
split), and the R results are merged into one (:func:`merge_splits`): every row gains a ``split``
column and each teacher level is renamed per split (:func:`split_teacher_name`), so that the
analysis treats the settings of different splits as different settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax

from cch_jax import _checks
from cch_jax.experiments._run import ExperimentResult, run_experiment

# Datasets whose source has no fixed train/test split: split at random (``test_fraction``).
RANDOM_SPLIT = (
    "mfeat",
    "nutrimouse",
    "pairs",
    "satellite",
    "letter",
    "vehicle",
    "dna",
    "spam",
    "ionosphere",
    "musk",
)
# One-view image datasets: the student view is the teacher view with noise.
ONE_VIEW_IMAGES = ("fashion_mnist", "digits", "tfds/fashion_mnist", "tfds/cifar10")


def default_student_noise(dataset: str) -> float:
    """The student's input noise std when none is given: 0.5 for one-view image datasets (where
    the student is the teacher's view made noisier), else 0.

    Args:
      dataset: a key of :data:`cch_jax.data.DATASETS`.

    Returns:
      The noise std (pixel intensity units, or standardized features).
    """
    return 0.5 if dataset in ONE_VIEW_IMAGES else 0.0


def split_teacher_name(name: str, split: int) -> str:
    """The name of teacher level ``name`` in random split ``split``: ``"<name>#split<split>"``.

    Args:
      name: a setting's ``teacher_name`` (e.g. ``"fac"`` or ``"image@gamma=2"``).
      split: the split's index r >= 0.

    Returns:
      The per-split name.
    """
    return f"{name}#split{split}"


def merge_splits(results: Sequence[ExperimentResult]) -> ExperimentResult:
    """One result from the results of R random splits (in split order).

    With one split the result's rows are kept as they are. With R > 1, every row of ``settings``,
    ``runs`` and ``criterion`` gains ``split`` = r and its ``teacher_name`` (where it has one)
    becomes :func:`split_teacher_name`; ``info`` is the first split's, with its seconds per phase
    summed over the splits. ``info["repeats"]`` is R.

    Args:
      results: the :class:`ExperimentResult` of each split, at least one.

    Returns:
      The merged :class:`ExperimentResult` (its ``info`` dict is the first result's, updated).
    """
    if not results:
        raise ValueError("results: expected the result of at least one split")
    repeats = len(results)
    merged = {"settings": [], "runs": [], "criterion": []}
    for r, res in enumerate(results):
        for field, into in merged.items():
            for row in getattr(res, field):
                if repeats > 1:
                    row = dict(row, split=r)
                    if "teacher_name" in row:
                        row["teacher_name"] = split_teacher_name(row["teacher_name"], r)
                into.append(row)
    first = results[0]
    for res in results[1:]:
        for k, v in res.info["seconds"].items():
            first.info["seconds"][k] += v
    first.info["repeats"] = repeats
    return first._replace(**merged)


def run_splits(
    dataset: str,
    *,
    repeats: int = 1,
    seed: int = 0,
    load_options: Mapping[str, Any] | None = None,
    pairs: Sequence[tuple[str, str]] | None = None,
    config=None,
    out_dir: str | Path | None = None,
    criterion_config: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    """Loads ``dataset`` ``repeats`` times with a fresh random split, runs the experiment on each
    and merges them (see the module docstring).

    Args:
      dataset: a key of :data:`cch_jax.data.DATASETS`.
      repeats: random train/test splits R >= 1; more than 1 only for a source without a fixed
        split (in :data:`RANDOM_SPLIT`).
      seed: seed of the data keys (split r uses ``fold_in(jax.random.key(seed), r)``).
      load_options: keyword arguments of :func:`cch_jax.data.load_views` besides the name and key.
      pairs: (teacher view, student view) pairs, as for :func:`run_experiment`.
      config: the :class:`ExperimentConfig`.
      out_dir: the output folder (split r caches under ``out_dir/split<r>`` when R > 1).
      criterion_config: passed to ``cch_jax.criterion.check``.
      progress: progress lines on stderr.

    Returns:
      The merged :class:`ExperimentResult` (:func:`merge_splits`).
    """
    from cch_jax import data

    repeats = _checks.check_int("repeats", repeats, minimum=1)
    if repeats > 1 and dataset not in RANDOM_SPLIT:
        raise ValueError(f"repeats: {dataset} has a fixed train/test split; use --repeats 1")
    results = []
    for r in range(repeats):
        mv = data.load_views(
            dataset, key=jax.random.fold_in(jax.random.key(seed), r), **dict(load_options or {})
        )
        sub = out_dir if (repeats == 1 or out_dir is None) else Path(out_dir) / f"split{r}"
        results.append(
            run_experiment(
                mv,
                pairs=pairs,
                config=config,
                out_dir=sub,
                criterion_config=criterion_config,
                progress=progress,
            )
        )
    return merge_splits(results)
