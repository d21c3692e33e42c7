"""The leaderboard's figures: accuracy gains over never distilling, and accuracy against compute.

Each draws on a standalone ``matplotlib.figure.Figure`` (neither pyplot nor the global backend is
touched).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cch_jax.bench._board_report import _TARGET_TITLES, _p, _paired_key, _trains
from cch_jax.bench._board_table import BASE_RATE, ORACLE


def plot_training_cost(board: Sequence[Mapping], path, target: str = "kd") -> bool:
    """Draws accuracy against compute for the predictors that decide by training.

    Each point is a predictor's pooled ``accuracy_abstain_never`` (with its 95 % student-group
    bootstrap interval) against its ``compute_fraction`` (percent of the outcome's own row-epochs);
    never distilling is the dashed line. Draws on a standalone ``matplotlib.figure.Figure``.

    Args:
      board: rows of :func:`leaderboard`.
      path: the image file to write.
      target: 'kd' or 'transfer'.

    Returns:
      True when drawn, False when no pooled row of ``target`` has a compute fraction (nothing is
      written).
    """
    from matplotlib.figure import Figure

    pooled = [r for r in board if r["dataset"] == "all" and r["target"] == target]
    rows = [r for r in pooled if _trains(r) and r["significant_all"] > 0]
    if not rows:
        return False
    never = next((r for r in pooled if r["predictor"] == "never"), None)
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.subplots()
    rows = sorted(rows, key=lambda r: r["compute_fraction"])
    for i, r in enumerate(rows):
        x = 100 * r["compute_fraction"]
        y = 100 * r["accuracy_abstain_never"]
        lo, hi = 100 * r["group_low"], 100 * r["group_high"]
        color = "tab:green" if r["validated"] else "tab:blue"
        ax.errorbar(x, y, yerr=[[y - lo], [hi - y]], fmt="o", color=color, capsize=3)
        below = i % 2 == 1  # neighbours in compute alternate above and below: no overlaps
        ax.annotate(
            r["predictor"],
            (x, y),
            textcoords="offset points",
            xytext=(5, -11 if below else 4),
            fontsize=8,
        )
    if never is not None and never["significant_all"]:
        ax.axhline(
            100 * never["accuracy_abstain_never"],
            color="black",
            ls="--",
            lw=0.9,
            label="never distill",
        )
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel("compute, % of the outcome's own measurement (row-epochs)")
    ax.set_ylabel("right on significant effects, % (abstain = don't)")
    ax.set_ylim(0.0, 100.0)
    ax.set_xlim(left=0.0)
    ax.set_title(f"Deciding by training: {_TARGET_TITLES.get(target, target)}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return True


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
