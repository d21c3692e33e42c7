"""Predictor inputs of a setting (criterion rows only) and the scoring of the predictors on them."""

from __future__ import annotations

import math
import time

import numpy as np

from cch_jax.bench import _datasets, _settings
from cch_jax.bench._gaussian import _gaussian_criterion, _gaussian_split
from cch_jax.bench._plan import Group, Plan
from cch_jax.bench._students import SettingRuns

# --------------------------------------------------------------------------------------------------
# Predictor inputs and scoring


def predictor_inputs(plan: Plan, group: Group, sr: SettingRuns, full: dict, teachers: dict | None):
    """The :class:`cch_jax.predictors.PredictorInputs` of one setting (criterion rows only).

    Classification: teacher representations and logits of the trained teacher; the probe student
    (no-KD student of seed 0, trained to convergence) representations and logits; accuracies as
    fractions on the criterion rows; the pilot's per-seed Δ as a fraction.
    Gaussian: teacher_reps = teacher_logits = t [m, 1], student_reps = x2 [m, d], the probe's
    predictions [m, 1]; no accuracies; the pilot's Δ of -MSE divided by Var(y) = 1 + sigma2 and
    clipped to [-1, 1] (the predictors take a bounded Δ).
    """
    from cch_jax import predictors

    st = sr.setting
    if plan.config.dataset == "gaussian":
        crit = _gaussian_criterion(plan, group)
        j = group.teachers.index(st.teacher)
        t = crit.t[j][:, None]
        n_fit, _ = _gaussian_split(plan, group.student.train_rows)
        var_y = 1.0 + _settings.GAUSSIAN_SIGMA2
        return predictors.PredictorInputs(
            teacher_reps=t,
            student_reps=np.asarray(full["probe_reps"]),
            labels=crit.y.astype(np.float64),
            num_classes=None,
            kd_weight=st.kd_weight,
            temperature=st.temperature,
            n_train=n_fit,
            teacher_logits=t,
            student_logits=np.asarray(full["probe_logits"]),
            pilot_delta=np.clip(sr.pilot_delta / var_y, -1.0, 1.0),
            pilot_cost_s=sr.pilot_seconds,
        )
    src = plan.source
    crit = src.rows(_datasets.CRITERION)
    i = list(teachers["names"]).index(st.teacher.name)
    width = int(teachers["rep_width"][i])
    return predictors.PredictorInputs(
        teacher_reps=teachers["crit_reps"][i][:, :width],
        student_reps=np.asarray(full["probe_reps"]),
        labels=src.y[crit],
        num_classes=src.num_classes,
        kd_weight=st.kd_weight,
        temperature=st.temperature,
        n_train=int(plan.sizes["fit"]),
        teacher_logits=teachers["crit_logits"][i],
        student_logits=np.asarray(full["probe_logits"]),
        teacher_accuracy=float(teachers["crit_accuracy"][i]) / 100.0,
        student_accuracy=float(full["probe_accuracy"]) / 100.0,
        pilot_delta=np.clip(sr.pilot_delta / 100.0, -1.0, 1.0),
        pilot_cost_s=sr.pilot_seconds,
    )


def _prediction_json(pred) -> dict:
    details = {}
    for k, v in dict(pred.details or {}).items():
        if isinstance(v, str | bool | int | float) or v is None:
            details[k] = v if not isinstance(v, float) or math.isfinite(v) else str(v)
        else:
            try:
                details[k] = float(v)
            except (TypeError, ValueError):
                details[k] = str(v)
    score = float(pred.score)
    return {
        "call": str(pred.call),
        "score": score if math.isfinite(score) else None,
        "cost_s": float(pred.cost_s),
        "details": details,
    }


def score_setting(predictors, inputs, names, key, errors: list[str]) -> dict:
    """``predictors.predict`` on one setting: all ``names`` in one call, or one by one when that
    call fails; a predictor that raises is recorded as 'abstain' with its error (and retried by
    the next scoring). Warnings raised by the predictors are not repeated per setting."""
    import warnings

    def one(todo):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predictors.predict(inputs, names=todo, key=key)

    try:
        return {n: _prediction_json(p) for n, p in one(tuple(names)).items()}
    except Exception:  # noqa: BLE001 -- find which predictor fails, keep the others
        pass
    out = {}
    for name in names:
        t0 = time.perf_counter()
        try:
            out.update({n: _prediction_json(p) for n, p in one((name,)).items()})
        except Exception as err:  # noqa: BLE001 -- a predictor's bug must not stop the benchmark
            text = f"{name}: {type(err).__name__}: {err}"
            errors.append(text)
            out[name] = {
                "call": "abstain",
                "score": None,
                "cost_s": time.perf_counter() - t0,
                "details": {"error": text},
                "error": True,
            }
    return out
