"""Input checks and clean-up for ``check``: rows, finiteness, columns, labels (NumPy, not traced).

Large inputs: arrays may be NumPy memory maps (``np.load(..., mmap_mode="r")``). Finiteness is
checked in chunks of rows, and when n exceeds ``max_rows`` the row subsample is drawn *before*
anything is converted, so only the kept rows are ever read into memory as float32.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import numpy as np

from cch_jax._warnings import InputWarning

_CHUNK_ROWS = 8192


@dataclasses.dataclass(frozen=True)
class Prepared:
    """Cleaned inputs: float32 arrays on the kept rows, labels mapped, notes for the user."""

    student: np.ndarray  # [n, d_s]
    teachers: dict[str, np.ndarray]  # name -> [n, d_t]
    labels: np.ndarray  # [n] int32 in 0..C-1 (classes) or float32 (continuous)
    classes: np.ndarray | None  # original class values (classes) or None
    n_input: int
    rows: np.ndarray | None  # kept row indices when subsampled, else None
    notes: tuple[str, ...]
    dims: dict[str, tuple[int, int]]  # name -> (columns given, columns kept)


def _numeric(name: str, a) -> np.ndarray:
    """A NumPy view (memory maps stay memory maps) with a numeric dtype."""
    if a is None:
        raise ValueError(f"{name}: expected an array, got None")
    if isinstance(a, jax.Array):
        a = np.asarray(a)
    elif not isinstance(a, np.ndarray):
        try:
            a = np.asarray(a)
        except Exception as err:  # ragged lists and the like
            raise ValueError(f"{name}: cannot be read as an array ({err})") from None
    if a.dtype == object:
        raise ValueError(f"{name}: has dtype object (pickled Python objects); expected numbers")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"{name}: expected a numeric array, got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.complexfloating):
        raise ValueError(f"{name}: expected real numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name}: is empty (shape {a.shape})")
    return a


def _check_finite_chunked(name: str, a: np.ndarray) -> None:
    """Raises naming the first non-finite entry; reads a memory map in chunks of rows."""
    if not np.issubdtype(a.dtype, np.floating):
        return
    bad_total = 0
    first = None
    kind = None
    for start in range(0, a.shape[0], _CHUNK_ROWS):
        block = np.asarray(a[start : start + _CHUNK_ROWS])
        finite = np.isfinite(block)
        if not finite.all():
            bad = ~finite
            bad_total += int(bad.sum())
            if first is None:
                where = np.argwhere(bad)[0]
                first = (start + int(where[0]), *map(int, where[1:]))
                value = block[tuple(where)]
                kind = "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
    if bad_total:
        at = f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "")
        raise ValueError(
            f"{name}: contains {bad_total} non-finite value(s); the first is {kind} at {at}"
        )


def _representation(name: str, a) -> np.ndarray:
    a = _numeric(name, a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a matrix [n, d] (one row per example), got {a.shape}")
    return a


def _drop_columns(name: str, a: np.ndarray, notes: list[str]) -> np.ndarray:
    """Drops constant and duplicated columns (warning); raises if nothing is left."""
    d = a.shape[1]
    constant = np.all(a == a[:1], axis=0)
    keep = ~constant
    if keep.any():
        _, first = np.unique(a[:, keep].T, axis=0, return_index=True)
        idx = np.flatnonzero(keep)[np.sort(first)]
    else:
        idx = np.zeros(0, int)
    n_const = int(constant.sum())
    n_dup = int(keep.sum()) - len(idx)
    if len(idx) == 0:
        raise ValueError(f"{name}: every column is constant; there is no information to measure")
    if n_const or n_dup:
        parts = []
        if n_const:
            parts.append(f"{n_const} constant")
        if n_dup:
            parts.append(f"{n_dup} duplicated")
        msg = f"{name}: dropped {' and '.join(parts)} column(s) of {d}; {len(idx)} kept"
        warnings.warn(msg, InputWarning, stacklevel=4)
        notes.append(msg)
        return np.ascontiguousarray(a[:, idx])
    return a


def _labels(labels, label_kind: str, k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Returns labels ([n] int32 in 0..C-1 with the class values, or [n] float32 with None)."""
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        hint = " (one-hot? pass the class indices, e.g. y.argmax(1))" if y.ndim == 2 else ""
        raise ValueError(f"labels: expected a vector [n], got shape {y.shape}{hint}")
    if label_kind == "continuous":
        if y.dtype == bool:
            y = y.astype(np.float32)
        _check_finite_chunked("labels", y)
        if np.all(y == y[0]):
            raise ValueError("labels: every label is the same; there is nothing to predict")
        return y.astype(np.float32), None
    if np.issubdtype(y.dtype, np.floating):
        _check_finite_chunked("labels", y)
        frac = np.flatnonzero(y != np.round(y))
        if len(frac):
            raise ValueError(
                f"labels: label_kind classes needs integer class labels, got {len(frac)} "
                f"non-integer value(s), e.g. {y[frac[0]]:g} at row {int(frac[0])} "
                "(for continuous labels use label_kind='continuous' / --label-kind continuous)"
            )
        y = y.astype(np.int64)
    elif y.dtype == bool:
        y = y.astype(np.int64)
    values, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(values) < 2:
        raise ValueError(f"labels: need at least 2 classes, got only class {values[0]}")
    small = np.flatnonzero(counts < k + 1)
    if len(small):
        c = small[np.argmin(counts[small])]
        raise ValueError(
            f"labels: class {values[c]} has {counts[c]} row(s), and {len(small)} class(es) have "
            f"fewer than k + 1 = {k + 1}; the nearest-neighbour estimators need k + 1 rows per "
            "class (merge or drop small classes, or lower k)"
        )
    return inverse.reshape(-1).astype(np.int32), values


def prepare(
    student, labels, teachers, *, label_kind: str, k: int, max_rows: int, key: jax.Array
) -> Prepared:
    """Validates and cleans the inputs of ``check`` (see the module docstring)."""
    notes: list[str] = []
    if not hasattr(teachers, "items"):
        raise ValueError(
            f"teachers: expected a mapping name -> array, got {type(teachers).__name__}"
        )
    if len(teachers) == 0:
        raise ValueError("teachers: need at least one teacher")
    arrays = {"student": _representation("student", student)}
    for name, t in teachers.items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"teachers: names must be non-empty strings, got {name!r}")
        if name in ("student", "labels"):
            raise ValueError(f"teachers: {name!r} is reserved; use another teacher name")
        arrays[name] = _representation(f"teacher {name!r}", t)
    y = _numeric("labels", labels)
    rows = {
        ("student" if n == "student" else f"teacher {n!r}"): a.shape[0] for n, a in arrays.items()
    }
    rows["labels"] = y.shape[0]
    if len(set(rows.values())) > 1:
        desc = ", ".join(f"{n} has {r}" for n, r in rows.items())
        raise ValueError(f"rows: the inputs must have one row per example, but {desc}")
    n = y.shape[0]
    for name, a in arrays.items():
        _check_finite_chunked("student" if name == "student" else f"teacher {name!r}", a)

    kept = None
    if n > max_rows:
        kept = np.sort(np.asarray(jax.random.choice(key, n, (max_rows,), replace=False)))
        msg = (
            f"rows: using a random subsample of {max_rows} of the {n} rows (max_rows); "
            "raise max_rows (--max-rows) to use more"
        )
        warnings.warn(msg, InputWarning, stacklevel=3)
        notes.append(msg)
    dims = {}
    cleaned = {}
    for name, a in arrays.items():
        a = np.asarray(a[kept] if kept is not None else a, dtype=np.float32)
        label = "student" if name == "student" else f"teacher {name!r}"
        a2 = _drop_columns(label, a, notes)
        dims[name] = (a.shape[1], a2.shape[1])
        cleaned[name] = a2
    y = np.asarray(y[kept] if kept is not None else y)
    y, classes = _labels(y, label_kind, k)
    if y.shape[0] <= 4 * (k + 1):
        raise ValueError(
            f"rows: too few rows ({y.shape[0]}) for k={k}; need more than {4 * (k + 1)}"
        )
    student = cleaned.pop("student")
    return Prepared(
        student=student,
        teachers=cleaned,
        labels=y,
        classes=classes,
        n_input=n,
        rows=kept,
        notes=tuple(notes),
        dims=dims,
    )
