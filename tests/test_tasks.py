"""Known-answer tasks: exact MI values, shapes, sample moments, jit/vmap, bad input."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats
from _shared_configs import N_DRAW

from cch_jax import theory
from cch_jax.mi import _tasks_common, _tasks_pairs, tasks

KEY = jax.random.key(0)


def _plug_in_gaussian_mi(x, y) -> float:
    """1/2 log(det S_xx det S_yy / det S) of the sample covariance (exact MI for Gaussians)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    cov = np.cov(np.concatenate([x, y], axis=1).T)
    return _tasks_common.gaussian_mi_f64(cov, x.shape[1])


# Every public task family, built through cch_jax.mi.tasks, against what its samples must show at
# n = 50 000: the plug-in Gaussian MI of the sample covariance has s.e. ~0.005 nats there for these
# MIs (< 0.5 nats), so 0.02 nats is > 4 s.e., and far below the errors a wrong task would give
# (a swapped split, a missing map, a factor 2 in the MI).
N_PLUG_IN = N_DRAW


@pytest.mark.parametrize(
    "make",
    [
        lambda: tasks.correlated_gaussian(2, 2, 0.6),
        lambda: tasks.multinormal(_random_spd(np.random.default_rng(4), 5), 2),
        lambda: tasks.independent(3, 2),
        lambda: tasks.embedded(tasks.correlated_gaussian(1, 1, 0.8), 4, 3, key=jax.random.key(2)),
    ],
)
def test_gaussian_families_sample_the_mi_they_report(make):
    task = make()
    assert isinstance(task, tasks.Task)
    x, y = task.sample(key=jax.random.key(5), n=N_PLUG_IN)
    chex.assert_shape([x, y], [(N_PLUG_IN, task.dim_x), (N_PLUG_IN, task.dim_y)])
    assert _plug_in_gaussian_mi(x, y) == pytest.approx(task.mutual_information(), abs=0.02)


def test_transformed_samples_are_monotone_maps_of_the_base_with_its_mi():
    """cube/asinh change the sample correlations (the plug-in Gaussian MI drops by > 0.05 nats),
    the inverse maps restore them, and the reported MI is the base's."""
    base = tasks.correlated_gaussian(2, 2, 0.6)
    task = tasks.transformed(base, x_map="cube", y_map="asinh")
    x, y = task.sample(key=jax.random.key(6), n=N_PLUG_IN)
    truth = task.mutual_information()
    assert truth == base.mutual_information()
    assert _plug_in_gaussian_mi(x, y) < truth - 0.05
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    assert _plug_in_gaussian_mi(np.cbrt(x64), np.sinh(y64)) == pytest.approx(truth, abs=0.02)


def test_student_t_samples_have_the_gaussian_part_and_the_reported_correction():
    """The sample covariance is dof/(dof-2) S: its Gaussian MI is that of S; the task's MI adds
    the (positive) dof correction on top."""
    disp = _random_spd(np.random.default_rng(8), 4)
    task = tasks.student_t(disp, 2, 8.0)
    x, y = task.sample(key=jax.random.key(9), n=N_PLUG_IN)
    gaussian_part = _tasks_common.gaussian_mi_f64(disp, 2)
    assert _plug_in_gaussian_mi(x, y) == pytest.approx(gaussian_part, abs=0.02)
    correction = tasks.student_t_mi_correction(2, 2, 8.0)
    assert correction > 0.02
    assert task.mutual_information() == pytest.approx(gaussian_part + correction, abs=1e-12)


def test_mixture_labels_sample_the_label_mi_they_report():
    """I(H; Y) = E[log p(u | y) - log p(u)] along the informative direction u = h q[:, 0],
    estimated from the samples with the task's own class means (CLT bound, 4 s.e.)."""
    task = tasks.mixture_labels(4, 2.0, 3)
    assert isinstance(task, tasks.MixtureLabels)
    h, labels = task.sample(key=jax.random.key(10), n=N_PLUG_IN)
    chex.assert_shape([h, labels], [(N_PLUG_IN, 3), (N_PLUG_IN,)])
    u = np.asarray(h, np.float64) @ task.q[:, 0]
    means = 2.0 * (np.arange(4) - 1.5)
    logp = scipy.stats.norm.logpdf(u[:, None] - means[None, :])  # [n, C]
    ratio = logp[np.arange(N_PLUG_IN), np.asarray(labels)] - (
        scipy.special.logsumexp(logp, axis=1) - math.log(4)
    )
    se = ratio.std() / math.sqrt(N_PLUG_IN)
    assert abs(ratio.mean() - task.mutual_information()) < 4 * se
    assert task.mutual_information() == pytest.approx(tasks.mixture_label_mi(4, 2.0))


def test_cch_triple_samples_the_teacher_student_mi_and_gap_it_reports():
    """Teacher and student share only Gaussian directions (the label direction u is independent of
    the teacher), so the plug-in Gaussian MI of (teacher, student) is I(H_t; H_s)."""
    triple = tasks.cch_triple(0.3, dim_teacher=4, dim_student=5)
    assert isinstance(triple, tasks.CCHTriple)
    teacher, student, labels = triple.sample(key=jax.random.key(12), n=N_PLUG_IN)
    chex.assert_shape([teacher, student, labels], [(N_PLUG_IN, 4), (N_PLUG_IN, 5), (N_PLUG_IN,)])
    assert _plug_in_gaussian_mi(teacher, student) == pytest.approx(
        triple.mi_teacher_student(), abs=0.02
    )
    assert triple.gap() == pytest.approx(0.3, abs=1e-12)
    assert triple.mi_student_label() == pytest.approx(tasks.mixture_label_mi(4, 2.0), abs=1e-12)


@pytest.mark.parametrize(
    ("dx", "dy", "rho", "expected"),
    [
        (5, 5, 0.6, 1.1157177565710485),  # anchors.md: 1.1157 nats
        (1, 1, 0.6, 0.2231435513142097),  # anchors.md: 0.2231 nats
        (3, 7, -0.9, -1.5 * math.log(1 - 0.81)),
        (4, 2, 0.0, 0.0),
    ],
)
def test_correlated_gaussian_mi(dx, dy, rho, expected):
    task = tasks.correlated_gaussian(dx, dy, rho)
    assert (task.dim_x, task.dim_y) == (dx, dy)
    assert isinstance(task, tasks.Task)
    np.testing.assert_allclose(task.mutual_information(), expected, rtol=1e-12, atol=1e-14)
    # the float64 value agrees with the project's closed form (float32 there)
    np.testing.assert_allclose(
        float(theory.gaussian_mi(task.cov, dx)), expected, rtol=1e-5, atol=1e-6
    )


def _random_spd(rng, d):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.3 * np.eye(d)


def test_multinormal_matches_gaussian_mi():
    rng = np.random.default_rng(1)
    cov = _random_spd(rng, 7)
    task = tasks.multinormal(cov, 3)
    assert (task.dim_x, task.dim_y) == (3, 4)
    expected = 0.5 * (
        np.linalg.slogdet(cov[:3, :3])[1]
        + np.linalg.slogdet(cov[3:, 3:])[1]
        - np.linalg.slogdet(cov)[1]
    )
    np.testing.assert_allclose(task.mutual_information(), expected, rtol=1e-12)
    np.testing.assert_allclose(float(theory.gaussian_mi(cov, 3)), expected, rtol=1e-4)


def test_independent_is_zero():
    task = tasks.independent(3, 2)
    assert task.mutual_information() == 0.0
    x, y = task.sample(key=KEY, n=50_000)
    c = np.corrcoef(np.asarray(x).T, np.asarray(y).T)[:3, 3:]
    assert np.max(np.abs(c)) < 5 / math.sqrt(50_000)


def test_multinormal_shapes_dtype_and_moments():
    rng = np.random.default_rng(2)
    cov = _random_spd(rng, 5)
    task = tasks.multinormal(cov, 2)
    n = 200_000
    x, y = task.sample(key=KEY, n=n)
    chex.assert_shape(x, (n, 2))
    chex.assert_shape(y, (n, 3))
    assert x.dtype == jnp.float32 and y.dtype == jnp.float32
    z = np.concatenate([np.asarray(x, np.float64), np.asarray(y, np.float64)], axis=1)
    emp = z.T @ z / n
    # s.e. of a sample covariance entry: sqrt((S_ii S_jj + S_ij^2) / n)
    se = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(emp - cov) < 5 * se), np.max(np.abs(emp - cov) / se)
    assert np.all(np.abs(z.mean(0)) < 5 * np.sqrt(np.diag(cov) / n))


def test_sample_is_jittable_and_vmappable_over_keys():
    task = tasks.correlated_gaussian(2, 3, 0.5)
    keys = jax.random.split(KEY, 4)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def draw(keys):
        return jax.vmap(lambda k: task.sample(key=k, n=16))(keys)

    xs, ys = draw(keys)
    chex.assert_shape(xs, (4, 16, 2))
    chex.assert_shape(ys, (4, 16, 3))
    draw(jax.random.split(jax.random.key(1), 4))  # same shapes: no retrace
    x1, y1 = task.sample(key=keys[1], n=16)
    np.testing.assert_allclose(xs[1], x1, rtol=1e-6)
    np.testing.assert_allclose(ys[1], y1, rtol=1e-6)
    assert not np.allclose(xs[0], xs[1])


# --- Student-t ---------------------------------------------------------------------------------

# Values printed by bmi 0.1 (SplitStudentT(...).mutual_information(), run in .venv-bmi) for the
# dispersion I with corr rho between x_i and y_i: (dx, dy, dof, rho) -> MI.
BMI_STUDENT_T = {
    (2, 2, 3.0, 0.0): 0.11082562376599103,
    (1, 1, 5.0, 0.6): 0.2402718297336568,
    (3, 2, 1.0, 0.3): 0.594310679471242,
    (5, 5, 10.0, 0.6): 1.1801186243480863,
}


def _paired(dx, dy, rho):
    s = np.eye(dx + dy)
    for i in range(min(dx, dy)):
        s[i, dx + i] = s[dx + i, i] = rho
    return s


@pytest.mark.parametrize(("dx", "dy", "dof", "rho"), list(BMI_STUDENT_T))
def test_student_t_mi_equals_bmi(dx, dy, dof, rho):
    task = tasks.student_t(_paired(dx, dy, rho), dx, dof)
    np.testing.assert_allclose(
        task.mutual_information(), BMI_STUDENT_T[(dx, dy, dof, rho)], rtol=1e-10
    )


def test_digamma_helper():
    for v in (0.05, 0.5, 1.0, 2.5, 7.9, 8.0, 33.3, 1e4):
        np.testing.assert_allclose(_tasks_pairs._digamma(v), scipy.special.digamma(v), rtol=1e-12)


def test_student_t_correction_limits():
    # -> 0 as dof -> infinity (the Gaussian limit); positive for finite dof
    assert tasks.student_t_mi_correction(2, 3, 1e7) < 1e-6
    vals = [tasks.student_t_mi_correction(2, 3, d) for d in (1.0, 3.0, 10.0, 100.0)]
    assert all(v > 0 for v in vals) and vals == sorted(vals, reverse=True)


@pytest.mark.parametrize(
    ("dx", "dy", "dof"), [(2, 1, 3.0), pytest.param(2, 3, 6.0, marks=pytest.mark.slow)]
)
def test_student_t_mi_matches_monte_carlo(dx, dy, dof):
    """MI = E[log p(x, y) - log p(x) - log p(y)], estimated from our own samples (CLT bound)."""
    rng = np.random.default_rng(3)
    disp = _random_spd(rng, dx + dy)
    task = tasks.student_t(disp, dx, dof)
    n = 200_000
    x, y = task.sample(key=jax.random.key(7), n=n)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    xy = np.concatenate([x, y], axis=1)
    log_ratio = (
        scipy.stats.multivariate_t.logpdf(xy, shape=disp, df=dof)
        - scipy.stats.multivariate_t.logpdf(x, shape=disp[:dx, :dx], df=dof)
        - scipy.stats.multivariate_t.logpdf(y, shape=disp[dx:, dx:], df=dof)
    )
    est, se = log_ratio.mean(), log_ratio.std() / math.sqrt(n)
    assert abs(est - task.mutual_information()) < 4 * se, (est, se, task.mutual_information())
    # and the Gaussian part alone would be wrong by far more than the noise
    assert (
        abs(est - task.mutual_information() + tasks.student_t_mi_correction(dx, dy, dof)) > 10 * se
    )


def test_student_t_covariance():
    disp = _paired(2, 2, 0.5)
    dof = 8.0
    task = tasks.student_t(disp, 2, dof)
    n = N_PLUG_IN  # 2 + 2 at this n: the sampling programs of the test above
    x, y = task.sample(key=KEY, n=n)
    chex.assert_shape((x, y), [(n, 2), (n, 2)])
    z = np.concatenate([np.asarray(x, np.float64), np.asarray(y, np.float64)], axis=1)
    prods = z[:, :, None] * z[:, None, :]
    emp = prods.mean(0)
    se = prods.std(0) / math.sqrt(n)  # heavy tails: the s.e. is taken from the sample itself
    err = np.abs(emp - dof / (dof - 2) * disp)
    assert np.all(err < 5 * se), np.max(err / se)


# --- transformed and embedded -------------------------------------------------------------------


def test_transformed_applies_maps_and_keeps_mi():
    base = tasks.correlated_gaussian(2, 2, 0.7)
    for x_map, y_map in [("cube", "asinh"), ("half_cube", "sigmoid"), ("exp", "identity")]:
        task = tasks.transformed(base, x_map=x_map, y_map=y_map)
        assert task.mutual_information() == base.mutual_information()
        assert (task.dim_x, task.dim_y) == (2, 2)
        # N_PLUG_IN rows of 2 + 2: the sampling program of the plug-in tests above
        x, y = task.sample(key=KEY, n=N_PLUG_IN)
        x0, y0 = base.sample(key=KEY, n=N_PLUG_IN)
        np.testing.assert_allclose(x, tasks.MONOTONE_MAPS[x_map](x0), rtol=1e-6)
        np.testing.assert_allclose(y, tasks.MONOTONE_MAPS[y_map](y0), rtol=1e-6)
    # every map is strictly increasing on a grid (ranks preserved)
    grid = jnp.linspace(-6.0, 6.0, 1001)
    for name, f in tasks.MONOTONE_MAPS.items():
        assert bool(jnp.all(jnp.diff(f(grid)) > 0)), name


def test_embedded_keeps_mi_and_structure():
    base = tasks.correlated_gaussian(2, 1, 0.8)
    task = tasks.embedded(base, 6, 4, key=jax.random.key(3))
    assert (task.dim_x, task.dim_y) == (6, 4)
    assert task.mutual_information() == base.mutual_information()
    np.testing.assert_allclose(task.q_x @ task.q_x.T, np.eye(6), atol=1e-12)
    np.testing.assert_allclose(task.q_y @ task.q_y.T, np.eye(4), atol=1e-12)
    # the embedded Gaussian's covariance has the same closed-form MI
    full = np.eye(10)
    full[:2, :2], full[6:7, 6:7] = base.cov[:2, :2], base.cov[2:, 2:]
    full[:2, 6:7], full[6:7, :2] = base.cov[:2, 2:], base.cov[2:, :2]
    rot = np.block([[task.q_x, np.zeros((6, 4))], [np.zeros((4, 6)), task.q_y]])
    np.testing.assert_allclose(
        _tasks_common.gaussian_mi_f64(rot @ full @ rot.T, 6), base.mutual_information(), rtol=1e-10
    )
    # rotating back recovers the base sample in the leading coordinates; N_PLUG_IN rows: the
    # normal draws of 3, 4 and 3 columns are those of the plug-in tests above
    key = jax.random.key(11)
    x, y = task.sample(key=key, n=N_PLUG_IN)
    chex.assert_shape((x, y), [(N_PLUG_IN, 6), (N_PLUG_IN, 4)])
    x0, y0 = base.sample(key=jax.random.split(key, 3)[0], n=N_PLUG_IN)
    np.testing.assert_allclose(np.asarray(x) @ task.q_x[:, :2], x0, atol=1e-5)
    np.testing.assert_allclose(np.asarray(y) @ task.q_y[:, :1], y0, atol=1e-5)


def test_embedded_64_by_64_is_vmappable():
    task = tasks.embedded(tasks.correlated_gaussian(4, 4, 0.6), 64, 64, key=jax.random.key(0))
    xs, ys = jax.vmap(lambda k: task.sample(key=k, n=32))(jax.random.split(KEY, 3))
    chex.assert_shape((xs, ys), [(3, 32, 64), (3, 32, 64)])
    assert task.mutual_information() == pytest.approx(-2 * math.log(1 - 0.36))


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: tasks.correlated_gaussian(2, 2, 1.0), "rho"),
        (lambda: tasks.correlated_gaussian(0, 2, 0.5), "dim_x"),
        (lambda: tasks.correlated_gaussian(2, 2, float("nan")), "rho"),
        (lambda: tasks.multinormal(np.ones((3, 3)), 1), "cov"),
        (lambda: tasks.multinormal(np.eye(3)[:2], 1), "cov"),
        (lambda: tasks.multinormal(np.eye(3), 3), "dim_x"),
        (lambda: tasks.student_t(np.eye(3), 1, 0.0), "dof"),
        (lambda: tasks.student_t(np.eye(3), 1, -2), "dof"),
        (lambda: tasks.transformed(tasks.independent(1, 1), x_map="square"), "x_map"),
        (lambda: tasks.transformed("not a task"), "task"),
        (lambda: tasks.embedded(tasks.independent(3, 1), 2, 4, key=KEY), "dim_x"),
        (lambda: tasks.independent(1, 1).sample(key=KEY, n=0), "^n: must be >= 1"),
        (lambda: tasks.independent(1, 1).sample(key=0, n=5), "^key: expected a JAX PRNG key"),
    ],
)
def test_bad_input(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sample_takes_keyword_only_arguments():
    with pytest.raises(TypeError):  # a positional key is a programming error, not user input
        tasks.independent(1, 1).sample(KEY, 5)
