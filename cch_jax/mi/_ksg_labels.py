"""Ross's nearest-neighbour estimator of I(H; Y), continuous H and discrete class labels Y (nats).

For each point i with label c and N_c members in its class::

    I(H; Y) ~= psi(N) + < psi(k_i) > - < psi(N_c(i)) > - < psi(m_i) >

where eps_i is the distance from h_i to its k_i-th nearest other point of the same class,
m_i = 1 + #{j != i : d(h_i, h_j) < eps_i} counts points of every class strictly within eps_i (the
point itself included, as scikit-learn does), and the averages run over the N points that are kept.
This is the estimator scikit-learn's ``mutual_info_classif`` applies to one feature at a time; here
H may have many coordinates. KSG on one-hot labels is wrong: the labels tie, and the tie-breaking
then decides the estimate.

Small classes, as in scikit-learn: a class with fewer than k + 1 members uses k_i = N_c - 1 for its
points; a class with a single member is dropped (its point is removed from the data: it neither
contributes a term nor counts as a neighbour, and N shrinks). If every class is a singleton there is
nothing to estimate: concrete inputs raise ``ValueError``.

Metric: Euclidean by default (scikit-learn's choice), or ``"max"``; in one dimension they coincide.
Ties and duplicate rows follow :mod:`cch_jax.mi._ksg`: distances tie with multiplicity, counts are
strict, and tied (discrete or constant) columns of H are handled by the ``ties=`` policy of
:func:`cch_jax.mi.ksg` (:mod:`cch_jax.mi._ties`; default: tiny deterministic jitter and an ``InputWarning``; ``"keep"``: a
point with k_i exact same-class copies has eps = 0 and m = 1).

References:
  B. C. Ross, "Mutual information between discrete and continuous data sets", PLoS ONE 9(2),
  e87357 (2014).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import digamma

from cch_jax import _checks
from cch_jax.mi import _ksg_inputs, _neighbours, _search, _ties

LABEL_METRICS = ("euclidean", "max")


def _as_labels(labels) -> jax.Array:
    if labels is None:
        raise ValueError("labels: expected an integer array, got None")
    if not _checks.is_traced(labels) and not hasattr(labels, "dtype"):
        labels = np.asarray(labels)
    dtype = np.dtype(labels.dtype)
    if not np.issubdtype(dtype, np.integer):
        raise ValueError(
            f"labels: expected integer class labels, got dtype {dtype} (cast with .astype(int))"
        )
    labels = jnp.asarray(labels)
    if labels.ndim not in (1, 2):
        raise ValueError(f"labels: expected shape [n] (or [B, n]), got {labels.shape}")
    return labels


def class_sizes(labels: jax.Array) -> jax.Array:
    """N_c(i): how many points share point i's label, [n] -> [n] (int32)."""
    ordered = jnp.sort(labels)
    hi = jnp.searchsorted(ordered, labels, side="right")
    lo = jnp.searchsorted(ordered, labels, side="left")
    return (hi - lo).astype(jnp.int32)


@functools.partial(
    jax.jit, static_argnames=("k", "metric", "standardize", "search", "block", "group", "ties")
)
def _labels_one(h, labels, *, k, metric, standardize, search, block, group, ties):
    """Ross's estimate for one dataset h [n, d], labels [n]: (nats [], the largest number of rows
    sharing a value per column of h [d], None for ``ties="keep"``). The same code runs under an
    outer ``jit``/``vmap`` and on concrete inputs (the tie jitter included)."""
    h, most = _ties.prepare(h, ties=ties, standardize=standardize, salt=0)
    (h,) = _neighbours.stored(h)  # queries and data rows: the very same values
    n = h.shape[0]
    kind = "max" if metric == "max" else "euclid"
    n_c = class_sizes(labels)
    kept = n_c > 1
    h_t = h.T

    def one_block(rows, qh, q_labels, q_n_c):
        d = _neighbours.pair_dist(kind, qh, h, h_t, rows)
        same = q_labels[:, None] == labels[None, :]
        near = _neighbours.smallest(jnp.where(same, d, jnp.inf), k + 1, search, group)  # self first
        k_i = jnp.minimum(k, q_n_c - 1)
        eps = jnp.take_along_axis(near, k_i[:, None], axis=1)[:, 0]
        inside = jnp.sum((d < eps[:, None]) & kept[None, :], axis=1)
        m = inside - (eps > 0).astype(jnp.int32) + 1  # others strictly inside, plus the point
        return k_i, m

    k_i, m = _neighbours.block_map(one_block, [h, labels, n_c], n, block)
    dtype = h.dtype
    n_kept = jnp.sum(kept).astype(dtype)

    def mean_kept(v):
        return jnp.sum(jnp.where(kept, v, 0.0)) / n_kept

    k_safe = jnp.where(kept, k_i, 1)  # k_i = 0 on dropped points: keep psi finite (masked anyway)
    value = (
        digamma(n_kept)
        + mean_kept(digamma(k_safe.astype(dtype)))
        - mean_kept(digamma(n_c.astype(dtype)))
        - mean_kept(digamma(m.astype(dtype)))
    )
    if ties == "error":
        value = _ties.nan_if_tied(value, n, most)
    return value, most


def ksg_labels(
    h,
    labels,
    *,
    k: int = 3,
    metric: str = "euclidean",
    standardize: bool = True,
    search: str = "auto",
    block: int | None = None,
    ties: str = "jitter",
) -> jax.Array:
    """I(H; Y) in nats for continuous H and integer class labels Y (Ross 2014).

    Pure JAX and jitted; works under ``jax.jit`` and ``jax.vmap`` (value checks then run only on
    concrete inputs). A leading batch ([B, n, d] with [B, n] labels) is mapped with ``jax.vmap``.

    Args:
      h: continuous samples, [n, d] ([n] for one coordinate) or [B, n, d].
      labels: integer class labels, [n] (or [B, n]); any integer values, not necessarily 0..C-1.
      k: neighbours within a class, k >= 1 (classes with <= k members use N_c - 1).
      metric: ``"euclidean"`` (scikit-learn) or ``"max"`` (max-norm) in H.
      standardize: centre and scale each coordinate of H to unit variance first.
      search: ``"auto"``, ``"grouped"`` or ``"topk"`` (see :func:`cch_jax.mi.ksg`).
      block: query rows per step (memory ~ 3 * block * n values).
      ties: ``"jitter"`` (default), ``"error"`` or ``"keep"``: what to do with columns of H whose
        values tie (one value repeated by more than max(8, n / 1000) rows), as in
        :func:`cch_jax.mi.ksg`: the jitter is the same under ``jax.jit``/``jax.vmap`` (same value,
        no warning), where ``"error"`` cannot raise and returns NaN for tied data.

    Returns:
      The estimate in nats (scalar, or [B]); not clipped at zero (scikit-learn clips).

    Raises:
      ValueError: mismatched rows, n <= k, NaN/inf or non-numeric h, non-integer labels, k < 1,
        every class a singleton, unknown metric/search.

    References:
      B. C. Ross, PLoS ONE 9(2), e87357 (2014).
    """
    h = _ksg_inputs.as_data("h", h)
    labels = _as_labels(labels)
    if (h.ndim == 3) != (labels.ndim == 2):
        name = "h" if h.ndim == 3 else "labels"
        raise ValueError(
            f"{name}: use h [n, d] with labels [n], or h [B, n, d] with labels [B, n]; got "
            f"shapes {h.shape} and {labels.shape}"
        )
    if h.ndim == 3 and h.shape[0] != labels.shape[0]:
        raise ValueError(
            f"mismatched batch sizes: h has {h.shape[0]}, labels has {labels.shape[0]}"
        )
    n = _checks.check_same_rows(
        h=h[0] if h.ndim == 3 else h, labels=labels[0] if labels.ndim == 2 else labels
    )
    k = _ksg_inputs.check_k(k, n)
    _checks.check_choice("metric", metric, LABEL_METRICS)
    _checks.check_choice("ties", ties, _ties.TIES)
    options = _search.static_options(
        n=n,
        k=k,
        standardize=standardize,
        search=search,
        block=block,
        batch=h.shape[0] if h.ndim == 3 else 1,
    )
    if options["search"] == "sorted":
        raise ValueError(
            "search: 'sorted' is not available for ksg_labels; use 'auto', 'grouped' or 'topk'"
        )
    if not _checks.is_traced(labels):
        for row in np.asarray(labels).reshape(-1, n):
            _, counts = np.unique(row, return_counts=True)
            if np.all(counts < 2):
                raise ValueError("labels: every class has a single member; nothing to estimate")
    _ksg_inputs.check_magnitude(
        "h", h, euclid=metric == "euclidean", standardize=options["standardize"]
    )
    # as in mi.ksg: concrete tied h refused (ties="error"), untied concrete h skips the jitter
    core_ties = _ties.core_policy(ties, h=h)
    fn = functools.partial(_labels_one, metric=metric, ties=core_ties, **options)
    value, most = (jax.vmap(fn) if h.ndim == 3 else fn)(h, labels)
    _ties.warn_ties(_ties.counts_note("h", most, n))  # concrete counts only
    return value
