"""The CCH experiment pipeline on any paired modalities, phase by phase over plain arrays.

Does the Cross-modal Complementarity Hypothesis predict when distilling from a teacher modality
helps a student modality? For each *setting* (a teacher view at a degradation level, and a student
view):

1. :func:`degrade_view` the teacher's input (Gaussian blur gamma for images, pixel/feature noise
   sigma); :func:`standardize` vector views with training-row statistics;
2. :func:`train_teachers`: supervised networks on the teacher inputs (no KD; several levels of one
   view train as variants of one vmapped program), giving their test accuracy, their logits on the
   training rows and their representations H_t on held-out rows;
3. :func:`student_representations`: H_s from a student encoder trained briefly without KD
   (``encoder_epochs``; 0: untrained) on the same held-out rows;
4. :func:`estimate_criterion`: I(H_t; H_s), I(H_s; Y), the gap, intervals and the verdict with
   ``cch_jax.criterion.check`` (the core of ``cch check``), with several estimators;
5. :func:`train_students`: students with KD against every teacher (seeds x teachers, one vmapped
   :func:`cch_jax.kd.fit` sweep, resumable from checkpoints) and without KD
   (:func:`cch_jax.kd.fit_supervised`, the same seeds: the runs of a seed share initialisation and
   minibatch order), scored on the held-out rows;
6. :func:`cch_jax.experiments.analyse`: tidy rows, a per-setting summary with paired tests, and the
   cross-setting comparison with naive predictors.

MLP encoders read vector views, the small CNN reads images. :func:`cch_jax.experiments.run_experiment`
(``_run.py``) strings the phases together and caches each phase's output under ``out_dir`` so that
an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks, mi

DEFAULT_HIDDEN = {"mlp": (64,), "cnn": (16, 32, 64)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """How one CCH experiment is run (the data come separately, as a :class:`MultiView`).

    Attributes:
      gammas: teacher blur levels (standard deviation, pixels) for image teachers, >= 0; vector
        teachers take only 0.
      teacher_noise: std of Gaussian noise added to the teacher input (pixels in [0, 1], or
        standardized features), >= 0.
      student_gamma, student_noise: the same for the student's input.
      hidden: encoder widths: MLP hidden widths, or the CNN's (conv1, conv2, dense); () picks
        (64,) for the MLP and (16, 32, 64) for the CNN.
      teacher_epochs, epochs, encoder_epochs: epochs of the teachers, of the students (with and
        without KD) and of the pre-KD student encoder used for H_s (0: untrained).
      batch_size, learning_rate: Adam minibatch size (capped at the training rows) and step size.
      kd_weight, temperature: the KD loss (1 - kd_weight) CE + kd_weight T^2 KL; kd_weight in
        (0, 1], temperature > 0 (paper: 0.5, 3).
      seeds: student seeds, shared by the KD and no-KD runs (paired by seed).
      seed: seed of the degradations, teachers, student encoder and MI estimators.
      mi_examples: held-out rows used for the MI estimates (at most all of them).
      estimators: MI estimators passed to the criterion (``'latent'`` is the paper's).
      alpha: significance level of the paired test of each setting's KD effect.
      chunk_epochs: epochs per compiled chunk of the student sweep (checkpoints between chunks).
    """

    gammas: tuple[float, ...] = (0.0,)
    teacher_noise: float = 0.0
    student_gamma: float = 0.0
    student_noise: float = 0.0
    hidden: tuple[int, ...] = ()
    teacher_epochs: int = 5
    epochs: int = 5
    encoder_epochs: int = 1
    batch_size: int = 128
    learning_rate: float = 1e-3
    kd_weight: float = 0.5
    temperature: float = 3.0
    seeds: tuple[int, ...] = tuple(range(10))
    seed: int = 0
    mi_examples: int = 2000
    estimators: tuple[str, ...] = ("latent", "ksg")
    alpha: float = 0.05
    chunk_epochs: int = 5

    def __post_init__(self):
        c = _checks
        gammas = c.check_real_tuple("gammas", self.gammas, low=0.0)
        if not gammas:
            raise ValueError("gammas: expected at least one blur level")
        if len(set(gammas)) != len(gammas):
            raise ValueError(f"gammas: repeated values in {gammas}")
        object.__setattr__(self, "gammas", gammas)
        for name in ("teacher_noise", "student_gamma", "student_noise"):
            c.check_real(name, getattr(self, name), low=0.0)
        object.__setattr__(self, "hidden", c.check_int_tuple("hidden", self.hidden, minimum=1))
        c.check_int("teacher_epochs", self.teacher_epochs, minimum=1)
        c.check_int("epochs", self.epochs, minimum=1)
        c.check_int("encoder_epochs", self.encoder_epochs, minimum=0)
        c.check_int("batch_size", self.batch_size, minimum=1)
        c.check_real("learning_rate", self.learning_rate, low=0.0, low_open=True)
        c.check_real("kd_weight", self.kd_weight, low=0.0, high=1.0, low_open=True)
        c.check_real("temperature", self.temperature, low=0.0, low_open=True)
        seeds = c.check_int_tuple("seeds", self.seeds, minimum=0)
        if not seeds:
            raise ValueError("seeds: expected at least one seed")
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds: repeated values in {seeds}")
        object.__setattr__(self, "seeds", seeds)
        c.check_int("seed", self.seed, minimum=0)
        c.check_int("mi_examples", self.mi_examples, minimum=10)
        # The criterion's teacher-term estimators: the registry's "pair" estimators.
        est = mi.check_names("estimators", self.estimators, kind="pair")
        object.__setattr__(self, "estimators", est)
        c.check_real("alpha", self.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
        c.check_int("chunk_epochs", self.chunk_epochs, minimum=1)

    def to_dict(self) -> dict:
        """The configuration as JSON-ready values."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


# --------------------------------------------------------------------------------------------------
# Phase 1: inputs


def is_image(x) -> bool:
    """Whether ``x`` [n, ...] holds images ``[n, H, W, C]`` (else vectors ``[n, d]``)."""
    return np.ndim(x) == 4


def standardize(x, train) -> np.ndarray:
    """Vectors: z-scores with the training rows' mean and std (constant columns -> 0); images are
    returned unchanged (already in [0, 1]).

    Args:
      x: ``[n, d]`` or ``[n, H, W, C]``.
      train: ``[n]`` bool training mask.

    Returns:
      ``x`` as float32, standardized if it is a vector view.
    """
    x = np.asarray(x, np.float32)
    if is_image(x):
        return x
    mean = x[train].mean(axis=0)
    std = x[train].std(axis=0)
    return ((x - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def degrade_view(x, *, gamma: float = 0.0, noise: float = 0.0, key: jax.Array) -> np.ndarray:
    """Weakens one whole view: Gaussian blur ``gamma`` (images only), then N(0, noise^2) noise.

    Images go through :func:`cch_jax.data.degrade` in chunks of 8192 rows (chunk i with key
    ``fold_in(key, i)``), which bounds the blur's memory; vectors only take the noise.

    Args:
      x: ``[n, H, W, C]`` images in [0, 1] or ``[n, d]`` (standardized) vectors.
      gamma: blur std in pixels, >= 0 (must be 0 for vectors).
      noise: noise std, >= 0.
      key: ``jax.random.key``.

    Returns:
      ``[n, ...]`` float32 (NumPy).
    """
    from cch_jax import data

    gamma = _checks.check_real("gamma", gamma, low=0.0)
    noise = _checks.check_real("noise", noise, low=0.0)
    if not is_image(x):
        if gamma > 0:
            raise ValueError(f"gamma: blur needs images [n, H, W, C]; got shape {np.shape(x)}")
        x = jnp.asarray(x, jnp.float32)
        if noise > 0:
            x = x + noise * jax.random.normal(key, x.shape, jnp.float32)
        return np.asarray(x)
    out = []
    for i in range(0, x.shape[0], 8192):  # chunks bound the blur's memory
        out.append(
            np.asarray(
                data.degrade(
                    x[i : i + 8192], gamma=gamma, noise=noise, key=jax.random.fold_in(key, i)
                )
            )
        )
    return np.concatenate(out)


def train_config(config: ExperimentConfig, input_shape, num_classes: int, epochs: int, n: int):
    """The :class:`cch_jax.kd.TrainConfig` of every network of a view: CNN for images, else MLP."""
    from cch_jax import kd

    name = "cnn" if len(input_shape) == 3 else "mlp"
    hidden = config.hidden or DEFAULT_HIDDEN[name]
    if name == "cnn" and len(hidden) != 3:
        raise ValueError(f"hidden: the CNN takes (conv1, conv2, dense) widths, got {hidden}")
    return kd.TrainConfig(
        model=kd.ModelConfig(
            name=name, input_shape=tuple(input_shape), num_outputs=num_classes, hidden=hidden
        ),
        loss=kd.KDConfig(kd_weight=config.kd_weight, temperature=config.temperature),
        epochs=epochs,
        batch_size=min(config.batch_size, n),
        learning_rate=config.learning_rate,
        chunk_epochs=min(config.chunk_epochs, epochs),
    )


def _batched(fn, params, x, chunk: int = 2048) -> np.ndarray:
    f = jax.jit(fn)
    return np.concatenate(
        [np.asarray(f(params, x[i : i + chunk])) for i in range(0, len(x), chunk)]
    )


def _run(params, i: int):
    return jax.tree.map(lambda a: a[i], params)


# --------------------------------------------------------------------------------------------------
# Phase 2-3: teachers and the pre-KD student encoder


class Teachers(NamedTuple):
    """Supervised teachers of one view at V degradation levels.

    Attributes:
      accuracy: ``[V]`` test accuracy of each teacher.
      train_logits: ``[V, n_train, k]`` logits on the training rows (what KD distils).
      test_reps: ``[V, m, h]`` penultimate representations H_t on the first m held-out rows.
    """

    accuracy: np.ndarray
    train_logits: np.ndarray
    test_reps: np.ndarray


def train_teachers(
    xs, y, train, *, config: ExperimentConfig, num_classes: int, mi_rows: int
) -> Teachers:
    """Trains one supervised teacher per input variant (one vmapped program).

    Args:
      xs: ``[V, n, ...]`` teacher inputs (one view at V degradation levels).
      y: ``[n]`` int classes.
      train: ``[n]`` bool training mask.
      config: the :class:`ExperimentConfig` (teacher_epochs, widths, optimizer, seed).
      num_classes: classes k.
      mi_rows: held-out rows whose representations are returned (the first ones).

    Returns:
      :class:`Teachers`.
    """
    from cch_jax import kd

    xs = np.asarray(xs, np.float32)
    x_tr, y_tr = xs[:, train], np.asarray(y)[train]
    x_te, y_te = xs[:, ~train], np.asarray(y)[~train]
    cfg = train_config(config, xs.shape[2:], num_classes, config.teacher_epochs, len(y_tr))
    model = kd.make_model(cfg.model)
    fit = kd.fit_supervised(cfg, x_tr, y_tr, seeds=(config.seed,), variants=True)
    acc, logits, reps = [], [], []
    for v in range(xs.shape[0]):
        p = _run(fit.params, v)
        pred = _batched(model.apply, p, x_te[v]).argmax(-1)
        acc.append(float(np.mean(pred == y_te)))
        logits.append(_batched(model.apply, p, x_tr[v]))
        reps.append(_batched(model.features, p, x_te[v, :mi_rows]))
    return Teachers(np.asarray(acc), np.stack(logits), np.stack(reps))


def student_representations(
    x, labels, train, *, config: ExperimentConfig, num_classes: int, mi_rows: int
) -> np.ndarray:
    """H_s before distillation: a student encoder trained ``encoder_epochs`` without KD.

    Args:
      x: ``[n, ...]`` student inputs.
      labels: ``[n]`` int classes.
      train: ``[n]`` bool training mask.
      config: the :class:`ExperimentConfig` (encoder_epochs, widths, optimizer, seed).
      num_classes: classes k.
      mi_rows: held-out rows whose representations are returned (the first ones).

    Returns:
      ``[m, h]`` representations of the first ``mi_rows`` held-out rows.
    """
    from cch_jax import kd

    x = np.asarray(x, np.float32)
    y = np.asarray(labels)
    epochs = max(config.encoder_epochs, 1)
    cfg = train_config(config, x.shape[1:], num_classes, epochs, int(train.sum()))
    model = kd.make_model(cfg.model)
    if config.encoder_epochs > 0:
        params = _run(kd.fit_supervised(cfg, x[train], y[train], seeds=(config.seed,)).params, 0)
    else:
        params = model.init(jax.random.key(config.seed))
    return _batched(model.features, params, x[~train][:mi_rows])


# --------------------------------------------------------------------------------------------------
# Phase 4: the criterion


def estimate_criterion(
    h_student,
    labels,
    teacher_reps: dict[str, np.ndarray],
    *,
    key: jax.Array,
    estimators: Sequence[str] = ("latent", "ksg"),
    criterion_config: Any = None,
):
    """I(H_t; H_s), I(H_s; Y), gap, intervals and verdict per teacher, from ``cch_jax.criterion``.

    Args:
      h_student: ``[m, h]`` student representations.
      labels: ``[m]`` classes of the same rows.
      teacher_reps: teacher name -> ``[m, h_t]`` representations of the same rows.
      key: ``jax.random.key``.
      estimators: MI estimators (see ``cch_jax.criterion.check``).
      criterion_config: passed through as ``config``.

    Returns:
      ``(result, notes)``: the criterion's result (``.verdicts``, ``.rows()``, ``.to_dict()``) and
      the texts of the :class:`cch_jax._checks.InputWarning` it raised (e.g. dead ReLU units
      dropped as constant columns), collected rather than repeated for every setting.
    """
    from cch_jax import criterion

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", _checks.InputWarning)
        result = criterion.check(
            np.asarray(h_student),
            np.asarray(labels),
            {k: np.asarray(v) for k, v in teacher_reps.items()},
            key=key,
            label_kind="classes",
            estimators=tuple(estimators),
            config=criterion_config,
            progress=False,
        )
    notes = []
    for w in caught:
        if issubclass(w.category, _checks.InputWarning):
            notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result, notes


# --------------------------------------------------------------------------------------------------
# Phase 5: students


class Students(NamedTuple):
    """Test accuracies of the students of one view.

    Attributes:
      no_kd: ``[S]`` accuracy without KD, per seed.
      kd: ``[S, V]`` accuracy with KD from each of V teachers, per seed.
      seeds: ``[S]`` the seeds.
    """

    no_kd: np.ndarray
    kd: np.ndarray
    seeds: np.ndarray


def _accuracies(apply, params, x, y, chunk: int = 1024) -> np.ndarray:
    f = jax.jit(jax.vmap(lambda p, xb: jnp.argmax(apply(p, xb), axis=-1), in_axes=(0, None)))
    correct = 0
    for i in range(0, x.shape[0], chunk):
        correct = correct + np.sum(
            np.asarray(f(params, x[i : i + chunk])) == y[None, i : i + chunk], axis=1
        )
    return np.asarray(correct) / x.shape[0]


def train_students(
    x,
    y,
    train,
    teacher_logits,
    *,
    config: ExperimentConfig,
    num_classes: int,
    checkpoint_dir: str | Path | None = None,
    progress: bool = False,
) -> Students:
    """Students with KD from every teacher (one vmapped sweep) and without KD, scored on test rows.

    Args:
      x: ``[n, ...]`` student inputs; y: ``[n]``; train: ``[n]`` bool.
      teacher_logits: ``[V, n_train, k]`` frozen teacher logits on the training rows.
      config: the :class:`ExperimentConfig` (seeds, epochs, kd_weight, temperature).
      num_classes: classes k.
      checkpoint_dir: where the KD sweep checkpoints (resumed when it holds one).
      progress: a progress bar for the KD sweep.

    Returns:
      :class:`Students`.
    """
    from cch_jax import kd

    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.int32)
    x_tr, y_tr, x_te, y_te = x[train], y[train], x[~train], y[~train]
    cfg = train_config(config, x.shape[1:], num_classes, config.epochs, len(y_tr))
    model = kd.make_model(cfg.model)
    data = kd.kd_data(x_tr, y_tr, teacher_logits, task="classification", variants=True)
    sweep = kd.SweepConfig(
        seeds=config.seeds, kd_weights=(config.kd_weight,), temperatures=(config.temperature,)
    )
    fit = kd.fit(cfg, data, sweep=sweep, checkpoint_dir=checkpoint_dir, progress=progress)
    acc = _accuracies(model.apply, fit.state.params, x_te, y_te)
    num_teachers = int(np.shape(teacher_logits)[0])
    kd_acc = np.zeros((len(config.seeds), num_teachers))
    for r in range(acc.shape[0]):
        s = config.seeds.index(int(fit.grid["seed"][r]))
        kd_acc[s, int(fit.grid["teacher"][r])] = acc[r]
    base = kd.fit_supervised(cfg, x_tr, y_tr, seeds=config.seeds)
    no_kd = _accuracies(model.apply, base.params, x_te, y_te)
    return Students(no_kd=no_kd, kd=kd_acc, seeds=np.asarray(config.seeds))
