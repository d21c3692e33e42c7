"""Exact nearest-neighbour kernels shared by the KSG-type estimators (brute force, blocked).

Everything here is a pure function of arrays, traceable under ``jax.jit``/``jax.vmap``; the choice
between these kernels and the sorted sweep is made in :mod:`cch_jax.mi._search`.

- Distances from a block of query rows to all rows: the max-norm as an elementwise chain
  (:func:`max_dist`, the very expression the sorted sweep of :mod:`cch_jax.mi._ksg_sorted` uses) and
  squared Euclidean distances by a matrix product (:func:`sq_euclid_dist`).
- The k smallest values per row, ties counted with multiplicity (:func:`smallest`): ``lax.top_k``
  over whole rows (``"topk"``) or over the rows' group minima and the winning groups
  (``"grouped"``).
- Blocked application over query rows (:func:`block_map`) and the standardisation of columns
  (:func:`standardize_columns`), and the brute-force KSG counts (:func:`brute_counts`) built on them.

Conventions (metrics, strict counts, precision) are those documented in :mod:`cch_jax.mi._ksg`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax


def max_dist(q: jax.Array, data_t: jax.Array) -> jax.Array:
    """max_l |q[b, l] - data[j, l]|, [B, d] and [d, n] -> [B, n], as an elementwise chain.

    A reduction over a short minor axis vectorises poorly on XLA:CPU; the chain fuses into one loop.
    """
    r = jnp.abs(q[:, 0:1] - data_t[0][None, :])
    for l in range(1, q.shape[1]):
        r = jnp.maximum(r, jnp.abs(q[:, l : l + 1] - data_t[l][None, :]))
    return r


def sq_euclid_dist(q, data, data_t, q_index) -> jax.Array:
    """Squared Euclidean distances [B, n]; exactly zero on the diagonal (q_index[b] == j).

    One coordinate: (q - x)^2. More: |q|^2 + |x|^2 + (-2 q) . x with the -2 folded into the matrix
    product (exact), so the elementwise epilogue has only additions. Multiply-adds elsewhere could
    be contracted into FMAs differently in two fused kernels that recompute the same distance, and
    the strict comparison d < eps must see the very value that defined eps.

    Args:
      q: query rows [B, d].
      data: all rows [n, d].
      data_t: the same rows transposed, [d, n].
      q_index: the row index of each query in ``data``, [B] (int).

    Returns:
      Squared distances [B, n].
    """
    if q.shape[1] == 1:
        return jnp.square(q[:, 0:1] - data_t[0][None, :])
    qn = jnp.sum(jnp.square(q), axis=1)
    dn = jnp.sum(jnp.square(data), axis=1)
    cross = jnp.matmul(-2.0 * q, data_t, precision=jax.lax.Precision.HIGHEST)
    r = jnp.maximum((qn[:, None] + dn[None, :]) + cross, 0.0)
    cols = jnp.arange(data.shape[0])
    return jnp.where(q_index[:, None] == cols[None, :], 0.0, r)


def pair_dist(metric_kind: str, q, data, data_t, q_index) -> jax.Array:
    """Distances (``"max"``) or squared distances (``"euclid"``) from query rows to all rows.

    Squared distances are compared with squared radii, which orders pairs exactly as distances do.

    Args:
      metric_kind: ``"max"`` or ``"euclid"``.
      q: query rows [B, d]; data [n, d]; data_t [d, n]; q_index [B] (see :func:`sq_euclid_dist`).

    Returns:
      [B, n].
    """
    if metric_kind == "max":
        return max_dist(q, data_t)
    return sq_euclid_dist(q, data, data_t, q_index)


def group_size(n: int, kk: int) -> int:
    """Columns per group for the grouped search: ~sqrt(n / kk), with at least kk groups."""
    g = max(1, int(round(math.sqrt(n / kk))))
    return max(1, min(g, n // kk))


def smallest(d: jax.Array, kk: int, search: str, group: int) -> jax.Array:
    """The kk smallest values of each row of d [B, m], ascending, ties counted: [B, kk].

    ``search="topk"`` runs ``lax.top_k`` over whole rows; ``"grouped"`` cuts each row into groups
    of ``group`` columns and runs it over the group minima and the kk winning groups only.
    """
    if search == "topk":
        return -jax.lax.top_k(-d, kk)[0]
    b, m = d.shape
    g = group
    n_groups = -(-m // g)
    if n_groups * g != m:
        d = jnp.pad(d, ((0, 0), (0, n_groups * g - m)), constant_values=jnp.inf)
    d3 = d.reshape(b, n_groups, g)
    # The kk groups with the smallest minima hold kk values <= the kk-th smallest minimum, and every
    # other group only values >= it, so the kk smallest of those groups are the kk smallest overall.
    _, best = jax.lax.top_k(-jnp.min(d3, axis=2), kk)
    cand = jnp.take_along_axis(d3, best[:, :, None], axis=1).reshape(b, kk * g)
    return -jax.lax.top_k(-cand, kk)[0]


def block_map(fn, arrays, n: int, block: int):
    """Applies ``fn(rows, *blocks)`` to consecutive blocks of ``block`` rows of each [n, ...] array.

    ``rows`` [block] are the global row indices (the last block is padded by repeating row n - 1;
    its extra results are dropped). Blocks are contiguous slices (no gather), taken in a
    ``lax.map`` loop with at least two steps (see :func:`cch_jax.mi._search.resolve_block`).

    Returns:
      fn's outputs concatenated over rows, each [n, ...].
    """
    steps = -(-n // block)
    pad = steps * block - n
    if pad:
        arrays = [jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)]) for a in arrays]

    def one(step):
        start = step * block
        rows = jnp.minimum(start + jnp.arange(block), n - 1)
        blocks = [jax.lax.dynamic_slice_in_dim(a, start, block) for a in arrays]
        return fn(rows, *blocks)

    out = jax.lax.map(one, jnp.arange(steps))
    return jax.tree.map(lambda o: o.reshape(steps * block, *o.shape[2:])[:n], out)


def power_of_two_scale(a: jax.Array) -> jax.Array:
    """Per column of a [n, d]: the exponent e - 1 of the power of two 2^(e-1) nearest below the
    column's largest magnitude (0 for an all-zero column), [1, d] (int). Dividing by it is exact."""
    top = jnp.max(jnp.abs(a), axis=0, keepdims=True)
    _, exponent = jnp.frexp(jnp.where(top > 0, top, 1.0))
    return exponent - 1


def standardize_columns(a: jax.Array) -> jax.Array:
    """Centres each column of a [n, d] and divides it by its standard deviation (constant: by 1).

    Each column is first divided by the power of two nearest below its largest magnitude: exact in
    binary floating point (the result is bit-for-bit what plain standardisation gives whenever that
    does not overflow), and the squares can no longer overflow, even for values near the float32
    limit (1e30 and beyond).
    """
    a = jnp.ldexp(a, -power_of_two_scale(a))
    a = a - jnp.mean(a, axis=0, keepdims=True)
    sd = jnp.sqrt(jnp.mean(jnp.square(a), axis=0, keepdims=True))
    return a / jnp.where(sd > 0, sd, 1.0)


def stored(*arrays):
    """The arrays, materialised once. Every distance, sort, gather and comparison of a search must
    see the very same values; XLA:CPU would otherwise fuse their producer (e.g. the
    standardisation) into each consumer, where a recomputed column mean can round differently
    (observed: 1e-3 nats at n = 300 in the sweep; in the brute force, standardised tied float64
    data whose query rows differed from the data rows in the last bit, so that d(i, i) > 0,
    n_y = -1 and a NaN estimate). A loop whose trip count XLA cannot prove (1 unless the data hold a NaN) and whose
    carried arrays change (by + 0.0) is opaque to fusion; ``lax.optimization_barrier`` was not."""
    probe = arrays[0].reshape(-1)[0]
    once = (probe == probe).astype(jnp.int32)

    def body(state):
        i, arrays = state
        zero = i.astype(arrays[0].dtype) * 0.0  # not foldable: the arrays are loop-carried
        return i + 1, tuple(a + zero for a in arrays)

    return lax.while_loop(lambda s: s[0] < once, body, (jnp.zeros((), jnp.int32), arrays))[1]


def brute_counts(x, y, *, k: int, metric: str, search: str, block: int, group: int):
    """Per-point (eps_i, n_x(i), n_y(i)) of KSG by blocked brute force, one dataset.

    Args:
      x: [n, dx]; y: [n, dy] (already standardised/jittered).
      k: neighbours, 1 <= k < n.
      metric: ``"max"`` or ``"bmi"`` (Euclidean inside X and Y, max of the two jointly).
      search: ``"grouped"`` or ``"topk"`` (see :func:`smallest`).
      block: query rows per step; group: columns per group of the grouped search.

    Returns:
      (eps [n], n_x [n], n_y [n]); eps in the metric's units (squared for the Euclidean parts).
    """
    x, y = stored(x, y)
    n = x.shape[0]
    kind = "max" if metric == "max" else "euclid"
    x_t, y_t = x.T, y.T

    def one_block(rows, qx, qy):
        dx = pair_dist(kind, qx, x, x_t, rows)
        dy = pair_dist(kind, qy, y, y_t, rows)
        eps = smallest(jnp.maximum(dx, dy), k + 1, search, group)[:, k]  # self is the 0-th
        self_counted = (eps > 0).astype(jnp.int32)  # d(i, i) = 0 < eps
        nx = jnp.sum(dx < eps[:, None], axis=1) - self_counted
        ny = jnp.sum(dy < eps[:, None], axis=1) - self_counted
        return eps, nx, ny

    return block_map(one_block, [x, y], n, block)
