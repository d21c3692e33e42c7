"""Does the CCH verdict predict KD's effect? Per-setting paired tests and the cross-setting tally.

For each setting the KD effect is Delta = accuracy with KD - accuracy without, paired by seed (the
two runs of a seed share initialisation and minibatch order). Its significance comes from an exact
two-sided sign-flip (permutation) test of the paired differences (all 2^S sign patterns for S <= 20
seeds, else 2^16 random ones; :func:`cch_jax.bench.paired_sign_flip`), which assumes only that
the differences are symmetric about 0 under the null. The outcome is 'gain' or 'loss' when
p < alpha, else 'none'. The test, :func:`outcome` and :func:`spearman` are ``cch_jax.bench``'s;
the names here delegate to them (imported on call, so that the two packages never import in a
cycle).

Across settings, predictors are scored against the outcomes: the CCH verdict ('holds' -> gain,
'fails' -> loss, 'undecided' -> no call), per estimator with and without its interval, and two that
need no MI: 'teacher more accurate than the student' (teacher test accuracy > the no-KD student's
mean), 'always distill' and 'never distill'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from cch_jax import _checks

OUTCOMES = ("gain", "none", "loss")
CALLS = ("holds", "fails", "undecided")


def paired_test(with_kd, without_kd) -> dict:
    """Mean, standard error and exact sign-flip p-value of paired differences.

    Args:
      with_kd: ``[S]`` accuracies with KD, one per seed.
      without_kd: ``[S]`` accuracies without KD, the same seeds in the same order.

    Returns:
      ``{'delta', 'delta_se', 'p_value', 'n'}``; delta_se is the std of the differences over
      sqrt(S) (0 for S = 1); p_value (:func:`cch_jax.bench.paired_sign_flip`) is 1 when
      every difference is 0.
    """
    from cch_jax.bench import paired_sign_flip

    a = np.asarray(with_kd, float)
    b = np.asarray(without_kd, float)
    if a.ndim != 1 or a.shape != b.shape or a.size < 1:
        raise ValueError(
            f"with_kd: expected two [S] arrays of the same length, got {a.shape} and {b.shape}"
        )
    d = a - b
    n = d.size
    se = float(d.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    p = paired_sign_flip(a, b)
    return {"delta": float(d.mean()), "delta_se": se, "p_value": p, "n": int(n)}


def outcome(delta: float, p_value: float, alpha: float = 0.05) -> str:
    """'gain' or 'loss' when the paired test rejects at ``alpha``, else 'none'.

    The same function as :func:`cch_jax.bench.outcome` (which this calls).

    Args:
      delta: mean paired difference KD - no KD (its sign decides gain or loss).
      p_value: the paired test's two-sided p-value.
      alpha: significance level.

    Returns:
      ``'gain'``, ``'loss'`` or ``'none'``.
    """
    from cch_jax.bench import outcome as _outcome

    return _outcome(delta, p_value, alpha)


def summarize(
    settings: Sequence[dict],
    runs: Sequence[dict],
    *,
    alpha: float = 0.05,
    gap_estimator: str = "latent",
) -> list[dict]:
    """One summary row per setting: accuracies (mean ± s.e.), Delta, test, outcome, verdict.

    Args:
      settings: the settings of :func:`cch_jax.experiments.run_experiment` (dicts with
        ``teacher_name``, ``student``, ``teacher_accuracy``, ``verdict`` and ``<est>_gap``...).
      runs: its per-seed rows (``no_kd_accuracy``, ``kd_accuracy``).
      alpha: significance level.
      gap_estimator: whose gap (and interval) is the setting's ``gap`` (falls back to the first
        estimator with a gap).

    Returns:
      The settings' dicts extended with ``no_kd_mean``, ``no_kd_se``, ``kd_mean``, ``kd_se``,
      ``delta``, ``delta_se``, ``p_value``, ``outcome``, ``gap``, ``gap_low``, ``gap_high``,
      ``gap_estimator`` and ``verdict_matched`` (None when the verdict is undecided).
    """
    alpha = _checks.check_real("alpha", alpha, low=0.0, high=1.0, low_open=True, high_open=True)
    out = []
    for s in settings:
        mine = [
            r
            for r in runs
            if r["teacher_name"] == s["teacher_name"] and r["student"] == s["student"]
        ]
        mine.sort(key=lambda r: r["seed"])
        if not mine:
            raise ValueError(f"runs: no runs for setting {s['teacher_name']} -> {s['student']}")
        kd_acc = np.asarray([r["kd_accuracy"] for r in mine])
        base = np.asarray([r["no_kd_accuracy"] for r in mine])
        test = paired_test(kd_acc, base)
        row = dict(s)
        n = len(mine)
        row.update(
            no_kd_mean=float(base.mean()),
            no_kd_se=float(base.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
            kd_mean=float(kd_acc.mean()),
            kd_se=float(kd_acc.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0,
            delta=test["delta"],
            delta_se=test["delta_se"],
            p_value=test["p_value"],
            seeds=n,
            outcome=outcome(test["delta"], test["p_value"], alpha),
        )
        est = (
            gap_estimator
            if f"{gap_estimator}_gap" in s
            else next((k[: -len("_gap")] for k in s if k.endswith("_gap")), None)
        )
        row["gap_estimator"] = est
        for f in ("gap", "gap_low", "gap_high"):
            row[f] = s.get(f"{est}_{f}", float("nan")) if est else float("nan")
        v = s.get("verdict")
        row["verdict_matched"] = (
            None if v not in ("holds", "fails") else bool((v == "holds") == (test["delta"] > 0))
        )
        out.append(row)
    return out


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN with < 3 pairs or no spread.

    The same function as :func:`cch_jax.bench.spearman` (which this calls).

    Args:
      x: values [n]; pairs where ``x`` or ``y`` is not finite are dropped.
      y: values [n].

    Returns:
      The rank correlation in [-1, 1], or NaN.
    """
    from cch_jax.bench import spearman as _spearman

    return _spearman(x, y)


def _estimators(summary: Sequence[dict], suffix: str) -> list[str]:
    keys = dict.fromkeys(k for s in summary for k in s if k.endswith(suffix))
    return [k[: -len(suffix)] for k in keys if k != suffix.lstrip("_")]


def _predictors(summary: Sequence[dict]) -> list[str]:
    names = ["cch"]
    names += [f"cch_{e}" for e in _estimators(summary, "_verdict")]
    names += [f"{e}_gap_sign" for e in _estimators(summary, "_gap") if e != "gap"]
    return names + ["teacher_more_accurate", "always_distill", "never_distill"]


def _calls(summary: Sequence[dict], predictor: str) -> list[str]:
    if predictor == "cch":
        return [s["verdict"] for s in summary]
    if predictor.startswith("cch_"):
        return [s.get(f"{predictor[4:]}_verdict", "undecided") for s in summary]
    if predictor.endswith("_gap_sign"):
        est = predictor[: -len("_gap_sign")]
        calls = []
        for s in summary:
            g = s.get(f"{est}_gap", float("nan"))
            calls.append("undecided" if not math.isfinite(g) else ("holds" if g > 0 else "fails"))
        return calls
    if predictor == "teacher_more_accurate":
        return ["holds" if s["teacher_accuracy"] > s["no_kd_mean"] else "fails" for s in summary]
    return ["fails" if predictor == "never_distill" else "holds"] * len(summary)


def compare_predictors(summary: Sequence[dict]) -> dict:
    """Scores the CCH verdict and two naive predictors against the measured KD effects.

    Args:
      summary: rows of :func:`summarize` (``verdict``, ``teacher_accuracy``, ``no_kd_mean``,
        ``delta``, ``outcome``, ``gap``).

    Returns:
      ``{'settings', 'outcomes', 'spearman_gap_delta', 'predictors': {name: {...}}}``. Predictors:
      ``cch`` (the combined verdict), ``cch_<est>`` (one estimator's interval verdict, where the
      rows carry ``<est>_verdict``), ``<est>_gap_sign`` (the sign of one estimator's point gap, the
      paper's rule, no interval), ``teacher_more_accurate``, ``always_distill`` and
      ``never_distill`` (the base rates: a predictor must beat both to be informative). Each
      predictor has ``confusion`` (call -> outcome -> count), ``calls`` (settings it made a
      call on), ``sign_agreement`` (share of its calls whose sign matches the sign of Delta),
      ``significant_correct`` / ``significant`` (calls right among settings with a significant
      effect) and ``wrong_way`` (a 'holds' call on a significant loss or a 'fails' call on a
      significant gain).
    """
    summary = list(summary)
    result = {
        "settings": len(summary),
        "outcomes": {o: sum(s["outcome"] == o for s in summary) for o in OUTCOMES},
        "spearman_gap_delta": spearman([s["gap"] for s in summary], [s["delta"] for s in summary]),
        "spearman_by_estimator": {
            e: spearman(
                [s.get(f"{e}_gap", float("nan")) for s in summary], [s["delta"] for s in summary]
            )
            for e in _estimators(summary, "_gap")
            if e != "gap"
        },
        "predictors": {},
    }
    for name in _predictors(summary):
        calls = _calls(summary, name)
        confusion = {c: {o: 0 for o in OUTCOMES} for c in CALLS}
        agree = made = sig = sig_ok = wrong = 0
        for c, s in zip(calls, summary, strict=True):
            confusion[c][s["outcome"]] += 1
            if c == "undecided":
                continue
            made += 1
            agree += (c == "holds") == (s["delta"] > 0)
            if s["outcome"] != "none":
                sig += 1
                ok = (c == "holds") == (s["outcome"] == "gain")
                sig_ok += ok
                wrong += not ok
        result["predictors"][name] = {
            "confusion": confusion,
            "calls": made,
            "sign_agreement": agree / made if made else float("nan"),
            "significant": sig,
            "significant_correct": sig_ok,
            "wrong_way": wrong,
        }
    return result


def teacher_selection(summary: Sequence[dict]) -> list[dict]:
    """Per student view: does ranking candidate teachers by the gap pick the most helpful one?

    Args:
      summary: rows of :func:`summarize`.

    Returns:
      One dict per student with at least two teachers: the teacher with the largest gap, the one
      with the largest Delta, the most accurate teacher, each pick's Delta, and ``regret`` (best
      Delta minus the gap pick's Delta, accuracy points in [0, 1]).
    """
    out = []
    for student in dict.fromkeys(s["student"] for s in summary):
        rows = [s for s in summary if s["student"] == student]
        if len(rows) < 2:
            continue
        by_gap = max(rows, key=lambda s: s["gap"] if math.isfinite(s["gap"]) else -math.inf)
        by_delta = max(rows, key=lambda s: s["delta"])
        by_acc = max(rows, key=lambda s: s["teacher_accuracy"])
        out.append(
            dict(
                student=student,
                teachers=len(rows),
                best_teacher=by_delta["teacher_name"],
                best_delta=by_delta["delta"],
                gap_pick=by_gap["teacher_name"],
                gap_pick_delta=by_gap["delta"],
                gap_pick_is_best=by_gap is by_delta,
                accuracy_pick=by_acc["teacher_name"],
                accuracy_pick_delta=by_acc["delta"],
                accuracy_pick_is_best=by_acc is by_delta,
                regret=by_delta["delta"] - by_gap["delta"],
                accuracy_regret=by_delta["delta"] - by_acc["delta"],
                spearman_gap_delta=spearman([s["gap"] for s in rows], [s["delta"] for s in rows]),
            )
        )
    return out


def analyse(
    settings: Sequence[dict],
    runs: Sequence[dict],
    *,
    alpha: float = 0.05,
    gap_estimator: str = "latent",
) -> dict:
    """The whole analysis: per-setting summary, predictor comparison, teacher selection.

    Args:
      settings: per-setting rows, from :func:`cch_jax.experiments.run_experiment`.
      runs: per-(setting, seed) rows, from the same run.
      alpha: significance level of the paired tests.
      gap_estimator: whose gap ranks and correlates (the paper's 'latent' by default).

    Returns:
      ``{'summary': [...], 'comparison': {...}, 'teacher_selection': [...]}``.
    """
    summary = summarize(settings, runs, alpha=alpha, gap_estimator=gap_estimator)
    return {
        "summary": summary,
        "comparison": compare_predictors(summary),
        "teacher_selection": teacher_selection(summary),
    }
