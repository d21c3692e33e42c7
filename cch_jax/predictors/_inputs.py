"""What every predictor reads (:class:`PredictorInputs`), returns (:class:`Prediction`) and is
(:class:`Predictor`).

Inputs are checked once, at construction, and stored as NumPy arrays: representations and logits as
float64 (the numerics downstream run in JAX at its default precision), labels as int64 class
indices or float64 targets. Every problem raises ``ValueError`` whose message starts with the
argument's name (``cch_jax._checks``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import numpy as np

from cch_jax import _checks

CALLS = ("distill", "dont", "abstain")
THRESHOLDS = ("natural", "fitted")
# Optional inputs that `fill_missing` derives from representations and labels (a linear probe).
FILLABLE = ("teacher_logits", "student_logits", "teacher_accuracy", "student_accuracy")
# What a predictor may list in `needs`: optional inputs, or "classes" (needs class labels).
NEEDS = (*FILLABLE, "pilot_delta", "pilot_cost_s", "classes")


def _matrix(name: str, x, *, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    """A finite real [rows, cols] float64 array (checked with the package's helpers)."""
    arr = np.asarray(_checks.as_float_array(name, x, ndims=(2,)), dtype=np.float64)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name}: expected a non-empty [m, d] array, got shape {arr.shape}")
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name}: mismatched number of rows: expected {rows}, got {arr.shape[0]}")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"{name}: expected {cols} columns, got shape {arr.shape}")
    return arr


def _fraction(name: str, value) -> float | None:
    if value is None:
        return None
    return _checks.check_real(name, value, low=0.0, high=1.0)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PredictorInputs:
    """What a user has before training a KD student; validated (and converted) at construction.

    Rows are the same held-out examples in every array. With ``num_classes=None`` the target is
    continuous (the theory's Gaussian family): ``labels`` are real numbers and ``teacher_logits``
    are the teacher's real-valued predictions [m, 1] (``student_logits`` likewise the probe
    student's).

    Attributes:
      teacher_reps: [m, d_t] teacher representations on the held-out rows (stored float64).
      student_reps: [m, d_s] representations of the no-KD "probe" student on the same rows.
      labels: [m] integer classes in [0, num_classes) (stored int64), or real targets (float64)
        when ``num_classes`` is None.
      num_classes: k >= 2, or None for a continuous target.
      kd_weight: w in (0, 1], the weight of the teacher term in (1 - w) CE + w T^2 KL (the theory's
        mu in (1 - mu)(y - yhat)^2 + mu (t - yhat)^2 for a continuous target).
      temperature: T > 0 of the KD loss.
      n_train: training rows the KD student will see (>= 1).
      teacher_logits: [m, k] teacher logits ([m, 1] predictions for a continuous target) or None.
      student_logits: [m, k] probe student's logits ([m, 1] predictions) or None.
      teacher_accuracy: teacher's held-out accuracy in [0, 1], or None.
      student_accuracy: no-KD (probe) student's held-out accuracy in [0, 1], or None.
      pilot_delta: [S] per-seed accuracy(KD) - accuracy(no KD) of a pilot run, or None.
      pilot_cost_s: seconds the pilot took (>= 0), or None.
    """

    teacher_reps: np.ndarray
    student_reps: np.ndarray
    labels: np.ndarray
    num_classes: int | None
    kd_weight: float
    temperature: float
    n_train: int
    teacher_logits: np.ndarray | None = None
    student_logits: np.ndarray | None = None
    teacher_accuracy: float | None = None
    student_accuracy: float | None = None
    pilot_delta: np.ndarray | None = None
    pilot_cost_s: float | None = None

    def __post_init__(self):
        put = lambda field, value: object.__setattr__(self, field, value)  # noqa: E731
        teacher = _matrix("teacher_reps", self.teacher_reps)
        m = teacher.shape[0]
        put("teacher_reps", teacher)
        put("student_reps", _matrix("student_reps", self.student_reps, rows=m))
        if self.num_classes is None:
            width = 1
            labels = np.asarray(_checks.as_float_array("labels", self.labels, ndims=(1,)))
            _checks.check_same_rows(teacher_reps=teacher, labels=labels)
            labels = labels.astype(np.float64)
            if m >= 2 and not np.std(labels) > 0:
                raise ValueError("labels: a continuous target must vary, got a constant")
        else:
            k = _checks.check_int("num_classes", self.num_classes, minimum=2)
            put("num_classes", k)
            width = k
            labels = self.labels
            if labels is None:
                raise ValueError("labels: expected an integer array, got None")
            labels = np.asarray(labels)
            if labels.ndim != 1:
                raise ValueError(f"labels: expected shape [m], got {labels.shape}")
            _checks.check_same_rows(teacher_reps=teacher, labels=labels)
            if np.issubdtype(labels.dtype, np.floating):
                _checks.check_finite("labels", labels)
                if not np.all(labels == np.round(labels)):
                    raise ValueError(
                        "labels: expected integer classes, got non-integer values (pass "
                        "num_classes=None for a continuous target)"
                    )
            elif not np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
                raise ValueError(f"labels: expected integer classes, got dtype {labels.dtype}")
            labels = labels.astype(np.int64)
            if labels.size and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(
                    f"labels: classes must lie in [0, {k}), got values in "
                    f"[{labels.min()}, {labels.max()}]"
                )
        put("labels", labels)
        put(
            "kd_weight",
            _checks.check_real("kd_weight", self.kd_weight, low=0.0, high=1.0, low_open=True),
        )
        put(
            "temperature",
            _checks.check_real("temperature", self.temperature, low=0.0, low_open=True),
        )
        put("n_train", _checks.check_int("n_train", self.n_train, minimum=1))
        for field in ("teacher_logits", "student_logits"):
            value = getattr(self, field)
            if value is not None:
                put(field, _matrix(field, value, rows=m, cols=width))
        for field in ("teacher_accuracy", "student_accuracy"):
            put(field, _fraction(field, getattr(self, field)))
        if self.pilot_delta is not None:
            delta = np.asarray(_checks.as_float_array("pilot_delta", self.pilot_delta, ndims=(1,)))
            if delta.size < 1:
                raise ValueError("pilot_delta: expected at least one seed, got shape (0,)")
            _checks.check_scalar_range("pilot_delta", delta, low=-1.0, high=1.0)
            put("pilot_delta", delta.astype(np.float64))
        if self.pilot_cost_s is not None:
            put("pilot_cost_s", _checks.check_real("pilot_cost_s", self.pilot_cost_s, low=0.0))

    @property
    def rows(self) -> int:
        """m, the number of held-out rows."""
        return int(self.labels.shape[0])

    @property
    def continuous(self) -> bool:
        """True for a continuous target (``num_classes`` is None)."""
        return self.num_classes is None

    def has(self, need: str) -> bool:
        """Whether the requirement ``need`` (an entry of ``Predictor.needs``) is met.

        ``"classes"`` is met by class labels; a fillable input (logits, accuracies) is always met,
        since :func:`fill_missing` derives it from representations and labels (an accuracy only
        with classes); ``pilot_delta`` and ``pilot_cost_s`` only when given.
        """
        if need == "classes":
            return not self.continuous
        if need in ("teacher_accuracy", "student_accuracy"):
            return getattr(self, need) is not None or not self.continuous
        if need in FILLABLE:
            return True
        return getattr(self, need) is not None


class Prediction(NamedTuple):
    """One predictor's answer to "should I distill?".

    Attributes:
      call: ``"distill"``, ``"dont"`` or ``"abstain"``.
      score: higher = more in favour of distilling (each predictor documents its convention).
      cost_s: wall seconds the predictor took (for ``pilot``: the pilot's training time), JAX
        compilation included on a first call at new shapes; under :func:`predict` it includes
        the linear-probe fill of the inputs it used.
      details: predictor-specific diagnostics (JSON-ready floats and strings).
    """

    call: str
    score: float
    cost_s: float
    details: dict


@dataclasses.dataclass(frozen=True)
class Predictor:
    """A named rule "should I distill?", as kept in ``REGISTRY``.

    Attributes:
      name: the registry key.
      description: one line saying what it computes and its sign convention.
      needs: requirements from :data:`NEEDS` (optional inputs it reads, or ``"classes"``); logits
        and accuracies are filled by a linear probe when absent (see :func:`fill_missing`).
      threshold: ``"natural"`` (the call comes from a fixed rule) or ``"fitted"`` (call =
        score > threshold, with a documented default threshold that the leaderboard replaces by
        one it fits).
      fn: ``(inputs, key) -> Prediction``; it fills any missing logits itself.
      default_threshold: the threshold of a ``"fitted"`` predictor's own call (None if natural).
      key_name: the name whose key :func:`predict` gives it (None: its own name). Predictors that
        read one estimate name one key, so that they read the same estimate (``cch_ksg`` and
        ``cch_ksg_sign`` both draw ``cch_ksg``'s key: one check, two calls).
    """

    name: str
    description: str
    needs: tuple[str, ...]
    threshold: str
    fn: Callable[[PredictorInputs, jax.Array], Prediction]
    default_threshold: float | None = None
    key_name: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a non-empty string, got {self.name!r}")
        needs = tuple(self.needs)
        for need in needs:
            _checks.check_choice("needs", need, NEEDS)
        object.__setattr__(self, "needs", needs)
        _checks.check_choice("threshold", self.threshold, THRESHOLDS)
        if not callable(self.fn):
            raise ValueError(
                f"fn: expected a callable (inputs, key) -> Prediction, got {self.fn!r}"
            )
        if self.threshold == "fitted" and self.default_threshold is None:
            raise ValueError("default_threshold: a 'fitted' predictor needs a default threshold")
        if self.key_name is not None and (not isinstance(self.key_name, str) or not self.key_name):
            raise ValueError(
                f"key_name: expected a non-empty string or None, got {self.key_name!r}"
            )

    def available(self, inputs: PredictorInputs) -> bool:
        """Whether every entry of ``needs`` is met by ``inputs``."""
        return all(inputs.has(need) for need in self.needs)


def check_inputs(inputs) -> PredictorInputs:
    """``inputs`` must be a :class:`PredictorInputs` (a ValueError naming ``inputs`` otherwise)."""
    return _checks.check_instance("inputs", inputs, PredictorInputs)


def require(inputs: PredictorInputs, predictor: str, needs: tuple[str, ...]) -> None:
    """Raises a ValueError naming the first unmet requirement of ``predictor``."""
    for need in needs:
        if not inputs.has(need):
            what = "class labels (num_classes)" if need == "classes" else need
            raise ValueError(f"{need}: predictor {predictor!r} needs {what}, which is missing")
