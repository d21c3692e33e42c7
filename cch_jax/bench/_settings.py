"""The benchmark's settings: datasets, teacher and student views, degradation levels, KD losses.

A *setting* is (dataset, teacher view + degradation level, student view, kd_weight, temperature).
Everything here is static (no data are read), so the settings of a dataset can be enumerated,
counted and checked before anything loads or trains. :class:`BenchConfig` holds the run options;
:func:`dataset_spec` the per-dataset sizes and networks at ``size='cpu'`` or ``'full'``.

Datasets (see ``_datasets.py`` for the loaders):

* ``mfeat``: UCI multiple features, 6 views -> 30 ordered (teacher, student) pairs;
* ``digits_quadrants``: scikit-learn's 8x8 digits, the four 4x4 quadrants as four views -> 12;
* ``breast_cancer``: scikit-learn's breast cancer, mean / standard-error / worst feature groups
  (columns 0-9, 10-19, 20-29) -> 6;
* ``nutrimouse``: gene <-> lipid (40 mice: flagged low power) -> 2;
* ``mnistm_to_mnist`` / ``mnist_to_mnistm``: real MNIST and its MNIST-M stand-in, the teacher view
  blurred at 8 levels (the last ones a useless teacher);
* ``fashion_mnist``: real Fashion-MNIST, the teacher blurred (6 levels) or noised (5 levels, up to a
  useless teacher), the student the image with pixel noise 0.5;
* ``satellite``, ``letter``, ``vehicle``, ``dna``, ``spam``, ``ionosphere``, ``musk``,
  ``income``: tables from Debian's R data packages
  (``r-cran-mlbench``, ``r-cran-kernlab``; see ``cch_jax/data/_rdata.py``), their column groups as
  views: every ordered pair of distinct views, each teacher view clean and with N(0, s^2) noise on
  its z-scored features (:data:`TABLE_NOISES`, the last level a near-useless teacher);
* ``fashion_halves`` (Fashion-MNIST top <-> bottom half), ``mnist_bands`` (MNIST low-pass <->
  high-pass band), ``fashion_edges`` (Fashion-MNIST edge map <-> 7x7 coarse copy): two derived views
  of one image (``cch_jax.data.image_view``), each the student of the other, whose teacher reads it
  with pixel noise :data:`VIEW_IMAGE_NOISES` (up to a useless teacher);
* ``gaussian``: the theory's one-parameter family (regression, known answer), a grid of teacher
  weights a at two training sizes.
* ``mfh``: the Modality Focusing Hypothesis family (classification, known answer; ``_mfh.py``,
  theory/mfh.md): Bayes teachers that read the modality-general features more or less well and
  have more or less teacher-specific signal, one linear student.

A user's paired ``.npz`` (``BenchConfig(dataset=NAME, data=PATH)``, ``cch bench --data``; the file
layout of ``cch trial``, :func:`cch_jax.data.load_paired_file`) is a dataset too: its student
(``x_student``) paired with each of its teachers (``x_teacher_NAME`` views, trained like the
tabular datasets' teachers, and ``logits_teacher_NAME``, used as given), with the tabular datasets'
network, training rule and split fractions. Its teachers are known once the file is read
(:func:`file_teachers_and_students`).

Each pair (or level) is crossed with ``kd_weights`` (default 0.1 and 0.5) at one temperature (3).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import re
from typing import NamedTuple

from cch_jax import _checks
from cch_jax._bench_names import DATASET_NAMES as DATASET_NAMES
from cch_jax.bench import _stats

SIZES = ("cpu", "full")
IMAGE_DATASETS = ("mnistm_to_mnist", "mnist_to_mnistm", "fashion_mnist")

MFEAT_VIEWS = ("fou", "fac", "kar", "mor", "pix", "zer")
QUADRANT_VIEWS = ("tl", "tr", "bl", "br")  # top-left, top-right, bottom-left, bottom-right 4x4
BREAST_CANCER_VIEWS = ("mean", "se", "worst")  # columns 0-9, 10-19, 20-29
NUTRIMOUSE_VIEWS = ("gene", "lipid")

# Tables of Debian's R data packages (cch_jax.data.load_r_table): dataset -> views
TABLE_VIEWS = {
    "satellite": ("green", "red", "nir1", "nir2"),  # Landsat MSS bands, 3x3 pixels each
    "letter": ("box", "moments", "edges"),
    "vehicle": ("contour", "axes", "moments"),
    "dna": ("up_far", "up_near", "down_near", "down_far"),  # nucleotides 1-15, 16-30, 31-45, 46-60
    "spam": ("words", "chars", "capitals"),
    "ionosphere": ("real", "imag"),  # real / imaginary parts of 17 complex pulse values
    "musk": ("rays", "oxygen"),
    "income": ("person", "household"),  # one-hot questionnaire answers
}
# Noise std (z-score units) added to a teacher view's standardized features, besides the clean
# teacher; four-view tables get one level (their 12 view pairs already make 24 settings).
TABLE_NOISES = {
    "satellite": (8.0,),
    "letter": (2.0, 8.0),
    "vehicle": (2.0, 8.0),
    "dna": (8.0,),
    "spam": (2.0, 8.0),
    "ionosphere": (2.0, 8.0),
    "musk": (2.0, 8.0),
    "income": (2.0, 8.0),
}
# Derived image views (cch_jax.data.image_view): dataset -> (registry source, (view, view))
VIEW_IMAGE_DATASETS = {
    "fashion_halves": ("fashion_mnist", ("top", "bottom")),
    "mnist_bands": ("mnist", ("lowpass", "highpass")),
    "fashion_edges": ("fashion_mnist", ("edges", "coarse")),
}
VIEW_IMAGE_NOISES = (0.0, 1.0, 2.0, 4.0, 8.0)  # the teacher view's pixel noise

MNIST_BLURS = (0.0, 1.0, 2.0, 3.5, 5.0, 8.0, 12.0, 20.0)
FASHION_BLURS = (0.0, 1.0, 2.0, 3.5, 5.0, 8.0)
FASHION_NOISES = (0.5, 1.0, 2.0, 4.0, 8.0)
FASHION_STUDENT_NOISE = 0.5

GAUSSIAN_SIGMA2 = 1.0
GAUSSIAN_DIM = 20
GAUSSIAN_NUM_A = 15
GAUSSIAN_TRAIN_ROWS = (60, 100, 250)  # before the 20 % validation split: fits on 48, 80, 200

FILE_STUDENT = "student"  # the student of a user's file (its x_student)
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a user's dataset: a folder name


class Teacher(NamedTuple):
    """One teacher variant: a view and its degradation.

    Attributes:
      name: e.g. 'fac', 'mnistm@blur=2', 'image@noise=4', 'a=1.2'.
      view: the source view (for gaussian: 't'; for a user's file the key that holds the teacher,
        'x_teacher_NAME' or 'logits_teacher_NAME').
      blur: Gaussian blur std in pixels (images), else 0.
      noise: pixel-noise std (images) or noise std on the z-scored features (the R tables),
        else 0.
      a: the Gaussian family's teacher weight (gaussian only), else NaN.
    """

    name: str
    view: str
    blur: float = 0.0
    noise: float = 0.0
    a: float = math.nan


class Student(NamedTuple):
    """One student: a view (and its fixed degradation).

    Attributes:
      name: e.g. 'fac', 'mnist', 'image@noise=0.5', 'x2@n=40' ('student' for a user's file).
      view: the source view ('x_student' for a user's file).
      noise: pixel-noise std of the student's input (images), else 0.
      train_rows: gaussian only: training rows before the validation split, else 0.
    """

    name: str
    view: str
    noise: float = 0.0
    train_rows: int = 0


class Setting(NamedTuple):
    """One benchmark setting.

    Attributes:
      dataset: a name in :data:`DATASET_NAMES`, or the name of a user's file.
      setting: unique id, ``'<dataset>/<teacher>-><student>/w=<kd_weight>/T=<temperature>'``.
      teacher: :class:`Teacher`.
      student: :class:`Student`.
      kd_weight: weight of the KD term, in (0, 1].
      temperature: T > 0.
      task: 'classification' or 'regression'.
    """

    dataset: str
    setting: str
    teacher: Teacher
    student: Student
    kd_weight: float
    temperature: float
    task: str


def _fmt(v: float) -> str:
    return f"{v:g}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class DatasetSpec:
    """Sizes, network and training rule of one dataset at one size.

    Attributes:
      name: the dataset.
      task: 'classification' or 'regression'.
      model: 'mlp', 'cnn' or 'linear'.
      hidden: the network's widths.
      learning_rate: Adam step size.
      max_epochs, patience: the early-stopping rule (see :class:`cch_jax.kd.StopConfig`).
      train_rows: training rows (fit + validation) for images (0: fractions instead).
      max_rows: tabular data: a stratified subsample of this many rows (drawn with the config's
        seed) before the split (0: every row).
      criterion_rows: held-out rows for the predictors' inputs (images).
      test_rows: held-out rows for Δ (images).
      fractions: (test, criterion, validation) shares of each class for tabular data and a
        user's file (the rest fits); with the file's ``train`` mask, its other rows are the test
        rows and the training rows are shared out as criterion, validation and fit in the
        proportions c : v : 1 - t - c - v.
      val_fraction: validation share of the training rows (images, gaussian).
      low_power: a warning printed with every result of this dataset, or ''.
    """

    name: str
    task: str
    model: str
    hidden: tuple[int, ...]
    learning_rate: float
    max_epochs: int
    patience: int
    train_rows: int = 0
    max_rows: int = 0
    criterion_rows: int = 0
    test_rows: int = 0
    fractions: tuple[float, float, float] = (0.35, 0.15, 0.1)
    val_fraction: float = 0.2
    low_power: str = ""


def dataset_spec(dataset: str, size: str = "cpu") -> DatasetSpec:
    """The sizes and network of ``dataset`` at ``size``.

    Args:
      dataset: a name in :data:`DATASET_NAMES`.
      size: 'cpu' (the benchmark's 2-core CPU budget) or 'full' (full-size images, for a GPU).

    Returns:
      :class:`DatasetSpec`.
    """
    dataset = _checks.check_choice("dataset", dataset, DATASET_NAMES)
    size = _checks.check_choice("size", size, SIZES)
    if dataset == "mfh":  # the MFH family (cch_jax/bench/_mfh.py), the same at both sizes
        from cch_jax.bench import _mfh

        return _mfh.spec()
    if dataset == "gaussian":
        return DatasetSpec(
            name=dataset,
            task="regression",
            model="linear",
            hidden=(),
            learning_rate=1e-2,
            max_epochs=300,
            patience=20,
            criterion_rows=500,
            test_rows=4000,
        )
    if dataset in IMAGE_DATASETS or dataset in VIEW_IMAGE_DATASETS:
        if size == "cpu":
            rows = dict(train_rows=5000, criterion_rows=1000, test_rows=2000)
            return DatasetSpec(
                name=dataset,
                task="classification",
                model="mlp",
                hidden=(64,),
                learning_rate=1e-3,
                max_epochs=60,
                patience=5,
                **rows,
            )
        fashion = dataset == "fashion_mnist" or (
            VIEW_IMAGE_DATASETS.get(dataset, ("",))[0] == "fashion_mnist"
        )
        train = 60000 if fashion else 50000
        return DatasetSpec(
            name=dataset,
            task="classification",
            model="cnn",
            hidden=(32, 64, 128),
            learning_rate=1e-3,
            max_epochs=50,
            patience=5,
            train_rows=train,
            criterion_rows=2000,
            test_rows=8000,
        )
    if dataset == "nutrimouse":
        return DatasetSpec(
            name=dataset,
            task="classification",
            model="mlp",
            hidden=(32,),
            learning_rate=3e-3,
            max_epochs=400,
            patience=30,
            fractions=(0.25, 0.125, 0.125),
            low_power=(
                "low power: nutrimouse has 40 mice (fit 20, validation 5, criterion 5, test 10 "
                "rows); one test mouse is 10 points"
            ),
        )
    if dataset in ("letter", "income"):  # 20 000 / 8 993 rows: at cpu size 6 000, a faster step
        return DatasetSpec(
            name=dataset,
            task="classification",
            model="mlp",
            hidden=(64,),
            learning_rate=3e-3,
            max_epochs=200,
            patience=15,
            max_rows=6000 if size == "cpu" else 0,
            fractions=(0.3, 0.1, 0.1),
        )
    return _tabular_spec(dataset)


def _tabular_spec(name: str) -> DatasetSpec:
    """The tabular datasets' MLP and training rule (also a user's file's, at either size)."""
    return DatasetSpec(
        name=name,
        task="classification",
        model="mlp",
        hidden=(64,),
        learning_rate=1e-3,
        max_epochs=300,
        patience=15,
    )


def file_teachers_and_students(paired) -> tuple[tuple[Teacher, ...], tuple[Student, ...]]:
    """The teachers and the student of a user's paired file.

    Args:
      paired: a :class:`cch_jax.data.PairedFile`.

    Returns:
      ``(teachers, students)``: one :class:`Teacher` per teacher of the file, named as in it (its
      ``view`` the key that holds it), in the file's order (views, then logits); one
      :class:`Student` named ``'student'`` (view ``'x_student'``).
    """
    teachers = tuple(Teacher(n, paired.key_of(n)) for n in paired.teacher_names)
    return teachers, (Student(FILE_STUDENT, "x_student"),)


def teachers_and_students(dataset: str) -> tuple[tuple[Teacher, ...], tuple[Student, ...]]:
    """The teacher variants and the students of ``dataset`` (static).

    Args:
      dataset: a name in :data:`DATASET_NAMES`.

    Returns:
      ``(teachers, students)``.
    """
    dataset = _checks.check_choice("dataset", dataset, DATASET_NAMES)
    if dataset == "mfh":
        from cch_jax.bench import _mfh

        return _mfh.teachers_and_students()
    views = {
        "mfeat": MFEAT_VIEWS,
        "digits_quadrants": QUADRANT_VIEWS,
        "breast_cancer": BREAST_CANCER_VIEWS,
        "nutrimouse": NUTRIMOUSE_VIEWS,
    }
    if dataset in views:
        vs = views[dataset]
        return tuple(Teacher(v, v) for v in vs), tuple(Student(v, v) for v in vs)
    if dataset in TABLE_VIEWS or dataset in VIEW_IMAGE_DATASETS:
        if dataset in TABLE_VIEWS:
            vs, noises = TABLE_VIEWS[dataset], (0.0, *TABLE_NOISES[dataset])
        else:
            vs, noises = VIEW_IMAGE_DATASETS[dataset][1], VIEW_IMAGE_NOISES
        teachers = tuple(
            Teacher(v if s == 0 else f"{v}@noise={_fmt(s)}", v, noise=s) for v in vs for s in noises
        )
        return teachers, tuple(Student(v, v) for v in vs)
    if dataset in ("mnistm_to_mnist", "mnist_to_mnistm"):
        t_view, s_view = (
            ("mnistm", "mnist") if dataset == "mnistm_to_mnist" else ("mnist", "mnistm")
        )
        teachers = tuple(
            Teacher(t_view if g == 0 else f"{t_view}@blur={_fmt(g)}", t_view, blur=g)
            for g in MNIST_BLURS
        )
        return teachers, (Student(s_view, s_view),)
    if dataset == "fashion_mnist":
        teachers = tuple(
            Teacher("image" if g == 0 else f"image@blur={_fmt(g)}", "image", blur=g)
            for g in FASHION_BLURS
        ) + tuple(Teacher(f"image@noise={_fmt(s)}", "image", noise=s) for s in FASHION_NOISES)
        student = Student(
            f"image@noise={_fmt(FASHION_STUDENT_NOISE)}", "image", noise=FASHION_STUDENT_NOISE
        )
        return teachers, (student,)
    top = math.sqrt(1.0 + GAUSSIAN_SIGMA2)
    a_values = [round(top * i / (GAUSSIAN_NUM_A - 1), 4) for i in range(GAUSSIAN_NUM_A)]
    a_values[-1] = top  # the noise-free teacher t = s
    teachers = tuple(Teacher(f"a={a:.4g}", "t", a=float(a)) for a in a_values)
    students = tuple(Student(f"x2@n={n}", "x2", train_rows=n) for n in GAUSSIAN_TRAIN_ROWS)
    return teachers, students


def pairs(dataset: str) -> tuple[tuple[Teacher, Student], ...]:
    """The ordered (teacher, student) pairs of ``dataset``: every pair of distinct views for the
    multi-view tables and derived image views (with every degradation level of the teacher view),
    every level x the student for images, every a x n for gaussian."""
    teachers, students = teachers_and_students(dataset)
    if dataset in IMAGE_DATASETS or dataset == "gaussian":
        return tuple(itertools.product(teachers, students))
    return tuple((t, s) for s in students for t in teachers if t.view != s.view)


def enumerate_settings(
    dataset: str, *, kd_weights: tuple[float, ...] = (0.1, 0.5), temperature: float = 3.0
) -> list[Setting]:
    """Every setting of ``dataset``: its (teacher, student) pairs x ``kd_weights``.

    Args:
      dataset: a name in :data:`DATASET_NAMES`.
      kd_weights: KD weights in (0, 1].
      temperature: T > 0 (not used by the regression loss, recorded all the same).

    Returns:
      A list of :class:`Setting`, grouped by student, then teacher, then kd_weight.
    """
    dataset = _checks.check_choice("dataset", dataset, DATASET_NAMES)
    task = "regression" if dataset == "gaussian" else "classification"
    return _crossed(dataset, pairs(dataset), kd_weights, temperature, task)


def _crossed(dataset, pairs_, kd_weights, temperature, task) -> list[Setting]:
    """Every (teacher, student) pair of ``pairs_`` x ``kd_weights``, as settings."""
    kd_weights = _checks.check_real_tuple(
        "kd_weights", kd_weights, low=0.0, high=1.0, low_open=True, min_length=1
    )
    if len(set(kd_weights)) != len(kd_weights):
        raise ValueError(f"kd_weights: repeated values in {kd_weights}")
    temperature = _checks.check_real("temperature", temperature, low=0.0, low_open=True)
    out = []
    for t, s in pairs_:
        for w in kd_weights:
            sid = f"{dataset}/{t.name}->{s.name}/w={_fmt(w)}/T={_fmt(temperature)}"
            out.append(Setting(dataset, sid, t, s, float(w), float(temperature), task))
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """How one dataset's benchmark runs (everything that changes its results).

    Attributes:
      dataset: a name in :data:`DATASET_NAMES`; with ``data``, the name the file's results go
        under (``out/<dataset>/``): letters, digits, '_', '.', '-', not a built-in name.
      size: 'cpu' or 'full' (see :func:`dataset_spec`); a user's file trains the tabular
        datasets' MLP on flattened inputs, at 'cpu' only.
      num_seeds: student seeds 0..num_seeds-1 (paired: no KD, KD and control of a seed share the
        initialisation and minibatch order), >= 2.
      kd_weights: KD weights crossed with every pair, in (0, 1].
      temperature: T > 0.
      alpha: significance level of every setting's paired tests.
      allow_low_power: run even when num_seeds makes p < alpha impossible (loud warning, also in
        the report); otherwise such a configuration is refused.
      pilot_fraction: share of the fitting and validation rows the pilot trains on, in (0, 1].
      pilot_seeds: seeds of the pilot (seeds 1000, 1001, ...), >= 1; the half-rows pilot of the
        record (``_record``) uses the same seeds.
      record_seeds: seeds of the trial record's full-data runs (seeds 2000, 2001, ...; see
        ``_record``), 0 (no record) or >= 3 (the first look of ``cch trial``).
      max_epochs, patience: override the dataset's early-stopping rule (None: its default).
      seed: seed of the split, the degradations, the Gaussian samples and the teachers.
      data: a user's paired ``.npz`` (the layout of ``cch trial``: ``x_student``, ``y``,
        ``x_teacher_NAME`` and/or ``logits_teacher_NAME``, optional ``train``), or None for a
        built-in dataset. Not part of the cache's fingerprint (the file's arrays are): a moved
        file resumes its run.
    """

    dataset: str
    size: str = "cpu"
    num_seeds: int = 10
    kd_weights: tuple[float, ...] = (0.1, 0.5)
    temperature: float = 3.0
    alpha: float = 0.05
    allow_low_power: bool = False
    pilot_fraction: float = 0.25
    pilot_seeds: int = 3
    record_seeds: int = 10
    max_epochs: int | None = None
    patience: int | None = None
    seed: int = 0
    data: str | None = None

    def __post_init__(self):
        c = _checks
        if self.data is None:
            c.check_choice("dataset", self.dataset, DATASET_NAMES)
            c.check_choice("size", self.size, SIZES)
        else:
            if not isinstance(self.data, str | os.PathLike) or not str(self.data).strip():
                raise ValueError(f"data: expected the path of a .npz file, got {self.data!r:.60}")
            object.__setattr__(self, "data", os.fspath(self.data))
            name = self.dataset
            if not isinstance(name, str) or not _FILE_NAME.fullmatch(name):
                raise ValueError(
                    f"dataset: {name!r:.60} cannot name a folder; use letters, digits, '_', '.' or "
                    f"'-' (at most 64, starting with a letter or digit)"
                )
            if name in (*DATASET_NAMES, "leaderboard"):
                raise ValueError(
                    f"dataset: {name!r} is a built-in name; give the file's results another name"
                )
            if c.check_choice("size", self.size, SIZES) != "cpu":
                raise ValueError(
                    "size: a user's file trains the tabular datasets' MLP on flattened inputs; "
                    "'full' is for the built-in image datasets"
                )
        c.check_int("num_seeds", self.num_seeds, minimum=2)
        kdw = c.check_real_tuple(
            "kd_weights", self.kd_weights, low=0.0, high=1.0, low_open=True, min_length=1
        )
        if len(set(kdw)) != len(kdw):
            raise ValueError(f"kd_weights: repeated values in {kdw}")
        object.__setattr__(self, "kd_weights", kdw)
        c.check_real("temperature", self.temperature, low=0.0, low_open=True)
        c.check_real("alpha", self.alpha, low=0.0, high=1.0, low_open=True, high_open=True)
        c.check_bool("allow_low_power", self.allow_low_power)
        c.check_real("pilot_fraction", self.pilot_fraction, low=0.0, high=1.0, low_open=True)
        c.check_int("pilot_seeds", self.pilot_seeds, minimum=1)
        if c.check_int("record_seeds", self.record_seeds, minimum=0) in (1, 2):
            raise ValueError(
                f"record_seeds: expected 0 (no trial record) or >= 3 (the trial's first look), "
                f"got {self.record_seeds}"
            )
        if self.max_epochs is not None:
            c.check_int("max_epochs", self.max_epochs, minimum=1)
        if self.patience is not None:
            c.check_int("patience", self.patience, minimum=1)
        c.check_int("seed", self.seed, minimum=0)
        if (
            not self.allow_low_power
        ):  # raises ValueError('num_seeds: ...') when p < alpha is impossible
            _stats.check_seed_power(self.num_seeds, self.alpha)

    @property
    def power_warning(self) -> str:
        """'' or the loud warning (also emitted as a UserWarning) that num_seeds makes p < alpha
        impossible (only reachable with allow_low_power)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return _stats.check_seed_power(self.num_seeds, self.alpha, warn=True) or ""

    @property
    def spec(self) -> DatasetSpec:
        """The dataset's :class:`DatasetSpec` with this config's overrides."""
        s = (
            dataset_spec(self.dataset, self.size)
            if self.data is None
            else _tabular_spec(self.dataset)
        )
        over = {}
        if self.max_epochs is not None:
            over["max_epochs"] = self.max_epochs
        if self.patience is not None:
            over["patience"] = self.patience
        return dataclasses.replace(s, **over) if over else s

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(range(self.num_seeds))

    @property
    def pilot_seed_values(self) -> tuple[int, ...]:
        return tuple(range(1000, 1000 + self.pilot_seeds))

    @property
    def record_seed_values(self) -> tuple[int, ...]:
        return tuple(range(2000, 2000 + self.record_seeds))

    def settings(self, paired=None) -> list[Setting]:
        """Every setting of this config: :func:`enumerate_settings`, or for a user's file its
        teachers x the student x ``kd_weights``.

        Args:
          paired: the file's :class:`cch_jax.data.PairedFile` when it is already read (None: a
            user's file is read here; ignored for the built-in datasets).

        Returns:
          A list of :class:`Setting`.
        """
        if self.data is None:
            return enumerate_settings(
                self.dataset, kd_weights=self.kd_weights, temperature=self.temperature
            )
        if paired is None:
            from cch_jax.bench import _datasets  # it imports this module

            paired = _datasets.read_paired(self)
        teachers, (student,) = file_teachers_and_students(paired)
        pairs_ = [(t, student) for t in teachers]
        return _crossed(self.dataset, pairs_, self.kd_weights, self.temperature, "classification")

    def to_dict(self) -> dict:
        """JSON-ready values (with the resolved dataset spec; ``data`` only for a user's file,
        ``max_rows`` only where it is set, so that the fingerprints and caches of the built-in
        datasets stay as they were)."""
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
        if self.data is None:
            del d["data"]  # the built-in datasets' configurations (and fingerprints) as before
        spec = dataclasses.asdict(self.spec)
        if not spec["max_rows"]:
            del spec["max_rows"]
        d["spec"] = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
        return d
