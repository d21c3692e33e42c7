"""The functional trainer: config errors, one step by hand, scan = loop, sweeps = single runs,
sharding over the 4 forced CPU devices, frozen teachers reading their own input field."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from cch_jax import kd

N, D, K = 48, 5, 3


def _problem(seed=0, n=N):
    """A linearly separable-ish 3-class problem; the teacher reads a different (cleaner) field."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(D, K))
    x_teacher = rng.normal(size=(n, D)).astype(np.float32)
    x_student = (x_teacher + 0.5 * rng.normal(size=(n, D))).astype(np.float32)
    label = np.argmax(x_teacher @ w, axis=1)
    return {"teacher_input": x_teacher, "student_input": x_student, "label": label}, w


def _teacher(w):
    params = {"w": jnp.asarray(w, jnp.float32)}
    return (lambda p, x: 2.0 * x @ p["w"]), params


def _config(**kw):
    base = dict(
        model=kd.ModelConfig(name="linear", input_shape=(D,), num_outputs=K),
        epochs=3,
        batch_size=16,
        optimizer="sgd",
        learning_rate=0.1,
    )
    base.update(kw)
    return kd.TrainConfig(**base)


@pytest.fixture(scope="module")
def data():
    ex, w = _problem()
    apply, params = _teacher(w)
    return kd.prepare_data(ex, task="classification", teacher_apply=apply, teacher_params=params)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(loss=lambda: kd.KDConfig(kd_weight=1.5)), "kd_weight: must be <= 1"),
        (dict(loss=lambda: kd.KDConfig(kd_weight=-0.1)), "kd_weight: must be >= 0"),
        (dict(loss=lambda: kd.KDConfig(temperature=0.0)), "temperature: must be > 0"),
        (dict(loss=lambda: kd.KDConfig(temperature=float("nan"))), "temperature: must be finite"),
        (dict(loss=lambda: kd.KDConfig(task="ranking")), "task: expected one of .*, got .ranking."),
        (dict(epochs=0), "epochs: must be >= 1"),
        (dict(batch_size=0), "batch_size: must be >= 1"),
        (dict(batch_size=2.5), "batch_size: expected an integer"),
        (dict(optimizer="lbfgs"), "optimizer: expected one of"),
        (dict(learning_rate=-1.0), "learning_rate: must be > 0"),
        (dict(schedule="step"), "schedule: expected one of"),
        (dict(loss=lambda: kd.KDConfig(task="regression")), "regression needs 1 output"),
    ],
)
def test_config_errors(kwargs, match):
    # KDConfig errors fire while building kwargs, others in TrainConfig: both are ValueErrors.
    with pytest.raises(ValueError, match=match):
        _config(**{k: v() if callable(v) else v for k, v in kwargs.items()})


def test_sweep_config_errors():
    with pytest.raises(ValueError, match=r"^kd_weights\[1\]: must be <= 1"):
        kd.SweepConfig(kd_weights=(0.5, 2.0))
    with pytest.raises(ValueError, match=r"^temperatures\[0\]: must be > 0"):
        kd.SweepConfig(temperatures=(-1.0,))
    with pytest.raises(ValueError, match="^seeds: expected at least 1 value"):
        kd.SweepConfig(seeds=())
    # An integer where a tuple is expected: a clear message, not "'int' object is not iterable".
    with pytest.raises(ValueError, match=r"^seeds: expected a tuple of integers, got the single"):
        kd.SweepConfig(seeds=3)
    with pytest.raises(ValueError, match=r"^hidden: expected a tuple of integers, got the single"):
        kd.ModelConfig(name="mlp", input_shape=(3,), num_outputs=2, hidden=32)
    assert kd.SweepConfig(seeds=(0, 1), kd_weights=(0.0, 0.5, 1.0)).size == 6


def test_data_errors(data):
    ex, w = _problem()
    t = np.zeros((N, K), np.float32)
    with pytest.raises(ValueError, match=r"label: classes must lie in \[0, 3\)"):
        kd.kd_data(ex["student_input"], ex["label"] + 3, t, task="classification")
    with pytest.raises(ValueError, match="mismatched number of rows"):
        kd.kd_data(ex["student_input"][:-1], ex["label"], t, task="classification")
    bad = ex["student_input"].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="student_input: contains 1 non-finite"):
        kd.kd_data(bad, ex["label"], t, task="classification")
    with pytest.raises(ValueError, match="label: classification needs integer"):
        kd.kd_data(ex["student_input"], ex["label"] * 1.0, t, task="classification")
    with pytest.raises(ValueError, match="examples: missing the field 'teacher_input'"):
        kd.prepare_data(
            {"student_input": 1, "label": 1},
            task="classification",
            teacher_apply=None,
            teacher_params=None,
        )
    with pytest.raises(ValueError, match="batch_size: 64 exceeds the 48"):
        kd.make_trainer(_config(batch_size=64), num_examples=N)
    cfg = _config(model=kd.ModelConfig(name="linear", input_shape=(D + 1,), num_outputs=K))
    with pytest.raises(ValueError, match="do not match model.input_shape"):
        kd.fit(cfg, data, progress=False)


def test_teacher_reads_its_own_field_and_is_frozen(data):
    ex, w = _problem()
    apply, params = _teacher(w)
    np.testing.assert_allclose(
        data.teacher_output[0], apply(params, ex["teacher_input"]), rtol=1e-6
    )
    assert not np.allclose(data.teacher_output[0], apply(params, ex["student_input"]))
    np.testing.assert_array_equal(data.student_input, ex["student_input"])
    # the train state holds the student only
    tr = kd.make_trainer(_config(), num_examples=N)
    state = tr.init(jax.random.key(0))
    assert set(state.params) == {"out"} and "w" not in jax.tree.leaves(state.params)


def test_one_step_is_sgd_on_the_mean_kd_loss(data):
    cfg = _config(loss=kd.KDConfig(kd_weight=0.3, temperature=2.0))
    tr = kd.make_trainer(cfg, num_examples=N)
    state = tr.init(jax.random.key(0))
    state = state._replace(params=jax.tree.map(lambda p: p + 0.1, state.params))
    hp = kd.HParams(jnp.float32(0.3), jnp.float32(2.0), jnp.int32(0))
    batch = kd.Batch(data.student_input[:16], data.label[:16], data.teacher_output[0, :16])
    new, per = tr.step(state, batch, hp)
    chex.assert_shape(per.loss, (16,))

    def mean_loss(p):
        z = batch.student_input @ p["out"]["kernel"] + p["out"]["bias"][None, :]
        return jnp.mean(
            jax.vmap(
                lambda s, t, y: kd.classification_kd_loss(s, t, y, kd_weight=0.3, temperature=2.0)
            )(z, batch.teacher_output, batch.label)
        )

    g = jax.grad(mean_loss)(state.params)
    want = jax.tree.map(lambda p, gi: p - 0.1 * gi, state.params, g)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), new.params, want
    )
    assert int(new.step) == 1
    np.testing.assert_allclose(float(jnp.mean(per.loss)), float(mean_loss(state.params)), rtol=1e-5)


def test_epoch_scan_equals_python_loop_over_shuffled_batches(data):
    cfg = _config(optimizer="adam", learning_rate=0.05)
    tr = kd.make_trainer(cfg, num_examples=N)
    hp = kd.HParams(jnp.float32(0.5), jnp.float32(3.0), jnp.int32(0))
    state = tr.init(jax.random.key(3))
    after, metrics = jax.jit(tr.epoch)(state, data, hp)
    key, k_perm = jax.random.split(state.key)
    idx = jax.random.permutation(k_perm, N)[:48].reshape(3, 16)
    loop = state._replace(key=key)
    losses = []
    step = jax.jit(tr.step)
    for i in idx:
        loop, per = step(
            loop, kd.Batch(data.student_input[i], data.label[i], data.teacher_output[0, i]), hp
        )
        losses.append(per.loss)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
        after.params,
        loop.params,
    )
    np.testing.assert_allclose(metrics.loss, jnp.mean(jnp.stack(losses)), rtol=1e-5)
    assert int(after.step) == 3


def test_run_epochs_compiles_once_and_learns(data):
    cfg = _config(optimizer="adam", learning_rate=0.05, epochs=20)
    tr = kd.make_trainer(cfg, num_examples=N)

    @jax.jit
    @chex.assert_max_traces(n=1)
    def run(state, hp):
        return tr.run_epochs(state, data, hp, 10)

    hp0 = kd.HParams(jnp.float32(0.0), jnp.float32(3.0), jnp.int32(0))
    hp1 = kd.HParams(jnp.float32(1.0), jnp.float32(1.0), jnp.int32(0))
    s0, m0 = run(tr.init(jax.random.key(0)), hp0)
    s0, m0b = run(s0, hp0)  # second chunk: same program
    s1, m1 = run(tr.init(jax.random.key(0)), hp1)
    chex.assert_shape(m0.loss, (10,))
    # lam = 0: the loss is the CE; it falls and accuracy rises
    np.testing.assert_allclose(m0.loss, m0.supervised, rtol=1e-6)
    assert m0b.loss[-1] < m0.loss[0]
    assert float(m0b.score[-1]) > 0.7
    # lam = 1, T = 1: pure distillation; the loss is the KD term and agreement becomes high
    np.testing.assert_allclose(m1.loss, m1.kd, rtol=1e-6)
    assert float(m1.agreement[-1]) > 0.7
    ev = tr.evaluate(s0.params, data, hp0)
    assert 0.0 <= float(ev.score) <= 1.0


def test_sweep_equals_single_runs_and_is_sharded(data):
    # 10 epochs in one chunk: the single runs below are test_run_epochs_compiles_once_and_learns's
    # program (same optimizer, data and chunk), compiled once
    cfg = _config(optimizer="adam", learning_rate=0.05, epochs=10, chunk_epochs=10)
    sweep = kd.SweepConfig(seeds=(0, 1, 2), kd_weights=(0.0, 0.7), temperatures=(3.0,))
    res = kd.fit(cfg, data, sweep=sweep, progress=False)  # 6 runs padded to 8 on 4 devices
    assert res.grid["seed"].tolist() == [0, 0, 1, 1, 2, 2]
    chex.assert_shape(res.history.loss, (6, 10))
    chex.assert_shape(res.state.params["out"]["kernel"], (6, D, K))
    assert len(jax.devices()) == 4
    tr = kd.make_trainer(cfg, num_examples=N)

    @jax.jit
    def run(state, hp):
        return tr.run_epochs(state, data, hp, 10)

    for r in (1, 4):
        hp = kd.HParams(jnp.float32(res.grid["kd_weight"][r]), jnp.float32(3.0), jnp.int32(0))
        state = tr.init(jax.random.key(int(res.grid["seed"][r])))
        single, m = run(state, hp)
        np.testing.assert_allclose(
            res.state.params["out"]["kernel"][r],
            single.params["out"]["kernel"],
            rtol=1e-4,
            atol=1e-6,
        )
        np.testing.assert_allclose(res.history.loss[r], m.loss, rtol=1e-5)
    rows = res.table()
    assert len(rows) == 60 and {"seed", "kd_weight", "epoch", "loss", "agreement"} <= set(rows[0])


def test_run_axis_is_sharded_over_devices(data):
    cfg = _config(epochs=1)
    seen = []
    sweep = kd.SweepConfig(seeds=(0, 1, 2, 3))
    res = kd.fit(cfg, data, sweep=sweep, progress=seen.append)
    kernel = res.state.params["out"]["kernel"]
    assert len(kernel.sharding.device_set) == 4
    assert kernel.sharding.spec[0] == "sweep"
    assert [p.epoch for p in seen] == [1]
    # one device: same numbers
    one = kd.fit(cfg, data, sweep=sweep, progress=False, devices=jax.devices()[:1])
    np.testing.assert_allclose(one.state.params["out"]["kernel"], kernel, rtol=1e-5, atol=1e-6)


def test_teacher_variants_and_temperature_sweep():
    ex, w = _problem(1)
    apply, _ = _teacher(w)
    teachers = [{"w": jnp.asarray(w, jnp.float32)}, {"w": -jnp.asarray(w, jnp.float32)}]
    data = kd.prepare_data(
        ex, task="classification", teacher_apply=apply, teacher_params=teachers, variants=True
    )
    chex.assert_shape(data.teacher_output, (2, N, K))
    cfg = _config(optimizer="adam", learning_rate=0.1, epochs=15, chunk_epochs=15)
    sweep = kd.SweepConfig(kd_weights=(1.0,), temperatures=(1.0, 4.0))
    res = kd.fit(cfg, data, sweep=sweep, progress=False)
    assert res.grid["teacher"].tolist() == [0, 1, 0, 1]
    assert res.grid["temperature"].tolist() == [1.0, 1.0, 4.0, 4.0]
    agree = res.history.agreement[:, -1]
    # each student follows its own teacher: the anti-teacher's students agree with it, not labels
    assert np.all(agree > 0.7)
    assert np.all(res.history.score[[1, 3], -1] < 0.3)


def test_regression_fit_reaches_least_squares():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=64)).astype(np.float32)
    t = (x @ np.array([1.0, 0.0, 0.0])).astype(np.float32)
    data = kd.kd_data(x, y, t, task="regression")
    cfg = kd.TrainConfig(
        model=kd.ModelConfig(name="linear", input_shape=(3,), num_outputs=1, use_bias=False),
        loss=kd.KDConfig(task="regression"),
        epochs=200,
        batch_size=64,
        shuffle=False,
        optimizer="momentum",
        learning_rate=0.1,
        chunk_epochs=200,
    )
    res = kd.fit(cfg, data, sweep=kd.SweepConfig(kd_weights=(0.0, 0.25)), progress=False)
    for r, mu in enumerate((0.0, 0.25)):
        target = (1 - mu) * y + mu * t
        want = np.linalg.lstsq(x.astype(np.float64), target, rcond=None)[0]
        np.testing.assert_allclose(
            res.state.params["out"]["kernel"][r, :, 0], want, rtol=1e-4, atol=1e-5
        )
    np.testing.assert_allclose(res.history.score, res.history.supervised)


def test_config_replace_revalidates():
    cfg = _config()
    with pytest.raises(ValueError, match="epochs"):
        dataclasses.replace(cfg, epochs=-2)
    assert isinstance(
        kd.make_optimizer(_config(schedule="cosine"), 10), optax.GradientTransformation
    )


def test_divergence_is_flagged_and_warned(data):
    """learning_rate=1e6 with plain SGD blows the loss up: the runs are flagged, fit warns naming
    learning_rate, and a sane learning rate in the same sweep shape is not flagged."""
    from cch_jax import DivergenceWarning

    sweep = kd.SweepConfig(seeds=(0, 1), kd_weights=(0.5,), temperatures=(3.0,))
    config = _config(learning_rate=1e6, epochs=4)
    with pytest.warns(DivergenceWarning, match=r"^learning_rate: 2 of 2 runs diverged"):
        result = kd.fit(config, data, sweep=sweep, progress=False)
    assert result.diverged.shape == (2,) and result.diverged.all()
    good = kd.fit(_config(epochs=4), data, sweep=sweep, progress=False)
    assert not good.diverged.any()
    assert np.isfinite(good.history.loss).all()


def test_fit_rejects_wrong_objects(data):
    with pytest.raises(ValueError, match=r"^config: expected a TrainConfig, got dict"):
        kd.fit({}, data)
    with pytest.raises(ValueError, match=r"^sweep: expected a SweepConfig, got tuple"):
        kd.fit(_config(), data, sweep=(0, 1))
    with pytest.raises(ValueError, match=r"^data: expected KDData"):
        kd.fit(_config(), {"x": 1})
    with pytest.raises(ValueError, match=r"^checkpoint_every: expected an integer, got 1.5"):
        kd.fit(_config(), data, checkpoint_every=1.5)


# ------------------------------------------------------------------------------------------------
# One training loop: kd.fit_supervised is this trainer without its KD term


def _mlp_config(**kw):
    return _config(
        model=kd.ModelConfig(name="mlp", input_shape=(D,), num_outputs=K, hidden=(6,)), **kw
    )


def test_no_kd_and_kd_runs_of_a_seed_share_init_and_minibatch_order(data):
    """With a step size too small to move float32 weights, the trained weights are the initial
    ones and each epoch's loss is the mean CE at init over the examples that epoch kept
    (48 // 10 = 4 minibatches: 8 examples left out, a different 8 each epoch)."""
    cfg = _mlp_config(batch_size=10, learning_rate=1e-30)
    seeds = (0, 3)
    sup = kd.fit_supervised(cfg, data.student_input, data.label, seeds=seeds)
    kd_run = kd.fit(
        cfg,
        data,
        sweep=kd.SweepConfig(seeds=seeds, kd_weights=(0.5,), temperatures=(3.0,)),
        progress=False,
        devices=jax.devices()[:1],
    )
    tr = kd.make_trainer(cfg, num_examples=N)
    apply = jax.jit(tr.model.apply)
    for r, seed in enumerate(seeds):
        init = tr.init(jax.random.key(seed))
        for got in (sup.params, kd_run.state.params):  # the same initial parameters
            jax.tree.map(
                lambda a, b, r=r: np.testing.assert_allclose(a[r], b, rtol=0, atol=1e-25),
                got,
                init.params,
            )
        # the minibatch order: epoch e shuffles with the e-th split of the run's key
        ce = -np.take_along_axis(
            np.asarray(jax.nn.log_softmax(apply(init.params, data.student_input))),
            np.asarray(data.label)[:, None],
            axis=1,
        )[:, 0]
        key, want = init.key, []
        for _ in range(cfg.epochs):
            key, k_perm = jax.random.split(key)
            want.append(ce[np.asarray(jax.random.permutation(k_perm, N))[:40]].mean())
        np.testing.assert_allclose(sup.loss[r], want, rtol=2e-6)
        np.testing.assert_allclose(kd_run.history.supervised[r], want, rtol=2e-6)
        assert np.ptp(want) > 1e-3  # the epochs kept different examples: the check can fail
    w0, w3 = (sup.params["dense0"]["kernel"][r] for r in (0, 1))
    assert not np.allclose(w0, w3)  # and the seeds differ


def test_fit_at_kd_weight_zero_is_fit_supervised_for_every_variant(data):
    cfg = _mlp_config(optimizer="adam", learning_rate=0.05)
    x = np.asarray(data.student_input)
    xs = np.stack([x, 2.0 * x[::-1]])  # two input variants of one shape
    seeds = (0, 3)
    sup = kd.fit_supervised(cfg, xs, data.label, seeds=seeds, variants=True)
    assert sup.grid["seed"].tolist() == [0, 0, 3, 3]
    assert sup.grid["variant"].tolist() == [0, 1, 0, 1]
    for v in (0, 1):
        fitted = {}
        for w in (0.0, 0.5):
            fitted[w] = kd.fit(
                cfg,
                kd.KDData(jnp.asarray(xs[v]), data.label, data.teacher_output),
                sweep=kd.SweepConfig(seeds=seeds, kd_weights=(w,), temperatures=(3.0,)),
                progress=False,
                devices=jax.devices()[:1],
            )
        runs = np.asarray([2 * i + v for i in range(len(seeds))])  # (seed, variant v) in sup
        for name, got, want in (
            ("params", jax.tree.map(lambda a, r=runs: a[r], sup.params), fitted[0.0].state.params),
            ("loss", sup.loss[runs], fitted[0.0].history.loss),
            ("score", sup.score[runs], fitted[0.0].history.score),
        ):
            jax.tree.map(
                lambda a, b, name=name: np.testing.assert_allclose(
                    a, b, rtol=1e-5, atol=1e-6, err_msg=name
                ),
                got,
                want,
            )
        # a KD run of the same seeds trains other weights (the comparison can fail)
        kd_kernel = fitted[0.5].state.params["out"]["kernel"]
        assert np.max(np.abs(kd_kernel - sup.params["out"]["kernel"][runs])) > 1e-3


def test_trainer_without_a_teacher_never_reads_it(data):
    """distill=False: the teacher outputs (NaN here) and the hparams never enter the loss; the
    step equals the KD trainer's at kd_weight 0."""
    cfg = _mlp_config()
    hp = kd.HParams(jnp.float32(0.0), jnp.float32(3.0), jnp.int32(0))
    nan_teacher = hp._replace(kd_weight=jnp.float32(jnp.nan), temperature=jnp.float32(jnp.nan))
    with_kd = kd.make_trainer(cfg, num_examples=N)
    no_kd = kd.make_trainer(cfg, num_examples=N, distill=False)
    state = with_kd.init(jax.random.key(1))
    batch = kd.Batch(data.student_input[:16], data.label[:16], data.teacher_output[0, :16])
    want_state, want = jax.jit(with_kd.step)(state, batch, hp)
    got_state, got = jax.jit(no_kd.step)(state, batch._replace(teacher_output=None), nan_teacher)
    np.testing.assert_allclose(got.loss, want.supervised, rtol=1e-6)
    np.testing.assert_allclose(got.loss, want.loss, rtol=1e-6)
    np.testing.assert_array_equal(got.kd, 0.0)
    np.testing.assert_allclose(got.score, want.score)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7),
        got_state.params,
        want_state.params,
    )
    nan_data = data._replace(teacher_output=jnp.full_like(data.teacher_output, jnp.nan))
    ev = jax.jit(no_kd.evaluate)(state.params, nan_data, nan_teacher)
    assert np.isfinite(float(ev.loss))
    np.testing.assert_allclose(
        ev.loss, with_kd.evaluate(state.params, data, hp).supervised, rtol=1e-6
    )
    with pytest.raises(ValueError, match="^distill: "):
        kd.make_trainer(cfg, num_examples=N, distill="no")
