"""The MFH known-answer family: its generative model, its formula, and its place in the bench."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cch_jax import bench
from cch_jax.bench import _board, _mfh, _plan, _settings, _students
from cch_jax.theory import _mfh as mfh

MODEL = mfh.MFHModel(mu_g=1.5, rho_s=math.sqrt(0.5), rho_t=0.7, mu_h=1.0, k_g=3, k_h=2, k_n=5)


def test_sample_moments_match_the_parameters():
    n = 200_000
    smp = mfh.sample(MODEL, n, np.random.default_rng(1))
    assert smp.x_student.shape == (n, 8) and smp.x_teacher.shape == (n, 10)
    m_s, m_t = mfh.class_means(MODEL)
    sep = mfh.separations(MODEL)
    assert m_s @ m_s == pytest.approx(sep["student"]) and m_t @ m_t == pytest.approx(sep["teacher"])
    s = 2.0 * smp.y - 1.0
    # 5 standard errors of a mean of n unit-variance rows
    tol = 5.0 / math.sqrt(n)
    assert abs(smp.y.mean() - 0.5) < tol
    np.testing.assert_allclose((s[:, None] * smp.x_student).mean(0), m_s, atol=tol)
    np.testing.assert_allclose((s[:, None] * smp.x_teacher).mean(0), m_t, atol=tol)
    for x, m in ((smp.x_student, m_s), (smp.x_teacher, m_t)):
        r = x - s[:, None] * m[None]  # class-conditional noise: identity covariance
        np.testing.assert_allclose(r.T @ r / n, np.eye(x.shape[1]), atol=6 * math.sqrt(2 / n))
    # the teacher's logit is its Bayes log-odds: accuracy Phi(sqrt(D_t)), and the latent route
    acc = 100 * np.mean((smp.teacher_logit > 0) == (smp.y == 1))
    assert acc == pytest.approx(mfh.bayes_accuracy(sep["teacher"]), abs=0.5)
    lat = mfh.draw_latents(MODEL, 50, np.random.default_rng(2))
    again = mfh.sample(MODEL, 50, np.random.default_rng(2))
    np.testing.assert_allclose(mfh.teacher_logit(MODEL, lat), again.teacher_logit, atol=1e-9)
    # u, L_t given s = +1: the moments the quadrature integrates over
    e = np.zeros(8)
    e[:3] = 1 / math.sqrt(3)
    u = smp.latent_student[s > 0] @ e
    lt = smp.teacher_logit[s > 0]
    cm = mfh.conditional_moments(MODEL)
    assert u.mean() == pytest.approx(cm["mean_u"], abs=0.02)
    assert lt.mean() == pytest.approx(cm["mean_lt"], abs=0.05)
    assert lt.var() == pytest.approx(cm["var_lt"], rel=0.02)
    assert np.cov(u, lt)[0, 1] == pytest.approx(cm["cov"], abs=0.03)


def test_bad_models_are_refused():
    with pytest.raises(ValueError, match="rho_s"):
        mfh.separations(MODEL._replace(rho_s=0.0))
    with pytest.raises(ValueError, match="rho_t"):
        mfh.separations(MODEL._replace(rho_t=1.5))
    with pytest.raises(ValueError, match="kd_weight"):
        mfh.theory_delta(MODEL, 1.5, 100)


def test_no_kd_optimum_is_the_bayes_logit_and_fisher_variance():
    sep = mfh.separations(MODEL)
    assert mfh.optimal_scale(MODEL, 0.0) == pytest.approx(2 * math.sqrt(sep["student"]), rel=1e-8)
    # R(0) = 1 / (b^2 E[sigma'(L_s)]) with L_s = 2 sqrt(D) u, u ~ N(sqrt(D), 1): by Monte Carlo
    u = math.sqrt(sep["student"]) + np.random.default_rng(0).standard_normal(2_000_000)
    p = 1 / (1 + np.exp(-2 * math.sqrt(sep["student"]) * u))
    want = 1 / (4 * sep["student"] * np.mean(p * (1 - p)))
    assert mfh.direction_variance(MODEL, 0.0) == pytest.approx(want, rel=5e-3)
    # a teacher equal to the student's own Bayes posterior: the KD term's residual vanishes
    self_teacher = MODEL._replace(rho_t=MODEL.rho_s, mu_h=0.0)
    assert mfh.theory_delta(self_teacher, 0.5, 100) > 0


def test_family_contains_a_weaker_teacher_that_helps_and_a_stronger_one_that_hurts():
    teachers, _ = _mfh.teachers_and_students()
    acc = {
        t.name: mfh.bayes_accuracy(mfh.separations(_mfh.model_of(t))["teacher"]) for t in teachers
    }
    delta = {t.name: mfh.theory_delta(_mfh.model_of(t), 0.5, _mfh.FIT_ROWS) for t in teachers}
    helps = [n for n in delta if delta[n] > 0.3]
    hurts = [n for n in delta if delta[n] < -0.1]
    assert hurts and helps
    assert min(acc[n] for n in helps) < max(acc[n] for n in hurts)
    assert delta["g=0,h=1"] < 0 < delta["g=0.4,h=0"] and acc["g=0.4,h=0"] < acc["g=0,h=1"]


def test_formula_agrees_with_the_exact_estimators():
    """The 1/n formula against 120 training sets of the exact M-estimators at n = 30 d.

    At n / d = 30 the next order is small: the tolerance is 4 standard errors plus 15 % of the
    formula (theory/check_mfh.py measures the bias at the bench's n / d = 10).
    """
    model = mfh.MFHModel(mu_g=1.5, rho_s=math.sqrt(0.5), rho_t=1.0, mu_h=0.0, k_g=2, k_h=2, k_n=4)
    hurt = model._replace(rho_t=0.0, mu_h=1.0)
    n, reps = 180, 120
    for m, sign in ((model, 1), (hurt, -1)):
        rng = np.random.default_rng(3)
        smp = [mfh.sample(m, n, rng) for _ in range(reps)]
        x = np.stack([s.latent_student for s in smp])
        y = np.stack([s.y for s in smp])
        lt = np.stack([s.teacher_logit for s in smp])
        acc0 = mfh.student_accuracy(m, mfh.fit_students(x, y, lt, 0.0))
        d = mfh.student_accuracy(m, mfh.fit_students(x, y, lt, 0.5)) - acc0
        th = mfh.theory_delta(m, 0.5, n)
        se = d.std(ddof=1) / math.sqrt(reps)
        assert np.sign(th) == sign
        assert abs(d.mean() - th) < 4 * se + 0.15 * abs(th), (d.mean(), se, th)


def test_fit_students_reaches_the_stationary_point():
    rng = np.random.default_rng(4)
    smp = mfh.sample(MODEL, 300, rng)
    x, y, lt = smp.latent_student[None], smp.y[None], smp.teacher_logit[None]
    beta = mfh.fit_students(x, y, lt, 0.5)[0]
    eps = 1e-5
    base = mfh.kd_loss(x[0] @ beta, y[0], lt[0], 0.5).mean()
    for i in range(beta.size):
        bump = beta.copy()
        bump[i] += eps
        assert mfh.kd_loss(x[0] @ bump, y[0], lt[0], 0.5).mean() >= base - 1e-12


def test_mfh_plan_builds_and_stays_out_of_the_real_pool():
    assert "mfh" in bench.DATASET_NAMES and "mfh" in _board.KNOWN_ANSWER
    cfg = bench.BenchConfig(dataset="mfh")
    plan = _plan.prepare(cfg)
    assert len(plan.settings) == 24 and len(plan.groups) == 1
    assert plan.sizes["fit"] == _mfh.FIT_ROWS and plan.sizes["validation"] == _mfh.VAL_ROWS
    assert set(plan.source.teacher_logits) == {t.name for t in plan.groups[0].teachers}
    assert all(st.task == "classification" for st in plan.settings)
    assert _settings.dataset_spec("mfh").model == "linear"


@pytest.mark.slow  # about 30 s on 2 shared cores
def test_tiny_mfh_run_agrees_with_its_known_answer():
    cfg = bench.BenchConfig(dataset="mfh", num_seeds=6, kd_weights=(0.5,), max_epochs=40)
    plan = _plan.prepare(cfg)
    teachers, (student,) = _mfh.teachers_and_students()
    keep = {t.name: t for t in teachers if t.name in ("g=1,h=0", "g=0,h=1")}
    settings = tuple(s for s in plan.settings if s.teacher.name in keep)
    group = _plan.Group(0, student, tuple(keep.values()), settings)
    plan = plan._replace(settings=settings, groups=(group,))
    full = _students.GroupRuns.read(_mfh.train_mfh_group(plan, group))
    assert full.probe_logits.shape == (_mfh.CRITERION_ROWS, 2)
    nokd, _ = _students._pick(full, _students.Arm.NO_KD, -1, 0.0, 6)
    bayes = mfh.bayes_accuracy(mfh.separations(_mfh.model_of(group.teachers[0]))["student"])
    assert np.all(nokd < bayes) and np.all(nokd > bayes - 10)
    for j, st in enumerate(group.teachers):
        kd, _ = _students._pick(full, _students.Arm.KD, j, 0.5, 6)
        th = _mfh.theory_delta(settings[j])
        assert np.sign((kd - nokd).mean()) == np.sign(th), (st.name, (kd - nokd), th)
    pilot = _mfh.train_mfh_group(plan, group, pilot=True)
    assert pilot["perf"].shape == (3 * (1 + 2),)
