"""A user's paired data for ``cch trial``: one student view, labels, and one or more teachers.

The file is an ``.npz`` (``numpy.savez``) with these arrays, n rows each (``docs/trial.md``):

* ``x_student`` ``[n, ...]``: the student's inputs (features, or images; flattened for the MLP);
* ``y`` ``[n]``: integer class labels in ``0 .. C-1`` (integers, or floats with whole values);
* one or more teachers, each either
  - ``x_teacher`` (named ``teacher``) or ``x_teacher_NAME``: ``[n, ...]`` the inputs of a view to
    train a teacher on, or
  - ``logits_teacher`` / ``logits_teacher_NAME``: ``[n, C]`` the outputs of a teacher the user
    already has (its logits; C is then the number of classes);
* ``train`` (optional) ``[n]`` booleans: True for rows to train on (fit and validation); the
  others are held out to score the students. Without it the trial holds out a stratified share.

Every problem is a ``ValueError`` whose message starts with the array's key: a missing or unknown
key, a teacher given twice, mismatched rows, non-integer or negative labels, NaN or infinite
values, logits whose width does not cover the labels. Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from cch_jax import _checks

STUDENT_KEY = "x_student"
LABELS_KEY = "y"
TRAIN_KEY = "train"
VIEW_PREFIX = "x_teacher"
LOGITS_PREFIX = "logits_teacher"
DEFAULT_TEACHER = "teacher"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class PairedFile(NamedTuple):
    """A checked paired data file (host arrays).

    Attributes:
      x_student: ``[n, ...]`` float32 student inputs.
      labels: ``[n]`` int32 classes in ``0 .. num_classes - 1``.
      num_classes: C, the logits' width when a teacher gives logits, else ``max(labels) + 1``.
      teacher_views: teacher name -> ``[n, ...]`` float32 inputs to train a teacher on.
      teacher_logits: teacher name -> ``[n, C]`` float32 outputs of a teacher the user has.
      train: ``[n]`` bool (True: a training row) or None (the trial holds out rows itself).
      source: the file it was read from ('' when built from arrays).
    """

    x_student: np.ndarray
    labels: np.ndarray
    num_classes: int
    teacher_views: dict[str, np.ndarray]
    teacher_logits: dict[str, np.ndarray]
    train: np.ndarray | None
    source: str

    @property
    def teacher_names(self) -> tuple[str, ...]:
        """Every teacher's name: the views first, then the logits, each in file order."""
        return (*self.teacher_views, *self.teacher_logits)

    @property
    def num_rows(self) -> int:
        """n, the number of rows."""
        return int(self.labels.shape[0])

    def key_of(self, teacher: str) -> str:
        """The file key that holds ``teacher`` (e.g. ``'x_teacher_rgb'``)."""
        prefix = VIEW_PREFIX if teacher in self.teacher_views else LOGITS_PREFIX
        return prefix if teacher == DEFAULT_TEACHER else f"{prefix}_{teacher}"


def _teacher_name(key: str) -> tuple[str, str] | None:
    """(kind, name) of a teacher key, kind 'view' or 'logits'; None for other keys."""
    for prefix, kind in ((VIEW_PREFIX, "view"), (LOGITS_PREFIX, "logits")):
        if key == prefix:
            return kind, DEFAULT_TEACHER
        if key.startswith(prefix + "_"):
            return kind, key[len(prefix) + 1 :]
    return None


def _inputs(key: str, x) -> np.ndarray:
    """``[n, ...]`` real numbers -> float32, finite."""
    x = np.asarray(x)
    if x.dtype != np.bool_ and (
        not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating)
    ):
        raise ValueError(f"{key}: expected real numbers, got dtype {x.dtype}")
    if x.ndim < 2 or 0 in x.shape[1:]:
        raise ValueError(
            f"{key}: expected [n, d] (or [n, ...]) inputs, one row per example, got shape "
            f"{x.shape} (save one feature as x[:, None])"
        )
    x = x.astype(np.float32)
    _checks.check_finite(key, x)
    return x


def _labels(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{LABELS_KEY}: expected [n] class labels, got shape {y.shape}")
    if y.dtype == np.bool_:
        return y.astype(np.int32)
    if np.issubdtype(y.dtype, np.floating):
        _checks.check_finite(LABELS_KEY, y)
        whole = y == np.round(y)
        if not whole.all():
            i = int(np.argmin(whole))
            raise ValueError(
                f"{LABELS_KEY}: expected integer class labels, got {y[i]} at row {i} (dtype "
                f"{y.dtype}); KD trials are for classes"
            )
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{LABELS_KEY}: expected integer class labels, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        i = int(np.argmin(y))
        raise ValueError(f"{LABELS_KEY}: classes must be 0 .. C-1, got {y[i]} at row {i}")
    if y.size and y.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{LABELS_KEY}: class {y.max()} is too large; use 0 .. C-1")
    return y.astype(np.int32)


def paired_file(arrays: Mapping[str, object], *, source: str = "") -> PairedFile:
    """Checks arrays laid out like the file (module docstring) and returns a :class:`PairedFile`.

    Args:
      arrays: key -> array, the keys of the file layout (``x_student``, ``y``, ``x_teacher[_NAME]``,
        ``logits_teacher[_NAME]``, ``train``).
      source: where the arrays came from, kept in the result.

    Returns:
      :class:`PairedFile`.

    Raises:
      ValueError: starting with the offending key.
    """
    if not isinstance(arrays, Mapping):
        raise ValueError(f"arrays: expected a mapping of key -> array, got {type(arrays).__name__}")
    for k in (STUDENT_KEY, LABELS_KEY):
        if k not in arrays:
            raise ValueError(
                f"{k}: missing (the file holds {', '.join(sorted(arrays)) or 'nothing'})"
            )
    views: dict[str, np.ndarray] = {}
    logits: dict[str, np.ndarray] = {}
    owner: dict[str, str] = {}
    for key in arrays:
        if key in (STUDENT_KEY, LABELS_KEY, TRAIN_KEY):
            continue
        found = _teacher_name(key)
        if found is None:
            raise ValueError(
                f"{key}: unknown array; expected x_student, y, train, x_teacher[_NAME] or "
                f"logits_teacher[_NAME]"
            )
        kind, name = found
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"{key}: teacher name {name!r} must be letters, digits, '_', '.' or '-' (at most "
                f"64, starting with a letter or digit)"
            )
        if name in owner:
            raise ValueError(
                f"{key}: teacher {name!r} is given twice ({owner[name]} too); keep one"
            )
        owner[name] = key
        if kind == "view":
            views[name] = _inputs(key, arrays[key])
        else:
            z = _inputs(key, arrays[key])
            if z.ndim != 2:
                raise ValueError(f"{key}: expected [n, C] logits, got shape {z.shape}")
            logits[name] = z
    if not owner:
        raise ValueError(
            f"{VIEW_PREFIX}: no teacher; add x_teacher (or x_teacher_NAME, a view to train a "
            f"teacher on) or logits_teacher_NAME (a teacher's [n, C] outputs)"
        )
    x_student = _inputs(STUDENT_KEY, arrays[STUDENT_KEY])
    labels = _labels(arrays[LABELS_KEY])
    train = None
    if TRAIN_KEY in arrays:
        train = np.asarray(arrays[TRAIN_KEY])
        if train.dtype != np.bool_:
            if not np.issubdtype(train.dtype, np.integer) or not np.isin(train, (0, 1)).all():
                raise ValueError(
                    f"{TRAIN_KEY}: expected a boolean mask (True: a training row), got dtype "
                    f"{train.dtype}"
                )
            train = train.astype(bool)
        if train.ndim != 1:
            raise ValueError(f"{TRAIN_KEY}: expected an [n] boolean mask, got shape {train.shape}")
    rows = {STUDENT_KEY: x_student, LABELS_KEY: labels}
    rows.update({owner[k]: v for k, v in views.items()})
    rows.update({owner[k]: v for k, v in logits.items()})
    if train is not None:
        rows[TRAIN_KEY] = train
    n = _checks.check_same_rows(**rows)
    if n < 1:
        raise ValueError(f"{STUDENT_KEY}: the file has no rows")
    num_classes = int(labels.max()) + 1
    widths = {owner[k]: v.shape[1] for k, v in logits.items()}
    if widths:
        first, width = next(iter(widths.items()))
        for key, w in widths.items():
            if w != width:
                raise ValueError(f"{key}: {w} logits per row, but {first} has {width}")
        if width < num_classes:
            raise ValueError(
                f"{first}: {width} logits per row, but {LABELS_KEY} has class {num_classes - 1}; "
                f"the logits need one column per class 0 .. C-1"
            )
        num_classes = width
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{LABELS_KEY}: expected at least 2 classes, got {len(np.unique(labels))}")
    return PairedFile(x_student, labels, num_classes, views, logits, train, source)


def load_paired_file(path) -> PairedFile:
    """Reads and checks a paired ``.npz`` file (the layout in the module docstring).

    Args:
      path: the ``.npz`` file (str or ``os.PathLike``).

    Returns:
      :class:`PairedFile` (``source`` is the path).

    Raises:
      ValueError: starting with ``path`` for an unreadable file, else with the offending key.
    """
    if path is None or not str(path).strip():
        raise ValueError("path: expected a .npz file, got nothing")
    p = Path(path).expanduser()
    if not p.is_file():
        raise ValueError(f"path: no such file {str(p)!r}")
    if not zipfile.is_zipfile(p):
        raise ValueError(f"path: {str(p)!r} is not a .npz file (save it with numpy.savez)")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except ValueError as err:
        raise ValueError(
            f"path: {str(p)!r} holds object arrays, which are not read ({err})"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"path: {str(p)!r} is not a readable .npz file ({err})") from None
    return paired_file(arrays, source=str(p))
