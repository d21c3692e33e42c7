"""The plan of one dataset's benchmark: its settings grouped by student, the data loaded, and
every size, view, batch size and seed checked before any training (:func:`prepare`)."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, NamedTuple

import jax
import numpy as np

from cch_jax import _checks
from cch_jax._cache import hash_arrays
from cch_jax.bench import _datasets, _settings
from cch_jax.bench._settings import BenchConfig, Setting
from cch_jax.kd import _runs


class Group(NamedTuple):
    """A student and the teachers paired with it (trained as one program).

    Attributes:
      index: position in the plan.
      student: :class:`_settings.Student`.
      teachers: the paired :class:`_settings.Teacher` variants.
      settings: the group's settings (teachers x kd_weights, in that order).
    """

    index: int
    student: _settings.Student
    teachers: tuple[_settings.Teacher, ...]
    settings: tuple[Setting, ...]


class Plan(NamedTuple):
    """A checked benchmark of one dataset.

    Attributes:
      config: the :class:`BenchConfig`.
      settings: every :class:`Setting`.
      groups: the student :class:`Group` s.
      source: the loaded :class:`_datasets.Source` (None for gaussian).
      batch_size: minibatch size of the full runs.
      pilot_batch_size: minibatch size of the pilot runs.
      sizes: row counts (fit, validation, criterion, test, pilot fit, pilot validation).
      note: where the data came from.
    """

    config: BenchConfig
    settings: tuple[Setting, ...]
    groups: tuple[Group, ...]
    source: Any
    batch_size: int
    pilot_batch_size: int
    sizes: dict
    note: str


class Variant(NamedTuple):
    """A training-based predictor's own runs of a student group: KD vs no KD (no control) on a
    stratified ``fraction`` of the fit and validation rows with its own ``seeds`` (disjoint from
    the outcome's), scored on the criterion rows (never the test rows).

    Attributes:
      name: the cache's prefix and the predictor family ('pilot', 'pilot_half', 'record').
      fraction: share of the fit and validation rows, in (0, 1].
      seeds: the student seeds.
    """

    name: str
    fraction: float
    seeds: tuple[int, ...]


PILOT_HALF_FRACTION = 0.5


def variants(config: BenchConfig) -> tuple[Variant, ...]:
    """The pilot, and with ``config.record_seeds`` the trial record's runs (``_record``): the
    half-rows pilot and the full-data runs of ``record_seeds`` seeds."""
    out = [Variant("pilot", config.pilot_fraction, config.pilot_seed_values)]
    if config.record_seeds:
        out.append(Variant("pilot_half", PILOT_HALF_FRACTION, config.pilot_seed_values))
        out.append(Variant("record", 1.0, config.record_seed_values))
    return tuple(out)


def _pilot_rows(rows: np.ndarray, y: np.ndarray, fraction: float, key) -> np.ndarray:
    """A stratified ``fraction`` of ``rows`` (at least one row of each class present)."""
    rng = _datasets._rng(key)
    keep = []
    for c in np.unique(y[rows]):
        idx = rows[y[rows] == c]
        k = max(1, int(math.ceil(fraction * idx.size)))
        keep.append(rng.permutation(idx)[:k])
    return np.sort(np.concatenate(keep))


def prepare(config: BenchConfig) -> Plan:
    """Loads the data and checks every setting (views, sizes, batch sizes, seeds) before training.

    Args:
      config: a :class:`BenchConfig`.

    Returns:
      :class:`Plan`.

    Raises:
      ValueError: a missing view or data source, too few rows for a split, the pilot or a batch
        (for a user's file: starting ``data:``).
    """
    _checks.check_instance("config", config, BenchConfig)
    spec = config.spec
    if config.data is None:
        settings = tuple(config.settings())
        teachers_all, students = _settings.teachers_and_students(config.dataset)
    else:  # the settings follow from the file's teachers: read it once
        paired = _datasets.read_paired(config)
        settings = tuple(config.settings(paired))
        teachers_all, students = _settings.file_teachers_and_students(paired)
    groups = []
    for s in students:
        ts = tuple(
            t for t in teachers_all if any(x.teacher == t and x.student == s for x in settings)
        )
        gs = tuple(x for x in settings if x.student == s)
        groups.append(Group(len(groups), s, ts, gs))
    if config.dataset == "gaussian":
        source = None
        n_min = min(_settings.GAUSSIAN_TRAIN_ROWS)
        n_val = max(1, int(round(spec.val_fraction * n_min)))
        n_fit = n_min - n_val
        if n_fit <= _settings.GAUSSIAN_DIM + 1:
            raise ValueError(
                f"size: the gaussian student fits on {n_fit} rows; the theory needs more than "
                f"d + 1 = {_settings.GAUSSIAN_DIM + 1}"
            )
        p_fit = max(1, int(math.ceil(config.pilot_fraction * n_fit)))
        p_val = max(1, int(math.ceil(config.pilot_fraction * n_val)))
        sizes = {
            "fit": [
                n - max(1, int(round(spec.val_fraction * n))) for n in _settings.GAUSSIAN_TRAIN_ROWS
            ],
            "validation": [
                max(1, int(round(spec.val_fraction * n))) for n in _settings.GAUSSIAN_TRAIN_ROWS
            ],
            "criterion": spec.criterion_rows,
            "test": spec.test_rows,
            "pilot_fit": p_fit,
            "pilot_validation": p_val,
        }
        batch, pilot_batch = _runs.batch_size_for(n_fit), _runs.batch_size_for(p_fit)
        note = (
            f"the theory's Gaussian family (theory/derivation.md, one-parameter family): x2 ~ "
            f"N(0, I_{_settings.GAUSSIAN_DIM}), y = s + e, sigma2 = {_settings.GAUSSIAN_SIGMA2:g}, "
            f"teacher t = a s + b e; a fresh training sample per seed"
        )
    else:
        source = _datasets.load_source(config, paired if config.data is not None else None)
        what = "data" if config.data is not None else "size"  # the flag a user can change
        for g in groups:
            if g.student.name not in source.students:
                raise ValueError(
                    f"student: {config.dataset} has no student view {g.student.name!r}"
                )
            for t in g.teachers:
                if t.name not in source.teachers and t.name not in source.teacher_logits:
                    raise ValueError(f"teacher: {config.dataset} has no teacher view {t.name!r}")
        counts = {
            name: int((source.part == code).sum()) for code, name in enumerate(_datasets.PART_NAMES)
        }
        for name, c in counts.items():
            if c < 1:
                raise ValueError(f"{what}: {config.dataset} has no {name} rows ({counts})")
        if counts["criterion"] < 2:
            raise ValueError(
                f"{what}: {config.dataset} needs >= 2 criterion rows, has {counts['criterion']}"
            )
        fit = source.rows(_datasets.FIT)
        val = source.rows(_datasets.VAL)
        key = jax.random.key(config.seed)
        p_fit = _pilot_rows(fit, source.y, config.pilot_fraction, jax.random.fold_in(key, 11))
        p_val_n = max(1, int(math.ceil(config.pilot_fraction * val.size)))
        sizes = dict(counts, pilot_fit=int(p_fit.size), pilot_validation=p_val_n)
        batch = _runs.batch_size_for(fit.size)
        pilot_batch = _runs.batch_size_for(p_fit.size)
        if len(np.unique(source.y[fit])) < len(np.unique(source.y)):
            raise ValueError(f"{what}: some class of {config.dataset} has no fit rows")
        note = source.note
    for b, n, what in (
        (batch, sizes["fit"] if isinstance(sizes["fit"], int) else min(sizes["fit"]), "fit"),
        (pilot_batch, sizes["pilot_fit"], "pilot fit"),
    ):
        if b > n:  # batch_size_for never does this; a guard for the sizes above
            raise ValueError(f"batch_size: {b} exceeds the {n} {what} rows")
    if not settings:
        raise ValueError(f"dataset: {config.dataset} has no settings")
    ids = [s.setting for s in settings]
    if len(set(ids)) != len(ids):
        raise ValueError("setting: ids are not unique")
    return Plan(config, settings, tuple(groups), source, batch, pilot_batch, sizes, note)


def fingerprint(plan: Plan) -> str:
    """sha256 of the configuration, the settings and the data (inputs, labels, split)."""
    h = hashlib.sha256()
    config = plan.config.to_dict()
    config.pop("data", None)  # a user's file counts by its arrays, not by where it lies
    h.update(json.dumps([config, [s.setting for s in plan.settings], 1]).encode())
    src = plan.source
    if src is not None:
        hash_arrays(h, src.teachers)
        hash_arrays(h, src.students)
        h.update(np.asarray(src.y).tobytes())
        h.update(np.asarray(src.part).tobytes())
        if src.teacher_logits:  # only a user's file has them: the built-ins' fingerprints stay
            hash_arrays(h, src.teacher_logits)
            h.update(str(src.num_classes).encode())
    return h.hexdigest()
