"""KD losses against hand computations, edge cases and checked gradients."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from cch_jax import kd

S = np.array([1.0, -0.5, 2.0], np.float64)  # student logits
T_ = np.array([0.3, 0.8, -1.2], np.float64)  # teacher logits


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _hand(s, t, y, lam, temp):
    """The paper's loss written out in numpy, term by term."""
    ce = -np.log(_softmax(s)[y])
    p, q = _softmax(t / temp), _softmax(s / temp)
    kl = float(np.sum(p * (np.log(p) - np.log(q))))
    return (1 - lam) * ce + lam * temp**2 * kl, ce, temp**2 * kl


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("temp", [1.0, 3.0, 7.5])
@pytest.mark.parametrize("label", [2])
def test_classification_matches_hand_computation(lam, temp, label):
    terms = kd.classification_kd_terms(
        jnp.asarray(S, jnp.float32),
        jnp.asarray(T_, jnp.float32),
        label,
        kd_weight=lam,
        temperature=temp,
    )
    total, ce, kdt = _hand(S, T_, label, lam, temp)
    np.testing.assert_allclose(terms.total, total, rtol=1e-5)
    np.testing.assert_allclose(terms.supervised, ce, rtol=1e-5)
    np.testing.assert_allclose(terms.kd, kdt, rtol=1e-5, atol=1e-6)


def test_concrete_numbers():
    # softmax([1, 0]) = [e/(1+e), 1/(1+e)]; CE for label 0 = log(1 + e^-1) = 0.31326169.
    ce = kd.cross_entropy(jnp.array([1.0, 0.0]), 0)
    np.testing.assert_allclose(ce, 0.31326169, rtol=1e-6)
    # Teacher uniform, student [ln 3, 0] at T = 1: q = [3/4, 1/4], KL(u || q) = 0.5 ln(1/1.5) +
    # 0.5 ln(2) = 0.5 ln(4/3) = 0.14384104.
    kl = kd.tempered_kl(jnp.array([np.log(3.0), 0.0]), jnp.zeros(2), 1.0)
    np.testing.assert_allclose(kl, 0.14384104, rtol=1e-6)


def test_edge_cases_lambda_zero_and_one():
    s, t = jnp.asarray(S, jnp.float32), jnp.asarray(T_, jnp.float32)
    ce = kd.cross_entropy(s, 1)
    np.testing.assert_allclose(
        kd.classification_kd_loss(s, t, 1, kd_weight=0.0, temperature=3.0), ce, rtol=1e-6
    )
    pure_kd = kd.classification_kd_loss(s, t, 1, kd_weight=1.0, temperature=3.0)
    np.testing.assert_allclose(pure_kd, 9.0 * kd.tempered_kl(s, t, 3.0), rtol=1e-6)
    # lam = 1: the label does not matter.
    np.testing.assert_allclose(
        pure_kd, kd.classification_kd_loss(s, t, 0, kd_weight=1.0, temperature=3.0), rtol=1e-6
    )


def test_kl_zero_when_student_equals_teacher_and_sums_over_classes():
    z = jnp.array([0.2, -1.0, 3.0, 0.5])
    assert float(kd.tempered_kl(z, z, 3.0)) == pytest.approx(0.0, abs=1e-6)
    # Shifting logits by a constant changes nothing (softmax invariance).
    np.testing.assert_allclose(kd.tempered_kl(z + 5.0, z, 2.0), 0.0, atol=1e-6)
    # Summed, not averaged over classes: doubling the classes by duplication keeps p and q's
    # per-class ratios, so the sum is unchanged while a class-mean would halve.
    s, t = jnp.array([1.0, 0.0]), jnp.array([0.0, 1.0])
    two = kd.tempered_kl(s, t, 1.0)
    four = kd.tempered_kl(jnp.concatenate([s, s]), jnp.concatenate([t, t]), 1.0)
    np.testing.assert_allclose(four, two, rtol=1e-6)


def test_teacher_gets_no_gradient():
    g = jax.grad(
        lambda t: kd.classification_kd_loss(jnp.asarray(S), t, 0, kd_weight=0.7, temperature=2.0)
    )(jnp.asarray(T_))
    np.testing.assert_array_equal(g, 0.0)
    g = jax.grad(lambda t: kd.regression_kd_loss(1.0, t, 0.0, kd_weight=0.5))(2.0)
    assert float(g) == 0.0


def test_gradient_closed_form_at_temperature_one():
    # d/dz_s [(1-lam) CE + lam KL] at T = 1 is softmax(z_s) - (1-lam) onehot(y) - lam softmax(z_t).
    lam = 0.4
    g = jax.grad(
        lambda s: kd.classification_kd_loss(s, jnp.asarray(T_), 2, kd_weight=lam, temperature=1.0)
    )(jnp.asarray(S))
    want = _softmax(S) - (1 - lam) * np.eye(3)[2] - lam * _softmax(T_)
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("lam,temp", [(0.0, 1.0), (0.5, 3.0), (1.0, 2.0)])
def test_gradients_checked_numerically(lam, temp):
    with jax.enable_x64(True):
        fn = lambda s: kd.classification_kd_loss(  # noqa: E731
            s, jnp.asarray(T_), 1, kd_weight=lam, temperature=temp
        )
        check_grads(fn, (jnp.asarray(S),), order=2, modes=["rev"], atol=1e-6, rtol=1e-6)
        # and with respect to the traced hyperparameters
        fn2 = lambda la, te: kd.classification_kd_loss(  # noqa: E731
            jnp.asarray(S), jnp.asarray(T_), 1, kd_weight=la, temperature=te
        )
        check_grads(fn2, (jnp.float64(0.3), jnp.float64(temp)), order=1, modes=["rev"])


def test_regression_hand_and_edges():
    terms = kd.regression_kd_terms(1.5, 2.0, -1.0, kd_weight=0.25)
    assert float(terms.supervised) == pytest.approx(6.25)
    assert float(terms.kd) == pytest.approx(0.25)
    assert float(terms.total) == pytest.approx(0.75 * 6.25 + 0.25 * 0.25)
    assert float(kd.regression_kd_loss(1.5, 2.0, -1.0, kd_weight=0.0)) == pytest.approx(6.25)
    assert float(kd.regression_kd_loss(1.5, 2.0, -1.0, kd_weight=1.0)) == pytest.approx(0.25)
    # gradient in the prediction: -2(1-mu)(y - yhat) - 2 mu (t - yhat)
    g = jax.grad(lambda p: kd.regression_kd_loss(p, 2.0, -1.0, kd_weight=0.25))(1.5)
    assert float(g) == pytest.approx(-2 * 0.75 * (-2.5) - 2 * 0.25 * 0.5)
    with jax.enable_x64(True):
        check_grads(
            lambda p: kd.regression_kd_loss(p, 2.0, -1.0, kd_weight=0.3),
            (jnp.float64(0.7),),
            order=2,
            modes=["rev"],
        )


def test_batched_terms_are_per_example_and_vmap_over_hyperparameters():
    rng = np.random.default_rng(0)
    s = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    t = jnp.asarray(rng.normal(size=(5, 3)), jnp.float32)
    y = jnp.asarray([0, 1, 2, 1, 0])
    terms = kd.batch_classification_kd_terms(s, t, y, kd_weight=0.5, temperature=3.0)
    for leaf in terms:
        chex.assert_shape(leaf, (5,))
    for i in range(5):
        want = _hand(
            np.asarray(s[i], np.float64), np.asarray(t[i], np.float64), int(y[i]), 0.5, 3.0
        )
        np.testing.assert_allclose(terms.total[i], want[0], rtol=1e-5)
    lams = jnp.array([0.0, 0.5, 1.0])
    temps = jnp.array([1.0, 3.0, 5.0])
    swept = jax.vmap(
        lambda la, te: kd.batch_classification_kd_terms(s, t, y, kd_weight=la, temperature=te).total
    )(lams, temps)
    chex.assert_shape(swept, (3, 5))
    np.testing.assert_allclose(
        swept[1],
        kd.batch_classification_kd_terms(s, t, y, kd_weight=0.5, temperature=3.0).total,
        rtol=1e-6,
    )
    r = kd.batch_regression_kd_terms(s[:, 0], t[:, 0], s[:, 1], kd_weight=0.5)
    chex.assert_shape(r.total, (5,))


# --------------------------------------------------------------------------------------------------
# Argument checks (concrete inputs; under jit nothing can raise, see the module docstring)

_S3 = jnp.array([1.0, -0.5, 2.0])
_T3 = jnp.array([0.3, 0.8, -1.2])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(temperature=0.0), r"^temperature: must be > 0, got 0"),
        (dict(temperature=-1.0), r"^temperature: must be > 0"),
        (dict(kd_weight=1.5), r"^kd_weight: must be <= 1, got 1.5"),
        (dict(kd_weight=-0.1), r"^kd_weight: must be >= 0"),
        (dict(kd_weight=float("nan")), r"^kd_weight: contains 1 non-finite"),
        (dict(label=3), r"^label: must be in \[0, 3\) \(the number of logits\), got 3"),
        (dict(label=-1), r"^label: must be in \[0, 3\)"),
        (dict(label=1.0), r"^label: expected integer class labels, got dtype float"),
        (dict(label=jnp.array([1])), r"^label: expected shape \(\), got \(1,\)"),
        (
            dict(teacher=jnp.array([0.3, jnp.nan, 1.0])),
            r"^teacher_logits: contains 1 non-finite "
            r"value\(s\) \(NaN\); the first is nan at row 1",
        ),
        (
            dict(teacher=jnp.zeros(4)),
            r"^teacher_logits: expected the shape of student_logits "
            r"\(3,\), got \(4,\)",
        ),
        (dict(teacher=jnp.zeros((1, 3))), r"^teacher_logits: expected \[k\] logits"),
    ],
)
def test_classification_loss_rejects_bad_arguments(kwargs, match):
    args = dict(teacher=_T3, label=1, kd_weight=0.5, temperature=3.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        kd.classification_kd_loss(
            _S3,
            args["teacher"],
            args["label"],
            kd_weight=args["kd_weight"],
            temperature=args["temperature"],
        )


def test_batch_and_regression_losses_reject_bad_arguments():
    s, t = jnp.zeros((4, 3)), jnp.zeros((4, 3))
    with pytest.raises(ValueError, match=r"^labels: must be in \[0, 3\)"):
        kd.batch_classification_kd_terms(
            s, t, jnp.array([0, 1, 2, 7]), kd_weight=0.5, temperature=1
        )
    with pytest.raises(ValueError, match=r"^labels: expected shape \(4,\), got \(3,\)"):
        kd.batch_classification_kd_terms(s, t, jnp.array([0, 1, 2]), kd_weight=0.5, temperature=1)
    with pytest.raises(ValueError, match=r"^kd_weight: must be <= 1"):
        kd.regression_kd_loss(1.0, 0.0, 1.0, kd_weight=2.0)
    with pytest.raises(ValueError, match=r"^teacher_prediction: contains 1 non-finite"):
        kd.regression_kd_loss(1.0, jnp.nan, 1.0, kd_weight=0.5)
    with pytest.raises(
        ValueError, match=r"^teacher_predictions: expected the shape of predictions"
    ):
        kd.batch_regression_kd_terms(jnp.zeros(4), jnp.zeros(5), jnp.zeros(4), kd_weight=0.5)
    with pytest.raises(ValueError, match=r"^label: must be in \[0, 2\)"):
        kd.cross_entropy(jnp.zeros(2), 2)
    with pytest.raises(ValueError, match=r"^temperature: must be > 0"):
        kd.tempered_kl(jnp.zeros(2), jnp.zeros(2), 0.0)


def test_traced_losses_do_not_raise_and_give_the_hand_values():
    """Under jit the values are unknown: no check can raise (documented). The values are still the
    hand computation's; an out-of-range traced label is clipped to the nearest class, and a NaN
    teacher gives a NaN loss."""
    fn = jax.jit(
        lambda s, t, y, w: kd.classification_kd_loss(s, t, y, kd_weight=w, temperature=2.0)
    )
    np.testing.assert_allclose(float(fn(_S3, _T3, 1, 0.5)), _hand(S, T_, 1, 0.5, 2.0)[0], rtol=1e-6)
    np.testing.assert_allclose(float(fn(_S3, _T3, 7, 0.3)), _hand(S, T_, 2, 0.3, 2.0)[0], rtol=1e-6)
    np.testing.assert_allclose(
        float(fn(_S3, _T3, -4, 0.3)), _hand(S, T_, 0, 0.3, 2.0)[0], rtol=1e-6
    )
    assert np.isnan(float(fn(_S3, _T3.at[0].set(jnp.nan), 1, 0.5)))
    reg = jax.jit(lambda p, t, y, w: kd.regression_kd_loss(p, t, y, kd_weight=w))
    # (1 - 0.25) (3 - 1.5)^2 + 0.25 (-1 - 1.5)^2 = 1.6875 + 1.5625
    np.testing.assert_allclose(float(reg(1.5, -1.0, 3.0, 0.25)), 3.25, rtol=1e-6)
