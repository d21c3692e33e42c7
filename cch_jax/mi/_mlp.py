"""Multi-layer perceptrons as pure functions of a parameter list, shared by the neural estimators
(:mod:`cch_jax.mi._mine`, :mod:`cch_jax.mi._latent`, :mod:`cch_jax.mi._probe`).

Parameters are a list of ``(w [fan_in, fan_out], b [fan_out])`` pairs, one per layer; each
estimator applies its own activations (the layers are plain ``h @ w + b``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp


def init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[tuple[jax.Array, jax.Array]]:
    """Glorot-uniform weights and zero biases for an MLP.

    Args:
      key: a ``jax.random.key``, split over the layers.
      sizes: layer widths, input first and output last (at least two entries).

    Returns:
      ``[(w [sizes[i], sizes[i + 1]], b [sizes[i + 1]]) for each layer]`` (default float dtype).
    """
    keys = jax.random.split(key, len(sizes) - 1)
    params = []
    for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        w = jax.random.uniform(k, (fan_in, fan_out), minval=-limit, maxval=limit)
        params.append((w, jnp.zeros((fan_out,))))
    return params


def expand_bias(b: jax.Array, ndim: int) -> jax.Array:
    """A bias [k] reshaped to [1, ..., 1, k] of rank ``ndim``, to broadcast against [..., k]
    (rank promotion is explicit)."""
    return b.reshape((1,) * (ndim - 1) + b.shape)


def dense(w: jax.Array, b: jax.Array, h: jax.Array) -> jax.Array:
    """One affine layer: h [..., fan_in] -> h @ w + b, [..., fan_out]."""
    return h @ w + expand_bias(b, h.ndim)
