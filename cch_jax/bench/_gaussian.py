"""The theory's Gaussian family as a benchmark dataset (regression with a known answer).

Per seed a fresh sample of x2 ~ N(0, I_d), y = s + e, teacher t = a s + b e for every teacher weight
a; the student is the linear model (no bias, zero init) trained with the quadratic KD loss and
early-stopped on -MSE; its known answer is ``theory.risk`` vs ``theory.risk0``
(:func:`gaussian_theory`).
"""

from __future__ import annotations

import math

import jax
import numpy as np

from cch_jax.bench import _datasets, _settings
from cch_jax.bench._plan import Group, Plan
from cch_jax.bench._students import (
    _say,
    _stop,
    _trainer,
    control_permutation,
    run_spec_of,
    sample_runs,
    train_config,
)
from cch_jax.kd import _runs


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
            plan.pilot_batch_size if n_fit >= plan.pilot_batch_size else _runs.batch_size_for(n_fit)
        )
        n_test = 0
    else:
        seeds = cfg_b.seeds
        batch = _runs.batch_size_for(n_fit)
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
    runs = sample_runs(A, cfg_b.kd_weights, seeds, cfg_b.temperature, control=not pilot)
    data = _runs.TrainData(np.stack(xs), np.stack(ys), teacher_out, np.stack(xv), np.stack(yv))
    cfg = train_config(plan, (_settings.GAUSSIAN_DIM,), 1, batch)
    trainer = _trainer(cfg, int(n_fit))
    spec = run_spec_of(runs, per_seed_data=True)
    what = "pilot" if pilot else "students"
    _say(progress, f"{what} {group.student.name}: {spec.size} runs on {n_fit} rows")
    res = _runs.train_runs(trainer, data, spec, stop=_stop(plan))
    crit = _gaussian_criterion(plan, group)
    perf = np.empty(spec.size)
    for si in range(S):
        sel = np.flatnonzero(runs["seed_index"] == si)
        p = jax.tree.map(lambda arr, sel=sel: arr[sel], res.params)
        if pilot:
            pred, target = _runs.apply_runs(trainer.model.apply, p, crit.x), crit.y
        else:
            pred, target = _runs.apply_runs(trainer.model.apply, p, xt[si]), yt[si]
        perf[sel] = -np.mean((pred[..., 0] - target[None]) ** 2, axis=-1)
    out = dict(runs)
    out.update(
        perf=perf, epochs=res.epochs, best_epoch=res.best_epoch, seconds=np.asarray(res.seconds)
    )
    if not pilot:
        probe = jax.tree.map(lambda arr: arr[0:1], res.params)
        out["probe_reps"] = np.asarray(crit.x)
        out["probe_logits"] = _runs.apply_runs(trainer.model.apply, probe, crit.x)[0]
        out["probe_accuracy"] = np.asarray(-np.mean((out["probe_logits"][:, 0] - crit.y) ** 2))
    return out
