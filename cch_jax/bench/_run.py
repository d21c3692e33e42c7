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
   criterion rows (never the test rows); its wall time is the pilot's cost.
5. **score** (``_score``; separate, resumable, re-runnable on the cached inputs):
   ``cch_jax.predictors.predict`` on every setting's ``PredictorInputs``.
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
from cch_jax.bench import _gaussian, _mfh, _plan, _score, _students
from cch_jax.bench._plan import Group
from cch_jax.bench._settings import BenchConfig
from cch_jax.bench._students import SettingRuns, _say

PHASES = ("all", "train", "score")


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
      phase: 'all' (train, then score when ``cch_jax.predictors`` is importable), 'train' (no
        predictors) or 'score' (predictors on the cached inputs; the training must be done).
      predictor_names: predictors to score (None: every one registered).
      rescore: forget cached predictor scores and score again.
      progress: ``str -> None`` for progress lines, or None.

    Returns:
      :class:`BenchResult`.
    """
    from cch_jax.bench import _table

    _checks.check_instance("config", config, BenchConfig)
    phase = _checks.check_choice("phase", phase, PHASES)
    rescore = _checks.check_bool("rescore", rescore)
    root = _checks.check_output_dir("out", out)
    folder = root / config.dataset
    warn = config.power_warning
    if warn:
        _say(progress, warn)
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
    gaussian = config.dataset == "gaussian"
    needs_training = [
        n
        for n in (["teachers"] if not gaussian else [])
        + [f"group{g.index}" for g in plan.groups]
        + [f"pilot{g.index}" for g in plan.groups]
        if not cache.has(n)
    ]
    if phase == "score" and needs_training:
        raise ValueError(
            f"phase: 'score' needs the finished training of {config.dataset} (missing "
            f"{', '.join(needs_training)}); run --phase train (or all) first"
        )
    teachers = None
    if not gaussian:
        t0 = time.perf_counter()
        teachers = cache.get("teachers", lambda: _students.train_teachers(plan, progress=progress))
        times["teachers"] = float(teachers["seconds"])
    fulls, pilots = {}, {}
    for g in plan.groups:
        if gaussian:
            fulls[g.index] = cache.get(
                f"group{g.index}",
                lambda g=g: _gaussian.train_gaussian_group(plan, g, progress=progress),
            )
            pilots[g.index] = cache.get(
                f"pilot{g.index}",
                lambda g=g: _gaussian.train_gaussian_group(plan, g, pilot=True, progress=progress),
            )
        elif config.dataset == "mfh":  # a fresh sample per seed (cch_jax/bench/_mfh.py)
            fulls[g.index] = cache.get(
                f"group{g.index}", lambda g=g: _mfh.train_mfh_group(plan, g, progress=progress)
            )
            pilots[g.index] = cache.get(
                f"pilot{g.index}",
                lambda g=g: _mfh.train_mfh_group(plan, g, pilot=True, progress=progress),
            )
        else:
            fulls[g.index] = cache.get(
                f"group{g.index}",
                lambda g=g: _students.train_group(plan, g, teachers, progress=progress),
            )
            pilots[g.index] = cache.get(
                f"pilot{g.index}",
                lambda g=g: _students.train_group(plan, g, teachers, pilot=True, progress=progress),
            )
    times["students (no KD, KD, control)"] = sum(float(f["seconds"]) for f in fulls.values())
    times["pilot"] = sum(float(f["seconds"]) for f in pilots.values())
    all_runs: list[tuple[Group, SettingRuns]] = []
    for g in plan.groups:
        for sr in _students.setting_runs(
            g, fulls[g.index], pilots[g.index], config.num_seeds, config.pilot_seeds
        ):
            all_runs.append((g, sr))
    scores = {} if rescore else cache.read_json("scores")
    score_note = ""
    score_errors: list[str] = []
    if phase in ("all", "score"):
        try:
            from cch_jax import predictors

            if not hasattr(predictors, "REGISTRY") or not hasattr(predictors, "predict"):
                raise ImportError("it has no REGISTRY / predict yet")
        except ImportError as err:
            if phase == "score":
                raise ValueError(f"phase: scoring needs cch_jax.predictors ({err})") from None
            predictors = None
            score_note = f"predictors not scored: cch_jax.predictors is not importable ({err})"
            _say(progress, score_note)
        if predictors is not None:
            t0 = time.perf_counter()
            names = tuple(predictor_names) if predictor_names else tuple(predictors.REGISTRY)
            for name in names:
                if name not in predictors.REGISTRY:
                    raise ValueError(
                        f"predictors: unknown predictor {name!r}; registered: "
                        f"{', '.join(predictors.REGISTRY)}"
                    )
            for i, (g, sr) in enumerate(all_runs):
                done = scores.get(sr.setting.setting, {})
                todo = tuple(n for n in names if n not in done or done[n].get("error"))
                if not todo:
                    continue
                inputs = _score.predictor_inputs(plan, g, sr, fulls[g.index], teachers)
                key = jax.random.fold_in(jax.random.key(config.seed), 5000 + i)
                done.update(_score.score_setting(predictors, inputs, todo, key, score_errors))
                scores[sr.setting.setting] = done
                cache.write_json("scores", scores)
                _say(progress, f"scored {i + 1}/{len(all_runs)}: {sr.setting.setting}")
            spent = time.perf_counter() - t0
            if spent > 1.0 or "score" not in cache.read_json("score_time"):
                total = float(cache.read_json("score_time").get("score", 0.0)) + spent
                cache.write_json("score_time", {"score": total})
            if score_errors:
                score_note = (
                    f"{len(score_errors)} predictor call(s) failed and count as 'abstain' (retried "
                    f"by the next --phase score): " + "; ".join(sorted(set(score_errors))[:8])
                )
                _say(progress, score_note)
    if "score" in cache.read_json("score_time"):
        times["score"] = float(cache.read_json("score_time")["score"])
    times["total (this call)"] = time.perf_counter() - t_all
    info = {
        "dataset": config.dataset,
        "note": plan.note,
        "config": config.to_dict(),
        "sizes": plan.sizes,
        "batch_size": plan.batch_size,
        "pilot_batch_size": plan.pilot_batch_size,
        "seconds": times,
        "cached": list(cache.hits),
        "trained": list(cache.made),
        "power_warning": warn,
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
                teachers["names"],
                teachers["test_accuracy"],
                teachers["epochs"],
                teachers["best_epoch"],
                strict=True,
            )
        }
    rows = _table.setting_rows(plan, all_runs, fulls, teachers, scores)
    _table.write_dataset(folder, rows, info, plan, fulls, pilots)
    _table.write_combined(root)
    _table.write_summary(root)
    return BenchResult(rows, info, folder)
