"""One dataset's benchmark, phase by phase, cached under ``out/<dataset>/cache`` and resumable.

Phases (``run_bench``):

1. **plan** (``_plan.prepare``): load the data, enumerate the settings, derive batch sizes from the
   training rows and check everything (views, sizes, batch sizes, seeds) before any training.
2. **teachers** (``_students.train_teachers``): one supervised network per teacher variant, early-stopped on the validation rows;
   its logits on the fit rows are what KD distils. (gaussian: the family's teacher t is known.)
3. **students** (``_students.train_group``; ``_gaussian.train_gaussian_group``), per student group (a student view and every teacher paired with it): one
   vmapped, early-stopped program of seeds x {no KD, KD, control} x teachers x kd_weights. The
   *control* is the same KD run with a teacher that knows nothing: its fit-row logits permuted
   across rows with a fixed permutation per seed (``numpy.random.default_rng([seed, 7])``, the
   same for every teacher and kd_weight of that seed). Students are scored on the test rows.
   The no-KD student of seed 0 is the *probe* student: its representations and logits on the
   criterion rows are the predictors' student inputs.
4. **pilot**, per student group: KD vs no KD on ``pilot_fraction`` (25 %) of the fit and validation
   rows x ``pilot_seeds`` (3) seeds (1000, 1001, ...) x the same early stopping, scored on the
   criterion rows (never the test rows); its wall time is the pilot's cost. With
   ``record_seeds`` (default 10) the trial record's runs follow (``_record``): KD vs no KD on
   half the rows x the pilot's seeds and on all rows x ``record_seeds`` seeds (2000, ...),
   scored on the criterion rows as the pilot, giving the predictors pilot_half, full1, full3
   and trial (``--phase record`` trains only these, for a finished table).
5. **score** (``_score``; separate, resumable, re-runnable on the cached inputs), with one
   predictor key per (student, teacher) pair (:func:`predictor_key`):
   ``cch_jax.predictors.predict`` on every setting's ``PredictorInputs``; a predictor that reads
   no input that differs between a pair's settings (its kd_weight, temperature and pilot runs) is
   run once per pair, and its prediction is shared by the pair's settings.
6. **table**: ``settings.csv`` and ``report.md`` (``_table.py``).

Every cached phase output carries the configuration's fingerprint: a folder holding a different
configuration is refused.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax

from cch_jax import _checks
from cch_jax._cache import PhaseCache
from cch_jax.bench import _gaussian, _mfh, _plan, _record, _score, _students, _table
from cch_jax.bench._plan import Group
from cch_jax.bench._settings import BenchConfig
from cch_jax.bench._students import SettingRuns, _say

PHASES = ("all", "train", "score", "record")
FAMILIES = ("gaussian", "mfh")  # known-answer families: a fresh sample per seed, no trial record


# --------------------------------------------------------------------------------------------------
# Cache


class _Cache(PhaseCache):
    """Phase outputs as ``.npz``/``.json`` files in ``out/<dataset>/cache``, for one configuration."""

    def __init__(self, folder: Path, fingerprint: str):
        super().__init__(folder)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = folder / "fingerprint.json"
        if stamp.exists():
            old = json.loads(stamp.read_text())
            if old.get("fingerprint") != fingerprint:
                raise ValueError(
                    f"out: {folder.parent} holds a benchmark run with a different configuration "
                    f"({old.get('config')}); use a fresh --out folder or delete {folder}"
                )
        self._stamp = stamp
        self._fingerprint = fingerprint

    def stamp(self, config: dict) -> None:
        self._stamp.write_text(json.dumps({"fingerprint": self._fingerprint, "config": config}))

    def has(self, name: str) -> bool:
        return (self.dir / f"{name}.npz").exists()

    def read_json(self, name: str) -> dict:
        path = self.dir / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def write_json(self, name: str, value) -> None:
        tmp = self.dir / f"{name}.tmp.json"
        tmp.write_text(json.dumps(value))
        tmp.replace(self.dir / f"{name}.json")


# --------------------------------------------------------------------------------------------------
# The whole benchmark of one dataset


class BenchResult(NamedTuple):
    """What :func:`run_bench` returns.

    Attributes:
      rows: one dict per setting (the settings-table columns, see ``_table.SETTING_COLUMNS``).
      info: sizes, configuration, epochs, wall time per phase, warnings.
      folder: the dataset's output folder (``out/<dataset>``).
    """

    rows: list[dict]
    info: dict
    folder: Path


def run_bench(
    config: BenchConfig,
    *,
    out,
    phase: str = "all",
    predictor_names: tuple[str, ...] | None = None,
    rescore: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Runs (or resumes) one dataset's benchmark and writes its ``settings.csv`` and ``report.md``.

    Args:
      config: the :class:`BenchConfig`.
      out: the benchmark folder (``results/bench``); this dataset's files go to
        ``out/<dataset>/`` and its cache to ``out/<dataset>/cache/``.
      phase: 'all' (train, then score), 'train' (no predictors), 'score' (predictors on the
        cached inputs; the training must be done) or 'record' (only the trial record's runs,
        ``_record``: its columns are merged into the dataset's finished ``settings.csv``;
        teachers are re-trained when not cached and the re-trained pilot must reproduce the
        table's ``pilot_delta``).
      predictor_names: predictors to score (None: every one registered).
      rescore: forget cached predictor scores and score again.
      progress: ``str -> None`` for progress lines, or None.

    Returns:
      :class:`BenchResult`.
    """
    _checks.check_instance("config", config, BenchConfig)
    phase = _checks.check_choice("phase", phase, PHASES)
    rescore = _checks.check_bool("rescore", rescore)
    root = _checks.check_output_dir("out", out)
    run = _start(config, root, progress)
    if phase == "record":
        return _run_record(run)
    if phase == "score":
        _check_trained(run)
    teachers = _train_teachers(run)
    fulls, pilots, var_runs = _train_students(run, teachers)
    all_runs: list[tuple[Group, SettingRuns]] = [
        (g, sr)
        for g in run.plan.groups
        for sr in _students.setting_runs(
            g, fulls[g.index], pilots[g.index], config.num_seeds, config.pilot_seeds
        )
    ]
    scores = {} if rescore else run.cache.read_json("scores")
    if rescore and phase in ("all", "score"):
        run.cache.write_json("score_time", {})  # the scoring time restarts with the scores
    score_note = ""
    if phase in ("all", "score"):
        score_note = _score_predictors(run, all_runs, fulls, teachers, scores, predictor_names)
    info = _info(run, teachers, score_note)
    rows = _table.setting_rows(run.plan, all_runs, fulls, teachers, scores)
    if len(run.variants) > 1:
        rows = _record.add_columns(rows, run.plan, var_runs)
    _table.write_dataset(run.folder, rows, info, run.plan, fulls, pilots)
    _table.write_combined(root)
    _table.write_summary(root)
    return BenchResult(rows, info, run.folder)


# --------------------------------------------------------------------------------------------------
# The phases


class _Run(NamedTuple):
    """One call's state, shared by its phases (``times`` fills in as they run)."""

    config: BenchConfig
    plan: _plan.Plan
    cache: _Cache
    variants: tuple
    root: Path
    folder: Path
    progress: Callable[[str], None] | None
    times: dict[str, float]
    t_all: float

    @property
    def gaussian(self) -> bool:
        return self.config.dataset == "gaussian"


def _start(config: BenchConfig, root: Path, progress) -> _Run:
    """Plan and check everything before any training; open (and stamp) the dataset's cache."""
    folder = root / config.dataset
    if config.power_warning:
        _say(progress, config.power_warning)
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    plan = _plan.prepare(config)
    times = {"load and check": time.perf_counter() - t0}
    _say(
        progress,
        f"{config.dataset}: {len(plan.settings)} settings in {len(plan.groups)} student group(s); "
        f"rows {plan.sizes}; batch {plan.batch_size} (pilot {plan.pilot_batch_size})",
    )
    cache = _Cache(folder / "cache", _plan.fingerprint(plan))
    cache.stamp(config.to_dict())
    variants = () if config.dataset in FAMILIES else _plan.variants(config)
    return _Run(config, plan, cache, variants, root, folder, progress, times, t_all)


def _check_trained(run: _Run) -> None:
    """``phase='score'`` reads the cached training: every piece of it must be there."""
    groups = run.plan.groups
    names = (["teachers"] if not run.gaussian else []) + [f"group{g.index}" for g in groups]
    names += [
        f"{v}{g.index}" for g in groups for v in ("pilot",) + tuple(x.name for x in run.variants)
    ]
    missing = [n for n in names if not run.cache.has(n)]
    if missing:
        raise ValueError(
            f"phase: 'score' needs the finished training of {run.config.dataset} (missing "
            f"{', '.join(missing)}); run --phase train (or all) first"
        )


def _train_teachers(run: _Run) -> _students.Teachers | None:
    """The teachers' runs (cached), None for the Gaussian family (its teacher is known)."""
    if run.gaussian:
        return None
    teachers = run.cache.get(
        "teachers", lambda: _students.train_teachers(run.plan, progress=run.progress)
    )
    teachers = _students.Teachers.read(teachers)
    run.times["teachers"] = teachers.seconds
    return teachers


def _train_students(run: _Run, teachers) -> tuple[dict, dict, dict]:
    """Every student group's runs (no KD, KD, control), its pilot and the record's variants.

    Returns:
      ``(fulls, pilots, var_runs)``: group index -> its cached runs, its pilot's runs, and
      variant name -> the variant's runs (:func:`_train_variants`).
    """
    plan, progress = run.plan, run.progress
    fulls, pilots = {}, {}
    for g in plan.groups:
        if run.gaussian:
            fulls[g.index] = run.cache.get(
                f"group{g.index}",
                lambda g=g: _gaussian.train_gaussian_group(plan, g, progress=progress),
            )
            pilots[g.index] = run.cache.get(
                f"pilot{g.index}",
                lambda g=g: _gaussian.train_gaussian_group(plan, g, pilot=True, progress=progress),
            )
        elif plan.config.dataset == "mfh":  # a fresh sample per seed (cch_jax/bench/_mfh.py)
            fulls[g.index] = run.cache.get(
                f"group{g.index}", lambda g=g: _mfh.train_mfh_group(plan, g, progress=progress)
            )
            pilots[g.index] = run.cache.get(
                f"pilot{g.index}",
                lambda g=g: _mfh.train_mfh_group(plan, g, pilot=True, progress=progress),
            )
        else:
            fulls[g.index] = run.cache.get(
                f"group{g.index}",
                lambda g=g: _students.train_group(plan, g, teachers, progress=progress),
            )
    var_runs = _train_variants(plan, run.cache, teachers, run.variants, progress)
    fulls = {i: _students.GroupRuns.read(f) for i, f in fulls.items()}
    pilots = {i: _students.GroupRuns.read(f) for i, f in pilots.items()}
    for g in plan.groups:
        if g.index not in pilots:
            pilots[g.index] = var_runs[g.index]["pilot"]
    run.times["students (no KD, KD, control)"] = sum(f.seconds for f in fulls.values())
    run.times["pilot"] = sum(f.seconds for f in pilots.values())
    run.times.update(_variant_times(var_runs, run.variants))
    return fulls, pilots, var_runs


def _score_predictors(run: _Run, all_runs, fulls, teachers, scores: dict, predictor_names) -> str:
    """Scores the predictors on every setting they have not scored yet, into ``scores`` (and the
    cache, after every setting). A predictor that reads none of what tells a pair's settings apart
    is scored once per (student, teacher) pair and its prediction is copied to the pair's other
    settings (:class:`_score.SharedScores`).

    Returns:
      The note for the report: the failed predictor calls, or ''.
    """
    from cch_jax import predictors

    score_note = ""
    score_errors: list[str] = []
    t0 = time.perf_counter()
    names = tuple(predictor_names) if predictor_names else tuple(predictors.REGISTRY)
    for name in names:
        if name not in predictors.REGISTRY:
            raise ValueError(
                f"predictors: unknown predictor {name!r}; registered: "
                f"{', '.join(predictors.REGISTRY)}"
            )
    pairs = _pair_index(all_runs)
    shared = _score.SharedScores(predictors)
    for i, (g, sr) in enumerate(all_runs):
        done = scores.get(sr.setting.setting, {})
        todo = tuple(n for n in names if n not in done or done[n].get("error"))
        if not todo:
            continue
        inputs = _score.predictor_inputs(run.plan, g, sr, fulls[g.index], teachers)
        pair = (sr.setting.student.name, sr.setting.teacher.name)
        for name in todo:
            got = shared.get(pair, name, inputs)
            if got is not None:
                done[name] = got
        todo = tuple(n for n in todo if n not in done or done[n].get("error"))
        if todo:
            key = predictor_key(run.config.seed, pairs, sr.setting)
            done.update(_score.score_setting(predictors, inputs, todo, key, score_errors))
        for name in todo:
            shared.put(pair, name, inputs, done[name], sr.setting.setting)
        scores[sr.setting.setting] = done
        run.cache.write_json("scores", scores)
        _say(run.progress, f"scored {i + 1}/{len(all_runs)}: {sr.setting.setting}")
    spent = time.perf_counter() - t0
    if spent > 1.0 or "score" not in run.cache.read_json("score_time"):
        total = float(run.cache.read_json("score_time").get("score", 0.0)) + spent
        run.cache.write_json("score_time", {"score": total})
    if score_errors:
        score_note = (
            f"{len(score_errors)} predictor call(s) failed and count as 'abstain' (retried "
            f"by the next --phase score): " + "; ".join(sorted(set(score_errors))[:8])
        )
        _say(run.progress, score_note)
    return score_note


def _info(run: _Run, teachers, score_note: str) -> dict:
    """The run's ``info.json``: sizes, configuration, wall time per phase, teachers, versions."""
    config, plan, times = run.config, run.plan, run.times
    if "score" in run.cache.read_json("score_time"):
        times["score"] = float(run.cache.read_json("score_time")["score"])
    times["total (this call)"] = time.perf_counter() - run.t_all
    info = {
        "dataset": config.dataset,
        "note": plan.note,
        "config": config.to_dict(),
        "sizes": plan.sizes,
        "batch_size": plan.batch_size,
        "pilot_batch_size": plan.pilot_batch_size,
        "seconds": times,
        "cached": list(run.cache.hits),
        "trained": list(run.cache.made),
        "power_warning": config.power_warning,
        "low_power": config.spec.low_power,
        "score_note": score_note,
        "pilot_relative_cost": (times["pilot"] / times["students (no KD, KD, control)"])
        if times["students (no KD, KD, control)"] > 0
        else math.nan,
        "versions": {"jax": jax.__version__, "backend": jax.default_backend()},
    }
    if teachers is not None:
        info["teachers"] = {
            str(n): {
                "test_accuracy": float(a),
                "epochs": int(e),
                "best_epoch": int(b),
                **({"given": True} if str(n) in plan.source.teacher_logits else {}),
            }
            for n, a, e, b in zip(
                teachers.names,
                teachers.test_accuracy,
                teachers.epochs,
                teachers.best_epoch,
                strict=True,
            )
        }
    return info


# --------------------------------------------------------------------------------------------------
# Predictor keys: one per (student, teacher) pair


def _pair_index(all_runs) -> dict[tuple[str, str], int]:
    """(student, teacher) name -> the pair's index, in the order the settings first meet it."""
    out: dict[tuple[str, str], int] = {}
    for _, sr in all_runs:
        out.setdefault((sr.setting.student.name, sr.setting.teacher.name), len(out))
    return out


def predictor_key(seed: int, pairs: dict, setting) -> jax.Array:
    """The predictors' key of a setting: one per (student, teacher) pair, so that the settings of
    a pair (its kd_weights and temperatures) share every estimate that does not read them.

    Args:
      seed: the configuration's seed.
      pairs: :func:`_pair_index` of the plan's settings.
      setting: the ``Setting``.

    Returns:
      ``fold_in(key(seed), 5000 + pair index)``.
    """
    i = pairs[setting.student.name, setting.teacher.name]
    return jax.random.fold_in(jax.random.key(seed), 5000 + i)


# --------------------------------------------------------------------------------------------------
# The trial record (``_record``)


def _train_variants(
    plan, cache, teachers, variants, progress
) -> dict[int, dict[str, _students.GroupRuns]]:
    """group index -> variant name -> its cached runs (trained when missing)."""
    out: dict[int, dict[str, _students.GroupRuns]] = {g.index: {} for g in plan.groups}
    for g in plan.groups:
        for v in variants:
            cached = cache.get(
                f"{v.name}{g.index}",
                lambda g=g, v=v: _students.train_group(
                    plan, g, teachers, variant=v, progress=progress
                ),
            )
            out[g.index][v.name] = _students.GroupRuns.read(cached)
    return out


def _variant_times(var_runs, variants) -> dict[str, float]:
    return {
        f"{v.name} ({v.fraction:.0%} rows x {len(v.seeds)} seeds)": sum(
            r[v.name].seconds for r in var_runs.values()
        )
        for v in variants
        if v.name != "pilot"
    }


def _run_record(run: _Run) -> BenchResult:
    """``phase='record'``: the record's runs, merged into the dataset's finished table."""
    config, plan, cache, times, progress = run.config, run.plan, run.cache, run.times, run.progress
    if config.dataset in FAMILIES:
        raise ValueError(
            f"phase: {config.dataset} draws a fresh sample per seed; the trial record is for a "
            f"dataset with fixed rows"
        )
    if not config.record_seeds:
        raise ValueError("record_seeds: 'record' needs record_seeds >= 3, got 0")
    table = run.folder / "settings.csv"
    if not table.exists():
        raise ValueError(
            f"phase: 'record' adds to a finished benchmark of {config.dataset}; {table} does "
            f"not exist (run it with --phase all first)"
        )
    old = _table.read_csv(table)
    teachers = _train_teachers(run)
    var_runs = _train_variants(plan, cache, teachers, run.variants, progress)
    times["pilot"] = sum(r["pilot"].seconds for r in var_runs.values())
    times.update(_variant_times(var_runs, run.variants))
    rows = _record.add_columns(old, plan, var_runs)
    _table.write_csv(table, rows)
    _table.write_combined(run.root)
    times["total (this call)"] = time.perf_counter() - run.t_all
    info = {
        "dataset": config.dataset,
        "config": config.to_dict(),
        "sizes": plan.sizes,
        "seconds": times,
        "cached": list(cache.hits),
        "trained": list(cache.made),
        "versions": {"jax": jax.__version__, "backend": jax.default_backend()},
    }
    (run.folder / "record.json").write_text(json.dumps(info, indent=1, default=str) + "\n")
    _say(progress, f"{config.dataset}: trial record merged into {table}")
    return BenchResult(rows, info, run.folder)
