"""Predictor inputs of a setting (criterion rows only) and the scoring of the predictors on them."""

from __future__ import annotations

import math
import time

import numpy as np

from cch_jax.bench import _datasets, _settings
from cch_jax.bench._gaussian import _gaussian_criterion, _gaussian_split
from cch_jax.bench._plan import Group, Plan
from cch_jax.bench._students import GroupRuns, SettingRuns, Teachers

# --------------------------------------------------------------------------------------------------
# Predictor inputs and scoring


def predictor_inputs(
    plan: Plan, group: Group, sr: SettingRuns, full: GroupRuns, teachers: Teachers | None
):
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
            student_reps=np.asarray(full.probe_reps),
            labels=crit.y.astype(np.float64),
            num_classes=None,
            kd_weight=st.kd_weight,
            temperature=st.temperature,
            n_train=n_fit,
            teacher_logits=t,
            student_logits=np.asarray(full.probe_logits),
            pilot_delta=np.clip(sr.pilot_delta / var_y, -1.0, 1.0),
            pilot_cost_s=sr.pilot_seconds,
        )
    src = plan.source
    crit = src.rows(_datasets.CRITERION)
    i = teachers.index(st.teacher.name)
    width = int(teachers.rep_width[i])
    return predictors.PredictorInputs(
        teacher_reps=teachers.crit_reps[i][:, :width],
        student_reps=np.asarray(full.probe_reps),
        labels=src.y[crit],
        num_classes=src.num_classes,
        kd_weight=st.kd_weight,
        temperature=st.temperature,
        n_train=int(plan.sizes["fit"]),
        teacher_logits=teachers.crit_logits[i],
        student_logits=np.asarray(full.probe_logits),
        teacher_accuracy=float(teachers.crit_accuracy[i]) / 100.0,
        student_accuracy=full.probe_accuracy / 100.0,
        pilot_delta=np.clip(sr.pilot_delta / 100.0, -1.0, 1.0),
        pilot_cost_s=sr.pilot_seconds,
    )


class SharedScores:
    """Predictions of one (student, teacher) pair that its other settings reuse.

    The settings of a pair differ only in the KD loss's settings (kd_weight, temperature) and in
    their pilot runs. A predictor reads those as ``predictors.PLANNED`` lists (checked by
    perturbation in ``tests/test_advise.py``) and, for the pilot's, as the ``pilot_delta`` of its
    ``needs``; one that reads the pilot's is never shared, any other is shared between the
    settings of a pair that agree on every input it reads. A stand-in predictors module without
    ``PLANNED`` shares nothing.
    """

    def __init__(self, predictors):
        self._registry = predictors.REGISTRY
        self._planned = getattr(predictors, "PLANNED", None)
        self._kept: dict[tuple, dict] = {}

    def _key(self, pair, name: str, inputs) -> tuple | None:
        if self._planned is None or "pilot_delta" in getattr(self._registry[name], "needs", ()):
            return None
        reads = self._planned.get(name, ())
        return (pair, name, tuple((f, getattr(inputs, f)) for f in reads))

    def get(self, pair, name: str, inputs) -> dict | None:
        """The pair's prediction of ``name`` made on inputs that agree with ``inputs``, or None."""
        key = self._key(pair, name, inputs)
        return None if key is None else self._kept.get(key)

    def put(self, pair, name: str, inputs, prediction: dict, setting: str) -> None:
        """Keeps ``prediction`` (scored on ``setting``) for the pair's other settings; a failed
        one (flagged ``error``) is not kept."""
        key = self._key(pair, name, inputs)
        if key is not None and not prediction.get("error"):
            details = dict(prediction["details"], scored_on=setting)
            self._kept.setdefault(key, dict(prediction, details=details))


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
    """``predictors.predict`` on one setting.

    A predictor whose requirements the setting cannot meet (``REGISTRY[name].available(inputs)``
    is False, e.g. class labels on the regression dataset) is recorded as 'abstain' with
    ``details['unavailable']`` and not run. The others run in one call; when that call raises,
    one by one. A predictor that raises (or that ``predict(..., on_error='abstain')`` reports as
    failed) is recorded as 'abstain' with its error, flagged ``error`` so that the next scoring
    tries it again. Warnings raised by the predictors are not repeated per setting.

    Args:
      predictors: the ``cch_jax.predictors`` module (or a stand-in with ``REGISTRY`` and
        ``predict``).
      inputs: the setting's ``PredictorInputs``.
      names: predictor names to score.
      key: ``jax.random.key`` (``predict`` derives each predictor's own key from it).
      errors: a list the error texts are appended to.

    Returns:
      ``{name: {'call', 'score', 'cost_s', 'details'(, 'error')}}`` (JSON-ready).
    """
    import inspect
    import warnings

    out, run = {}, []
    for name in names:
        entry = predictors.REGISTRY.get(name)
        available = getattr(entry, "available", None)
        if available is not None and not available(inputs):
            needs = ", ".join(getattr(entry, "needs", ()))
            out[name] = {
                "call": "abstain",
                "score": None,
                "cost_s": 0.0,
                "details": {"unavailable": f"needs {needs}"},
            }
        else:
            run.append(name)
    kwargs = {}
    if "on_error" in inspect.signature(predictors.predict).parameters:
        kwargs["on_error"] = "abstain"

    def one(todo):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return predictors.predict(inputs, names=todo, key=key, **kwargs)

    def failed(name: str, text: str, cost: float) -> dict:
        errors.append(f"{name}: {text}")
        return {
            "call": "abstain",
            "score": None,
            "cost_s": cost,
            "details": {"error": text},
            "error": True,
        }

    try:
        got = {n: _prediction_json(p) for n, p in one(tuple(run)).items()} if run else {}
    except Exception:  # noqa: BLE001 -- find which predictor fails, keep the others
        got = {}
        for name in run:
            t0 = time.perf_counter()
            try:
                got.update({n: _prediction_json(p) for n, p in one((name,)).items()})
            except Exception as err:  # noqa: BLE001 -- a predictor's bug must not stop the run
                got[name] = failed(name, f"{type(err).__name__}: {err}", time.perf_counter() - t0)
    for name, pred in got.items():
        if "error" in pred["details"] and not pred.get("error"):
            pred = failed(name, str(pred["details"]["error"]), pred["cost_s"])
        out[name] = pred
    return {n: out[n] for n in names if n in out}
