"""Stringing the pipeline's phases together (:func:`run_experiment`), with a per-phase cache.

Each phase of :mod:`cch_jax.experiments._pipeline` is a function over plain arrays; this module
runs them for every (teacher view, student view) pair and teacher level of a
:class:`cch_jax.data.MultiView`, keeps each finished phase under ``out_dir/cache`` (the KD sweep's
checkpoints too) so that an interrupted run resumes, and collects tidy rows.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from cch_jax._cache import PhaseCache, hash_arrays
from cch_jax.criterion import ROW_FIELDS
from cch_jax.experiments import _pipeline
from cch_jax.experiments._pipeline import ExperimentConfig, degrade_view, is_image, standardize

# The criterion's per-(teacher, estimator) fields copied into a setting's row as "<estimator>_<field>".
_PER_ESTIMATOR_FIELDS = tuple(
    f for f in ROW_FIELDS if f.startswith(("mi_", "gap")) or f == "verdict"
)

# --------------------------------------------------------------------------------------------------
# The whole pipeline, with a per-phase cache for resuming


class ExperimentResult(NamedTuple):
    """What :func:`run_experiment` returns.

    Attributes:
      settings: one dict per setting (teacher view and level, student view): teacher accuracy,
        verdict, and every estimator's MI terms, gap and interval.
      runs: one dict per setting x seed: student accuracy without and with KD.
      criterion: the criterion's flat rows per (setting, estimator).
      info: data note, sizes, configuration, versions and seconds per phase.
    """

    settings: list[dict]
    runs: list[dict]
    criterion: list[dict]
    info: dict


class _Cache(PhaseCache):
    """Phase outputs as .npz/.json files in ``out/cache``, valid for one configuration."""

    def __init__(self, out_dir, fingerprint: str):
        super().__init__(None if out_dir is None else Path(out_dir) / "cache")
        if self.dir is None:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = self.dir / "fingerprint.txt"
        if stamp.exists() and stamp.read_text().strip() != fingerprint:
            raise ValueError(
                f"out: {self.dir.parent} holds a run with a different configuration or data; "
                "use a fresh folder (or delete its cache/)"
            )
        stamp.write_text(fingerprint + "\n")

    def get_json(self, name: str, make):
        if self.dir is None:
            return make()
        path = self.dir / f"{name}.json"
        if path.exists():
            self.hits.append(name)
            return json.loads(path.read_text())
        value = make()
        path.write_text(json.dumps(value))
        return value

    def path(self, name: str) -> Path | None:
        return None if self.dir is None else self.dir / name


def _fingerprint(mv, pairs, config: ExperimentConfig) -> str:
    h = hashlib.sha256()
    # (the trailing None keeps the fingerprints of earlier runs valid)
    h.update(json.dumps([config.to_dict(), [list(p) for p in pairs], mv.name, None]).encode())
    hash_arrays(h, mv.views)
    h.update(np.asarray(mv.labels).tobytes())
    h.update(np.asarray(mv.train).tobytes())
    return h.hexdigest()


def _source_digest() -> str:
    """sha256 (12 hex digits) of the criterion's and MI estimators' source files, so that a result
    records which version of the criterion produced its MI terms (read from the installed package
    with ``importlib.resources``, wherever it lives)."""
    from importlib.resources import files

    h = hashlib.sha256()
    root = files("cch_jax")
    for sub in ("criterion", "mi"):
        sources = [f for f in root.joinpath(sub).iterdir() if f.name.endswith(".py")]
        for f in sorted(sources, key=lambda f: f.name):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def _level_name(view: str, gamma: float, noise: float) -> str:
    name = view
    if gamma:
        name += f"@gamma={gamma:g}"
    if noise:
        name += f"@noise={noise:g}"
    return name


def _plain(obj):
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def run_experiment(
    mv,
    *,
    pairs: Sequence[tuple[str, str]] | None = None,
    config: ExperimentConfig | None = None,
    out_dir: str | Path | None = None,
    criterion_config: Any = None,
    progress: bool = False,
) -> ExperimentResult:
    """Runs every phase for every (teacher view, student view) pair and teacher level.

    Args:
      mv: the data, a :class:`cch_jax.data.MultiView` (see :func:`cch_jax.data.load_views`).
      pairs: ordered (teacher view, student view) pairs (default: every ordered pair of distinct
        views; for a one-view dataset, the view with itself).
      config: the :class:`ExperimentConfig` (default: its defaults).
      out_dir: folder whose ``cache/`` keeps each finished phase (and the KD sweep checkpoints),
        so that a rerun of the same configuration resumes; None keeps nothing.
      criterion_config: passed to ``cch_jax.criterion.check``.
      progress: one line per phase on stderr.

    Returns:
      :class:`ExperimentResult`.
    """
    config, pairs = _check_inputs(mv, pairs, config)
    train = np.asarray(mv.train, bool)
    y = np.asarray(mv.labels, np.int32)
    n_test = int((~train).sum())
    mi_rows = min(config.mi_examples, n_test)
    say = _say if progress else (lambda m: None)
    cache = _Cache(out_dir, _fingerprint(mv, pairs, config))
    clock = _Clock()
    key = jax.random.key(config.seed)

    std = {v: clock.timed("inputs", standardize, mv.views[v], train) for v in mv.views}
    run = _Run(
        mv=mv, pairs=pairs, config=config, std=std,
        levels=[(g, config.teacher_noise) for g in config.gammas],
        y=y, train=train, mi_rows=mi_rows, cache=cache, clock=clock, key=key, say=say,
        progress=progress,
    )  # fmt: skip
    teachers = _teacher_phase(run)

    settings, runs, crit_rows, mi_notes = [], [], [], []
    # the criterion's cache entry is keyed by its configuration: changing only the criterion
    # settings reuses the trained teachers and students
    crit_tag = hashlib.sha256(repr(criterion_config).encode()).hexdigest()[:10]
    for si, s in enumerate(dict.fromkeys(p[1] for p in pairs)):
        rows, notes = _student_phase(run, s, si, teachers, criterion_config, crit_tag)
        settings += rows[0]
        runs += rows[1]
        crit_rows += rows[2]
        mi_notes += notes
    info = _info(mv, pairs, config, n_test, mi_rows, mi_notes, cache, clock)
    return ExperimentResult(settings, runs, crit_rows, info)


# --------------------------------------------------------------------------------------------------
# The phases of run_experiment


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class _Clock:
    """Wall seconds per phase, summed over calls."""

    def __init__(self):
        self.seconds: dict[str, float] = {
            "inputs": 0.0,
            "teachers": 0.0,
            "mi": 0.0,
            "students": 0.0,
        }

    def timed(self, phase: str, fn, *args):
        t0 = time.perf_counter()
        value = fn(*args)
        self.seconds[phase] += time.perf_counter() - t0
        return value


def _check_inputs(mv, pairs, config) -> tuple[ExperimentConfig, list[tuple[str, str]]]:
    """Phase 0: the configuration and the (teacher view, student view) pairs, or a ValueError."""
    config = ExperimentConfig() if config is None else config
    if not isinstance(config, ExperimentConfig):
        raise ValueError(f"config: expected an ExperimentConfig, got {type(config).__name__}")
    views = list(mv.views)
    if pairs is None:
        pairs = [(t, s) for t in views for s in views if t != s] or [(views[0], views[0])]
    pairs = [tuple(p) for p in pairs]
    for t, s in pairs:
        for role, v in (("teacher", t), ("student", s)):
            if v not in mv.views:
                raise ValueError(f"{role}: {mv.name} has no view {v!r}; views: {', '.join(views)}")
    for t, _ in pairs:
        if any(config.gammas) and not is_image(mv.views[t]):
            raise ValueError(f"gammas: teacher view {t!r} holds vectors; blur needs images")
    return config, pairs


class _Run(NamedTuple):
    """What every phase of one :func:`run_experiment` call reads."""

    mv: Any
    pairs: list[tuple[str, str]]
    config: ExperimentConfig
    std: dict[str, np.ndarray]  # view -> standardized inputs
    levels: list[tuple[float, float]]  # teacher (gamma, noise) levels
    y: np.ndarray  # [n] int32 classes
    train: np.ndarray  # [n] bool
    mi_rows: int
    cache: _Cache
    clock: _Clock
    key: jax.Array
    say: Any
    progress: bool


def _teacher_phase(run: _Run) -> dict[str, dict]:
    """Phase 2: teacher view -> the cached :class:`Teachers` fields (one vmapped program per view
    over its degradation levels)."""
    teachers: dict[str, dict] = {}
    for ti, t in enumerate(dict.fromkeys(p[0] for p in run.pairs)):

        def make_teacher(t=t, ti=ti):
            k = jax.random.fold_in(run.key, 1000 + ti)
            xs = np.stack(
                [degrade_view(run.std[t], gamma=g, noise=nz, key=k) for g, nz in run.levels]
            )
            r = _pipeline.train_teachers(
                xs,
                run.y,
                run.train,
                config=run.config,
                num_classes=run.mv.num_classes,
                mi_rows=run.mi_rows,
            )
            return r._asdict()

        teachers[t] = run.clock.timed("teachers", run.cache.get, f"teacher_{t}", make_teacher)
        run.say(
            f"teacher {t}: test accuracy "
            + ", ".join(
                f"{_level_name(t, g, nz)} {a:.4f}"
                for (g, nz), a in zip(run.levels, teachers[t]["accuracy"], strict=True)
            )
        )
    return teachers


def _student_phase(run: _Run, s: str, si: int, teachers: dict, criterion_config, crit_tag: str):
    """Phases 1 and 3-6 for student view ``s``: its inputs, H_s, the criterion against each of its
    teachers, its students with and without KD, and its rows ((settings, runs, criterion rows),
    criterion notes)."""
    k_s = jax.random.fold_in(run.key, 2000 + si)
    x_s = run.clock.timed(
        "inputs",
        lambda: degrade_view(
            run.std[s], gamma=run.config.student_gamma, noise=run.config.student_noise, key=k_s
        ),
    )
    names = [
        (t, li, g, nz, _level_name(t, g, nz))
        for t in (t for t, s2 in run.pairs if s2 == s)
        for li, (g, nz) in enumerate(run.levels)
    ]
    h_s = run.clock.timed(
        "mi",
        run.cache.get,
        f"encoder_{s}",
        lambda: {
            "reps": _pipeline.student_representations(
                x_s,
                run.y,
                run.train,
                config=run.config,
                num_classes=run.mv.num_classes,
                mi_rows=run.mi_rows,
            )
        },
    )["reps"]
    reps = {name: teachers[t]["test_reps"][li] for t, li, _, _, name in names}
    crit = run.clock.timed(
        "mi",
        run.cache.get_json,
        f"criterion_{s}_{crit_tag}",
        lambda: _criterion_phase(
            h_s,
            run.y[~run.train][: run.mi_rows],
            reps,
            key=jax.random.fold_in(run.key, 3000 + si),
            config=run.config,
            criterion_config=criterion_config,
        ),
    )
    run.say(f"student {s}: criterion " + ", ".join(f"{k} {v}" for k, v in crit["verdicts"].items()))
    logits = np.stack([teachers[t]["train_logits"][li] for t, li, _, _, _ in names])
    st = run.clock.timed(
        "students",
        run.cache.get,
        f"students_{s}",
        lambda: _pipeline.train_students(
            x_s,
            run.y,
            run.train,
            logits,
            config=run.config,
            num_classes=run.mv.num_classes,
            checkpoint_dir=run.cache.path(f"students_{s}"),
            progress=run.progress,
        )._asdict(),
    )
    run.say(
        f"student {s}: no-KD accuracy {np.mean(st['no_kd']):.4f} over {len(run.config.seeds)} seeds"
    )
    notes = [f"student {s}: {m}" for m in crit.get("notes", [])]
    return _student_rows(run.mv.name, s, names, teachers, crit, st), notes


def _criterion_phase(h_s, labels, reps, *, key, config, criterion_config) -> dict:
    """Phase 4: the criterion's rows, verdicts and notes for one student, JSON-ready."""
    res, notes = _pipeline.estimate_criterion(
        h_s,
        labels,
        reps,
        key=key,
        estimators=config.estimators,
        criterion_config=criterion_config,
    )
    return {"rows": _plain(res.rows()), "verdicts": _plain(dict(res.verdicts)), "notes": notes}


def _student_rows(dataset: str, student: str, names, teachers, crit, st):
    """Phase 6: the tidy rows of one student view: (settings, runs, criterion rows)."""
    settings, runs, crit_rows = [], [], []
    for vi, (t, li, g, nz, name) in enumerate(names):
        setting = dict(
            dataset=dataset,
            teacher=t,
            student=student,
            teacher_gamma=g,
            teacher_noise=nz,
            teacher_name=name,
            teacher_accuracy=float(teachers[t]["accuracy"][li]),
            verdict=crit["verdicts"][name],
        )
        for row in crit["rows"]:
            if row.get("teacher") != name:
                continue
            est = row.get("estimator")
            crit_rows.append(dict(dataset=dataset, student=student, **row))
            for f in _PER_ESTIMATOR_FIELDS:
                if f in row:
                    setting[f"{est}_{f}"] = row[f]
        settings.append(setting)
        for i, seed in enumerate(st["seeds"]):
            runs.append(
                dict(
                    dataset=dataset,
                    teacher_name=name,
                    student=student,
                    seed=int(seed),
                    no_kd_accuracy=float(st["no_kd"][i]),
                    kd_accuracy=float(st["kd"][i, vi]),
                )
            )
    return settings, runs, crit_rows


def _info(mv, pairs, config, n_test, mi_rows, mi_notes, cache, clock) -> dict:
    """The run's provenance: data note, sizes, configuration, versions, seconds per phase."""
    return dict(
        dataset=mv.name,
        note=mv.note,
        train_rows=int(np.asarray(mv.train, bool).sum()),
        test_rows=n_test,
        mi_rows=mi_rows,
        pairs=[list(p) for p in pairs],
        config=config.to_dict(),
        estimators=list(config.estimators),
        student_encoder_for_mi=(
            f"trained {config.encoder_epochs} epoch(s) without KD"
            if config.encoder_epochs
            else "untrained"
        ),
        criterion_notes=mi_notes,
        phases_from_cache=list(cache.hits),
        criterion_source=_source_digest(),
        devices=[str(d) for d in jax.devices()],
        jax_version=jax.__version__,
        seconds=clock.seconds,
    )
