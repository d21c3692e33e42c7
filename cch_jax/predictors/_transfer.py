"""Transferability scores (H-score, LogME) and their MI-free analogue of the CCH gap.

The CCH compares I(H_t; H_s) with I(H_s; Y). A transferability score S(features -> targets) says
how well a linear read-out of the features explains the targets; the analogue compares
S(student reps -> teacher's soft labels) with S(student reps -> true labels): distill iff the
student's features explain what the teacher says better than they explain the labels.

H-score (Bao et al., ICIP 2019): H(f, y) = tr(pinv(Cov f) Cov g), g = E[f | y], the class-conditional
mean of the features. For soft labels p_i (a distribution over the k classes per row) the class
means are probability-weighted, mu_c = sum_i p_ic f_i / sum_i p_ic, and g_i = sum_c p_ic mu_c is
their expectation under the row's soft label; with one-hot rows this is the usual H-score.

LogME (You et al., ICML 2021): for each target column y [m] the log evidence of Bayesian linear
regression y = F w + e, w ~ N(0, I / alpha), e ~ N(0, 1 / beta), maximised over (alpha, beta) by
the fixed-point iteration gamma = sum_i beta s_i^2 / (alpha + beta s_i^2), alpha = gamma / |m|^2,
beta = (m - gamma) / |y - F m|^2 (s_i the singular values of F, m the posterior mean), divided by
the number of rows and averaged over the target columns. Features are centred (an unpenalised
intercept) and every target column is centred and scaled to unit variance: the evidence is not
scale-invariant (scaling y by s shifts it by -log s per row), and soft labels at a high temperature
have a far smaller variance than one-hot labels, which alone would favour them. Columns with zero
variance (a class absent from the rows) are left out of the average.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from cch_jax import _checks

PINV_RTOL = 1e-5  # relative cut-off of pinv(Cov f) (float32 arithmetic)
LOGME_ITERATIONS = 100


def _centre(x: jax.Array) -> jax.Array:
    return x - jnp.mean(x, axis=0, keepdims=True)


@jax.jit
def _hscore(features: jax.Array, probs: jax.Array) -> jax.Array:
    m = features.shape[0]
    f = _centre(features)
    mass = jnp.sum(probs, axis=0)  # [k]
    means = probs.T @ f / jnp.where(mass > 0, mass, 1.0)[:, None]  # [k, D]
    g = _centre(probs @ means)  # [m, D]
    cov_f = f.T @ f / m
    cov_g = g.T @ g / m
    return jnp.trace(jnp.linalg.pinv(cov_f, rtol=PINV_RTOL, hermitian=True) @ cov_g)


def hscore(features, probs) -> jax.Array:
    """H-score tr(pinv(Cov f) Cov g) of features for (soft) class labels.

    Args:
      features: [m, D] features f.
      probs: [m, k] rows of class probabilities (one-hot rows for hard labels); each row sums to 1.

    Returns:
      [] the H-score (dimensionless, between 0 and min(D, k - 1)); g is the probability-weighted
      class-conditional mean of f (module docstring).
    """
    f = _checks.as_float_array("features", features, ndims=(2,))
    p = _checks.as_float_array("probs", probs, ndims=(2,))
    _checks.check_same_rows(features=f, probs=p)
    _checks.check_scalar_range("probs", p, low=0.0)
    return _hscore(f, p.astype(f.dtype))


def _logme_one(s2: jax.Array, z: jax.Array, perp2: jax.Array, m: int, dim: int) -> jax.Array:
    """Maximised log evidence / m of one centred, unit-variance target.

    Args:
      s2: [r] squared singular values of the features (r = min(m, D), zeros allowed).
      z: [r] coordinates of the target on the left singular vectors.
      perp2: [] squared norm of the target outside their span.
      m, dim: rows and feature dimension D (static).
    """

    def terms(alpha, beta):
        denom = alpha + beta * s2
        mean = beta * jnp.sqrt(s2) * z / denom  # posterior mean in the right singular basis
        resid2 = jnp.sum(jnp.square(alpha * z / denom)) + perp2
        return mean, resid2, denom

    def step(carry, _):
        alpha, beta = carry
        mean, resid2, _ = terms(alpha, beta)
        gamma = jnp.sum(beta * s2 / (alpha + beta * s2))
        alpha = gamma / jnp.maximum(jnp.sum(jnp.square(mean)), 1e-30)
        beta = (m - gamma) / jnp.maximum(resid2, 1e-30)
        return (alpha, beta), None

    one = jnp.ones((), s2.dtype)
    (alpha, beta), _ = jax.lax.scan(step, (one, one), None, LOGME_ITERATIONS)
    mean, resid2, denom = terms(alpha, beta)
    logdet = jnp.sum(jnp.log(denom)) + (dim - s2.shape[0]) * jnp.log(alpha)
    evidence = (
        0.5 * dim * jnp.log(alpha)
        + 0.5 * m * jnp.log(beta)
        - 0.5 * m * math.log(2 * math.pi)
        - 0.5 * beta * resid2
        - 0.5 * alpha * jnp.sum(jnp.square(mean))
        - 0.5 * logdet
    )
    return evidence / m


@jax.jit
def _logme(features: jax.Array, targets: jax.Array) -> tuple[jax.Array, jax.Array]:
    m, dim = features.shape
    f = _centre(features)
    y = _centre(targets)
    sd = jnp.sqrt(jnp.mean(jnp.square(y), axis=0))
    valid = sd > 1e-6 * jnp.maximum(jnp.max(sd), 1e-30)
    y = y / jnp.where(valid, sd, 1.0)[None, :]
    u, s, _ = jnp.linalg.svd(f, full_matrices=False)
    z = u.T @ y  # [r, q]
    perp2 = jnp.maximum(jnp.sum(jnp.square(y), axis=0) - jnp.sum(jnp.square(z), axis=0), 0.0)
    per_target = jax.vmap(lambda zc, pc: _logme_one(jnp.square(s), zc, pc, m, dim), (1, 0))(
        z, perp2
    )
    return per_target, valid


def logme(features, targets) -> jax.Array:
    """LogME: maximised Bayesian linear-regression evidence per row, averaged over target columns.

    Args:
      features: [m, D] features.
      targets: [m, q] real targets (one-hot labels, soft labels, or a real target as [m, 1]);
        each column is centred and scaled to unit variance; constant columns are left out.

    Returns:
      [] the mean over the non-constant columns of (max over alpha, beta of
      log p(y | F, alpha, beta)) / m, in nats per row.
    """
    f = _checks.as_float_array("features", features, ndims=(2,))
    y = _checks.as_float_array("targets", targets, ndims=(1, 2))
    y = y[:, None] if y.ndim == 1 else y
    _checks.check_same_rows(features=f, targets=y)
    if f.shape[0] < 3:
        raise ValueError(f"features: LogME needs at least 3 rows, got {f.shape[0]}")
    per_target, valid = _logme(f, y.astype(f.dtype))
    if not bool(jnp.any(valid)):
        raise ValueError("targets: every column is constant")
    return jnp.sum(jnp.where(valid, per_target, 0.0)) / jnp.sum(valid)


def soft_labels(logits, temperature: float) -> jax.Array:
    """softmax(logits / T) over the last axis ([m, k] -> [m, k])."""
    return jax.nn.softmax(jnp.asarray(logits) / temperature, axis=-1)


def transfer_gap_core(inputs, key, *, score: str):
    """(call, score, details) of ``hscore_gap`` / ``logme_gap`` on filled inputs.

    The gap is S(student reps -> teacher's soft labels softmax(teacher_logits / T)) - S(student
    reps -> one-hot labels); for a continuous target (LogME only) the teacher's predictions and
    the target, as one column each. Distill iff gap > 0.
    """
    del key  # deterministic
    feats = inputs.student_reps
    if inputs.continuous:
        soft, hard = inputs.teacher_logits, inputs.labels[:, None]
    else:
        soft = soft_labels(inputs.teacher_logits, inputs.temperature)
        hard = jax.nn.one_hot(inputs.labels, inputs.num_classes)
    fn = hscore if score == "hscore" else logme
    s_soft, s_hard = float(fn(feats, soft)), float(fn(feats, hard))
    gap = s_soft - s_hard
    details = {f"{score}_teacher": s_soft, f"{score}_labels": s_hard, "gap": gap}
    return ("distill" if gap > 0 else "dont"), gap, details
