"""The leaderboard's files: reading settings tables, writing the leaderboard and ``records.json``."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from cch_jax import _checks
from cch_jax.bench import _stats
from cch_jax.bench._board import (
    KNOWN_ANSWER,
    LEADERBOARD_COLUMNS,
    PAIRED_COLUMNS,
    REAL_POOL,
    leaderboard,
    real_pool,
)
from cch_jax.bench._board_plots import plot_leaderboard, plot_training_cost
from cch_jax.bench._board_report import _TARGET_TITLES, leaderboard_markdown, validated_summary
from cch_jax.bench._board_table import BASE_RATE, ORACLE, _blank
from cch_jax.predictors._records import RECORDS_SCHEMA, TARGETS, VALIDATION_ALPHA

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
    *PAIRED_COLUMNS,
    "cost_s",
    "compute_fraction",
    "wall_fraction",
)


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
      is one), 'records': records.json}`` as paths, and ``'training_cost':
      training_cost.png`` (:func:`plot_training_cost`) when some predictor decides by training.
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
        if plot_training_cost(real, folder / "training_cost.png"):
            paths["training_cost"] = folder / "training_cost.png"
        records = make_records(real)
        records["pool"] = f"real datasets (all but {', '.join(known_answer)})"
    else:
        plot_leaderboard(board, paths["figure"])
        if plot_training_cost(board, folder / "training_cost.png"):
            paths["training_cost"] = folder / "training_cost.png"
        records = make_records(board)
        records["pool"] = "all datasets"
    paths["markdown"].write_text(text, encoding="utf-8")
    paths["records"].write_text(
        json.dumps(records, indent=1, allow_nan=False) + "\n", encoding="utf-8"
    )
    return paths
