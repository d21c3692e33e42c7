"""What the KD-outcome benchmark measured, next to each teacher's CCH verdict.

``check`` gives the CCH verdict; a user also wants to know how far any verdict can be trusted. For
every teacher this module runs the predictors of :mod:`cch_jax.predictors` that need nothing but
representations and labels (logits and accuracies come from cross-fitted linear probes on the two
representations; no pilot run), turns the criterion's own estimates into the ``cch_<estimator>``
(interval verdict) and ``cch_<estimator>_sign`` (point-gap sign) calls, and puts under each call
the benchmark's measured record of that predictor (``records.json``, written by
``cch bench leaderboard`` and shipped in the package). The recommendation is the call of the
predictor with the best validated record on Δ_KD among those computed here
(:func:`cch_jax.bench.best_predictor`: only a predictor that beat "never distill" on the
benchmark's paired McNemar test, p < 0.05, with a dataset-bootstrap interval of its accuracy gain
above 0, is a candidate), said as such; when no predictor is validated there is no recommendation.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import jax
import numpy as np

# The record a recommendation is chosen by: "does KD beat no KD" (Δ_KD); Δ_transfer is quoted too.
RECOMMEND_TARGET = "kd"
VERDICT_CALLS = {"holds": "distill", "fails": "dont", "undecided": "abstain"}


def representation_predictors(continuous: bool) -> tuple[str, ...]:
    """Registry names computable from representations and labels alone (no pilot), except the CCH
    predictors, whose calls come from ``check``'s own estimates.

    Args:
      continuous: a continuous target (predictors needing classes are left out).

    Returns:
      A tuple of predictor names, in registry order.
    """
    from cch_jax import predictors

    out = []
    for name, p in predictors.REGISTRY.items():
        if name.startswith("cch_") or "pilot_delta" in p.needs or "pilot_cost_s" in p.needs:
            continue
        if continuous and "classes" in p.needs:
            continue
        out.append(name)
    return tuple(out)


def _record(records, name: str) -> dict | None:
    if records is None:
        return None
    entry = records.get("predictors", {}).get(name)
    return None if entry is None else {t: dict(v) for t, v in entry.items()}


def describe_record(record: Mapping | None, target: str = RECOMMEND_TARGET) -> str:
    """One line on a predictor's benchmark record, e.g. "right on 41 of 52 significant effects on
    Δ_KD (79 %, 95 % CI 66-88 %), 180 settings; against never distilling: McNemar p = 0.071,
    not validated".

    Args:
      record: ``{target: {right, significant, accuracy_low, accuracy_high, settings, ...}}`` or None;
        with ``mcnemar_p`` and ``validated`` (records schema 2) the paired comparison is added.
      target: ``"kd"`` or ``"transfer"``.

    Returns:
      The sentence (``"no benchmark record"`` without one).
    """
    if not record or target not in record:
        return "no benchmark record"
    r = record[target]
    what = "Δ_KD" if target == "kd" else "Δ_transfer"
    sig = int(r.get("significant") or 0)
    if sig == 0:
        return (
            f"no call on a significant effect on {what} in {int(r.get('settings') or 0)} settings"
        )
    right = int(r.get("right") or 0)
    low, high = r.get("accuracy_low"), r.get("accuracy_high")
    ci = "" if low is None or high is None else f", 95 % CI {100 * low:.0f}-{100 * high:.0f} %"
    text = (
        f"right on {right} of {sig} significant effects on {what} ({100 * right / sig:.0f} %{ci}), "
        f"{int(r.get('settings') or 0)} settings"
    )
    p = r.get("mcnemar_p")
    if p is not None and np.isfinite(p):
        verdict = "validated" if r.get("validated") is True else "not validated"
        text += f"; against never distilling: McNemar p = {p:.2g}, {verdict}"
    return text


def _fitted_call(name: str, prediction, record) -> str:
    """A "fitted" predictor calls with the threshold the benchmark fitted on all its datasets
    (the record's ``threshold`` for Δ_KD), not with its built-in default; others as they said."""
    from cch_jax import predictors

    threshold = None if not record else record.get(RECOMMEND_TARGET, {}).get("threshold")
    if predictors.REGISTRY[name].threshold != "fitted" or threshold is None:
        return prediction.call
    if prediction.call == "abstain" or not np.isfinite(prediction.score):
        return "abstain"
    return "distill" if prediction.score > float(threshold) else "dont"


def _base_rate_text(records) -> str:
    """ "; the base rate ... " for the recommendation: how often the majority outcome is right."""
    base = (records or {}).get("base_rate", {}).get(RECOMMEND_TARGET)
    if not base or not base.get("significant"):
        return ""
    majority = {"loss": "never distill", "gain": "always distill"}.get(base.get("majority"), "")
    who = f" ({majority})" if majority else ""
    return (
        f"; for comparison, the base rate{who} is right on {int(base['right'])} of "
        f"{int(base['significant'])}"
    )


def advise(
    student: np.ndarray,
    labels: np.ndarray,
    teachers: Mapping[str, np.ndarray],
    estimates: Mapping,
    *,
    estimators: tuple[str, ...],
    num_classes: int | None,
    kd_weight: float,
    temperature: float,
    n_train: int,
    key: jax.Array,
    records: Mapping | None,
    max_rows: int = 2000,
) -> dict:
    """Predictor calls with their benchmark records, and a recommendation, for every teacher.

    Args:
      student: ``[n, d_s]`` the student representations ``check`` used (after clean-up).
      labels: ``[n]`` int classes, or float targets when ``num_classes`` is None.
      teachers: name -> ``[n, d_t]`` teacher representations of the same rows.
      estimates: ``check``'s ``{(teacher, estimator): {"gap": Estimate, "verdict": str, ...}}``.
      estimators: the estimators ``check`` ran.
      num_classes: classes k, or None for a continuous target.
      kd_weight, temperature: the KD loss the user plans, (1 - w) CE + w T^2 KL.
      n_train: training rows the KD student will see.
      key: ``jax.random.key`` for the linear probes and the randomised predictors.
      records: the benchmark's records (:func:`cch_jax.bench.load_records`), or None.
      max_rows: the predictors see at most this many rows (a uniform subsample, the same for
        every teacher): the benchmark measured them on 5 to 1 000 held-out rows per setting, and
        their cost grows with the rows (cross-fitted probes, LogME, GRACE).

    Returns:
      ``{teacher: {"predictions": {name: {"call", "score", "cost_s", "record", "record_text"}},
      "recommendation": {"call", "by", "target", "record", "text"} | None}}``; ``record`` is the
      predictor's ``{target: {...}}`` entry of ``records`` (None without one).
    """
    from cch_jax import bench, predictors

    names = representation_predictors(num_classes is None)
    k_rows, k_fill, k_pred = jax.random.split(key, 3)
    rows = np.arange(student.shape[0])
    if student.shape[0] > max_rows:
        rows = np.sort(np.asarray(jax.random.permutation(k_rows, student.shape[0]))[:max_rows])
    student, labels = np.asarray(student)[rows], np.asarray(labels)[rows]
    # The probe student's logits and accuracy are the same for every teacher: fill them once.
    t0 = time.perf_counter()
    base = predictors.PredictorInputs(
        teacher_reps=student,
        student_reps=student,
        labels=labels,
        num_classes=num_classes,
        kd_weight=kd_weight,
        temperature=temperature,
        n_train=n_train,
    )
    base, _ = predictors.fill_missing(
        base, key=k_fill, fields=("student_logits", "student_accuracy")
    )
    student_s = time.perf_counter() - t0
    out = {}
    for t_i, (teacher, h_t) in enumerate(teachers.items()):
        t0 = time.perf_counter()
        inputs = dataclasses.replace(base, teacher_reps=np.asarray(h_t)[rows])
        preds = predictors.predict(
            inputs, names, key=jax.random.fold_in(k_pred, t_i), on_error="abstain"
        )
        table = {}
        for est in estimators:
            e = estimates[(teacher, est)]
            gap = float(e["gap"].value)
            for name, call in (
                (f"cch_{est}", VERDICT_CALLS[e["verdict"]]),
                (f"cch_{est}_sign", "distill" if gap > 0 else "dont"),
            ):
                table[name] = {"call": call, "score": gap, "cost_s": None}
        for name, p in preds.items():
            call = _fitted_call(name, p, _record(records, name))
            table[name] = {"call": call, "score": float(p.score), "cost_s": float(p.cost_s)}
        for name, row in table.items():
            row["record"] = _record(records, name)
            row["record_text"] = describe_record(row["record"])
        best = bench.best_predictor(records, RECOMMEND_TARGET, among=list(table))
        recommendation = None
        if best is not None:
            row = table[best]
            recommendation = {
                "call": row["call"],
                "by": best,
                "target": RECOMMEND_TARGET,
                "record": row["record"],
                "text": (
                    f"{row['call']} — the call of {best}, the predictor with the best validated "
                    f"record in the benchmark (it beat never distilling on the paired test and "
                    f"over the datasets; {row['record_text']})" + _base_rate_text(records)
                ),
            }
        out[teacher] = {
            "predictions": table,
            "recommendation": recommendation,
            "seconds": time.perf_counter() - t0 + student_s / len(teachers),
            "rows": int(rows.shape[0]),
        }
    return out
