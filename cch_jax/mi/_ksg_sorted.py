"""Exact sorted-sweep neighbour search for the KSG estimator with the max-norm (``search="sorted"``).

Same results as the brute-force searches of :mod:`cch_jax.mi._ksg`, bit for bit: every distance is
the same elementwise ``|q_l - z_l|`` chain, eps_i is the (k+1)-th smallest joint distance with self
and ties counted with multiplicity, and n_x, n_y count strictly closer points. Only the set of
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
dense pass) is faster; ``search="auto"`` chooses accordingly (:func:`prefer_sorted`).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

from cch_jax.mi import _ksg

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
# search="auto" picks the sorted sweep on CPU for a joint dimension d <= 3 from SORTED_MIN_ROWS
# rows, and for d = 4 from SORTED_MIN_ROWS_4D rows. Measured (2-core CPU, k = 3, steady state):
# 1+1 at n = 2 000 4.2x faster than "grouped", 2+1 at 2*10^4 4.6x and at 10^5 14x; 2+2 at 2*10^4
# 0.63x (slower), at 10^5 1.25x; 3+3 and 5+5 at 2*10^4 0.18x and 0.10x. The sweep's first call
# compiles for ~3-4 s (the brute force ~0.6 s): it pays off from a few calls, or once n >~ 30 000.
SORTED_MAX_DIMS = 4  # stripes (two pruned coordinates) up to this joint dimension
SORTED_MIN_ROWS = 2000
SORTED_MIN_ROWS_4D = 100_000


def prefer_sorted(*, n: int, d: int, metric: str) -> bool:
    """Whether ``search="auto"`` should use the sorted sweep on this backend and problem."""
    if metric != "max" or jax.default_backend() != "cpu":
        return False
    return (d <= 3 and n >= SORTED_MIN_ROWS) or (d == 4 and n >= SORTED_MIN_ROWS_4D)


def choose(search: str, resolved: str, *, n: int, d: int, metric: str, batched: bool) -> str:
    """The search :func:`cch_jax.mi.ksg` runs: ``resolved`` (from ``_ksg.resolve_search``), or
    ``"sorted"`` where ``search="auto"`` and :func:`prefer_sorted` says so (single datasets only:
    a batch is vmapped, and the sweep's loops then run in lockstep). Refuses ``"sorted"`` with a
    metric other than the max-norm."""
    if search == "sorted" and metric != "max":
        raise ValueError(
            f"search: 'sorted' needs metric='max', got metric={metric!r}; use 'auto', 'grouped' "
            f"or 'topk'"
        )
    if search == "auto" and not batched and prefer_sorted(n=n, d=d, metric=metric):
        return "sorted"
    return resolved


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


def _sweep(zs, c2s, lo1, hi1, *, n, c1, c2, stripe, plan, acc0, radius, update):
    """Runs the sweep for every query block of the layout; returns the final accumulators.

    ``acc0(b)`` gives block b's initial accumulator, ``radius(acc)`` the current radius per query
    [B], ``update(acc, dist [B, C], mask [C])`` folds in distances to a set of columns.
    ``plan`` = (block, chunk, window, reach): query rows per block, columns per sweep step, and the
    fixed first step (``window`` > 0): ``block + 2 window`` columns from ``window`` rows below the
    block's c2 range in its own stripe and in ``reach`` stripes on each side; the sweep then
    extends these ranges only where the bounds do not already close them.
    """
    block, chunk_rows, window, reach = plan
    n_pad = zs.shape[0]
    n_stripes = lo1.shape[0]
    n_blocks = n_pad // block
    big = jnp.asarray(jnp.inf, zs.dtype)

    def one_block(b, phase, acc_in=None):
        start = b * block
        q = lax.dynamic_slice_in_dim(zs, start, block)
        qv = start + jnp.arange(block) < n
        q1, q2 = q[:, c1], q[:, c2]
        n_valid = jnp.sum(qv)
        q2_mid = q2[jnp.maximum((n_valid - 1) // 2, 0)]
        own = (start // stripe).astype(jnp.int32)
        end = jnp.minimum(start + block, n)

        def done(gap, acc):
            return (gap >= radius(acc)) | ~qv

        def closed(gap, acc):
            return jnp.all(done(gap, acc))

        def min_gap(gap):
            return jnp.min(jnp.where(qv, gap, big))

        def columns(a, e, width):
            """Rows [a, e) (e - a <= width) as a [width, d] slice and its column mask."""
            cs = jnp.clip(a, 0, n_pad - width)
            cols = cs + jnp.arange(width)
            return lax.dynamic_slice_in_dim(zs, cs, width), (cols >= a) & (cols < e)

        def step(acc, a, e, width):
            rows, mask = columns(a, e, width)
            return update(acc, _ksg._max_dist(q, rows.T), mask)

        def stripe_end(t):
            return jnp.minimum(t * stripe + stripe, n)

        def insertion(t, value):
            """First row of stripe t with c2 >= value (binary search; padding is +inf)."""

            def halve(_, state):
                lo, hi = state
                mid = (lo + hi) // 2
                go = lo < hi
                right = c2s[jnp.minimum(mid, n_pad - 1)] < value
                return jnp.where(go & right, mid + 1, lo), jnp.where(go & ~right, mid, hi)

            bounds = (t * stripe, t * stripe + stripe)
            return lax.fori_loop(0, stripe.bit_length() + 1, halve, bounds)[0]

        def edge_gaps(t, a, e):
            gl = jnp.where(a > t * stripe, q2 - c2s[jnp.maximum(a - 1, 0)], big)
            gr = jnp.where(e < stripe_end(t), c2s[jnp.minimum(e, n_pad - 1)] - q2, big)
            return gl, gr

        def stripe_gaps(tl, tr):
            gl = jnp.where(tl >= 0, q1 - hi1[jnp.clip(tl, 0, n_stripes - 1)], big)
            gr = jnp.where(tr < n_stripes, lo1[jnp.clip(tr, 0, n_stripes - 1)] - q1, big)
            return gl, gr

        def scan_stripe(t, lo, hi, acc):
            def cond(state):
                lo, hi, acc = state
                gl, gr = edge_gaps(t, lo, hi)
                return ~(closed(gl, acc) & closed(gr, acc))

            def body(state):
                lo, hi, acc = state
                gl, gr = edge_gaps(t, lo, hi)
                left = ~closed(gl, acc) & (closed(gr, acc) | (min_gap(gl) <= min_gap(gr)))
                a = jnp.where(left, jnp.maximum(lo - chunk_rows, t * stripe), hi)
                e = jnp.where(left, lo, jnp.minimum(hi + chunk_rows, stripe_end(t)))
                acc = step(acc, a, e, chunk_rows)
                return jnp.where(left, a, lo), jnp.where(left, hi, e), acc

            return lax.while_loop(cond, body, (lo, hi, acc))[2]

        def sweep(acc, spans, reach):
            """Extends each scanned range [lo, hi) of the stripes own - reach .. own + reach until
            closed, then the stripes beyond, in order of their c1 gap, until closed."""
            for t, lo, hi, exists in spans:
                acc = lax.cond(
                    exists, lambda acc, t=t, lo=lo, hi=hi: scan_stripe(t, lo, hi, acc),
                    lambda acc: acc, acc,
                )  # fmt: skip

            def cond(state):
                tl, tr, acc = state
                gl, gr = stripe_gaps(tl, tr)
                return ~(closed(gl, acc) & closed(gr, acc))

            def body(state):
                tl, tr, acc = state
                gl, gr = stripe_gaps(tl, tr)
                left = ~closed(gl, acc) & (closed(gr, acc) | (min_gap(gl) <= min_gap(gr)))
                t = jnp.where(left, tl, tr)
                p0 = jnp.minimum(insertion(t, q2_mid), stripe_end(t))
                acc = scan_stripe(t, p0, p0, acc)
                return jnp.where(left, tl - 1, tl), jnp.where(left, tr, tr + 1), acc

            return lax.while_loop(cond, body, (own - reach - 1, own + reach + 1, acc))[2]

        if not window:
            acc = step(acc0(b), start, end, block)
            return sweep(acc, [(own, start, end, jnp.asarray(True))], 0)

        width = block + 2 * window
        spans = []
        for off in range(-reach, reach + 1):
            t = own + off
            exists = (t >= 0) & (t < n_stripes)
            tc = jnp.clip(t, 0, n_stripes - 1)
            lo = jnp.maximum(insertion(tc, q2[0]) - window, tc * stripe)
            hi = jnp.minimum(lo + width, stripe_end(tc))
            spans.append((tc, lo, hi, exists))
        if phase == 2:
            return sweep(acc_in, spans, reach)
        dists, masks = [], []
        for _, lo, hi, exists in spans:
            rows, mask = columns(lo, hi, width)
            dists.append(_ksg._max_dist(q, rows.T))
            masks.append(mask & exists)
        acc = update(acc0(b), jnp.concatenate(dists, axis=1), jnp.concatenate(masks))
        ok = jnp.ones(block, bool)
        for tc, lo, hi, exists in spans:
            gl, gr = edge_gaps(tc, lo, hi)
            ok &= ~exists | (done(gl, acc) & done(gr, acc))
        gl, gr = stripe_gaps(own - reach - 1, own + reach + 1)
        ok &= done(gl, acc) & done(gr, acc)
        return acc, jnp.all(ok)

    blocks = jnp.arange(n_blocks, dtype=jnp.int32)
    if not window:
        return lax.map(lambda b: one_block(b, 0), blocks)
    # Phase 1, all blocks side by side: the fixed first step and its bounds.
    acc, ok = lax.map(lambda b: one_block(b, 1), blocks, batch_size=min(BATCH, n_blocks))
    # Phase 2, one block at a time: sweep on from the first step where its bounds were not enough.
    todo = jnp.nonzero(~ok, size=n_blocks, fill_value=0)[0]

    def resume(i, acc):
        b = todo[i]
        mine = jax.tree.map(lambda a: a[b], acc)
        mine = one_block(b, 2, mine)
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
            return _ksg.smallest(both, kk, "grouped", _ksg.group_size(width + kk, kk))
        return _insert(acc, dist)

    best = _sweep(
        zs, c2s, lo1, hi1, n=n, c1=c1, c2=c2, stripe=stripe, plan=plan,
        acc0=acc0, radius=radius, update=update,
    )  # fmt: skip
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

    cnt, _ = _sweep(
        zs, c2s, lo1, hi1, n=n, c1=0, c2=c2, stripe=stripe, plan=plan,
        acc0=acc0, radius=radius, update=update,
    )  # fmt: skip
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


def _stored(*arrays):
    """The arrays, materialised once. Every sort, gather and comparison of the sweep must see the
    very same values; XLA:CPU would otherwise fuse their producer (e.g. the standardisation) into
    each consumer, where a recomputed column mean can round differently (observed: 1e-3 nats at
    n = 300). A loop whose trip count XLA cannot prove (1 unless the data hold a NaN) and whose
    carried arrays change (by + 0.0) is opaque to fusion; ``lax.optimization_barrier`` was not."""
    probe = arrays[0].reshape(-1)[0]
    once = (probe == probe).astype(jnp.int32)

    def body(state):
        i, arrays = state
        zero = i.astype(arrays[0].dtype) * 0.0  # not foldable: the arrays are loop-carried
        return i + 1, tuple(a + zero for a in arrays)

    return lax.while_loop(lambda s: s[0] < once, body, (jnp.zeros((), jnp.int32), arrays))[1]


def ksg_counts_sorted(x: jax.Array, y: jax.Array, *, k: int, metric: str = "max"):
    """Per-point (eps_i, n_x(i), n_y(i)) like :func:`cch_jax.mi._ksg.ksg_counts`, by the sweep.

    Args:
      x: [n, dx] and y: [n, dy] (already standardised/jittered), one dataset.
      k: neighbours, 1 <= k < n.
      metric: ``"max"`` only (the sweep relies on per-coordinate gaps bounding the distance).

    Returns:
      (eps [n], n_x [n], n_y [n]), identical to the brute-force searches (same dtypes).
    """
    if metric != "max":
        raise ValueError(f"search: 'sorted' needs metric='max', got metric={metric!r}")
    x, y = _stored(x, y)
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
