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
- ``compute_fraction``: for a predictor that decides by training (the pilots, ``full1``,
  ``full3``, ``trial``: ``_record``), the mean over settings of its row-epochs (fit rows x epochs
  of the runs it trained) over those of the outcome's own measurement of the setting (its ``num_seeds``
  seeds of no KD, KD and control), from the ``compute:NAME`` columns; ``wall_fraction``: the
  mean of ``cost:NAME / full_cost_s`` (wall time, shared out over a group's settings; the two
  may come from different runs of the machine). NaN for predictors that train nothing.
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

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from cch_jax.bench import _stats
from cch_jax.bench._board_table import BASE_RATE, ORACLE, _Table
from cch_jax.predictors._records import TARGETS, is_validated

PAIRED_COLUMNS = (  # the comparison with never distilling (module docstring)
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
    *PAIRED_COLUMNS,
    "auroc",
    "spearman",
    "top1",
    "regret",
    "groups",
    "cost_s",
    "compute_fraction",
    "wall_fraction",
    "threshold",
    "gains",
    "losses",
    "majority",
)


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
    from cch_jax.predictors import REGISTRY

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
    compute = table.compute[p][avail]
    compute = compute[np.isfinite(compute)]
    wall = (table.cost[p] / table.full_cost)[avail]
    wall = wall[np.isfinite(wall)] if compute.size else wall[:0]
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
        compute_fraction=float(compute.mean()) if compute.size else math.nan,
        wall_fraction=float(wall.mean()) if wall.size else math.nan,
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
        compute_fraction=nan,
        wall_fraction=nan,
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
