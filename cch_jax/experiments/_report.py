"""Writing an experiment's results: tidy CSVs, a JSON document, a Markdown report and a figure."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

SUMMARY_COLUMNS = (
    "dataset",
    "teacher_name",
    "student",
    "teacher_accuracy",
    "gap_estimator",
    "gap",
    "gap_low",
    "gap_high",
    "verdict",
    "no_kd_mean",
    "no_kd_se",
    "kd_mean",
    "kd_se",
    "delta",
    "delta_se",
    "p_value",
    "outcome",
    "verdict_matched",
    "seeds",
)


def _plain(obj):
    """JSON-ready copy: NaN -> None, tuples -> lists, NumPy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


def _write_csv(path: Path, rows, columns=None) -> None:
    cols = list(columns) if columns else list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def _pm(m, se, scale=100.0, digits=2) -> str:
    return f"{scale * m:.{digits}f} ± {scale * se:.{digits}f}"


def _mi(s: dict, est: str, term: str) -> str:
    v = s.get(f"{est}_{term}")
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    lo, hi = s.get(f"{est}_{term}_low"), s.get(f"{est}_{term}_high")
    if lo is None or hi is None:
        return f"{v:.3f}"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def markdown(analysis: dict, info: dict) -> str:
    """A Markdown report: per-setting table, confusion tables, predictor comparison, selection.

    Args:
      analysis: from :func:`cch_jax.experiments.analyse` (``summary``, ``comparison``,
        ``teacher_selection``).
      info: ``ExperimentResult.info``: dataset, data note, row counts, estimators, configuration
        (seeds, alpha) and seconds per phase.

    Returns:
      The report as one Markdown string (accuracies in %, MI in nats), ending in a newline.
    """
    summary = analysis["summary"]
    estimators = info.get("estimators", [])
    lines = [
        f"# {info.get('dataset')}: does the CCH predict KD?",
        "",
        f"Data: {info.get('note')}. Train rows {info.get('train_rows')}, test rows "
        f"{info.get('test_rows')}, MI rows {info.get('mi_rows')}. Student encoder for H_s: "
        f"{info.get('student_encoder_for_mi')}. Accuracies in %, mean ± s.e. over "
        f"{len(info['config']['seeds'])} seeds; Δ = KD − no KD paired by seed, exact sign-flip "
        f"test at α = {info['config']['alpha']}. MI in nats with the criterion's intervals.",
        "",
    ]
    head = ["teacher", "student", "teacher acc"]
    for e in estimators:
        head += [f"{e} I(Ht;Hs)", f"{e} I(Hs;Y)", f"{e} gap"]
    head += ["verdict", "no KD", "KD", "Δ", "p", "outcome", "verdict right?"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summary:
        cells = [s["teacher_name"], s["student"], f"{100 * s['teacher_accuracy']:.2f}"]
        for e in estimators:
            cells += [
                _mi(s, e, "mi_teacher_student"),
                _mi(s, e, "mi_student_label"),
                _mi(s, e, "gap"),
            ]
        matched = s["verdict_matched"]
        cells += [
            s["verdict"],
            _pm(s["no_kd_mean"], s["no_kd_se"]),
            _pm(s["kd_mean"], s["kd_se"]),
            _pm(s["delta"], s["delta_se"]),
            f"{s['p_value']:.3f}",
            s["outcome"],
            "–" if matched is None else ("yes" if matched else "no"),
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    comp = analysis["comparison"]
    lines += [
        "",
        f"Across {comp['settings']} settings: outcomes {comp['outcomes']}; Spearman correlation of "
        f"the gap ({summary[0]['gap_estimator'] if summary else '-'}) with Δ: "
        f"{comp['spearman_gap_delta']:.3f}"
        + "".join(f"; {e} gap: {v:.3f}" for e, v in comp.get("spearman_by_estimator", {}).items())
        + ". Predictors: `cch` is the criterion's verdict (holds/fails only when every estimator's "
        "interval agrees), `cch_<est>` one estimator's interval verdict, `<est>_gap_sign` the sign "
        "of its point gap (the paper's rule); the others need no MI.",
        "",
        "| predictor | calls | sign agreement | right on significant effects | wrong way |",
        "|---|---|---|---|---|",
    ]
    for name, p in comp["predictors"].items():
        agree = p["sign_agreement"]
        lines.append(
            f"| {name} | {p['calls']} | {'–' if not math.isfinite(agree) else f'{agree:.2f}'} | "
            f"{p['significant_correct']}/{p['significant']} | {p['wrong_way']} |"
        )
    for name, p in comp["predictors"].items():
        lines += ["", f"Confusion, {name} (rows: call; columns: measured outcome):", ""]
        lines += ["| call | gain | none | loss |", "|---|---|---|---|"]
        for c, row in p["confusion"].items():
            if sum(row.values()) or c != "undecided":
                lines.append(f"| {c} | {row['gain']} | {row['none']} | {row['loss']} |")
    sel = analysis.get("teacher_selection") or []
    if sel:
        lines += [
            "",
            "Teacher selection (per student: the teacher with the largest gap vs the most helpful):",
            "",
            "| student | best teacher (Δ) | gap pick (Δ) | right? | most accurate teacher (Δ) | right? | Spearman(gap, Δ) |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in sel:
            lines.append(
                f"| {r['student']} | {r['best_teacher']} ({100 * r['best_delta']:+.2f}) | "
                f"{r['gap_pick']} ({100 * r['gap_pick_delta']:+.2f}) | "
                f"{'yes' if r['gap_pick_is_best'] else 'no'} | {r['accuracy_pick']} "
                f"({100 * r['accuracy_pick_delta']:+.2f}) | "
                f"{'yes' if r['accuracy_pick_is_best'] else 'no'} | {r['spearman_gap_delta']:.2f} |"
            )
        hits = sum(r["gap_pick_is_best"] for r in sel)
        acc_hits = sum(r["accuracy_pick_is_best"] for r in sel)
        lines += [
            "",
            f"Gap picks the most helpful teacher for {hits}/{len(sel)} students (mean regret "
            f"{100 * np.mean([r['regret'] for r in sel]):.2f} points); the most accurate teacher "
            f"does for {acc_hits}/{len(sel)} (mean regret "
            f"{100 * np.mean([r['accuracy_regret'] for r in sel]):.2f}).",
        ]
    secs = info.get("seconds", {})
    if secs:
        lines += ["", "Seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in secs.items()) + "."]
        if info.get("phases_from_cache"):
            lines[-1] += (
                " Phases read from an earlier run's cache (their seconds are not the cost of "
                "computing them): " + ", ".join(info["phases_from_cache"]) + "."
            )
    return "\n".join(lines) + "\n"


def plot_delta_vs_gap(summary, path) -> None:
    """Δ (KD − no KD, points) against the gap (nats), with both error bars, coloured by verdict.

    Draws on a standalone ``matplotlib.figure.Figure``: neither pyplot nor the global backend is
    touched.

    Args:
      summary: the per-setting summary rows (``analysis['summary']``), each with ``gap`` (nats),
        optionally ``gap_low``/``gap_high``, ``delta`` and ``delta_se`` (accuracy fractions,
        drawn in points) and ``verdict``; rows with a non-finite gap are left out.
      path: the image file to write (PNG at 130 dpi).

    Returns:
      None; the figure is written to ``path``.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.subplots()
    colours = {"holds": "tab:blue", "fails": "tab:red", "undecided": "tab:grey"}
    for verdict, colour in colours.items():
        rows = [s for s in summary if s["verdict"] == verdict and math.isfinite(s["gap"])]
        if not rows:
            continue
        gap = np.asarray([s["gap"] for s in rows])
        lo = np.asarray([s.get("gap_low", s["gap"]) for s in rows], float)
        hi = np.asarray([s.get("gap_high", s["gap"]) for s in rows], float)
        xerr = np.vstack([np.nan_to_num(gap - lo), np.nan_to_num(hi - gap)]).clip(0)
        delta = 100 * np.asarray([s["delta"] for s in rows])
        yerr = 100 * np.asarray([s["delta_se"] for s in rows])
        ax.errorbar(
            gap,
            delta,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            ms=4,
            capsize=2,
            color=colour,
            label=f"verdict: {verdict}",
        )
    ax.axhline(0, color="k", lw=0.8)
    ax.axvline(0, color="k", lw=0.8, ls="--")
    est = summary[0]["gap_estimator"] if summary else ""
    ax.set_xlabel(f"gap I(Ht;Hs) − I(Hs;Y), nats ({est})")
    ax.set_ylabel("Δ accuracy, KD − no KD (points)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


def load_summary(path) -> list[dict]:
    """The per-setting summary rows of a written ``result.json`` (JSON nulls back to NaN), e.g. to
    pool several datasets in :func:`cch_jax.experiments.compare_predictors`.

    Args:
      path: a ``result.json`` written by :func:`write_report` (or its folder).

    Returns:
      The rows of ``analysis['summary']``.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "result.json"
    if not p.is_file():
        raise ValueError(f"path: {p} is not a result.json written by cch experiment")
    try:
        doc = json.loads(p.read_text())
        rows = doc["analysis"]["summary"]
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"path: {p} is not a cch experiment result.json ({err})") from None
    return [{k: (float("nan") if v is None else v) for k, v in r.items()} for r in rows]


def write_report(result, analysis: dict, out_dir) -> dict[str, str]:
    """Writes runs.csv, criterion.csv, summary.csv, result.json, report.md and delta_vs_gap.png
    into ``out_dir``; returns the paths by name.

    Args:
      result: an ``ExperimentResult`` (its ``runs``, ``criterion`` and ``info``).
      analysis: from :func:`cch_jax.experiments.analyse` on that result.
      out_dir: output folder, created if missing; existing files of these names are overwritten.

    Returns:
      The written paths as strings, keyed ``runs``, ``criterion``, ``summary`` (the CSVs),
      ``json``, ``report`` and ``figure``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows, cols in (
        ("runs", result.runs, None),
        ("criterion", result.criterion, None),
        ("summary", analysis["summary"], None),
    ):
        p = out / f"{name}.csv"
        _write_csv(p, rows, cols)
        paths[name] = str(p)
    p = out / "result.json"
    p.write_text(
        json.dumps(
            _plain(dict(info=result.info, analysis=analysis, criterion=result.criterion)),
            indent=1,
            allow_nan=False,
        )
        + "\n"
    )
    paths["json"] = str(p)
    p = out / "report.md"
    p.write_text(markdown(analysis, result.info))
    paths["report"] = str(p)
    p = out / "delta_vs_gap.png"
    plot_delta_vs_gap(analysis["summary"], p)
    paths["figure"] = str(p)
    return paths
