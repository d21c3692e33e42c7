"""Multi-view tables read from the R data files that Debian's R packages ship.

Debian packages ``r-cran-mlbench`` (2.1-3) and ``r-cran-kernlab`` (0.9-32) install plain R data
files in ``/usr/lib/R/site-library/<package>/data/*.rda``. They are read with ``pyreadr`` (PyPI, a
reader of the R data format that runs no R code); only the known files below are ever opened, and
no R code is executed. Each table is split into *views*: groups of its columns that come from one
sensor, one window of a sequence or one family of measurements.

* ``satellite``: mlbench ``Satellite`` (6 435 Landsat MSS 3x3-pixel neighbourhoods, 6 soil and crop
  classes; 36 values ordered pixel by pixel with the 4 spectral bands together). Views: the four
  bands, 9 values each (the 3x3 neighbourhood in one band): ``green`` and ``red`` (visible),
  ``nir1`` and ``nir2`` (near infrared).
* ``letter``: mlbench ``LetterRecognition`` (20 000 capital letters, 26 classes; 16 integer
  features of the letter's pixel box). Views: ``box`` (x-box, y-box, width, high, onpix: where the
  box is and how full), ``moments`` (x-bar, y-bar, x2bar, y2bar, xybar, x2ybr, xy2br: pixel
  moments) and ``edges`` (x-ege, xegvy, y-ege, yegvx: edge counts).
* ``vehicle``: mlbench ``Vehicle`` (846 silhouettes of 4 vehicles, 18 shape features). Views:
  ``contour`` (compactness, circularity, distance circularity, radius ratio, hollows ratio: measures
  of the outline against the area), ``axes`` (the two aspect ratios, scatter ratio,
  elongatedness and the two rectangularities: measures along the principal and max-length axes)
  and ``moments`` (scaled variances along both axes, radius of gyration, skewness and kurtosis
  about both axes: higher-order moments).
* ``dna``: mlbench ``DNA`` (StatLog splice junctions: 3 186 primate sequences of 60 nucleotides
  around a possible exon/intron boundary between positions 30 and 31, each nucleotide as 3
  indicator bits; classes ei, ie, n). Views: four windows of 15 nucleotides (45 bits):
  ``up_far`` (positions 1-15), ``up_near`` (16-30), ``down_near`` (31-45), ``down_far`` (46-60).
* ``spam``: kernlab ``spam`` (4 601 e-mails, spam or not). Views: ``words`` (48 word frequencies,
  %), ``chars`` (6 character frequencies, %), ``capitals`` (3 capital-letter run lengths: mean,
  longest, total).
* ``ionosphere``: mlbench ``Ionosphere`` (351 radar returns, good or bad; 17 pulse numbers, each
  the real and the imaginary part of a complex autocorrelation value, alternating). Views:
  ``real`` (V1, V3, ..., V33) and ``imag`` (V2, V4, ..., V34).
* ``musk``: kernlab ``musk`` (UCI Musk version 1: 476 conformations of 92 molecules, musk or not;
  166 features). Views: ``rays`` (f1-f162: distances to the molecule's surface along 162 rays)
  and ``oxygen`` (f163-f166: the distance to and position of one oxygen atom). Conformations of
  one molecule are alike, so a random split puts near-copies on both sides.
* ``income``: kernlab ``income`` (8 993 answers to a San Francisco Bay Area marketing
  questionnaire; household income in 9 classes). Every column is a factor, one-hot encoded with a
  'missing' indicator where the column has missing answers. Views: ``person`` (sex, marital
  status, age, education, occupation, ethnic class, language) and ``household`` (years in the
  area, dual incomes, household size, children under 18, owner or renter, type of home).

The files are looked up in ``CCH_JAX_R_LIBRARY`` (folders separated by ``os.pathsep``; e.g. the
``usr/lib/R/site-library`` of ``dpkg-deb -x r-cran-mlbench_*.deb DIR``) when it is set, else in
the standard R library folders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

R_LIBRARY_ENV = "CCH_JAX_R_LIBRARY"
R_LIBRARY_DIRS = (
    Path("/usr/lib/R/site-library"),
    Path("/usr/local/lib/R/site-library"),
    Path("/usr/lib/R/library"),
)


class RTable(NamedTuple):
    """Where one table lives and how its columns form views.

    Attributes:
      debian: the Debian package that ships the file.
      package: the R package (the folder under the R library).
      obj: the R object's name (the file is ``<package>/data/<obj>.rda``).
      label: the column holding the class (an R factor).
      views: view name -> the columns of that view, in order.
      rows: the table's number of rows (checked when read).
      onehot: the view columns are factors of answers (not numbers): each becomes one indicator
        per level, plus one for a missing answer when the column has any.
    """

    debian: str
    package: str
    obj: str
    label: str
    views: dict[str, tuple[str, ...]]
    rows: int
    onehot: bool = False


def _satellite_views() -> dict[str, tuple[str, ...]]:
    # column j (0-based) holds pixel j // 4 (row-major in the 3x3 neighbourhood), band j % 4
    bands = ("green", "red", "nir1", "nir2")
    return {b: tuple(f"x.{4 * p + i + 1}" for p in range(9)) for i, b in enumerate(bands)}


def _dna_views() -> dict[str, tuple[str, ...]]:
    # nucleotide p (1-based) is columns V{3p-2}, V{3p-1}, V{3p}
    windows = {"up_far": (1, 15), "up_near": (16, 30), "down_near": (31, 45), "down_far": (46, 60)}
    return {
        w: tuple(f"V{3 * (p - 1) + b + 1}" for p in range(lo, hi + 1) for b in range(3))
        for w, (lo, hi) in windows.items()
    }


_SPAM_WORDS = (
    "make address all num3d our over remove internet order mail receive will people report "
    "addresses free business email you credit your font num000 money hp hpl george num650 lab "
    "labs telnet num857 data num415 num85 technology num1999 parts pm direct cs meeting original "
    "project re edu table conference"
).split()

R_TABLES: dict[str, RTable] = {
    "satellite": RTable(
        "r-cran-mlbench", "mlbench", "Satellite", "classes", _satellite_views(), 6435
    ),
    "letter": RTable(
        "r-cran-mlbench",
        "mlbench",
        "LetterRecognition",
        "lettr",
        {
            "box": ("x.box", "y.box", "width", "high", "onpix"),
            "moments": ("x.bar", "y.bar", "x2bar", "y2bar", "xybar", "x2ybr", "xy2br"),
            "edges": ("x.ege", "xegvy", "y.ege", "yegvx"),
        },
        20000,
    ),
    "vehicle": RTable(
        "r-cran-mlbench",
        "mlbench",
        "Vehicle",
        "Class",
        {
            "contour": ("Comp", "Circ", "D.Circ", "Rad.Ra", "Holl.Ra"),
            "axes": ("Pr.Axis.Ra", "Max.L.Ra", "Scat.Ra", "Elong", "Pr.Axis.Rect", "Max.L.Rect"),
            "moments": (
                "Sc.Var.Maxis",
                "Sc.Var.maxis",
                "Ra.Gyr",
                "Skew.Maxis",
                "Skew.maxis",
                "Kurt.maxis",
                "Kurt.Maxis",
            ),
        },
        846,
    ),
    "dna": RTable("r-cran-mlbench", "mlbench", "DNA", "Class", _dna_views(), 3186),
    "spam": RTable(
        "r-cran-kernlab",
        "kernlab",
        "spam",
        "type",
        {
            "words": tuple(_SPAM_WORDS),
            "chars": (
                "charSemicolon",
                "charRoundbracket",
                "charSquarebracket",
                "charExclamation",
                "charDollar",
                "charHash",
            ),
            "capitals": ("capitalAve", "capitalLong", "capitalTotal"),
        },
        4601,
    ),
    "ionosphere": RTable(
        "r-cran-mlbench",
        "mlbench",
        "Ionosphere",
        "Class",
        {
            "real": tuple(f"V{2 * p + 1}" for p in range(17)),
            "imag": tuple(f"V{2 * p + 2}" for p in range(17)),
        },
        351,
    ),
    "musk": RTable(
        "r-cran-kernlab",
        "kernlab",
        "musk",
        "Class",
        {
            "rays": tuple(f"V{i}" for i in range(1, 163)),
            "oxygen": ("V163", "V164", "V165", "V166"),
        },
        476,
    ),
    "income": RTable(
        "r-cran-kernlab",
        "kernlab",
        "income",
        "INCOME",
        {
            "person": (
                "SEX",
                "MARITAL.STATUS",
                "AGE",
                "EDUCATION",
                "OCCUPATION",
                "ETHNIC.CLASS",
                "LANGUAGE",
            ),
            "household": (
                "AREA",
                "DUAL.INCOMES",
                "HOUSEHOLD.SIZE",
                "UNDER18",
                "HOUSEHOLDER",
                "HOME.TYPE",
            ),
        },
        8993,
        onehot=True,
    ),
}

R_NOTES = {
    "income": "Bay Area marketing questionnaire (8 993 answers, household income in 9 classes), "
    "kernlab's income.rda from Debian's r-cran-kernlab; one-hot answers about the person / the "
    "household as views",
    "ionosphere": "ionosphere radar returns (351 rows, 2 classes), mlbench's Ionosphere.rda from "
    "Debian's r-cran-mlbench; the real / imaginary parts of the 17 complex pulse values as views",
    "musk": "Musk version 1 (476 conformations of 92 molecules, 2 classes), kernlab's musk.rda from "
    "Debian's r-cran-kernlab; 162 ray distances / 4 oxygen-atom features as views (conformations "
    "of one molecule fall on both sides of the split)",
    "satellite": "Landsat MSS 3x3 neighbourhoods (StatLog satellite, 6 435 rows, 6 classes), "
    "mlbench's Satellite.rda from Debian's r-cran-mlbench; the four spectral bands (9 values "
    "each) as views",
    "letter": "letter recognition (20 000 rows, 26 letters), mlbench's LetterRecognition.rda from "
    "Debian's r-cran-mlbench; box geometry / pixel moments / edge counts as views",
    "vehicle": "vehicle silhouettes (846 rows, 4 classes), mlbench's Vehicle.rda from Debian's "
    "r-cran-mlbench; contour / axis / moment features as views",
    "dna": "StatLog DNA splice junctions (3 186 rows, 3 classes), mlbench's DNA.rda from Debian's "
    "r-cran-mlbench; four 15-nucleotide windows of the 60-nucleotide sequence as views",
    "spam": "spambase (4 601 e-mails, 2 classes), kernlab's spam.rda from Debian's r-cran-kernlab; "
    "word frequencies / character frequencies / capital-run lengths as views",
}


def r_library_dirs() -> tuple[Path, ...]:
    """The folders searched for R packages: ``$CCH_JAX_R_LIBRARY`` if set, else the standard
    ones (:data:`R_LIBRARY_DIRS`)."""
    env = os.environ.get(R_LIBRARY_ENV, "")
    if env.strip():
        return tuple(Path(p) for p in env.split(os.pathsep) if p)
    return R_LIBRARY_DIRS


def _install_hint(table: RTable) -> str:
    return (
        f"apt-get install {table.debian} (or apt-get download {table.debian} && dpkg-deb -x "
        f"{table.debian}_*.deb DIR, then {R_LIBRARY_ENV}=DIR/usr/lib/R/site-library)"
    )


def rda_path(dataset: str, *, r_library: str | os.PathLike | None = None) -> Path:
    """The ``.rda`` file of one table.

    Args:
      dataset: a key of :data:`R_TABLES`.
      r_library: an R library folder to look in (default: :func:`r_library_dirs`).

    Returns:
      The file's path.

    Raises:
      ValueError: no such file (the message names the Debian package and how to install it).
    """
    table = R_TABLES[dataset]
    dirs = r_library_dirs() if r_library is None else (Path(r_library),)
    rel = Path(table.package) / "data" / f"{table.obj}.rda"
    for d in dirs:
        if (d / rel).is_file():
            return d / rel
    raise ValueError(
        f"dataset: {dataset} needs {rel} from Debian's {table.debian}, not found in "
        f"{', '.join(str(d) for d in dirs)}: {_install_hint(table)}; it is read with pyreadr "
        f"(pip install pyreadr pandas)"
    )


def _read_r(dataset: str, path: Path):
    table = R_TABLES[dataset]
    try:
        import pyreadr
    except ImportError:
        raise ValueError(
            f"dataset: {dataset} reads {path.name} (Debian's {table.debian}) with pyreadr, which "
            f"is not installed: pip install pyreadr pandas (or pip install 'cch-jax[bench]')"
        ) from None
    try:
        frames = pyreadr.read_r(str(path), use_objects=[table.obj])
    except Exception as err:  # noqa: BLE001 -- pyreadr's errors have no common base
        raise ValueError(f"dataset: {path} could not be read by pyreadr ({err})") from None
    if table.obj not in frames:
        raise ValueError(f"dataset: {path} holds no object {table.obj!r}")
    return frames[table.obj]


def _column(frame, name: str, path: Path) -> np.ndarray:
    if name not in frame.columns:
        raise ValueError(f"dataset: {path} has no column {name!r}")
    col = frame[name]
    if str(col.dtype) == "category":  # an R factor of numbers, e.g. DNA's '0' / '1' bits
        levels = np.asarray([float(c) for c in col.cat.categories], np.float32)
        codes = np.asarray(col.cat.codes)
        if np.any(codes < 0):
            raise ValueError(f"dataset: {path} has missing values in column {name!r}")
        return levels[codes]
    return np.asarray(col, np.float32)


def _onehot(frame, name: str, path: Path) -> np.ndarray:
    """``[n, levels (+1)]`` indicators of a factor column; the last one marks a missing answer
    (only when the column has one)."""
    if name not in frame.columns:
        raise ValueError(f"dataset: {path} has no column {name!r}")
    col = frame[name]
    if str(col.dtype) != "category":
        raise ValueError(f"dataset: {path}: column {name!r} is not a factor")
    codes = np.asarray(col.cat.codes)
    width = len(col.cat.categories) + int(np.any(codes < 0))
    out = np.zeros((codes.size, width), np.float32)
    out[np.arange(codes.size), np.where(codes < 0, width - 1, codes)] = 1.0
    return out


def load_r_table(
    dataset: str, *, r_library: str | os.PathLike | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray, list[str]]:
    """One multi-view table from a Debian R package's data file (see the module docstring).

    Args:
      dataset: 'satellite', 'letter', 'vehicle', 'dna', 'spam', 'ionosphere', 'musk' or 'income'
        (a key of :data:`R_TABLES`).
      r_library: an R library folder to look in (default: ``$CCH_JAX_R_LIBRARY`` or the standard
        folders).

    Returns:
      ``(views, labels, class_names)``: view name -> ``[n, d_view]`` float32 raw values (in the
      file's units; 0/1 indicators for a table of answers), labels ``[n]`` int32 in the order of the R factor's levels, and those levels.

    Raises:
      ValueError: the file or pyreadr is missing (the message says how to install them), or the
        file does not hold the expected table.
    """
    if dataset not in R_TABLES:
        raise ValueError(f"dataset: {dataset!r} is not one of {', '.join(R_TABLES)}")
    table = R_TABLES[dataset]
    path = rda_path(dataset, r_library=r_library)
    frame = _read_r(dataset, path)
    if frame.shape[0] != table.rows:
        raise ValueError(f"dataset: {path} has {frame.shape[0]} rows, expected {table.rows}")
    if table.onehot:
        views = {
            v: np.concatenate([_onehot(frame, c, path) for c in cols], axis=1)
            for v, cols in table.views.items()
        }
    else:
        views = {
            v: np.stack([_column(frame, c, path) for c in cols], axis=1)
            for v, cols in table.views.items()
        }
    for v, x in views.items():
        if not np.all(np.isfinite(x)):
            raise ValueError(f"dataset: {path} has missing values in view {v!r}")
    if table.label not in frame.columns or str(frame[table.label].dtype) != "category":
        raise ValueError(f"dataset: {path} has no factor column {table.label!r}")
    label = frame[table.label]
    codes = np.asarray(label.cat.codes, np.int32)
    if np.any(codes < 0):
        raise ValueError(f"dataset: {path} has rows without a class")
    return views, codes, [str(c) for c in label.cat.categories]
