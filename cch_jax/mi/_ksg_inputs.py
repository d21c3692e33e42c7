"""Input checks shared by the KSG-type estimators (:func:`cch_jax.mi.ksg`, ``ksg_labels``).

Shape and dtype checks run always; value checks (finiteness, magnitude) only on concrete inputs.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks


def as_data(name: str, a) -> jax.Array:
    """[n] -> [n, 1]; [n, d] and [B, n, d] kept; dtype and finiteness checked when concrete."""
    a = _checks.as_float_array(name, a, ndims=(1, 2, 3))
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[-1] < 1:
        raise ValueError(f"{name}: needs at least one coordinate, got shape {a.shape}")
    return a


def check_k(k, n: int) -> int:
    """k: an integer with 1 <= k < n."""
    k = _checks.check_int("k", k, minimum=1)
    if n <= k:
        raise ValueError(f"k: needs more rows than neighbours (n > k), got n={n} rows and k={k}")
    return k


def check_magnitude(name: str, a: jax.Array, *, euclid: bool, standardize: bool) -> None:
    """Without standardisation, refuses concrete data whose distances would overflow: differences
    need |a| < max/2, squared Euclidean distances |a| < sqrt(max / (4 d)). (Standardised data are
    rescaled safely first, see :func:`cch_jax.mi._neighbours.standardize_columns`.)"""
    if standardize or _checks.is_traced(a) or not a.size:
        return
    big = float(jnp.finfo(a.dtype).max)
    limit = math.sqrt(big / (4 * a.shape[-1])) if euclid else big / 2
    top = float(np.max(np.abs(np.asarray(a))))  # NumPy: no program to compile per shape
    if top >= limit:
        raise ValueError(
            f"{name}: values up to {top:.3g} overflow the distances in {a.dtype} (limit "
            f"{limit:.3g}); pass standardize=True or rescale the data"
        )
