"""One dataset's benchmark, phase by phase, cached under ``out/<dataset>/cache`` and resumable.

Phases (``run_bench``):

1. **plan** (:func:`prepare`): load the data, enumerate the settings, derive batch sizes from the
   training rows and check everything (views, sizes, batch sizes, seeds) before any training.
2. **teachers**: one supervised network per teacher variant, early-stopped on the validation rows;
   its logits on the fit rows are what KD distils. (gaussian: the family's teacher t is known.)
3. **students**, per student group (a student view and every teacher paired with it): one
   vmapped, early-stopped program of seeds x {no KD, KD, control} x teachers x kd_weights. The
   *control* is the same KD run with a teacher that knows nothing: its fit-row logits permuted
   across rows with a fixed permutation per seed (``numpy.random.default_rng([seed, 7])``, the
   same for every teacher and kd_weight of that seed). Students are scored on the test rows.
   The no-KD student of seed 0 is the *probe* student: its representations and logits on the
   criterion rows are the predictors' student inputs.
4. **pilot**, per student group: KD vs no KD on ``pilot_fraction`` (25 %) of the fit and validation
   rows x ``pilot_seeds`` (3) seeds (1000, 1001, ...) x the same early stopping, scored on the
   criterion rows (never the test rows); its wall time is the pilot's cost.
5. **score** (separate, resumable, re-runnable on the cached inputs): ``cch_jax.predictors.predict``
   on every setting's :class:`PredictorInputs`.
6. **table**: ``settings.csv`` and ``report.md`` (``_table.py``).

Every cached phase output carries the configuration's fingerprint: a folder holding a different
configuration is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from cch_jax import _checks
from cch_jax.bench import _datasets, _settings, _train
from cch_jax.bench._settings import BenchConfig, Setting

PHASES = ("all", "train", "score")
NO_KD, KD, CONTROL = 0, 1, 2
TEACHER_SEED = 10_000


# --------------------------------------------------------------------------------------------------
# Cache


class _Cache:
    """Phase outputs as ``.npz``/``.json`` files in ``out/<dataset>/cache``, for one configuration."""

    def __init__(self, folder: Path, fingerprint: str):
        self.dir = folder
        self.hits: list[str] = []
        self.made: list[str] = []
        folder.mkdir(parents=True, exist_ok=True)
        stamp = folder / "fingerprint.json"
        if stamp.exists():
            old = json.loads(stamp.read_text())
            if old.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"out: {folder.parent} holds a benchmark run with a different configuration "
                    f"({old.get('config')}); use a fresh --out folder or delete {folder}"
                )
        self._stamp = stamp
        self._fingerprint = fingerprint

    def stamp(self, config: dict) -> None:
        self._stamp.write_text(json.dumps({"fingerprint": self._fingerprint, "config": config}))

    def has(self, name: str) -> bool:
        return (self.dir / f"{name}.npz").exists()

    def get(self, name: str, make: Callable[[], dict]) -> dict:
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

    def read_json(self, name: str) -> dict:
        path = self.dir / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_json(self, name: str, value) -> None:
        tmp = self.dir / f"{name}.tmp.json"
        tmp.write_text(json.dumps(value))
        tmp.replace(self.dir / f"{name}.json")


# --------------------------------------------------------------------------------------------------
# The plan: everything checked before training


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
      ValueError: a missing view or data source, too few rows for a split, the pilot or a batch.
    """
    _checks.check_instance("config", config, BenchConfig)
    settings = tuple(config.settings())
    spec = config.spec
    groups = []
    teachers_all, students = _settings.teachers_and_students(config.dataset)
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
        batch, pilot_batch = _train.batch_size_for(n_fit), _train.batch_size_for(p_fit)
        note = (
            f"the theory's Gaussian family (theory/derivation.md, one-parameter family): x2 ~ "
            f"N(0, I_{_settings.GAUSSIAN_DIM}), y = s + e, sigma2 = {_settings.GAUSSIAN_SIGMA2:g}, "
            f"teacher t = a s + b e; a fresh training sample per seed"
        )
    else:
        source = _datasets.load_source(config)
        for g in groups:
            if g.student.name not in source.students:
                raise ValueError(
                    f"student: {config.dataset} has no student view {g.student.name!r}"
                )
            for t in g.teachers:
                if t.name not in source.teachers:
                    raise ValueError(f"teacher: {config.dataset} has no teacher view {t.name!r}")
        counts = {
            name: int((source.part == code).sum()) for code, name in enumerate(_datasets.PART_NAMES)
        }
        for name, c in counts.items():
            if c < 1:
                raise ValueError(f"size: {config.dataset} has no {name} rows")
        if counts["criterion"] < 2:
            raise ValueError(
                f"size: {config.dataset} needs >= 2 criterion rows, has {counts['criterion']}"
            )
        fit = source.rows(_datasets.FIT)
        val = source.rows(_datasets.VAL)
        key = jax.random.key(config.seed)
        p_fit = _pilot_rows(fit, source.y, config.pilot_fraction, jax.random.fold_in(key, 11))
        p_val_n = max(1, int(math.ceil(config.pilot_fraction * val.size)))
        sizes = dict(counts, pilot_fit=int(p_fit.size), pilot_validation=p_val_n)
        batch = _train.batch_size_for(fit.size)
        pilot_batch = _train.batch_size_for(p_fit.size)
        if len(np.unique(source.y[fit])) < source.num_classes:
            raise ValueError(f"size: some class of {config.dataset} has no fit rows")
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
    h.update(json.dumps([plan.config.to_dict(), [s.setting for s in plan.settings], 1]).encode())
    src = plan.source
    if src is not None:
        for k in sorted(src.teachers):
            h.update(k.encode())
            h.update(np.ascontiguousarray(src.teachers[k]).tobytes())
        for k in sorted(src.students):
            h.update(k.encode())
            h.update(np.ascontiguousarray(src.students[k]).tobytes())
        h.update(np.asarray(src.y).tobytes())
        h.update(np.asarray(src.part).tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------------------------------
# Networks


def train_config(plan: Plan, input_shape, num_outputs: int, batch_size: int):
    """The :class:`cch_jax.kd.TrainConfig` of every network of the plan (Adam, constant step)."""
    from cch_jax import kd

    spec = plan.config.spec
    task = spec.task
    name = spec.model
    if name == "cnn" and len(input_shape) != 3:
        name = "mlp"
    hidden = spec.hidden if name != "linear" else ()
    if name == "mlp" and len(hidden) == 3 and spec.model == "cnn":
        hidden = (hidden[-1],)
    return kd.TrainConfig(
        model=kd.ModelConfig(
            name=name,
            input_shape=tuple(int(v) for v in input_shape),
            num_outputs=num_outputs,
            hidden=hidden,
            use_bias=name != "linear",
        ),
        loss=kd.KDConfig(task=task, kd_weight=0.5, temperature=plan.config.temperature),
        epochs=1,
        batch_size=batch_size,
        learning_rate=spec.learning_rate,
        schedule="constant",
    )


@functools.lru_cache(maxsize=16)
def _trainer(config, num_examples: int):
    """One :func:`cch_jax.kd.make_trainer` per (config, rows), so that groups of the same shapes
    reuse its compiled programs."""
    from cch_jax import kd

    return kd.make_trainer(config, num_examples=num_examples)


def _stop(plan: Plan) -> _train.StopConfig:
    spec = plan.config.spec
    return _train.StopConfig(
        max_epochs=spec.max_epochs, patience=spec.patience, chunk_epochs=min(5, spec.max_epochs)
    )


def _accuracy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[P, n, k]`` logits, ``[n]`` labels -> ``[P]`` accuracy in percentage points."""
    return 100.0 * np.mean(np.argmax(logits, axis=-1) == y[None], axis=-1)


def _say(progress, text: str) -> None:
    if progress is not None:
        progress(text)


# --------------------------------------------------------------------------------------------------
# Phase 2: teachers (classification)


def train_teachers(plan: Plan, *, progress=None) -> dict:
    """One early-stopped supervised network per teacher variant (variants of one input shape
    train as one program).

    Args:
      plan: the :class:`Plan`.
      progress: ``str -> None`` or None.

    Returns:
      ``{'names' [V], 'fit_logits' [V, n_fit, k], 'crit_logits' [V, m, k], 'crit_reps' [V, m, h],
      'test_accuracy' [V] (%), 'crit_accuracy' [V] (%), 'epochs' [V], 'best_epoch' [V],
      'seconds' []}``.
    """

    src = plan.source
    fit, val = src.rows(_datasets.FIT), src.rows(_datasets.VAL)
    crit, test = src.rows(_datasets.CRITERION), src.rows(_datasets.TEST)
    names = sorted({t.name for g in plan.groups for t in g.teachers}, key=list(src.teachers).index)
    by_shape: dict[tuple, list[str]] = {}
    for n in names:
        by_shape.setdefault(tuple(src.teachers[n].shape[1:]), []).append(n)
    k = src.num_classes
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    for shape, group in by_shape.items():
        cfg = train_config(plan, shape, k, plan.batch_size)
        trainer = _trainer(cfg, int(fit.size))
        x = np.stack([src.teachers[n] for n in group])
        data = _train.TrainData(
            x[:, fit],
            np.broadcast_to(src.y[fit], (len(group), fit.size)),
            np.zeros((1, fit.size, k), np.float32),
            x[:, val],
            np.broadcast_to(src.y[val], (len(group), val.size)),
        )
        d = len(group)
        spec = _train.run_spec(
            seed=[TEACHER_SEED + plan.config.seed] * d,
            kd_weight=[0.0] * d,
            temperature=[plan.config.temperature] * d,
            teacher=[0] * d,
            data=np.arange(d),
        )
        _say(progress, f"teachers {', '.join(group)}: training {d} networks")
        res = _train.train_runs(trainer, data, spec, stop=_stop(plan))
        model = trainer.model
        for i, n in enumerate(group):
            p = jax.tree.map(lambda a, i=i: a[i : i + 1], res.params)
            fl = _train.apply_runs(model.apply, p, src.teachers[n][fit])[0]
            cl = _train.apply_runs(model.apply, p, src.teachers[n][crit])[0]
            cr = _train.apply_runs(model.features, p, src.teachers[n][crit])[0]
            tl = _train.apply_runs(model.apply, p, src.teachers[n][test])[0]
            out[n] = dict(
                fit_logits=fl,
                crit_logits=cl,
                crit_reps=cr,
                test_accuracy=float(_accuracy(tl[None], src.y[test])[0]),
                crit_accuracy=float(_accuracy(cl[None], src.y[crit])[0]),
                epochs=int(res.epochs[i]),
                best_epoch=int(res.best_epoch[i]),
            )
    reps = [out[n]["crit_reps"] for n in names]
    width = max(r.shape[1] for r in reps)
    reps = np.stack([np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in reps])
    return {
        "names": np.asarray(names),
        "fit_logits": np.stack([out[n]["fit_logits"] for n in names]).astype(np.float32),
        "crit_logits": np.stack([out[n]["crit_logits"] for n in names]).astype(np.float32),
        "crit_reps": reps.astype(np.float32),
        "rep_width": np.asarray([out[n]["crit_reps"].shape[1] for n in names]),
        "test_accuracy": np.asarray([out[n]["test_accuracy"] for n in names]),
        "crit_accuracy": np.asarray([out[n]["crit_accuracy"] for n in names]),
        "epochs": np.asarray([out[n]["epochs"] for n in names]),
        "best_epoch": np.asarray([out[n]["best_epoch"] for n in names]),
        "seconds": np.asarray(time.perf_counter() - t0),
    }


def control_permutation(seed: int, n: int) -> np.ndarray:
    """The control teacher's fixed row permutation for one seed.

    Args:
      seed: the student seed (>= 0); the same permutation serves every teacher and kd_weight.
      n: number of fit rows (>= 1).

    Returns:
      ``[n]`` int: ``numpy.random.default_rng([seed, 7]).permutation(n)``; the control run's row
      i is distilled from the teacher's outputs on row ``perm[i]``.
    """
    seed = _checks.check_int("seed", seed, minimum=0)
    n = _checks.check_int("n", n, minimum=1)
    return np.random.default_rng([seed, 7]).permutation(n)


def control_outputs(outputs, seeds) -> np.ndarray:
    """The control teachers: every teacher's fit-row outputs permuted across rows, per seed.

    Args:
      outputs: ``[V, n, k]`` logits (or ``[V, n]`` predictions) of V teachers on the n fit rows.
      seeds: the S student seeds; seed s uses :func:`control_permutation` (s, n) for every
        teacher.

    Returns:
      ``[V * S, n, ...]``: slot ``j * S + i`` is teacher j's outputs under seed ``seeds[i]``'s
      permutation (row r gets row perm[r]'s outputs).
    """
    outputs = np.asarray(outputs)
    n = outputs.shape[1]
    perms = [control_permutation(int(s), n) for s in seeds]
    return np.stack([outputs[j][perm] for j in range(outputs.shape[0]) for perm in perms])


def _group_runs(num_teachers: int, kd_weights, seeds, temperature: float, *, control: bool):
    """Run columns of a student group: no KD per seed, then KD (and control) per teacher x weight x
    seed. Teacher index: j for the real teacher j, num_teachers + j * S + s for its control."""
    rows = []
    s_n = len(seeds)
    for si, s in enumerate(seeds):
        rows.append((NO_KD, -1, 0.0, s, si, 0))
    kinds = (KD, CONTROL) if control else (KD,)
    for kind in kinds:
        for j in range(num_teachers):
            for w in kd_weights:
                for si, s in enumerate(seeds):
                    t = j if kind == KD else num_teachers + j * s_n + si
                    rows.append((kind, j, float(w), s, si, t))
    cols = list(zip(*rows, strict=True))
    return {
        "kind": np.asarray(cols[0], np.int64),
        "teacher": np.asarray(cols[1], np.int64),
        "kd_weight": np.asarray(cols[2], np.float32),
        "seed": np.asarray(cols[3], np.int64),
        "seed_index": np.asarray(cols[4], np.int64),
        "teacher_slot": np.asarray(cols[5], np.int64),
        "temperature": np.full(len(rows), temperature, np.float32),
    }


# --------------------------------------------------------------------------------------------------
# Phases 3-4: students and pilot (classification)


def train_group(
    plan: Plan, group: Group, teachers: dict, *, pilot: bool = False, progress=None
) -> dict:
    """A student group's runs (no KD, KD, control; or the pilot's no KD and KD) as one program.

    Args:
      plan: the :class:`Plan`.
      group: the :class:`Group`.
      teachers: the output of :func:`train_teachers`.
      pilot: train the pilot (a fraction of the rows, pilot seeds, no control) instead.
      progress: ``str -> None`` or None.

    Returns:
      The run columns of :func:`_group_runs` plus ``perf`` [R] (% on the test rows; the
      criterion rows for the pilot), ``epochs`` [R], ``best_epoch`` [R], ``seconds``; the full
      run adds the probe's ``probe_reps`` [m, h], ``probe_logits`` [m, k] and
      ``probe_accuracy`` (% on the criterion rows).
    """

    cfg_b = plan.config
    src = plan.source
    fit, val = src.rows(_datasets.FIT), src.rows(_datasets.VAL)
    crit, test = src.rows(_datasets.CRITERION), src.rows(_datasets.TEST)
    key = jax.random.key(cfg_b.seed)
    names = list(teachers["names"])
    t_idx = [names.index(t.name) for t in group.teachers]
    logits = teachers["fit_logits"][t_idx]  # [V, n_fit, k]
    if pilot:
        pf = _pilot_rows(fit, src.y, cfg_b.pilot_fraction, jax.random.fold_in(key, 11))
        pv = np.sort(
            _datasets._rng(jax.random.fold_in(key, 12)).permutation(val)[
                : plan.sizes["pilot_validation"]
            ]
        )
        pos = np.searchsorted(fit, pf)
        logits = logits[:, pos]
        fit_rows, val_rows, seeds, batch = pf, pv, cfg_b.pilot_seed_values, plan.pilot_batch_size
        eval_rows = crit
    else:
        fit_rows, val_rows, seeds, batch = fit, val, cfg_b.seeds, plan.batch_size
        eval_rows = test
    n = fit_rows.size
    v = len(t_idx)
    runs = _group_runs(v, cfg_b.kd_weights, seeds, cfg_b.temperature, control=not pilot)
    slots = [logits] if pilot else [logits, control_outputs(logits, seeds)]
    teacher_out = np.concatenate(slots).astype(np.float32)
    x = src.students[group.student.name]
    data = _train.TrainData(
        x[fit_rows][None],
        src.y[fit_rows][None],
        teacher_out,
        x[val_rows][None],
        src.y[val_rows][None],
    )
    cfg = train_config(plan, x.shape[1:], src.num_classes, batch)
    trainer = _trainer(cfg, int(n))
    spec = _train.run_spec(
        runs["seed"], runs["kd_weight"], runs["temperature"], runs["teacher_slot"]
    )
    what = "pilot" if pilot else "students"
    _say(progress, f"{what} {group.student.name}: {spec.size} runs on {n} rows")
    res = _train.train_runs(
        trainer,
        data,
        spec,
        stop=_stop(plan),
        progress=None
        if progress is None
        else (lambda s: progress(f"  {what} {group.student.name}: {s}")),
    )
    out_logits = _train.apply_runs(trainer.model.apply, res.params, x[eval_rows])
    out = dict(runs)
    out.update(
        perf=_accuracy(out_logits, src.y[eval_rows]),
        epochs=res.epochs,
        best_epoch=res.best_epoch,
        seconds=np.asarray(res.seconds),
    )
    if not pilot:
        probe = jax.tree.map(lambda a: a[0:1], res.params)  # no-KD student of seed 0
        out["probe_reps"] = _train.apply_runs(trainer.model.features, probe, x[crit])[0]
        out["probe_logits"] = _train.apply_runs(trainer.model.apply, probe, x[crit])[0]
        out["probe_accuracy"] = np.asarray(_accuracy(out["probe_logits"][None], src.y[crit])[0])
    return out


# --------------------------------------------------------------------------------------------------
# The Gaussian family (regression, known answer)


def _gaussian_a(group: Group) -> np.ndarray:
    return np.asarray([t.a for t in group.teachers], np.float64)


def _gaussian_split(plan: Plan, n_train: int) -> tuple[int, int]:
    n_val = max(1, int(round(plan.config.spec.val_fraction * n_train)))
    return n_train - n_val, n_val


def _gaussian_criterion(plan: Plan, group: Group) -> _datasets.GaussianSample:
    key = jax.random.fold_in(jax.random.key(plan.config.seed), 77)
    return _datasets.gaussian_sample(_gaussian_a(group), n=plan.config.spec.criterion_rows, key=key)


def gaussian_theory(group: Group, kd_weight: float, n_fit: int) -> tuple[float, float]:
    """The known answer: (risk0 - risk(kd_weight), risk(kd_weight)) per teacher of the group,
    with f = finite_f(n_fit, d) (a least-squares student on n_fit rows).

    Args:
      group: a gaussian :class:`Group`.
      kd_weight: mu in [0, 1].
      n_fit: rows the student fits on (> d + 1).

    Returns:
      ``(delta [A], risk [A])``: the theory's Δ in -MSE units (positive: KD helps) and R(mu).
    """
    from cch_jax import theory

    a = _gaussian_a(group)
    m = theory.family_moments(a, _settings.GAUSSIAN_SIGMA2)
    f = theory.finite_f(n_fit, _settings.GAUSSIAN_DIM)
    r = np.asarray(theory.risk(m, kd_weight, f), np.float64)
    r0 = float(np.asarray(theory.risk0(m, f)).ravel()[0])
    return r0 - r, r


def train_gaussian_group(plan: Plan, group: Group, *, pilot: bool = False, progress=None) -> dict:
    """The gaussian student group: per seed a fresh sample of ``train_rows`` (+ test rows), the
    linear student (no bias, zero init) trained with the quadratic KD loss, early-stopped on -MSE.

    Returns:
      As :func:`train_group`, with ``perf`` = -MSE on the seed's test rows (the pilot: on the
      shared criterion rows).
    """

    cfg_b = plan.config
    spec_d = cfg_b.spec
    a = _gaussian_a(group)
    A = a.size
    n_fit, n_val = _gaussian_split(plan, group.student.train_rows)
    if pilot:
        n_fit = max(1, int(math.ceil(cfg_b.pilot_fraction * n_fit)))
        n_val = max(1, int(math.ceil(cfg_b.pilot_fraction * n_val)))
        seeds = cfg_b.pilot_seed_values
        batch = (
            plan.pilot_batch_size
            if n_fit >= plan.pilot_batch_size
            else _train.batch_size_for(n_fit)
        )
        n_test = 0
    else:
        seeds = cfg_b.seeds
        batch = _train.batch_size_for(n_fit)
        n_test = spec_d.test_rows
    S = len(seeds)
    base = jax.random.fold_in(jax.random.key(cfg_b.seed), group.student.train_rows)
    xs, ys, ts, xv, yv, xt, yt = [], [], [], [], [], [], []
    for s in seeds:
        smp = _datasets.gaussian_sample(
            a, n=n_fit + n_val + n_test, key=jax.random.fold_in(base, s)
        )
        xs.append(smp.x[:n_fit])
        ys.append(smp.y[:n_fit])
        ts.append(smp.t[:, :n_fit])
        xv.append(smp.x[n_fit : n_fit + n_val])
        yv.append(smp.y[n_fit : n_fit + n_val])
        xt.append(smp.x[n_fit + n_val :])
        yt.append(smp.y[n_fit + n_val :])
    # teacher slots: real (s, a) -> s * A + a; control -> S * A + s * A + a
    real = np.concatenate(ts)  # [S * A, n_fit]
    control = np.concatenate(
        [ts[si][:, control_permutation(s, n_fit)] for si, s in enumerate(seeds)]
    )
    teacher_out = np.concatenate([real] + ([] if pilot else [control])).astype(np.float32)
    rows = []
    for si, s in enumerate(seeds):
        rows.append((NO_KD, -1, 0.0, s, si, 0))
    for kind in (KD,) if pilot else (KD, CONTROL):
        for j in range(A):
            for w in cfg_b.kd_weights:
                for si, s in enumerate(seeds):
                    slot = si * A + j + (S * A if kind == CONTROL else 0)
                    rows.append((kind, j, float(w), s, si, slot))
    cols = list(zip(*rows, strict=True))
    runs = {
        "kind": np.asarray(cols[0], np.int64),
        "teacher": np.asarray(cols[1], np.int64),
        "kd_weight": np.asarray(cols[2], np.float32),
        "seed": np.asarray(cols[3], np.int64),
        "seed_index": np.asarray(cols[4], np.int64),
        "teacher_slot": np.asarray(cols[5], np.int64),
        "temperature": np.full(len(rows), cfg_b.temperature, np.float32),
    }
    data = _train.TrainData(np.stack(xs), np.stack(ys), teacher_out, np.stack(xv), np.stack(yv))
    cfg = train_config(plan, (_settings.GAUSSIAN_DIM,), 1, batch)
    trainer = _trainer(cfg, int(n_fit))
    spec = _train.run_spec(
        runs["seed"],
        runs["kd_weight"],
        runs["temperature"],
        runs["teacher_slot"],
        runs["seed_index"],
    )
    what = "pilot" if pilot else "students"
    _say(progress, f"{what} {group.student.name}: {spec.size} runs on {n_fit} rows")
    res = _train.train_runs(trainer, data, spec, stop=_stop(plan))
    crit = _gaussian_criterion(plan, group)
    perf = np.empty(spec.size)
    for si in range(S):
        sel = np.flatnonzero(runs["seed_index"] == si)
        p = jax.tree.map(lambda arr, sel=sel: arr[sel], res.params)
        if pilot:
            pred, target = _train.apply_runs(trainer.model.apply, p, crit.x), crit.y
        else:
            pred, target = _train.apply_runs(trainer.model.apply, p, xt[si]), yt[si]
        perf[sel] = -np.mean((pred[..., 0] - target[None]) ** 2, axis=-1)
    out = dict(runs)
    out.update(
        perf=perf, epochs=res.epochs, best_epoch=res.best_epoch, seconds=np.asarray(res.seconds)
    )
    if not pilot:
        probe = jax.tree.map(lambda arr: arr[0:1], res.params)
        out["probe_reps"] = np.asarray(crit.x)
        out["probe_logits"] = _train.apply_runs(trainer.model.apply, probe, crit.x)[0]
        out["probe_accuracy"] = np.asarray(-np.mean((out["probe_logits"][:, 0] - crit.y) ** 2))
    return out


# --------------------------------------------------------------------------------------------------
# Results per setting


class SettingRuns(NamedTuple):
    """The per-seed results of one setting, paired by seed.

    Attributes:
      setting: the :class:`Setting`.
      nokd, kd, control: ``[S]`` performance (accuracy %, or -MSE).
      epochs_nokd, epochs_kd, epochs_control: ``[S]`` epochs trained.
      pilot_delta: ``[P]`` pilot KD - no KD on the criterion rows (same unit as perf).
      pilot_seconds: the pilot's wall time shared out over the group's settings.
      group_seconds: the full run's wall time shared out likewise.
    """

    setting: Setting
    nokd: np.ndarray
    kd: np.ndarray
    control: np.ndarray
    epochs_nokd: np.ndarray
    epochs_kd: np.ndarray
    epochs_control: np.ndarray
    pilot_delta: np.ndarray
    pilot_seconds: float
    group_seconds: float


def _pick(res: dict, kind: int, teacher: int, w: float, num: int) -> tuple[np.ndarray, np.ndarray]:
    if kind == NO_KD:
        sel = res["kind"] == NO_KD
    else:
        sel = (res["kind"] == kind) & (res["teacher"] == teacher) & np.isclose(res["kd_weight"], w)
    idx = np.flatnonzero(sel)
    idx = idx[np.argsort(res["seed_index"][idx])]
    if idx.size != num:
        raise ValueError(f"cache: expected {num} runs, found {idx.size}")
    return np.asarray(res["perf"][idx], np.float64), np.asarray(res["epochs"][idx], np.float64)


def setting_runs(
    group: Group, full: dict, pilot: dict, num_seeds: int, pilot_seeds: int
) -> list[SettingRuns]:
    """Splits a group's cached runs into one :class:`SettingRuns` per setting."""
    out = []
    n_set = len(group.settings)
    nokd, e_nokd = _pick(full, NO_KD, -1, 0.0, num_seeds)
    p_nokd, _ = _pick(pilot, NO_KD, -1, 0.0, pilot_seeds)
    for st in group.settings:
        j = group.teachers.index(st.teacher)
        kd_p, e_kd = _pick(full, KD, j, st.kd_weight, num_seeds)
        ctl, e_ctl = _pick(full, CONTROL, j, st.kd_weight, num_seeds)
        p_kd, _ = _pick(pilot, KD, j, st.kd_weight, pilot_seeds)
        out.append(
            SettingRuns(
                st,
                nokd,
                kd_p,
                ctl,
                e_nokd,
                e_kd,
                e_ctl,
                p_kd - p_nokd,
                float(pilot["seconds"]) / n_set,
                float(full["seconds"]) / n_set,
            )
        )
    return out


# --------------------------------------------------------------------------------------------------
# Predictor inputs and scoring


def predictor_inputs(plan: Plan, group: Group, sr: SettingRuns, full: dict, teachers: dict | None):
    """The :class:`cch_jax.predictors.PredictorInputs` of one setting (criterion rows only).

    Classification: teacher representations and logits of the trained teacher; the probe student
    (no-KD student of seed 0, trained to convergence) representations and logits; accuracies as
    fractions on the criterion rows; the pilot's per-seed Δ as a fraction.
    Gaussian: teacher_reps = teacher_logits = t [m, 1], student_reps = x2 [m, d], the probe's
    predictions [m, 1]; no accuracies; the pilot's Δ of -MSE divided by Var(y) = 1 + sigma2 and
    clipped to [-1, 1] (the predictors take a bounded Δ).
    """
    from cch_jax import predictors

    st = sr.setting
    if plan.config.dataset == "gaussian":
        crit = _gaussian_criterion(plan, group)
        j = group.teachers.index(st.teacher)
        t = crit.t[j][:, None]
        n_fit, _ = _gaussian_split(plan, group.student.train_rows)
        var_y = 1.0 + _settings.GAUSSIAN_SIGMA2
        return predictors.PredictorInputs(
            teacher_reps=t,
            student_reps=np.asarray(full["probe_reps"]),
            labels=crit.y.astype(np.float64),
            num_classes=None,
            kd_weight=st.kd_weight,
            temperature=st.temperature,
            n_train=n_fit,
            teacher_logits=t,
            student_logits=np.asarray(full["probe_logits"]),
            pilot_delta=np.clip(sr.pilot_delta / var_y, -1.0, 1.0),
            pilot_cost_s=sr.pilot_seconds,
        )
    src = plan.source
    crit = src.rows(_datasets.CRITERION)
    i = list(teachers["names"]).index(st.teacher.name)
    width = int(teachers["rep_width"][i])
    return predictors.PredictorInputs(
        teacher_reps=teachers["crit_reps"][i][:, :width],
        student_reps=np.asarray(full["probe_reps"]),
        labels=src.y[crit],
        num_classes=src.num_classes,
        kd_weight=st.kd_weight,
        temperature=st.temperature,
        n_train=int(plan.sizes["fit"]),
        teacher_logits=teachers["crit_logits"][i],
        student_logits=np.asarray(full["probe_logits"]),
        teacher_accuracy=float(teachers["crit_accuracy"][i]) / 100.0,
        student_accuracy=float(full["probe_accuracy"]) / 100.0,
        pilot_delta=np.clip(sr.pilot_delta / 100.0, -1.0, 1.0),
        pilot_cost_s=sr.pilot_seconds,
    )


def _prediction_json(pred) -> dict:
    details = {}
    for k, v in dict(pred.details or {}).items():
        if isinstance(v, str | bool | int | float) or v is None:
            details[k] = v if not isinstance(v, float) or math.isfinite(v) else str(v)
        else:
            try:
                details[k] = float(v)
            except (TypeError, ValueError):
                details[k] = str(v)
    score = float(pred.score)
    return {
        "call": str(pred.call),
        "score": score if math.isfinite(score) else None,
        "cost_s": float(pred.cost_s),
        "details": details,
    }


def _score_setting(predictors, inputs, names, key, errors: list[str]) -> dict:
    """``predictors.predict`` on one setting: all ``names`` in one call, or one by one when that
    call fails; a predictor that raises is recorded as 'abstain' with its error (and retried by
    the next scoring). Warnings raised by the predictors are not repeated per setting."""
    import warnings

    def one(todo):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predictors.predict(inputs, names=todo, key=key)

    try:
        return {n: _prediction_json(p) for n, p in one(tuple(names)).items()}
    except Exception:  # noqa: BLE001 -- find which predictor fails, keep the others
        pass
    out = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            out.update({n: _prediction_json(p) for n, p in one((name,)).items()})
        except Exception as err:  # noqa: BLE001 -- a predictor's bug must not stop the benchmark
            text = f"{name}: {type(err).__name__}: {err}"
            errors.append(text)
            out[name] = {
                "call": "abstain",
                "score": None,
                "cost_s": time.perf_counter() - t0,
                "details": {"error": text},
                "error": True,
            }
    return out


# --------------------------------------------------------------------------------------------------
# The whole benchmark of one dataset


class BenchResult(NamedTuple):
    """What :func:`run_bench` returns.

    Attributes:
      rows: one dict per setting (the settings-table columns, see ``_table.SETTING_COLUMNS``).
      info: sizes, configuration, epochs, wall time per phase, warnings.
      folder: the dataset's output folder (``out/<dataset>``).
    """

    rows: list[dict]
    info: dict
    folder: Path


def run_bench(
    config: BenchConfig,
    *,
    out,
    phase: str = "all",
    predictor_names: tuple[str, ...] | None = None,
    rescore: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Runs (or resumes) one dataset's benchmark and writes its ``settings.csv`` and ``report.md``.

    Args:
      config: the :class:`BenchConfig`.
      out: the benchmark folder (``results/bench``); this dataset's files go to
        ``out/<dataset>/`` and its cache to ``out/<dataset>/cache/``.
      phase: 'all' (train, then score when ``cch_jax.predictors`` is importable), 'train' (no
        predictors) or 'score' (predictors on the cached inputs; the training must be done).
      predictor_names: predictors to score (None: every one registered).
      rescore: forget cached predictor scores and score again.
      progress: ``str -> None`` for progress lines, or None.

    Returns:
      :class:`BenchResult`.
    """
    from cch_jax.bench import _table

    _checks.check_instance("config", config, BenchConfig)
    phase = _checks.check_choice("phase", phase, PHASES)
    rescore = _checks.check_bool("rescore", rescore)
    root = _checks.check_output_dir("out", out)
    folder = root / config.dataset
    warn = config.power_warning
    if warn:
        _say(progress, warn)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    plan = prepare(config)
    times = {"load and check": time.perf_counter() - t0}
    _say(
        progress,
        f"{config.dataset}: {len(plan.settings)} settings in {len(plan.groups)} student group(s); "
        f"rows {plan.sizes}; batch {plan.batch_size} (pilot {plan.pilot_batch_size})",
    )
    cache = _Cache(folder / "cache", fingerprint(plan))
    cache.stamp(config.to_dict())
    gaussian = config.dataset == "gaussian"
    needs_training = [
        n
        for n in (["teachers"] if not gaussian else [])
        + [f"group{g.index}" for g in plan.groups]
        + [f"pilot{g.index}" for g in plan.groups]
        if not cache.has(n)
    ]
    if phase == "score" and needs_training:
        raise ValueError(
            f"phase: 'score' needs the finished training of {config.dataset} (missing "
            f"{', '.join(needs_training)}); run --phase train (or all) first"
        )
    teachers = None
    if not gaussian:
        t0 = time.perf_counter()
        teachers = cache.get("teachers", lambda: train_teachers(plan, progress=progress))
        times["teachers"] = float(teachers["seconds"])
    fulls, pilots = {}, {}
    for g in plan.groups:
        if gaussian:
            fulls[g.index] = cache.get(
                f"group{g.index}", lambda g=g: train_gaussian_group(plan, g, progress=progress)
            )
            pilots[g.index] = cache.get(
                f"pilot{g.index}",
                lambda g=g: train_gaussian_group(plan, g, pilot=True, progress=progress),
            )
        else:
            fulls[g.index] = cache.get(
                f"group{g.index}", lambda g=g: train_group(plan, g, teachers, progress=progress)
            )
            pilots[g.index] = cache.get(
                f"pilot{g.index}",
                lambda g=g: train_group(plan, g, teachers, pilot=True, progress=progress),
            )
    times["students (no KD, KD, control)"] = sum(float(f["seconds"]) for f in fulls.values())
    times["pilot"] = sum(float(f["seconds"]) for f in pilots.values())
    all_runs: list[tuple[Group, SettingRuns]] = []
    for g in plan.groups:
        for sr in setting_runs(
            g, fulls[g.index], pilots[g.index], config.num_seeds, config.pilot_seeds
        ):
            all_runs.append((g, sr))
    scores = {} if rescore else cache.read_json("scores")
    score_note = ""
    score_errors: list[str] = []
    if phase in ("all", "score"):
        try:
            from cch_jax import predictors

            if not hasattr(predictors, "REGISTRY") or not hasattr(predictors, "predict"):
                raise ImportError("it has no REGISTRY / predict yet")
        except ImportError as err:
            if phase == "score":
                raise ValueError(f"phase: scoring needs cch_jax.predictors ({err})") from None
            predictors = None
            score_note = f"predictors not scored: cch_jax.predictors is not importable ({err})"
            _say(progress, score_note)
        if predictors is not None:
            t0 = time.perf_counter()
            names = tuple(predictor_names) if predictor_names else tuple(predictors.REGISTRY)
            for name in names:
                if name not in predictors.REGISTRY:
                    raise ValueError(
                        f"predictors: unknown predictor {name!r}; registered: "
                        f"{', '.join(predictors.REGISTRY)}"
                    )
            for i, (g, sr) in enumerate(all_runs):
                done = scores.get(sr.setting.setting, {})
                todo = tuple(n for n in names if n not in done or done[n].get("error"))
                if not todo:
                    continue
                inputs = predictor_inputs(plan, g, sr, fulls[g.index], teachers)
                key = jax.random.fold_in(jax.random.key(config.seed), 5000 + i)
                done.update(_score_setting(predictors, inputs, todo, key, score_errors))
                scores[sr.setting.setting] = done
                cache.write_json("scores", scores)
                _say(progress, f"scored {i + 1}/{len(all_runs)}: {sr.setting.setting}")
            spent = time.perf_counter() - t0
            if spent > 1.0 or "score" not in cache.read_json("score_time"):
                total = float(cache.read_json("score_time").get("score", 0.0)) + spent
                cache.write_json("score_time", {"score": total})
            if score_errors:
                score_note = (
                    f"{len(score_errors)} predictor call(s) failed and count as 'abstain' (retried "
                    f"by the next --phase score): " + "; ".join(sorted(set(score_errors))[:8])
                )
                _say(progress, score_note)
    if "score" in cache.read_json("score_time"):
        times["score"] = float(cache.read_json("score_time")["score"])
    times["total (this call)"] = time.perf_counter() - t_all
    info = {
        "dataset": config.dataset,
        "note": plan.note,
        "config": config.to_dict(),
        "sizes": plan.sizes,
        "batch_size": plan.batch_size,
        "pilot_batch_size": plan.pilot_batch_size,
        "seconds": times,
        "cached": list(cache.hits),
        "trained": list(cache.made),
        "power_warning": warn,
        "low_power": config.spec.low_power,
        "score_note": score_note,
        "pilot_relative_cost": (times["pilot"] / times["students (no KD, KD, control)"])
        if times["students (no KD, KD, control)"] > 0
        else math.nan,
        "versions": {"jax": jax.__version__, "backend": jax.default_backend()},
    }
    if teachers is not None:
        info["teachers"] = {
            str(n): {
                "test_accuracy": float(a),
                "epochs": int(e),
                "best_epoch": int(b),
            }
            for n, a, e, b in zip(
                teachers["names"],
                teachers["test_accuracy"],
                teachers["epochs"],
                teachers["best_epoch"],
                strict=True,
            )
        }
    rows = _table.setting_rows(plan, all_runs, fulls, teachers, scores)
    _table.write_dataset(folder, rows, info, plan, fulls, pilots)
    _table.write_combined(root)
    _table.write_summary(root)
    return BenchResult(rows, info, folder)
