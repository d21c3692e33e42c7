"""Closed-form mutual information of jointly Gaussian variables (nats).

Equations: theory/derivation.md, section "Mutual information".
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from cch_jax import _checks

NATS_PER_BIT = math.log(2.0)


def nats_to_bits(mi_nats):
    """Converts mutual information from nats to bits (divides by ln 2).

    Args:
      mi_nats: MI in nats, any shape.

    Returns:
      MI in bits, same shape as ``mi_nats``.
    """
    return jnp.asarray(mi_nats) / NATS_PER_BIT


def correlation_mi(rho):
    """I(a; b) = -1/2 log(1 - rho^2) for two jointly Gaussian scalars, in nats.

    Args:
      rho: correlation coefficient(s), any shape, |rho| < 1.

    Returns:
      MI in nats, same shape as ``rho``.
    """
    _checks.check_scalar_range(
        "rho", rho, low=-1.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    rho = jnp.asarray(rho, dtype=jnp.result_type(rho, float))
    return -0.5 * jnp.log1p(-jnp.square(rho))


def _logdet_spd(m: jax.Array) -> jax.Array:
    chol = jnp.linalg.cholesky(m)
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def gaussian_mi(cov, dim_x: int):
    """I(X; Y) = 1/2 log(det S_xx det S_yy / det S) for (X, Y) jointly Gaussian, in nats.

    Args:
      cov: joint covariance of (X, Y), shape [dx + dy, dx + dy], X first; symmetric positive definite.
        Leading batch dimensions are allowed ([..., D, D]) and map over them.
      dim_x: dx, the number of leading coordinates that form X (static), 1 <= dx < D.

    Returns:
      MI in nats, shape [...] (a scalar for one covariance).
    """
    if not _checks.is_traced(cov):
        cov_np = jnp.asarray(cov)
        if cov_np.ndim < 2 or cov_np.shape[-1] != cov_np.shape[-2]:
            raise ValueError(f"cov: expected a square matrix [D, D], got shape {cov_np.shape}")
        if not 1 <= dim_x < cov_np.shape[-1]:
            raise ValueError(f"dim_x: must be in [1, {cov_np.shape[-1] - 1}], got {dim_x}")
        for mat in cov_np.reshape((-1, *cov_np.shape[-2:])):
            _checks.check_spd("cov", mat)
    cov = _checks.as_float_array("cov", cov)
    return _gaussian_mi(cov, dim_x)


@functools.partial(jax.jit, static_argnames="dim_x")
def _gaussian_mi(cov: jax.Array, dim_x: int) -> jax.Array:
    sxx = cov[..., :dim_x, :dim_x]
    syy = cov[..., dim_x:, dim_x:]
    return 0.5 * (_logdet_spd(sxx) + _logdet_spd(syy) - _logdet_spd(cov))
