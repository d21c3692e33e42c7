"""Per-example knowledge-distillation losses (the caller reduces).

Classification (the paper's loss, Hinton et al. 2015 with weight lam on the KD term):

    L = (1 - lam) * CE(y, softmax(z_s)) + lam * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)),

with the KL summed over classes for each example, so that averaging over a batch is the caller's
single, explicit reduction (no 'mean over classes' scale bug is possible). The T^2 factor keeps the
gradient of the KD term on the same scale as the CE term as T grows.

Regression (the quadratic KD of ``theory/``, convex form with weight mu on the teacher):

    L = (1 - mu) * (y - yhat)^2 + mu * (t - yhat)^2.

Every function here takes ONE example (logits ``[k]``, a scalar label); batch with ``jax.vmap``
or use the ``batch_*`` helpers. Losses are in nats (natural logarithms).

References:
  Hinton, Vinyals and Dean (2015), "Distilling the knowledge in a neural network", arXiv 1503.02531.
  Xie, Xu and Sanguinetti (2025), arXiv 2510.13182, the KD objective of its experiments.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


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


def cross_entropy(logits: jax.Array, label: jax.Array) -> jax.Array:
    """CE(y, softmax(z)) in nats for one example: logits ``[k]``, integer label (scalar)."""
    log_p = jax.nn.log_softmax(logits)
    return -jnp.take(log_p, label, mode="clip")


def tempered_kl(student_logits: jax.Array, teacher_logits: jax.Array, temperature) -> jax.Array:
    """KL(softmax(z_t / T) || softmax(z_s / T)) in nats, summed over the ``[k]`` classes.

    Classes the teacher gives zero probability contribute zero (0 log 0 = 0).
    """
    log_q = jax.nn.log_softmax(student_logits / temperature)
    log_p = jax.nn.log_softmax(teacher_logits / temperature)
    p = jnp.exp(log_p)
    return jnp.sum(jnp.where(p > 0, p * (log_p - log_q), 0.0))


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
      kd_weight: lam in [0, 1], the weight on the KD term (may be a traced scalar).
      temperature: T > 0 (may be a traced scalar).

    Returns:
      :class:`LossTerms` with total = (1 - lam) CE + lam T^2 KL, supervised = CE and
      kd = T^2 KL (nats).
    """
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
    """(1 - lam) CE(y, z_s) + lam T^2 KL(softmax(z_t/T) || softmax(z_s/T)) for one example, nats.

    Args:
      student_logits: ``[k]``.
      teacher_logits: ``[k]`` (treated as constants).
      label: integer class.
      kd_weight: lam in [0, 1], the weight on the KD term (default 0.5, the paper's).
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
      kd_weight: mu in [0, 1], the weight on the teacher term.

    Returns:
      :class:`LossTerms` with total = (1 - mu)(y - yhat)^2 + mu (t - yhat)^2.
    """
    teacher_prediction = jax.lax.stop_gradient(teacher_prediction)
    sup = (target - prediction) ** 2
    kd = (teacher_prediction - prediction) ** 2
    return LossTerms(total=(1.0 - kd_weight) * sup + kd_weight * kd, supervised=sup, kd=kd)


def regression_kd_loss(
    prediction: jax.Array, teacher_prediction: jax.Array, target: jax.Array, *, kd_weight
) -> jax.Array:
    """(1 - mu)(y - yhat)^2 + mu (t - yhat)^2 for one example (theory/, convex form)."""
    return regression_kd_terms(prediction, teacher_prediction, target, kd_weight=kd_weight).total


def batch_classification_kd_terms(
    student_logits: jax.Array,
    teacher_logits: jax.Array,
    labels: jax.Array,
    *,
    kd_weight,
    temperature,
) -> LossTerms:
    """:func:`classification_kd_terms` over a batch: ``[n, k]`` logits, ``[n]`` labels."""
    fn = lambda s, t, y: classification_kd_terms(  # noqa: E731
        s, t, y, kd_weight=kd_weight, temperature=temperature
    )
    return jax.vmap(fn)(student_logits, teacher_logits, labels)


def batch_regression_kd_terms(
    predictions: jax.Array, teacher_predictions: jax.Array, targets: jax.Array, *, kd_weight
) -> LossTerms:
    """:func:`regression_kd_terms` over a batch: ``[n]`` each -> ``[n]`` each."""
    fn = lambda p, t, y: regression_kd_terms(p, t, y, kd_weight=kd_weight)  # noqa: E731
    return jax.vmap(fn)(predictions, teacher_predictions, targets)
