"""Stringing the pipeline's phases together (:func:`run_experiment`), with a per-phase cache.

Each phase of :mod:`cch_jax.experiments._pipeline` is a function over plain arrays; this module
runs them for every (teacher view, student view) pair and teacher level of a
:class:`cch_jax.data.MultiView`, keeps each finished phase under ``out_dir/cache`` (the KD sweep's
checkpoints too) so that an interrupted run resumes, and collects tidy rows.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np

from cch_jax.criterion._result import ROW_FIELDS
from cch_jax.experiments import _pipeline
from cch_jax.experiments._pipeline import ExperimentConfig, degrade, is_image, standardize

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


class _Cache:
    """Phase outputs as .npz/.json files in ``out/cache``, valid for one configuration."""

    def __init__(self, out_dir, fingerprint: str):
        self.hits: list[str] = []
        self.dir = None if out_dir is None else Path(out_dir) / "cache"
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

    def get(self, name: str, make):
        if self.dir is None:
            return make()
        path = self.dir / f"{name}.npz"
        if path.exists():
            self.hits.append(name)
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        value = make()
        tmp = self.dir / f"{name}.tmp.npz"
        np.savez(tmp, **value)
        tmp.replace(path)
        return value

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
    for k in sorted(mv.views):
        h.update(k.encode())
        h.update(np.ascontiguousarray(mv.views[k]).tobytes())
    h.update(np.asarray(mv.y).tobytes())
    h.update(np.asarray(mv.train).tobytes())
    return h.hexdigest()


def _source_digest() -> str:
    """sha256 (12 hex digits) of the criterion's and MI estimators' source files, so that a result
    records which version of the criterion produced its MI terms."""
    import cch_jax

    h = hashlib.sha256()
    root = Path(cch_jax.__file__).parent
    for sub in ("criterion", "mi"):
        for f in sorted((root / sub).glob("*.py")):
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
    import sys

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
    train = np.asarray(mv.train, bool)
    y = np.asarray(mv.y, np.int32)
    n_test = int((~train).sum())
    mi_rows = min(config.mi_examples, n_test)
    for t, _ in pairs:
        if any(config.gammas) and not is_image(mv.views[t]):
            raise ValueError(f"gammas: teacher view {t!r} holds vectors; blur needs images")
    say = (lambda m: print(m, file=sys.stderr, flush=True)) if progress else (lambda m: None)
    cache = _Cache(out_dir, _fingerprint(mv, pairs, config))
    seconds: dict[str, float] = {"inputs": 0.0, "teachers": 0.0, "mi": 0.0, "students": 0.0}
    key = jax.random.key(config.seed)

    def timed(phase, fn):
        t0 = time.perf_counter()
        value = fn()
        seconds[phase] += time.perf_counter() - t0
        return value

    std = {v: timed("inputs", lambda v=v: standardize(mv.views[v], train)) for v in views}
    levels = [(g, config.teacher_noise) for g in config.gammas]

    # Teachers: one vmapped program per teacher view over its degradation levels.
    teachers: dict[str, dict] = {}
    for ti, t in enumerate(dict.fromkeys(p[0] for p in pairs)):

        def make_teacher(t=t, ti=ti):
            k = jax.random.fold_in(key, 1000 + ti)
            xs = np.stack([degrade(std[t], gamma=g, noise=nz, key=k) for g, nz in levels])
            r = _pipeline.train_teachers(
                xs, y, train, config=config, num_classes=mv.num_classes, mi_rows=mi_rows
            )
            return r._asdict()

        teachers[t] = timed("teachers", lambda m=make_teacher, t=t: cache.get(f"teacher_{t}", m))
        say(
            f"teacher {t}: test accuracy "
            + ", ".join(
                f"{_level_name(t, g, nz)} {a:.4f}"
                for (g, nz), a in zip(levels, teachers[t]["accuracy"], strict=True)
            )
        )

    settings, runs, crit_rows, mi_notes = [], [], [], []
    # the criterion's cache entry is keyed by its configuration: changing only the criterion
    # settings reuses the trained teachers and students
    crit_tag = hashlib.sha256(repr(criterion_config).encode()).hexdigest()[:10]
    for si, s in enumerate(dict.fromkeys(p[1] for p in pairs)):
        k_s = jax.random.fold_in(key, 2000 + si)
        x_s = timed(
            "inputs",
            lambda s=s, k_s=k_s: degrade(
                std[s], gamma=config.student_gamma, noise=config.student_noise, key=k_s
            ),
        )
        tviews = [t for t, s2 in pairs if s2 == s]
        names, logits, reps, t_acc = [], [], [], []
        for t in tviews:
            for li, (g, nz) in enumerate(levels):
                names.append((t, g, nz, _level_name(t, g, nz)))
                logits.append(teachers[t]["train_logits"][li])
                reps.append(teachers[t]["test_reps"][li])
                t_acc.append(float(teachers[t]["accuracy"][li]))

        def make_probe(x_s=x_s):
            return {
                "reps": _pipeline.student_representations(
                    x_s, y, train, config=config, num_classes=mv.num_classes, mi_rows=mi_rows
                )
            }

        h_s = timed("mi", lambda m=make_probe, s=s: cache.get(f"probe_{s}", m))["reps"]

        def make_criterion(h_s=h_s, names=names, reps=reps, si=si):
            res, notes = _pipeline.estimate_criterion(
                h_s,
                y[~train][:mi_rows],
                {n[3]: r for n, r in zip(names, reps, strict=True)},
                key=jax.random.fold_in(key, 3000 + si),
                estimators=config.estimators,
                criterion_config=criterion_config,
            )
            return {
                "rows": _plain(res.rows()),
                "verdicts": _plain(dict(res.verdicts)),
                "notes": notes,
            }

        crit = timed(
            "mi", lambda m=make_criterion, s=s: cache.get_json(f"criterion_{s}_{crit_tag}", m)
        )
        mi_notes.extend(f"student {s}: {m}" for m in crit.get("notes", []))
        say(f"student {s}: criterion " + ", ".join(f"{k} {v}" for k, v in crit["verdicts"].items()))

        def make_students(x_s=x_s, logits=logits, s=s):
            ckpt = cache.path(f"students_{s}")
            r = _pipeline.train_students(
                x_s,
                y,
                train,
                np.stack(logits),
                config=config,
                num_classes=mv.num_classes,
                checkpoint_dir=ckpt,
                progress=progress,
            )
            return r._asdict()

        st = timed("students", lambda m=make_students, s=s: cache.get(f"students_{s}", m))
        say(
            f"student {s}: no-KD accuracy {np.mean(st['no_kd']):.4f} over {len(config.seeds)} seeds"
        )

        for vi, (t, g, nz, name) in enumerate(names):
            setting = dict(
                dataset=mv.name,
                teacher=t,
                student=s,
                teacher_gamma=g,
                teacher_noise=nz,
                teacher_name=name,
                teacher_accuracy=t_acc[vi],
                verdict=crit["verdicts"][name],
            )
            for row in crit["rows"]:
                if row.get("teacher") != name:
                    continue
                est = row.get("estimator")
                crit_rows.append(dict(dataset=mv.name, student=s, **row))
                for f in _PER_ESTIMATOR_FIELDS:
                    if f in row:
                        setting[f"{est}_{f}"] = row[f]
            settings.append(setting)
            for i, seed in enumerate(st["seeds"]):
                runs.append(
                    dict(
                        dataset=mv.name,
                        teacher_name=name,
                        student=s,
                        seed=int(seed),
                        no_kd_accuracy=float(st["no_kd"][i]),
                        kd_accuracy=float(st["kd"][i, vi]),
                    )
                )
    info = dict(
        dataset=mv.name,
        note=mv.note,
        train_rows=int(train.sum()),
        test_rows=n_test,
        mi_rows=mi_rows,
        pairs=[list(p) for p in pairs],
        config=config.to_dict(),
        estimators=list(config.estimators),
        student_encoder_for_mi=(
            f"trained {config.probe_epochs} epoch(s) without KD"
            if config.probe_epochs
            else "untrained"
        ),
        criterion_notes=mi_notes,
        phases_from_cache=list(cache.hits),
        criterion_source=_source_digest(),
        devices=[str(d) for d in jax.devices()],
        jax_version=jax.__version__,
        seconds=seconds,
    )
    return ExperimentResult(settings, runs, crit_rows, info)
