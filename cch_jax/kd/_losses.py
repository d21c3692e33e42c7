"""Per-example knowledge-distillation losses (the caller reduces).

Classification (the paper's loss, Hinton et al. 2015 with weight kd_weight on the KD term):

    L = (1 - w) CE(y, softmax(z_s)) + w T^2 KL(softmax(z_t / T) || softmax(z_s / T)), w = kd_weight,

with the KL summed over classes for each example, so that averaging over a batch is the caller's
single, explicit reduction (no 'mean over classes' scale bug is possible). The T^2 factor keeps the
gradient of the KD term on the same scale as the CE term as T grows.

Regression (the quadratic KD of ``theory/``, convex form with weight kd_weight on the teacher):

    L = (1 - kd_weight) (y - yhat)^2 + kd_weight (t - yhat)^2.

Every function here takes ONE example (logits ``[k]``, a scalar label); batch with ``jax.vmap``
or use the ``batch_*`` helpers. Losses are in nats (natural logarithms).

Input checks. Called eagerly on concrete arrays, every function checks its arguments and raises a
``ValueError`` naming the argument: temperature <= 0, kd_weight outside [0, 1], a label outside
[0, k) or not an integer, NaN/infinite logits or targets, student and teacher logits of different
shapes. Under ``jit``/``vmap``/``grad`` the values are unknown and nothing can raise: shapes are
still checked at trace time, but an out-of-range label is clipped to the nearest class and a NaN
teacher gives a NaN loss -- validate the data once before training (``kd.kd_data`` does).

References:
  Hinton, Vinyals and Dean (2015), "Distilling the knowledge in a neural network", arXiv 1503.02531.
  Xie, Xu and Sanguinetti (2025), arXiv 2510.13182, the KD objective of its experiments.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks


class LossTerms(NamedTuple):
    """The parts of one example's KD loss (each a scalar, or ``[n]`` when batched).

    Attributes:
      total: the weighted loss that is minimised.
      supervised: the label term, CE(y, student) in nats or the squared error (y - yhat)^2.
      kd: the distillation term, T^2 KL(teacher_T || student_T) in nats or (t - yhat)^2.
    """

    total: jax.Array
    supervised: jax.Array
    kd: jax.Array


def _check_logits(name: str, logits, *, ndim: int) -> None:
    if np.ndim(logits) != ndim:
        want = "[k]" if ndim == 1 else "[n, k]"
        raise ValueError(f"{name}: expected {want} logits, got shape {np.shape(logits)}")
    if np.shape(logits)[-1] < 1:
        raise ValueError(f"{name}: expected at least one class, got shape {np.shape(logits)}")
    _checks.check_finite(name, logits)


def _check_labels(name: str, label, num_classes: int) -> None:
    if _checks.is_traced(label):
        return
    arr = np.asarray(label)
    if not (np.issubdtype(arr.dtype, np.integer) and arr.dtype != np.bool_):
        raise ValueError(f"{name}: expected integer class labels, got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= num_classes)
    if bad.any():
        raise ValueError(
            f"{name}: must be in [0, {num_classes}) (the number of logits), got "
            f"{int(arr[bad].ravel()[0])}"
        )


def _check_same_shape(name: str, value, other_name: str, other) -> None:
    if np.shape(value) != np.shape(other):
        raise ValueError(
            f"{name}: expected the shape of {other_name} {np.shape(other)}, got {np.shape(value)}"
        )


_NO_TEMPERATURE = object()


def _check_weights(kd_weight, temperature=_NO_TEMPERATURE) -> None:
    _checks.check_scalar_range("kd_weight", kd_weight, low=0.0, high=1.0)
    if temperature is not _NO_TEMPERATURE:
        _checks.check_scalar_range("temperature", temperature, low=0.0, low_inclusive=False)


def _check_classification(student_logits, teacher_logits, labels, kd_weight, temperature, ndim):
    _check_logits("student_logits", student_logits, ndim=ndim)
    _check_logits("teacher_logits", teacher_logits, ndim=ndim)
    _check_same_shape("teacher_logits", teacher_logits, "student_logits", student_logits)
    if np.shape(labels) != np.shape(student_logits)[:-1]:
        raise ValueError(
            f"label{'s' if ndim == 2 else ''}: expected shape {np.shape(student_logits)[:-1]}, "
            f"got {np.shape(labels)}"
        )
    _check_labels("label" if ndim == 1 else "labels", labels, np.shape(student_logits)[-1])
    _check_weights(kd_weight, temperature)


def _check_regression(predictions, teacher_predictions, targets, kd_weight, ndim):
    names = ("prediction", "teacher_prediction", "target")
    if ndim == 1:
        names = ("predictions", "teacher_predictions", "targets")
    for name, value in zip(names, (predictions, teacher_predictions, targets), strict=True):
        if np.ndim(value) != ndim:
            raise ValueError(
                f"{name}: expected {'a scalar' if ndim == 0 else 'shape [n]'}, got shape "
                f"{np.shape(value)}"
            )
        _checks.check_finite(name, value)
    _check_same_shape(names[1], teacher_predictions, names[0], predictions)
    _check_same_shape(names[2], targets, names[0], predictions)
    _check_weights(kd_weight)


def cross_entropy(logits: jax.Array, label: jax.Array) -> jax.Array:
    """CE(y, softmax(z)) in nats for one example: logits ``[k]``, integer label (scalar).

    A concrete label outside [0, k) is an error; a traced one is clipped to the nearest class.

    Args:
      logits: ``[k]`` finite logits z.
      label: integer class y in [0, k) (scalar).

    Returns:
      A scalar, -log softmax(z)_y in nats.
    """
    _check_logits("logits", logits, ndim=1)
    if np.ndim(label) != 0:
        raise ValueError(f"label: expected a scalar class index, got shape {np.shape(label)}")
    _check_labels("label", label, np.shape(logits)[-1])
    log_p = jax.nn.log_softmax(logits)
    return -jnp.take(log_p, label, mode="clip")


def tempered_kl(student_logits: jax.Array, teacher_logits: jax.Array, temperature) -> jax.Array:
    """KL(softmax(z_t / T) || softmax(z_s / T)) in nats, summed over the ``[k]`` classes.

    Classes the teacher gives zero probability contribute zero (0 log 0 = 0).

    Args:
      student_logits: ``[k]`` student logits z_s.
      teacher_logits: ``[k]`` teacher logits z_t, the same size.
      temperature: T > 0 (may be a traced scalar).

    Returns:
      A scalar >= 0 in nats (without the T^2 factor of the KD loss).
    """
    _check_logits("student_logits", student_logits, ndim=1)
    _check_logits("teacher_logits", teacher_logits, ndim=1)
    _check_same_shape("teacher_logits", teacher_logits, "student_logits", student_logits)
    _checks.check_scalar_range("temperature", temperature, low=0.0, low_inclusive=False)
    log_q = jax.nn.log_softmax(student_logits / temperature)
    log_p = jax.nn.log_softmax(teacher_logits / temperature)
    p = jnp.exp(log_p)
    # 0 log 0 = 0 where the teacher gives a class no mass; a NaN teacher still gives NaN
    return jnp.sum(jnp.where(p == 0, 0.0, p * (log_p - log_q)))


def classification_kd_terms(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    label: jax.Array,
    *,
    kd_weight,
    temperature,
) -> LossTerms:
    """The classification KD loss of one example, with its parts.

    Args:
      student_logits: ``[k]`` student logits z_s.
      teacher_logits: ``[k]`` frozen teacher logits z_t (no gradient flows into them).
      label: integer class in [0, k).
      kd_weight: in [0, 1], the weight on the KD term (may be a traced scalar).
      temperature: T > 0 (may be a traced scalar).

    Returns:
      :class:`LossTerms` with total = (1 - kd_weight) CE + kd_weight T^2 KL, supervised = CE and
      kd = T^2 KL (nats).
    """
    _check_classification(student_logits, teacher_logits, label, kd_weight, temperature, ndim=1)
    teacher_logits = jax.lax.stop_gradient(teacher_logits)
    ce = cross_entropy(student_logits, label)
    kd = temperature**2 * tempered_kl(student_logits, teacher_logits, temperature)
    total = (1.0 - kd_weight) * ce + kd_weight * kd
    return LossTerms(total=total, supervised=ce, kd=kd)


def classification_kd_loss(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    label: jax.Array,
    *,
    kd_weight=0.5,
    temperature=3.0,
) -> jax.Array:
    """(1 - w) CE(y, z_s) + w T^2 KL(softmax(z_t/T) || softmax(z_s/T)), w = kd_weight, in nats.

    Args:
      student_logits: ``[k]``.
      teacher_logits: ``[k]`` (treated as constants).
      label: integer class.
      kd_weight: in [0, 1], the weight on the KD term (default 0.5, the paper's).
      temperature: T > 0 (default 3, the paper's).

    Returns:
      A scalar.
    """
    return classification_kd_terms(
        student_logits, teacher_logits, label, kd_weight=kd_weight, temperature=temperature
    ).total


def regression_kd_terms(
    prediction: jax.Array, teacher_prediction: jax.Array, target: jax.Array, *, kd_weight
) -> LossTerms:
    """The quadratic KD loss of one example, with its parts.

    Args:
      prediction: scalar student prediction yhat.
      teacher_prediction: scalar frozen teacher prediction t.
      target: scalar label y.
      kd_weight: in [0, 1], the weight on the teacher term.

    Returns:
      :class:`LossTerms` with total = (1 - kd_weight)(y - yhat)^2 + kd_weight (t - yhat)^2.
    """
    _check_regression(prediction, teacher_prediction, target, kd_weight, ndim=0)
    teacher_prediction = jax.lax.stop_gradient(teacher_prediction)
    sup = (target - prediction) ** 2
    kd = (teacher_prediction - prediction) ** 2
    return LossTerms(total=(1.0 - kd_weight) * sup + kd_weight * kd, supervised=sup, kd=kd)


def regression_kd_loss(
    prediction: jax.Array, teacher_prediction: jax.Array, target: jax.Array, *, kd_weight
) -> jax.Array:
    """(1 - kd_weight)(y - yhat)^2 + kd_weight (t - yhat)^2 for one example (theory/'s form).

    Args:
      prediction: scalar student prediction yhat.
      teacher_prediction: scalar frozen teacher prediction t (treated as a constant).
      target: scalar label y.
      kd_weight: in [0, 1], the weight on the teacher term.

    Returns:
      A scalar, in squared units of y.
    """
    return regression_kd_terms(prediction, teacher_prediction, target, kd_weight=kd_weight).total


def batch_classification_kd_terms(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    labels: jax.Array,
    *,
    kd_weight,
    temperature,
) -> LossTerms:
    """:func:`classification_kd_terms` over a batch: ``[n, k]`` logits, ``[n]`` labels.

    Args:
      student_logits: ``[n, k]`` student logits.
      teacher_logits: ``[n, k]`` frozen teacher logits (treated as constants).
      labels: ``[n]`` integer classes in [0, k).
      kd_weight: in [0, 1], the weight on the KD term (a scalar, may be traced).
      temperature: T > 0 (a scalar, may be traced).

    Returns:
      :class:`LossTerms` of ``[n]`` per-example values in nats (the caller reduces).
    """
    _check_classification(student_logits, teacher_logits, labels, kd_weight, temperature, ndim=2)
    fn = lambda s, t, y: classification_kd_terms(  # noqa: E731
        s, t, y, kd_weight=kd_weight, temperature=temperature
    )
    return jax.vmap(fn)(student_logits, teacher_logits, labels)


def batch_regression_kd_terms(
    predictions: jax.Array, teacher_predictions: jax.Array, targets: jax.Array, *, kd_weight
) -> LossTerms:
    """:func:`regression_kd_terms` over a batch: ``[n]`` each -> ``[n]`` each.

    Args:
      predictions: ``[n]`` student predictions yhat.
      teacher_predictions: ``[n]`` frozen teacher predictions t (treated as constants).
      targets: ``[n]`` labels y.
      kd_weight: in [0, 1], the weight on the teacher term (a scalar, may be traced).

    Returns:
      :class:`LossTerms` of ``[n]`` per-example squared errors (the caller reduces).
    """
    _check_regression(predictions, teacher_predictions, targets, kd_weight, ndim=1)
    fn = lambda p, t, y: regression_kd_terms(p, t, y, kd_weight=kd_weight)  # noqa: E731
    return jax.vmap(fn)(predictions, teacher_predictions, targets)
