"""The measured record of deciding by training: the pilots, the full-data runs and ``cch trial``,
scored as predictors of the outcome exactly as the pilot is.

Each is trained per student group by :func:`_students.train_group` with a
:class:`_plan.Variant`: KD vs no KD (the call's two arms; no control) from the group's own
teachers, with seeds disjoint from the outcome's (the outcome 0..9, the pilots 1000.., the record
2000..), on the outcome's fit and validation rows or a stratified share of them, scored on the
criterion rows (never the test rows that measure the outcome). Per setting the per-seed
differences ``d_s = acc_s(KD) - acc_s(no KD)`` give the predictors (:data:`NAMES`):

* ``pilot_half``: half of the rows x the pilot's seeds; distill iff mean(d) > 0 (the pilot's
  rule, ``cch_jax.predictors`` 'pilot', which is the same at a quarter of the rows);
* ``halving``: the two pilots' mean differences extrapolated to all the rows, linear in the
  log of the rows: ``Δ(1) = 2 Δ(1/2) - Δ(1/4)`` (with the pilot at a quarter of the rows, the
  default); distill iff it is > 0; its cost is both pilots'. Nothing is fitted to outcomes;
* ``full1``, ``full3``: all rows, the first 1 or 3 record seeds; distill iff mean(d) > 0;
* ``trial``: all rows, the sequential rule of ``cch trial`` (:mod:`_sequential`: looks 3, 5, 7, 10
  at ``alpha``, O'Brien-Fleming spending) on the record seeds in order; 'abstain' when undecided.
  ``cch trial`` trains seeds in batches of :data:`_trial.SEED_BATCH`: its cost counts every
  seed of the batches it trained (5 when it stops at 3 or 5 seeds, 10 at 7 or 10);
* ``trial_futility``: the same with ``cch trial --min-effect 1`` (:data:`FUTILITY_POINTS`): a
  look that does not call also stops, 'abstain', once the 95 % interval of Δ_KD lies inside
  (-1, +1) points.

Cost, per setting, as a user deciding that one setting would pay:

* ``compute:NAME``: row-epochs (fit rows x epochs, summed over the no-KD and KD runs of the
  seeds used) over those of the outcome's measurement of the setting (fit rows x the epochs of
  its no-KD, KD and control runs over ``num_seeds`` seeds). Teachers are not counted (both
  need them). ``cch trial`` also trains a control arm (for Δ_transfer; it does not change the
  call): about one more KD arm of compute, not counted here.
* ``cost:NAME``: wall seconds, the variant's group time x the share of its seeds used over the
  group's settings (the pilot's convention).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from cch_jax.bench import _sequential
from cch_jax.bench._plan import Group, Plan
from cch_jax.bench._students import Arm, GroupRuns, _pick
from cch_jax.bench._trial import SEED_BATCH

NAMES = ("pilot_half", "halving", "full1", "full3", "trial", "trial_futility")
FUTILITY_POINTS = 1.0  # trial_futility's min_effect (accuracy points)
_SPENDING = "obrien_fleming"  # cch trial's default


class _Arms:
    """The per-seed no-KD and KD results of one setting in one variant's runs."""

    def __init__(self, res: GroupRuns, teacher: int, kd_weight: float, seeds: int):
        nokd, e_nokd = _pick(res, Arm.NO_KD, -1, 0.0, seeds)
        kd, e_kd = _pick(res, Arm.KD, teacher, kd_weight, seeds)
        self.delta = kd - nokd  # [S]
        self.epochs = e_kd + e_nokd  # [S]
        self.rows = int(res.rows)
        self.seconds_per_seed = res.seconds / seeds


def _sign_call(delta: np.ndarray) -> tuple[str, float]:
    """The pilot's rule: distill iff mean > 0; score = mean / (sd / sqrt(S) + 1e-9)."""
    s = delta.size
    mean = float(delta.mean())
    sd = float(delta.std(ddof=1)) if s > 1 else 0.0
    return ("distill" if mean > 0 else "dont"), mean / (sd / math.sqrt(s) + 1e-9)


def trial_call(
    delta: np.ndarray, alpha: float, min_effect: float | None = None
) -> tuple[str, float, int, int]:
    """``cch trial``'s sequential decision on per-seed differences taken in order.

    Args:
      delta: ``[S]`` per-seed differences, S >= 3 (S = the trial's ``max_seeds``).
      alpha: the family-wise level.
      min_effect: ``cch trial``'s futility bound (points), or None (its default: no futility
        stop).

    Returns:
      ``(call, score, seeds used, seeds trained)``: call 'distill', 'dont' or 'abstain'
      (undecided at S seeds); score = the paired t at the stopping look (0 without spread);
      seeds trained rounds the seeds used up to a whole batch of :data:`SEED_BATCH` (at most S).
    """
    delta = np.asarray(delta, np.float64)
    rule = _sequential.sequential_rule(
        delta.size, alpha=alpha, spending=_SPENDING, min_effect=min_effect
    )
    codes, used = _sequential.simulate(delta[None], rule)
    n = int(used[0])
    call = {_sequential.DISTILL: "distill", _sequential.DONT: "dont"}.get(int(codes[0]), "abstain")
    t = _sequential.paired_t(delta[:n])
    score = float(t.t) if math.isfinite(t.t) else 0.0
    trained = min(delta.size, SEED_BATCH * math.ceil(n / SEED_BATCH))
    return call, score, n, trained


def full_row_epochs(row: Mapping, fit_rows: int) -> float:
    """Row-epochs of the outcome's measurement of one setting (no KD, KD and control over its
    seeds), from its settings-table row (per-seed mean epochs x ``num_seeds``)."""
    e = float(row["epochs_nokd"]) + float(row["epochs_kd"]) + float(row["epochs_control"])
    return fit_rows * int(row["num_seeds"]) * e


def setting_columns(
    plan: Plan, group: Group, setting, runs: Mapping[str, GroupRuns], full_work: float
) -> dict:
    """The record's columns of one setting.

    Args:
      plan: the ``_plan.Plan``.
      group: the setting's student :class:`Group`.
      setting: the ``Setting``.
      runs: variant name -> its cached runs of the group (:func:`_students.train_group`).
      full_work: row-epochs of the outcome's measurement of the setting (:func:`full_row_epochs`).

    Returns:
      ``call:NAME``, ``score:NAME``, ``cost:NAME``, ``compute:NAME`` for every name of
      :data:`NAMES` whose runs are present, ``compute:pilot`` and ``record_pilot_delta`` (the
      pilot's mean difference again, which must equal ``pilot_delta``).
    """
    j = group.teachers.index(setting.teacher)
    n_set = len(group.settings)
    w = setting.kd_weight
    out: dict = {}

    def put(name, arms: _Arms, call, score, seeds_used, seeds_trained):
        out[f"call:{name}"] = call
        out[f"score:{name}"] = float(score)
        out[f"cost:{name}"] = arms.seconds_per_seed * seeds_trained / n_set
        work = arms.rows * float(arms.epochs[:seeds_trained].sum())
        out[f"compute:{name}"] = work / full_work if full_work > 0 else math.nan
        out[f"seeds:{name}"] = seeds_used

    s = len(plan.config.pilot_seed_values)
    if "pilot" in runs:
        quarter = _Arms(runs["pilot"], j, w, s)
        out["compute:pilot"] = quarter.rows * float(quarter.epochs.sum()) / full_work
        out["record_pilot_delta"] = float(quarter.delta.mean())
    if "pilot_half" in runs:
        half = _Arms(runs["pilot_half"], j, w, s)
        put("pilot_half", half, *_sign_call(half.delta), s, s)
        if "pilot" in runs and math.isclose(plan.config.pilot_fraction, 0.25):
            guess = 2.0 * float(half.delta.mean()) - float(quarter.delta.mean())
            out["call:halving"] = "distill" if guess > 0 else "dont"
            out["score:halving"] = guess
            out["cost:halving"] = (half.seconds_per_seed + quarter.seconds_per_seed) * s / n_set
            both = half.rows * half.epochs.sum() + quarter.rows * quarter.epochs.sum()
            out["compute:halving"] = float(both) / full_work
            out["seeds:halving"] = s
    if "record" in runs:
        s = len(plan.config.record_seed_values)
        arms = _Arms(runs["record"], j, w, s)
        for k, name in ((1, "full1"), (3, "full3")):
            put(name, arms, *_sign_call(arms.delta[:k]), k, k)
        call, score, used, trained = trial_call(arms.delta, plan.config.alpha)
        put("trial", arms, call, score, used, trained)
        call, score, used, trained = trial_call(arms.delta, plan.config.alpha, FUTILITY_POINTS)
        put("trial_futility", arms, call, score, used, trained)
        out["record_deltas"] = " ".join(f"{d:.6g}" for d in arms.delta)
    return out


def add_columns(
    rows: Sequence[dict], plan: Plan, runs: Mapping[int, Mapping[str, GroupRuns]]
) -> list[dict]:
    """The settings-table rows with the record's columns (:func:`setting_columns`) merged in.

    Args:
      rows: the dataset's settings-table rows (as written by ``_table.setting_rows`` or read back
        from its ``settings.csv``), one per setting of the plan.
      plan: the ``_plan.Plan``.
      runs: group index -> variant name -> that variant's cached runs.

    Returns:
      New row dicts, in the rows' order.

    Raises:
      ValueError: a setting of the plan has no row, or the re-trained pilot disagrees with the
        row's ``pilot_delta`` (the training is not reproducible: the record would not be paired
        with the outcome it scores).
    """
    by_id = {str(r["setting"]): i for i, r in enumerate(rows)}
    out = [dict(r) for r in rows]
    fit_rows = plan.sizes["fit"]
    for g in plan.groups:
        for st in g.settings:
            if st.setting not in by_id:
                raise ValueError(f"settings: no row for {st.setting}")
            row = out[by_id[st.setting]]
            cols = setting_columns(plan, g, st, runs[g.index], full_row_epochs(row, fit_rows))
            old = row.get("pilot_delta")
            new = cols.get("record_pilot_delta")
            if old not in (None, "") and new is not None and abs(float(old) - new) > 1e-4:
                raise ValueError(
                    f"pilot_delta: the pilot of {st.setting} re-trained to {new:.6g}, the table "
                    f"says {float(old):.6g}; the training is not reproducible here"
                )
            row.update(cols)
    return out
