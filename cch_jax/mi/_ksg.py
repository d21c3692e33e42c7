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
  noise: 0.26 nats at n = 1 000). Policy (``ties=``, :mod:`cch_jax.mi._ties`): a column in
  which one value is repeated by more than max(8, n / 1000) rows (``TIE_MIN_COUNT``,
  ``TIE_FRACTION``) is *tied*: constant, discrete, rounded or zero-inflated (ReLU) columns. Pairs
  of equal values are not enough: float32 samples are themselves quantised (``jax.random.normal``
  float32 draws share a value with another row in ~12% of the rows at n = 10^6, but no value is
  repeated more than ~4 times). ``"jitter"`` (default) adds
  deterministic uniform noise to the tied columns only, after standardisation, of half-width 1% of
  the column's resolution (smallest gap between distinct values; too small to reorder distinct
  values) or 1e-3 for a constant column, with independent fixed keys for X and Y, and warns with
  :class:`cch_jax._checks.InputWarning` on concrete inputs (scikit-learn and NPEET add noise to
  every column). The tie counts and widths are computed inside the jitted core, so
  ``jax.jit(ksg)(x, y)`` and ``ksg(x, y)`` return the same value (only the warning needs concrete
  inputs). Jittered KSG then treats a discrete variable as Ross (2014) does: independent codes give
  ~0, X = Y uniform on m codes gives ~log m. ``"error"`` raises a ``ValueError`` naming the
  columns (traced inputs cannot raise: the estimate is then NaN); ``"keep"`` is the raw estimator
  (a point with k exact copies has eps_i = 0 and n_x = n_y = 0).
  For a discrete Y of class labels prefer :func:`cch_jax.mi.ksg_labels`.
- Bias. KSG is biased towards zero when the MI is high and the dimension large (measured in
  benchmarks/results/ksg_accuracy.md and docs/estimators.md); nearly unbiased for independent
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

Modules: the brute-force kernels live in :mod:`cch_jax.mi._neighbours`, the sweep in
:mod:`cch_jax.mi._ksg_sorted`, the choice between them in :mod:`cch_jax.mi._search`, the tie
policy in :mod:`cch_jax.mi._ties`; this module holds the estimator.

References:
  A. Kraskov, H. Stoegbauer, P. Grassberger, "Estimating mutual information", Phys. Rev. E 69,
  066138 (2004).
  P. Czyz et al., "Beyond normal: on the evaluation of mutual information estimators", NeurIPS 2023
  (the bmi package and its metric convention).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma

from cch_jax import _checks
from cch_jax.mi import _ksg_inputs, _search, _ties
from cch_jax.mi._search import ksg_counts
from cch_jax.mi._ties import TIES

METRICS = ("max", "bmi")
SEARCHES = _search.SEARCHES


@functools.partial(
    jax.jit, static_argnames=("k", "metric", "standardize", "search", "block", "group", "ties")
)
def _ksg_one(x, y, *, k, metric, standardize, search, block, group, ties):
    """KSG for one dataset x [n, dx], y [n, dy]: (estimate in nats [], the largest number of rows
    sharing a value per column of x [dx] and of y [dy], None for ``ties="keep"``). The same code
    runs under an outer ``jit``/``vmap`` and on concrete inputs."""
    x, most_x = _ties.prepare(x, ties=ties, standardize=standardize, salt=0)
    y, most_y = _ties.prepare(y, ties=ties, standardize=standardize, salt=1)
    n = x.shape[0]
    _, nx, ny = ksg_counts(x, y, k=k, metric=metric, search=search, block=block, group=group)
    dtype = x.dtype
    psi_xy = jnp.mean(digamma(nx.astype(dtype) + 1) + digamma(ny.astype(dtype) + 1))
    value = digamma(jnp.asarray(k, dtype)) + digamma(jnp.asarray(n, dtype)) - psi_xy
    if ties == "error":
        value = _ties.nan_if_tied(value, n, most_x, most_y)
    return value, most_x, most_y


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
        naming the columns; ``"keep"`` uses the data as they are. The jitter is the same under
        ``jax.jit``/``jax.vmap`` (the same value comes back, without the warning); there
        ``"error"`` cannot raise and returns NaN for tied data.

    Returns:
      The estimate in nats: a scalar, or [B] for batched input. Not clipped at zero.

    Raises:
      ValueError: mismatched rows, n <= k, NaN/inf, non-numeric dtype, k < 1, unknown
        metric/search/ties, tied columns with ``ties="error"``, values whose squared distances
        overflow without standardisation.

    References:
      A. Kraskov, H. Stoegbauer, P. Grassberger, Phys. Rev. E 69, 066138 (2004), Eq. (8).
    """
    x, y = _ksg_inputs.as_data("x", x), _ksg_inputs.as_data("y", y)
    if (x.ndim == 3) != (y.ndim == 3):
        name, other = ("x", "y") if x.ndim == 3 else ("y", "x")
        raise ValueError(
            f"{name}: has 3 dimensions (a batch [B, n, d]) but {other} has not; batch both or "
            f"neither (shapes {x.shape} and {y.shape})"
        )
    if x.ndim == 3 and x.shape[0] != y.shape[0]:
        raise ValueError(f"mismatched batch sizes: x has {x.shape[0]}, y has {y.shape[0]}")
    n = _checks.check_same_rows(x=x[0] if x.ndim == 3 else x, y=y[0] if y.ndim == 3 else y)
    k = _ksg_inputs.check_k(k, n)
    _checks.check_choice("metric", metric, METRICS)
    options = _search.static_options(
        n=n,
        k=k,
        standardize=standardize,
        search=search,
        block=block,
        batch=x.shape[0] if x.ndim == 3 else 1,
    )
    options["search"] = _search.choose(
        search, options["search"], n=n, d=x.shape[-1] + y.shape[-1], metric=metric,
        batched=x.ndim == 3,
    )  # fmt: skip
    _checks.check_choice("ties", ties, TIES)
    if x.dtype != y.dtype:
        dtype = jnp.promote_types(x.dtype, y.dtype)
        x, y = x.astype(dtype), y.astype(dtype)
    euclid = metric == "bmi"
    _ksg_inputs.check_magnitude("x", x, euclid=euclid, standardize=options["standardize"])
    _ksg_inputs.check_magnitude("y", y, euclid=euclid, standardize=options["standardize"])
    # concrete tied inputs are refused here (ties="error"; traced ones give NaN in the core), and
    # concrete inputs without a tie skip the jitter's code (the same value, half the compilation)
    core_ties = _ties.core_policy(ties, x=x, y=y)
    fn = functools.partial(_ksg_one, metric=metric, ties=core_ties, **options)
    value, most_x, most_y = (jax.vmap(fn) if x.ndim == 3 else fn)(x, y)
    # The jitter ran inside _ksg_one, traced or not; the warning needs concrete counts.
    _ties.warn_ties(_ties.counts_note("x", most_x, n), _ties.counts_note("y", most_y, n))
    return value
