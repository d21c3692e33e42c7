"""The joint-Gaussian theory: risk formula against Monte-Carlo simulation, closed-form MI, CCH logic.

Tolerances come from the simulations' own standard errors: a formula that is exact in expectation
must lie within 4 standard errors of the simulated mean (a false alarm in 1 of ~16 000 comparisons).
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cch_jax import theory
from cch_jax.figure1 import draw, lstsq_solver, simulate_risks

Z_TOL = 4.0


# ---------------------------------------------------------------------------- simulation helpers
@functools.partial(jax.jit, static_argnames=("n",))
def _general_risks(model, key, mus, *, n):
    """Fits KD students on n fresh rows of a general model; exact population risk per mu, [M]."""
    x1, x2, y = theory.sample(model, key=key, n=n)
    w = lstsq_solver(x2, y, x1 @ model.w1, mus)  # [M, d]
    return model.var_y - 2 * w @ model.s2y + jnp.einsum("md,de,me->m", w, model.s22, w)


def _z_scores(samples, predicted):
    mean = samples.mean(0)
    se = samples.std(0, ddof=1) / np.sqrt(samples.shape[0])
    return (mean - predicted) / se


# ---------------------------------------------------------------------------- risk vs simulation
@pytest.mark.parametrize("n,d,reps", [(300, 100, 400), (25, 10, 4000)])
def test_risk_formula_matches_simulation_in_the_family(n, d, reps):
    sigma2 = 1.0
    gaps = np.array([-0.3, -0.1, 0.0, 0.2, 0.8])
    a = np.asarray(theory.family_a(gaps, sigma2))
    mus = np.array([0.0, 0.25, 0.5, 1.0])
    risks = np.asarray(
        simulate_risks(
            draw(key=jax.random.key(1), num_seeds=reps, n=n, d=d), a, mus, sigma2, lstsq_solver
        )
    )
    chex.assert_shape(risks, (reps, len(gaps), len(mus)))
    m = theory.Moments(*(v[:, None] for v in theory.family_moments(a, sigma2)))
    exact = np.asarray(theory.risk(m, mus[None, :], theory.finite_f(n, d)))
    asym = np.asarray(theory.risk(m, mus[None, :], theory.asymptotic_f(n / d)))
    z_exact = _z_scores(risks, exact)
    # At a = 1 (gap 0) the teacher equals the label: every mu gives the same student.
    assert np.max(np.abs(z_exact[np.isfinite(z_exact)])) < Z_TOL
    if d / (n - d - 1) > 1.1 / (n / d - 1):  # the two f differ by more than the simulation can miss
        assert np.sum((risks.mean(0) - exact) ** 2) < np.sum((risks.mean(0) - asym) ** 2)


@pytest.mark.parametrize("d1,d,n", [(3, 10, 20), (5, 20, 40)])
def test_risk_formula_matches_simulation_for_general_covariances(d1, d, n):
    reps = 3000
    mus = jnp.array([0.0, 0.3, 0.7, 1.0])
    for model_seed in range(3):
        model = theory.random_model(d1, d, key=jax.random.key(100 + model_seed))
        keys = jax.random.split(jax.random.key(model_seed), reps)
        fit = functools.partial(_general_risks, n=n)
        risks = np.asarray(jax.vmap(fit, in_axes=(None, 0, None))(model, keys, mus))
        m = theory.moments(model)
        exact = np.asarray(theory.risk(m, mus, theory.finite_f(n, d)))
        asym = np.asarray(theory.risk(m, mus, theory.asymptotic_f(n / d)))
        z = _z_scores(risks, exact)
        assert np.max(np.abs(z)) < Z_TOL, (model_seed, z)
        assert np.sum((risks.mean(0) - exact) ** 2) < np.sum((risks.mean(0) - asym) ** 2)


def test_unnormalised_penalty_is_the_convex_form_with_kd_weight():
    model = theory.random_model(4, 6, key=jax.random.key(3))
    x1, x2, y = theory.sample(model, key=jax.random.key(4), n=50)
    t = x1 @ model.w1
    lam = 0.8
    # argmin |y - Xw|^2 + lam |t - Xw|^2, solved directly on the stacked system.
    stacked_x = jnp.concatenate([x2, jnp.sqrt(lam) * x2])
    stacked_y = jnp.concatenate([y, jnp.sqrt(lam) * t])
    w_direct = jnp.linalg.lstsq(stacked_x, stacked_y)[0]
    w_convex = lstsq_solver(x2, y, t, theory.penalty_to_kd_weight(lam)[None])[0]
    np.testing.assert_allclose(w_direct, w_convex, rtol=1e-3, atol=1e-4)


def test_window_and_best_weight():
    model = theory.random_model(5, 5, key=jax.random.key(7))
    m, f = theory.moments(model), theory.asymptotic_f(2.0)
    mus = jnp.linspace(0.0, 1.0, 10001)
    r = theory.risk(m, mus, f)
    r0 = theory.risk0(m, f)
    np.testing.assert_allclose(r[0], r0, rtol=1e-6)
    helps = np.asarray(r < r0)
    mu0 = float(theory.kd_window(m, f))
    if mu0 > 0:  # KD helps exactly on (0, mu0)
        inside = (mus > 1e-3) & (mus < mu0 - 1e-3)
        outside = mus > mu0 + 1e-3
        assert helps[np.asarray(inside)].all() and not helps[np.asarray(outside)].any()
    np.testing.assert_allclose(
        float(theory.best_weight(m, f)), float(mus[jnp.argmin(r)]), atol=2e-4
    )
    assert float(theory.risk(m, theory.best_weight(m, f), f)) <= float(jnp.min(r)) + 1e-6


# random_model(4, 6): the program (and that of moments) of test_cch_terms_equal_the_determinant_...
def test_derivative_at_zero_is_2f_times_c_minus_sigma2():
    m = theory.moments(theory.random_model(4, 6, key=jax.random.key(8)))
    f = theory.finite_f(50, 6)
    slope = jax.grad(lambda mu: theory.risk(m, mu, f))(0.0)
    np.testing.assert_allclose(slope, 2 * f * (m.c - m.sigma2), rtol=1e-5)


# ---------------------------------------------------------------------------- closed-form MI
def test_gaussian_mi_of_independent_pairs():
    rho = 0.6
    cov = np.eye(10)
    for i in range(5):
        cov[i, 5 + i] = cov[5 + i, i] = rho
    np.testing.assert_allclose(theory.gaussian_mi(cov, 5), -2.5 * np.log(1 - rho**2), rtol=1e-5)
    np.testing.assert_allclose(theory.gaussian_mi(cov, 5), 1.1157, atol=1e-4)  # anchors.md
    np.testing.assert_allclose(theory.gaussian_mi(np.eye(4), 2), 0.0, atol=1e-6)
    np.testing.assert_allclose(theory.nats_to_bits(np.log(2.0)), 1.0, rtol=1e-6)


def test_cch_terms_equal_the_determinant_formula():
    model = theory.random_model(4, 6, key=jax.random.key(11))
    report, m = theory.cch_report(model), theory.moments(model)
    cov_ts = jnp.array([[m.var_t, m.cov_ts], [m.cov_ts, m.var_s]])
    np.testing.assert_allclose(report.i_ts, theory.gaussian_mi(cov_ts, 1), rtol=1e-4)
    # I(s; y) = I(x2; y): s is a sufficient statistic of x2 for y.
    cov = theory.joint_covariance(model)[model.d1 :, model.d1 :]
    np.testing.assert_allclose(report.i_sy, theory.gaussian_mi(cov, model.d), rtol=1e-4)


@pytest.mark.parametrize("sigma2", [0.5, 1.0, 2.0])
def test_family_gap_matches_the_model(sigma2):
    a = jnp.linspace(0.05, np.sqrt(1 + sigma2) - 0.05, 9)
    reports = jax.vmap(lambda a_: theory.cch_report(theory.family_model(a_, sigma2, 7)))(a)
    np.testing.assert_allclose(reports.gap, theory.family_gap(a, sigma2), rtol=1e-4, atol=1e-5)
    # float32 cancellation in 1 + sigma2 - sigma2 exp(-2 gap) limits the round trip to ~1e-6 absolute
    np.testing.assert_allclose(
        theory.family_a(theory.family_gap(a, sigma2), sigma2), a, rtol=1e-5, atol=2e-6
    )
    moments = jax.vmap(lambda a_: theory.moments(theory.family_model(a_, sigma2, 7)))(a)
    for got, want in zip(moments, theory.family_moments(a, sigma2), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_family_sampler_has_the_stated_moments():
    x2, y, t = theory.family_sample(1.2, 1.0, key=jax.random.key(0), n=200_000, d=3)
    chex.assert_shape([x2, y, t], [(200_000, 3), (200_000,), (200_000,)])
    m = theory.family_moments(1.2, 1.0)
    cov = np.cov(np.stack([y, t, x2[:, 0]]))
    np.testing.assert_allclose(cov[0, 0], m.var_y, rtol=0.02)
    np.testing.assert_allclose(cov[1, 1], m.var_t, rtol=0.02)
    np.testing.assert_allclose(cov[1, 2], m.cov_ts, rtol=0.02)


# ---------------------------------------------------------------------------- the CCH
def test_cch_is_necessary_and_sufficient_in_the_family():
    sigma2, f = 1.0, theory.asymptotic_f(3.0)
    gaps = jnp.linspace(float(theory.family_min_gap(sigma2)) + 1e-3, 1.5, 301)
    m = theory.family_moments(theory.family_a(gaps, sigma2), sigma2)
    benefit = theory.risk0(m, f) - theory.risk(m, 1e-3, f)
    nonzero = np.abs(np.asarray(gaps)) > 1e-3
    assert np.array_equal(np.sign(gaps)[nonzero], np.sign(benefit)[nonzero])


def test_theorem_conditions_imply_kd_helps():
    keys = jax.random.split(jax.random.key(5), 2000)
    reports = jax.vmap(lambda k: theory.cch_report(theory.random_model(5, 5, key=k)))(keys)
    applies = np.asarray(reports.theorem_applies)
    assert applies.sum() > 20  # the draw exercises the theorem
    assert np.asarray(reports.kd_helps)[applies].all()
    assert np.asarray(reports.bounded).all() and np.asarray(reports.aligned).all()


def test_alignment_is_not_needed_but_boundedness_is():
    keys = jax.random.split(jax.random.key(6), 4000)
    reports = jax.vmap(
        lambda k: theory.cch_report(theory.random_model(5, 5, key=k, aligned=False))
    )(keys)
    cch_bounded = np.asarray(reports.cch & reports.bounded)
    unaligned = cch_bounded & ~np.asarray(reports.aligned)
    assert unaligned.sum() >= 5  # the draw exercises unaligned teachers that meet the CCH
    assert np.asarray(reports.kd_helps)[cch_bounded].all()
    # Scaling the teacher up changes no correlation (the CCH still holds) but scales c up.
    m = theory.family_model(1.2, 1.0, 3)
    big = m._replace(w1=3.0 * m.w1)
    assert bool(theory.cch_report(m).cch) and bool(theory.cch_report(big).cch)
    assert bool(theory.cch_report(m).kd_helps) and not bool(theory.cch_report(big).kd_helps)
    assert not bool(theory.cch_report(big).bounded)


# ---------------------------------------------------------------------------- vmap and shapes
def test_vmap_over_mu_alpha_a_and_keys_equals_a_loop():
    sigma2 = 1.0
    mus, alphas, a = (
        jnp.array([0.1, 0.5, 0.9]),
        jnp.array([1.5, 3.0, 10.0]),
        jnp.array([0.5, 1.0, 1.3]),
    )

    def one(mu, alpha, a_):
        return theory.risk(theory.family_moments(a_, sigma2), mu, theory.asymptotic_f(alpha))

    batched = jax.vmap(one)(mus, alphas, a)
    chex.assert_shape(batched, (3,))
    looped = jnp.stack([one(*args) for args in zip(mus, alphas, a, strict=True)])
    np.testing.assert_allclose(batched, looped, rtol=1e-6)

    keys = jax.random.split(jax.random.key(0), 3)
    model = theory.family_model(1.1, sigma2, 4)
    xs = jax.vmap(lambda k: theory.sample(model, key=k, n=8))(keys)
    chex.assert_shape(xs, [(3, 8, 1), (3, 8, 4), (3, 8)])
    for i, k in enumerate(keys):
        for got, want in zip((x[i] for x in xs), theory.sample(model, key=k, n=8), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-6)


def test_float64_on_request():
    with jax.enable_x64(True):
        m = theory.family_moments(jnp.float64(1.2), 1.0)
        r = theory.risk(m, 0.5, theory.finite_f(300, 100))
        assert r.dtype == jnp.float64
        assert theory.gaussian_mi(np.eye(2) + 0.5 * np.eye(2)[::-1], 1).dtype == jnp.float64


# ---------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    m = theory.family_moments(1.2, 1.0)
    with pytest.raises(ValueError, match="alpha"):
        theory.asymptotic_f(1.0)
    with pytest.raises(ValueError, match="n: must exceed d"):
        theory.finite_f(101, 100)
    with pytest.raises(ValueError, match="^kd_weight: must be <= 1"):
        theory.risk(m, 1.5, 0.5)
    with pytest.raises(ValueError, match="^kd_weight: must be >= 0"):
        theory.risk(m, -0.1, 0.5)
    with pytest.raises(ValueError, match="^f: must be > 0"):
        theory.risk(m, 0.5, 0.0)
    with pytest.raises(ValueError, match="^penalty: must be >= 0"):
        theory.penalty_to_kd_weight(-1.0)
    with pytest.raises(ValueError, match="not positive definite"):
        theory.gaussian_mi(np.array([[1.0, 2.0], [2.0, 1.0]]), 1)
    with pytest.raises(ValueError, match="not symmetric"):
        theory.gaussian_mi(np.array([[1.0, 0.5], [0.1, 1.0]]), 1)
    with pytest.raises(ValueError, match="non-finite"):
        theory.gaussian_mi(np.array([[1.0, np.nan], [np.nan, 1.0]]), 1)
    with pytest.raises(ValueError, match="dim_x"):
        theory.gaussian_mi(np.eye(3), 3)
    good = dict(
        s11=np.eye(2),
        s22=np.eye(3),
        s12=np.zeros((2, 3)),
        s1y=np.zeros(2),
        s2y=np.full(3, 0.1),
        var_y=1.0,
        w1=np.ones(2),
    )
    theory.make_gaussian_model(**good)
    with pytest.raises(ValueError, match="s12: expected shape"):
        theory.make_gaussian_model(**{**good, "s12": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="joint covariance: not positive definite"):
        theory.make_gaussian_model(**{**good, "s2y": np.ones(3)})
    with pytest.raises(ValueError, match="var_y: contains 1 non-finite"):
        theory.make_gaussian_model(**{**good, "var_y": np.inf})
    with pytest.raises(ValueError, match=r"^a: the family's teacher weight must lie in \[0, "):
        theory.family_gap(2.0, 1.0)
    with pytest.raises(ValueError, match="sigma2"):
        theory.family_moments(1.0, 0.0)
    with pytest.raises(ValueError, match="rho"):
        theory.correlation_mi(1.0)


def test_theory_ranges_and_hand_built_objects():
    """Teacher weights outside the family, zero-dimensional models, hand-built Moments and
    GaussianModels with negative variances, and positional keys are all refused by name."""
    top = np.sqrt(2.0)  # sqrt(1 + sigma2) at sigma2 = 1
    for fn in (theory.family_b, theory.family_moments, theory.family_gap):
        with pytest.raises(ValueError, match=r"^a: the family's teacher weight must lie in"):
            fn(top + 0.1, 1.0)
        with pytest.raises(ValueError, match=r"^a: must be >= 0"):
            fn(-0.5, 1.0)
    with pytest.raises(ValueError, match=r"^a: the family's teacher weight"):
        theory.family_model(np.array([1.0, 3.0]), 1.0, 4)
    with pytest.raises(ValueError, match=r"^a: the family's teacher weight"):
        theory.family_sample(3.0, 1.0, key=jax.random.key(0), n=10, d=2)
    with pytest.raises(ValueError, match=r"^d: must be >= 1, got 0"):
        theory.family_model(1.0, 1.0, 0)
    with pytest.raises(ValueError, match=r"^d1: must be >= 1, got 0"):
        theory.random_model(0, 3, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"^s11: the teacher modality needs at least one"):
        theory.make_gaussian_model(
            s11=np.zeros((0, 0)), s22=np.eye(2), s12=np.zeros((0, 2)), s1y=np.zeros(0),
            s2y=np.zeros(2), var_y=1.0, w1=np.zeros(0),
        )  # fmt: skip
    m = theory.family_moments(1.2, 1.0)
    for field in ("sigma2", "var_y", "tau2", "bias", "var_t"):
        bad = m._replace(**{field: jnp.asarray(-1.0)})
        with pytest.raises(ValueError, match=rf"^m.{field}: must be .* 0 \(a variance\), got -1"):
            theory.risk(bad, 0.5, 1.0)
    with pytest.raises(ValueError, match=r"^m: expected a Moments, got tuple"):
        theory.risk0(tuple(m), 1.0)
    model = theory.random_model(4, 6, key=jax.random.key(1))
    with pytest.raises(ValueError, match=r"^model: joint covariance: not positive semi-definite"):
        theory.moments(model._replace(var_y=jnp.asarray(-1.0)))
    with pytest.raises(ValueError, match=r"^model: joint covariance: not positive semi-definite"):
        theory.cch_report(model._replace(s22=-model.s22))
    theory.cch_report(theory.family_model(1.2, 1.0, 3))  # singular (t is a function of x2, y): ok
    with pytest.raises(ValueError, match=r"^model.s12: expected shape \(4, 6\)"):
        theory.moments(model._replace(s12=model.s12.T))
    with pytest.raises(ValueError, match=r"^model: zero-dimensional model"):
        theory.moments(model._replace(s22=jnp.zeros((0, 0))))
    with pytest.raises(ValueError, match=r"^key: expected a JAX PRNG key"):
        theory.sample(model, key=0, n=5)
    with pytest.raises(ValueError, match=r"^n: expected an integer, got 5.0"):
        theory.sample(model, key=jax.random.key(0), n=5.0)
    with pytest.raises(TypeError):  # keys are keyword-only
        theory.sample(model, jax.random.key(0), 5)
