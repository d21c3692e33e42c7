"""The KD-outcome benchmark's leaderboard: every predictor of "will KD help?" scored on the outcomes.

Input: the settings table (one dict per setting, the contract shared with the benchmark runs):
``dataset``, ``setting``, ``student``, ``teacher``, ``kd_weight``, ``temperature``, per target
``delta_<target>`` (points) and ``outcome_<target>`` ('gain' | 'loss' | 'none'), and per predictor
``call:NAME`` ('distill' | 'dont' | 'abstain'), ``score:NAME`` (higher = more in favour of
distilling) and ``cost:NAME`` (seconds). Targets: ``kd`` (KD vs no KD) and ``transfer`` (KD vs the
same KD run with a teacher whose logits are permuted across rows, i.e. what the teacher's
knowledge adds beyond KD as a regulariser).

For every predictor x target, pooled over all datasets (``dataset = 'all'``) and per dataset:

- ``calls``: settings where it made a call (not 'abstain'); ``significant``: those among them
  with a significant outcome (gain or loss); ``right``: 'distill' on a gain or 'dont' on a loss;
  ``accuracy = right / significant`` with its 95 % Wilson interval (``accuracy_low``,
  ``accuracy_high``). Settings whose outcome is 'none' are not scored: nobody can be right there.
- ``auroc``: how well the score separates the significant gains from the significant losses
  (every significant setting with a finite score, whether or not the predictor abstained there).
- ``spearman``: rank correlation of the score with the measured delta over all settings.
- ``top1`` / ``regret``: teacher selection. Over groups of settings that share (dataset, student,
  kd_weight, temperature) and have at least 2 teachers, pick the teacher with the highest score:
  ``top1`` is the share of groups where that teacher has the largest delta, ``regret`` the mean
  (largest delta - delta of the pick) in the deltas' unit (accuracy points; -MSE differences on
  a regression dataset, so a pooled regret over both mixes units: read the per-dataset rows). Tied top scores are averaged over (the expected
  value of a random tie-break), so a constant score scores like a random pick.
- ``cost_s``: mean seconds per setting.
- ``scored``: 'natural' (the predictor's own calls) or 'lodo': a predictor whose threshold is
  "fitted" (``cch_jax.predictors.REGISTRY[name].threshold``) has its calls re-made leave one
  dataset out -- on dataset D, ``call = 'distill' if score > threshold else 'dont'`` with the
  threshold that maximises ``right`` on the significant settings of the *other* datasets
  (:func:`fit_threshold`), so no dataset is scored by a threshold fitted on its own outcomes.
  ``threshold`` is the one applied to D (per-dataset rows) or the one fitted on every dataset
  (pooled rows: what to apply outside the benchmark; it scores no row).

Settings are not independent samples: the settings of one dataset share its data and those of one
student group (dataset, student) share one no-KD arm, so the Wilson interval above is too narrow.
The columns below compare each predictor with the reference "never distill" (the constant 'dont'
call) *paired*, on the same settings, and take their intervals from a cluster bootstrap:

- ``significant_all``: significant settings where the predictor is available, abstentions
  included; ``right_abstain_never``: its right calls there with every abstention counted as
  'dont' (what a user who never distills without advice would do); ``accuracy_abstain_never`` their
  ratio. ``never_right``: the reference's right calls on the same settings (the significant losses).
- ``wins_vs_never`` / ``losses_vs_never``: the discordant settings, where exactly one of the two is
  right. With abstention as 'dont' they are the 'distill' calls on gains and on losses.
  ``mcnemar_p``: the exact two-sided McNemar test of the two (:func:`_stats.mcnemar_exact`).
- ``diff_never`` = ``accuracy_abstain_never`` - never's accuracy on the same settings;
  ``diff_never_low`` / ``diff_never_high``: its 95 % percentile interval from resampling whole
  datasets (:func:`_stats.cluster_bootstrap`, :data:`_stats.BOOTSTRAP_DRAWS` draws, seed
  :data:`_stats.BOOTSTRAP_SEED`); on one dataset it collapses to the point.
- ``group_low`` / ``group_high``: the 95 % interval of ``accuracy_abstain_never`` from resampling
  whole student groups (dataset, student).
- ``significant_datasets`` / ``significant_groups``: how many clusters of each kind hold the
  significant settings (what the two bootstraps resample).
- ``value``: the decision value, the mean delta (points, the unit of ``delta_<target>``) over
  every setting where the predictor is available, significant or not, when its call is followed:
  'distill' gains the setting's delta, 'dont' and 'abstain' gain 0. Never distilling has value 0;
  always distilling, the mean delta.
- ``validated``: ``mcnemar_p < 0.05`` (:data:`VALIDATION_ALPHA`) and ``diff_never_low > 0``:
  better than never distilling on the paired test and over the datasets (:func:`is_validated`).

Two reference rows per target and dataset, ``scored = 'reference'`` and ``validated`` None:
``base_rate`` gives the majority-outcome rate: the accuracy of the better constant call ('always'
or 'never' distill, chosen knowing the outcomes; per dataset, its own majority; on a tie, never),
the bar every predictor must clear. ``oracle`` distills exactly on the significant gains: right on
every significant setting, and its ``value`` is the most any call can gain from the significant
effects. 'always' and 'never' themselves are ordinary predictors when the table has them.
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from cch_jax import _checks
from cch_jax.bench import _stats
from cch_jax.predictors._records import RECORDS_SCHEMA, TARGETS, VALIDATION_ALPHA, is_validated

CALLS = ("distill", "dont", "abstain")
BASE_RATE = "base_rate"
ORACLE = "oracle"

LEADERBOARD_COLUMNS = (
    "predictor",
    "target",
    "dataset",
    "scored",
    "settings",
    "datasets",
    "calls",
    "right",
    "significant",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "significant_all",
    "right_abstain_never",
    "accuracy_abstain_never",
    "never_right",
    "wins_vs_never",
    "losses_vs_never",
    "mcnemar_p",
    "diff_never",
    "diff_never_low",
    "diff_never_high",
    "group_low",
    "group_high",
    "significant_datasets",
    "significant_groups",
    "value",
    "validated",
    "auroc",
    "spearman",
    "top1",
    "regret",
    "groups",
    "cost_s",
    "threshold",
    "gains",
    "losses",
    "majority",
)

_TARGET_TITLES = {
    "kd": "KD vs no KD (delta_kd)",
    "transfer": "KD vs a random-control teacher (delta_transfer)",
}
_STRING_COLUMNS = ("dataset", "setting", "student", "teacher", "task")
_RECORD_FIELDS = (
    "calls",
    "right",
    "significant",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
    "auroc",
    "settings",
    "datasets",
    "scored",
    "threshold",
    "significant_all",
    "right_abstain_never",
    "accuracy_abstain_never",
    "never_right",
    "wins_vs_never",
    "losses_vs_never",
    "mcnemar_p",
    "diff_never",
    "diff_never_low",
    "diff_never_high",
    "group_low",
    "group_high",
    "significant_datasets",
    "significant_groups",
    "value",
    "validated",
)


# --------------------------------------------------------------------------------------------------
# Reading the settings table


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(where: str, value) -> float:
    """A table cell as a float (NaN when blank); a non-number is an error naming the cell."""
    if _blank(value):
        return math.nan
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected a number, got {value!r:.40}") from None


def _predictor_names(rows: Sequence[Mapping]) -> list[str]:
    names = {}
    for row in rows:
        for key in row:
            if isinstance(key, str) and key.startswith("call:"):
                names[key[len("call:") :]] = None
    return list(names)


class _Table:
    """The columns the leaderboard needs, as arrays over the settings (validated)."""

    def __init__(self, rows, predictors, targets):
        if isinstance(rows, Mapping) or isinstance(rows, str | bytes):
            raise ValueError("rows: expected a sequence of dicts (one per setting), got one object")
        try:
            rows = list(rows)
        except TypeError:
            raise ValueError(
                f"rows: expected a sequence of dicts, got {type(rows).__name__}"
            ) from None
        if not rows:
            raise ValueError("rows: the settings table is empty")
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise ValueError(f"rows[{i}]: expected a dict, got {type(row).__name__}")
        self.n = len(rows)
        if isinstance(targets, str):
            targets = (targets,)
        targets = tuple(targets)
        if not targets:
            raise ValueError("targets: expected at least one of 'kd', 'transfer'")
        for t in targets:
            _checks.check_choice("targets", t, TARGETS)
        if len(set(targets)) != len(targets):
            raise ValueError(f"targets: {targets} repeats a target")
        self.targets = targets

        known = _predictor_names(rows)
        if predictors is None:
            predictors = known
        else:
            if isinstance(predictors, str):
                predictors = (predictors,)
            predictors = list(predictors)
            for p in predictors:
                if not isinstance(p, str) or p not in known:
                    raise ValueError(
                        f"predictors: {p!r} has no call:{p} column in rows (have: "
                        f"{', '.join(known) or 'none'})"
                    )
            if len(set(predictors)) != len(predictors):
                raise ValueError(f"predictors: {predictors} repeats a name")
        for reserved in (BASE_RATE, ORACLE):
            if reserved in predictors:
                raise ValueError(f"predictors: {reserved!r} is reserved for a reference row")
        self.predictors = predictors

        def where(i, key):
            setting = rows[i].get("setting")
            return f"rows[{i}]" + (f" (setting {setting!r})" if setting else "") + f".{key}"

        dataset = []
        for i, row in enumerate(rows):
            d = row.get("dataset")
            if _blank(d) or not isinstance(d, str):
                raise ValueError(f"{where(i, 'dataset')}: expected a dataset name, got {d!r}")
            dataset.append(d)
        self.dataset = np.asarray(dataset, dtype=object)
        self.datasets = list(dict.fromkeys(dataset))

        def level(i, key):  # NaN (blank) -> None: NaN != NaN would split every group
            v = _number(where(i, key), rows[i].get(key))
            return None if math.isnan(v) else v

        self.student_group = [(row["dataset"], str(row.get("student", ""))) for row in rows]
        self.group = [
            (
                row["dataset"],
                str(row.get("student", "")),
                level(i, "kd_weight"),
                level(i, "temperature"),
            )
            for i, row in enumerate(rows)
        ]
        self.outcome, self.delta = {}, {}
        for t in targets:
            out = []
            for i, row in enumerate(rows):
                o = row.get(f"outcome_{t}")
                o = "none" if _blank(o) else o
                if o not in _stats.OUTCOMES:
                    raise ValueError(
                        f"{where(i, f'outcome_{t}')}: expected one of gain, loss, none, got {o!r}"
                    )
                out.append(o)
            self.outcome[t] = np.asarray(out, dtype=object)
            self.delta[t] = np.asarray(
                [_number(where(i, f"delta_{t}"), r.get(f"delta_{t}")) for i, r in enumerate(rows)]
            )
        self.call, self.score, self.cost = {}, {}, {}
        for p in predictors:
            calls = []
            for i, row in enumerate(rows):
                c = row.get(f"call:{p}")
                c = None if _blank(c) else c  # not available on this setting
                if c is not None and c not in CALLS:
                    raise ValueError(
                        f"{where(i, f'call:{p}')}: expected one of distill, dont, abstain, got {c!r}"
                    )
                calls.append(c)
            self.call[p] = np.asarray(calls, dtype=object)
            self.score[p] = np.asarray(
                [_number(where(i, f"score:{p}"), r.get(f"score:{p}")) for i, r in enumerate(rows)]
            )
            self.cost[p] = np.asarray(
                [_number(where(i, f"cost:{p}"), r.get(f"cost:{p}")) for i, r in enumerate(rows)]
            )

    def available(self, p: str) -> np.ndarray:
        return np.asarray([c is not None for c in self.call[p]], dtype=bool)


# --------------------------------------------------------------------------------------------------
# Fitted thresholds, leave one dataset out


def fit_threshold(scores, gains) -> float:
    """The threshold on ``scores`` that maximises the right calls of ``distill iff score > t``.

    A call is right when it says 'distill' on a gain or 'dont' on a loss. The number of right
    calls is a step function of ``t`` that changes only at the observed scores; the optimal
    thresholds form one or more runs of adjacent steps. The lowest optimal run is taken and the
    threshold is its middle; when that run is unbounded below the threshold is ``-inf`` (distill
    everywhere), when unbounded above ``+inf`` (never distill), and when every threshold is
    optimal, the median score.

    Args:
      scores: ``[n]`` finite scores of the significant settings, n >= 1.
      gains: ``[n]`` booleans: True for a significant gain, False for a significant loss.

    Returns:
      The threshold (a float, possibly infinite).
    """
    s = _stats._vector("scores", scores)
    g = np.asarray(gains)
    if g.shape != s.shape or g.dtype != np.bool_:
        raise ValueError(
            f"gains: expected {s.size} booleans (one per score), got {g.dtype}{g.shape}"
        )
    u = np.unique(s)
    m = u.size
    at = np.searchsorted(u, s)
    gains_at = np.bincount(at[g], minlength=m)
    losses_at = np.bincount(at[~g], minlength=m)
    # right[j]: threshold in the j-th step: j = 0 below u[0], j = i + 1 in [u[i], u[i + 1]).
    right = np.concatenate(
        [[gains_at.sum()], gains_at.sum() - np.cumsum(gains_at) + np.cumsum(losses_at)]
    )
    optimal = right == right.max()
    j0 = int(np.argmax(optimal))
    j1 = j0
    while j1 + 1 <= m and optimal[j1 + 1]:
        j1 += 1
    low = -math.inf if j0 == 0 else float(u[j0 - 1])
    high = math.inf if j1 == m else float(u[j1])
    if math.isinf(low) and math.isinf(high):
        return float(np.median(s))
    if math.isinf(low) or math.isinf(high):
        return low if math.isinf(low) else high
    return 0.5 * (low + high)


def _lodo(table: _Table, p: str, target: str) -> tuple[np.ndarray, dict[str, float]]:
    """Calls of a fitted predictor re-made leave one dataset out, and the threshold per dataset."""
    score = table.score[p]
    ok = table.available(p) & np.isfinite(score)
    significant = ok & (table.outcome[target] != "none")
    gains = table.outcome[target] == "gain"
    calls = np.asarray([None if c is None else "abstain" for c in table.call[p]], dtype=object)
    thresholds = {}
    for d in table.datasets:
        train = significant & (table.dataset != d)
        if not train.any():  # nothing to fit on without D's own outcomes: no call on D
            thresholds[d] = math.nan
            continue
        t = fit_threshold(score[train], gains[train])
        thresholds[d] = t
        mine = ok & (table.dataset == d)
        calls[mine] = np.where(score[mine] > t, "distill", "dont")
    train = significant
    thresholds["all"] = fit_threshold(score[train], gains[train]) if train.any() else math.nan
    return calls, thresholds


def _fitted_names(predictors: list[str], fitted) -> set[str]:
    if fitted is not None:
        if isinstance(fitted, str):
            fitted = (fitted,)
        fitted = set(fitted)
        for name in fitted:
            if name not in predictors:
                raise ValueError(f"fitted: {name!r} is not one of the predictors {predictors}")
        return fitted
    try:
        from cch_jax.predictors import REGISTRY
    except ImportError as err:
        warnings.warn(
            f"fitted: cch_jax.predictors.REGISTRY is not importable ({err}), so no threshold is "
            "refitted; every predictor is scored on its own calls (pass fitted=... to say which "
            "are fitted)",
            UserWarning,
            stacklevel=3,
        )
        return set()
    return {p for p in predictors if p in REGISTRY and REGISTRY[p].threshold == "fitted"}


# --------------------------------------------------------------------------------------------------
# Scores


def _selection(table: _Table, mask: np.ndarray, score: np.ndarray, delta: np.ndarray):
    """(top1, regret, groups) of picking the top-scored teacher in each group under ``mask``."""
    groups: dict[tuple, list[int]] = {}
    for i in np.flatnonzero(mask & np.isfinite(delta)):
        groups.setdefault(table.group[i], []).append(int(i))
    hits, regrets = [], []
    for members in groups.values():
        if len(members) < 2:
            continue
        s = np.where(np.isfinite(score[members]), score[members], -np.inf)
        d = delta[members]
        picks = s == s.max()
        best = d.max()
        hits.append(float(np.mean(d[picks] >= best)))
        regrets.append(float(np.mean(best - d[picks])))
    if not hits:
        return math.nan, math.nan, 0
    return float(np.mean(hits)), float(np.mean(regrets)), len(hits)


def decision_value(calls, delta) -> float:
    """The mean gain of following a predictor's calls: 'distill' gains delta, anything else 0.

    Args:
      calls: ``[n]`` calls, 'distill' | 'dont' | 'abstain' (any other value counts as not
        distilling).
      delta: ``[n]`` measured effects of distilling (points: accuracy percentage points, or -MSE
        differences on a regression dataset); NaN entries are left out of the mean.

    Returns:
      ``mean_i [calls_i == 'distill'] * delta_i`` over the finite deltas, in delta's unit; NaN when
      there is none.
    """
    calls = np.asarray(calls, dtype=object)
    delta = np.asarray(delta, dtype=float)
    if calls.shape != delta.shape or delta.ndim != 1:
        raise ValueError(
            f"delta: expected {calls.size} effects (one per call), got shape {delta.shape}"
        )
    ok = np.isfinite(delta)
    if not ok.any():
        return math.nan
    return float(np.mean(np.where(calls[ok] == "distill", delta[ok], 0.0)))


def _paired(table: _Table, target: str, avail: np.ndarray, calls: np.ndarray) -> dict:
    """The paired-with-never columns (:data:`_PAIRED_COLUMNS`) of ``calls`` on ``avail``.

    ``avail``: ``[n]`` bools, the settings where the predictor is available in this row's pool;
    ``calls``: ``[n]`` object array of calls (None where unavailable).
    """
    out, delta = table.outcome[target], table.delta[target]
    sig = avail & (out != "none")
    distill = np.asarray([c == "distill" for c in calls], dtype=bool)
    gain, loss = out == "gain", out == "loss"
    right = sig & ((distill & gain) | (~distill & loss))  # abstain and dont: not distilling
    never = sig & loss
    wins, losses = int((sig & distill & gain).sum()), int((sig & distill & loss).sum())
    n, k, k0 = int(sig.sum()), int(right.sum()), int(never.sum())
    nan = math.nan
    if n:
        datasets = table.dataset[sig]
        groups = [table.student_group[i] for i in np.flatnonzero(sig)]
        diff = right[sig].astype(float) - never[sig].astype(float)
        diff_low, diff_high = _stats.cluster_bootstrap(datasets, diff)
        group_low, group_high = _stats.cluster_bootstrap(groups, right[sig].astype(float))
        p = _stats.mcnemar_exact(wins, losses)
    else:
        datasets, groups = [], []
        diff_low = diff_high = group_low = group_high = p = nan
    return dict(
        significant_all=n,
        right_abstain_never=k,
        accuracy_abstain_never=k / n if n else nan,
        never_right=k0,
        wins_vs_never=wins,
        losses_vs_never=losses,
        mcnemar_p=p,
        diff_never=(k - k0) / n if n else nan,
        diff_never_low=diff_low,
        diff_never_high=diff_high,
        group_low=group_low,
        group_high=group_high,
        significant_datasets=len(set(datasets)),
        significant_groups=len(set(groups)),
        value=decision_value(calls[avail], delta[avail]) if avail.any() else nan,
    )


def _predictor_row(table, p, target, mask, calls, scored, threshold) -> dict:
    """Predictor ``p``'s row on the settings under ``mask`` (``[n]`` bools) with ``calls`` (``[n]``
    objects: its own or the leave-one-dataset-out ones); every column of the module docstring."""
    avail = mask & np.asarray([c is not None for c in calls], dtype=bool)
    made = avail & np.asarray([c in ("distill", "dont") for c in calls], dtype=bool)
    out = table.outcome[target]
    sig = made & (out != "none")
    right = sig & (((calls == "distill") & (out == "gain")) | ((calls == "dont") & (out == "loss")))
    k, n = int(right.sum()), int(sig.sum())
    low, high = _stats.wilson_interval(k, n)
    score, delta = table.score[p], table.delta[target]
    ranked = avail & (out != "none") & np.isfinite(score)
    top1, regret, groups = _selection(table, avail, score, delta)
    costs = table.cost[p][avail]
    costs = costs[np.isfinite(costs)]
    paired = _paired(table, target, avail, calls)
    return dict(
        predictor=p,
        target=target,
        scored=scored,
        settings=int(avail.sum()),
        datasets=len(set(table.dataset[avail])),
        calls=int(made.sum()),
        right=k,
        significant=n,
        accuracy=k / n if n else math.nan,
        accuracy_low=low,
        accuracy_high=high,
        **paired,
        validated=is_validated(paired["mcnemar_p"], paired["diff_never_low"]),
        auroc=_stats.auroc(score[ranked], out[ranked] == "gain"),
        spearman=_stats.spearman(score[avail], delta[avail]),
        top1=top1,
        regret=regret,
        groups=groups,
        cost_s=float(costs.mean()) if costs.size else math.nan,
        threshold=threshold,
        gains=int((avail & (out == "gain")).sum()),
        losses=int((avail & (out == "loss")).sum()),
        majority=None,
    )


def _reference_row(table, target, mask, name: str) -> dict:
    """The ``base_rate`` (majority constant) or ``oracle`` (distill on significant gains) row."""
    outcome = table.outcome[target]
    out = outcome[mask]
    gains, losses = int((out == "gain").sum()), int((out == "loss").sum())
    n = gains + losses
    majority = "gain" if gains > losses else "loss" if losses > gains else "tie"
    if name == ORACLE:
        k, majority = n, None
        calls = np.where(outcome == "gain", "distill", "dont").astype(object)
    else:
        k = max(gains, losses)
        calls = np.full(table.n, "distill" if majority == "gain" else "dont", dtype=object)
    low, high = _stats.wilson_interval(k, n)
    nan = math.nan
    return dict(
        predictor=name,
        target=target,
        scored="reference",
        settings=int(mask.sum()),
        datasets=len(set(table.dataset[mask])),
        calls=int(mask.sum()),
        right=k,
        significant=n,
        accuracy=k / n if n else nan,
        accuracy_low=low,
        accuracy_high=high,
        **_paired(table, target, mask, calls),
        validated=None,
        auroc=nan,
        spearman=nan,
        top1=nan,
        regret=nan,
        groups=0,
        cost_s=0.0,
        threshold=nan,
        gains=gains,
        losses=losses,
        majority=majority,
    )


def leaderboard(
    rows: Sequence[Mapping],
    predictors: Sequence[str] | None = None,
    *,
    targets: Sequence[str] = TARGETS,
    fitted: Iterable[str] | None = None,
) -> list[dict]:
    """Scores every predictor against the measured KD outcomes, pooled and per dataset.

    See the module docstring for every column. A setting where a predictor's ``call:NAME`` is
    missing or blank (the predictor was not available there, e.g. a classification-only predictor
    on a regression dataset) is left out of that predictor's rows.

    Args:
      rows: the settings table, one mapping per setting (values may be strings, as read from
        the CSV; see :func:`read_settings`).
      predictors: predictor names to score, in the order to report them; None: every ``call:NAME``
        column, in order of first appearance.
      targets: which outcomes to score: ``'kd'`` (KD vs no KD) and/or ``'transfer'`` (KD vs the
        random-control teacher).
      fitted: names of predictors whose threshold is fitted (re-scored leave one dataset out);
        None: those with ``cch_jax.predictors.REGISTRY[name].threshold == 'fitted'``.

    Returns:
      A list of dicts with :data:`LEADERBOARD_COLUMNS`: for ``dataset`` in ``'all'`` (pooled)
      then each dataset, for each target, one row per predictor then the ``base_rate`` and
      ``oracle`` reference rows.
      Accuracies are proportions in [0, 1]; ``regret`` is in the unit of the deltas (points);
      ``value`` in the unit of the deltas (points); ``mcnemar_p`` a p-value; ``diff_never*`` differences
      of proportions; ``cost_s`` in seconds; ``validated`` a bool (None on reference rows); NaN where
      a score is undefined (no significant settings, one class, no group with 2 teachers).
    """
    table = _Table(rows, predictors, targets)
    fitted = _fitted_names(table.predictors, fitted)
    calls, thresholds = {}, {}
    for t in table.targets:
        for p in table.predictors:
            if p in fitted:
                calls[p, t], thresholds[p, t] = _lodo(table, p, t)
            else:
                calls[p, t], thresholds[p, t] = table.call[p], {}
    out = []
    everything = np.ones(table.n, dtype=bool)
    for dataset in ["all", *table.datasets]:
        mask = everything if dataset == "all" else table.dataset == dataset
        for t in table.targets:
            for p in table.predictors:
                scored = "lodo" if p in fitted else "natural"
                threshold = thresholds[p, t].get(dataset, math.nan)
                row = _predictor_row(table, p, t, mask, calls[p, t], scored, threshold)
                out.append({"dataset": dataset, **row})
            for name in (BASE_RATE, ORACLE):
                out.append({"dataset": dataset, **_reference_row(table, t, mask, name)})
    return [{c: r[c] for c in LEADERBOARD_COLUMNS} for r in out]


# --------------------------------------------------------------------------------------------------
# Records: the small summary `cch check` quotes


def make_records(board: Sequence[Mapping]) -> dict:
    """The ``records.json`` content: each predictor's pooled record per target.

    Args:
      board: rows of :func:`leaderboard`.

    Returns:
      ``{'schema': 'cch-bench-records/2', 'settings': int, 'datasets': [names],
      'bootstrap': {draws, seed, level}, 'validated': {target: [names]},
      'base_rate': {target: {...}}, 'predictors': {name: {target: {calls, right, significant,
      accuracy, accuracy_low, accuracy_high, auroc, settings, datasets, scored, threshold,
      significant_all, right_abstain_never, accuracy_abstain_never, never_right, wins_vs_never,
      losses_vs_never, mcnemar_p, diff_never, diff_never_low, diff_never_high, group_low,
      group_high, significant_datasets, significant_groups, value, validated}}}}`` (the columns of
      :func:`leaderboard`'s pooled rows) where ``settings``/``datasets`` count those where the
      predictor was available and ``threshold`` is the one fitted on every dataset (None for
      natural predictors). The base rate's entry per target has the majority constant's record
      (its fields as above but ``threshold`` and ``validated``, plus ``majority``, ``gains`` and
      ``losses``), never distilling's on the same significant settings (``never_right``,
      ``never_significant``, ``never_accuracy``; ``never_value`` = 0) and the reference values
      ``oracle_value`` (distilling on the significant gains only) and ``always_value`` (mean delta
      over all settings: the value of the board's ``always`` predictor when it has one that calls
      on every setting, else None), in points. Undefined values are None.
    """
    pooled = [r for r in board if r["dataset"] == "all"]
    base = [r for r in pooled if r["predictor"] == BASE_RATE]
    if not base:
        raise ValueError("board: no pooled base_rate row; pass the rows of leaderboard()")
    oracle = {r["target"]: r for r in pooled if r["predictor"] == ORACLE}
    always = {
        r["target"]: r
        for r in pooled
        if r["predictor"] == "always" and r["settings"] == r["calls"] == base[0]["settings"]
    }
    records = {
        "schema": RECORDS_SCHEMA,
        "settings": int(base[0]["settings"]),
        "datasets": list(dict.fromkeys(r["dataset"] for r in board if r["dataset"] != "all")),
        "bootstrap": {
            "draws": _stats.BOOTSTRAP_DRAWS,
            "seed": _stats.BOOTSTRAP_SEED,
            "level": 0.95,
            "diff_never": "whole datasets resampled",
            "group": "whole (dataset, student) groups resampled",
        },
        "validated": {},
        "base_rate": {},
        "predictors": {},
    }
    for r in pooled:
        entry = {f: _json_value(r[f]) for f in _RECORD_FIELDS}
        t = r["target"]
        if r["predictor"] == ORACLE:
            continue
        if r["predictor"] == BASE_RATE:
            entry["majority"] = r["majority"]
            entry.pop("threshold")
            entry.pop("validated")
            n, never = int(r["significant"]), int(r["losses"])
            o, a = oracle.get(t), always.get(t)
            entry.update(
                gains=int(r["gains"]),
                losses=never,
                never_right=never,
                never_significant=n,
                never_accuracy=_json_value(never / n if n else math.nan),
                never_value=0.0,
                always_value=None if a is None else _json_value(a["value"]),
                oracle_value=None if o is None else _json_value(o["value"]),
            )
            records["base_rate"][t] = entry
        else:
            if r["scored"] != "lodo":
                entry["threshold"] = None
            entry["validated"] = bool(r["validated"])
            records["predictors"].setdefault(r["predictor"], {})[t] = entry
            if entry["validated"]:
                records["validated"].setdefault(t, []).append(r["predictor"])
    for t in records["base_rate"]:
        records["validated"].setdefault(t, [])
    return records


def _json_value(v):
    if isinstance(v, float | np.floating):
        v = float(v)
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return v
    if isinstance(v, np.integer):
        return int(v)
    return v


# --------------------------------------------------------------------------------------------------
# Files


def read_settings(path) -> list[dict]:
    """Reads settings tables written by the benchmark.

    Args:
      path: a ``settings.csv``, or a benchmark folder: then every ``<path>/<dataset>/settings.csv``
        one level down, in sorted folder order (the combined ``<path>/settings.csv`` is an output
        of :func:`write_leaderboard`, not read).

    Returns:
      One dict per setting: ``dataset``, ``setting``, ``student``, ``teacher``, ``task``,
      ``outcome_*`` and ``call:*`` as strings; every other non-blank cell as a float when it
      parses as one (blank numeric cells as NaN), else the string.
    """
    if path is None or not isinstance(path, str | Path) and not hasattr(path, "__fspath__"):
        raise ValueError(f"path: expected a file or folder path, got {path!r:.40}")
    root = Path(path).expanduser()
    if root.is_dir():
        files = sorted(root.glob("*/settings.csv"))
        if not files:
            raise ValueError(f"path: no <dataset>/settings.csv under {str(root)!r}")
    elif root.is_file():
        files = [root]
    else:
        raise ValueError(f"path: {str(root)!r} does not exist")
    rows = []
    for file in files:
        with open(file, newline="", encoding="utf-8") as f:
            for raw in csv.DictReader(f):
                rows.append({k: _parse_cell(k, v) for k, v in raw.items() if k is not None})
    return rows


def _parse_cell(key: str, value):
    if key in _STRING_COLUMNS or key.startswith(("call:", "outcome_")):
        return value
    if _blank(value):
        return math.nan
    try:
        return float(value)
    except ValueError:
        return value


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float | np.floating):
        return "" if math.isnan(v) else repr(float(v))
    if isinstance(v, np.integer):
        return str(int(v))
    return str(v)


def _write_csv(path: Path, rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> None:
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c)) for c in columns])


def _fmt(v, digits: int = 2) -> str:
    """A number with ``digits`` decimals, '–' for None or NaN."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:.{digits}f}"


def _finite(v) -> bool:
    """Whether ``v`` is a finite real number (not None, not NaN, not a string)."""
    return v is not None and isinstance(v, int | float | np.number) and math.isfinite(v)


def _acc(r) -> str:
    """Accuracy on the calls made with its Wilson interval, in percent."""
    if not r["significant"]:
        return "–"
    return (
        f"{100 * r['accuracy']:.1f} % [{100 * r['accuracy_low']:.1f}, "
        f"{100 * r['accuracy_high']:.1f}]"
    )


def _acc_groups(r) -> str:
    """Accuracy with abstention as 'dont' and its student-group bootstrap interval, in percent."""
    if not r["significant_all"]:
        return "–"
    return (
        f"{100 * r['accuracy_abstain_never']:.1f} % [{100 * r['group_low']:.1f}, "
        f"{100 * r['group_high']:.1f}]"
    )


def _diff(r) -> str:
    """Accuracy minus never's, with its dataset bootstrap interval, in percentage points."""
    if not r["significant_all"]:
        return "–"
    return (
        f"{100 * r['diff_never']:+.1f} [{100 * r['diff_never_low']:+.1f}, "
        f"{100 * r['diff_never_high']:+.1f}]"
    )


def _p(v) -> str:
    """A p-value: three decimals, or two significant digits below 0.001."""
    if not _finite(v):
        return "–"
    return f"{v:.3f}" if v >= 0.001 else f"{v:.1e}"


def _yes(v) -> str:
    """``validated`` for the Markdown: '**yes**', 'no', or '–' (None, a reference row)."""
    return "–" if v is None else "**yes**" if v else "no"


def _sort_key(r):
    """Wilson lower bound of the accuracy on calls, best first (the calls-made table)."""
    low = r["accuracy_low"]
    return (-(low if math.isfinite(low) else -1.0), r["predictor"])


def _paired_key(r):
    """Validated first, then ``accuracy_abstain_never`` (highest first), then the McNemar p-value
    (smallest first), then the name."""
    acc, p = r["accuracy_abstain_never"], r["mcnemar_p"]
    return (
        not r["validated"],
        -acc if _finite(acc) else math.inf,
        p if _finite(p) else math.inf,
        r["predictor"],
    )


def _validated_sentence(rows: Sequence[Mapping]) -> str:
    """Says in words which predictors are validated among ``rows`` (one target, one pool)."""
    names = [r["predictor"] for r in rows if r["validated"]]
    if not names:
        return (
            f"**Validated: none.** No predictor beats never distilling both on the paired exact "
            f"McNemar test (p < {VALIDATION_ALPHA:g}) and on the dataset bootstrap (95 % interval "
            "of the accuracy gain above 0)."
        )
    return (
        f"**Validated: {', '.join(names)}** (McNemar p < {VALIDATION_ALPHA:g} against never "
        "distilling and a dataset-bootstrap 95 % interval of the accuracy gain above 0)."
    )


def validated_summary(board: Sequence[Mapping]) -> dict[str, list[str]]:
    """The validated predictors of a board's pooled rows, per target.

    Args:
      board: rows of :func:`leaderboard`.

    Returns:
      ``{target: [names]}`` in the board's order (an empty list: none validated).
    """
    out: dict[str, list[str]] = {}
    for r in board:
        if r["dataset"] == "all" and r["predictor"] not in (BASE_RATE, ORACLE):
            out.setdefault(r["target"], [])
            if r["validated"]:
                out[r["target"]].append(r["predictor"])
    return out


_UNITS = (
    "points: the unit of `delta_kd` / `delta_transfer`, i.e. percentage points of test accuracy "
    "on a classification dataset and the difference in −MSE on a regression one (gaussian)"
)


def leaderboard_markdown(board: Sequence[Mapping]) -> str:
    """A readable Markdown report of :func:`leaderboard`'s rows.

    Args:
      board: rows of :func:`leaderboard`.

    Returns:
      Markdown text: per target, whether any predictor is validated, the decision values of the
      references, the pooled rows with the paired and clustered statistics (validated first, then
      by the accuracy with abstentions as don't, then by the McNemar p) with the oracle and base rate
      below them, then the calls-made view (accuracy on calls with its Wilson interval, AUROC,
      teacher selection, cost); then per dataset the significant effects and every predictor's
      right / significant, and every score per dataset.
    """
    pooled = [r for r in board if r["dataset"] == "all"]
    datasets = list(dict.fromkeys(r["dataset"] for r in board if r["dataset"] != "all"))
    targets = list(dict.fromkeys(r["target"] for r in board))
    refs = (BASE_RATE, ORACLE)
    lines = ["# KD-outcome benchmark: which predictor says when to distill?", ""]
    base_all = {r["target"]: r for r in pooled if r["predictor"] == BASE_RATE}
    oracle_all = {r["target"]: r for r in pooled if r["predictor"] == ORACLE}
    first = base_all[targets[0]]
    lines.append(
        f"{first['settings']} settings over {len(datasets)} dataset(s) ({', '.join(datasets)}). "
        "A call is right when it says distill on a significant gain or don't on a significant "
        "loss; settings without a significant outcome are not scored. The settings are not "
        "independent: those of a dataset share its data, those of a student group (dataset, "
        "student) share one no-KD arm. So every predictor is compared with *never distill* on "
        "the same significant settings, with each abstention counted as don't: the exact "
        "two-sided McNemar test on the settings where exactly one of the two is right (the "
        "predictor's distill calls on gains against those on losses), and a 95 % percentile "
        f"interval of the accuracy gain over never from resampling whole datasets "
        f"({_stats.BOOTSTRAP_DRAWS} draws, seed {_stats.BOOTSTRAP_SEED}). The accuracy's own "
        "95 % interval resamples whole student groups. A predictor is **validated** when "
        f"McNemar p < {VALIDATION_ALPHA:g} and the dataset interval of its gain lies above 0. "
        f"Value: the mean Δ over all settings (significant or not) when the call is followed "
        f"(distill: Δ; don't or abstain: 0), in {_UNITS}. The oracle distills exactly on the "
        "significant gains. `lodo`: the predictor's threshold was fitted leave one dataset out."
    )
    header = (
        "| predictor | scored | right / significant (abstain = don't) | distill on gains / "
        "on losses | McNemar p vs never | accuracy gain vs never, points [95 % dataset "
        "bootstrap] | accuracy [95 % group bootstrap] | value (points) | validated |"
    )
    rule = "|---|---|---|---|---|---|---|---|---|"
    calls_header = (
        "| predictor | scored | accuracy on calls [95 % Wilson] | right / significant | calls | "
        "AUROC | Spearman | top-1 | regret (points) | cost (s) |"
    )
    calls_rule = "|---|---|---|---|---|---|---|---|---|---|"
    for t in targets:
        base, oracle = base_all[t], oracle_all[t]
        rows = sorted(
            (r for r in pooled if r["target"] == t and r["predictor"] not in refs),
            key=_paired_key,
        )
        by_name = {r["predictor"]: r for r in rows}
        values = [f"oracle {_fmt(oracle['value'])}"]
        if "always" in by_name:
            values.append(f"always {_fmt(by_name['always']['value'])}")
        values.append("never 0")
        lines += [
            "",
            f"## {_TARGET_TITLES.get(t, t)}",
            "",
            f"Significant outcomes: {base['gains']} gains, {base['losses']} losses "
            f"({base['significant']} settings from {base['significant_datasets']} dataset(s) and "
            f"{base['significant_groups']} student group(s)); never distilling is right on "
            f"{base['never_right']} of {base['significant']}.",
            "",
            _validated_sentence(rows),
            "",
            *(
                []
                if base["majority"] == "loss"
                else [
                    f"Here the majority outcome is {base['majority']}, not loss, so never "
                    "distilling is a weak reference and beating it is a low bar: compare a "
                    "predictor with the base rate (and with always) too.",
                    "",
                ]
            ),
            f"Decision value (mean Δ over all {base['settings']} settings, points): "
            + ", ".join(values)
            + ".",
            "",
            header,
            rule,
        ]
        for r in rows:
            lines.append(
                f"| {r['predictor']} | {r['scored']} | {r['right_abstain_never']} / "
                f"{r['significant_all']} | {r['wins_vs_never']} / {r['losses_vs_never']} | "
                f"{_p(r['mcnemar_p'])} | {_diff(r)} | {_acc_groups(r)} | {_fmt(r['value'])} | "
                f"{_yes(r['validated'])} |"
            )
        lines.append(
            f"| *oracle (distill on the significant gains)* | reference | {oracle['right']} / "
            f"{oracle['significant']} | {oracle['wins_vs_never']} / "
            f"{oracle['losses_vs_never']} | – | – | – | {_fmt(oracle['value'])} | – |"
        )
        lines.append(
            f"| *base rate (majority: {base['majority']})* | reference | {base['right']} / "
            f"{base['significant']} | – | – | – | – | {_fmt(base['value'])} | – |"
        )
        lines += [
            "",
            f"### {_TARGET_TITLES.get(t, t)}: the calls made",
            "",
            "Accuracy on the significant settings where the predictor made a call (abstentions "
            "left out), with the 95 % Wilson interval, which treats the settings as independent "
            "and so is too narrow; AUROC: the score separating significant gains from losses; "
            "Spearman: score vs Δ over all settings; top-1 / regret: picking the top-scored "
            "teacher per (dataset, student, kd_weight, T).",
            "",
            calls_header,
            calls_rule,
        ]
        for r in sorted(rows, key=_sort_key):
            lines.append(
                f"| {r['predictor']} | {r['scored']} | {_acc(r)} | {r['right']} / "
                f"{r['significant']} | {r['calls']} | {_fmt(r['auroc'])} | "
                f"{_fmt(r['spearman'])} | {_fmt(r['top1'])} | {_fmt(r['regret'])} | "
                f"{_fmt(r['cost_s'], 3)} |"
            )
        lines.append(
            f"| *base rate (majority: {base['majority']})* | reference | {_acc(base)} | "
            f"{base['right']} / {base['significant']} | {base['calls']} | – | – | – | – | – |"
        )
    lines += [
        "",
        "## Per dataset",
        "",
        "Where the right calls come from: per dataset, the significant effects and each "
        "predictor's right / significant with abstentions counted as don't (predictors in the "
        "order of the pooled table).",
    ]
    for t in targets:
        names = [
            r["predictor"]
            for r in sorted(
                (r for r in pooled if r["target"] == t and r["predictor"] not in refs),
                key=_paired_key,
            )
        ]
        cell = {
            (r["dataset"], r["predictor"]): r
            for r in board
            if r["target"] == t and r["dataset"] != "all"
        }
        lines += [
            "",
            f"### {_TARGET_TITLES.get(t, t)}, per dataset",
            "",
            "| | " + " | ".join(datasets) + " |",
            "|---|" + "---|" * len(datasets),
        ]
        base_cells = []
        for d in datasets:
            b = cell[d, BASE_RATE]
            base_cells.append(f"{b['significant']} ({b['gains']} / {b['losses']})")
        lines.append("| significant (gains / losses) | " + " | ".join(base_cells) + " |")
        for name in names:
            cells = []
            for d in datasets:
                r = cell.get((d, name))
                cells.append(
                    "–"
                    if r is None or not r["significant_all"]
                    else f"{r['right_abstain_never']} / {r['significant_all']}"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per dataset, every score",
        "",
        "Within one dataset the dataset bootstrap has one cluster, so it is not shown; the "
        "group interval resamples that dataset's student groups.",
        "",
        "| dataset | target | predictor | scored | right / significant (abstain = don't) | "
        "McNemar p vs never | accuracy [95 % group bootstrap] | value (points) | "
        "accuracy on calls [95 % Wilson] | right / significant | calls | AUROC | Spearman | "
        "top-1 | regret (points) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in datasets:
        for t in targets:
            rows = [r for r in board if r["dataset"] == d and r["target"] == t]
            rows = sorted((r for r in rows if r["predictor"] not in refs), key=_paired_key) + [
                r for r in rows if r["predictor"] in refs
            ]
            for r in rows:
                name = r["predictor"]
                if name == BASE_RATE:
                    name = f"*base rate ({r['majority']})*"
                elif name == ORACLE:
                    name = "*oracle*"
                lines.append(
                    f"| {d} | {t} | {name} | {r['scored']} | {r['right_abstain_never']} / "
                    f"{r['significant_all']} | {_p(r['mcnemar_p'])} | {_acc_groups(r)} | "
                    f"{_fmt(r['value'])} | {_acc(r)} | {r['right']} / {r['significant']} | "
                    f"{r['calls']} | {_fmt(r['auroc'])} | {_fmt(r['spearman'])} | "
                    f"{_fmt(r['top1'])} | {_fmt(r['regret'])} |"
                )
    return "\n".join(lines) + "\n"


def plot_leaderboard(board: Sequence[Mapping], path) -> None:
    """Draws each predictor's pooled accuracy gain over never distilling, one panel per target.

    The gain is ``accuracy_abstain_never`` minus never's accuracy on the same significant
    settings, in percentage points, with its 95 % dataset-bootstrap interval; the dashed line at
    0 is never distilling, validated predictors are drawn filled in green. Draws on a standalone
    ``matplotlib.figure.Figure``: neither pyplot nor the global backend is touched. Predictors
    without significant settings are left out.

    Args:
      board: rows of :func:`leaderboard`.
      path: the image file to write (e.g. ``leaderboard.png``).

    Returns:
      None.
    """
    from matplotlib.figure import Figure

    pooled = [r for r in board if r["dataset"] == "all"]
    targets = list(dict.fromkeys(r["target"] for r in pooled))
    refs = (BASE_RATE, ORACLE)
    names = {r["predictor"] for r in pooled if r["predictor"] not in refs}
    fig = Figure(figsize=(5.6 * len(targets), 0.32 * max(len(names), 1) + 1.9))
    axes = fig.subplots(1, len(targets), squeeze=False)[0]
    for ax, t in zip(axes, targets, strict=True):
        rows = [
            r
            for r in pooled
            if r["target"] == t and r["predictor"] not in refs and r["significant_all"] > 0
        ]
        rows = sorted(rows, key=_paired_key)[::-1]  # best at the top
        for y, r in enumerate(rows):
            d = 100 * r["diff_never"]
            lo, hi = 100 * r["diff_never_low"], 100 * r["diff_never_high"]
            color = (
                "tab:green"
                if r["validated"]
                else ("tab:orange" if r["scored"] == "lodo" else "tab:blue")
            )
            face = color if r["validated"] else "white"
            ax.errorbar(d, y, xerr=[[d - lo], [hi - d]], fmt="o", color=color, mfc=face, capsize=3)
        ax.set_yticks(
            np.arange(len(rows)),
            [f"{r['predictor']} (p={_p(r['mcnemar_p'])})" for r in rows],
        )
        ax.axvline(0.0, color="black", ls="--", lw=0.9, label="never distill")
        ax.legend(loc="lower right", fontsize=8)
        ax.set_xlim(-100.0, 100.0)
        ax.set_xlabel("accuracy − never's, points (95 % dataset bootstrap)")
        ax.set_title(_TARGET_TITLES.get(t, t), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


# Datasets whose outcome is known by construction (the theory's Gaussian family, the MFH family of
# theory/mfh.md): scored and reported, but kept out of the "real" pool that cch check quotes.
KNOWN_ANSWER = ("gaussian", "mfh")
REAL_POOL = "real"


def real_pool(rows: Sequence[Mapping], known_answer: Sequence[str] = KNOWN_ANSWER, **kwargs):
    """The leaderboard of the real datasets only (every dataset not in ``known_answer``).

    Fitted thresholds are re-fitted leave one dataset out among the real datasets alone.

    Args:
      rows: the settings table (see :func:`leaderboard`).
      known_answer: datasets left out (default: the theory's Gaussian family).
      **kwargs: passed to :func:`leaderboard` (``predictors``, ``targets``, ``fitted``).

    Returns:
      :func:`leaderboard`'s rows on the real datasets (pooled rows: ``dataset = "all"``), or
      ``[]`` when ``rows`` has no real or no known-answer dataset (the full board says it all).
    """
    real = [r for r in rows if str(r["dataset"]) not in known_answer]
    if not real or len(real) == len(rows):
        return []
    return leaderboard(real, **kwargs)


def write_leaderboard(
    rows: Sequence[Mapping],
    out_dir,
    predictors: Sequence[str] | None = None,
    *,
    targets: Sequence[str] = TARGETS,
    fitted: Iterable[str] | None = None,
    known_answer: Sequence[str] = KNOWN_ANSWER,
) -> dict[str, Path]:
    """Scores the predictors (:func:`leaderboard`) and writes the leaderboard files.

    Besides the pooled (``"all"``) and per-dataset rows, ``leaderboard.csv`` holds the rows pooled
    over the real datasets (``"real"``, :func:`real_pool`), and ``records.json`` (what ``cch
    check`` quotes to a user about their own data) is made from that real pool when there is one.

    Args:
      rows: the settings table (see :func:`leaderboard`).
      out_dir: folder to write into (created).
      predictors: as in :func:`leaderboard`.
      targets: as in :func:`leaderboard`.
      fitted: as in :func:`leaderboard`.
      known_answer: datasets kept out of the real pool (default: the Gaussian family).

    Returns:
      ``{'leaderboard': leaderboard.csv, 'settings': settings.csv (the input table, every
      column), 'markdown': leaderboard.md, 'figure': leaderboard.png (the real pool when there
      is one), 'records': records.json}`` as paths.
    """
    folder = _checks.check_output_dir("out_dir", out_dir)
    rows = list(rows) if not isinstance(rows, Mapping) else rows
    board = leaderboard(rows, predictors, targets=targets, fitted=fitted)
    real = real_pool(rows, known_answer, predictors=predictors, targets=targets, fitted=fitted)
    paths = {
        "leaderboard": folder / "leaderboard.csv",
        "settings": folder / "settings.csv",
        "markdown": folder / "leaderboard.md",
        "figure": folder / "leaderboard.png",
        "records": folder / "records.json",
    }
    pooled = [r for r in board if r["dataset"] == "all"]
    rest = [r for r in board if r["dataset"] != "all"]
    real_rows = [{**r, "dataset": REAL_POOL} for r in real if r["dataset"] == "all"]
    _write_csv(paths["leaderboard"], [*pooled, *real_rows, *rest], LEADERBOARD_COLUMNS)
    _write_csv(paths["settings"], rows)
    text = leaderboard_markdown(board)
    quoted = real if real else board
    pool = "the real datasets" if real else "all datasets"
    said = []
    for t, names in validated_summary(quoted).items():
        what = _TARGET_TITLES.get(t, t)
        said.append(f"{what}: {', '.join(names) if names else 'none'}")
    text = (
        f"**Validated predictors on {pool} (the pool records.json holds)** -- {'; '.join(said)}. "
        f"A predictor is validated when it beats never distilling on the paired exact McNemar "
        f"test (p < {VALIDATION_ALPHA:g}) and the 95 % interval of its accuracy gain over never, "
        "from resampling whole datasets, lies above 0.\n\n" + text
    )
    if real:
        text += (
            "\n\n# The same on the real datasets only (without "
            + ", ".join(known_answer)
            + "; fitted thresholds re-fitted among them)\n\n"
            + leaderboard_markdown(real)
        )
        plot_leaderboard(real, paths["figure"])
        records = make_records(real)
        records["pool"] = f"real datasets (all but {', '.join(known_answer)})"
    else:
        plot_leaderboard(board, paths["figure"])
        records = make_records(board)
        records["pool"] = "all datasets"
    paths["markdown"].write_text(text, encoding="utf-8")
    paths["records"].write_text(
        json.dumps(records, indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    return paths
