"""Tied (discrete, constant, rounded, zero-inflated) columns for the KSG-type estimators.

KSG assumes continuous data; on tied columns it gives large spurious values (two constant columns:
7-8 nats). A column of a [n, d] is *tied* when one of its values is repeated by more than
max(``TIE_MIN_COUNT``, ``TIE_FRACTION`` * n) rows. Pairs of equal values are not enough: float32
samples are themselves quantised (``jax.random.normal`` float32 draws share a value with another
row in ~12% of the rows at n = 10^6, but no value is repeated more than ~4 times).

The ``ties=`` policies of :func:`cch_jax.mi.ksg` and :func:`cch_jax.mi.ksg_labels`:

- ``"jitter"``: uniform noise in [-w, w] is added to the tied columns only, after standardisation,
  from fixed keys (one per variable), with w = ``JITTER_FRACTION`` of the column's resolution (its
  smallest gap between distinct values, too small to reorder distinct values) or
  ``JITTER_CONSTANT`` for a constant column. The widths are computed with ``jnp`` inside the
  estimator's jitted core by :func:`tie_stats`, so a call under ``jax.jit``/``jax.vmap`` and a
  concrete call run the same code and return the same value; only the warning
  (:func:`tie_note`, :func:`warn_ties`) needs concrete inputs.
- ``"error"``: concrete inputs with a tied column raise ``ValueError``; traced inputs cannot raise,
  and the estimate is NaN instead (:func:`nan_if_tied`).
- ``"keep"``: the raw estimator.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.mi import _neighbours

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


def tie_limit(n: int) -> float:
    """A column is tied when its most repeated value occurs in more than this many of n rows."""
    return max(TIE_MIN_COUNT, TIE_FRACTION * n)


def _most_repeated(s: jax.Array) -> jax.Array:
    """Per column of the column-wise sorted s [n, d]: the largest number of rows sharing a value."""
    n = s.shape[0]
    rows = jnp.arange(n)[:, None]
    new_run = jnp.concatenate([jnp.ones((1, s.shape[1]), bool), s[1:] != s[:-1]])
    run_start = jax.lax.cummax(jnp.where(new_run, rows, 0), axis=0)
    return jnp.max(rows - run_start + 1, axis=0)


def tie_counts(a: jax.Array) -> jax.Array:
    """Per column of a [n, d]: the largest number of rows sharing one value, [d] (int). Counted on
    the raw values (standardising in float32 would merge neighbouring values)."""
    return _most_repeated(jnp.sort(a, axis=0))


def tie_stats(a: jax.Array, *, standardize: bool) -> tuple[jax.Array, jax.Array]:
    """Per column of a [n, d] (raw, before standardisation): (tied [d] bool, jitter half-width [d]
    in the estimator's units, zero for untied columns). Pure ``jnp``: same values traced or not.

    The resolution of a column is its smallest positive gap between sorted raw values, divided by
    the column's standard deviation when ``standardize`` (computed on the column scaled by a power
    of two first, exactly as :func:`cch_jax.mi._neighbours.standardize_columns` does, so that
    nothing overflows); ``inf`` for a constant column, whose width is ``JITTER_CONSTANT``
    (times max(|value|, 1) without standardisation).
    """
    n = a.shape[0]
    s = jnp.sort(a, axis=0)
    tied = _most_repeated(s) > tie_limit(n)
    if standardize:
        s = jnp.ldexp(s, -_neighbours.power_of_two_scale(a))
    diffs = s[1:] - s[:-1]
    gap = jnp.min(jnp.where(diffs > 0, diffs, jnp.inf), axis=0)
    if standardize:
        centred = s - jnp.mean(s, axis=0, keepdims=True)
        sd = jnp.sqrt(jnp.mean(jnp.square(centred), axis=0))
        gap = gap / jnp.where(sd > 0, sd, 1.0)
        constant = jnp.full_like(gap, JITTER_CONSTANT)
    else:
        constant = JITTER_CONSTANT * jnp.maximum(jnp.max(jnp.abs(a), axis=0), 1.0)
    widths = jnp.where(jnp.isfinite(gap), JITTER_FRACTION * gap, constant)
    return tied, jnp.where(tied, widths, 0.0).astype(a.dtype)


def add_jitter(a: jax.Array, widths: jax.Array, salt: int) -> jax.Array:
    """a [n, d] plus uniform noise in [-widths, widths] per column ([d]; zero leaves a column
    exactly unchanged), from the fixed key ``salt`` (X and Y use different salts, so that their
    noises are independent). Without a tied column the noise is not drawn."""

    def jitter(a):
        noise = jax.random.uniform(jax.random.key(salt), a.shape, a.dtype, -1.0, 1.0)
        return jnp.where(widths[None, :] > 0, a + noise * widths[None, :], a)

    return jax.lax.cond(jnp.any(widths > 0), jitter, lambda a: a, a)


def prepare(a: jax.Array, *, ties: str, standardize: bool, salt: int):
    """One variable a [n, d] (raw) as the neighbour counts see it: standardised if
    ``standardize``, its tied columns jittered if ``ties="jitter"`` (key ``salt``).

    Returns:
      (array [n, d], tied [d] bool, or None for ``ties="keep"``).
    """
    tied = widths = None
    if ties != "keep":
        tied, widths = tie_stats(a, standardize=standardize)
    if standardize:
        a = _neighbours.standardize_columns(a)
    if ties == "jitter":
        a = add_jitter(a, widths, salt)
    return a, tied


def nan_if_tied(value: jax.Array, *tied: jax.Array) -> jax.Array:
    """``value``, or NaN where any of the ``tied`` masks ([d] each) is set (``ties="error"`` on
    traced inputs, which cannot raise)."""
    any_tied = jnp.any(jnp.stack([jnp.any(t) for t in tied]))
    return jnp.where(any_tied, jnp.nan, value)


_tie_counts_jit = jax.jit(tie_counts)


def tie_note(name: str, a: jax.Array, *, ties: str) -> str | None:
    """For a concrete ``a`` ([n, d] or [B, n, d]): a note naming its tied columns, or None (also
    for ``ties="keep"`` and for traced ``a``). Raises ``ValueError`` for ``ties="error"``. The
    caller warns with :func:`warn_ties`."""
    if ties == "keep" or _checks.is_traced(a):
        return None
    counts = jax.vmap(_tie_counts_jit) if a.ndim == 3 else _tie_counts_jit
    most = np.asarray(counts(a), np.float64)
    n = a.shape[-2]
    tied = most > tie_limit(n)
    if not tied.any():
        return None
    cols = sorted(set(np.nonzero(tied)[-1].tolist()))
    shown = ", ".join(map(str, cols[:10])) + (", ..." if len(cols) > 10 else "")
    note = (
        f"{name}: column(s) {shown} have many tied values (one value in up to "
        f"{100 * most.max() / n:.0f}% of the rows; discrete or constant data?)"
    )
    if ties == "error":
        raise ValueError(
            f"{note}; the KSG estimator assumes continuous data: pass ties='jitter' to break the "
            f"ties with tiny noise, or use mi.ksg_labels for class labels"
        )
    return note


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
