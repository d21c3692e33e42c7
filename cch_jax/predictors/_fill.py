"""Filling the optional logits and accuracies of :class:`PredictorInputs` from representations."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable

import jax
import numpy as np

from cch_jax import _checks
from cch_jax.predictors._inputs import FILLABLE, PredictorInputs, check_inputs
from cch_jax.predictors._probe import accuracy, linear_probe_logits

_SIDES = ("teacher", "student")


def fill_missing(
    inputs: PredictorInputs, *, key: jax.Array, fields: Iterable[str] | None = None
) -> tuple[PredictorInputs, dict[str, float]]:
    """Fills absent logits and accuracies with a cross-fitted linear probe.

    ``teacher_logits`` come from :func:`linear_probe_logits` on ``teacher_reps`` and the labels,
    ``student_logits`` likewise on ``student_reps`` (the same fold assignment for both); an absent
    accuracy is the argmax accuracy of that side's (given or filled) logits. Fields already given
    are kept. With a continuous target the logits are ridge predictions [m, 1] and accuracies stay
    None (they are undefined).

    Args:
      inputs: the :class:`PredictorInputs`.
      key: a ``jax.random.key`` (the probes' fold assignment).
      fields: which of ``FILLABLE`` to fill (default all four); an accuracy implies its logits.

    Returns:
      (inputs with the fields filled, {side: wall seconds}) where side is ``"teacher"`` or
      ``"student"`` and is listed only when one of its fields was absent and filled (an accuracy
      taken from given logits costs ~0 s).
    """
    check_inputs(inputs)
    _checks.check_key("key", key)
    fields = FILLABLE if fields is None else tuple(fields)
    for f in fields:
        _checks.check_choice("fields", f, FILLABLE)
    changes, costs = {}, {}
    for side in _SIDES:
        want_logits = f"{side}_logits" in fields
        want_acc = f"{side}_accuracy" in fields and not inputs.continuous
        need_acc = want_acc and getattr(inputs, f"{side}_accuracy") is None
        logits = getattr(inputs, f"{side}_logits")
        if logits is None and (want_logits or need_acc):
            t0 = time.perf_counter()
            logits = np.asarray(
                linear_probe_logits(
                    getattr(inputs, f"{side}_reps"),
                    inputs.labels,
                    num_classes=inputs.num_classes,
                    key=key,
                ),
                dtype=np.float64,
            )
            costs[side] = time.perf_counter() - t0
            changes[f"{side}_logits"] = logits
        if need_acc:
            t0 = time.perf_counter()
            changes[f"{side}_accuracy"] = accuracy(logits, inputs.labels)
            costs[side] = costs.get(side, 0.0) + time.perf_counter() - t0
    if not changes:
        return inputs, costs
    return dataclasses.replace(inputs, **changes), costs
