"""The leaderboard as a readable Markdown report (:func:`leaderboard_markdown`).

The columns it shows are defined in :mod:`cch_jax.bench._board`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from cch_jax.bench import _stats
from cch_jax.bench._board_table import BASE_RATE, ORACLE
from cch_jax.predictors._records import VALIDATION_ALPHA

_TARGET_TITLES = {
    "kd": "KD vs no KD (delta_kd)",
    "transfer": "KD vs a random-control teacher (delta_transfer)",
}


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
    lines += _training_section(pooled, targets)
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


def _trains(r: Mapping) -> bool:
    return _finite(r.get("compute_fraction"))


def _training_section(pooled: Sequence[Mapping], targets: Sequence[str]) -> list[str]:
    """The 'deciding by training' table: the predictors with a compute fraction, by cost."""
    lines: list[str] = []
    for t in targets:
        rows = sorted(
            (r for r in pooled if r["target"] == t and _trains(r)),
            key=lambda r: r["compute_fraction"],
        )
        if not rows:
            continue
        lines += [
            "",
            f"### {_TARGET_TITLES.get(t, t)}: deciding by training, against its cost",
            "",
            "The predictors that train KD and no KD themselves (their own seeds, scored on the "
            "criterion rows): the pilots at a share of the rows, the full-data runs of 1 and 3 "
            "seeds, and `cch trial`'s sequential rule ('abstain' when undecided). Compute: "
            "row-epochs over those of the outcome's own measurement of the setting (10 seeds of "
            "no KD, KD and control); wall: seconds over the outcome's, likewise.",
            "",
            "| predictor | right / significant (abstain = don't) | accuracy on calls "
            "[95 % Wilson] | calls / settings | McNemar p vs never | accuracy gain vs never, "
            "points [95 % dataset bootstrap] | accuracy [95 % group bootstrap] | compute | "
            "wall | validated |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| {r['predictor']} | {r['right_abstain_never']} / {r['significant_all']} | "
                f"{_acc(r)} | {r['calls']} / {r['settings']} | {_p(r['mcnemar_p'])} | "
                f"{_diff(r)} | {_acc_groups(r)} | {100 * r['compute_fraction']:.0f} % | "
                f"{100 * r['wall_fraction']:.0f} % | {_yes(r['validated'])} |"
            )
    return lines
