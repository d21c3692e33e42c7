"""The image experiment: does the CCH predict when cross-modal KD helps an image student?

For one dataset, the teacher reads one view of every image and the student another (a noisy copy,
or the grey digit under an MNIST-M teacher). The teacher's view is blurred with Gaussian blur of
standard deviation gamma (several levels), which lowers I(H_teacher; H_student) while the student's
view, hence I(H_student; Y), stays fixed. For each level:

1. train a teacher CNN on its view;
2. before any distillation, extract penultimate representations on held-out images: H_t from the
   teacher, H_s from a student encoder trained briefly without KD on the student view
   (``probe_epochs``; 0 uses the untrained encoder);
3. estimate I(H_t; H_s) (KSG, :func:`cch_jax.mi.ksg`) and I(H_s; Y) (:func:`cch_jax.mi.ksg_labels`),
   in nats, after projecting each representation on its top ``mi_dim`` principal components (the
   compression latentmi applies before its KSG step);
4. predict with the CCH: KD helps iff I(H_t; H_s) > I(H_s; Y);
5. train students with and without KD against every teacher (seeds x {0, lam} x levels, one
   vmapped sweep) and compare test accuracies seed by seed (the KD and no-KD runs of a seed share
   the initialisation and the minibatch order). A no-KD run never reads its teacher, so its copies
   across levels repeat one run: it costs compute, and checks determinism.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

SOURCES = ("mnist", "fashion_mnist", "cifar10", "fashion_mnist_idx", "digits")
VIEWS = ("blur", "mnistm")
NUM_CLASSES = 10
ROW_COLUMNS = (
    "dataset",
    "view",
    "teacher_gamma",
    "setting",
    "seed",
    "kd_weight",
    "temperature",
    "test_accuracy",
    "teacher_test_accuracy",
    "mi_teacher_student",
    "mi_student_label",
    "mi_gap",
    "cch_predicts_kd_helps",
)
SUMMARY_COLUMNS = (
    "teacher_gamma",
    "teacher_test_accuracy",
    "mi_teacher_student",
    "mi_student_label",
    "mi_gap",
    "cch_predicts_kd_helps",
    "kd_accuracy_mean",
    "kd_accuracy_std",
    "no_kd_accuracy_mean",
    "no_kd_accuracy_std",
    "kd_gain_mean",
    "kd_gain_std",
    "kd_helped",
    "cch_matched",
)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ValueError(message)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageExperimentConfig:
    """One image CCH experiment.

    Attributes:
      dataset: 'mnist', 'fashion_mnist', 'cifar10' (tensorflow-datasets), 'fashion_mnist_idx'
        (real Fashion-MNIST from IDX files, e.g. the Debian package) or 'digits' (scikit-learn's
        8x8 digits).
      view: 'blur' (teacher: the image blurred by gamma; student: the image with
        ``student_noise``/``student_gamma``) or 'mnistm' (teacher: the MNIST-M colour blend of the
        grey image, blurred by gamma; student: the grey image; offline photos are stand-ins).
      teacher_gammas: blur standard deviations (pixels) of the teacher's view, >= 0.
      student_gamma: blur of the student's view, >= 0.
      student_noise: std of Gaussian pixel noise (pixels in [0, 1]) on the student's view, >= 0.
      train_examples: training images used (None: the whole split).
      test_examples: test images used (None: the whole split).
      mi_examples: test images used for the MI estimates (<= test_examples).
      mi_dim: principal components kept of each representation before KSG (0: none).
      mi_k: KSG neighbours.
      hidden: CNN (conv1, conv2, dense) widths for teacher and student; H is the dense layer.
      teacher_epochs, epochs, probe_epochs: training epochs of the teachers, the students and the
        pre-KD student encoder used for the MI estimates (0: untrained).
      batch_size, learning_rate: Adam minibatch size and step size (all networks).
      kd_weight, temperature: lam in (0, 1] and T > 0 of the KD runs (paper: 0.5 and 3).
      seeds: student seeds (init and minibatch order), shared by the KD and no-KD runs.
      seed: seed of the data views, the teachers and the probe encoder.
      data_dir, download: tensorflow-datasets options (tfds sources only).
      idx_root: folder of the IDX files for 'fashion_mnist_idx' (None: the Debian package's).
    """

    dataset: str = "fashion_mnist_idx"
    view: str = "blur"
    teacher_gammas: tuple[float, ...] = (0.0, 1.5, 3.5)
    student_gamma: float = 0.0
    student_noise: float = 0.5
    train_examples: int | None = 10_000
    test_examples: int | None = 2_000
    mi_examples: int = 2_000
    mi_dim: int = 8
    mi_k: int = 3
    hidden: tuple[int, int, int] = (16, 32, 64)
    teacher_epochs: int = 3
    epochs: int = 3
    probe_epochs: int = 1
    batch_size: int = 128
    learning_rate: float = 1e-3
    kd_weight: float = 0.5
    temperature: float = 3.0
    seeds: tuple[int, ...] = (0, 1, 2)
    seed: int = 0
    data_dir: str | None = None
    download: bool = False
    idx_root: str | None = None

    def __post_init__(self):
        _check(
            self.dataset in SOURCES,
            f"dataset: unknown {self.dataset!r}; known: {', '.join(SOURCES)}",
        )
        _check(self.view in VIEWS, f"view: unknown {self.view!r}; known: {', '.join(VIEWS)}")
        gammas = tuple(self.teacher_gammas)
        _check(len(gammas) > 0, "teacher_gammas: expected at least one blur level")
        for g in gammas:
            _check(
                _is_real(g) and g >= 0, f"teacher_gammas: expected finite values >= 0, got {g!r}"
            )
        object.__setattr__(self, "teacher_gammas", tuple(float(g) for g in gammas))
        for name in ("student_gamma", "student_noise", "learning_rate", "temperature"):
            v = getattr(self, name)
            _check(_is_real(v) and v >= 0, f"{name}: expected a finite number >= 0, got {v!r}")
        _check(self.learning_rate > 0, f"learning_rate: must be > 0, got {self.learning_rate}")
        _check(self.temperature > 0, f"temperature: must be > 0, got {self.temperature}")
        _check(
            _is_real(self.kd_weight) and 0 < self.kd_weight <= 1,
            f"kd_weight: must lie in (0, 1], got {self.kd_weight!r}",
        )
        for name in ("train_examples", "test_examples"):
            v = getattr(self, name)
            _check(
                v is None or (_is_int(v) and v >= 2),
                f"{name}: expected an integer >= 2 or None, got {v!r}",
            )
        for name, low in (
            ("mi_examples", 10),
            ("mi_k", 1),
            ("teacher_epochs", 1),
            ("epochs", 1),
            ("batch_size", 1),
        ):
            v = getattr(self, name)
            _check(_is_int(v) and v >= low, f"{name}: expected an integer >= {low}, got {v!r}")
        for name in ("mi_dim", "probe_epochs", "seed"):
            v = getattr(self, name)
            _check(_is_int(v) and v >= 0, f"{name}: expected an integer >= 0, got {v!r}")
        _check(_is_int(self.mi_k) and self.mi_k < self.mi_examples, "mi_k: must be < mi_examples")
        hidden = tuple(self.hidden)
        _check(
            len(hidden) == 3 and all(_is_int(h) and h >= 1 for h in hidden),
            f"hidden: expected three positive widths, got {self.hidden!r}",
        )
        object.__setattr__(self, "hidden", hidden)
        seeds = tuple(self.seeds)
        _check(
            len(seeds) > 0 and all(_is_int(s) and s >= 0 for s in seeds),
            f"seeds: expected integers >= 0, got {self.seeds!r}",
        )
        _check(len(set(seeds)) == len(seeds), f"seeds: repeated values in {seeds}")
        object.__setattr__(self, "seeds", seeds)
        if self.test_examples is not None:
            _check(
                self.mi_examples <= self.test_examples,
                f"mi_examples: {self.mi_examples} exceeds test_examples {self.test_examples}",
            )
        if self.view == "mnistm":
            _check(self.dataset != "cifar10", "view: 'mnistm' needs grey images; cifar10 is colour")


class ImageResult(NamedTuple):
    """What :func:`run_image` returns.

    Attributes:
      rows: tidy rows (:data:`ROW_COLUMNS`), one per seed x setting x teacher blur level.
      summary: one row per teacher blur level (:data:`SUMMARY_COLUMNS`).
      info: data source notes, sizes, versions, devices and the seconds spent in each phase.
    """

    rows: list[dict]
    summary: list[dict]
    info: dict[str, Any]


def load_source(config: ImageExperimentConfig, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The split of ``config.dataset``: ``(images [n, H, W, C] uint8, labels [n] int32)``."""
    from cch_jax import data

    limit = config.train_examples if split == "train" else config.test_examples
    if config.dataset in data.TFDS_DATASETS:
        return data.load(
            config.dataset,
            split,
            data_dir=config.data_dir,
            download=config.download,
            max_examples=limit,
        )
    if config.dataset == "fashion_mnist_idx":
        root = config.idx_root if config.idx_root is not None else data.DEBIAN_FASHION_MNIST_DIR
        return data.load_fashion_mnist_idx(split, root=root, max_examples=limit)
    return data.load_digits(split, max_examples=limit)


def source_note(config: ImageExperimentConfig) -> str:
    """A sentence saying where the images came from (printed with every result)."""
    from cch_jax import data

    notes = {
        "fashion_mnist_idx": "Fashion-MNIST from the original IDX files"
        + (" of the Debian package dataset-fashion-mnist" if config.idx_root is None else "")
        + " (not tensorflow-datasets)",
        "digits": "scikit-learn's 8x8 digits (load_digits)",
    }
    note = notes.get(config.dataset, f"tensorflow-datasets {config.dataset} (array_record)")
    if config.view == "mnistm":
        note += "; teacher view: " + data.STAND_IN_NOTE
    return note


def _views(config, images, labels, gammas, key):
    """Teacher inputs per gamma [V, n, H, W, Ct], the student input [n, H, W, Cs], labels [n]."""
    from cch_jax import data

    k_s, k_m = jax.random.split(key)
    x = data.to_float(images)
    student = data.degrade(x, gamma=config.student_gamma, noise=config.student_noise, key=k_s)
    if config.view == "mnistm":
        base = data.to_float(data.make_mnistm(images, data.stand_in_photos(), key=k_m))
    else:
        base = x
    teachers = [data.degrade(base, gamma=g, key=k_m) for g in gammas]
    return teachers, student, jnp.asarray(labels, jnp.int32)


def _train_config(config, input_shape, epochs):
    from cch_jax import kd

    model = kd.ModelConfig(
        name="cnn", input_shape=tuple(input_shape), num_outputs=NUM_CLASSES, hidden=config.hidden
    )
    return kd.TrainConfig(
        model=model,
        loss=kd.KDConfig(kd_weight=config.kd_weight, temperature=config.temperature),
        epochs=epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        chunk_epochs=1,  # one compiled epoch, reused; progress after each
    )


def _supervised(train_config, x, y, seed: int):
    """Trains one network without KD (the teacher outputs are never read); returns its params."""
    from cch_jax import kd

    dummy = jnp.zeros((1, x.shape[0], NUM_CLASSES), jnp.float32)
    result = kd.fit(
        train_config,
        kd.KDData(x, y, dummy),
        sweep=kd.SweepConfig(seeds=(seed,), kd_weights=(0.0,), temperatures=(1.0,)),
        progress=False,
        devices=jax.devices()[:1],  # one run: no padding to the device count
    )
    return jax.tree.map(lambda a: a[0], result.state.params)


def _batched(fn, params, x, chunk: int = 2048) -> jax.Array:
    f = jax.jit(fn)
    return jnp.concatenate([f(params, x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])


def _accuracy(apply, params, x, y) -> float:
    logits = _batched(apply, params, x)
    return float(jnp.mean(jnp.argmax(logits, axis=-1) == y))


def _sweep_accuracies(apply, stacked_params, x, y, chunk: int = 1024) -> np.ndarray:
    f = jax.jit(jax.vmap(lambda p, xb: jnp.argmax(apply(p, xb), axis=-1), in_axes=(0, None)))
    correct = 0
    for i in range(0, x.shape[0], chunk):
        pred = f(stacked_params, x[i : i + chunk])
        correct = correct + jnp.sum(pred == y[None, i : i + chunk], axis=1)
    return np.asarray(correct) / x.shape[0]


def _principal(h: jax.Array, dim: int, key: jax.Array) -> jax.Array:
    """Top ``dim`` principal components of ``h`` [n, d] (all of them if d <= dim), plus a
    1e-6-relative jitter that breaks the exact ties of ReLU zeros (KSG assumes no ties)."""
    h = h - jnp.mean(h, axis=0, keepdims=True)
    if dim and h.shape[1] > dim:
        _, _, vt = jnp.linalg.svd(h, full_matrices=False)
        h = h @ vt[:dim].T
    scale = jnp.maximum(jnp.std(h, axis=0, keepdims=True), 1e-12)
    return h + 1e-6 * scale * jax.random.normal(key, h.shape, h.dtype)


def _mean_std(values) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def run_image(config: ImageExperimentConfig, *, progress: bool = False) -> ImageResult:
    """Runs the experiment described in the module docstring.

    Args:
      config: the :class:`ImageExperimentConfig`.
      progress: print one line per phase on stdout.

    Returns:
      :class:`ImageResult` (MI in nats, accuracies in [0, 1]).
    """
    from cch_jax import kd, mi

    if not isinstance(config, ImageExperimentConfig):
        raise ValueError(f"config: expected an ImageExperimentConfig, got {type(config).__name__}")
    seconds: dict[str, float] = {}
    say = print if progress else (lambda *a, **k: None)
    t0 = time.perf_counter()
    x_train, y_train = load_source(config, "train")
    x_test, y_test = load_source(config, "test")
    if config.view == "mnistm" and x_train.shape[-1] != 1:
        raise ValueError(
            f"view: 'mnistm' needs grey images, {config.dataset} has {x_train.shape[-1]} channels"
        )
    if config.batch_size > x_train.shape[0]:
        raise ValueError(
            f"batch_size: {config.batch_size} exceeds the {x_train.shape[0]} training images"
        )
    n_mi = min(config.mi_examples, x_test.shape[0])
    _check(n_mi > config.mi_k, f"mi_examples: only {n_mi} test images, need more than mi_k")
    gammas = config.teacher_gammas
    key = jax.random.key(config.seed)
    k_train, k_test, k_mi = jax.random.split(key, 3)
    t_train, s_train, yj_train = _views(config, x_train, y_train, gammas, k_train)
    t_test, s_test, yj_test = _views(config, x_test, y_test, gammas, k_test)
    seconds["data"] = time.perf_counter() - t0
    say(
        f"data: {source_note(config)}; {x_train.shape[0]} train / {x_test.shape[0]} test images, "
        f"teacher {tuple(t_train[0].shape[1:])}, student {tuple(s_train.shape[1:])} "
        f"({seconds['data']:.1f}s)"
    )

    # 1. Teachers, one per blur level (one compiled program, reused).
    t0 = time.perf_counter()
    teacher_cfg = _train_config(config, t_train[0].shape[1:], config.teacher_epochs)
    teacher_model = kd.make_model(teacher_cfg.model)
    teachers, teacher_acc = [], []
    for g, xt, xe in zip(gammas, t_train, t_test, strict=True):
        params = _supervised(teacher_cfg, xt, yj_train, config.seed)
        teachers.append(params)
        teacher_acc.append(_accuracy(teacher_model.apply, params, xe, yj_test))
        say(f"teacher gamma={g:g}: test accuracy {teacher_acc[-1]:.4f}")
    seconds["teachers"] = time.perf_counter() - t0

    # 2-4. MI before distillation, from a briefly trained (or untrained) student encoder.
    t0 = time.perf_counter()
    student_cfg = _train_config(config, s_train.shape[1:], config.epochs)
    student_model = kd.make_model(student_cfg.model)
    if config.probe_epochs > 0:
        probe_cfg = _train_config(config, s_train.shape[1:], config.probe_epochs)
        probe = _supervised(probe_cfg, s_train, yj_train, config.seed)
    else:
        probe = student_model.init(jax.random.key(config.seed))
    keys = jax.random.split(k_mi, len(gammas) + 1)
    h_s = _principal(
        _batched(student_model.features, probe, s_test[:n_mi]), config.mi_dim, keys[-1]
    )
    mi_sy = float(mi.ksg_labels(h_s, yj_test[:n_mi], k=config.mi_k))
    mi_ts = []
    for i, (params, xe) in enumerate(zip(teachers, t_test, strict=True)):
        h_t = _principal(
            _batched(teacher_model.features, params, xe[:n_mi]), config.mi_dim, keys[i]
        )
        mi_ts.append(float(mi.ksg(h_t, h_s, k=config.mi_k)))
    seconds["mi"] = time.perf_counter() - t0
    say(
        f"MI (nats, KSG k={config.mi_k}, {n_mi} test images, top {config.mi_dim} PCs): "
        f"I(H_s;Y) = {mi_sy:.4f}; I(H_t;H_s) = "
        + ", ".join(f"{v:.4f}" for v in mi_ts)
        + f" ({seconds['mi']:.1f}s)"
    )

    # 5. Students: seeds x {no KD, KD} x teachers, one vmapped sweep. A no-KD run never reads its
    # teacher, so its copies across levels are the same run (a built-in determinism check).
    t0 = time.perf_counter()
    logits = jnp.stack(
        [
            kd.teacher_outputs(teacher_model.apply, p, xt)
            for p, xt in zip(teachers, t_train, strict=True)
        ]
    )
    kd_data = kd.kd_data(s_train, y_train, logits, task="classification", variants=True)
    sweep = kd.fit(
        student_cfg,
        kd_data,
        sweep=kd.SweepConfig(
            seeds=config.seeds,
            kd_weights=(0.0, config.kd_weight),
            temperatures=(config.temperature,),
        ),
        progress=progress,
    )
    seconds["students"] = time.perf_counter() - t0
    acc = _sweep_accuracies(student_model.apply, sweep.state.params, s_test, yj_test)
    grid = sweep.grid
    say(f"students: {acc.shape[0]} runs ({seconds['students']:.1f}s)")

    rows, summary = [], []
    for v, g in enumerate(gammas):
        predicts = mi_ts[v] > mi_sy
        by = {}
        for r in np.flatnonzero(grid["teacher"] == v):
            s, setting = int(grid["seed"][r]), ("kd" if grid["kd_weight"][r] > 0 else "no_kd")
            by[(setting, s)] = float(acc[r])
            rows.append(
                dict(
                    dataset=config.dataset,
                    view=config.view,
                    teacher_gamma=g,
                    setting=setting,
                    seed=s,
                    kd_weight=float(grid["kd_weight"][r]),
                    temperature=config.temperature,
                    test_accuracy=float(acc[r]),
                    teacher_test_accuracy=teacher_acc[v],
                    mi_teacher_student=mi_ts[v],
                    mi_student_label=mi_sy,
                    mi_gap=mi_ts[v] - mi_sy,
                    cch_predicts_kd_helps=bool(predicts),
                )
            )
        accs = [by[("kd", s)] for s in config.seeds]
        base = [by[("no_kd", s)] for s in config.seeds]
        gains = [a_ - b_ for a_, b_ in zip(accs, base, strict=True)]
        kd_m, kd_s = _mean_std(accs)
        b_m, b_s = _mean_std(base)
        g_m, g_s = _mean_std(gains)
        summary.append(
            dict(
                teacher_gamma=g,
                teacher_test_accuracy=teacher_acc[v],
                mi_teacher_student=mi_ts[v],
                mi_student_label=mi_sy,
                mi_gap=mi_ts[v] - mi_sy,
                cch_predicts_kd_helps=bool(predicts),
                kd_accuracy_mean=kd_m,
                kd_accuracy_std=kd_s,
                no_kd_accuracy_mean=b_m,
                no_kd_accuracy_std=b_s,
                kd_gain_mean=g_m,
                kd_gain_std=g_s,
                kd_helped=bool(g_m > 0),
                cch_matched=bool((g_m > 0) == predicts),
            )
        )
    info = dict(
        source=source_note(config),
        config={
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataclasses.asdict(config).items()
        },
        train_images=int(x_train.shape[0]),
        test_images=int(x_test.shape[0]),
        mi_images=int(n_mi),
        mi_estimators=f"cch_jax.mi.ksg (max-norm, k={config.mi_k}) for I(H_t;H_s); "
        f"cch_jax.mi.ksg_labels (Ross 2014) for I(H_s;Y); nats",
        student_encoder_for_mi=(
            f"trained {config.probe_epochs} epoch(s) without KD"
            if config.probe_epochs
            else "untrained"
        ),
        devices=[str(d) for d in jax.devices()],
        jax_version=jax.__version__,
        seconds=seconds,
    )
    return ImageResult(rows=rows, summary=summary, info=info)


def image_table(result: ImageResult) -> str:
    """A short text table of the summary (accuracy mean ± std over seeds; MI in nats)."""
    lines = [
        f"{result.info['source']}",
        f"{'gamma':>5}  {'teacher':>7}  {'I(Ht;Hs)':>8}  {'I(Hs;Y)':>7}  {'gap':>7}  {'CCH':>5}  "
        f"{'acc KD':>15}  {'acc no KD':>15}  {'KD gain':>16}  {'matched':>7}",
    ]
    for s in result.summary:
        lines.append(
            f"{s['teacher_gamma']:>5.2f}  {s['teacher_test_accuracy']:>7.4f}  "
            f"{s['mi_teacher_student']:>8.4f}  {s['mi_student_label']:>7.4f}  {s['mi_gap']:>+7.4f}  "
            f"{'KD' if s['cch_predicts_kd_helps'] else 'noKD':>5}  "
            f"{s['kd_accuracy_mean']:.4f}±{s['kd_accuracy_std']:.4f}  "
            f"{s['no_kd_accuracy_mean']:.4f}±{s['no_kd_accuracy_std']:.4f}  "
            f"{s['kd_gain_mean']:+.4f}±{s['kd_gain_std']:.4f}  {'yes' if s['cch_matched'] else 'no':>7}"
        )
    return "\n".join(lines)


def _plain(obj):
    """JSON-ready copy: NaN -> None, tuples -> lists, other objects -> str."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    return str(obj)


def write_image(result: ImageResult, out_dir) -> dict[str, str]:
    """Writes ``rows.csv``, ``summary.csv`` and ``result.json`` into ``out_dir``; returns paths."""
    import csv
    import json
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows, cols in (
        ("rows", result.rows, ROW_COLUMNS),
        ("summary", result.summary, SUMMARY_COLUMNS),
    ):
        path = out / f"{name}.csv"
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(rows)
        paths[name] = str(path)
    path = out / "result.json"
    path.write_text(json.dumps(_plain(result._asdict()), indent=1, allow_nan=False) + "\n")
    paths["json"] = str(path)
    return paths
