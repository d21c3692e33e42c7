"""``advise``: a recommendation per teacher from the predictors the KD-outcome benchmark validated.

The benchmark (``cch bench``) measured every predictor against the real KD outcome and wrote its
record (``records.json``, :mod:`cch_jax.predictors._records`). A predictor is *validated* when it
beat "never distill" on the paired exact McNemar test (p < 0.05) and the dataset-bootstrap interval
of its accuracy gain over never distilling lies above 0. ``advise`` recommends only the call of a
validated predictor; when none is validated it computes nothing and says so in one line, pointing
to ``cch trial`` (KD measured on the user's own data). Other predictors are computed only when
asked for (``predictors=``), each with its record beside the base rate on the same settings, its
threshold and a subsample interval of its score: a score whose interval holds the threshold
abstains, so that no call rests on a difference inside its own noise.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import jax
import numpy as np

from cch_jax import _checks, _tdist
from cch_jax.predictors import _records
from cch_jax.predictors._inputs import PredictorInputs
from cch_jax.predictors._registry import REGISTRY, predict

TARGET = "kd"  # the record a recommendation rests on: does KD beat no KD (Δ_KD)
# Predictors run only when named (slow, and without a validated record): never part of "all".
OPT_IN = ("grace",)
# The planned KD settings each predictor's score reads (tests/test_advise.py checks them by
# perturbation); a user planning other settings gets another score from these only.
PLANNED = {
    "agreement_kl": ("temperature",),
    "hscore_gap": ("temperature",),
    "logme_gap": ("temperature",),
    "grace": ("kd_weight", "temperature"),
    "theory_risk": ("kd_weight", "temperature", "n_train"),
}
_VERDICT_CALLS = {"holds": "distill", "fails": "dont", "undecided": "abstain"}


class PredictorCall(NamedTuple):
    """One predictor's call on one teacher, with its interval, threshold and benchmark record.

    Attributes:
      predictor: registry name.
      call: ``"distill"``, ``"dont"`` or ``"abstain"`` (the score's interval holds the threshold,
        or the predictor could not run).
      score: the score on all rows (higher = more in favour of distilling); NaN if it failed.
      low, high: the score's interval (same construction and level as the criterion's: subsamples
        of half the rows); NaN where none was formed.
      threshold: the call is distill when the score is above it.
      depends_on: the planned KD settings the score reads (``kd_weight``, ``temperature``,
        ``n_train``).
      record: the predictor's ``{target: {...}}`` record from ``records.json``, or None.
      record_text: that record in one line, beside the base rate on the same settings.
    """

    predictor: str
    call: str
    score: float
    low: float
    high: float
    threshold: float | None
    depends_on: tuple[str, ...]
    record: dict | None
    record_text: str


class TeacherAdvice(NamedTuple):
    """The recommendation for one teacher.

    Attributes:
      teacher: the teacher's name.
      predictor: the validated predictor whose call is the recommendation; None when the benchmark
        validated none (or it abstained here).
      validated: True only when ``predictor`` is a validated predictor that made a call.
      call: ``"distill"``, ``"dont"``, or ``"trial"`` (no validated predictor can decide: measure
        KD on the data with ``cch trial``).
      text: the one line a user can act on.
      calls: the predictors computed for this teacher (validated ones and those asked for).
    """

    teacher: str
    predictor: str | None
    validated: bool
    call: str
    text: str
    calls: tuple[PredictorCall, ...]


class Advice(NamedTuple):
    """What :func:`advise` returns.

    Attributes:
      teachers: one :class:`TeacherAdvice` per teacher, in the order given.
      validated: the predictors the records validate on Δ_KD (empty when none).
      records: ``{"schema", "settings", "datasets", "significant", "never_right"}`` of the records
        quoted (the real pool), or None without records.
      seconds: wall seconds spent computing predictors (0 when none was computed).
    """

    teachers: tuple[TeacherAdvice, ...]
    validated: tuple[str, ...]
    records: dict | None
    seconds: float


def representation_predictors(continuous: bool) -> tuple[str, ...]:
    """Registry names computable from representations and labels alone (no pilot run), without
    the CCH predictors (their calls come from the criterion's own result).

    Args:
      continuous: a continuous target (predictors needing classes are left out).

    Returns:
      Names in registry order.
    """
    out = []
    for name, p in REGISTRY.items():
        if name.startswith("cch_") or {"pilot_delta", "pilot_cost_s"} & set(p.needs):
            continue
        if continuous and "classes" in p.needs:
            continue
        out.append(name)
    return tuple(out)


def _requested(predictors, continuous: bool, validated: Iterable[str]) -> tuple[str, ...]:
    """The predictor names to compute: the validated ones plus those asked for."""
    avail = representation_predictors(continuous)
    if predictors is None:
        asked: tuple[str, ...] = ()
    elif predictors == "all":
        asked = tuple(n for n in avail if n not in OPT_IN)
    else:
        if isinstance(predictors, str):
            predictors = tuple(p.strip() for p in predictors.split(",") if p.strip())
        asked = tuple(predictors)
        for name in asked:
            if name.startswith("cch_"):
                continue
            _checks.check_choice("predictors", name, ("all", *avail))
    wanted = [n for n in validated if n in avail or n.startswith("cch_")]
    return tuple(dict.fromkeys([*wanted, *asked]))


def describe_record(record: Mapping | None) -> str:
    """One line on a predictor's benchmark record (Δ_KD) beside never distilling's on the same
    settings, of the form "right on R of N significant effects vs never M (McNemar p = P; gain
    over never +G points, dataset 95 % CI LO to HI): not validated".

    Args:
      record: the predictor's ``{target: {...}}`` record, or None.

    Returns:
      The sentence (``"no benchmark record"`` without one).
    """
    r = (record or {}).get(TARGET)
    if not r:
        return "no benchmark record"
    n = r.get("significant_all")
    if n is None or not math.isfinite(n) or n == 0:
        return "no significant effect on Δ_KD among its settings"
    right = r.get("right_abstain_never")
    never = r.get("never_right")
    text = f"right on {int(right)} of {int(n)} significant effects vs never distill {int(never)}"
    p, low, high = r.get("mcnemar_p"), r.get("diff_never_low"), r.get("diff_never_high")
    diff = r.get("diff_never")
    if all(v is not None and math.isfinite(v) for v in (p, diff, low, high)):
        text += (
            f" (McNemar p = {p:.2g}; gain over never {100 * diff:+.1f} points, dataset 95 % CI "
            f"{100 * low:+.1f} to {100 * high:+.1f})"
        )
    return text + (": validated" if r.get("validated") is True else ": not validated")


def _threshold(name: str, records) -> float | None:
    """The score threshold of a predictor's call: the benchmark's fitted one for a "fitted"
    predictor (its own default without records), 0 for the sign rules, None for constants."""
    p = REGISTRY[name]
    if name in ("always", "never"):
        return None
    if p.threshold == "fitted":
        entry = ((records or {}).get("predictors", {}).get(name) or {}).get(TARGET) or {}
        t = entry.get("threshold")
        return float(t) if t is not None and not _isnan(t) else float(p.default_threshold)
    return 0.0


def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _call(score: float, low: float, high: float, threshold: float | None, fallback: str) -> str:
    """distill / dont from the score against the threshold, abstain when the interval holds it."""
    if threshold is None:
        return fallback
    if not math.isfinite(score):
        return "abstain"
    if math.isfinite(low) and math.isfinite(high) and low <= threshold <= high:
        return "abstain"
    return "distill" if score > threshold else "dont"


def _interval(values: np.ndarray, level: float = 0.9, fraction: float = 0.5):
    """(low, high) of a statistic from its values on R subsamples of a fraction f of the rows: the
    criterion's delete-d jackknife interval, centre +- t se, se = sd sqrt(f/(1-f) + 1/R)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return math.nan, math.nan
    se = float(v.std(ddof=1)) * math.sqrt(fraction / (1 - fraction) + 1 / v.size)
    half = _tdist.t_ppf(0.5 + level / 2, v.size - 1) * se
    return float(v.mean()) - half, float(v.mean()) + half


def _scores(inputs: PredictorInputs, names, key, repeats: int) -> dict[str, tuple]:
    """name -> (call, score on all rows, low, high): every predictor once on all rows and on
    ``repeats`` random halves of the rows (same shapes each time: compiled once)."""
    full = predict(inputs, names, key=key, on_error="abstain")
    m = inputs.rows
    half = max(4, m // 2)
    subs = {n: [] for n in names}
    for r in range(repeats):
        k = jax.random.fold_in(key, r + 1)
        rows = np.sort(np.asarray(jax.random.permutation(k, m))[:half])
        sub = dataclasses.replace(
            inputs,
            teacher_reps=inputs.teacher_reps[rows],
            student_reps=inputs.student_reps[rows],
            labels=inputs.labels[rows],
            teacher_logits=None if inputs.teacher_logits is None else inputs.teacher_logits[rows],
            student_logits=None if inputs.student_logits is None else inputs.student_logits[rows],
            teacher_accuracy=None,
            student_accuracy=None,
        )
        for n, p in predict(sub, names, key=k, on_error="abstain").items():
            subs[n].append(p.score)
    return {
        n: (full[n].call, float(full[n].score), *_interval(np.array(subs[n]), fraction=half / m))
        for n in names
    }


def advise(
    student,
    labels,
    teachers: Mapping,
    *,
    key: jax.Array,
    num_classes: int | None,
    check_result=None,
    teacher_logits: Mapping | None = None,
    kd_weight: float = 0.5,
    temperature: float = 3.0,
    n_train: int | None = None,
    predictors=None,
    records="shipped",
    max_rows: int = 2000,
    repeats: int = 8,
) -> Advice:
    """Recommends, per teacher, the call of a predictor the KD-outcome benchmark validated.

    Args:
      student: ``[n, d_s]`` student representations (e.g. a probe student's features).
      labels: ``[n]`` integer classes in ``[0, num_classes)``, or floats when ``num_classes`` is
        None (a continuous target).
      teachers: name -> ``[n, d_t]`` teacher representations of the same rows.
      key: ``jax.random.key`` (row subsample, subsamples, the predictors' linear probes).
      num_classes: C >= 2, or None for a continuous target.
      check_result: the :class:`cch_jax.criterion.CheckResult` of the same data, whose gaps give
        the ``cch_<estimator>`` and ``cch_<estimator>_sign`` calls (None: no CCH predictor).
      teacher_logits: name -> ``[n, C]`` the teacher's own outputs (logits; ``[n, 1]``
        predictions for a continuous target), used instead of a linear probe's by the predictors
        that read teacher logits (agreement, GRACE, H-score, LogME, the theory's soft targets).
      kd_weight: w of the KD loss the user plans, (1 - w) CE + w T^2 KL.
      temperature: T of that loss.
      n_train: training rows the KD student will see (None: n).
      predictors: None (only validated predictors), ``"all"`` (every predictor computable from
        representations and labels, except the opt-in ``grace``), or names (tuple or
        comma-separated).
      records: ``"shipped"`` (the package's ``records.json``), a records dict, a path, or None.
      max_rows: the predictors see at most this many rows (a uniform subsample).
      repeats: subsamples of half the rows behind each score's interval (>= 2).

    Returns:
      An :class:`Advice`.

    Raises:
      ValueError: an unknown predictor name, a teacher_logits entry for an unknown teacher or of
        the wrong shape, or bad settings (each message names the argument).
    """
    _checks.check_key("key", key)
    recs = _records.load_records() if records == "shipped" else records
    if isinstance(recs, str) or hasattr(recs, "__fspath__"):
        recs = _records.load_records(recs)
    validated = tuple((recs or {}).get("validated", {}).get(TARGET, []))
    names = _requested(predictors, num_classes is None, validated)
    if predictors == "all" and check_result is not None:  # the CCH's own calls come first
        cch = [f"cch_{e}{s}" for e in check_result.estimators for s in ("", "_sign")]
        names = tuple(dict.fromkeys([*cch, *names]))
    repeats = _checks.check_int("repeats", repeats, minimum=2)
    max_rows = _checks.check_int("max_rows", max_rows, minimum=20)
    teacher_logits = dict(teacher_logits or {})
    for name in teacher_logits:
        if name not in teachers:
            raise ValueError(
                f"teacher_logits: {name!r} is not one of the teachers {list(teachers)}"
            )
    student = np.asarray(student)
    labels = np.asarray(labels)
    n = student.shape[0]
    base_rate = (recs or {}).get("base_rate", {}).get(TARGET)
    t_start = time.perf_counter()
    rows = np.arange(n)
    k_rows, k_pred = jax.random.split(key)
    if n > max_rows:
        rows = np.sort(np.asarray(jax.random.permutation(k_rows, n))[:max_rows])
    plain = [m for m in names if not m.startswith("cch_")]
    out = []
    for t_i, (teacher, h_t) in enumerate(teachers.items()):
        computed = {}
        if plain:
            inputs = PredictorInputs(
                teacher_reps=np.asarray(h_t)[rows],
                student_reps=student[rows],
                labels=labels[rows],
                num_classes=num_classes,
                kd_weight=kd_weight,
                temperature=temperature,
                n_train=n if n_train is None else n_train,
                teacher_logits=(
                    None
                    if teacher not in teacher_logits
                    else np.asarray(teacher_logits[teacher])[rows]
                ),
            )
            computed = _scores(inputs, plain, jax.random.fold_in(k_pred, t_i), repeats)
        calls = []
        for name in names:
            record = ((recs or {}).get("predictors", {}) or {}).get(name)
            if name.startswith("cch_"):
                c = _cch_call(name, teacher, check_result)
                if c is None:
                    continue
                call, score, low, high, threshold = c
            else:
                fallback, score, low, high = computed[name]
                threshold = _threshold(name, recs)
                call = _call(score, low, high, threshold, fallback)
            calls.append(
                PredictorCall(
                    predictor=name,
                    call=call,
                    score=score,
                    low=low,
                    high=high,
                    threshold=threshold,
                    depends_on=PLANNED.get(name, ()),
                    record=None if record is None else {t: dict(v) for t, v in record.items()},
                    record_text=describe_record(record),
                )
            )
        out.append(_recommend(teacher, tuple(calls), validated, recs))
    info = None
    if recs is not None:
        info = {
            "schema": recs.get("schema"),
            "settings": recs.get("settings"),
            "datasets": list(recs.get("datasets", [])),
            "significant": None if not base_rate else base_rate.get("never_significant"),
            "never_right": None if not base_rate else base_rate.get("never_right"),
        }
    seconds = time.perf_counter() - t_start if plain else 0.0
    return Advice(tuple(out), validated, info, seconds)


def _cch_call(name: str, teacher: str, check_result):
    """(call, gap, low, high, 0.0) of ``cch_<est>[_sign]`` from the criterion's estimates, or None
    when that estimator was not run. The sign rule abstains when the gap interval holds 0."""
    if check_result is None:
        return None
    est = name[len("cch_") :].removesuffix("_sign")
    e = check_result.estimates.get((teacher, est))
    if e is None:
        return None
    gap = e["gap"]
    if name.endswith("_sign"):
        call = _call(gap.value, gap.low, gap.high, 0.0, "abstain")
    else:
        call = _VERDICT_CALLS[e["verdict"]]
    return call, float(gap.value), float(gap.low), float(gap.high), 0.0


def _needs_training(name: str) -> bool:
    """A rule that trains KD itself: the pilot (registered, fed a pilot run) or one of the
    benchmark's record (``trial``, ``full3``...: not registered, computed by the benchmark)."""
    if name.startswith("cch_"):
        return False
    p = REGISTRY.get(name)
    return p is None or bool({"pilot_delta", "pilot_cost_s"} & set(p.needs))


def _recommend(teacher: str, calls, validated, recs) -> TeacherAdvice:
    """The one actionable line for a teacher from its computed calls."""
    by_name = {c.predictor: c for c in calls}
    trial = f"measure KD on your data: cch trial --data FILE.npz --teacher {teacher}"
    if recs is None:
        text = (
            f"{teacher}: no benchmark records are installed, so no predictor can be trusted; "
            + trial
        )
        return TeacherAdvice(teacher, None, False, "trial", text, calls)
    for name in validated:
        c = by_name.get(name)
        if c is None or c.call not in ("distill", "dont"):
            continue
        verb = "distill" if c.call == "distill" else "don't distill"
        text = (
            f"{teacher}: {verb} — the call of {name}, validated on the benchmark ({c.record_text})"
        )
        return TeacherAdvice(teacher, name, True, c.call, text, calls)
    base = recs.get("base_rate", {}).get(TARGET) or {}
    sig, never = base.get("never_significant"), base.get("never_right")
    where = f"{int(sig)} significant effects" if sig else "its settings"
    never_text = f"; never distill is right on {int(never)} of {int(sig)}" if sig else ""
    before = [n for n in validated if n.startswith("cch_") or not _needs_training(n)]
    trained = sorted((n for n in validated if n not in before), key=lambda n: n != "trial")
    if trained:  # a rule that trains KD itself (the trial, a pilot) is validated
        record = (recs.get("predictors", {}) or {}).get(trained[0])
        lead = (
            f"the validated predictor(s) {', '.join(before)} cannot tell on this data"
            if before
            else "no predictor computable before training is validated"
        )
        text = (
            f"{teacher}: undecided — {lead}; measuring KD is ({trained[0]}: "
            f"{describe_record(record)}). To decide, {trial}"
        )
    elif before:
        text = (
            f"{teacher}: undecided — the validated predictor(s) {', '.join(before)} cannot tell "
            f"on this data; " + trial
        )
    else:
        text = (
            f"{teacher}: no predictor computable before training, the CCH included, has beaten "
            f"'never distill' on the KD-outcome benchmark ({where} from its "
            f"{len(recs.get('datasets', []))} real datasets{never_text}); the verdict above is not a "
            f"validated decision rule. To decide, {trial}"
        )
    return TeacherAdvice(teacher, None, False, "trial", text, calls)
