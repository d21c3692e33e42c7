"""The one-parameter family in which the CCH is necessary and sufficient for KD to help.

theory/derivation.md, section "A one-parameter family". With x2 ~ N(0, I_d), |w*| = 1, s = w*^T x2,
e ~ N(0, sigma2) independent of x2 and y = s + e, the teacher predicts t = a s + b e with
a^2 + b^2 sigma2 = 1 + sigma2 (so Var t = Var y), a in [0, sqrt(1 + sigma2)], b >= 0. Then
    rho2_ts = a^2 / (1 + sigma2),  rho2_sy = 1 / (1 + sigma2),
    c = b sigma2,  tau2 = b^2 sigma2,  B = (a - 1)^2,
    gap = I(t; s) - I(s; y) = 1/2 log(sigma2 / (1 + sigma2 - a^2)),
and CCH <=> a > 1 <=> b < 1 <=> c < sigma2 <=> KD helps at a small kd_weight.

Every function checks concrete arguments: sigma2 > 0, the teacher weight a in [0, sqrt(1 + sigma2)]
(outside it no teacher of the family exists), d, n >= 1.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.theory._model import GaussianModel
from cch_jax.theory._risk import Moments


def _check_sigma2(sigma2) -> None:
    _checks.check_scalar_range("sigma2", sigma2, low=0.0, low_inclusive=False)


def _check_a(a, sigma2) -> None:
    """a in [0, sqrt(1 + sigma2)] (concrete values only; sigma2 checked first)."""
    _check_sigma2(sigma2)
    _checks.check_scalar_range("a", a, low=0.0)
    if not _checks.is_traced((a, sigma2)):
        top = np.sqrt(1.0 + np.asarray(sigma2, np.float64))
        arr = np.asarray(a, np.float64)
        # a few ulps of slack: family_a(gap) at float32 rounds the top end
        bad = arr > top * (1 + 1e-6)
        if np.any(bad):
            raise ValueError(
                f"a: the family's teacher weight must lie in [0, sqrt(1 + sigma2)] = "
                f"[0, {float(np.max(top)):.6g}], got {float(arr[bad].ravel()[0]):.6g}"
            )


def family_b(a, sigma2):
    """b = sqrt((1 + sigma2 - a^2) / sigma2) >= 0, the weight of the label noise in t.

    Args:
      a: teacher weight on s, in [0, sqrt(1 + sigma2)], any shape.
      sigma2: label noise variance, > 0.

    Returns:
      b >= 0 (dimensionless), the broadcast shape of ``a`` and ``sigma2``.
    """
    _check_a(a, sigma2)
    a = jnp.asarray(a, dtype=jnp.result_type(a, float))
    return jnp.sqrt(jnp.maximum(1.0 + sigma2 - a**2, 0.0) / sigma2)


def family_gap(a, sigma2):
    """The MI gap I(t; s) - I(s; y) in nats at teacher weight a (+inf at a = sqrt(1 + sigma2)).

    Args:
      a: teacher weight on s, in [0, sqrt(1 + sigma2)], any shape.
      sigma2: label noise variance, > 0.

    Returns:
      The gap in nats, the broadcast shape of ``a`` and ``sigma2``.
    """
    _check_a(a, sigma2)
    a = jnp.asarray(a, dtype=jnp.result_type(a, float))
    return 0.5 * (jnp.log(sigma2) - jnp.log(1.0 + sigma2 - a**2))


def family_min_gap(sigma2):
    """The smallest attainable gap, at a = 0: 1/2 log(sigma2 / (1 + sigma2)) < 0.

    Args:
      sigma2: label noise variance, > 0, any shape.

    Returns:
      The minimum gap in nats (< 0), same shape as ``sigma2``.
    """
    _check_sigma2(sigma2)
    return 0.5 * jnp.log(sigma2 / (1.0 + jnp.asarray(sigma2)))


def family_a(gap, sigma2):
    """Inverse of :func:`family_gap`: a = sqrt(1 + sigma2 - sigma2 exp(-2 gap)).

    Args:
      gap: MI gap(s) in nats, >= :func:`family_min_gap` (finite).
      sigma2: label noise variance, > 0.

    Returns:
      The teacher weight a in [0, sqrt(1 + sigma2)], the broadcast shape of ``gap`` and
      ``sigma2``.
    """
    _check_sigma2(sigma2)
    if not _checks.is_traced((gap, sigma2)):
        _checks.check_scalar_range("gap", gap, low=float(family_min_gap(sigma2)) - 1e-12)
    gap = jnp.asarray(gap, dtype=jnp.result_type(gap, float))
    return jnp.sqrt(jnp.maximum(1.0 + sigma2 - sigma2 * jnp.exp(-2.0 * gap), 0.0))


def family_moments(a, sigma2) -> Moments:
    """The closed-form :class:`Moments` of the family at teacher weight a.

    Args:
      a: teacher weight on s, in [0, sqrt(1 + sigma2)], any shape.
      sigma2: label noise variance, > 0.

    Returns:
      The :class:`Moments`, each field the broadcast shape of ``a`` and ``sigma2``.
    """
    b = family_b(a, sigma2)
    a = jnp.asarray(a, dtype=b.dtype)
    sigma2 = jnp.asarray(sigma2, dtype=b.dtype)
    var_y = 1.0 + sigma2
    return Moments(
        sigma2=sigma2 * jnp.ones_like(a),
        tau2=b**2 * sigma2,
        c=b * sigma2,
        bias=(a - 1.0) ** 2,
        var_y=var_y * jnp.ones_like(a),
        var_t=a**2 + b**2 * sigma2,
        var_s=jnp.ones_like(a),
        cov_ts=a,
    )


def family_model(a, sigma2, d: int) -> GaussianModel:
    """The family as a :class:`GaussianModel` with a 1-D teacher modality x1 = t and w1 = [1].

    Uses w* = e_1 (x2 is isotropic, so the direction does not matter). For [d] arrays ``a``, vmap.

    Args:
      a: teacher weight on s, in [0, sqrt(1 + sigma2)].
      sigma2: label noise variance, > 0.
      d: dimension of x2 (static), >= 1.

    Returns:
      A :class:`GaussianModel` with d1 = 1: s11 [1, 1], s22 = I [d, d], s12 [1, d], s1y [1],
      s2y [d], var_y = 1 + sigma2 [], w1 = [1].
    """
    d = _checks.check_int("d", d, minimum=1)
    b = family_b(a, sigma2)
    dtype = b.dtype
    a = jnp.asarray(a, dtype)
    sigma2 = jnp.asarray(sigma2, dtype)
    w_star = jnp.zeros(d, dtype).at[0].set(1.0)
    return GaussianModel(
        s11=(a**2 + b**2 * sigma2)[None, None],
        s22=jnp.eye(d, dtype=dtype),
        s12=(a * w_star)[None, :],
        s1y=(a + b * sigma2)[None],
        s2y=w_star,
        var_y=1.0 + sigma2,
        w1=jnp.ones(1, dtype),
    )


def family_sample(
    a, sigma2, *, key: jax.Array, n: int, d: int
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Draws the family directly: x2 [n, d], y [n], t [n] (w* = e_1).

    Vmappable over ``key``, ``a`` and ``sigma2`` (e.g.
    ``jax.vmap(lambda k: family_sample(a, s2, key=k, n=n, d=d))(keys)``).

    Args:
      a: teacher weight on s, in [0, sqrt(1 + sigma2)].
      sigma2: label noise variance, > 0.
      key: a ``jax.random.key`` (keyword-only).
      n: rows (static), >= 1.
      d: dimension of x2 (static), >= 1.

    Returns:
      ``(x2, y, t)``: the student modality x2 [n, d], the target y = s + e [n] and the teacher's
      prediction t = a s + b e [n].
    """
    _checks.check_key("key", key)
    n = _checks.check_int("n", n, minimum=1)
    d = _checks.check_int("d", d, minimum=1)
    b = family_b(a, sigma2)
    k_x, k_e = jax.random.split(key)
    dtype = jnp.result_type(a, sigma2, float)
    x2 = jax.random.normal(k_x, (n, d), dtype)
    e = jnp.sqrt(sigma2) * jax.random.normal(k_e, (n,), dtype)
    s = x2[:, 0]
    return x2, s + e, a * s + b * e
