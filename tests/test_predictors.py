"""cch_jax.predictors: known answers (the theory's family, CCH triples), the scores against direct
computations, the cross-fitted probe, the registry and input validation."""

import dataclasses
import inspect
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

from cch_jax import predictors, theory
from cch_jax.mi import tasks
from cch_jax.predictors import PredictorInputs

# --- helpers ---------------------------------------------------------------------------------------


def _family_inputs(gap, n_train, *, mu=0.5, m=2000, d=10, seed=0):
    """The theory's one-parameter family (sigma2 = 1) as PredictorInputs, and the true score."""
    a = float(theory.family_a(gap, 1.0))
    b = float(theory.family_b(a, 1.0))
    rng = np.random.default_rng(seed)  # theory.family_sample's draw, in NumPy (no compilation)
    x2, e = rng.normal(size=(m, d)), rng.normal(size=m)
    y, t = x2[:, 0] + e, a * x2[:, 0] + b * e
    teacher = np.concatenate([t[:, None], rng.normal(size=(m, 3))], axis=1)
    inputs = PredictorInputs(
        teacher_reps=teacher,
        student_reps=x2,
        labels=y,
        num_classes=None,
        kd_weight=mu,
        temperature=1.0,
        n_train=n_train,
        teacher_logits=t[:, None],
    )
    if n_train <= d + 1:
        return inputs, None
    mom = theory.family_moments(a, 1.0)
    f = theory.finite_f(n_train, d)
    r0 = float(theory.risk0(mom, f))
    return inputs, (r0 - float(theory.risk(mom, mu, f))) / r0


def _triple_inputs(gap, *, seed, n):
    """PredictorInputs from n rows of ``tasks.cch_triple(gap)`` (8-d H_t and H_s, 4 classes)."""
    task = tasks.cch_triple(gap, dim_teacher=8, dim_student=8)
    ht, hs, y = task.sample(key=jax.random.key(seed), n=n)
    return PredictorInputs(
        teacher_reps=ht,
        student_reps=hs,
        labels=np.asarray(y),
        num_classes=4,
        kd_weight=0.5,
        temperature=2.0,
        n_train=500,
    )


def _class_inputs(m=200, d=6, k=3, seed=0, **extra):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, m)
    means = rng.normal(size=(k, d)) * 2
    hs = means[labels] + rng.normal(size=(m, d))
    ht = means[labels] @ rng.normal(size=(d, d)) + rng.normal(size=(m, d))
    return PredictorInputs(
        teacher_reps=ht,
        student_reps=hs,
        labels=labels,
        num_classes=k,
        kd_weight=0.5,
        temperature=2.0,
        n_train=500,
        **extra,
    )


# --- known answers: the theory's Gaussian family -------------------------------------------------


@pytest.mark.parametrize(
    "gap, n_train, call",
    [(0.4, 30, "distill"), (-0.3, 30, "dont"), (0.4, 10_000, "dont"), (0.4, 12, "distill")],
)
def test_theory_risk_on_the_gaussian_family(gap, n_train, call):
    # d = 10: alpha = 3 (KD helps on the CCH side), 1000 (the teacher's bias wins although the CCH
    # holds), 1.2 (variance dominates). True scores 0.095, -0.186, -0.015, 0.274.
    inputs, truth = _family_inputs(gap, n_train)
    assert (truth > 0) == (call == "distill")
    pred = predictors.get("theory_risk").fn(inputs, jax.random.key(0))
    assert pred.call == call
    assert pred.score == pytest.approx(truth, abs=0.01 + 0.1 * abs(truth))
    assert pred.details["d"] == 10 and pred.details["f_kind"] == "finite"


def test_theory_risk_moments_match_the_family_and_limit_path():
    inputs, _ = _family_inputs(0.4, 5)  # n_train <= d + 1: the f -> inf limit
    det = predictors.get("theory_risk").fn(inputs, jax.random.key(1)).details
    a = float(theory.family_a(0.4, 1.0))
    exact = theory.family_moments(a, 1.0)
    # sampled sigma2 of this draw is ~1.07 (var_y 2.16); moments within 10%
    for name, want in (("sigma2", exact.sigma2), ("tau2", exact.tau2), ("c", exact.c)):
        assert det[name] == pytest.approx(float(want), rel=0.12), name
    assert det["bias"] == pytest.approx(float(exact.bias), abs=0.03)
    assert det["f_kind"].startswith("limit")
    mu, s2 = 0.5, det["sigma2"]
    nu = (1 - mu) ** 2 * s2 + 2 * mu * (1 - mu) * det["c"] + mu**2 * det["tau2"]
    pred = predictors.get("theory_risk").fn(inputs, jax.random.key(1))
    assert pred.score == pytest.approx((s2 - nu) / s2, rel=1e-6) and pred.call == "distill"


@pytest.mark.parametrize("gap", [0.4, -0.3])
def test_logme_gap_on_the_gaussian_family(gap):
    # On the family the CCH is exact at small kd_weight; LogME on standardised targets tracks
    # the MI gap (measured 0.384 / -0.289 for 0.4 / -0.3).
    inputs, _ = _family_inputs(gap, 30, m=1000)
    pred = predictors.get("logme_gap").fn(inputs, jax.random.key(0))
    assert pred.call == ("distill" if gap > 0 else "dont")
    assert pred.score == pytest.approx(gap, abs=0.12)


@pytest.mark.slow
@pytest.mark.parametrize("gap", [0.4, -0.3])
def test_cch_ksg_on_the_gaussian_family(gap):
    # KSG reads low with few rows: 0.246 of 0.4 at m = 1000, 0.386 at m = 2000
    inputs, _ = _family_inputs(gap, 30, m=2000)
    out = predictors.predict(inputs, ["cch_ksg", "cch_ksg_sign"], key=jax.random.key(0))
    want = "distill" if gap > 0 else "dont"
    assert out["cch_ksg"].call == want and out["cch_ksg_sign"].call == want
    assert out["cch_ksg"].score == pytest.approx(gap, abs=0.12)


# --- known answers: CCH triples ---------------------------------------------------------------------


@pytest.mark.parametrize("gap, call", [(0.4, "distill"), (-0.4, "dont")])
def test_cch_ksg_on_cch_triples(gap, call):
    inputs = _triple_inputs(gap, seed=1, n=1000)
    out = predictors.predict(inputs, ["cch_ksg", "cch_ksg_sign"], key=jax.random.key(0))
    for name in ("cch_ksg", "cch_ksg_sign"):
        assert out[name].call == call
        assert out[name].score == pytest.approx(gap, abs=0.15)
        assert out[name].details["gap_low"] <= out[name].score <= out[name].details["gap_high"]
    # one check, two readings: the same estimate and its cost, whichever runs alone or first
    interval, sign = out["cch_ksg"], out["cch_ksg_sign"]
    assert sign.details == interval.details and sign.cost_s == pytest.approx(
        interval.cost_s, rel=0.2
    )
    copy = dataclasses.replace(inputs)  # another object: the check runs again, with the same key
    alone = predictors.predict(copy, ["cch_ksg_sign"], key=jax.random.key(0))["cch_ksg_sign"]
    assert alone.details == interval.details
    other = predictors.predict(inputs, ["cch_ksg"], key=jax.random.key(1))["cch_ksg"]
    assert other.details["gap_low"] != interval.details["gap_low"]  # a new key: a new check


# --- transferability scores against direct computations ---------------------------------------------


def _hscore_numpy(f, p):
    f = f - f.mean(0)
    means = (p.T @ f) / p.sum(0)[:, None]
    g = p @ means
    g = g - g.mean(0)
    return np.trace(np.linalg.pinv(f.T @ f / len(f)) @ (g.T @ g / len(f)))


def test_hscore_matches_numpy_for_hard_and_soft_labels():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 120)
    f = rng.normal(size=(120, 4)) + np.eye(3, 4)[labels] * 2
    onehot = np.eye(3)[labels]
    # hard labels: the textbook form with per-class means
    means = np.stack([f[labels == c].mean(0) for c in range(3)])
    g = means[labels] - means[labels].mean(0)
    fc = f - f.mean(0)
    textbook = np.trace(np.linalg.inv(fc.T @ fc / 120) @ (g.T @ g / 120))
    assert float(predictors.hscore(f, onehot)) == pytest.approx(textbook, rel=1e-4)
    soft = np.exp(rng.normal(size=(120, 3)))
    soft /= soft.sum(1, keepdims=True)
    assert float(predictors.hscore(f, soft)) == pytest.approx(_hscore_numpy(f, soft), rel=1e-4)
    assert float(predictors.hscore(f, soft)) < textbook  # vague labels separate less


def _brute_force_logme(f, y):
    """max over (alpha, beta) of log N(y; 0, F F^T / alpha + I / beta) / m: grid, then polish."""
    f = f - f.mean(0)
    y = y - y.mean()
    y = y / np.sqrt(np.mean(y**2))
    m = len(y)
    gram = f @ f.T

    def evidence(p):
        cov = gram / np.exp(p[0]) + np.eye(m) / np.exp(p[1])
        _, logdet = np.linalg.slogdet(cov)
        return (
            -0.5 * m * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * y @ np.linalg.solve(cov, y)
        ) / m

    grid = np.linspace(-6, 6, 25)
    start = max(((a, b) for a in grid for b in grid), key=evidence)
    res = minimize(
        lambda p: -evidence(p), start, method="Nelder-Mead", options=dict(xatol=1e-7, fatol=1e-12)
    )
    return -res.fun


def test_logme_matches_brute_force_evidence_maximisation():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(60, 5))
    y1 = f @ rng.normal(size=5) + 2 * rng.normal(size=60)
    y2 = rng.normal(size=60)  # unrelated: the evidence prefers alpha -> large
    for y in (y1, y2):
        assert float(predictors.logme(f, y[:, None])) == pytest.approx(
            _brute_force_logme(f, y), abs=2e-4
        )
    both = float(predictors.logme(f, np.stack([y1, y2], 1)))
    assert both == pytest.approx(
        0.5 * (_brute_force_logme(f, y1) + _brute_force_logme(f, y2)), abs=2e-4
    )
    # a constant column is left out of the average, and the score is scale-invariant
    with_const = np.stack([y1, np.ones(60)], 1)
    assert float(predictors.logme(f, with_const)) == pytest.approx(
        float(predictors.logme(f, 10 * y1[:, None])), abs=1e-5
    )


# --- GRACE --------------------------------------------------------------------------------------------


def test_grace_trace_on_a_hand_made_case():
    e1, e2 = np.eye(2)
    # normalised training gradients e1, e1, e2, e2: K_train = I / 2; test 3 e1: K_test = diag(9, 0)
    train = jnp.asarray([e1, e1, 2 * e2, 2 * e2])
    assert float(predictors.split_trace(train, jnp.asarray([3 * e1]), 1e-3)) == pytest.approx(18.0)
    # unequal: K_train = diag(3/4, 1/4), smoothed (1 - c) lam + c / 2; test e2 -> 1 / lam_2
    c = 0.1
    train = jnp.asarray([e1, 5 * e1, e1, 0.5 * e2])
    want = 1.0 / ((1 - c) * 0.25 + c * 0.5)
    assert float(predictors.split_trace(train, jnp.asarray([e2]), c)) == pytest.approx(
        want, rel=1e-5
    )
    # inside a 2-dim subspace of a 4-dim space: mean(lambda) = trace / 4
    got = float(predictors.split_trace(train, jnp.asarray([e2]), c, full_dim=4))
    assert got == pytest.approx(1.0 / ((1 - c) * 0.25 + c * 0.25), rel=1e-5)


def test_grace_head_gradient_is_the_kd_loss_gradient():
    rng = np.random.default_rng(0)
    zs, zt = (jnp.asarray(rng.normal(size=(5, 4)), jnp.float32) for _ in range(2))
    y = jnp.asarray([0, 1, 2, 3, 1])
    w, temp = 0.3, 2.5

    def loss(z, t, label):
        ce = -jax.nn.log_softmax(z)[label]
        pt = jax.nn.softmax(t / temp)
        kl = jnp.sum(pt * (jnp.log(pt) - jax.nn.log_softmax(z / temp)))
        return (1 - w) * ce + w * temp**2 * kl

    auto = jax.vmap(jax.grad(loss))(zs, zt, y)
    closed = predictors.head_gradient_logits(zs, zt, y, w, temp)
    np.testing.assert_allclose(closed, auto, atol=1e-5)


def test_grace_subspace_projection_is_exact():
    from cch_jax.predictors import _grace

    rng = np.random.default_rng(1)
    m, d, k = 120, 5, 3
    h = jnp.asarray(rng.normal(size=(m, d)), jnp.float32)
    gz = jnp.asarray(rng.normal(size=(m, k)), jnp.float32)
    key = jax.random.key(3)
    coords = _grace.project_gradients(h, gz, key, 64)  # D = 18 < 64
    assert coords.shape == (m, k * (d + 1))
    hb = np.concatenate([np.asarray(h), np.ones((m, 1))], 1)
    signs = np.asarray(jax.random.rademacher(key, (d + 1, k, 64), dtype=jnp.float32))
    full = np.einsum("ma,mb->mab", hb, np.asarray(gz)).reshape(m, -1) @ signs.reshape(-1, 64)
    full /= np.sqrt(k * (d + 1))
    sub = float(predictors.split_trace(coords[12:], coords[:12], 1e-3, full_dim=64))
    explicit = float(
        predictors.split_trace(
            jnp.asarray(full[12:], jnp.float32), jnp.asarray(full[:12], jnp.float32), 1e-3
        )
    )
    assert sub == pytest.approx(explicit, rel=1e-3)


# --- the cross-fitted linear probe ---------------------------------------------------------------------


def test_linear_probe_is_cross_fitted():
    inputs = _class_inputs(m=150)
    key = jax.random.key(0)
    logits = np.asarray(
        predictors.linear_probe_logits(inputs.student_reps, inputs.labels, num_classes=3, key=key)
    )
    assert np.mean(np.argmax(logits, 1) == inputs.labels) > 0.8  # separable classes
    flipped = inputs.labels.copy()
    flipped[7] = (flipped[7] + 1) % 3
    again = np.asarray(
        predictors.linear_probe_logits(inputs.student_reps, flipped, num_classes=3, key=key)
    )
    np.testing.assert_array_equal(again[7], logits[7])  # row 7 never saw its own label
    assert np.abs(again - logits).max() > 1e-4  # but the rows of the other folds did
    # continuous: ridge predictions, row 7 unchanged when its own target moves
    y = inputs.student_reps @ np.arange(1.0, 7.0)
    pred = np.asarray(
        predictors.linear_probe_logits(inputs.student_reps, y, num_classes=None, key=key)
    )
    y2 = y.copy()
    y2[7] += 100.0
    pred2 = np.asarray(
        predictors.linear_probe_logits(inputs.student_reps, y2, num_classes=None, key=key)
    )
    assert pred.shape == (150, 1) and pred2[7, 0] == pytest.approx(pred[7, 0], abs=1e-4)
    assert np.corrcoef(pred[:, 0], y)[0, 1] > 0.99


def test_probe_fit_reaches_the_penalised_optimum():
    from cch_jax.predictors import _probe

    rng = np.random.default_rng(0)
    m, d, k, l2 = 200, 6, 3, 1e-2
    y = rng.integers(0, k, m)
    x = rng.normal(size=(m, d)) + np.eye(k, d)[y]
    x = (x - x.mean(0)) / x.std(0)
    onehot = np.eye(k)[y]

    def objective(theta):
        w, b = theta[: d * k].reshape(d, k), theta[d * k :]
        z = x @ w + b
        logp = z - z.max(1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
        return -np.mean(np.sum(onehot * logp, 1)) + 0.5 * l2 * np.sum(w**2)

    ref = minimize(
        objective,
        np.zeros(d * k + k),
        method="L-BFGS-B",
        options=dict(maxiter=5000, gtol=1e-10, ftol=1e-14),
    )
    w, b = _probe.fit_softmax(
        jnp.asarray(x, jnp.float32),
        jnp.asarray(onehot, jnp.float32),
        jnp.ones(m),
        l2,
        _probe.DEFAULT_STEPS,
    )
    got = objective(np.concatenate([np.asarray(w).ravel(), np.asarray(b)]))
    assert got == pytest.approx(ref.fun, abs=1e-6)


# --- the simple predictors, by hand --------------------------------------------------------------------


def test_naive_agreement_and_pilot_by_hand():
    zt = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0]] * 10)
    zs = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0]] * 10)
    base = _class_inputs(m=40, k=2)
    inputs = PredictorInputs(
        teacher_reps=base.teacher_reps,
        student_reps=base.student_reps,
        labels=base.labels,
        num_classes=2,
        kd_weight=0.5,
        temperature=2.0,
        n_train=100,
        teacher_logits=zt,
        student_logits=zs,
        teacher_accuracy=0.9,
        student_accuracy=0.7,
        pilot_delta=np.array([0.01, 0.03, -0.01]),
        pilot_cost_s=12.5,
    )
    cheap = ["agreement_top1", "agreement_kl", "teacher_better", "always", "never", "pilot"]
    out = predictors.predict(inputs, cheap, key=jax.random.key(0))
    assert list(out) == cheap
    assert out["agreement_top1"].score == pytest.approx(0.75)
    kl = predictors.prediction_kl(zt / 1.0, zs, 2.0)
    pt = jax.nn.softmax(zt[0] / 2)
    hand = float(jnp.sum(pt * (jnp.log(pt) - jax.nn.log_softmax(zs[0] / 2))))
    assert float(kl[0]) == pytest.approx(hand, rel=1e-5)
    assert out["agreement_kl"].score == pytest.approx(-float(jnp.mean(kl)), rel=1e-5)
    assert out["teacher_better"].call == "distill"
    assert out["teacher_better"].score == pytest.approx(0.2)
    assert out["always"].call == "distill" and out["never"].call == "dont"
    pilot = out["pilot"]
    assert pilot.call == "distill"
    assert pilot.score == pytest.approx(0.01 / (0.02 / math.sqrt(3) + 1e-9), rel=1e-6)
    assert 12.5 <= pilot.cost_s < 13.5
    for pred in out.values():
        assert pred.call in predictors.CALLS
        assert all(isinstance(v, float | str) for v in pred.details.values())


# --- registry ----------------------------------------------------------------------------------------


def test_registry_names_get_and_errors():
    assert {
        "cch_ksg",
        "cch_latent",
        "cch_mine",
        "cch_ksg_sign",
        "teacher_better",
        "always",
        "never",
        "agreement_top1",
        "agreement_kl",
        "hscore_gap",
        "logme_gap",
        "grace",
        "theory_risk",
        "pilot",
    } <= set(predictors.names())
    with pytest.raises(ValueError, match="^name: unknown predictor 'nope'; known: cch_ksg"):
        predictors.get("nope")
    for p in predictors.REGISTRY.values():
        assert p.threshold in ("natural", "fitted")
        assert (p.default_threshold is not None) == (p.threshold == "fitted")
    cont, _ = _family_inputs(0.4, 30, m=100)
    avail = predictors.names(available_from=cont)
    assert {"theory_risk", "cch_ksg", "always", "never", "logme_gap"} <= set(avail)
    assert not {"pilot", "teacher_better", "agreement_top1", "grace", "hscore_gap"} & set(avail)
    with pytest.raises(ValueError, match="^pilot_delta"):
        predictors.predict(cont, ["pilot"], key=jax.random.key(0))
    with pytest.raises(ValueError, match="^classes"):
        predictors.get("grace").fn(cont, jax.random.key(0))
    with pytest.raises(ValueError, match="^names"):
        predictors.predict(cont, "always", key=jax.random.key(0))
    with pytest.raises(ValueError, match="^inputs"):
        predictors.predict({"a": 1}, key=jax.random.key(0))
    with pytest.raises(ValueError, match="^threshold"):
        predictors.Predictor("x", "y", (), "sometimes", lambda i, k: None)


def test_predict_fills_once_and_charges_the_fill():
    inputs = _class_inputs(m=120)
    out = predictors.predict(
        inputs, ["always", "teacher_better", "agreement_top1"], key=jax.random.key(0)
    )
    assert out["always"].cost_s < out["agreement_top1"].cost_s
    # the filled accuracies are the argmax accuracies of the cross-fitted probes
    filled, costs = predictors.fill_missing(
        inputs, key=jax.random.fold_in(jax.random.key(0), 0x46494C4C)
    )
    assert set(costs) == {"teacher", "student"}
    acc = np.mean(np.argmax(filled.student_logits, 1) == inputs.labels)
    assert filled.student_accuracy == pytest.approx(acc)
    assert out["teacher_better"].details["student_accuracy"] == pytest.approx(acc)
    # on_error="abstain": a predictor that cannot run abstains instead of raising
    tiny = _class_inputs(m=12)
    res = predictors.predict(
        tiny, ["theory_risk", "always"], key=jax.random.key(0), on_error="abstain"
    )
    assert res["theory_risk"].call == "abstain" and "error" in res["theory_risk"].details
    assert res["always"].call == "distill"


# --- input validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, pattern",
    [
        (dict(teacher_reps=np.zeros(10)), "^teacher_reps"),
        (dict(student_reps=np.zeros((9, 3))), "^student_reps: mismatched"),
        (dict(labels=np.zeros(9, int)), "^labels"),
        (dict(labels=np.full(10, 3)), "^labels: classes must lie"),
        (dict(labels=np.linspace(0, 1, 10)), "^labels: expected integer"),
        (dict(student_reps=np.full((10, 3), np.nan)), "^student_reps: contains"),
        (dict(kd_weight=0.0), "^kd_weight"),
        (dict(kd_weight=1.5), "^kd_weight"),
        (dict(temperature=-1.0), "^temperature"),
        (dict(n_train=0), "^n_train"),
        (dict(num_classes=1), "^num_classes"),
        (dict(teacher_logits=np.zeros((10, 2))), "^teacher_logits"),
        (dict(student_logits=np.zeros((8, 3))), "^student_logits"),
        (dict(teacher_accuracy=1.2), "^teacher_accuracy"),
        (dict(pilot_delta=np.array([0.1, np.inf])), "^pilot_delta"),
        (dict(pilot_cost_s=-1.0), "^pilot_cost_s"),
    ],
)
def test_inputs_validation(change, pattern):
    rng = np.random.default_rng(0)
    args = dict(
        teacher_reps=rng.normal(size=(10, 4)),
        student_reps=rng.normal(size=(10, 3)),
        labels=np.arange(10) % 3,
        num_classes=3,
        kd_weight=0.5,
        temperature=2.0,
        n_train=100,
    )
    PredictorInputs(**args)  # the base case is valid
    with pytest.raises(ValueError, match=pattern):
        PredictorInputs(**{**args, **change})


def test_continuous_inputs_validation():
    rng = np.random.default_rng(0)
    base = dict(
        teacher_reps=rng.normal(size=(10, 2)),
        student_reps=rng.normal(size=(10, 3)),
        labels=rng.normal(size=10),
        num_classes=None,
        kd_weight=0.5,
        temperature=1.0,
        n_train=100,
    )
    assert PredictorInputs(**base).continuous
    with pytest.raises(ValueError, match="^teacher_logits: expected 1 columns"):
        PredictorInputs(**base, teacher_logits=np.zeros((10, 2)))
    with pytest.raises(ValueError, match="^labels: a continuous target must vary"):
        PredictorInputs(**{**base, "labels": np.ones(10)})


def test_public_names_are_documented():
    for name in dir(predictors):
        if name.startswith("_"):
            continue
        obj = getattr(predictors, name)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        doc = obj.__doc__ or ""
        assert doc.strip() and not doc.strip().startswith(f"{name}("), name


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["latent", "mine"])
@pytest.mark.parametrize("gap, call", [(0.6, "distill"), (-0.6, "dont")])
def test_cch_latent_and_mine_on_cch_triples(estimator, gap, call):
    inputs = _triple_inputs(gap, seed=2, n=2000)
    pred = predictors.get(f"cch_{estimator}_sign").fn(inputs, jax.random.key(0))
    assert pred.call == call
    assert pred.score == pytest.approx(gap, abs=0.35)
