"""The Kraskov-Stoegbauer-Grassberger (KSG) estimator of I(X; Y) for continuous X and Y, in nats.

Estimator 1 of Kraskov et al. (2004), Eq. (8)::

    I(X; Y) ~= psi(k) + psi(n) - < psi(n_x(i) + 1) + psi(n_y(i) + 1) >_i

where, for each point i, eps_i is the joint-space distance to its k-th nearest other point and
n_x(i) = #{j != i : d_x(i, j) < eps_i} (strict inequality, as in the paper), n_y(i) likewise.

Conventions (documented once here, used by every function of the module):

- Metrics. ``metric="max"``: the max-norm inside X, inside Y and jointly (NPEET, scikit-learn and
  latentmi). ``metric="bmi"``: the Euclidean norm inside X and inside Y and the max of the two
  jointly (the bmi package's ``KSGEnsembleFirstEstimator``). At n = 10 000, 5+5 dimensions and
  k = 10 the two give 0.868 vs 0.900 nats on the same data: always say which one ran.
- Neighbours and ties. eps_i is the k-th smallest distance from i to the other n - 1 points,
  counting tied distances with their multiplicity (what a KD-tree ``query(k + 1)`` returns); n_x and
  n_y count strictly closer points. KSG assumes continuous data: on tied or discrete data it gives
  large spurious values (two constant columns: 7-8 nats; independent integer codes against Gaussian
  noise: 0.26 nats at n = 1 000). Policy (``ties=``, checked on concrete inputs): a column in
  which one value is repeated by more than max(8, n / 1000) rows (``TIE_MIN_COUNT``,
  ``TIE_FRACTION``) is *tied*: constant, discrete, rounded or zero-inflated (ReLU) columns. Pairs
  of equal values are not enough: float32 samples are themselves quantised (``jax.random.normal``
  float32 draws share a value with another row in ~12% of the rows at n = 10^6, but no value is
  repeated more than ~4 times). ``"jitter"`` (default) adds
  deterministic uniform noise to the tied columns only, after standardisation, of half-width 1% of
  the column's resolution (smallest gap between distinct values; too small to reorder distinct
  values) or 1e-3 for a constant column, with independent fixed keys for X and Y, and warns with
  :class:`cch_jax._checks.InputWarning` (scikit-learn and NPEET add noise to every column).
  Jittered KSG then treats a discrete variable as Ross (2014) does: independent codes give ~0,
  X = Y uniform on m codes gives ~log m. ``"error"`` raises a ``ValueError`` naming the columns;
  ``"keep"`` is the raw estimator (a point with k exact copies has eps_i = 0 and n_x = n_y = 0).
  For a discrete Y of class labels prefer :func:`cch_jax.mi.ksg_labels`.
- Bias. KSG is biased towards zero when the MI is high and the dimension large (about -20% to -36%
  for 5+5 Gaussians with MI 1.12 nats at n = 1 000 to 10 000); nearly unbiased for independent
  variables, where it fluctuates around zero (estimates can be negative: no clipping at 0, unlike
  scikit-learn and bmi, so that averages over seeds stay unbiased).
- Precision. Max-norm distances are exact differences of the stored inputs. Squared Euclidean
  distances in two or more coordinates use |a|^2 + |b|^2 - 2 a.b (a matrix product), whose absolute
  rounding error is ~1e-7 |a|^2 in float32: near-ties may order differently than in float64 (the
  reference tests run in float64, where results agree with SciPy to 1e-6).
- Standardisation (``standardize=True``): each coordinate is centred and divided by its standard
  deviation (ddof = 0; constant coordinates are left unscaled), as bmi does; scikit-learn divides by
  the standard deviation without centring, which gives the same distances. Columns are first scaled
  by an exact power of two, so data up to the float32 limit (1e30 and beyond) standardise without
  overflow; without standardisation, data whose distances would overflow are refused.

Algorithms (``search=``), both exact and both O(n * block) memory:

- ``"topk"`` (default on GPU/TPU): blocked brute force; for a block of query rows the full rows of
  joint distances [block, n] are formed and ``lax.top_k`` picks the (k+1) smallest (self included).
- ``"grouped"`` (default on CPU, where ``top_k`` over n-wide rows dominates XLA:CPU time): the row
  is cut into groups of g columns; the k+1 groups with the smallest minima provably contain the k+1
  smallest distances (ties included), so ``top_k`` runs only over the group minima and over those
  k+1 groups: O(n/g + (k+1) g) instead of O(n) wide.
- ``"sorted"`` (``metric="max"`` only; what ``"auto"`` picks on CPU for a single dataset with
  dx + dy <= 3 and 2 000+ rows, or dx + dy = 4 and 100 000+ rows): an exact sweep over rows sorted into stripes along two
  coordinates that stops where coordinate gaps prove that no farther row can matter, O(n log n)
  in low dimension; same values bit for bit (:mod:`cch_jax.mi._ksg_sorted`).

References:
  A. Kraskov, H. Stoegbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69,
  066138 (2004).
  P. Czyz et al., "Beyond normal: on the evaluation of mutual information estimators", NeurIPS 2023
  (the bmi package and its metric convention).
"""

from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma

from cch_jax import _checks

METRICS = ("max", "bmi")
SEARCHES = ("auto", "grouped", "topk", "sorted")
TIES = ("jitter", "error", "keep")

# A column is "tied" when one of its values is repeated by more than max(TIE_MIN_COUNT,
# TIE_FRACTION * n) rows. Continuous float32 data repeat a value a few times at most (at most ~4
# times at n = 10^6 for jax.random.normal draws, whose float32 uniforms have only 2^23 values),
# discrete codes, rounded data and zero-inflated columns hundreds of times.
TIE_MIN_COUNT = 8
TIE_FRACTION = 1e-3
# Noise half-width, as a fraction of a tied column's resolution (its smallest gap between distinct
# values, in the estimator's units): far too small to reorder distinct values, large enough to
# survive float32 rounding of standardised data.
JITTER_FRACTION = 1e-2
# Half-width for a constant column (in standardised units, or of max(|value|, 1) without
# standardisation): small against the other columns' unit scale.
JITTER_CONSTANT = 1e-3

# Elements in one [block, n] distance array: ~1 MiB (float32, cache-sized) on CPU, ~512 MiB on
# accelerators. Measured on a 2-core CPU (benchmarks/ksg.py): 2^18 to 2^19 is fastest.
_CPU_BLOCK_ELEMENTS = 1 << 18
_ACCEL_BLOCK_ELEMENTS = 1 << 27


# --------------------------------------------------------------------------------------------------
# Validation shared with ksg_labels


def _as_data(name: str, a) -> jax.Array:
    """[n] -> [n, 1]; [n, d] and [B, n, d] kept; dtype and finiteness checked when concrete."""
    a = _checks.as_float_array(name, a, ndims=(1, 2, 3))
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[-1] < 1:
        raise ValueError(f"{name}: needs at least one coordinate, got shape {a.shape}")
    return a


def _check_k(k, n: int) -> int:
    """k: an integer with 1 <= k < n (shared with ksg_labels)."""
    k = _checks.check_int("k", k, minimum=1)
    if n <= k:
        raise ValueError(f"k: needs more rows than neighbours (n > k), got n={n} rows and k={k}")
    return k


def check_magnitude(name: str, a: jax.Array, *, euclid: bool, standardize: bool) -> None:
    """Without standardisation, refuses concrete data whose distances would overflow: differences
    need |a| < max/2, squared Euclidean distances |a| < sqrt(max / (4 d)). (Standardised data are
    rescaled safely first, see :func:`standardize_columns`.)"""
    if standardize or _checks.is_traced(a) or not a.size:
        return
    big = float(jnp.finfo(a.dtype).max)
    limit = math.sqrt(big / (4 * a.shape[-1])) if euclid else big / 2
    top = float(jnp.max(jnp.abs(a)))
    if top >= limit:
        raise ValueError(
            f"{name}: values up to {top:.3g} overflow the distances in {a.dtype} (limit "
            f"{limit:.3g}); pass standardize=True or rescale the data"
        )


def resolve_search(search: str) -> str:
    """'auto' -> 'grouped' on CPU, 'topk' on GPU/TPU."""
    _checks.check_choice("search", search, SEARCHES)
    if search == "auto":
        return "grouped" if jax.default_backend() == "cpu" else "topk"
    return search


def resolve_block(block, n: int, batch: int = 1) -> int:
    """Query rows per step: ``block`` if given, else a memory budget divided by n (and by the
    number of datasets mapped together, whose blocks are processed side by side)."""
    if block is None:
        budget = _CPU_BLOCK_ELEMENTS if jax.default_backend() == "cpu" else _ACCEL_BLOCK_ELEMENTS
        block = max(8, budget // max(n * batch, 1))
    else:
        block = _checks.check_positive_int("block", block)
    # At least two steps: the loop then keeps its inputs as stored buffers (a one-step loop is
    # inlined, and XLA may re-derive standardised inputs with different rounding in each kernel).
    block = min(block, -(-n // 2))
    steps = -(-n // block)
    return -(-n // steps)  # same number of steps, least padding


def static_options(*, n: int, k: int, standardize, search: str, block, batch: int) -> dict:
    """Validated static options of the jitted cores, shared by ``ksg`` and ``ksg_labels``."""
    try:
        standardize = _checks.check_bool("standardize", standardize)
    except ValueError:
        raise ValueError(f"standardize: expected a bool, got {standardize!r}") from None
    return dict(
        k=k,
        standardize=standardize,
        search=resolve_search(search),
        block=resolve_block(block, n, batch),
        group=group_size(n, k + 1),
    )


def group_size(n: int, kk: int) -> int:
    """Columns per group for the grouped search: ~sqrt(n / kk), with at least kk groups."""
    g = max(1, int(round(math.sqrt(n / kk))))
    return max(1, min(g, n // kk))


# --------------------------------------------------------------------------------------------------
# Ties (discrete or constant columns)


@jax.jit
def _tie_counts(a: jax.Array):
    """Per column of a [n, d]: the largest number of rows sharing one value, counted on the raw
    values (standardising in float32 would merge neighbouring values)."""
    n = a.shape[0]
    raw = jnp.sort(a, axis=0)
    rows = jnp.arange(n)[:, None]
    new_run = jnp.concatenate([jnp.ones((1, a.shape[1]), bool), raw[1:] != raw[:-1]])
    run_start = jax.lax.cummax(jnp.where(new_run, rows, 0), axis=0)
    return jnp.max(rows - run_start + 1, axis=0)


@functools.partial(jax.jit, static_argnames=("standardize",))
def _tie_scales(a: jax.Array, standardize: bool):
    """Per column of a [n, d], in the estimator's units (standardised if ``standardize``): (the
    smallest positive gap between distinct values (inf for a constant column), the largest
    magnitude). Only needed once a column is found tied, so computed apart (a second sort)."""
    if standardize:
        a = standardize_columns(a)
    s = jnp.sort(a, axis=0)  # sorting materialises the standardised values: both slices see them
    diffs = s[1:] - s[:-1]
    gap = jnp.min(jnp.where(diffs > 0, diffs, jnp.inf), axis=0)
    return gap, jnp.max(jnp.abs(a), axis=0)


def tie_widths(name: str, a: jax.Array, *, ties: str, standardize: bool):
    """The jitter half-widths of the columns of a concrete ``a`` ([n, d] or [B, n, d]) under the
    ``ties`` policy, and a note for the warning: (None, None) when no column is tied (or
    ``ties="keep"``, or ``a`` is traced), else (array [d] (or [B, d]), zero for untied columns,
    note). Raises ``ValueError`` for ``ties="error"``. The caller warns with :func:`warn_ties`."""
    if ties == "keep" or _checks.is_traced(a):
        return None, None
    batched = a.ndim == 3
    most = np.asarray((jax.vmap(_tie_counts) if batched else _tie_counts)(a), np.float64)
    n = a.shape[-2]
    tied = most > max(TIE_MIN_COUNT, TIE_FRACTION * n)
    if not tied.any():
        return None, None
    scales = jax.vmap(_tie_scales, in_axes=(0, None)) if batched else _tie_scales
    gap, top = (np.asarray(v, np.float64) for v in scales(a, standardize))
    cols = sorted(set(np.nonzero(tied)[-1].tolist()))
    shown = ", ".join(map(str, cols[:10])) + (", ..." if len(cols) > 10 else "")
    note = (
        f"{name}: column(s) {shown} have many tied values (one value in up to "
        f"{100 * most.max() / n:.0f}% of the rows; "
        f"discrete or constant data?)"
    )
    if ties == "error":
        raise ValueError(
            f"{note}; the KSG estimator assumes continuous data: pass ties='jitter' to break the "
            f"ties with tiny noise, or use mi.ksg_labels for class labels"
        )
    constant = np.where(standardize, JITTER_CONSTANT, JITTER_CONSTANT * np.maximum(top, 1.0))
    widths = np.where(np.isfinite(gap), JITTER_FRACTION * gap, constant)
    widths = np.where(tied, widths, 0.0)
    return jnp.asarray(widths, a.dtype), note


def warn_ties(*notes) -> None:
    """One :class:`cch_jax._checks.InputWarning` for the tied variables' notes (None skipped)."""
    notes = [n for n in notes if n]
    if notes:
        warnings.warn(
            f"{'; '.join(notes)}: ties broken with deterministic noise of {JITTER_FRACTION:g} of "
            f"each column's resolution (ties='jitter'; ties='error' refuses such data)",
            _checks.InputWarning,
            stacklevel=3,
        )


def add_jitter(a: jax.Array, widths, salt: int) -> jax.Array:
    """a [n, d] plus uniform noise in [-widths, widths] per column, from a fixed key (``salt``
    differs between variables, so that X's and Y's noises are independent)."""
    if widths is None:
        return a
    noise = jax.random.uniform(jax.random.key(salt), a.shape, a.dtype, -1.0, 1.0)
    return a + noise * widths[None, :]


# --------------------------------------------------------------------------------------------------
# Distances between a block of query rows and all rows


def _max_dist(q: jax.Array, data_t: jax.Array) -> jax.Array:
    """max_l |q[b, l] - data[j, l]|, [B, d] and [d, n] -> [B, n], as an elementwise chain.

    A reduction over a short minor axis vectorises poorly on XLA:CPU; the chain fuses into one loop.
    """
    r = jnp.abs(q[:, 0:1] - data_t[0][None, :])
    for l in range(1, q.shape[1]):
        r = jnp.maximum(r, jnp.abs(q[:, l : l + 1] - data_t[l][None, :]))
    return r


def _sq_euclid_dist(q, data, data_t, q_index) -> jax.Array:
    """Squared Euclidean distances [B, n]; exactly zero on the diagonal (q_index[b] == j).

    One coordinate: (q - x)^2. More: |q|^2 + |x|^2 + (-2 q) . x with the -2 folded into the matrix
    product (exact), so the elementwise epilogue has only additions. Multiply-adds elsewhere could
    be contracted into FMAs differently in two fused kernels that recompute the same distance, and
    the strict comparison d < eps must see the very value that defined eps.
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
    """Distances (max-norm) or squared distances (Euclidean) from query rows to all rows: [B, n].

    Squared distances are compared with squared radii, which orders pairs exactly as distances do.
    """
    if metric_kind == "max":
        return _max_dist(q, data_t)
    return _sq_euclid_dist(q, data, data_t, q_index)


# --------------------------------------------------------------------------------------------------
# Exact k smallest per row


def smallest(d: jax.Array, kk: int, search: str, group: int) -> jax.Array:
    """The kk smallest values of each row of d [B, m], ascending, ties counted: [B, kk]."""
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
    ``lax.map`` loop with at least two steps (see :func:`resolve_block`). Returns fn's outputs
    concatenated over rows, each [n, ...].
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


def standardize_columns(a: jax.Array) -> jax.Array:
    """Centres each column and divides it by its standard deviation (constant columns: by 1).

    Each column is first divided by the power of two nearest below its largest magnitude: exact in
    binary floating point (the result is bit-for-bit what plain standardisation gives whenever that
    does not overflow), and the squares can no longer overflow, even for values near the float32
    limit (1e30 and beyond).
    """
    top = jnp.max(jnp.abs(a), axis=0, keepdims=True)
    _, exponent = jnp.frexp(jnp.where(top > 0, top, 1.0))
    a = jnp.ldexp(a, -(exponent - 1))
    a = a - jnp.mean(a, axis=0, keepdims=True)
    sd = jnp.sqrt(jnp.mean(jnp.square(a), axis=0, keepdims=True))
    return a / jnp.where(sd > 0, sd, 1.0)


# --------------------------------------------------------------------------------------------------
# The estimator


def ksg_counts(x, y, *, k: int, metric: str, search: str, block: int, group: int):
    """Per-point (eps_i, n_x(i), n_y(i)) for one dataset: x [n, dx], y [n, dy] -> ([n], [n], [n]).

    eps is in the metric's units (squared for the Euclidean parts of ``metric="bmi"``).
    """
    if search == "sorted":
        from cch_jax.mi import _ksg_sorted

        return _ksg_sorted.ksg_counts_sorted(x, y, k=k, metric=metric)
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


@functools.partial(
    jax.jit, static_argnames=("k", "metric", "standardize", "search", "block", "group")
)
def _ksg_one(x, y, wx=None, wy=None, *, k, metric, standardize, search, block, group):
    if standardize:
        x, y = standardize_columns(x), standardize_columns(y)
    x, y = add_jitter(x, wx, 0), add_jitter(y, wy, 1)
    n = x.shape[0]
    _, nx, ny = ksg_counts(x, y, k=k, metric=metric, search=search, block=block, group=group)
    dtype = x.dtype
    psi_xy = jnp.mean(digamma(nx.astype(dtype) + 1) + digamma(ny.astype(dtype) + 1))
    return digamma(jnp.asarray(k, dtype)) + digamma(jnp.asarray(n, dtype)) - psi_xy


def ksg(
    x,
    y,
    *,
    k: int = 3,
    metric: str = "max",
    standardize: bool = True,
    search: str = "auto",
    block: int | None = None,
    ties: str = "jitter",
) -> jax.Array:
    """KSG estimator 1 of I(X; Y) in nats (Kraskov et al. 2004).

    Pure JAX and jitted; call it inside ``jax.jit`` or ``jax.vmap`` (value checks then run only on
    concrete inputs). A leading batch of datasets is mapped with ``jax.vmap``.

    Args:
      x: samples of X, [n, dx] ([n] for one coordinate), or a batch [B, n, dx].
      y: samples of Y, [n, dy] ([n]), or [B, n, dy]; same n (and B) as ``x``.
      k: neighbours, 1 <= k < n (k = 3 is the usual choice; larger k lowers variance, raises bias).
      metric: ``"max"`` (max-norm everywhere: NPEET/scikit-learn/latentmi) or ``"bmi"`` (Euclidean
        inside X and inside Y, max of the two jointly). See the module docstring.
      standardize: centre and scale every coordinate to unit variance first.
      search: ``"auto"`` (on CPU ``"sorted"`` for one dataset with the max-norm and dx + dy <= 3,
        n >= 2000 or dx + dy = 4, n >= 100 000, else ``"grouped"``; ``"topk"`` on GPU/TPU), ``"grouped"``, ``"topk"`` or
        ``"sorted"`` (max-norm only); all give the same value.
      block: query rows per step (memory ~ 3 * block * n floats per dataset); default from a
        memory budget (divided by B for batched input; pass a small block, e.g. 8, when you
        ``jax.vmap`` over many datasets yourself).
      ties: what to do with a column of x or y in which one value is repeated by more than
        max(8, n / 1000) rows
        (discrete codes, rounded or constant data; KSG assumes continuous data, and ties give
        large spurious values: 7-8 nats for two constant columns): ``"jitter"`` (default) adds
        deterministic uniform noise of 1% of the column's resolution (its smallest gap between
        distinct values; 1e-3 for a constant column) to that column only, after standardisation,
        and warns (:class:`cch_jax._checks.InputWarning`); ``"error"`` raises ``ValueError``
        naming the columns; ``"keep"`` uses the data as they are. Checked on concrete inputs
        only: inside ``jax.jit``/``jax.vmap`` nothing is jittered.

    Returns:
      The estimate in nats: a scalar, or [B] for batched input. Not clipped at zero.

    Raises:
      ValueError: mismatched rows, n <= k, NaN/inf, non-numeric dtype, k < 1, unknown
        metric/search/ties, tied columns with ``ties="error"``, values whose squared distances
        overflow without standardisation.

    References:
      A. Kraskov, H. Stoegbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004), Eq. (8).
    """
    x, y = _as_data("x", x), _as_data("y", y)
    if (x.ndim == 3) != (y.ndim == 3):
        name, other = ("x", "y") if x.ndim == 3 else ("y", "x")
        raise ValueError(
            f"{name}: has 3 dimensions (a batch [B, n, d]) but {other} has not; batch both or "
            f"neither (shapes {x.shape} and {y.shape})"
        )
    if x.ndim == 3 and x.shape[0] != y.shape[0]:
        raise ValueError(f"mismatched batch sizes: x has {x.shape[0]}, y has {y.shape[0]}")
    n = _checks.check_same_rows(x=x[0] if x.ndim == 3 else x, y=y[0] if y.ndim == 3 else y)
    k = _check_k(k, n)
    _checks.check_choice("metric", metric, METRICS)
    options = static_options(
        n=n,
        k=k,
        standardize=standardize,
        search=search,
        block=block,
        batch=x.shape[0] if x.ndim == 3 else 1,
    )
    from cch_jax.mi import _ksg_sorted

    options["search"] = _ksg_sorted.choose(
        search, options["search"], n=n, d=x.shape[-1] + y.shape[-1], metric=metric,
        batched=x.ndim == 3,
    )  # fmt: skip
    _checks.check_choice("ties", ties, TIES)
    if x.dtype != y.dtype:
        dtype = jnp.promote_types(x.dtype, y.dtype)
        x, y = x.astype(dtype), y.astype(dtype)
    euclid = metric == "bmi"
    check_magnitude("x", x, euclid=euclid, standardize=options["standardize"])
    check_magnitude("y", y, euclid=euclid, standardize=options["standardize"])
    wx, note_x = tie_widths("x", x, ties=ties, standardize=options["standardize"])
    wy, note_y = tie_widths("y", y, ties=ties, standardize=options["standardize"])
    warn_ties(note_x, note_y)
    fn = functools.partial(_ksg_one, metric=metric, **options)
    if x.ndim == 3:
        return jax.vmap(fn)(x, y, wx, wy)
    return fn(x, y, wx, wy)
