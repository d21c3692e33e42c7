"""Argument validation shared by the whole package: the one place where user input is checked.

The rule, everywhere (library and CLI): every problem with user input raises ``ValueError`` whose
message starts with the argument's name, e.g. ``"k: must be >= 1, got 0"`` -- never a
``TypeError``, never an error from deep inside JAX/XLA. The CLI catches ``ValueError`` and prints
one line on stderr (exit code 2). Non-fatal data problems (columns dropped, rows subsampled, ties
jittered) are reported with ``warnings.warn(..., InputWarning)``.

Checks on values (finiteness, ranges) run only on concrete inputs: under ``jit``/``vmap`` tracing
the values are unknown, the checks that need them are skipped, and the public wrappers validate
before they trace.

Scalars: :func:`check_choice`, :func:`check_int`, :func:`check_real`, :func:`check_bool`.
Sequences: :func:`check_int_tuple`, :func:`check_real_tuple`. Arrays: :func:`as_float_array`,
:func:`check_finite`, :func:`check_same_rows`, :func:`check_spd`. Objects:
:func:`check_instance`, :func:`with_overrides`, :func:`check_key`.

Also re-exported here, for the modules that import them from ``_checks``: the warning categories
(:mod:`cch_jax._warnings`) and :func:`check_output_dir` (:func:`cch_jax._files.output_dir`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _files
from cch_jax._warnings import DivergenceWarning as DivergenceWarning
from cch_jax._warnings import InputWarning as InputWarning


def is_traced(x) -> bool:
    """True when ``x`` (or any leaf of it) is an abstract tracer inside a transformation."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(x))


def _describe(value) -> str:
    """A short description of a bad value for error messages: its repr if short, else its type."""
    text = repr(value)
    if len(text) > 60:
        shape = getattr(value, "shape", None)
        text = f"a {type(value).__name__}" + (f" of shape {tuple(shape)}" if shape else "")
    return text


# --------------------------------------------------------------------------------------------------
# Scalars


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """Checks ``value`` is one of the strings ``choices``; returns it.

    Args:
      name: the argument's name, used in error messages.
      value: the user's value.
      choices: the allowed strings.

    Returns:
      ``value``.
    """
    if not isinstance(value, str) or value not in choices:
        expected = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}: expected one of {expected}, got {_describe(value)}")
    return value


def _scalar(value):
    """A 0-d NumPy array or NumPy scalar -> the Python scalar; anything else unchanged."""
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0:
        return value.item()
    if isinstance(value, jax.Array) and not is_traced(value) and value.ndim == 0:
        return value.item()
    return value


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Checks ``value`` is an integer (Python, NumPy or 0-d array; not bool, not float) in range.

    Args:
      name: the argument's name, used in error messages.
      value: the user's value.
      minimum: smallest allowed value, or None.
      maximum: largest allowed value, or None.

    Returns:
      ``value`` as a Python ``int``.
    """
    v = _scalar(value)
    if isinstance(v, bool) or not isinstance(v, int):
        hint = ""
        if isinstance(v, float) and math.isfinite(v) and v == int(v):
            hint = f" (write {int(v)} instead of {v})"
        raise ValueError(f"{name}: expected an integer, got {_describe(value)}{hint}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name}: must be <= {maximum}, got {v}")
    return int(v)


def check_real(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Checks ``value`` is a finite real number (int, float, NumPy scalar; not bool) in range.

    Args:
      name: the argument's name, used in error messages.
      value: the user's value.
      low: lower bound, or None.
      high: upper bound, or None.
      low_open: exclude ``low`` itself (value > low instead of >=).
      high_open: exclude ``high`` itself.

    Returns:
      ``value`` as a Python ``float``. A traced value (inside ``jit``) is returned unchecked.
    """
    if is_traced(value):
        return value
    v = _scalar(value)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{name}: expected a real number, got {_describe(value)}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {v}")
    _check_representable(name, v)
    check_scalar_range(
        name, v, low=low, high=high, low_inclusive=not low_open, high_inclusive=not high_open
    )
    return v


def _check_representable(name: str, magnitude: float) -> None:
    """Finite values beyond the float32 range become inf inside JAX (unless 64-bit mode is on)."""
    if abs(magnitude) > _FLOAT32_MAX and not jax.config.jax_enable_x64:
        raise ValueError(
            f"{name}: {magnitude:g} is too large for float32 (max {_FLOAT32_MAX:.3g}); enable "
            f"jax_enable_x64 or rescale"
        )


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_bool(name: str, value) -> bool:
    """Checks ``value`` is True or False (Python or NumPy bool; not 0/1); returns a Python bool."""
    v = _scalar(value)
    if not isinstance(v, bool):
        raise ValueError(f"{name}: expected True or False, got {_describe(value)}")
    return v


def _as_sequence(name: str, value, what: str) -> tuple:
    if isinstance(value, str | bytes) or value is None:
        raise ValueError(f"{name}: expected a tuple of {what}, got {_describe(value)}")
    if isinstance(value, np.ndarray | jax.Array):
        if value.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D sequence of {what}, got shape {value.shape}")
        return tuple(value.tolist())
    if isinstance(value, int | float | np.generic):
        raise ValueError(
            f"{name}: expected a tuple of {what}, got the single number {value!r} "
            f"(write ({value!r},) for one value)"
        )
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(f"{name}: expected a tuple of {what}, got {_describe(value)}") from None


def check_int_tuple(
    name: str, value, *, minimum: int | None = None, min_length: int = 0
) -> tuple[int, ...]:
    """Checks ``value`` is a sequence of integers, each >= ``minimum``; returns it as a tuple.

    A bare integer where a tuple is expected (``hidden=32``) gets a clear message, not
    "'int' object is not iterable".

    Args:
      name: the argument's name, used in error messages.
      value: the user's value (tuple, list or 1-D integer array).
      minimum: smallest allowed element, or None.
      min_length: fewest elements allowed.

    Returns:
      A tuple of Python ints.
    """
    items = _as_sequence(name, value, "integers")
    if len(items) < min_length:
        raise ValueError(f"{name}: expected at least {min_length} value(s), got {items!r}")
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(items))


def check_real_tuple(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    min_length: int = 0,
) -> tuple[float, ...]:
    """Checks ``value`` is a sequence of finite reals in range; returns it as a tuple of floats.

    Args:
      name: the argument's name, used in error messages.
      value: the user's value (tuple, list or 1-D array).
      low, high, low_open, high_open: bounds on every element, as in :func:`check_real`.
      min_length: fewest elements allowed.

    Returns:
      A tuple of Python floats.
    """
    items = _as_sequence(name, value, "numbers")
    if len(items) < min_length:
        raise ValueError(f"{name}: expected at least {min_length} value(s), got {items!r}")
    return tuple(
        check_real(f"{name}[{i}]", v, low=low, high=high, low_open=low_open, high_open=high_open)
        for i, v in enumerate(items)
    )


def check_instance(name: str, value, cls: type | tuple[type, ...]):
    """Checks ``value`` is an instance of ``cls`` (a ValueError, not a TypeError); returns it."""
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise ValueError(f"{name}: expected a {names}, got {type(value).__name__}")
    return value


def with_overrides(config, cls: type, overrides: dict):
    """``config`` (a frozen dataclass ``cls``) with the fields named in ``overrides`` replaced.

    Args:
      config: the configuration, an instance of ``cls``.
      cls: its dataclass type (names the error for an unknown field).
      overrides: field name -> new value; empty returns ``config`` itself.

    Returns:
      ``dataclasses.replace(config, **overrides)``: a new ``cls``, validated again at construction.

    Raises:
      ValueError: naming the first (alphabetically) of ``overrides`` that is not a field of ``cls``.
    """
    if not overrides:
        return config
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"{unknown[0]}: not a field of {cls.__name__}")
    return dataclasses.replace(config, **overrides)


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Checks ``value`` is an integer >= ``minimum`` (default 1); :func:`check_int` with a floor."""
    return check_int(name, value, minimum=minimum)


def check_scalar_range(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Checks every element of a concrete ``value`` lies in [low, high] (bounds optionally open).

    Unlike :func:`check_real`, ``value`` may be an array (every element is checked); bools and
    non-numbers are rejected. No-op under tracing.
    """
    if is_traced(value):
        return
    v = _scalar(value)
    if isinstance(v, bool) or not isinstance(v, int | float | np.ndarray | np.generic | jax.Array):
        raise ValueError(
            f"{name}: expected a real number or an array, got {_describe(value)}"
            + (" (wrap a list with jnp.asarray)" if isinstance(value, list | tuple) else "")
        )
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a real number, got {_describe(value)}") from None
    check_finite(name, arr)
    if arr.size:
        _check_representable(name, float(np.max(np.abs(arr))))
    if low is not None:
        bad = arr < low if low_inclusive else arr <= low
        if np.any(bad):
            op = ">=" if low_inclusive else ">"
            raise ValueError(f"{name}: must be {op} {low:g}, got {_show(arr[bad])}")
    if high is not None:
        bad = arr > high if high_inclusive else arr >= high
        if np.any(bad):
            op = "<=" if high_inclusive else "<"
            raise ValueError(f"{name}: must be {op} {high:g}, got {_show(arr[bad])}")


# --------------------------------------------------------------------------------------------------
# Arrays


def _numpy_dtype(name: str, x) -> np.dtype:
    if hasattr(x, "dtype"):
        return np.dtype(x.dtype)
    try:
        return np.asarray(x).dtype
    except (TypeError, ValueError) as err:  # ragged nested lists
        raise ValueError(f"{name}: expected a numeric array, got {_describe(x)} ({err})") from None


def as_float_array(name: str, x, *, ndims: Sequence[int] | None = None) -> jax.Array:
    """Converts ``x`` to a floating JAX array, checking its dtype, rank and finiteness.

    Args:
      name: the argument's name, used in error messages.
      x: array-like of real numbers (integers are cast; bools, strings, objects and complex
        numbers are rejected).
      ndims: allowed numbers of dimensions, or None for any.

    Returns:
      ``x`` as a floating ``jax.Array`` (float32 unless 64-bit mode is on). Values finite in the
      input but too large for the result dtype are an error, not a silent ``inf``.
    """
    if x is None:
        raise ValueError(f"{name}: expected an array, got None")
    traced = is_traced(x)
    if not traced:
        if isinstance(x, str | bytes):
            raise ValueError(f"{name}: expected a numeric array, got the string {x!r:.40}")
        dtype = _numpy_dtype(name, x)
        if dtype == np.bool_ or not (
            np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
        ):
            raise ValueError(f"{name}: expected a numeric array of real numbers, got dtype {dtype}")
        if ndims is not None and np.ndim(x) not in ndims:
            raise ValueError(
                f"{name}: expected {' or '.join(map(str, ndims))} dimensions, got shape "
                f"{np.shape(x)}"
            )
        check_finite(name, x)
        # Integers always fit float32; a float64 input may not (without 64-bit mode).
        target = np.dtype(jax.dtypes.canonicalize_dtype(dtype))
        if np.issubdtype(dtype, np.floating) and target.itemsize < dtype.itemsize and np.size(x):
            largest = float(np.max(np.abs(np.asarray(x, dtype=np.float64))))
            if largest > float(np.finfo(target).max):
                raise ValueError(
                    f"{name}: values too large for {target} (largest magnitude {largest:g}); "
                    f"rescale the data"
                )
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    if ndims is not None and x.ndim not in ndims:
        raise ValueError(
            f"{name}: expected {' or '.join(map(str, ndims))} dimensions, got shape {x.shape}"
        )
    return x


def check_finite(name: str, x) -> None:
    """Raises if a concrete array holds NaN or infinity, saying how many and where the first is.

    No-op under tracing.
    """
    if is_traced(x):
        return
    arr = np.asarray(x)
    if not arr.size or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating)
    ):
        return
    finite = np.isfinite(arr)
    if finite.all():
        return
    bad = int(arr.size - np.count_nonzero(finite))
    first = np.unravel_index(int(np.argmin(finite.ravel())), arr.shape)
    where = f"row {first[0]}" if arr.ndim == 1 else f"index {tuple(int(i) for i in first)}"
    kind = "NaN" if np.isnan(arr).any() else "infinite"
    raise ValueError(
        f"{name}: contains {bad} non-finite value(s) ({kind}); the first is {arr[first]} at {where}"
    )


def check_same_rows(**arrays) -> int:
    """Checks that every array has the same leading dimension; returns it.

    The message starts with the name of the first array whose row count differs from the first
    array's, e.g. ``"y: mismatched number of rows: x has 20, y has 19"``.
    """
    rows = {}
    for name, a in arrays.items():
        shape = np.shape(a)
        if not shape:
            raise ValueError(f"{name}: expected an array with rows, got a scalar")
        rows[name] = int(shape[0])
    values = list(rows.values())
    for name, r in rows.items():
        if r != values[0]:
            desc = ", ".join(f"{n} has {v}" for n, v in rows.items())
            raise ValueError(f"{name}: mismatched number of rows: {desc}")
    return values[0]


def check_spd(name: str, matrix, *, rtol: float = 1e-6) -> None:
    """Checks a concrete square matrix is symmetric positive definite."""
    if is_traced(matrix):
        return
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {m.shape}")
    check_finite(name, m)
    scale = max(float(np.max(np.abs(m))), 1e-300) if m.size else 1.0
    if not np.allclose(m, m.T, rtol=0.0, atol=rtol * scale):
        raise ValueError(f"{name}: not symmetric (max |M - M^T| = {np.max(np.abs(m - m.T)):.3g})")
    if m.size:
        eig_min = float(np.linalg.eigvalsh(m)[0])
        if eig_min <= rtol * scale:
            raise ValueError(f"{name}: not positive definite (smallest eigenvalue {eig_min:.3g})")


def check_key(name: str, key) -> jax.Array:
    """Checks ``key`` is a JAX PRNG key: a typed key (``jax.random.key``) or a legacy uint32[2].

    Works under tracing (only the dtype and shape are inspected).

    Args:
      name: the argument's name, used in error messages.
      key: the user's value; a single key (shape ()) for a typed key.

    Returns:
      ``key`` unchanged.
    """
    hint = "make one with jax.random.key(seed)"
    if not isinstance(key, jax.Array):
        raise ValueError(f"{name}: expected a JAX PRNG key ({hint}), got {_describe(key)}")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim != 0:
            raise ValueError(
                f"{name}: expected a single PRNG key, got a key array of shape {key.shape}"
            )
        return key
    if key.dtype == jnp.uint32 and key.shape == (2,):
        return key
    raise ValueError(
        f"{name}: expected a JAX PRNG key ({hint}), got an array of dtype {key.dtype} and shape "
        f"{key.shape}"
    )


def check_output_dir(name: str, path):
    """Creates the output folder ``path`` and proves it writable: :func:`cch_jax._files.output_dir`.

    Args:
      name: the argument's name, used in error messages.
      path: a folder path (str or ``os.PathLike``).

    Returns:
      The folder as a ``pathlib.Path``.
    """
    return _files.output_dir(name, path)


def _show(values: np.ndarray) -> str:
    flat = np.ravel(values)
    shown = ", ".join(f"{v:g}" for v in flat[:3])
    return shown + (", ..." if flat.size > 3 else "")
