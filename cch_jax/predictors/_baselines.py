"""The naive rules, agreement (Stanton et al. 2021) and the pilot run."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax.predictors._defaults import DEFAULT_THRESHOLDS
from cch_jax.predictors._inputs import PredictorInputs


def always_core(inputs: PredictorInputs, key: jax.Array):
    """Always distill; score +1."""
    del inputs, key
    return "distill", 1.0, {}


def never_core(inputs: PredictorInputs, key: jax.Array):
    """Never distill; score -1."""
    del inputs, key
    return "dont", -1.0, {}


def teacher_better_core(inputs: PredictorInputs, key: jax.Array):
    """Distill iff teacher_accuracy > student_accuracy; score = their difference."""
    del key
    diff = inputs.teacher_accuracy - inputs.student_accuracy
    details = {
        "teacher_accuracy": inputs.teacher_accuracy,
        "student_accuracy": inputs.student_accuracy,
    }
    return ("distill" if diff > 0 else "dont"), float(diff), details


def prediction_kl(teacher_logits, student_logits, temperature) -> jax.Array:
    """Per-row KL(softmax(z_t / T) || softmax(z_s / T)) in nats, summed over classes.

    Args:
      teacher_logits: ``[m, k]`` teacher logits z_t.
      student_logits: ``[m, k]`` student logits z_s.
      temperature: T > 0.

    Returns:
      ``[m]`` KL divergences, nats.
    """
    log_t = jax.nn.log_softmax(jnp.asarray(teacher_logits) / temperature, axis=-1)
    log_s = jax.nn.log_softmax(jnp.asarray(student_logits) / temperature, axis=-1)
    return jnp.sum(jnp.exp(log_t) * (log_t - log_s), axis=-1)


def agreement_top1_core(inputs: PredictorInputs, key: jax.Array):
    """Score = fraction of rows where the argmaxes of teacher and probe student agree."""
    del key
    agree = float(
        np.mean(np.argmax(inputs.teacher_logits, 1) == np.argmax(inputs.student_logits, 1))
    )
    call = "distill" if agree > DEFAULT_THRESHOLDS["agreement_top1"] else "dont"
    return call, agree, {"agreement": agree}


def agreement_kl_core(inputs: PredictorInputs, key: jax.Array):
    """Score = -mean KL(teacher_T || student_T) at the input temperature, nats."""
    del key
    kl = float(
        jnp.mean(prediction_kl(inputs.teacher_logits, inputs.student_logits, inputs.temperature))
    )
    call = "distill" if -kl > DEFAULT_THRESHOLDS["agreement_kl"] else "dont"
    return call, -kl, {"mean_kl": kl}


def pilot_core(inputs: PredictorInputs, key: jax.Array):
    """Distill iff mean(pilot_delta) > 0; score = mean / (sd / sqrt(S) + 1e-9).

    sd is the sample standard deviation (ddof = 1) of the S per-seed deltas, 0 when S = 1 (then the
    score is mean * 1e9: only its sign is informative). The pilot's cost is ``pilot_cost_s``.
    """
    del key
    delta = inputs.pilot_delta
    s = delta.size
    mean = float(np.mean(delta))
    sd = float(np.std(delta, ddof=1)) if s > 1 else 0.0
    score = mean / (sd / np.sqrt(s) + 1e-9)
    details = {"mean_delta": mean, "sd_delta": sd, "seeds": float(s)}
    return ("distill" if mean > 0 else "dont"), float(score), details
