"""MINE (cch_jax.mi.mine): known answers over seeds, bounds, stability, vmap, compilation, bad input.

Accuracy tolerances come from the issue (5+5: mean within 10% of the truth; 1+1: within 0.05 nats;
independent: below 0.05 nats) and are checked on the mean over >= 5 seeds; each test prints the
mean, the standard deviation over seeds and the standard error (run with -s to see them). The full
n = 10 000 settings at the default budget are ``slow``; the default suite runs the same checks with
1 000 Adam steps (see ``test_accuracy_default_suite`` for the measured bias at that budget).
"""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

# One small configuration shared by the structural tests (and tests/test_mi_interface.py), so
# that they share one compilation.
from _shared_configs import MINE_SMALL as SMALL

from cch_jax.mi import MINEConfig, MINEResult, _mine, _mlp, mine, tasks

GAUSS55 = tasks.correlated_gaussian(5, 5, 0.6)


def _small_data(seed=0, n=1000):
    return GAUSS55.sample(key=jax.random.key(seed), n=n)


def _numpy_data(n, seed=0):
    """Correlated 5+5 float32 data drawn with NumPy, for tests that need arrays of a shape, not the
    known-answer task."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    return x, (0.6 * x + 0.8 * rng.normal(size=(n, 5))).astype(np.float32)


def _estimates(task_or_tasks, *, n, seeds, config):
    """Estimates of ``seeds`` independent samples per task, independent keys, one vmapped program.

    Returns a [seeds] array per task (a list of them when given a list of tasks of one shape).
    """
    task_list = task_or_tasks if isinstance(task_or_tasks, list) else [task_or_tasks]
    data = [
        t.sample(key=jax.random.key(10_000 * i + s), n=n)
        for i, t in enumerate(task_list)
        for s in range(seeds)
    ]
    xs = jnp.stack([d[0] for d in data])
    ys = jnp.stack([d[1] for d in data])
    keys = jax.random.split(jax.random.key(0), len(data))
    run = jax.jit(jax.vmap(lambda x, y, k: mine(x, y, key=k, config=config).estimate))
    est = np.asarray(run(xs, ys, keys), dtype=np.float64).reshape(len(task_list), seeds)
    assert np.all(np.isfinite(est))
    for task, row in zip(task_list, est, strict=True):
        truth, mean, sd = task.mutual_information(), row.mean(), row.std(ddof=1)
        print(
            f"\n{task.name}: truth {truth:.4f}, mean {mean:.4f} (bias {mean - truth:+.4f}), "
            f"sd {sd:.4f}, se {sd / math.sqrt(seeds):.4f}, n {n}, steps {config.steps}"
        )
    return list(est) if isinstance(task_or_tasks, list) else est[0]


# --- known answers ------------------------------------------------------------------------------


@pytest.mark.slow
def test_accuracy_default_suite():
    """5+5 (rho 0.6) at n = 10 000 with 1 000 steps (half the default), 5 seeds.

    Behind --run-slow with its full-budget twin test_accuracy_5x5_within_10_percent: by default
    MINE's known answer is checked by tests/test_criterion_parts.py::
    test_mine_teacher_term_and_probe_label_term_on_known_gaps (I(Ht;Hs) of the +-0.4 triples within
    0.25 nats) and its training by the rest of this file.

    Measured at this budget (other seeds): 5+5 mean -4.9% (sd 0.044, se 0.019 nats), so the
    issue's 10% goal holds with a margin of ~2.8 standard errors; independent: -0.005 nats.
    """
    est = _estimates(GAUSS55, n=10_000, seeds=5, config=MINEConfig(steps=1000))
    assert abs(est.mean() - GAUSS55.mutual_information()) <= 0.10 * GAUSS55.mutual_information()


def test_independent_small_budget_near_zero():
    """One cheap run (the shared small config) on independent data: no spurious MI."""
    x, y = tasks.independent(5, 5).sample(key=jax.random.key(4), n=1000)
    assert abs(float(mine(x, y, key=jax.random.key(0), config=SMALL).estimate)) < 0.05


@pytest.mark.slow
@pytest.mark.parametrize(
    "task",
    [GAUSS55, tasks.transformed(GAUSS55)],
    ids=lambda t: t.name,
)
def test_accuracy_5x5_within_10_percent(task):
    est = _estimates(task, n=10_000, seeds=8, config=MINEConfig())
    truth = task.mutual_information()
    assert abs(est.mean() - truth) <= 0.10 * truth


@pytest.mark.slow
def test_transformed_as_good_as_plain():
    """Cube/asinh maps of each coordinate: the bias is no worse than the plain task's (3 se)."""
    plain, trans = _estimates(
        [GAUSS55, tasks.transformed(GAUSS55)], n=10_000, seeds=8, config=MINEConfig()
    )
    truth = GAUSS55.mutual_information()
    se_diff = math.sqrt(plain.var(ddof=1) / 8 + trans.var(ddof=1) / 8)
    assert abs(trans.mean() - truth) <= abs(plain.mean() - truth) + 3 * se_diff


@pytest.mark.slow
def test_accuracy_1x1_within_005_nats():
    task = tasks.correlated_gaussian(1, 1, 0.6)
    est = _estimates(task, n=10_000, seeds=8, config=MINEConfig())
    assert abs(est.mean() - task.mutual_information()) < 0.05


@pytest.mark.slow
def test_independent_below_005_nats():
    est = _estimates(tasks.independent(5, 5), n=10_000, seeds=8, config=MINEConfig())
    assert abs(est.mean()) < 0.05


def test_rank_preprocessing_makes_monotone_maps_exact_no_ops():
    """With the default rank preprocessing, x**3 and asinh(y) give bit-identical estimates."""
    x, y = _small_data()
    key = jax.random.key(3)
    plain = mine(x, y, key=key, config=SMALL).estimate
    mapped = mine(x**3, jnp.arcsinh(y), key=key, config=SMALL).estimate
    assert float(plain) == float(mapped)
    # z-scoring is not invariant: the same maps change the estimate.
    z = dict(preprocess="zscore")
    assert float(mine(x, y, key=key, config=SMALL, **z).estimate) != float(
        mine(x**3, jnp.arcsinh(y), key=key, config=SMALL, **z).estimate
    )


def test_rank_gauss_is_monotone_with_tied_mid_ranks():
    a = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 5.0], [2.0, 1.0]], np.float32)
    # jitted, as inside mine's program: one compilation instead of one per eager op
    g = np.asarray(jax.jit(_mine.rank_gauss)(a))
    chex.assert_shape(g, (4, 2))
    assert g[1, 0] < g[2, 0] == g[3, 0] < g[0, 0]  # ties share a value, order kept
    assert g[0, 1] == g[1, 1] == g[3, 1] < g[2, 1]
    assert abs(g[:, 0].mean()) < 1e-6  # symmetric mid-ranks -> symmetric quantiles


# --- bounds and stability ----------------------------------------------------------------------


@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce"])
def test_high_mi_is_finite(bound):
    """rho = 0.999 in 5+5 (15.5 nats): no NaN or inf anywhere in the curve, and a large estimate."""
    task = tasks.correlated_gaussian(5, 5, 0.999)
    x, y = task.sample(key=jax.random.key(1), n=1000)
    # SMALL's learning rate is 10x the default: this also stresses stability.
    res = mine(x, y, key=jax.random.key(2), config=SMALL, bound=bound)
    for arr in (res.estimate, res.train_curve, res.heldout_curve):
        assert np.all(np.isfinite(np.asarray(arr))), (bound, arr)
    if bound == "infonce":  # capped at log(batch)
        assert float(res.estimate) <= math.log(SMALL.batch_size) + 1e-4
        assert float(res.estimate) > 0.8 * math.log(SMALL.batch_size)
    else:  # still climbing after 200 steps, but above any 5+5 rho = 0.6 value
        assert float(res.estimate) > 2.0


def test_infonce_never_exceeds_log_batch():
    scores = np.where(np.eye(8, dtype=bool), 1e4, -1e4).astype(np.float32)  # a perfect critic
    assert float(jax.jit(_mine._infonce)(scores)) == pytest.approx(math.log(8), abs=1e-5)


def test_dv_surrogate_gradient_uses_moving_average():
    """The DV step's gradient equals mean(exp(T_m) grad T_m) / m, the Belghazi et al. correction."""
    # 64 rows of the shared 1000-row sample (no sampler program for a new shape); the identity
    # holds for any data
    x, y = (np.asarray(a) for a in _small_data())
    xb, ym = x[:32, :2], y[32:64, :2]
    act = jax.nn.elu
    log_ma = jnp.asarray(0.3)  # a moving average from earlier steps
    rate = 0.1

    def surrogate(p):
        t_m = _mine._critic(p, act, xb, ym)
        lme = _mine._logmeanexp(t_m)
        lme_c = jax.lax.stop_gradient(lme)
        new = jnp.logaddexp(jnp.log1p(-rate) + log_ma, math.log(rate) + lme_c)
        return jax.lax.stop_gradient(jnp.exp(lme_c - new)) * lme

    def expected(p):
        t_m = _mine._critic(p, act, xb, ym)
        jac = jax.jacobian(lambda q: _mine._critic(q, act, xb, ym))(p)
        m = (1 - rate) * jnp.exp(log_ma) + rate * jnp.mean(jnp.exp(t_m))
        w = jnp.exp(t_m) / (t_m.shape[0] * m)
        return jax.tree.map(lambda j: jnp.tensordot(w, j, axes=1), jac)

    # both sides in one jitted program (eagerly, each op of the Jacobian compiled on its own)
    got, want = jax.jit(
        lambda k: (lambda p: (jax.grad(surrogate)(p), expected(p)))(_mlp.init_mlp(k, (4, 8, 1)))
    )(jax.random.key(0))
    chex.assert_trees_all_close(got, want, rtol=1e-4, atol=1e-6)


# --- shapes, vmap, compilation -----------------------------------------------------------------


def test_result_shapes_and_curve():
    x, y = _small_data()
    res = mine(x, y, key=jax.random.key(0), config=SMALL)
    assert isinstance(res, MINEResult)
    chex.assert_shape(res.estimate, ())
    chex.assert_shape([res.curve_steps, res.train_curve, res.heldout_curve], (4,))
    np.testing.assert_array_equal(res.curve_steps, [50, 100, 150, 200])
    assert float(res.estimate) == float(res.heldout_curve[-1])
    chex.assert_shape(res.diverged, ())
    assert not bool(res.diverged)  # a sane run is not flagged (the divergence test's control)
    # Training improves the held-out bound (from a random critic near 0 to clearly positive).
    assert float(res.heldout_curve[-1]) > float(res.heldout_curve[0]) - 0.05
    assert float(res.estimate) > 0.3


def test_vmap_over_keys_and_datasets_equals_loop():
    """One vmapped program over (dataset, key) pairs gives the numbers of a Python loop."""
    data = [_small_data(seed=s) for s in range(3)]
    xs, ys = jnp.stack([d[0] for d in data]), jnp.stack([d[1] for d in data])
    keys = jax.random.split(jax.random.key(11), 3)
    batched = jax.vmap(lambda x, y, k: mine(x, y, key=k, config=SMALL))(xs, ys, keys)
    chex.assert_shape(batched.estimate, (3,))
    chex.assert_shape(batched.heldout_curve, (3, 4))
    for i in range(3):
        one = mine(xs[i], ys[i], key=keys[i], config=SMALL)
        np.testing.assert_allclose(batched.estimate[i], one.estimate, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            batched.heldout_curve[i], one.heldout_curve, rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(batched.train_curve[i], one.train_curve, rtol=1e-5, atol=1e-5)
    assert len(set(np.round(np.asarray(batched.estimate), 6))) == 3  # seeds differ


def test_one_compilation_per_shape():
    """mine's jitted core gains one program per shape: at most one for three datasets and keys
    of one shape (none when the tests above compiled it: their program is reused here), exactly
    one for a new shape; the trace counter of the core fails on a third shape (traced and
    lowered, not compiled)."""
    size = _mine._mine_jit._cache_size
    before = size()
    for seed in range(3):  # new data and keys, same shape: one trace
        x, y = _small_data(seed=seed)
        mine(x, y, key=jax.random.key(seed), config=SMALL)
    assert size() - before <= 1
    # another learning rate: the same program (it is a traced argument), and it is used
    before = size()
    slower = mine(x, y, key=jax.random.key(2), config=SMALL, learning_rate=1e-3)
    assert size() == before
    assert float(slower.estimate) != float(mine(x, y, key=jax.random.key(2), config=SMALL).estimate)
    before = size()
    # a new shape: one more program (data drawn with NumPy: no sampler program for the new shape)
    x, y = _numpy_data(n=1200)
    mine(x, y, key=jax.random.key(0), config=SMALL)
    mine(x + 1.0, y, key=jax.random.key(1), config=SMALL)
    assert size() - before == 1
    chex.clear_trace_counter()
    counted = jax.jit(chex.assert_max_traces(_mine._mine_impl, n=2), static_argnames="config")
    for n in (1000, 1200):  # lowering needs only the shapes
        counted.lower(*_numpy_data(n=n), jax.random.key(0), config=SMALL)
    with pytest.raises(AssertionError):  # a third shape would exceed the count: the guard works
        x, y = _numpy_data(n=1300)
        counted.lower(x, y, jax.random.key(0), config=SMALL)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(steps=0), "steps"),
        (dict(steps=150, eval_every=100), "steps"),
        (dict(batch_size=1), "batch_size"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate=-1e-3), "learning_rate"),
        (dict(ema_rate=0.0), "ema_rate"),
        (dict(heldout_fraction=1.0), "heldout_fraction"),
        (dict(hidden=()), "hidden"),
        (dict(hidden=(16, 0)), "hidden"),
        (dict(bound="mine"), "bound"),
        (dict(activation="swish2"), "activation"),
        (dict(preprocess="minmax"), "preprocess"),
    ],
)
def test_config_is_validated_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MINEConfig(**kwargs)


def test_config_is_frozen_and_keyword_only():
    with pytest.raises(TypeError):
        MINEConfig("dv")  # noqa
    with pytest.raises(AttributeError):
        SMALL.steps = 10  # noqa


@pytest.mark.parametrize(
    "x, y, match",
    [
        (np.zeros((100, 2)), np.zeros((99, 2)), "mismatched number of rows"),
        (np.full((100, 2), np.nan), np.zeros((100, 2)), "x: contains"),
        (np.zeros((100, 2)), np.array([[np.inf, 0.0]] * 100), "y: contains"),
        (np.zeros((100, 2, 1)), np.zeros((100, 2)), "x: expected 1 or 2 dimensions"),
        (np.array([["a", "b"]] * 100), np.zeros((100, 2)), "x: expected a numeric array"),
        (np.zeros((100, 0)), np.zeros((100, 2)), "at least one column"),
        (np.zeros((3, 1)), np.zeros((3, 1)), "too few rows"),
        (np.zeros((100, 2)), np.zeros((100, 2)), "batch_size: must be <="),
    ],
)
def test_bad_input_raises_clear_errors(x, y, match):
    with pytest.raises(ValueError, match=match):
        mine(x, y, key=jax.random.key(0), config=SMALL, batch_size=64)


def test_bad_key_and_config():
    x, y = _small_data()
    with pytest.raises(ValueError, match="key"):
        mine(x, y, key=None, config=SMALL)
    with pytest.raises(ValueError, match="key"):
        mine(x, y, key=jax.random.split(jax.random.key(0), 2), config=SMALL)
    with pytest.raises(ValueError, match="^config: expected a MINEConfig, got dict"):
        mine(x, y, key=jax.random.key(0), config={"steps": 10})
    with pytest.raises(ValueError, match="^stepz: not a field of MINEConfig"):
        mine(x, y, key=jax.random.key(0), config=SMALL, stepz=10)
    with pytest.raises(ValueError, match=r"^key: expected a JAX PRNG key"):
        mine(x, y, key=0, config=SMALL)
    with pytest.raises(ValueError, match=r"^hidden: expected a tuple of integers, got the single"):
        MINEConfig(hidden=32)
    with pytest.raises(ValueError, match="steps"):
        mine(x, y, key=jax.random.key(0), config=SMALL, steps=-5)


# --- divergence -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce"])
def test_divergence_is_flagged_and_raised(bound):
    """learning_rate=100 blows the critic up (dv: a held-out bound of -3e7 nats, nwj: NaN,
    infonce: a training value of -7e6 nats): a concrete call raises a ValueError naming
    learning_rate; with raise_on_divergence=False, and under vmap, the flag is set. (Sane runs
    are not flagged: test_result_shapes_and_curve.) The learning rate is a traced argument, so
    these runs reuse SMALL's programs at the shapes of the tests above: no new compilation."""
    x, y = _small_data()
    bad = dict(config=SMALL, bound=bound, learning_rate=100.0)
    with pytest.raises(ValueError, match=r"^learning_rate: MINE training diverged .*lower"):
        mine(x, y, key=jax.random.key(0), **bad)
    assert bool(mine(x, y, key=jax.random.key(0), raise_on_divergence=False, **bad).diverged)
    if bound == "dv":  # the program of test_vmap_over_keys_and_datasets_equals_loop
        data = [_small_data(seed=s) for s in range(3)]
        xs, ys = jnp.stack([d[0] for d in data]), jnp.stack([d[1] for d in data])
        keys = jax.random.split(jax.random.key(11), 3)
        flags = jax.vmap(lambda x, y, k: mine(x, y, key=k, **bad).diverged)(xs, ys, keys)
        assert np.asarray(flags).all()
