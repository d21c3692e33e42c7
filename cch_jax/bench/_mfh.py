"""The MFH family as a benchmark dataset (classification with a known answer; theory/mfh.md).

After the Modality Focusing Hypothesis (Xue et al., ICLR 2023): a binary label, modality-general
decisive features g read by both views, teacher-specific decisive features h and shared nuisance
features (``cch_jax.theory.mfh``). One student view (k_g + k_n = 60 features, Bayes accuracy 85.6 %)
and a grid of teachers that vary separately how well they read g (rho_t) and how much
teacher-specific signal they have (mu_h): their accuracy and the MFH's gamma (the modality-general
share of their decisive signal) move apart, so a less accurate teacher can help and a more accurate
one hurt.

* **Teachers** are the Bayes posteriors of their views (given logits [0, L_t]; nothing to train).
* **Students**: the linear softmax classifier without bias (zero init), the bench's KD loss, Adam,
  early-stopped on validation accuracy. Every seed draws a *fresh* training sample (fit and
  validation rows) from the family, since the known answer is an expectation over training
  samples; the no-KD, KD and control runs of a seed share it.
* **perf** is the student's exact population accuracy Phi(sqrt(D_s) cos angle(beta, Bayes
  direction)) in points (a linear student's test accuracy on infinitely many rows); the pilot and
  the probe are scored on the fixed criterion rows like every other dataset.
* **Known answer**: ``theory_delta`` = :func:`cch_jax.theory.mfh.theory_delta` at the fit size
  (the 1/n term of E acc(KD) - E acc(no KD) of the unregularised M-estimator; theory/mfh.md and
  theory/check_mfh.py say how well it predicts at this size).
* The fixed :class:`~cch_jax.bench._datasets.Source` (drawn with the config's seed) holds the
  criterion rows the predictors read and the test rows that score the teachers.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from cch_jax.bench import _datasets, _settings
from cch_jax.bench._plan import Group, Plan
from cch_jax.bench._students import (
    _accuracy,
    _say,
    _stop,
    _trainer,
    control_permutation,
    run_spec_of,
    sample_runs,
    train_config,
)
from cch_jax.kd import _runs

NAME = "mfh"
MU_G = 1.5  # mean norm of the modality-general decisive features
RHO_S = math.sqrt(0.5)  # the student's reading of g: D_s = 1.125, Bayes accuracy 85.6 %
DIMS = {"k_g": 4, "k_h": 4, "k_n": 56}  # student 60 features, teacher 64
RHO_T = (1.0, 0.7, 0.4, 0.0)  # the teacher's reading of g
MU_H = (0.0, 1.0, 2.0)  # the teacher's specific signal
FIT_ROWS, VAL_ROWS = 600, 200  # per seed (n / d_s = 10)
CRITERION_ROWS, TEST_ROWS = 1000, 4000  # fixed rows: predictors' inputs, teachers' accuracy
STUDENT_VIEW, TEACHER_VIEW = "x_s", "x_t"


def teacher_name(rho_t: float, mu_h: float) -> str:
    return f"g={rho_t:g},h={mu_h:g}"


def model_of(teacher: _settings.Teacher):
    """The :class:`cch_jax.theory.mfh.MFHModel` of one teacher of the family."""
    from cch_jax.theory import _mfh as mfh

    for r in RHO_T:
        for h in MU_H:
            if teacher_name(r, h) == teacher.name:
                return mfh.MFHModel(MU_G, RHO_S, r, h, **DIMS)
    raise ValueError(f"teacher: {teacher.name!r} is not a teacher of the mfh family")


def spec() -> _settings.DatasetSpec:
    """The same at 'cpu' and 'full' (a linear student on a few hundred rows)."""
    return _settings.DatasetSpec(
        name=NAME,
        task="classification",
        model="linear",
        hidden=(),
        learning_rate=1e-2,
        max_epochs=300,
        patience=30,
        train_rows=FIT_ROWS + VAL_ROWS,
        criterion_rows=CRITERION_ROWS,
        test_rows=TEST_ROWS,
        val_fraction=VAL_ROWS / (FIT_ROWS + VAL_ROWS),
    )


def teachers_and_students():
    """12 teachers (rho_t x mu_h) and one student (``x_s@n=200``)."""
    teachers = tuple(
        _settings.Teacher(teacher_name(r, h), TEACHER_VIEW) for r in RHO_T for h in MU_H
    )
    student = _settings.Student(
        f"{STUDENT_VIEW}@n={FIT_ROWS}", STUDENT_VIEW, train_rows=FIT_ROWS + VAL_ROWS
    )
    return teachers, (student,)


def _logits(lt: np.ndarray) -> np.ndarray:
    """Binary log-odds -> two-class logits [0, L] (softmax gives P(y = 1) = sigmoid(L))."""
    return np.stack([np.zeros_like(lt), lt], axis=-1).astype(np.float32)


def _draw(config: _settings.BenchConfig, teachers, n: int, stream: tuple[int, ...]):
    """n rows of the family: (x_s [n, d_s] float32, y [n] int32, teacher logits [V, n, 2])."""
    from cch_jax.theory import _mfh as mfh

    models = [model_of(t) for t in teachers]
    rng = np.random.default_rng([config.seed, 53, *stream])
    lat = mfh.draw_latents(models[0], n, rng)
    q_s, _ = mfh.views(models[0], config.seed)
    blocks_s, _ = mfh._blocks(models[0], lat)
    x = (blocks_s @ q_s.T).astype(np.float32)
    y = ((lat.s + 1) / 2).astype(np.int32)
    return x, y, np.stack([_logits(mfh.teacher_logit(m, lat)) for m in models])


def source(config: _settings.BenchConfig) -> _datasets.Source:
    """The fixed rows (drawn with the config's seed): fit and validation rows of the right sizes
    (the plan's checks and the teachers' fit logits read them; the students draw their own per
    seed), the criterion rows and the test rows."""
    teachers, (student,) = teachers_and_students()
    sizes = (FIT_ROWS, VAL_ROWS, CRITERION_ROWS, TEST_ROWS)
    x, y, lt = _draw(config, teachers, sum(sizes), (0,))
    part = np.repeat(
        np.asarray([_datasets.FIT, _datasets.VAL, _datasets.CRITERION, _datasets.TEST], np.int8),
        sizes,
    )
    m = model_of(teachers[0])
    note = (
        f"the MFH family (theory/mfh.md): binary label, {m.k_g} modality-general decisive "
        f"features (mean norm {MU_G:g}), {m.k_h} teacher-specific decisive, {m.k_n} shared "
        f"nuisance; student view reads g with rho_s = {RHO_S:.3g} (Bayes accuracy "
        f"{_bayes(m):.1f} %); teachers = Bayes posteriors of views with rho_t in "
        f"{list(RHO_T)} x mu_h in {list(MU_H)}; a fresh training sample per seed, students "
        f"scored by their exact population accuracy"
    )
    return _datasets.Source(
        NAME,
        y,
        part,
        2,
        {},
        {student.name: x},
        note,
        {t.name: lt[i] for i, t in enumerate(teachers)},
    )


def _bayes(model) -> float:
    from cch_jax.theory import _mfh as mfh

    return mfh.bayes_accuracy(mfh.separations(model)["student"])


def theory_delta(setting: _settings.Setting) -> float:
    """The known answer of a setting: E acc(KD) - E acc(no KD) in points at the fit size."""
    from cch_jax.theory import _mfh as mfh

    return mfh.theory_delta(
        model_of(setting.teacher), setting.kd_weight, FIT_ROWS, setting.temperature
    )


def train_mfh_group(plan: Plan, group: Group, *, pilot: bool = False, progress=None) -> dict:
    """The student group: per seed a fresh sample (fit + validation rows), no KD, KD and control
    runs as one program.

    Returns:
      As :func:`cch_jax.bench._students.train_group`: the run columns, ``perf`` (the exact
      population accuracy in points; the pilot: accuracy on the criterion rows), ``epochs``,
      ``best_epoch``, ``seconds`` and, for the full run, the probe's ``probe_reps``,
      ``probe_logits``, ``probe_accuracy`` on the criterion rows.
    """
    from cch_jax.theory import _mfh as mfh

    cfg_b = plan.config
    src = plan.source
    crit = src.rows(_datasets.CRITERION)
    if pilot:
        n_fit, n_val = plan.sizes["pilot_fit"], plan.sizes["pilot_validation"]
        seeds, batch = cfg_b.pilot_seed_values, plan.pilot_batch_size
    else:
        n_fit, n_val = plan.sizes["fit"], plan.sizes["validation"]
        seeds, batch = cfg_b.seeds, plan.batch_size
    A = len(group.teachers)
    xs, ys, ts, xv, yv = [], [], [], [], []
    for s in seeds:
        x, y, lt = _draw(cfg_b, group.teachers, n_fit + n_val, (1, s))
        xs.append(x[:n_fit])
        ys.append(y[:n_fit])
        ts.append(lt[:, :n_fit])
        xv.append(x[n_fit:])
        yv.append(y[n_fit:])
    # teacher slots: real (seed index si, teacher j) -> si * A + j; control -> S * A + si * A + j
    slots = [np.concatenate(ts)]
    if not pilot:
        slots.append(
            np.concatenate([ts[si][:, control_permutation(s, n_fit)] for si, s in enumerate(seeds)])
        )
    runs = sample_runs(A, cfg_b.kd_weights, seeds, cfg_b.temperature, control=not pilot)
    data = _runs.TrainData(
        np.stack(xs), np.stack(ys), np.concatenate(slots), np.stack(xv), np.stack(yv)
    )
    d = xs[0].shape[1]
    trainer = _trainer(train_config(plan, (d,), 2, batch), int(n_fit))
    spec_r = run_spec_of(runs, per_seed_data=True)
    what = "pilot" if pilot else "students"
    _say(progress, f"{what} {group.student.name}: {spec_r.size} runs on {n_fit} rows per seed")
    res = _runs.train_runs(trainer, data, spec_r, stop=_stop(plan))
    out = dict(runs)
    x_src = src.students[group.student.name]
    if pilot:
        out_logits = _runs.apply_runs(trainer.model.apply, res.params, x_src[crit])
        perf = _accuracy(out_logits, src.y[crit])
    else:
        model = model_of(group.teachers[0])
        q_s, _ = mfh.views(model, cfg_b.seed)
        w = _runs.apply_runs(trainer.model.apply, res.params, np.eye(d, dtype=np.float32))
        beta = (w[..., 1] - w[..., 0]).astype(np.float64)  # [P, d] the logit difference's weights
        perf = mfh.student_accuracy(model, beta @ q_s)  # latent coordinates: Q_s^T beta
    out.update(
        perf=np.asarray(perf, np.float64),
        epochs=res.epochs,
        best_epoch=res.best_epoch,
        seconds=np.asarray(res.seconds),
    )
    if not pilot:
        probe = jax.tree.map(lambda a: a[0:1], res.params)  # the no-KD student of seed 0
        out["probe_reps"] = _runs.apply_runs(trainer.model.features, probe, x_src[crit])[0]
        out["probe_logits"] = _runs.apply_runs(trainer.model.apply, probe, x_src[crit])[0]
        out["probe_accuracy"] = np.asarray(_accuracy(out["probe_logits"][None], src.y[crit])[0])
    return out
