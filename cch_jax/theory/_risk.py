"""Scalar moments, the asymptotic risk of the KD student, and the CCH check.

Equations: theory/derivation.md, sections "Scalar moments", "Risk" and "The theorem". The student
with KD weight mu = ``kd_weight`` in [0, 1] is
    w(mu) = argmin_w (1 - mu) |Y - X2 w|^2 + mu |X1 w1 - X2 w|^2,
and its risk on fresh data is
    R(mu) = sigma2 + mu^2 B + [(1 - mu)^2 sigma2 + 2 mu (1 - mu) c + mu^2 tau2] f,
with f = 1 / (alpha - 1) as n, d -> infinity at n / d = alpha, or f = d / (n - d - 1) exactly in
expectation at finite n. The paper's unnormalised weight lambda (|Y - X2 w|^2 + lambda |T - X2 w|^2)
is called ``penalty`` here: :func:`penalty_to_kd_weight` maps it to mu = lambda / (1 + lambda).

Hand-built :class:`Moments` and :class:`GaussianModel` are checked when concrete (negative
variances, a non-SPD joint covariance and zero-dimensional models raise ``ValueError``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.theory._model import GaussianModel, check_model, optimal_student


class Moments(NamedTuple):
    """The scalars the risk depends on (all [] or with the same batch shape).

    Attributes:
      sigma2: Var(y - s), the student's Bayes risk.
      tau2: Var(t - u), the part of the teacher's prediction x2 cannot see.
      c: Cov(y - s, t - u), the covariance of the two residuals.
      bias: B = (v - w*)^T S22 (v - w*), the bias the teacher pulls in.
      var_y: Var(y).
      var_t: Var(t).
      var_s: Var(s).
      cov_ts: Cov(t, s).
    """

    sigma2: jax.Array
    tau2: jax.Array
    c: jax.Array
    bias: jax.Array
    var_y: jax.Array
    var_t: jax.Array
    var_s: jax.Array
    cov_ts: jax.Array


class CCHReport(NamedTuple):
    """Everything the CCH decision rests on, in nats (scalars or batched alike).

    Attributes:
      i_ts: I(t; s), teacher prediction vs optimal student prediction.
      i_sy: I(s; y) = I(x2; y).
      gap: i_ts - i_sy; the CCH holds when gap > 0.
      cch: gap > 0.
      bounded: Var(t) <= Var(y).
      aligned: Cov(t, s) >= 0.
      kd_helps: c < sigma2, i.e. dR/d(kd_weight) < 0 at kd_weight = 0 (exact in this model).
      theorem_applies: cch and bounded and aligned (then kd_helps is guaranteed).
    """

    i_ts: jax.Array
    i_sy: jax.Array
    gap: jax.Array
    cch: jax.Array
    bounded: jax.Array
    aligned: jax.Array
    kd_helps: jax.Array
    theorem_applies: jax.Array


def check_moments(name: str, m) -> Moments:
    """Checks (possibly hand-built) :class:`Moments`: the type, and when concrete, finite values,
    sigma2 > 0, Var(y) > 0, Var(t), Var(s) >= 0 and tau2, B >= 0 (up to rounding)."""
    _checks.check_instance(name, m, Moments)
    if _checks.is_traced(m):
        return m
    for field in Moments._fields:
        _checks.check_finite(f"{name}.{field}", getattr(m, field))
    scale = max(1.0, *(float(np.max(np.abs(np.asarray(getattr(m, f))))) for f in Moments._fields))
    tol = 1e-6 * scale
    rules = [("sigma2", 0.0, False), ("var_y", 0.0, False), ("var_t", -tol, True)]
    rules += [("var_s", -tol, True), ("tau2", -tol, True), ("bias", -tol, True)]
    for field, low, inclusive in rules:
        values = np.asarray(getattr(m, field))
        bad = values < low if inclusive else values <= low
        if np.any(bad):
            op = ">= 0" if inclusive else "> 0"
            raise ValueError(
                f"{name}.{field}: must be {op} (a variance), got {float(values[bad].ravel()[0]):g}"
            )
    return m


def moments(model: GaussianModel) -> Moments:
    """Computes the scalar moments of a :class:`GaussianModel` (differentiable, vmappable).

    A concrete model is checked first (see :func:`check_model`); a batch of models ([B, ...]
    blocks) gives [B] moments.

    Args:
      model: the joint-Gaussian model; blocks [d1, d1], [d, d], ... or with leading batch
        dimensions [B, ...].

    Returns:
      The :class:`Moments` (variances and covariances in the units of y squared), each field []
      for one model or [B] for a batch.
    """
    check_model("model", model)
    fn = _moments
    for _ in range(np.ndim(model.var_y)):
        fn = jax.vmap(fn)
    return fn(model)


@jax.jit
def _moments(model: GaussianModel) -> Moments:
    w_star = optimal_student(model)
    v = jnp.linalg.solve(model.s22, model.s12.T @ model.w1)
    var_t = model.w1 @ model.s11 @ model.w1
    var_s = w_star @ model.s2y
    sigma2 = model.var_y - var_s
    tau2 = var_t - v @ model.s22 @ v
    c = model.w1 @ model.s1y - model.w1 @ model.s12 @ w_star
    diff = v - w_star
    return Moments(
        sigma2=sigma2,
        tau2=tau2,
        c=c,
        bias=diff @ model.s22 @ diff,
        var_y=model.var_y,
        var_t=var_t,
        var_s=var_s,
        cov_ts=model.w1 @ model.s12 @ w_star,
    )


def penalty_to_kd_weight(penalty):
    """The paper's unnormalised weight lambda >= 0 (|Y - X2w|^2 + lambda |T - X2w|^2), called
    ``penalty``, to the convex ``kd_weight`` = lambda / (1 + lambda) in [0, 1) (same minimiser).

    Args:
      penalty: lambda >= 0, any shape (dimensionless).

    Returns:
      ``kd_weight`` mu = lambda / (1 + lambda) in [0, 1), same shape as ``penalty``.
    """
    _checks.check_scalar_range("penalty", penalty, low=0.0)
    penalty = jnp.asarray(penalty, dtype=jnp.result_type(penalty, float))
    return penalty / (1.0 + penalty)


def asymptotic_f(alpha):
    """f = 1 / (alpha - 1): the variance inflation of least squares as n, d -> inf at n/d = alpha > 1.

    Args:
      alpha: the ratio n / d of training rows to student dimensions, > 1, any shape.

    Returns:
      f > 0 (dimensionless), same shape as ``alpha``.
    """
    _checks.check_scalar_range("alpha", alpha, low=1.0, low_inclusive=False)
    alpha = jnp.asarray(alpha, dtype=jnp.result_type(alpha, float))
    return 1.0 / (alpha - 1.0)


def finite_f(n, d):
    """f = d / (n - d - 1): the exact expected variance inflation at finite n (requires n > d + 1).

    Args:
      n: training rows, > d + 1; any shape that broadcasts with ``d``.
      d: student dimensions, >= 1.

    Returns:
      f > 0 (dimensionless), the broadcast shape of ``n`` and ``d``.
    """
    if not _checks.is_traced((n, d)):
        _checks.check_scalar_range("d", d, low=1.0)
        n_arr, d_arr = jnp.asarray(n), jnp.asarray(d)
        if bool(jnp.any(n_arr <= d_arr + 1)):
            raise ValueError(f"n: must exceed d + 1 = {d_arr + 1}, got n = {n_arr}")
    n = jnp.asarray(n, dtype=jnp.result_type(float))
    d = jnp.asarray(d, dtype=jnp.result_type(float))
    return d / (n - d - 1.0)


def _check_f(f) -> None:
    _checks.check_scalar_range("f", f, low=0.0, low_inclusive=False)


def risk(m: Moments, kd_weight, f):
    """R(kd_weight): expected squared error of the KD student on fresh data.

    Args:
      m: :func:`moments` of the model.
      kd_weight: mu in [0, 1], the weight on the teacher term (use :func:`penalty_to_kd_weight`
        for the paper's lambda); broadcasts with m.
      f: variance inflation, :func:`asymptotic_f` or :func:`finite_f`; > 0.

    Returns:
      The risk, broadcast shape of ``kd_weight``, ``f`` and the moments.
    """
    check_moments("m", m)
    _checks.check_scalar_range("kd_weight", kd_weight, low=0.0, high=1.0)
    _check_f(f)
    mu = jnp.asarray(kd_weight, dtype=jnp.result_type(m.sigma2, float))
    noise = (1 - mu) ** 2 * m.sigma2 + 2 * mu * (1 - mu) * m.c + mu**2 * m.tau2
    return m.sigma2 + mu**2 * m.bias + noise * f


def risk0(m: Moments, f):
    """R0 = R(0) = sigma2 (1 + f): the student trained without KD.

    Args:
      m: :func:`moments` of the model.
      f: variance inflation, :func:`asymptotic_f` or :func:`finite_f`; > 0.

    Returns:
      The risk without KD (expected squared error, units of y squared), the broadcast shape of
      ``f`` and the moments.
    """
    check_moments("m", m)
    _check_f(f)
    return m.sigma2 * (1.0 + f)


def kd_window(m: Moments, f):
    """mu0: KD helps (R(mu) < R0) exactly for 0 < mu < mu0; 0 when c >= sigma2 (KD never helps).

    mu0 = 2 (sigma2 - c) / (B / f + sigma2 - 2c + tau2), clipped to [0, 1] (a kd_weight).

    Args:
      m: :func:`moments` of the model.
      f: variance inflation, :func:`asymptotic_f` or :func:`finite_f`; > 0.

    Returns:
      mu0 in [0, 1] (a kd_weight), the broadcast shape of ``f`` and the moments.
    """
    check_moments("m", m)
    _check_f(f)
    curvature = m.bias / f + m.sigma2 - 2 * m.c + m.tau2  # = (B + Var((y-s)-(t-u)) f) / f >= 0
    safe = jnp.where(curvature > 0, curvature, 1.0)
    mu0 = jnp.where(curvature > 0, 2 * (m.sigma2 - m.c) / safe, jnp.inf)
    return jnp.clip(jnp.where(m.c < m.sigma2, mu0, 0.0), 0.0, 1.0)


def best_weight(m: Moments, f):
    """The best kd_weight mu* = argmin over [0, 1] of R: the unconstrained minimiser mu0 / 2,
    clipped to [0, 1].

    Args:
      m: :func:`moments` of the model.
      f: variance inflation, :func:`asymptotic_f` or :func:`finite_f`; > 0.

    Returns:
      mu* in [0, 1] (a kd_weight; 0 when KD never helps), the broadcast shape of ``f`` and the
      moments.
    """
    check_moments("m", m)
    _check_f(f)
    curvature = m.bias / f + m.sigma2 - 2 * m.c + m.tau2
    safe = jnp.where(curvature > 0, curvature, 1.0)
    unconstrained = jnp.where(curvature > 0, (m.sigma2 - m.c) / safe, jnp.inf)
    return jnp.clip(jnp.where(m.c < m.sigma2, unconstrained, 0.0), 0.0, 1.0)


def cch_report(model: GaussianModel) -> CCHReport:
    """The CCH terms I(t; s), I(s; y) (nats), their gap, and the theorem's side conditions.

    A concrete model is checked first (see :func:`check_model`); batched models map.

    Args:
      model: the joint-Gaussian model; blocks [d1, d1], [d, d], ... or with leading batch
        dimensions [B, ...].

    Returns:
      A :class:`CCHReport`: MI terms and gap in nats, flags as booleans; each field [] for one
      model or [B] for a batch.
    """
    check_model("model", model)
    fn = _cch_report
    for _ in range(np.ndim(model.var_y)):
        fn = jax.vmap(fn)
    return fn(model)


@jax.jit
def _cch_report(model: GaussianModel) -> CCHReport:
    m = _moments(model)
    rho2_ts = m.cov_ts**2 / (m.var_t * m.var_s)
    i_ts = -0.5 * jnp.log1p(-rho2_ts)
    i_sy = -0.5 * jnp.log(m.sigma2 / m.var_y)
    gap = i_ts - i_sy
    cch = gap > 0
    bounded = m.var_t <= m.var_y
    aligned = m.cov_ts >= 0
    return CCHReport(
        i_ts=i_ts,
        i_sy=i_sy,
        gap=gap,
        cch=cch,
        bounded=bounded,
        aligned=aligned,
        kd_helps=m.c < m.sigma2,
        theorem_applies=cch & bounded & aligned,
    )
