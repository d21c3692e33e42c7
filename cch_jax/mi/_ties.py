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
  concrete call return the same value (a concrete call without a tied column runs the core
  without the jitter's code, :func:`core_policy`: the jitter would change nothing); only the warning
  (:func:`counts_note`, from the counts the core returns, and :func:`warn_ties`) needs concrete
  outputs.
- ``"error"``: concrete inputs with a tied column raise ``ValueError`` before the estimate runs
  (:func:`core_policy`); traced inputs cannot raise, and the estimate is NaN instead
  (:func:`nan_if_tied`).
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
    """Per row of s [d, n], each row sorted: the largest number of entries sharing a value, [d]."""
    n = s.shape[1]
    pos = jnp.arange(n)[None, :]
    new_run = jnp.concatenate([jnp.ones((s.shape[0], 1), bool), s[:, 1:] != s[:, :-1]], axis=1)
    run_start = jax.lax.cummax(jnp.where(new_run, pos, 0), axis=1)
    return jnp.max(pos - run_start + 1, axis=1).astype(jnp.int32)


def tie_counts(a: jax.Array) -> jax.Array:
    """Per column of a [n, d]: the largest number of rows sharing one value, [d] (int32). Counted
    on the raw values (standardising in float32 would merge neighbouring values)."""
    return _most_repeated(jnp.sort(a.T, axis=1))  # sorting rows is faster than columns on CPU


def tie_stats(a: jax.Array, *, standardize: bool) -> tuple[jax.Array, jax.Array]:
    """Per column of a [n, d] (raw, before standardisation): (the largest number of rows sharing
    one value [d] (int32), the jitter half-width [d] in the estimator's units: zero for untied
    columns). Pure ``jnp`` and one sort: the same values traced or not.

    The resolution of a column is its smallest positive gap between sorted raw values, divided by
    the column's standard deviation when ``standardize`` (computed on the column scaled by a power
    of two first, exactly as :func:`cch_jax.mi._neighbours.standardize_columns` does, so that
    nothing overflows); ``inf`` for a constant column, whose width is ``JITTER_CONSTANT``
    (times max(|value|, 1) without standardisation).
    """
    n = a.shape[0]
    s = jnp.sort(a.T, axis=1)  # [d, n]
    most = _most_repeated(s)
    if standardize:
        s = jnp.ldexp(s, -_neighbours.power_of_two_scale(a).T)
    diffs = s[:, 1:] - s[:, :-1]
    gap = jnp.min(jnp.where(diffs > 0, diffs, jnp.inf), axis=1)
    if standardize:
        centred = s - jnp.mean(s, axis=1, keepdims=True)
        sd = jnp.sqrt(jnp.mean(jnp.square(centred), axis=1))
        gap = gap / jnp.where(sd > 0, sd, 1.0)
        constant = jnp.full_like(gap, JITTER_CONSTANT)
    else:
        constant = JITTER_CONSTANT * jnp.maximum(jnp.max(jnp.abs(a), axis=0), 1.0)
    widths = jnp.where(jnp.isfinite(gap), JITTER_FRACTION * gap, constant)
    return most, jnp.where(most > tie_limit(n), widths, 0.0).astype(a.dtype)


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
      (array [n, d], the largest number of rows sharing a value per column [d] (int32; for the
      caller's warning), or None for ``ties="keep"``).
    """
    most = widths = None
    if ties != "keep":
        most, widths = tie_stats(a, standardize=standardize)
    if standardize:
        a = _neighbours.standardize_columns(a)
    if ties == "jitter":
        a = add_jitter(a, widths, salt)
    return a, most


def nan_if_tied(value: jax.Array, n: int, *most: jax.Array) -> jax.Array:
    """``value``, or NaN when a column of any variable is tied (``most`` [d] each, out of n rows):
    ``ties="error"`` on traced inputs, which cannot raise."""
    any_tied = jnp.any(jnp.stack([jnp.any(m > tie_limit(n)) for m in most]))
    return jnp.where(any_tied, jnp.nan, value)


def counts_note(name: str, most, n: int) -> str | None:
    """From concrete counts (``most`` [d] or [B, d], out of n rows): a note naming the tied
    columns of variable ``name``, or None when there are none (or ``most`` is None or traced)."""
    if most is None or _checks.is_traced(most):
        return None
    most = np.asarray(most, np.float64)
    tied = most > tie_limit(n)
    if not tied.any():
        return None
    cols = sorted(set(np.nonzero(tied)[-1].tolist()))
    shown = ", ".join(map(str, cols[:10])) + (", ..." if len(cols) > 10 else "")
    return (
        f"{name}: column(s) {shown} have many tied values (one value in up to "
        f"{100 * most.max() / n:.0f}% of the rows; discrete or constant data?)"
    )


def _tie_counts_np(a: np.ndarray) -> np.ndarray:
    """:func:`tie_counts` in NumPy, for concrete data [..., n, d] -> [..., d] (int32): the same
    integers (sorting and comparing floats are exact), with no program to compile per shape."""
    s = np.sort(a, axis=-2)
    new_run = np.concatenate(
        [np.ones_like(s[..., :1, :], dtype=bool), s[..., 1:, :] != s[..., :-1, :]], axis=-2
    )
    pos = np.arange(s.shape[-2])[:, None]
    run_start = np.maximum.accumulate(np.where(new_run, pos, 0), axis=-2)
    return np.max(pos - run_start + 1, axis=-2).astype(np.int32)


def tie_note(name: str, a: jax.Array) -> str | None:
    """For a concrete ``a`` ([n, d] or [B, n, d]): a note naming its tied columns, or None (also
    for a traced ``a``). Costs one sort of ``a`` (in NumPy: nothing to compile)."""
    if _checks.is_traced(a):
        return None
    return counts_note(name, _tie_counts_np(np.asarray(a)), a.shape[-2])


def _refuse(note: str | None) -> None:
    if note:
        raise ValueError(
            f"{note}; the KSG estimator assumes continuous data: pass ties='jitter' to break the "
            f"ties with tiny noise, or use mi.ksg_labels for class labels"
        )


def core_policy(ties: str, **arrays) -> str:
    """The ``ties`` policy an estimator's jitted core needs for these inputs (named as the
    caller's arguments, [n, d] or [B, n, d] each).

    On concrete inputs without a tied column, ``"jitter"`` and ``"error"`` become ``"keep"``: the
    jitter would leave every column unchanged and there is nothing to refuse, so the value is the
    same, and the core compiles without the tie statistics and the noise (about half of a KSG
    program's compilation on a CPU). ``"error"`` raises ``ValueError`` on a concrete tied column.
    Traced inputs keep ``ties``: the core decides there.
    """
    if ties == "keep" or any(_checks.is_traced(a) for a in arrays.values()):
        return ties
    notes = [tie_note(name, a) for name, a in arrays.items()]
    if ties == "error":
        for note in notes:
            _refuse(note)
    return ties if any(notes) else "keep"


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
