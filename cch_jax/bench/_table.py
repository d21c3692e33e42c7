"""The settings table (one row per setting: the contract with the leaderboard) and the report.

Columns (``SETTING_COLUMNS``, then per predictor NAME ``call:NAME``, ``score:NAME``,
``cost:NAME``): performance is higher-is-better, accuracy in percentage points for classification
and -MSE for regression; Δ's are means over seeds of paired per-seed differences; p-values are the
exact two-sided sign-flip test (``_stats.paired_sign_flip``); outcomes 'gain'/'loss'/'none' at
alpha; the MDE is ``_stats.min_detectable_effect`` (paired, 80 % power) of the per-seed
differences.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from cch_jax.bench import _settings, _stats

SETTING_COLUMNS = (
    "dataset",
    "setting",
    "student",
    "teacher",
    "kd_weight",
    "temperature",
    "task",
    "num_seeds",
    "perf_nokd",
    "perf_kd",
    "perf_control",
    "delta_kd",
    "p_kd",
    "outcome_kd",
    "delta_transfer",
    "p_transfer",
    "outcome_transfer",
    "mde_kd",
    "mde_transfer",
    "min_p",
    "epochs_nokd",
    "epochs_kd",
    "epochs_control",
    "teacher_accuracy",
    "student_accuracy",
    "teacher_test_accuracy",
    "pilot_delta",
    "pilot_cost_s",
    "full_cost_s",
    "theory_delta",
    "theory_risk",
    "low_power",
)


_KNOWN_ANSWER_NOTES = {  # what theory_delta is, per known-answer family
    "gaussian": "theory_delta = risk0 - risk(kd_weight) with f = finite_f(n_fit, d) (a "
    "least-squares student); the measured student is early-stopped Adam, so magnitudes differ.",
    "mfh": "theory_delta = the 1/n term of E acc(KD) - E acc(no KD) of the unregularised linear "
    "student (theory/mfh.md); the measured student is early-stopped Adam.",
}


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{v:.6g}"
    return str(v)


def setting_rows(plan, all_runs, fulls, teachers, scores) -> list[dict]:
    """One dict per setting with :data:`SETTING_COLUMNS` and the predictors' columns.

    Args:
      plan: the ``_plan.Plan``.
      all_runs: ``[(group, SettingRuns)]``.
      fulls: group index -> the group's runs (:class:`_students.GroupRuns`).
      teachers: the cached teachers (None for gaussian).
      scores: setting id -> predictor name -> ``{'call', 'score', 'cost_s'}``.

    Returns:
      The rows, in the plan's order.
    """
    from cch_jax.bench import _gaussian

    config = plan.config
    alpha = config.alpha
    rows = []
    min_p = _stats.min_p_value(config.num_seeds)
    for g, sr in all_runs:
        st = sr.setting
        d_kd = sr.kd - sr.nokd
        d_tr = sr.kd - sr.control
        p_kd = _stats.paired_sign_flip(sr.kd, sr.nokd)
        p_tr = _stats.paired_sign_flip(sr.kd, sr.control)
        row = {
            "dataset": st.dataset,
            "setting": st.setting,
            "student": st.student.name,
            "teacher": st.teacher.name,
            "kd_weight": st.kd_weight,
            "temperature": st.temperature,
            "task": st.task,
            "num_seeds": config.num_seeds,
            "perf_nokd": float(sr.nokd.mean()),
            "perf_kd": float(sr.kd.mean()),
            "perf_control": float(sr.control.mean()),
            "delta_kd": float(d_kd.mean()),
            "p_kd": p_kd,
            "outcome_kd": _stats.outcome(float(d_kd.mean()), p_kd, alpha),
            "delta_transfer": float(d_tr.mean()),
            "p_transfer": p_tr,
            "outcome_transfer": _stats.outcome(float(d_tr.mean()), p_tr, alpha),
            "mde_kd": _stats.min_detectable_effect(d_kd, alpha),
            "mde_transfer": _stats.min_detectable_effect(d_tr, alpha),
            "min_p": min_p,
            "epochs_nokd": float(sr.epochs_nokd.mean()),
            "epochs_kd": float(sr.epochs_kd.mean()),
            "epochs_control": float(sr.epochs_control.mean()),
            "pilot_delta": float(sr.pilot_delta.mean()),
            "pilot_cost_s": sr.pilot_seconds,
            "full_cost_s": sr.group_seconds,
            "theory_delta": math.nan,
            "theory_risk": math.nan,
            "low_power": config.spec.low_power or config.power_warning,
        }
        full = fulls[g.index]
        row["student_accuracy"] = full.probe_accuracy
        if teachers is not None:
            i = teachers.index(st.teacher.name)
            row["teacher_accuracy"] = float(teachers.crit_accuracy[i])
            row["teacher_test_accuracy"] = float(teachers.test_accuracy[i])
            if st.dataset == "mfh":  # its known answer (theory/mfh.md)
                from cch_jax.bench import _mfh

                row["theory_delta"] = _mfh.theory_delta(st)
        else:
            j = g.teachers.index(st.teacher)
            crit = _gaussian._gaussian_criterion(plan, g)
            row["teacher_accuracy"] = float(-np.mean((crit.t[j] - crit.y) ** 2))
            row["teacher_test_accuracy"] = math.nan
            n_fit, _ = _gaussian._gaussian_split(plan, g.student.train_rows)
            delta, risk = _gaussian.gaussian_theory(g, st.kd_weight, n_fit)
            row["theory_delta"] = float(delta[j])
            row["theory_risk"] = float(risk[j])
        for name, pred in sorted(scores.get(st.setting, {}).items()):
            row[f"call:{name}"] = pred["call"]
            row[f"score:{name}"] = math.nan if pred["score"] is None else float(pred["score"])
            row[f"cost:{name}"] = float(pred["cost_s"])
        rows.append(row)
    return rows


def _columns(rows: list[dict]) -> list[str]:
    cols = list(SETTING_COLUMNS)
    extra = []
    for r in rows:
        for k in r:
            if k not in cols and k not in extra:
                extra.append(k)
    names = sorted({k.split(":", 1)[1] for k in extra if ":" in k})
    ordered = [f"{p}:{n}" for n in names for p in ("call", "score", "cost") if f"{p}:{n}" in extra]
    return cols + ordered + [k for k in extra if k not in ordered]


def write_csv(path: Path, rows: list[dict]) -> None:
    """Writes ``rows`` as CSV (union of their columns, the settings columns first)."""
    _write_rows(path, rows, _fmt)


def _write_rows(path: Path, rows: list[dict], cell) -> None:
    """``rows`` as CSV at ``path`` (written beside it, then renamed), each value through ``cell``."""
    cols = _columns(rows)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: cell(r.get(k, "")) for k in cols})
    tmp.replace(path)


def read_csv(path: Path) -> list[dict]:
    """Reads a settings CSV back as string dicts."""
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def _datasets_in(root: Path) -> list[str]:
    """The datasets with a settings table under ``root``: the built-in ones in
    :data:`DATASET_NAMES` order, then those of users' files (``cch bench --data``) by name."""
    found = {p.parent.name for p in Path(root).glob("*/settings.csv")}
    builtin = [n for n in _settings.DATASET_NAMES if n in found]
    return builtin + sorted(found - set(builtin))


def write_combined(root: Path) -> Path:
    """Writes the combined settings table of a benchmark folder.

    Args:
      root: the benchmark folder (``results/bench``) holding ``<dataset>/settings.csv`` files.

    Returns:
      The path ``root/settings.csv``: every dataset's rows concatenated, the built-in datasets in
      :data:`DATASET_NAMES` order, then users' files by name, with the union of their columns
      (not written when no dataset has a table yet).
    """
    rows = []
    for name in _datasets_in(root):
        rows.extend(read_csv(Path(root) / name / "settings.csv"))
    out = Path(root) / "settings.csv"
    if rows:
        _write_rows(out, rows, lambda v: v)  # the cells are read back as they were written
    return out


def write_summary(root: Path) -> Path:
    """Writes ``root/README.md``: one line per dataset with a finished table (settings,
    significant outcomes, seeds, sizes, training wall time) and the totals.

    Args:
      root: the benchmark folder (``results/bench``).

    Returns:
      The path of the README.
    """
    root = Path(root)
    lines = [
        "# Benchmark of KD outcomes",
        "",
        "Written by `cch bench DATASET` (one command per dataset; `cch bench leaderboard` ranks "
        "the predictors). Per dataset: `settings.csv` (one row per setting, the leaderboard's "
        "input), `runs.csv` (per seed), `report.md`, `info.json`; `settings.csv` here concatenates "
        "them.",
        "",
        "| dataset | settings | significant KD effect | significant transfer | seeds | size | "
        "rows (fit/val/criterion/test) | training s | scoring s | trial record s | predictors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    tot = [0, 0, 0, 0.0, 0.0, 0.0]  # settings, significant KD, transfer, training, record, scoring
    files = []  # (name, info) of users' files
    for name in _datasets_in(root):
        p = root / name / "info.json"
        if not p.exists():
            continue
        info = json.loads(p.read_text())
        if info["config"].get("data"):
            files.append((name, info))
        sz = info["sizes"]
        secs = info["seconds"]
        train_s = sum(
            float(secs.get(k, 0.0)) for k in ("teachers", "students (no KD, KD, control)", "pilot")
        )
        rec = root / name / "record.json"  # a later --phase record
        rec_secs = json.loads(rec.read_text())["seconds"] if rec.exists() else secs
        record_s = sum(
            float(v) for k, v in rec_secs.items() if k.startswith(("pilot_half", "record"))
        )
        rows = read_csv(root / name / "settings.csv")
        preds = sorted(
            {k.split(":", 1)[1] for k in (rows[0] if rows else {}) if k.startswith("call:")}
        )
        lines.append(
            f"| {name} | {info['settings']} | {info['significant_kd']} | "
            f"{info['significant_transfer']} | {info['config']['num_seeds']} | "
            f"{info['config']['size']} | {sz['fit']}/{sz['validation']}/{sz['criterion']}/"
            f"{sz['test']} | {train_s:.0f} | {float(secs.get('score', 0.0)):.0f} | "
            f"{record_s:.0f} | {len(preds)} |"
        )
        tot[0] += info["settings"]
        tot[1] += info["significant_kd"]
        tot[2] += info["significant_transfer"]
        tot[3] += train_s
        tot[4] += record_s
        tot[5] += float(secs.get("score", 0.0))
    lines.append(
        f"| **all** | {tot[0]} | {tot[1]} | {tot[2]} | | | | {tot[3]:.0f} | {tot[5]:.0f} | "
        f"{tot[4]:.0f} | |"
    )
    lines += [
        "",
        "Training seconds: teachers + students (no KD, KD, control) + pilot, as measured by the "
        "run that trained them (compilation included, less what the persistent compilation "
        "cache already held) on the machine named in each report. Scoring seconds: the last "
        "scoring of every predictor (`--rescore` restarts them). Trial record seconds: the "
        "record's half-rows pilot and full-data runs (`_record`: 10 seeds of no KD and KD), "
        "from `record.json` where `--phase record` added them to a finished table (its "
        "`info.json` otherwise).",
        "",
        "## Networks and sizes at --size cpu (`--size full`: see benchmarks/gpu_bench.py)",
        "",
    ]
    for name in _settings.DATASET_NAMES:
        sp = _settings.dataset_spec(name, "cpu")
        if name == "mfh":
            rows_text = (
                f"{sp.train_rows} training rows per seed ({sp.val_fraction:.0%} validation), "
                f"{sp.criterion_rows} criterion; students scored by exact population accuracy"
            )
        elif sp.train_rows:
            rows_text = (
                f"{sp.train_rows} training rows ({sp.val_fraction:.0%} validation), "
                f"{sp.criterion_rows} criterion, {sp.test_rows} test"
            )
        elif name == "gaussian":
            rows_text = (
                f"training rows {list(_settings.GAUSSIAN_TRAIN_ROWS)} per seed "
                f"({sp.val_fraction:.0%} validation), {sp.criterion_rows} criterion, "
                f"{sp.test_rows} test per seed"
            )
        else:
            t, c, v = sp.fractions
            rows_text = (
                f"per class {t * 100:g} % test, {c * 100:g} % criterion, {v * 100:g} % validation, "
                "rest fit"
            )
            if sp.max_rows:
                rows_text = f"a stratified subsample of {sp.max_rows} rows, then {rows_text}"
        lines.append(
            f"- {name}: {sp.model} {list(sp.hidden)}, Adam {sp.learning_rate:g}, patience "
            f"{sp.patience}, at most {sp.max_epochs} epochs; {rows_text}."
        )
    for name, info in files:
        sp = info["config"]["spec"]
        lines.append(
            f"- {name} (`cch bench --data {info['config']['data']}`): {sp['model']} "
            f"{sp['hidden']}, Adam {sp['learning_rate']:g}, patience {sp['patience']}, at most "
            f"{sp['max_epochs']} epochs; rows as the tabular datasets' (or the file's train mask)."
        )
    out = root / "README.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def _runs_rows(plan, fulls) -> list[dict]:
    """Tidy per-run rows: one per (setting or no-KD) x seed."""
    from cch_jax.bench import _students

    kinds = {_students.Arm.NO_KD: "nokd", _students.Arm.KD: "kd", _students.Arm.CONTROL: "control"}
    rows = []
    for g in plan.groups:
        f = fulls[g.index]
        for r in range(f.kind.shape[0]):
            kind = int(f.kind[r])
            t = int(f.teacher[r])
            rows.append(
                {
                    "dataset": plan.config.dataset,
                    "student": g.student.name,
                    "teacher": "" if t < 0 else g.teachers[t].name,
                    "run": kinds[kind],
                    "kd_weight": float(f.kd_weight[r]),
                    "seed": int(f.seed[r]),
                    "perf": float(f.perf[r]),
                    "epochs": int(f.epochs[r]),
                    "best_epoch": int(f.best_epoch[r]),
                }
            )
    return rows


def _stats_line(values) -> str:
    v = np.asarray(values, np.float64)
    return f"{v.mean():.1f} (min {v.min():.0f}, max {v.max():.0f})"


def write_dataset(folder: Path, rows: list[dict], info: dict, plan, fulls, pilots) -> None:
    """Writes ``folder/settings.csv``, ``folder/runs.csv`` (per seed) and ``folder/report.md``."""
    from cch_jax.bench import _students

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "settings.csv", rows)
    write_csv(folder / "runs.csv", _runs_rows(plan, fulls))
    summary = dict(info, settings=len(rows))
    summary["significant_kd"] = sum(r["outcome_kd"] != "none" for r in rows)
    summary["significant_transfer"] = sum(r["outcome_transfer"] != "none" for r in rows)
    (folder / "info.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    cfg = plan.config
    spec = cfg.spec
    unit = "accuracy, %" if spec.task == "classification" else "-MSE"
    lines = [f"# Benchmark of KD outcomes: {cfg.dataset}", ""]
    if info["power_warning"]:
        lines += [f"**{info['power_warning']}**", ""]
    if spec.low_power:
        lines += [f"**{spec.low_power}.**", ""]
    lines += [
        f"Data: {plan.note}.",
        "",
        f"- Settings: {len(rows)} ({len(plan.groups)} student group(s) x teachers x kd_weights "
        f"{list(cfg.kd_weights)} at T = {cfg.temperature:g}); size '{cfg.size}'.",
        f"- Rows: {info['sizes']}; batch size {plan.batch_size} (min(128, max(8, n_fit // 8))), "
        f"pilot batch {plan.pilot_batch_size}.",
        f"- Networks: {spec.model} {list(spec.hidden)}, Adam lr {spec.learning_rate:g} (constant); "
        f"early stopping on the validation rows ({'accuracy' if spec.task == 'classification' else '-MSE'}), "
        f"patience {spec.patience}, at most {spec.max_epochs} epochs; best-epoch parameters kept.",
        f"- Seeds: {cfg.num_seeds} (paired: no KD, KD and control of a seed share initialisation and "
        f"minibatch order); smallest attainable p = {_stats.min_p_value(cfg.num_seeds):.3g}; "
        f"alpha = {cfg.alpha:g}.",
        "- Control teacher: the same KD run with the teacher's fit-row outputs permuted across rows "
        "(a fixed permutation per seed, numpy default_rng([seed, 7])).",
        "- Probe student (predictor inputs): the converged no-KD student of seed 0, on the criterion "
        "rows; teacher and student accuracies there.",
        f"- Pilot: KD vs no KD on {cfg.pilot_fraction:.0%} of the fit and validation rows x "
        f"{cfg.pilot_seeds} seeds (1000...) x the same early stopping, scored on the criterion "
        f"rows; its wall time is {info['pilot_relative_cost']:.0%} of the full student runs'.",
        "",
        f"Performance: {unit}, higher is better.",
        "",
        "## Outcomes",
        "",
    ]
    kd = [r["outcome_kd"] for r in rows]
    tr = [r["outcome_transfer"] for r in rows]
    sig = sum(o != "none" for o in kd)
    lines += [
        f"- KD vs no KD: gain {kd.count('gain')}, loss {kd.count('loss')}, none {kd.count('none')} "
        f"({sig} of {len(rows)} significant at alpha = {cfg.alpha:g}).",
        f"- KD vs control teacher (transfer): gain {tr.count('gain')}, loss {tr.count('loss')}, "
        f"none {tr.count('none')}.",
        f"- Median MDE: KD {np.median([r['mde_kd'] for r in rows]):.3g}, transfer "
        f"{np.median([r['mde_transfer'] for r in rows]):.3g} ({'points' if spec.task == 'classification' else '-MSE units'}).",
        "",
        "## Epochs used (epochs trained before stopping; mean over runs)",
        "",
    ]
    for kind, label in (
        (_students.Arm.NO_KD, "no KD"),
        (_students.Arm.KD, "KD"),
        (_students.Arm.CONTROL, "control"),
    ):
        ep = np.concatenate([f.epochs[f.kind == kind] for f in fulls.values()])
        be = np.concatenate([f.best_epoch[f.kind == kind] for f in fulls.values()])
        capped = float(np.mean(ep >= spec.max_epochs))
        lines.append(
            f"- {label}: {_stats_line(ep)}; best epoch {_stats_line(be)}; "
            f"{capped:.0%} reached max_epochs"
        )
    trained = [t["epochs"] for t in info.get("teachers", {}).values() if not t.get("given")]
    if trained:  # a teacher whose logits a user's file gives has no epochs
        lines.append(f"- teachers: {_stats_line(trained)}")
    lines += ["", "## No-KD students (converged)", ""]
    lines.append("| student | no-KD performance | epochs |")
    lines.append("|---|---|---|")
    for g in plan.groups:
        f = fulls[g.index]
        sel = f.kind == _students.Arm.NO_KD
        here = float(f.perf[sel].mean())
        ep = float(f.epochs[sel].mean())
        lines.append(f"| {g.student.name} | {here:.2f} | {ep:.1f} |")
    if "teachers" in info:
        lines += ["", "## Teachers (test accuracy %, epochs)", ""]
        lines.append("| teacher | test accuracy | epochs |")
        lines.append("|---|---|---|")
        for n, t in info["teachers"].items():
            epochs = "given (logits)" if t.get("given") else t["epochs"]
            lines.append(f"| {n} | {t['test_accuracy']:.2f} | {epochs} |")
    if cfg.dataset in _KNOWN_ANSWER_NOTES:
        agree = [
            np.sign(r["theory_delta"]) == np.sign(r["delta_kd"])
            for r in rows
            if r["outcome_kd"] != "none"
        ]
        lines += [
            "",
            "## Known answer",
            "",
            _KNOWN_ANSWER_NOTES[cfg.dataset],
            f"Sign of the measured Δ agrees with the theory on {int(np.sum(agree))} of "
            f"{len(agree)} significant settings.",
        ]
    lines += [
        "",
        "## Wall time per phase (seconds; training phases as the run that trained them measured "
        "them, cached since)",
        "",
    ]
    for k, v in info["seconds"].items():
        lines.append(f"- {k}: {v:.1f}")
    if info.get("score_note"):
        lines += ["", info["score_note"]]
    names = sorted({k.split(":", 1)[1] for r in rows for k in r if k.startswith("call:")})
    lines += ["", f"Predictors scored: {', '.join(names) if names else 'none'}.", ""]
    lines.append(f"Versions: {info['versions']}.")
    (folder / "report.md").write_text("\n".join(lines) + "\n")
