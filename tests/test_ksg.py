"""KSG estimator: exact against scikit-learn and a SciPy cKDTree reference, known answers over seeds,
symmetry, invariances, vmap/jit contracts and bad input."""

import functools
import math
import re

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _shared_configs import N_DRAW
from scipy.spatial import cKDTree
from scipy.special import digamma
from sklearn.feature_selection import mutual_info_regression
from sklearn.preprocessing import scale

import cch_jax.mi as mi
from cch_jax import _checks
from cch_jax.mi import _ksg, _neighbours, _ties, tasks

SEARCHES = ("grouped", "topk")


# --------------------------------------------------------------------------------------------------
# References


def ksg_reference(x, y, k, metric):
    """KSG estimator 1 with SciPy's cKDTree (float64): the NPEET/scikit-learn algorithm.

    metric "max": max-norm everywhere (cKDTree p=inf for the joint k-NN and the marginal counts).
    metric "bmi": Euclidean in X and in Y, max of the two jointly; cKDTree has no such product
    metric, so the joint k-th distance is found by brute force in NumPy and the marginal counts by
    cKDTree (p=2). Strict counts: radius eps (1 - 1e-10) excludes the points at exactly eps (the
    defining neighbours) whatever the rounding of the tree's squared distances; no other distance
    lies that close to eps in these continuous data.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n = x.shape[0]
    if metric == "max":
        xy = np.concatenate([x, y], axis=1)
        dist, _ = cKDTree(xy).query(xy, k + 1, p=np.inf)
        eps, p = dist[:, -1], np.inf
    else:
        dx = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        dy = np.sqrt(((y[:, None, :] - y[None, :, :]) ** 2).sum(-1))
        eps, p = np.sort(np.maximum(dx, dy), axis=1)[:, k], 2
    r = eps * (1 - 1e-10)
    nx = cKDTree(x).query_ball_point(x, r, p=p, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, r, p=p, return_length=True) - 1
    return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def sklearn_preprocess(x, y, seed):
    """The exact inputs scikit-learn's mutual_info_regression feeds its KSG (scale + 1e-10 noise)."""
    X = scale(x[:, None].astype(np.float64), with_mean=False)
    rng = np.random.RandomState(seed)
    X += 1e-10 * np.maximum(1, np.mean(np.abs(X), axis=0)) * rng.standard_normal(size=X.shape)
    y = scale(y.astype(np.float64), with_mean=False)
    y += 1e-10 * np.maximum(1, np.mean(np.abs(y))) * rng.standard_normal(size=y.shape[0])
    return X[:, 0], y


# --------------------------------------------------------------------------------------------------
# Exact agreement


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 3, 10])
def test_equals_sklearn_1d(seed, k):
    rng = np.random.default_rng(seed)
    n = 800
    x = rng.standard_normal(n)
    y = 0.6 * x + 0.8 * rng.standard_normal(n)
    expected = mutual_info_regression(x[:, None], y, n_neighbors=k, random_state=seed)[0]
    xp, yp = sklearn_preprocess(x, y, seed)
    with jax.enable_x64(True):
        ours = {s: float(mi.ksg(xp, yp, k=k, standardize=False, search=s)) for s in SEARCHES}
    for value in ours.values():
        assert abs(max(value, 0.0) - expected) < 1e-6  # scikit-learn clips at 0
    assert expected > 0.05  # the comparison is not vacuous


CASES = [(1, 1, 1), (2, 3, 3), (8, 1, 2), (3, 8, 10), (8, 8, 4), (5, 5, 7)]


@pytest.mark.parametrize("metric", ["max", "bmi"])
@pytest.mark.parametrize(("dx", "dy", "k"), CASES)
def test_equals_ckdtree_reference(metric, dx, dy, k):
    rng = np.random.default_rng(dx * 100 + dy * 10 + k)
    n = 500
    x = rng.standard_normal((n, dx))
    y = 0.7 * x[:, :1] + rng.standard_normal((n, dy))
    expected = ksg_reference(x, y, k, metric)
    with jax.enable_x64(True):
        # default blocks for one search, an uneven block (the last one padded) for the other
        for search, block in (("grouped", None), ("topk", 37)):
            ours = float(
                mi.ksg(x, y, k=k, metric=metric, standardize=False, search=search, block=block)
            )
            assert abs(ours - expected) < 1e-6, (search, ours, expected)


@pytest.mark.parametrize("metric", ["max", "bmi"])
def test_equals_reference_in_many_dimensions(metric):
    """Above 16 coordinates squared Euclidean distances come from a matrix product."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((400, 20))
    y = 0.5 * x[:, :20] + rng.standard_normal((400, 20))
    expected = ksg_reference(x, y, 4, metric)
    with jax.enable_x64(True):
        for search in SEARCHES:
            ours = float(mi.ksg(x, y, k=4, metric=metric, standardize=False, search=search))
            assert abs(ours - expected) < 1e-6


def test_float32_close_to_float64_reference():
    """Default float32: distances round, so a near-tie can flip a count; observed |diff| ~1e-7."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1000, 3)).astype(np.float32)
    y = (0.6 * x + 0.8 * rng.standard_normal((1000, 3))).astype(np.float32)
    expected = ksg_reference(x, y, 3, "max")
    ours = mi.ksg(x, y, k=3, standardize=False)
    assert ours.dtype == jnp.float32
    assert abs(float(ours) - expected) < 2e-5


def test_ties_match_reference_and_searches_agree():
    """Integer-valued data: many tied distances and duplicate rows; both searches stay exact."""
    rng = np.random.default_rng(4)
    x = rng.integers(0, 6, (300, 2)).astype(np.float64)
    y = (x[:, :1] + rng.integers(0, 3, (300, 1))).astype(np.float64)
    for k in (1, 8):
        # reference with exact ties: joint k-th distance with multiplicity, strict counts
        xy = np.concatenate([x, y], 1)
        eps = np.sort(np.abs(xy[:, None] - xy[None]).max(-1), axis=1)[:, k]
        nx = (np.abs(x[:, None] - x[None]).max(-1) < eps[:, None]).sum(1) - (eps > 0)
        ny = (np.abs(y[:, None] - y[None]).max(-1) < eps[:, None]).sum(1) - (eps > 0)
        expected = digamma(k) + digamma(300) - np.mean(digamma(nx + 1) + digamma(ny + 1))
        with jax.enable_x64(True):
            for search in SEARCHES:
                ours = float(mi.ksg(x, y, k=k, standardize=False, search=search, ties="keep"))
                assert np.isfinite(ours)
                assert abs(ours - expected) < 1e-9


def test_duplicate_rows_are_finite():
    # 600 rows, 1 + 1, k = 3: the ties="keep" program of test_two_constant_columns_give_zero_...
    x = np.zeros((600, 1), np.float32)
    y = np.ones((600, 1), np.float32)
    value = float(mi.ksg(x, y, k=3, ties="keep"))
    # the raw estimator: every point has >= k exact copies, eps = 0, n_x = n_y = 0
    assert value == pytest.approx(digamma(3) + digamma(600) - 2 * digamma(1), rel=1e-5)
    assert np.isfinite(float(mi.ksg(np.arange(600) % 3, np.arange(600) % 5, k=3, ties="keep")))


# --------------------------------------------------------------------------------------------------
# Ties and discrete data (policy: ties="jitter" by default, see the module docstring)


def _mi_binary_plus_gauss(s: float) -> float:
    """I(X; Y) for X uniform on {0, 1} and Y = X + s N(0, 1): h(Y) - h(Y | X), by quadrature."""
    from scipy import integrate, stats

    def f(t):
        return 0.5 * stats.norm.pdf(t, 0, s) + 0.5 * stats.norm.pdf(t, 1, s)

    h_y = integrate.quad(lambda t: -f(t) * np.log(f(t)), -12 * s, 1 + 12 * s, limit=200)[0]
    return h_y - 0.5 * np.log(2 * np.pi * np.e * s * s)


def test_two_constant_columns_give_zero_not_nine_nats():
    # 600 rows, 1 + 1: the jittered program is test_tie_policies_under_jit's eager one
    x, y = np.ones((600, 1)), np.full((600, 1), 2.0)
    assert float(mi.ksg(x, y, ties="keep")) > 8.0  # the raw estimator's nonsense (documented)
    with pytest.warns(
        _checks.InputWarning, match=r"^x: column\(s\) 0 have many tied values .*; y: column"
    ):
        value = float(mi.ksg(x, y))
    # independent noise at n = 600: KSG's s.d. is ~0.03 nats (KNOWN["ind33"]: 0.032 at n = 500)
    assert abs(value) < 0.1
    with pytest.raises(
        ValueError, match=r"^x: column\(s\) 0 have many tied values \(one value in up to 100%"
    ):
        mi.ksg(x, y, ties="error")


def test_discrete_known_answers():
    """Over 8 seeds at n = 1000 (jittered KSG's s.d. per seed ~0.03 nats; tolerance ~4 s.e.):
    independent 20-level codes vs Gaussian noise -> 0; X = Y uniform on 4 codes -> log 4;
    X uniform on {0, 1}, Y = X + 0.5 N(0, 1) -> 0.3368 nats (quadrature). All three are 1 + 1
    columns: one KSG program, eager and under jit (the naming of several tied columns in the
    warning: tests/test_ties.py, on batched counts of the jitted core)."""
    rng = np.random.default_rng(0)
    b, n = 8, 1000
    codes = rng.integers(0, 20, (b, n, 1)).astype(np.float32)
    noise = rng.standard_normal((b, n, 1)).astype(np.float32)
    with pytest.warns(_checks.InputWarning, match=r"^x: column\(s\) 0 have many tied"):
        independent = np.asarray(mi.ksg(codes, noise))
    assert abs(independent.mean()) < 0.04
    four = rng.integers(0, 4, (b, n, 1)).astype(np.float32)
    with pytest.warns(_checks.InputWarning):
        same = np.asarray(mi.ksg(four, four.copy()))
    assert abs(same.mean() - math.log(4)) < 0.05
    # The same answers under jax.jit (no warning there: warnings are errors in this suite). The
    # jitter used to be skipped when traced, and jit gave the raw 8.98 nats for X = Y on 4 codes.
    jitted = jax.jit(mi.ksg)
    np.testing.assert_allclose(jitted(codes, noise), independent, rtol=0, atol=1e-6)
    np.testing.assert_allclose(jitted(four, four.copy()), same, rtol=0, atol=1e-6)
    # vmapped over 2 datasets instead of 8: the column means round differently (one count moved
    # by a last-bit change of a jittered value: 6e-6 nats observed)
    np.testing.assert_allclose(jax.vmap(mi.ksg)(four[:2], four[:2]), same[:2], rtol=0, atol=1e-4)
    xb = rng.integers(0, 2, (b, n, 1)).astype(np.float32)
    yb = xb + 0.5 * rng.standard_normal((b, n, 1)).astype(np.float32)
    with pytest.warns(_checks.InputWarning):
        binary = np.asarray(mi.ksg(xb, yb))
    assert abs(binary.mean() - _mi_binary_plus_gauss(0.5)) < 0.04


def test_tie_policies_under_jit():
    """Under jax.jit: ties="keep" is the raw estimator (~9 nats for X = Y on 4 codes), "jitter"
    equals the concrete call, and "error", which cannot raise on traced values, returns NaN for
    tied data and the estimate for continuous data."""
    rng = np.random.default_rng(3)
    four = rng.integers(0, 4, (600, 1)).astype(np.float32)
    cont = rng.standard_normal((600, 1)).astype(np.float32)

    def jitted(ties):
        return jax.jit(lambda a, b: mi.ksg(a, b, ties=ties))

    assert float(jitted("keep")(four, four)) > 8.0
    with pytest.warns(_checks.InputWarning):
        eager = float(mi.ksg(four, four))
    assert float(jitted("jitter")(four, four)) == pytest.approx(eager, abs=1e-6)
    assert abs(eager - math.log(4)) < 0.1
    assert np.isnan(float(jitted("error")(four, cont)))
    assert float(jitted("error")(cont, cont + four)) == pytest.approx(
        float(mi.ksg(cont, cont + four, ties="error")), abs=1e-6
    )


# Under jit, as the estimators' cores run it: one program per shape (eagerly, ~25 small ones).
_tie_stats = jax.jit(functools.partial(_ties.tie_stats, standardize=True))


def test_continuous_float32_data_are_not_jittered():
    """Continuous float32 data at large n have a few natural duplicates: no warning, no change.

    The duplicates are planted (the natural ones at n = 10^6: the test below), at 600 rows, 1 + 1:
    the keep and the jitter programs of test_two_constant_columns_give_zero_not_nine_nats and
    test_tie_policies_under_jit."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((600, 1)).astype(np.float32)
    x[:3] = x[3:6]  # 0.5% duplicated rows, each value twice: not a tied column
    y = x + rng.standard_normal((600, 1)).astype(np.float32)
    assert _ties.tie_note("x", jnp.asarray(x)) is None
    most, widths = _tie_stats(x)
    assert int(most[0]) == 2 and np.all(np.asarray(widths) == 0)
    keep = mi.ksg(x, y, ties="keep")
    np.testing.assert_array_equal(mi.ksg(x, y, ties="error"), keep)
    np.testing.assert_array_equal(mi.ksg(x, y), keep)  # concrete and untied: the keep program
    # the jitter's code (what traced inputs run) leaves untied columns bit for bit
    np.testing.assert_array_equal(jax.jit(lambda a, b: mi.ksg(a, b))(x, y), keep)


def test_core_policy_drops_the_jitter_only_for_concrete_untied_inputs():
    """The core runs without the jitter's code only where it would change nothing."""
    rng = np.random.default_rng(2)
    cont = rng.standard_normal((300, 2)).astype(np.float32)
    codes = rng.integers(0, 3, (300, 1)).astype(np.float32)
    assert _ties.core_policy("jitter", x=cont, y=cont) == "keep"
    assert _ties.core_policy("error", x=cont, y=cont) == "keep"
    assert _ties.core_policy("jitter", x=cont, y=codes) == "jitter"
    assert _ties.core_policy("keep", x=codes, y=codes) == "keep"
    with pytest.raises(ValueError, match="^y: column"):
        _ties.core_policy("error", x=cont, y=codes)
    traced = jax.jit(lambda a: jnp.asarray(_ties.core_policy("jitter", x=a) == "jitter"))
    assert bool(traced(cont))  # traced inputs: the core decides


def test_quantised_float32_draws_at_large_n_are_not_tied():
    """jax.random.normal float32 draws share a value with another row in ~12% of the rows at
    n = 10^6 (2^23 uniforms), but repeat no value more than a few times: not a tied column. A
    zero-inflated (ReLU-like) column of the same size is."""
    z = jax.random.normal(jax.random.key(0), (1_000_000, 1), jnp.float32)
    sorted_z = np.sort(np.asarray(z[:, 0]))
    assert np.mean(sorted_z[1:] == sorted_z[:-1]) > 0.03  # the pairs are really there
    assert _ties.tie_note("x", z) is None
    assert int(_tie_stats(z)[0][0]) <= _ties.TIE_MIN_COUNT
    relu = jnp.maximum(z, 0.0)
    note = _ties.tie_note("h", relu)
    assert note.startswith("h: column(s) 0 have many tied values (one value in up to 50% of")
    most, widths = _tie_stats(relu)
    # 1% of the smallest gap between distinct values, in standardised units
    s = np.unique(np.asarray(relu[:, 0], np.float64))
    expected = 1e-2 * np.min(np.diff(s)) / np.std(np.asarray(relu[:, 0], np.float64))
    assert int(most[0]) == int(np.sum(np.asarray(relu) == 0))
    assert float(widths[0]) == pytest.approx(expected, rel=1e-3)


def test_huge_and_tiny_magnitudes_standardise_correctly():
    x, y = _data(3)  # the shape of test_symmetry's data: its two programs are reused
    x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
    reference = float(mi.ksg(x, y))
    for factor in (1e30, 1e-30, 3e37):
        assert float(mi.ksg(x * factor, y * factor)) == pytest.approx(reference, abs=1e-6)
        assert float(mi.ksg(x * factor, y, metric="bmi")) == pytest.approx(
            float(mi.ksg(x, y, metric="bmi")), abs=1e-5
        )
    with pytest.raises(ValueError, match=r"^x: values up to 3e\+30 overflow the distances"):
        mi.ksg(x * 0 + 3e30, y, metric="bmi", standardize=False)
    with pytest.raises(ValueError, match=r"^x: values too large for float32"):
        mi.ksg(x.astype(np.float64) * 1e300, y)


# --------------------------------------------------------------------------------------------------
# Known answers over seeds (vmapped)

# Bias and spread of KSG at n = 500, k = 3 over 200 seeds (8 chunks c of 25 keys,
# jax.random.split(jax.random.key(1000 + c), 25)): task -> (mean - true MI, s.d.). Recomputed, with
# our ksg and with the SciPy cKDTree reference above on the same samples, by
#   python -m pytest tests/test_ksg.py -k known_table --run-slow
# (test_known_table_is_reproduced). KSG is biased low when the MI is large compared with the
# dimension-dependent resolution, and after non-linear maps (distances change, the MI does not).
KNOWN = {
    ("g11", "max"): (+0.0059, 0.0397),
    ("g55", "max"): (-0.4037, 0.0521),
    ("g55", "bmi"): (-0.3519, 0.0505),
    ("ind33", "max"): (-0.0022, 0.0319),
    ("tr22", "max"): (-0.1205, 0.0425),
    ("t22", "max"): (-0.0332, 0.0472),
}
N_REF_SEEDS = 200


def _datasets(task, key, n_seeds, n):
    """n_seeds datasets of n rows, [n_seeds, n, d] NumPy float32: the first n_seeds * n of N_DRAW
    rows drawn with ``key``. The rows are i.i.d., so the datasets are independent samples of the
    task, as from n_seeds keys (a vmap over keys compiles one sampling program per task and n)."""
    x, y = task.sample(key=key, n=N_DRAW)
    x, y = np.asarray(x)[: n_seeds * n], np.asarray(y)[: n_seeds * n]
    return x.reshape(n_seeds, n, -1), y.reshape(n_seeds, n, -1)


def _task(name):
    return {
        "g11": lambda: tasks.correlated_gaussian(1, 1, 0.6),
        "g55": lambda: tasks.correlated_gaussian(5, 5, 0.6),
        "ind33": lambda: tasks.independent(3, 3),
        "tr22": lambda: tasks.transformed(
            tasks.correlated_gaussian(2, 2, 0.6), x_map="cube", y_map="asinh"
        ),
        "t22": lambda: tasks.student_t(
            np.array([[1, 0, 0.5, 0], [0, 1, 0, 0.5], [0.5, 0, 1, 0], [0, 0.5, 0, 1.0]]), 2, 5.0
        ),
    }[name]()


@pytest.mark.parametrize(
    ("name", "metric"),
    [pytest.param(*key, marks=pytest.mark.slow) if key == ("g55", "bmi") else key for key in KNOWN],
)
def test_known_answer_bias_and_spread(name, metric):
    """Mean of 20 seeds within 4 combined standard errors of (true MI + known bias).

    The tolerance 4 sqrt(se^2 + se_ref^2) comes from the observed spread of these 20 seeds and of
    the 200 reference seeds; the spread itself must match the reference s.d. (chi-square bounds).
    """
    task = _task(name)
    n_seeds, n = 20, 500
    # 20 datasets of 500 i.i.d. rows cut from one draw (key 7, not the reference keys), then
    # estimated as one batch, as test_known_table_is_reproduced does: tasks of the same dimensions
    # (tr22, t22) and test_independence_near_zero_and_not_clipped share a KSG program
    xs, ys = _datasets(task, jax.random.key(7), n_seeds, n)
    values = np.asarray(mi.ksg(xs, ys, k=3, metric=metric))
    chex.assert_shape(values, (n_seeds,))
    bias_ref, sd_ref = KNOWN[(name, metric)]
    truth = task.mutual_information()
    mean, sd = values.mean(), values.std(ddof=1)
    tol = 4 * math.sqrt(sd**2 / n_seeds + sd_ref**2 / N_REF_SEEDS)
    assert abs(mean - (truth + bias_ref)) < tol, (mean, truth + bias_ref, tol)
    assert 0.5 * sd_ref < sd < 1.6 * sd_ref  # chi-square, 19 dof: outside its 99.9% interval


@pytest.mark.slow
def test_known_table_is_reproduced():
    """Recomputes KNOWN from its 200 reference seeds, with mi.ksg and with the float64 SciPy
    cKDTree reference (:func:`ksg_reference`, on the same standardised samples): both agree with
    the table to its rounding (1e-4) plus float32 noise."""
    for (name, metric), (bias, sd) in KNOWN.items():
        task = _task(name)
        draw = jax.jit(jax.vmap(lambda key, task=task: task.sample(key=key, n=500)))
        ours, ref = [], []
        for c in range(N_REF_SEEDS // 25):
            xs, ys = draw(jax.random.split(jax.random.key(1000 + c), 25))
            ours.append(np.asarray(mi.ksg(xs, ys, k=3, metric=metric)))
            for x, y in zip(np.asarray(xs, np.float64), np.asarray(ys, np.float64), strict=True):
                ref.append(ksg_reference(scale(x), scale(y), 3, metric))
        truth = task.mutual_information()
        for values in (np.concatenate(ours), np.asarray(ref)):
            assert values.mean() - truth == pytest.approx(bias, abs=2e-4), (name, metric)
            assert values.std(ddof=1) == pytest.approx(sd, abs=2e-4), (name, metric)


def test_independence_near_zero_and_not_clipped():
    xs, ys = _datasets(tasks.independent(1, 1), jax.random.key(5), 20, 500)
    vals = mi.ksg(xs, ys)  # [20, 500, 1] batches, k = 3: the program of the known answer for g11
    assert np.min(vals) < 0 < np.max(vals)  # raw estimates, no clipping at 0


def test_gaussian_converges_with_n():
    """1+1, rho 0.6: at n = 20 000 within 0.04 nats of 0.2231 (s.d. ~0.006 at this n: KNOWN["g11"]
    gives 0.040 at n = 500, and the s.d. falls as 1 / sqrt(n)). search="auto" takes the sorted
    sweep here, the program of tests/test_ksg_sorted.py's test_auto_uses_sorted_in_low_dimension_with_
    identical_estimates (same n and k), and the draw is the sampling program of _datasets."""
    task = tasks.correlated_gaussian(1, 1, 0.6)
    x, y = _datasets(task, jax.random.key(0), 1, 20000)
    value = float(mi.ksg(x[0], y[0], k=3))
    assert abs(value - task.mutual_information()) < 0.04


# --------------------------------------------------------------------------------------------------
# Symmetry and invariances


def _data(seed=0, n=600, dx=3, dy=2):
    """Correlated Gaussian float32 data drawn with NumPy: these tests do not test the sampler (the
    tests of tasks do), and an eager JAX draw compiles a program per shape."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dx))
    y = 0.7 * x[:, :1] + rng.standard_normal((n, dy))
    return jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)


@pytest.mark.parametrize("metric", ["max", "bmi"])
def test_symmetry(metric):
    x, y = _data()
    np.testing.assert_allclose(
        mi.ksg(x, y, metric=metric), mi.ksg(y, x, metric=metric), rtol=0, atol=1e-6
    )


def test_invariance_under_affine_monotone_maps_and_permutations():
    """Exact invariances: per-coordinate a x + b (any sign of a, with standardize), permutations."""
    x, y = (np.asarray(v) for v in _data(1))  # maps in NumPy float32: nothing to compile
    base = float(mi.ksg(x, y))
    a = np.array([[3.0, -0.5, 20.0]], np.float32)
    b = np.array([[100.0, -7.0, 0.25]], np.float32)
    np.testing.assert_allclose(float(mi.ksg(a * x + b, y)), base, atol=2e-5)
    np.testing.assert_allclose(float(mi.ksg(x[:, ::-1], y[:, ::-1])), base, atol=1e-6)
    # row order does not matter
    perm = np.random.default_rng(2).permutation(x.shape[0])
    np.testing.assert_allclose(float(mi.ksg(x[perm], y[perm])), base, atol=1e-6)


def test_nonlinear_monotone_maps_keep_estimate_near_truth():
    """Not exact at finite n (distances change): the mean over 20 seeds stays within the band."""
    base = tasks.correlated_gaussian(1, 1, 0.6)
    for x_map, y_map in [("cube", "asinh"), ("half_cube", "sigmoid")]:
        task = tasks.transformed(base, x_map=x_map, y_map=y_map)
        xs, ys = _datasets(task, jax.random.key(11), 20, 1000)
        vals = np.asarray(mi.ksg(xs, ys))  # one KSG program for both maps
        se = vals.std(ddof=1) / math.sqrt(len(vals))
        # 1-D maps: measured bias within -0.03 nats at n = 1000 (cube is the harshest)
        assert -0.03 - 4 * se < vals.mean() - base.mutual_information() < 4 * se + 0.01


# --------------------------------------------------------------------------------------------------
# jit / vmap contracts


def test_batched_input_and_vmap_equal_a_loop():
    # 2 datasets of 600 rows, 1 + 1, k = 3: the loop runs the keep program of
    # test_continuous_float32_data_are_not_jittered, the vmap tests/test_mi_interface.py's
    xs, ys = (np.stack(a) for a in zip(*[_data(s, dx=1, dy=1) for s in range(2)], strict=True))
    batched = mi.ksg(xs, ys, k=3)
    chex.assert_shape(batched, (2,))
    vmapped = jax.vmap(lambda a, b: mi.ksg(a, b, k=3))(xs, ys)
    loop = np.array([float(mi.ksg(xs[i], ys[i], k=3)) for i in range(2)])
    np.testing.assert_allclose(batched, loop, atol=1e-6)
    np.testing.assert_allclose(vmapped, loop, atol=1e-6)
    for search in SEARCHES:
        np.testing.assert_allclose(mi.ksg(xs, ys, k=3, search=search), loop, atol=1e-6)


def test_one_compilation_per_shape_and_works_under_jit():
    @jax.jit
    @chex.assert_max_traces(n=1)
    def estimate(x, y):
        return mi.ksg(x, y, k=3)

    x, y = _data(0)  # _data's default shape: mi.ksg below reuses test_symmetry's program
    first = estimate(x, y)
    x2, y2 = _data(1)
    second = estimate(x2, y2)  # same shapes: no retrace (assert_max_traces raises otherwise)
    np.testing.assert_allclose(first, mi.ksg(x, y, k=3), atol=1e-6)
    np.testing.assert_allclose(second, mi.ksg(x2, y2, k=3), atol=1e-6)


def test_public_function_traces_its_core_once_per_shape(monkeypatch):
    chex.clear_trace_counter()
    static = ("k", "metric", "standardize", "search", "block", "group", "ties")
    counted = jax.jit(
        chex.assert_max_traces(_ksg._ksg_one.__wrapped__, n=1), static_argnames=static
    )
    monkeypatch.setattr(_ksg, "_ksg_one", counted)
    mi.ksg(*_data(2), k=3)  # _data's default shape (a persistent-cache hit when it is on)
    mi.ksg(*_data(3), k=3)  # new data, same shape: no retrace
    with pytest.raises(AssertionError):  # a new shape retraces: the guard can fail
        mi.ksg(*_data(3, n=300, dx=2, dy=1), k=3)  # the tie counts of the test of core_policy


def test_grouped_and_topk_agree_on_random_data():
    x, y = _data(4, n=1000, dx=5, dy=5)
    for k in (10,):
        np.testing.assert_allclose(
            mi.ksg(x, y, k=k, search="grouped"), mi.ksg(x, y, k=k, search="topk"), atol=1e-6
        )


def test_group_size_keeps_enough_groups():
    for n in (2, 3, 10, 11, 100, 10_000, 1_048_576):
        for kk in (2, 4, 11, 51):
            if n < kk:
                continue
            g = _neighbours.group_size(n, kk)
            assert g >= 1 and -(-n // g) >= kk


def test_standardize_flag():
    x, y = _data(6)
    scaled = 1000.0 * x
    assert abs(float(mi.ksg(scaled, y)) - float(mi.ksg(x, y))) < 2e-5
    # without standardisation the y distances dominate the joint max-norm: a different estimate
    assert abs(float(mi.ksg(scaled, y, standardize=False)) - float(mi.ksg(x, y))) > 0.05


# --------------------------------------------------------------------------------------------------
# Bad input


GOOD_X = np.random.default_rng(0).standard_normal((20, 2))
GOOD_Y = np.random.default_rng(1).standard_normal((20, 1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(y=GOOD_Y[:19]), "mismatched number of rows"),
        (dict(k=20), "n > k"),
        (dict(k=0), "k: must be >= 1"),
        (dict(k=2.5), "k: expected an integer"),
        (dict(x=np.where(np.eye(20, 2) > 0, np.nan, GOOD_X)), "x: contains .*NaN"),
        (dict(y=np.full((20, 1), np.inf)), "y: contains .*infinite"),
        (dict(x=np.array([["a", "b"]] * 20)), "x: expected a numeric array"),
        (dict(x=GOOD_X.astype(complex)), "x: expected a numeric array"),
        (dict(x=np.zeros((20, 0))), "x: needs at least one coordinate"),
        (dict(x=np.zeros((1, 20, 2, 1))), "x: expected 1 or 2 or 3 dimensions"),
        (dict(metric="euclidean"), "metric: expected one of"),
        (dict(search="fast"), "search: expected one of"),
        (dict(ties="ignore"), "ties: expected one of 'jitter', 'error', 'keep'"),
        (dict(block=0), "block: must be >= 1"),
        (dict(standardize="yes"), "standardize: expected a bool"),
        (dict(x=np.zeros((3, 20, 2))), "^x: has 3 dimensions .* batch both or neither"),
        (dict(x=np.zeros((3, 20, 2)), y=np.zeros((2, 20, 1))), "mismatched batch sizes"),
        (dict(x=None), "x: expected an array"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(x=GOOD_X, y=GOOD_Y, k=3)
    args.update(kwargs)
    x, y = args.pop("x"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        mi.ksg(x, y, **args)


# --------------------------------------------------------------------------------------------------
# CLI


def test_cli_mi(tmp_path, capsys):
    import json

    from cch_jax import cli

    x, y = _data(8)  # _data's default shape: the program of test_symmetry
    np.save(tmp_path / "x.npy", np.asarray(x))
    np.save(tmp_path / "y.npy", np.asarray(y))
    assert cli.main(["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["estimator"] == "ksg" and out["n"] == 600
    assert out["mi_nats"] == pytest.approx(float(mi.ksg(x, y)), abs=1e-6)
    assert out["mi_bits"] == pytest.approx(out["mi_nats"] / math.log(2), rel=1e-6)
    np.save(tmp_path / "l.npy", np.arange(600) % 3)
    args = ["mi", str(tmp_path / "x.npy"), str(tmp_path / "l.npy"), "--labels", "--k", "5"]
    assert cli.main(args) == 0
    assert "ross, k=5, euclidean" in capsys.readouterr().out
    # bad input: one clean line, exit code 2
    assert cli.main(["mi", str(tmp_path / "x.npy"), str(tmp_path / "nope.npy")]) == 2
    assert "y: no such file" in capsys.readouterr().err
    assert cli.main(["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), "--k", "0"]) == 2
    assert "k: must be >= 1" in capsys.readouterr().err


def test_cli_mi_bad_files_and_ties(tmp_path, capsys):
    """3-D arrays, 0-byte, pickled and non-.npy files: one line on stderr, exit 2, no pickle hint;
    tied data: a note on stderr, and the estimate."""
    import pickle

    from cch_jax import cli

    # 600 rows, 1 + 1 tied: the jitter program of test_two_constant_columns_give_zero_not_nine_nats
    x = np.random.default_rng(8).standard_normal((600, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "cube.npy", np.zeros((100, 2, 2)))
    (tmp_path / "empty.npy").write_bytes(b"")
    (tmp_path / "p.npy").write_bytes(pickle.dumps(np.zeros(100)))
    (tmp_path / "t.csv").write_text("1,2\n3,4\n")
    np.save(tmp_path / "obj.npy", np.array([None] * 100, dtype=object))
    cases = {
        "cube.npy": r"^cch mi: error: y: expected 1 or 2 dimensions, got shape \(100, 2, 2\)",
        "empty.npy": r"^cch mi: error: y: '.*empty.npy' is empty \(0 bytes\)",
        "p.npy": r"^cch mi: error: y: '.*p.npy' is not a NumPy .npy or .npz file",
        "t.csv": r"^cch mi: error: y: '.*t.csv' is not a NumPy .npy or .npz file",
        "obj.npy": r"^cch mi: error: y: '.*obj.npy' holds Python objects",
    }
    for name, pattern in cases.items():
        assert cli.main(["mi", str(tmp_path / "x.npy"), str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert re.match(pattern, err), err
        assert err.count("\n") == 1 and "pickle" not in err.lower() and "Traceback" not in err
    np.save(tmp_path / "codes.npy", np.arange(600) % 4)
    assert cli.main(["mi", str(tmp_path / "x.npy"), str(tmp_path / "codes.npy")]) == 0
    captured = capsys.readouterr()
    assert re.match(r"^cch mi: note: y: column\(s\) 0 have many tied values", captured.err)
    assert captured.out.startswith("I(X; Y) = ")
    args = ["mi", str(tmp_path / "x.npy"), str(tmp_path / "codes.npy"), "--ties", "error"]
    assert cli.main(args) == 2
    assert "y: column(s) 0 have many tied values" in capsys.readouterr().err
