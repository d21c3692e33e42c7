"""Exact sorted-sweep neighbour search for the KSG estimator with the max-norm (``search="sorted"``).

Same results as the brute-force searches of :mod:`cch_jax.mi._neighbours`, bit for bit: every
distance is the same elementwise ``|q_l - z_l|`` chain, eps_i is the (k+1)-th smallest joint
distance with self and ties counted with multiplicity, and n_x, n_y count strictly closer points. Only the set of
pairs that is looked at changes; a pair is skipped only when a bound proves that it cannot change
the result. Cost O(n log n) for sorting plus the pairs inside the pruned regions; memory O(n) for
the sorted copies plus a fixed working set per step (``BATCH * BLOCK * 3 (BLOCK + 2 WINDOW)``
distances for the first steps, ``BLOCK * chunk`` afterwards), independent of n.

Layout ("stripes"). The rows are ranked by one coordinate c1 and cut into stripes of S consecutive
ranks; inside a stripe they are sorted by a second coordinate c2. Query rows are taken in blocks
of B consecutive rows of this order (one block lies in one stripe and spans a short c2 range).

Sweep, per query block. In low dimension a fixed first step comes first, for all blocks side by
side (vmapped): in the block's stripe and one stripe on each side, the rows from WINDOW rows below
the block's lowest c2 value, BLOCK + 2 WINDOW rows long (in high dimension: the block's own rows).
Where the bounds below already close every side for every query of the block, the block is done;
the rest (a few per cent of blocks, mostly in sparse tails) resume one at a time: each scanned
range is extended outwards in c2 in chunks, then the further stripes in order of their c1 gap, each
from the block's middle c2 value outwards. The (k+1) smallest distances are kept by
compare-exchange insertion (elementwise min/max; ``top_k`` over short rows is slower on XLA:CPU).
A side (of a stripe in c2, or
of the stripe sequence in c1) is closed once, for every valid query q of the block, the
coordinate gap to the next unscanned row (or stripe) is >= q's current radius r_q: for the
neighbour search r_q is the current (k+1)-th smallest distance, which only decreases, and every
unscanned row has a joint distance >= gap >= r_q >= the final eps, so it cannot change the
(k+1)-th smallest value; for the counts r_q = eps_q is fixed and an unscanned row has a distance
>= eps_q, so it is not strictly inside. Gaps are computed as ``fl(a - b)`` of the same stored
values that the distances use, and floating-point subtraction is monotone, so the bounds hold
exactly, with ties and duplicate rows (stripes are cut by rank; tied c1 values may straddle two
stripes, giving a zero gap, which is still a valid bound).

Counts. A one-coordinate marginal is counted with two vectorised binary searches on its sorted
values (the rows with ``|q - x_j| < eps`` are a contiguous range of the sorted order, and the
search predicate is the very comparison the brute force makes). A marginal of two or more
coordinates gets its own stripe layout (its first two coordinates) and the same sweep, counting.

Where it wins (2-core CPU, measured by ``benchmarks/ksg.py``): low joint dimension and large n,
where the pruned regions hold a few hundred rows. In high dimension the k-th neighbour distance is
comparable to the spread of any one coordinate, little can be pruned, and the brute force (one
dense pass) is faster; ``search="auto"`` chooses accordingly
(:func:`cch_jax.mi._search.prefer_sorted`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from cch_jax.mi import _neighbours

# Query rows per block, and rows per scanned chunk.
BLOCK = 16
# Low dimension: the first pass looks at WINDOW rows beyond the block's c2 range in its own and the
# neighbouring stripes. High dimension: blocks of WIDE_BLOCK queries, steps of WIDE_CHUNK columns.
WINDOW = 16
REACH = 1
# Query blocks of the first step computed side by side (vmapped).
BATCH = 1024
WIDE_BLOCK = 16
WIDE_CHUNK = 8192
# Stripe size S = STRIPE_FACTOR * n * ((k + 1) / n) ** (1 / d), in rows: about the number of rows
# within one k-th-neighbour radius of a query along one coordinate (d = joint dimension).
STRIPE_FACTOR = 2.0
SORTED_MAX_DIMS = 4  # stripes (two pruned coordinates) up to this joint dimension


def stripe_rows(n: int, d: int, k: int, block: int) -> int:
    """Stripe size S (a multiple of ``block``, at least one block)."""
    s = STRIPE_FACTOR * n * ((k + 1) / n) ** (1.0 / d)
    whole = -(-n // block) * block
    return min(whole, max(block, int(math.ceil(s / block)) * block))


def _block_size(n: int, block: int = 0) -> int:
    return min(block or BLOCK, max(8, 1 << max(0, (n - 1).bit_length())))


# --------------------------------------------------------------------------------------------------
# Layout


def _layout(z: jax.Array, c1: int, c2: int, stripe: int):
    """Rows of z [n, d] in stripe order. Returns (perm [n], zs [n_pad, d] (padding rows zero),
    c2s [n_pad] (c2 column, +inf on padding), lo1, hi1 [n_stripes] (c1 range of each stripe's
    rows))."""
    n, _ = z.shape
    n_stripes = -(-n // stripe)
    n_pad = n_stripes * stripe
    # rows in c1 order, cut into stripes; each stripe sorted by c2 (padding: index n, c2 = +inf)
    rank1 = jnp.argsort(z[:, c1], stable=False).astype(jnp.int32)
    rank1 = jnp.concatenate([rank1, jnp.full(n_pad - n, n, jnp.int32)]).reshape(n_stripes, stripe)
    key = jnp.concatenate([z[:, c2], jnp.full(1, jnp.inf, z.dtype)])[rank1]
    _, perm = lax.sort((key, rank1), dimension=1, num_keys=1)
    perm = perm.reshape(-1)[:n]
    zs = jnp.concatenate([z[perm], jnp.zeros((n_pad - n, z.shape[1]), z.dtype)])
    real = jnp.arange(n_pad) < n
    c2s = jnp.where(real, zs[:, c2], jnp.inf)
    c1s = zs[:, c1]
    lo1 = jnp.min(jnp.where(real, c1s, jnp.inf).reshape(n_stripes, stripe), axis=1)
    hi1 = jnp.max(jnp.where(real, c1s, -jnp.inf).reshape(n_stripes, stripe), axis=1)
    return perm, zs, c2s, lo1, hi1, rank1.reshape(-1)[:n]


# --------------------------------------------------------------------------------------------------
# The sweep
#
# Phases, per block of query rows: (1) a fixed first step over windows of the block's own and
# neighbouring stripes, for all blocks side by side (_first_step); (2) for the blocks whose bounds
# did not close, one at a time: each scanned range extended in c2 (_scan_stripe), then the further
# stripes in order of their c1 gap (_sweep_outwards). In high dimension (no window) every block
# goes straight to phase 2 from its own rows.


class _Layout(NamedTuple):
    """Rows in stripe order (from :func:`_layout`) and the static shape of the sweep."""

    zs: jax.Array  # [n_pad, d] rows in stripe order (padding rows zero)
    c2s: jax.Array  # [n_pad] their c2 values (+inf on padding)
    lo1: jax.Array  # [n_stripes] smallest c1 value of each stripe
    hi1: jax.Array  # [n_stripes] largest c1 value of each stripe
    n: int  # real rows
    c1: int  # coordinate the stripes are cut along
    c2: int  # coordinate each stripe is sorted by
    stripe: int  # rows per stripe

    @property
    def n_pad(self) -> int:
        return self.zs.shape[0]

    @property
    def n_stripes(self) -> int:
        return self.lo1.shape[0]

    @property
    def big(self) -> jax.Array:
        return jnp.asarray(jnp.inf, self.zs.dtype)

    def stripe_end(self, t):
        """One past the last real row of stripe t."""
        return jnp.minimum(t * self.stripe + self.stripe, self.n)


class _Rule(NamedTuple):
    """What the sweep accumulates per query block: ``acc0(b)`` the initial accumulator of block b,
    ``radius(acc)`` the current radius per query [B], ``update(acc, dist [B, C], mask [C])`` folds
    in the distances to a set of columns."""

    acc0: Callable
    radius: Callable
    update: Callable


class _Queries(NamedTuple):
    """One block of query rows (rows [start, start + B) of the layout)."""

    q: jax.Array  # [B, d]
    valid: jax.Array  # [B] bool: a real row, not padding
    q1: jax.Array  # [B] c1 values
    q2: jax.Array  # [B] c2 values
    q2_mid: jax.Array  # [] c2 value of the middle valid query
    own: jax.Array  # [] the block's stripe
    start: jax.Array  # [] first row
    end: jax.Array  # [] one past the last real row


def _queries(lay: _Layout, b, block: int) -> _Queries:
    start = b * block
    q = lax.dynamic_slice_in_dim(lay.zs, start, block)
    valid = start + jnp.arange(block) < lay.n
    q2 = q[:, lay.c2]
    n_valid = jnp.sum(valid)
    return _Queries(
        q=q,
        valid=valid,
        q1=q[:, lay.c1],
        q2=q2,
        q2_mid=q2[jnp.maximum((n_valid - 1) // 2, 0)],
        own=(start // lay.stripe).astype(jnp.int32),
        start=start,
        end=jnp.minimum(start + block, lay.n),
    )


# --- bounds ---------------------------------------------------------------------------------------


def _done(rule: _Rule, qs: _Queries, gap, acc):
    """[B]: no row beyond ``gap`` can matter to this query (or it is padding)."""
    return (gap >= rule.radius(acc)) | ~qs.valid


def _closed(rule: _Rule, qs: _Queries, gap, acc):
    """[]: no row beyond ``gap`` can matter to any query of the block."""
    return jnp.all(_done(rule, qs, gap, acc))


def _go_left(lay: _Layout, rule: _Rule, qs: _Queries, gl, gr, acc):
    """Extend the left side next: it is open, and the right one is closed or farther."""

    def min_gap(gap):
        return jnp.min(jnp.where(qs.valid, gap, lay.big))

    left_open = ~_closed(rule, qs, gl, acc)
    return left_open & (_closed(rule, qs, gr, acc) | (min_gap(gl) <= min_gap(gr)))


def _edge_gaps(lay: _Layout, qs: _Queries, t, a, e):
    """c2 gaps [B] from the queries to the rows just outside [a, e) of stripe t (inf: no row)."""
    gl = jnp.where(a > t * lay.stripe, qs.q2 - lay.c2s[jnp.maximum(a - 1, 0)], lay.big)
    gr = jnp.where(e < lay.stripe_end(t), lay.c2s[jnp.minimum(e, lay.n_pad - 1)] - qs.q2, lay.big)
    return gl, gr


def _stripe_gaps(lay: _Layout, qs: _Queries, tl, tr):
    """c1 gaps [B] from the queries to the stripes tl (left) and tr (right) (inf: no stripe)."""
    last = lay.n_stripes - 1
    gl = jnp.where(tl >= 0, qs.q1 - lay.hi1[jnp.clip(tl, 0, last)], lay.big)
    gr = jnp.where(tr < lay.n_stripes, lay.lo1[jnp.clip(tr, 0, last)] - qs.q1, lay.big)
    return gl, gr


# --- scanning rows --------------------------------------------------------------------------------


def _columns(lay: _Layout, a, e, width: int):
    """Rows [a, e) (e - a <= width) as a [width, d] slice and its column mask [width]."""
    cs = jnp.clip(a, 0, lay.n_pad - width)
    cols = cs + jnp.arange(width)
    return lax.dynamic_slice_in_dim(lay.zs, cs, width), (cols >= a) & (cols < e)


def _step(lay: _Layout, rule: _Rule, qs: _Queries, acc, a, e, width: int):
    """Folds the rows [a, e) into the accumulator."""
    rows, mask = _columns(lay, a, e, width)
    return rule.update(acc, _neighbours.max_dist(qs.q, rows.T), mask)


def _insertion(lay: _Layout, t, value):
    """First row of stripe t with c2 >= value (binary search; padding is +inf)."""

    def halve(_, state):
        lo, hi = state
        mid = (lo + hi) // 2
        go = lo < hi
        right = lay.c2s[jnp.minimum(mid, lay.n_pad - 1)] < value
        return jnp.where(go & right, mid + 1, lo), jnp.where(go & ~right, mid, hi)

    bounds = (t * lay.stripe, t * lay.stripe + lay.stripe)
    return lax.fori_loop(0, lay.stripe.bit_length() + 1, halve, bounds)[0]


def _scan_stripe(lay: _Layout, rule: _Rule, qs: _Queries, t, lo, hi, acc, chunk: int):
    """Extends the scanned range [lo, hi) of stripe t in c2, ``chunk`` rows at a time on the
    nearer open side, until both sides are closed; returns the accumulator."""

    def cond(state):
        lo, hi, acc = state
        gl, gr = _edge_gaps(lay, qs, t, lo, hi)
        return ~(_closed(rule, qs, gl, acc) & _closed(rule, qs, gr, acc))

    def body(state):
        lo, hi, acc = state
        gl, gr = _edge_gaps(lay, qs, t, lo, hi)
        left = _go_left(lay, rule, qs, gl, gr, acc)
        a = jnp.where(left, jnp.maximum(lo - chunk, t * lay.stripe), hi)
        e = jnp.where(left, lo, jnp.minimum(hi + chunk, lay.stripe_end(t)))
        acc = _step(lay, rule, qs, acc, a, e, chunk)
        return jnp.where(left, a, lo), jnp.where(left, hi, e), acc

    return lax.while_loop(cond, body, (lo, hi, acc))[2]


def _sweep_outwards(lay: _Layout, rule: _Rule, qs: _Queries, acc, spans, reach: int, chunk: int):
    """Extends each scanned range [lo, hi) of ``spans`` (stripes own - reach .. own + reach, as
    (t, lo, hi, exists)) until closed, then scans the stripes beyond, in order of their c1 gap,
    each from the block's middle c2 value outwards, until the stripe sequence is closed.

    One loop does both (its first ``len(spans)`` steps are the spans), so the scan's code is
    compiled once: a Python loop over the spans would inline one copy per span."""
    m = len(spans)
    t_s, lo_s, hi_s, exists_s = (
        jnp.stack(jnp.broadcast_arrays(*column)) for column in zip(*spans, strict=True)
    )

    def cond(state):
        i, tl, tr, acc = state
        gl, gr = _stripe_gaps(lay, qs, tl, tr)
        return (i < m) | ~(_closed(rule, qs, gl, acc) & _closed(rule, qs, gr, acc))

    def body(state):
        i, tl, tr, acc = state
        span = i < m
        j = jnp.minimum(i, m - 1)
        gl, gr = _stripe_gaps(lay, qs, tl, tr)
        left = _go_left(lay, rule, qs, gl, gr, acc)
        t = jnp.where(span, t_s[j], jnp.where(left, tl, tr))
        p0 = jnp.minimum(_insertion(lay, t, qs.q2_mid), lay.stripe_end(t))
        lo, hi = jnp.where(span, lo_s[j], p0), jnp.where(span, hi_s[j], p0)
        acc = lax.cond(
            ~span | exists_s[j], lambda acc: _scan_stripe(lay, rule, qs, t, lo, hi, acc, chunk),
            lambda acc: acc, acc,
        )  # fmt: skip
        tl = jnp.where(~span & left, tl - 1, tl)
        tr = jnp.where(~span & ~left, tr + 1, tr)
        return i + 1, tl, tr, acc

    init = (jnp.int32(0), qs.own - reach - 1, qs.own + reach + 1, acc)
    return lax.while_loop(cond, body, init)[3]


# --- phases ---------------------------------------------------------------------------------------


def _first_spans(lay: _Layout, qs: _Queries, window: int, reach: int, width: int):
    """The first step's ranges: in the block's stripe and ``reach`` stripes on each side, ``width``
    rows from ``window`` rows below the block's lowest c2 value, as (t, lo, hi, exists)."""
    spans = []
    for off in range(-reach, reach + 1):
        t = qs.own + off
        exists = (t >= 0) & (t < lay.n_stripes)
        tc = jnp.clip(t, 0, lay.n_stripes - 1)
        lo = jnp.maximum(_insertion(lay, tc, qs.q2[0]) - window, tc * lay.stripe)
        hi = jnp.minimum(lo + width, lay.stripe_end(tc))
        spans.append((tc, lo, hi, exists))
    return spans


def _first_step(lay: _Layout, rule: _Rule, qs: _Queries, b, spans, width: int, reach: int):
    """Phase 1 for block b: folds in all first-step ranges at once (one distance array) and says
    whether their bounds already close every side for every query. Returns (acc, closed [])."""
    dists, masks = [], []
    for _, lo, hi, exists in spans:
        rows, mask = _columns(lay, lo, hi, width)
        dists.append(_neighbours.max_dist(qs.q, rows.T))
        masks.append(mask & exists)
    acc = rule.update(rule.acc0(b), jnp.concatenate(dists, axis=1), jnp.concatenate(masks))
    ok = jnp.ones(qs.q.shape[0], bool)
    for tc, lo, hi, exists in spans:
        gl, gr = _edge_gaps(lay, qs, tc, lo, hi)
        ok &= ~exists | (_done(rule, qs, gl, acc) & _done(rule, qs, gr, acc))
    gl, gr = _stripe_gaps(lay, qs, qs.own - reach - 1, qs.own + reach + 1)
    ok &= _done(rule, qs, gl, acc) & _done(rule, qs, gr, acc)
    return acc, jnp.all(ok)


def _sweep_wide(lay: _Layout, rule: _Rule, plan):
    """No first step (high dimension): each block starts from its own rows and sweeps outwards."""
    block, chunk, _, _ = plan

    def one_block(b):
        qs = _queries(lay, b, block)
        acc = _step(lay, rule, qs, rule.acc0(b), qs.start, qs.end, block)
        return _sweep_outwards(lay, rule, qs, acc, [(qs.own, qs.start, qs.end, True)], 0, chunk)

    return lax.map(one_block, jnp.arange(lay.n_pad // block, dtype=jnp.int32))


def _sweep(lay: _Layout, rule: _Rule, plan):
    """Runs the sweep for every query block of the layout; returns the final accumulators
    (stacked over blocks).

    ``plan`` = (block, chunk, window, reach): query rows per block, columns per sweep step, and the
    fixed first step (``window`` > 0): ``block + 2 window`` columns from ``window`` rows below the
    block's c2 range in its own stripe and in ``reach`` stripes on each side; the sweep then
    extends these ranges only where the bounds do not already close them.
    """
    block, chunk, window, reach = plan
    if not window:
        return _sweep_wide(lay, rule, plan)
    width = block + 2 * window
    n_blocks = lay.n_pad // block

    def first(b):
        qs = _queries(lay, b, block)
        spans = _first_spans(lay, qs, window, reach, width)
        return _first_step(lay, rule, qs, b, spans, width, reach)

    # Phase 1, all blocks side by side: the fixed first step and its bounds.
    blocks = jnp.arange(n_blocks, dtype=jnp.int32)
    acc, ok = lax.map(first, blocks, batch_size=min(BATCH, n_blocks))
    # Phase 2, one block at a time: sweep on from the first step where its bounds were not enough.
    todo = jnp.nonzero(~ok, size=n_blocks, fill_value=0)[0]

    def resume(i, acc):
        b = todo[i]
        qs = _queries(lay, b, block)
        spans = _first_spans(lay, qs, window, reach, width)
        mine = jax.tree.map(lambda a: a[b], acc)
        mine = _sweep_outwards(lay, rule, qs, mine, spans, reach, chunk)
        return jax.tree.map(lambda a, m: a.at[b].set(m), acc, mine)

    return lax.fori_loop(0, jnp.sum(~ok), resume, acc)


def _insert(best: jax.Array, dist: jax.Array) -> jax.Array:
    """The kk smallest of best [B, kk] (ascending) and dist [B, C], ascending, ties counted: each
    column is inserted by a chain of compare-exchanges (min/max), a loop over C of elementwise ops
    on [B] vectors (XLA:CPU's ``top_k`` over short rows costs ~5x more)."""
    kk = best.shape[1]

    def insert(c, lists):
        v = lax.dynamic_index_in_dim(dist_t, c, keepdims=False)
        out = []
        for b in lists:
            out.append(jnp.minimum(b, v))
            v = jnp.maximum(b, v)
        return tuple(out)

    dist_t = dist.T
    lists = tuple(best[:, j] for j in range(kk))
    lists = lax.fori_loop(0, dist.shape[1], insert, lists, unroll=8)
    return jnp.stack(lists, axis=1)


def _knn_eps(z, *, k: int, c1: int, c2: int, stripe: int, plan):
    """eps_i, the (k+1)-th smallest max-norm distance from row i to all rows (self included)."""
    n = z.shape[0]
    kk = k + 1
    block = plan[0]
    perm, zs, c2s, lo1, hi1, rank1 = _layout(z, c1, c2, stripe)
    inf = jnp.asarray(jnp.inf, z.dtype)

    def acc0(_):
        return jnp.full((block, kk), inf)

    def radius(acc):
        return acc[:, k]

    def update(acc, dist, mask):
        dist = jnp.where(mask[None, :], dist, inf)
        width = dist.shape[1]
        if width > 1024:
            both = jnp.concatenate([acc, dist], axis=1)
            return _neighbours.smallest(both, kk, "grouped", _neighbours.group_size(width + kk, kk))
        return _insert(acc, dist)

    lay = _Layout(zs, c2s, lo1, hi1, n=n, c1=c1, c2=c2, stripe=stripe)
    best = _sweep(lay, _Rule(acc0, radius, update), plan)
    eps_sorted = best.reshape(-1, kk)[:n, k]
    # also the c1 column in ascending order (reused by a one-coordinate count)
    return jnp.zeros(n, z.dtype).at[perm].set(eps_sorted), z[rank1, c1]


def _count_1d(x: jax.Array, eps: jax.Array, xs=None) -> jax.Array:
    """#{j : |x_i - x_j| < eps_i} (self included), x [n], by binary search on sorted x (``xs``,
    sorted here if not given)."""
    n = x.shape[0]
    xs = jnp.sort(x) if xs is None else xs
    steps = max(1, int(n).bit_length())

    # lo: first j with x - xs_j < eps; hi: first j with xs_j - x >= eps (both monotone false ->
    # true over the sorted rows); |x - xs_j| < eps exactly for lo <= j < hi. Both searches share
    # one loop: (lo, hi) brackets [a, b) each, halved together.
    def halve(_, state):
        a_lo, b_lo, a_hi, b_hi = state
        m_lo, m_hi = (a_lo + b_lo) // 2, (a_hi + b_hi) // 2
        ok_lo = x - xs[jnp.minimum(m_lo, n - 1)] < eps
        ok_hi = xs[jnp.minimum(m_hi, n - 1)] - x >= eps
        go_lo, go_hi = a_lo < b_lo, a_hi < b_hi
        return (
            jnp.where(go_lo & ~ok_lo, m_lo + 1, a_lo),
            jnp.where(go_lo & ok_lo, m_lo, b_lo),
            jnp.where(go_hi & ~ok_hi, m_hi + 1, a_hi),
            jnp.where(go_hi & ok_hi, m_hi, b_hi),
        )

    zero, full = jnp.zeros(n, jnp.int32), jnp.full(n, n, jnp.int32)
    lo, _, hi, _ = lax.fori_loop(0, steps + 1, halve, (zero, full, zero, full))
    return jnp.maximum(hi - lo, 0).astype(jnp.int32)


def _count(v: jax.Array, eps: jax.Array, *, stripe: int, plan, v_sorted=None) -> jax.Array:
    """#{j : max_l |v_il - v_jl| < eps_i} (self included), v [n, m]."""
    n, m = v.shape
    if m == 1:
        return _count_1d(v[:, 0], eps, v_sorted)
    block = plan[0]
    c2 = 1 if stripe < n else 0
    perm, zs, c2s, lo1, hi1, _ = _layout(v, 0, c2, stripe)
    eps_s = jnp.concatenate([eps[perm], jnp.zeros(zs.shape[0] - n, eps.dtype)])

    def acc0(b):
        return jnp.zeros(block, jnp.int32), lax.dynamic_slice_in_dim(eps_s, b * block, block)

    def radius(acc):
        return acc[1]

    def update(acc, dist, mask):
        cnt, r = acc
        inside = (dist < r[:, None]) & mask[None, :]
        return cnt + jnp.sum(inside, axis=1, dtype=jnp.int32), r

    lay = _Layout(zs, c2s, lo1, hi1, n=n, c1=0, c2=c2, stripe=stripe)
    cnt, _ = _sweep(lay, _Rule(acc0, radius, update), plan)
    return jnp.zeros(n, jnp.int32).at[perm].set(cnt.reshape(-1)[:n])


def plan_for(n: int, d: int, k: int) -> tuple[int, tuple[int, int, int, int]]:
    """(stripe rows, (block, chunk, window, reach)) for n rows in d joint dimensions."""
    if d <= SORTED_MAX_DIMS:
        block = _block_size(n)
        stripe = stripe_rows(n, d, k, block)
        return stripe, (block, block, WINDOW if stripe < n else 0, REACH)
    # High dimension: one stripe (prune along one coordinate), wide steps of a dense search.
    block = _block_size(n, WIDE_BLOCK)
    chunk = min(WIDE_CHUNK, -(-n // block) * block)
    chunk = max(block, chunk // block * block)
    return -(-n // block) * block, (block, chunk, 0, 0)


def ksg_counts_sorted(x: jax.Array, y: jax.Array, *, k: int, metric: str = "max"):
    """Per-point (eps_i, n_x(i), n_y(i)) like :func:`cch_jax.mi._neighbours.brute_counts`, by the
    sweep.

    Args:
      x: [n, dx] and y: [n, dy] (already standardised/jittered), one dataset.
      k: neighbours, 1 <= k < n.
      metric: ``"max"`` only (the sweep relies on per-coordinate gaps bounding the distance).

    Returns:
      (eps [n], n_x [n], n_y [n]), identical to the brute-force searches (same dtypes).
    """
    if metric != "max":
        raise ValueError(f"search: 'sorted' needs metric='max', got metric={metric!r}")
    x, y = _neighbours.stored(x, y)
    n, dx = x.shape
    z = jnp.concatenate([x, y], axis=1)
    stripe, plan = plan_for(n, z.shape[1], k)
    c2 = dx if stripe < n else 0
    eps, x0_sorted = _knn_eps(z, k=k, c1=0, c2=c2, stripe=stripe, plan=plan)
    count_dtype = jax.dtypes.canonicalize_dtype(jnp.int64)  # what the brute force's sums give
    self_counted = (eps > 0).astype(count_dtype)
    nx = _count(x, eps, stripe=stripe, plan=plan, v_sorted=x0_sorted).astype(count_dtype)
    nx = nx - self_counted
    ny = _count(y, eps, stripe=stripe, plan=plan).astype(count_dtype) - self_counted
    return eps, nx, ny
