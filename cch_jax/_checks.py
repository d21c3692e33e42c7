"""Argument validation shared by the public API.

Every check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) whose message starts
with the argument's name, so that bad input fails at the call site rather than deep inside XLA.
Checks on values (finiteness, ranges) run only on concrete arrays: under ``jit``/``vmap`` tracing the
values are unknown, and the public wrappers validate before they trace.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np


def is_traced(x) -> bool:
    """True when ``x`` (or any leaf of it) is an abstract tracer inside a transformation."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def as_float_array(name: str, x, *, ndims: Sequence[int] | None = None) -> jax.Array:
    """Converts ``x`` to a floating JAX array, checking its dtype, rank and finiteness.

    Args:
      name: the argument's name, used in error messages.
      x: array-like.
      ndims: allowed numbers of dimensions, or None for any.

    Returns:
      ``x`` as a floating ``jax.Array`` (integers and bools are rejected, not cast).
    """
    if x is None:
        raise ValueError(f"{name}: expected an array, got None")
    if not is_traced(x):
        dtype = np.asarray(x).dtype if not hasattr(x, "dtype") else np.dtype(x.dtype)
        if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
            raise ValueError(f"{name}: expected a numeric array, got dtype {dtype}")
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    if ndims is not None and x.ndim not in ndims:
        raise ValueError(
            f"{name}: expected {' or '.join(map(str, ndims))} dimensions, got shape {x.shape}"
        )
    check_finite(name, x)
    return x


def check_finite(name: str, x) -> None:
    """Raises if a concrete array holds NaN or infinity (no-op under tracing)."""
    if is_traced(x):
        return
    arr = np.asarray(x)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        kind = "NaN" if np.isnan(arr).any() else "infinite"
        raise ValueError(f"{name}: contains {bad} non-finite value(s) ({kind})")


def check_same_rows(**arrays) -> int:
    """Checks that every array has the same leading dimension; returns it."""
    rows = {name: int(np.shape(a)[0]) for name, a in arrays.items()}
    if len(set(rows.values())) > 1:
        desc = ", ".join(f"{n} has {r}" for n, r in rows.items())
        raise ValueError(f"mismatched number of rows: {desc}")
    return next(iter(rows.values()))


def check_scalar_range(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Checks every element of a concrete ``value`` lies in [low, high] (bounds optionally open)."""
    if is_traced(value):
        return
    arr = np.asarray(value, dtype=float)
    check_finite(name, arr)
    if low is not None:
        bad = arr < low if low_inclusive else arr <= low
        if np.any(bad):
            op = ">=" if low_inclusive else ">"
            raise ValueError(f"{name}: must be {op} {low}, got {_show(arr[bad])}")
    if high is not None:
        bad = arr > high if high_inclusive else arr >= high
        if np.any(bad):
            op = "<=" if high_inclusive else "<"
            raise ValueError(f"{name}: must be {op} {high}, got {_show(arr[bad])}")


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Checks ``value`` is a Python/NumPy integer >= ``minimum``; returns it as int."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


def check_spd(name: str, matrix, *, rtol: float = 1e-6) -> None:
    """Checks a concrete square matrix is symmetric positive definite."""
    if is_traced(matrix):
        return
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {m.shape}")
    check_finite(name, m)
    scale = max(float(np.max(np.abs(m))), 1e-300)
    if not np.allclose(m, m.T, rtol=0.0, atol=rtol * scale):
        raise ValueError(f"{name}: not symmetric (max |M - M^T| = {np.max(np.abs(m - m.T)):.3g})")
    eig_min = float(np.linalg.eigvalsh(m)[0])
    if eig_min <= rtol * scale:
        raise ValueError(f"{name}: not positive definite (smallest eigenvalue {eig_min:.3g})")


def _show(values: np.ndarray) -> str:
    flat = np.ravel(values)
    shown = ", ".join(f"{v:g}" for v in flat[:3])
    return shown + (", ..." if flat.size > 3 else "")
