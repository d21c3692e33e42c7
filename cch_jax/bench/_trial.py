"""``cch trial``: will KD from this teacher help my student? Decided by training, on the user's data.

The benchmark found that nothing computed from representations predicts the KD outcome better
than "never distill", while training KD and no KD with a few fresh seeds on the full data did
(the record: ``docs/trial.md``, ``results/bench/README.md``). :func:`trial` is that measurement on a user's
:class:`cch_jax.data.PairedFile`, with the benchmark's networks, training rule and control:

1. **Rows.** The file's ``train`` mask (or, without one, a stratified ``test_fraction`` of every
   class) holds rows out; a stratified ``val_fraction`` of every class's training rows validates
   (early stopping); the rest fit. Inputs are flattened and z-scored with the fit rows' statistics.
2. **Teachers.** A view teacher is the benchmark's MLP trained on its view, early-stopped on the
   validation rows (seed ``10000 + seed``); a logits teacher is used as given. A teacher whose
   validation accuracy is within two standard errors of the majority-class share is at chance: a
   loud ``UserWarning``, also kept in the result.
3. **Three arms per teacher**, on the fit rows: no KD, KD from the teacher, KD from its
   random-control teacher (its fit-row logits permuted across rows, one permutation per seed:
   :func:`control_outputs`). The loss is ``(1 - w) CE + w T^2 KL`` (``kd_weight`` w,
   ``temperature`` T). Each seed shares initialisation and minibatch order across the arms; every
   run stops early on the validation rows and is scored on the held-out rows (accuracy, %).
   Every arm of every teacher and every seed of a batch is one vmapped program
   (:func:`train_runs`).
4. **Sequential decision** (:mod:`cch_jax.bench._sequential`): at the looks 3, 5, 7, 10 seeds
   (capped by ``max_seeds``) a paired t-test of ``Δ_KD = acc(KD) - acc(no KD)`` on the first
   seeds, at the level the spending function allots to the look; a teacher stops at its first
   call. Δ_transfer = acc(KD) - acc(KD control), reported with its t-interval and p, is what the
   teacher knows beyond a soft target's regularising effect.
5. **One program per trial.** Seeds train in batches of ``SEED_BATCH`` (5): batch j is seeds
   5j .. 5j + 4, trained when a look needs one of them, so the looks 3 and 5 share the first batch
   and 7 and 10 the second (every later look, 5 seeds apart, ends a batch). A look reads only its
   first n seeds; seeds trained past the stopping look are kept in the cache, not used. A teacher
   decided early keeps its slot in later batches as padding (runs on a copy of another teacher,
   discarded): every batch of a trial has one shape, and its training program compiles
   once (on small data compiling costs more than the padding's training).
6. **Resume.** With ``out``, each teacher's network and each (teacher, seed batch) result is an
   ``.npz`` under ``out/runs-<fingerprint>/`` (:class:`cch_jax._cache.PhaseCache`): the same call
   again reads them back and trains nothing it has. The fingerprint covers the data and the
   settings that change a run (not ``alpha``, ``max_seeds`` nor the teacher selection), so a
   changed setting starts a new ``runs-*`` folder beside the old one.

Sizes from the data (the benchmark's rules): minibatch :func:`batch_size_for` (n_fit); epoch cap
``clip(ceil(2400 / steps per epoch), 30, 300)`` and patience ``clip(cap // 20, 5, 15)`` (300 / 15
for up to ~1000 fit rows, as the benchmark's tabular datasets; 78 / 5 at 4000); the MLP of width
64 (Adam 1e-3, constant step) of the benchmark's tabular and CPU-size image students.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from cch_jax import _checks
from cch_jax._cache import PhaseCache, hash_arrays
from cch_jax.bench import _datasets, _sequential, _stats, _students
from cch_jax.bench._sequential import SequentialRule
from cch_jax.bench._trial_result import TeacherTrial, TrialResult
from cch_jax.kd import _runs

_CACHE_FORMAT = "cch-trial-cache/2"  # /2: batches of SEED_BATCH seeds (/1: one batch per look)
SEED_BATCH = 5  # seeds per batch: every batch of a trial has this many (module docstring)
_TARGET_STEPS = 2400  # the epoch cap's step budget (the benchmark's 300 epochs x 8 steps)
_POWER = 0.8  # of the reported minimum detectable effect
_COARSE = 3  # a call on per-seed differences with this few distinct values is warned about


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrialConfig:
    """How :func:`trial` trains and decides.

    Attributes:
      kd_weight: w in (0, 1], the weight of the KD term in ``(1 - w) CE + w T^2 KL``.
      temperature: T > 0.
      max_seeds: the most seeds per teacher, in [3, 1000]; the looks are 3, 5, 7, 10, then every
        5 seeds, the last at max_seeds (seeds train in batches of 5: up to the next multiple of
        5, the extra seeds cached and not used).
      alpha: the family-wise level of a false 'distill' or 'dont' over all looks, in (0, 0.5].
      spending: how alpha is shared out over the looks: 'obrien_fleming' (default; most power at
        the benchmark's effect sizes) or 'pocock' (more early stops).
      min_effect: stop a teacher as 'undecided' once the 95 % interval of Δ_KD lies inside
        (-min_effect, min_effect) (accuracy points); None: never stop for futility.
      test_fraction: held-out share of every class when the file has no ``train`` mask, in (0, 1).
      val_fraction: validation share of every class's training rows, in (0, 1).
      hidden: the MLP's widths.
      learning_rate: Adam's step size, > 0.
      max_epochs: epoch cap of every run (None: from the fit rows, module docstring).
      patience: epochs without improvement before a run stops (None: from the cap).
      seed: seed of the split, the teachers (10000 + seed) and the students (1000 seed + i).
    """

    kd_weight: float = 0.5
    temperature: float = 3.0
    max_seeds: int = 10
    alpha: float = 0.05
    spending: str = "obrien_fleming"
    min_effect: float | None = None
    test_fraction: float = 0.25
    val_fraction: float = 0.2
    hidden: tuple[int, ...] = (64,)
    learning_rate: float = 1e-3
    max_epochs: int | None = None
    patience: int | None = None
    seed: int = 0

    def __post_init__(self):
        c = _checks
        unit = dict(low=0.0, high=1.0, low_open=True, high_open=True)
        positive = dict(low=0.0, low_open=True)
        w = c.check_real("kd_weight", self.kd_weight, low=0.0, high=1.0, low_open=True)
        values = {  # plain Python numbers: the cache's fingerprint is JSON
            "kd_weight": w,
            "temperature": c.check_real("temperature", self.temperature, **positive),
            "max_seeds": c.check_int("max_seeds", self.max_seeds),
            "alpha": c.check_real("alpha", self.alpha),
            "test_fraction": c.check_real("test_fraction", self.test_fraction, **unit),
            "val_fraction": c.check_real("val_fraction", self.val_fraction, **unit),
            "hidden": c.check_int_tuple("hidden", self.hidden, minimum=1, min_length=1),
            "learning_rate": c.check_real("learning_rate", self.learning_rate, **positive),
            "seed": c.check_int("seed", self.seed, minimum=0, maximum=2_000_000),  # int32 seeds
        }
        if self.min_effect is not None:
            values["min_effect"] = c.check_real("min_effect", self.min_effect, **positive)
        for name in ("max_epochs", "patience"):
            if getattr(self, name) is not None:
                values[name] = c.check_int(name, getattr(self, name), minimum=1)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        self.rule  # the ranges of max_seeds, alpha and spending  # noqa: B018

    @property
    def rule(self) -> SequentialRule:
        """The :func:`cch_jax.bench.sequential_rule` of this configuration."""
        return _sequential.sequential_rule(
            self.max_seeds, alpha=self.alpha, spending=self.spending, min_effect=self.min_effect
        )

    def to_dict(self) -> dict:
        """JSON-ready values."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    def run_settings(self) -> dict:
        """The settings that change a run's result (the cache's fingerprint)."""
        keep = (
            "kd_weight",
            "temperature",
            "test_fraction",
            "val_fraction",
            "hidden",
            "learning_rate",
            "max_epochs",
            "patience",
            "seed",
        )
        return {k: v for k, v in self.to_dict().items() if k in keep}


# --------------------------------------------------------------------------------------------------
# Rows, sizes, networks


def split_rows(labels, train=None, *, test_fraction=0.25, val_fraction=0.2, seed=0) -> np.ndarray:
    """Every row's part: fit, validation (early stopping) or test (held out, scores the students).

    Args:
      labels: ``[n]`` int classes.
      train: ``[n]`` bool (True: a training row) or None (hold out ``test_fraction`` of every
        class, stratified).
      test_fraction: held-out share per class without ``train``.
      val_fraction: validation share of every class's training rows.
      seed: the split's seed.

    Returns:
      ``[n]`` int8 codes ``_datasets.FIT`` (0), ``VAL`` (1), ``TEST`` (3).

    Raises:
      ValueError: naming ``y`` (a class with too few rows for the splits) or ``train``.
    """
    import jax

    y = np.asarray(labels)
    key = jax.random.fold_in(jax.random.key(seed), 1)
    if train is None:
        classes, counts = np.unique(y, return_counts=True)
        if counts.min() < 3:
            c = classes[np.argmin(counts)]
            raise ValueError(
                f"y: class {c} has {counts.min()} row(s); the trial needs >= 3 per class (one to "
                f"fit, one to validate, one held out), or a train mask"
            )
        # stratified_parts takes shares of every class's rows: validation is val_fraction of the
        # training rows, i.e. val_fraction * (1 - test_fraction) of all
        shares = (test_fraction, 0.0, val_fraction * (1.0 - test_fraction))
        return _datasets.stratified_parts(y, shares, key=key)
    train = np.asarray(train, bool)
    if train.all():
        raise ValueError("train: every row is a training row; mark held-out rows False")
    if not train.any():
        raise ValueError("train: no row is a training row; mark training rows True")
    classes, counts = np.unique(y[train], return_counts=True)
    missing = np.setdiff1d(np.unique(y[~train]), classes)
    if missing.size:
        raise ValueError(f"train: class {missing[0]} has held-out rows but no training rows")
    if counts.min() < 2:
        c = classes[np.argmin(counts)]
        raise ValueError(
            f"y: class {c} has {counts.min()} training row; the trial needs >= 2 per class (one "
            f"to fit, one to validate)"
        )
    part = np.full(y.shape[0], _datasets.TEST, np.int8)
    part[train] = _datasets.stratified_parts(y[train], (0.0, 0.0, val_fraction), key=key)
    return part


def stop_rule(n_fit: int) -> tuple[int, _runs.StopConfig]:
    """The minibatch size and early-stopping rule for ``n_fit`` fitting rows (module docstring).

    Args:
      n_fit: rows the runs fit on, >= 1.

    Returns:
      ``(batch_size, StopConfig)``: :func:`batch_size_for` (n_fit); ``max_epochs =
      clip(ceil(2400 / (n_fit // batch)), 30, 300)``, ``patience = clip(max_epochs // 20, 5, 15)``.
    """
    batch = _runs.batch_size_for(n_fit)
    cap = int(min(300, max(30, math.ceil(_TARGET_STEPS / (n_fit // batch)))))
    patience = int(min(15, max(5, cap // 20)))
    return batch, _runs.StopConfig(max_epochs=cap, patience=patience, chunk_epochs=5)


def _train_config(dim: int, num_classes: int, batch: int, config: TrialConfig):
    from cch_jax import kd

    return kd.TrainConfig(
        model=kd.ModelConfig(
            name="mlp", input_shape=(dim,), num_outputs=num_classes, hidden=config.hidden
        ),
        loss=kd.KDConfig(task="classification"),  # each run's w and T are traced (RunSpec)
        epochs=1,
        batch_size=batch,
        learning_rate=config.learning_rate,
        schedule="constant",
    )


def _flat_standardized(x: np.ndarray, fit: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32).reshape(x.shape[0], -1)
    mean, std = x[fit].mean(axis=0), x[fit].std(axis=0)
    return ((x - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def _chance_warning(name: str, logits: np.ndarray, y: np.ndarray) -> tuple[float, str]:
    """(accuracy %, '' or the warning) of a teacher on the validation rows."""
    acc = float(np.mean(np.argmax(logits, axis=-1) == y))
    share = float(np.bincount(y).max() / y.size)
    bar = share + 2.0 * math.sqrt(share * (1.0 - share) / y.size)
    text = ""
    if acc <= bar:
        text = (
            f"WARNING: teacher {name!r} is at chance: {100 * acc:.1f} % on its {y.size} validation "
            f"rows, within two standard errors of the majority class's {100 * share:.1f} %; KD "
            f"from it can only act as a regulariser (compare Δ_transfer)"
        )
    return 100.0 * acc, text


# --------------------------------------------------------------------------------------------------
# Training


def _train_teachers(names, views, y, part, num_classes, batch, stop, config, say) -> dict:
    """Each view teacher's network; one program per input width. -> name -> cache dict."""
    fit, val = np.flatnonzero(part == _datasets.FIT), np.flatnonzero(part == _datasets.VAL)
    by_width: dict[int, list[str]] = {}
    for n in names:
        by_width.setdefault(views[n].shape[1], []).append(n)
    out = {}
    for width, group in by_width.items():
        t0 = time.perf_counter()
        d = len(group)
        x = np.stack([views[n] for n in group])
        data = _runs.TrainData(
            x[:, fit],
            np.broadcast_to(y[fit], (d, fit.size)),
            np.zeros((1, fit.size, num_classes), np.float32),
            x[:, val],
            np.broadcast_to(y[val], (d, val.size)),
        )
        spec = _runs.run_spec(
            seed=[_students.TEACHER_SEED + config.seed] * d,
            kd_weight=[0.0] * d,
            temperature=[config.temperature] * d,
            teacher=[0] * d,
            data=np.arange(d),
        )
        say(f"teachers {', '.join(group)}: training {d} network(s) on {fit.size} rows")
        trainer = _students._trainer(
            _train_config(width, num_classes, batch, config), int(fit.size)
        )
        res = _runs.train_runs(trainer, data, spec, stop=stop)
        seconds = (time.perf_counter() - t0) / d
        for i, n in enumerate(group):
            p = _runs.take_run(res.params, i)
            p = _map(lambda a: a[None], p)
            out[n] = {
                "logits": _runs.apply_runs(trainer.model.apply, p, views[n])[0],
                "epochs": np.asarray(int(res.epochs[i])),
                "seconds": np.asarray(seconds),
            }
    return out


def _map(f, tree):
    import jax

    return jax.tree.map(f, tree)


def _student_batch(names, logits, x, y, part, seeds, slots, batch, stop, config, say) -> dict:
    """One program: seeds x (no KD + KD and control per teacher slot). -> name -> cache dict.

    ``slots >= len(names)`` teacher slots; those past ``names`` hold copies of the first teacher,
    whose runs are discarded, so that batches of fewer teachers keep the program's shape.
    """
    fit, val = np.flatnonzero(part == _datasets.FIT), np.flatnonzero(part == _datasets.VAL)
    test = np.flatnonzero(part == _datasets.TEST)
    t0 = time.perf_counter()
    v, s = len(names), len(seeds)
    padded = [*names, *[names[0]] * (slots - v)]
    fit_logits = np.stack([logits[n][fit] for n in padded]).astype(np.float32)  # [slots, n_fit, C]
    runs = _students._group_runs(
        slots, (config.kd_weight,), seeds, config.temperature, control=True
    )
    teacher_out = np.concatenate([fit_logits, _students.control_outputs(fit_logits, seeds)])
    data = _runs.TrainData(x[fit][None], y[fit][None], teacher_out, x[val][None], y[val][None])
    spec = _students.run_spec_of(runs)
    num_classes = fit_logits.shape[-1]
    trainer = _students._trainer(
        _train_config(x.shape[1], num_classes, batch, config), int(fit.size)
    )
    pad = f", {slots - v} padding slot(s)" if slots > v else ""
    say(
        f"seeds {seeds[0]}..{seeds[-1]}: {spec.size} runs ({s} no KD + {v} teacher(s) x KD, "
        f"control{pad})"
    )
    res = _runs.train_runs(trainer, data, spec, stop=stop, progress=lambda m: say(f"  {m}"))
    acc = _students._accuracy(_runs.apply_runs(trainer.model.apply, res.params, x[test]), y[test])
    seconds = (time.perf_counter() - t0) / v
    out = {}
    for j, n in enumerate(names):
        arms = {}
        for arm, kind in (
            ("nokd", _students.Arm.NO_KD),
            ("kd", _students.Arm.KD),
            ("control", _students.Arm.CONTROL),
        ):
            sel = runs["kind"] == kind
            if kind != _students.Arm.NO_KD:
                sel &= runs["teacher"] == j
            idx = np.flatnonzero(sel)
            idx = idx[np.argsort(runs["seed_index"][idx])]
            arms[arm] = acc[idx].astype(np.float64)
            arms[f"epochs_{arm}"] = res.epochs[idx].astype(np.int64)
        out[n] = dict(arms, seeds=np.asarray(seeds, np.int64), seconds=np.asarray(seconds))
    return out


# --------------------------------------------------------------------------------------------------
# The trial


def _fingerprint(data, config: TrialConfig) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([_CACHE_FORMAT, config.run_settings()], sort_keys=True).encode())
    arrays = {
        "x_student": data.x_student,
        "y": data.labels,
        "num_classes": np.asarray(data.num_classes),
    }
    if data.train is not None:
        arrays["train"] = data.train
    for n in data.teacher_names:
        arrays[data.key_of(n)] = data.teacher_views.get(n, data.teacher_logits.get(n))
    hash_arrays(h, arrays)
    return h.hexdigest()


def _cache(out, data, config: TrialConfig) -> PhaseCache:
    if out is None:
        return PhaseCache(None)
    root = _checks.check_output_dir("out", out)
    fp = _fingerprint(data, config)
    folder = root / f"runs-{fp[:16]}"
    folder.mkdir(exist_ok=True)
    stamp = folder / "config.json"
    if not stamp.exists():
        stamp.write_text(
            json.dumps(
                {"fingerprint": fp, "source": data.source, "run_settings": config.run_settings()},
                indent=1,
            )
            + "\n"
        )
    return PhaseCache(folder)


def _has(cache: PhaseCache, name: str) -> bool:
    return cache.dir is not None and (cache.dir / f"{name}.npz").exists()


def _verdict(
    name, kind, batches, rule: SequentialRule, look: int, code: int, teacher: dict
) -> TeacherTrial:
    """The call at ``look`` from its first ``rule.looks[look]`` seeds; the epochs and cost count
    every seed trained (those of the batches past the look too)."""
    n = rule.looks[look]
    nokd = np.concatenate([b["nokd"] for b in batches])[:n]
    kd = np.concatenate([b["kd"] for b in batches])[:n]
    ctl = np.concatenate([b["control"] for b in batches])[:n]
    t_kd = _sequential.paired_t(kd - nokd)
    t_tr = _sequential.paired_t(kd - ctl)
    alpha_look = rule.alpha_look[look]
    call = {_sequential.DISTILL: "distill", _sequential.DONT: "dont"}.get(code, "undecided")
    stopped = {_sequential.FUTILE: "futility", _sequential.CONTINUE: "max_seeds"}.get(
        code, "significant"
    )
    mde = _stats.min_detectable_effect(kd - nokd, alpha=alpha_look, power=_POWER, test="t")
    epochs = int(teacher["epochs"]) + sum(
        int(b[f"epochs_{a}"].sum()) for b in batches for a in ("nokd", "kd", "control")
    )
    cost = float(teacher["seconds"]) + sum(float(b["seconds"]) for b in batches)
    return TeacherTrial(
        name,
        kind,
        call,
        stopped,
        int(kd.size),
        look + 1,
        float(alpha_look),
        t_kd.mean,
        (t_kd.low, t_kd.high),
        t_kd.p,
        t_tr.mean,
        (t_tr.low, t_tr.high),
        t_tr.p,
        mde,
        nokd,
        kd,
        ctl,
        float(teacher["test_accuracy"]),
        float(teacher["val_accuracy"]),
        epochs,
        cost,
        str(teacher["warning"]),
    )


def _coarse_warning(t: TeacherTrial) -> str:
    """'' or a warning that a call rests on per-seed differences of very few distinct values."""
    distinct = np.unique(t.accuracy_kd - t.accuracy_nokd).size
    if t.call == "undecided" or distinct > _COARSE:
        return ""
    return (
        f"WARNING: teacher {t.name!r}'s per-seed Δ_KD take only {distinct} distinct values (too "
        f"few held-out rows to resolve them): the t-test's error rate is then approximate (up to "
        f"about alpha + 0.001 in the worst case simulated, docs/trial.md)"
    )


def trial(
    data,
    config: TrialConfig | None = None,
    *,
    teachers: Sequence[str] | None = None,
    out=None,
    progress: Callable[[str], None] | None = None,
) -> TrialResult:
    """Decides, by training, whether KD from each teacher helps the student (module docstring).

    Args:
      data: a :class:`cch_jax.data.PairedFile`, or the path of such an ``.npz`` file.
      config: a :class:`TrialConfig` (None: the defaults, kd_weight 0.5, T = 3, max_seeds 10,
        alpha 0.05).
      teachers: names of the teachers to try (None: every teacher of the file).
      out: cache folder (results are kept under ``out/runs-<fingerprint>/`` and a rerun resumes),
        or None to keep nothing.
      progress: ``str -> None`` for progress lines, or None.

    Returns:
      :class:`TrialResult`, teachers ranked by Δ_KD.

    Raises:
      ValueError: naming the argument or the file's key (``max_seeds``, ``teachers``, ``y``, ...).
    """
    from cch_jax import data as _data

    t_start = time.perf_counter()
    config = (
        TrialConfig() if config is None else _checks.check_instance("config", config, TrialConfig)
    )
    if isinstance(data, str | os.PathLike):
        data = _data.load_paired_file(data)
    _checks.check_instance("data", data, _data.PairedFile)
    names = _pick_teachers(data, teachers)
    rule = config.rule

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    y = data.labels
    part = split_rows(
        y,
        data.train,
        test_fraction=config.test_fraction,
        val_fraction=config.val_fraction,
        seed=config.seed,
    )
    fit = part == _datasets.FIT
    val, test = np.flatnonzero(part == _datasets.VAL), np.flatnonzero(part == _datasets.TEST)
    batch, stop = stop_rule(int(fit.sum()))
    stop = dataclasses.replace(
        stop,
        max_epochs=config.max_epochs or stop.max_epochs,
        patience=config.patience or stop.patience,
    )
    x = _flat_standardized(data.x_student, fit)
    views = {
        n: _flat_standardized(data.teacher_views[n], fit) for n in names if n in data.teacher_views
    }
    cache = _cache(out, data, config)
    sizes = {
        "fit": int(fit.sum()),
        "validation": int(val.size),
        "test": int(test.size),
        "classes": data.num_classes,
        "student_features": int(x.shape[1]),
        "batch_size": batch,
        "max_epochs": stop.max_epochs,
        "patience": stop.patience,
    }
    say(
        f"rows: {sizes['fit']} fit, {sizes['validation']} validation, {sizes['test']} held out; "
        f"looks at {', '.join(map(str, rule.looks))} seeds"
    )

    # teachers
    todo = [n for n in views if not _has(cache, f"teacher-{n}")]
    made = (
        _train_teachers(todo, views, y, part, data.num_classes, batch, stop, config, say)
        if todo
        else {}
    )
    info, logits, notes = {}, {}, []
    for n in names:
        if n in views:
            t = cache.get(f"teacher-{n}", lambda n=n, made=made: made[n])
            logits[n], epochs, seconds = t["logits"], int(t["epochs"]), float(t["seconds"])
        else:
            logits[n], epochs, seconds = data.teacher_logits[n], 0, 0.0
        val_acc, warn = _chance_warning(n, logits[n][val], y[val])
        if warn:
            warnings.warn(warn, UserWarning, stacklevel=2)
            notes.append(warn)
        test_acc = 100.0 * float(np.mean(np.argmax(logits[n][test], axis=-1) == y[test]))
        info[n] = {
            "epochs": epochs,
            "seconds": seconds,
            "val_accuracy": val_acc,
            "test_accuracy": test_acc,
            "warning": warn,
        }

    # students, look by look; a look trains the batches of seeds it lacks (SEED_BATCH each)
    seeds_all = [1000 * config.seed + i for i in range(_round_up(rule.looks[-1], SEED_BATCH))]
    batches: dict[str, list[dict]] = {n: [] for n in names}
    results: dict[str, TeacherTrial] = {}
    active = list(names)
    for k, n_k in enumerate(rule.looks):
        say(f"look {k + 1}/{len(rule.looks)} ({n_k} seeds): {', '.join(active)}")
        while len(batches[active[0]]) * SEED_BATCH < n_k:  # every active teacher has as many
            first = len(batches[active[0]]) * SEED_BATCH
            seeds = seeds_all[first : first + SEED_BATCH]
            tag = f"seeds{first}-{first + SEED_BATCH - 1}"
            todo = [n for n in active if not _has(cache, f"{tag}-{n}")]
            made = (
                _student_batch(
                    todo, logits, x, y, part, seeds, len(names), batch, stop, config, say
                )
                if todo
                else {}
            )
            for n in active:
                batches[n].append(cache.get(f"{tag}-{n}", lambda n=n, made=made: made[n]))
        for n in list(active):
            d = np.concatenate([b["kd"] - b["nokd"] for b in batches[n]])[:n_k]
            code = int(_sequential.decide(d, rule, k))
            if code != _sequential.CONTINUE or k == len(rule.looks) - 1:
                kind = "view" if n in views else "logits"
                res = _verdict(n, kind, batches[n], rule, k, code, info[n])
                coarse = _coarse_warning(res)
                if coarse:
                    warnings.warn(coarse, UserWarning, stacklevel=2)
                    notes.append(coarse)
                    res = res._replace(warning=f"{res.warning} {coarse}".strip())
                results[n] = res
                active.remove(n)
                say(f"  {n}: {results[n].call} after {n_k} seeds")
        if not active:
            break
    ranked = sorted(results.values(), key=lambda t: -t.delta_kd)
    return TrialResult(
        tuple(ranked),
        rule,
        config,
        sizes,
        tuple(notes),
        cache.dir,
        tuple(cache.made),
        tuple(cache.hits),
        time.perf_counter() - t_start,
        data.source,
    )


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def _pick_teachers(data, teachers) -> list[str]:
    have = data.teacher_names
    if teachers is None:
        return list(have)
    if isinstance(teachers, str):
        teachers = (teachers,)
    names = list(teachers)
    if not names:
        raise ValueError("teachers: expected at least one teacher name (None: all)")
    for n in names:
        if n not in have:
            raise ValueError(f"teachers: no teacher {n!r} in the data; it has {', '.join(have)}")
    if len(set(names)) != len(names):
        raise ValueError(f"teachers: a name is repeated in {names}")
    return names
