"""Training one dataset's networks: the teachers, and per student group one early-stopped program
of seeds x {no KD, KD, control teacher} x teachers x kd_weights (or the pilot's no KD and KD).

The *control* teacher of a KD run is the same teacher with its fit-row outputs permuted across rows:
a fixed permutation per seed (:func:`control_permutation`), the same for every teacher and
kd_weight of that seed. The no-KD student of seed 0 is the *probe* student whose representations
and logits on the criterion rows the predictors read.
"""

from __future__ import annotations

import enum
import functools
import math
import time
from typing import Any, NamedTuple

import jax
import numpy as np

from cch_jax import _checks
from cch_jax.bench import _datasets
from cch_jax.bench._plan import Group, Plan, Variant, _pilot_rows
from cch_jax.bench._settings import Setting
from cch_jax.kd import _runs


class Arm(enum.IntEnum):
    """A student run's arm; the cached run columns (``kind``) hold its integer value."""

    NO_KD = 0
    KD = 1
    CONTROL = 2


TEACHER_SEED = 10_000


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


def _stop(plan: Plan) -> _runs.StopConfig:
    spec = plan.config.spec
    return _runs.StopConfig(
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


class Teachers(NamedTuple):
    """The teachers of a dataset, read back from the cache (``V`` teacher variants).

    Attributes:
      names: ``[V]`` the variants' names.
      fit_logits: ``[V, n_fit, k]`` outputs on the fit rows (what KD distils).
      crit_logits: ``[V, m, k]`` outputs on the criterion rows.
      crit_reps: ``[V, m, h]`` representations on the criterion rows, zero-padded to the widest.
      rep_width: ``[V]`` each variant's own representation width.
      test_accuracy, crit_accuracy: ``[V]`` accuracies (%) on the test and criterion rows.
      epochs, best_epoch: ``[V]`` (0 for a teacher whose logits a user's file gives).
      seconds: wall time of their training.
    """

    names: np.ndarray
    fit_logits: np.ndarray
    crit_logits: np.ndarray
    crit_reps: np.ndarray
    rep_width: np.ndarray
    test_accuracy: np.ndarray
    crit_accuracy: np.ndarray
    epochs: np.ndarray
    best_epoch: np.ndarray
    seconds: float

    @classmethod
    def read(cls, cached: dict) -> Teachers:
        """The typed view of :func:`train_teachers`' cached dict."""
        d = dict(cached)
        return cls(**{f: np.asarray(d[f]) for f in cls._fields[:-1]}, seconds=float(d["seconds"]))

    def index(self, name: str) -> int:
        """The position of the variant ``name``."""
        return [str(n) for n in self.names].index(name)


def train_teachers(plan: Plan, *, progress=None) -> dict:
    """One early-stopped supervised network per teacher variant (variants of one input shape
    train as one program). A teacher whose outputs a user's file gives (``Source.teacher_logits``)
    is not trained: its logits are its outputs and, having no hidden layer to read, also its
    representations; its epochs are 0.

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
    order = [*src.teachers, *src.teacher_logits]
    names = sorted({t.name for g in plan.groups for t in g.teachers}, key=order.index)
    by_shape: dict[tuple, list[str]] = {}
    for n in names:
        if n in src.teachers:
            by_shape.setdefault(tuple(src.teachers[n].shape[1:]), []).append(n)
    k = src.num_classes
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    for n in names:
        if n in src.teacher_logits:
            z = src.teacher_logits[n]
            out[n] = dict(
                fit_logits=z[fit],
                crit_logits=z[crit],
                crit_reps=z[crit],
                test_accuracy=float(_accuracy(z[test][None], src.y[test])[0]),
                crit_accuracy=float(_accuracy(z[crit][None], src.y[crit])[0]),
                epochs=0,
                best_epoch=0,
            )
    for shape, group in by_shape.items():
        cfg = train_config(plan, shape, k, plan.batch_size)
        trainer = _trainer(cfg, int(fit.size))
        x = np.stack([src.teachers[n] for n in group])
        data = _runs.TrainData(
            x[:, fit],
            np.broadcast_to(src.y[fit], (len(group), fit.size)),
            np.zeros((1, fit.size, k), np.float32),
            x[:, val],
            np.broadcast_to(src.y[val], (len(group), val.size)),
        )
        d = len(group)
        spec = _runs.run_spec(
            seed=[TEACHER_SEED + plan.config.seed] * d,
            kd_weight=[0.0] * d,
            temperature=[plan.config.temperature] * d,
            teacher=[0] * d,
            data=np.arange(d),
        )
        _say(progress, f"teachers {', '.join(group)}: training {d} networks")
        res = _runs.train_runs(trainer, data, spec, stop=_stop(plan))
        model = trainer.model
        for i, n in enumerate(group):
            p = jax.tree.map(lambda a, i=i: a[i : i + 1], res.params)
            fl = _runs.apply_runs(model.apply, p, src.teachers[n][fit])[0]
            cl = _runs.apply_runs(model.apply, p, src.teachers[n][crit])[0]
            cr = _runs.apply_runs(model.features, p, src.teachers[n][crit])[0]
            tl = _runs.apply_runs(model.apply, p, src.teachers[n][test])[0]
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
        rows.append((Arm.NO_KD, -1, 0.0, s, si, 0))
    kinds = (Arm.KD, Arm.CONTROL) if control else (Arm.KD,)
    for kind in kinds:
        for j in range(num_teachers):
            for w in kd_weights:
                for si, s in enumerate(seeds):
                    t = j if kind == Arm.KD else num_teachers + j * s_n + si
                    rows.append((kind, j, float(w), s, si, t))
    return run_columns(rows, temperature)


def sample_runs(
    num_teachers: int, kd_weights, seeds, temperature: float, *, control: bool
) -> dict[str, np.ndarray]:
    """Run columns of a known-answer family's group (a fresh sample per seed): no KD per seed,
    then KD (and control) per teacher x weight x seed. Teacher slot: ``si * A + j`` for teacher
    j under seed index si (A teachers, S seeds), ``S * A + si * A + j`` for its control."""
    a, s_n = num_teachers, len(seeds)
    rows = [(Arm.NO_KD, -1, 0.0, s, si, 0) for si, s in enumerate(seeds)]
    for kind in (Arm.KD, Arm.CONTROL) if control else (Arm.KD,):
        for j in range(a):
            for w in kd_weights:
                for si, s in enumerate(seeds):
                    slot = si * a + j + (s_n * a if kind == Arm.CONTROL else 0)
                    rows.append((kind, j, float(w), s, si, slot))
    return run_columns(rows, temperature)


def run_columns(rows, temperature: float) -> dict[str, np.ndarray]:
    """The run columns of a group from its rows (kind, teacher, kd_weight, seed, seed index,
    teacher slot), one row per run; every run at ``temperature``. Each column is [runs]."""
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


def run_spec_of(runs: dict, *, per_seed_data: bool = False) -> _runs.RunSpec:
    """The :class:`cch_jax.kd.RunSpec` of a group's run columns (:func:`run_columns`): one
    dataset for every run, or with ``per_seed_data`` the seed's own sample (``seed_index``), as the
    known-answer families draw one per seed."""
    data = runs["seed_index"] if per_seed_data else None
    return _runs.run_spec(
        runs["seed"], runs["kd_weight"], runs["temperature"], runs["teacher_slot"], data
    )


# --------------------------------------------------------------------------------------------------
# Phases 3-4: students and pilot (classification)


def train_group(
    plan: Plan, group: Group, teachers: Teachers, *, variant: Variant | None = None, progress=None
) -> dict:
    """A student group's runs (no KD, KD, control; or a variant's no KD and KD) as one program.

    Args:
      plan: the :class:`Plan`.
      group: the :class:`Group`.
      teachers: the :class:`Teachers` (:func:`train_teachers`' output, read back).
      variant: a :class:`_plan.Variant` (the pilot or a run of the trial record: a stratified
        fraction of the rows, its own seeds, no control, scored on the criterion rows) instead of
        the outcome's runs; None: the outcome.
      progress: ``str -> None`` or None.

    Returns:
      The run columns of :func:`_group_runs` plus ``perf`` [R] (% on the test rows; the
      criterion rows for a variant), ``epochs`` [R], ``best_epoch`` [R], ``seconds``; a variant
      adds ``rows`` (its fit rows); the outcome adds the probe's ``probe_reps`` [m, h],
      ``probe_logits`` [m, k] and ``probe_accuracy`` (% on the criterion rows).
    """

    cfg_b = plan.config
    src = plan.source
    fit, val = src.rows(_datasets.FIT), src.rows(_datasets.VAL)
    crit, test = src.rows(_datasets.CRITERION), src.rows(_datasets.TEST)
    key = jax.random.key(cfg_b.seed)
    t_idx = [teachers.index(t.name) for t in group.teachers]
    logits = teachers.fit_logits[t_idx]  # [V, n_fit, k]
    pilot = variant is not None
    if pilot:
        pf = _pilot_rows(fit, src.y, variant.fraction, jax.random.fold_in(key, 11))
        n_val = max(1, int(math.ceil(variant.fraction * val.size)))
        pv = np.sort(_datasets._rng(jax.random.fold_in(key, 12)).permutation(val)[:n_val])
        pos = np.searchsorted(fit, pf)
        logits = logits[:, pos]
        fit_rows, val_rows, seeds = pf, pv, variant.seeds
        batch = _runs.batch_size_for(pf.size)
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
    data = _runs.TrainData(
        x[fit_rows][None],
        src.y[fit_rows][None],
        teacher_out,
        x[val_rows][None],
        src.y[val_rows][None],
    )
    cfg = train_config(plan, x.shape[1:], src.num_classes, batch)
    trainer = _trainer(cfg, int(n))
    spec = run_spec_of(runs)
    what = variant.name if pilot else "students"
    _say(progress, f"{what} {group.student.name}: {spec.size} runs on {n} rows")
    res = _runs.train_runs(
        trainer,
        data,
        spec,
        stop=_stop(plan),
        progress=None
        if progress is None
        else (lambda s: progress(f"  {what} {group.student.name}: {s}")),
    )
    out_logits = _runs.apply_runs(trainer.model.apply, res.params, x[eval_rows])
    out = dict(runs)
    out.update(
        perf=_accuracy(out_logits, src.y[eval_rows]),
        epochs=res.epochs,
        best_epoch=res.best_epoch,
        seconds=np.asarray(res.seconds),
    )
    if pilot:
        out["rows"] = np.asarray(n)
    else:
        probe = jax.tree.map(lambda a: a[0:1], res.params)  # no-KD student of seed 0
        out["probe_reps"] = _runs.apply_runs(trainer.model.features, probe, x[crit])[0]
        out["probe_logits"] = _runs.apply_runs(trainer.model.apply, probe, x[crit])[0]
        out["probe_accuracy"] = np.asarray(_accuracy(out["probe_logits"][None], src.y[crit])[0])
    return out


# --------------------------------------------------------------------------------------------------
# The Gaussian family (regression, known answer)


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


class GroupRuns(NamedTuple):
    """A student group's trained runs, read back from the cache (one entry per run, ``[R]``).

    Attributes:
      kind: the runs' :class:`Arm` (int64 codes).
      teacher: the teacher's index in the group (-1 for no KD).
      kd_weight, temperature: the KD loss of each run.
      seed, seed_index: the run's student seed and its index among the group's seeds.
      teacher_slot: the row of the teacher outputs the run distils.
      perf: performance (accuracy %; -MSE for the Gaussian family) on the scored rows.
      epochs, best_epoch: epochs trained and the epoch whose parameters were kept.
      seconds: the group's wall time.
      rows: fit rows of a variant's runs (the pilots, the record), else None.
      probe_reps, probe_logits, probe_accuracy: the outcome's probe student (no KD, its first
        seed) on the criterion rows: ``[m, h]``, ``[m, k]`` and its accuracy; None for a variant.
    """

    kind: np.ndarray
    teacher: np.ndarray
    kd_weight: np.ndarray
    temperature: np.ndarray
    seed: np.ndarray
    seed_index: np.ndarray
    teacher_slot: np.ndarray
    perf: np.ndarray
    epochs: np.ndarray
    best_epoch: np.ndarray
    seconds: float
    rows: int | None = None
    probe_reps: np.ndarray | None = None
    probe_logits: np.ndarray | None = None
    probe_accuracy: float | None = None

    @classmethod
    def read(cls, cached: dict) -> GroupRuns:
        """The typed view of a cached group (the dict that ``train_group`` and the Gaussian and
        MFH families' trainers write)."""
        d = dict(cached)
        rows = d.get("rows")
        acc = d.get("probe_accuracy")
        return cls(
            **{f: np.asarray(d[f]) for f in cls._fields[:10]},
            seconds=float(d["seconds"]),
            rows=None if rows is None else int(rows),
            probe_reps=d.get("probe_reps"),
            probe_logits=d.get("probe_logits"),
            probe_accuracy=None if acc is None else float(acc),
        )


def _pick(
    res: GroupRuns, kind: Arm, teacher: int, w: float, num: int
) -> tuple[np.ndarray, np.ndarray]:
    if kind == Arm.NO_KD:
        sel = res.kind == Arm.NO_KD
    else:
        sel = (res.kind == kind) & (res.teacher == teacher) & np.isclose(res.kd_weight, w)
    idx = np.flatnonzero(sel)
    idx = idx[np.argsort(res.seed_index[idx])]
    if idx.size != num:
        raise ValueError(f"cache: expected {num} runs, found {idx.size}")
    return np.asarray(res.perf[idx], np.float64), np.asarray(res.epochs[idx], np.float64)


def setting_runs(
    group: Group, full: dict, pilot: dict, num_seeds: int, pilot_seeds: int
) -> list[SettingRuns]:
    """Splits a group's cached runs into one :class:`SettingRuns` per setting."""
    out = []
    n_set = len(group.settings)
    nokd, e_nokd = _pick(full, Arm.NO_KD, -1, 0.0, num_seeds)
    p_nokd, _ = _pick(pilot, Arm.NO_KD, -1, 0.0, pilot_seeds)
    for st in group.settings:
        j = group.teachers.index(st.teacher)
        kd_p, e_kd = _pick(full, Arm.KD, j, st.kd_weight, num_seeds)
        ctl, e_ctl = _pick(full, Arm.CONTROL, j, st.kd_weight, num_seeds)
        p_kd, _ = _pick(pilot, Arm.KD, j, st.kd_weight, pilot_seeds)
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
                pilot.seconds / n_set,
                full.seconds / n_set,
            )
        )
    return out
