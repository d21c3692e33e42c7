"""cch_jax.data: tfds loading under the mock (no TensorFlow, no download), the fail-fast path,
the IDX reader, Gaussian blur against scipy, MNIST-M and view pairs; real Debian Fashion-MNIST
behind --run-realdata."""

import gzip

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage
import tensorflow_datasets as tfds

from cch_jax import data
from cch_jax.data import _views

SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}


def test_degrade_is_blur_then_noise():
    """data.degrade = gaussian_blur, then add_gaussian_noise with the same key; gamma = noise = 0
    is to_float alone (uint8 scaled to [0, 1])."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(3, 9, 9, 1), dtype=np.uint8)
    key = jax.random.key(4)
    out = np.asarray(data.degrade(img, gamma=1.5, noise=0.2, key=key))
    blurred = data.gaussian_blur(img, 1.5)
    np.testing.assert_array_equal(out, np.asarray(data.add_gaussian_noise(blurred, 0.2, key=key)))
    np.testing.assert_allclose(
        np.asarray(data.degrade(img, key=key)), img.astype(np.float32) / 255.0, atol=1e-7
    )
    # the noise alone: zero-mean, std 0.2, and a different key gives different noise
    noise = out - np.asarray(blurred)
    assert abs(noise.std() - 0.2) < 0.03 and abs(noise.mean()) < 0.03
    other = np.asarray(data.degrade(img, gamma=1.5, noise=0.2, key=jax.random.key(5)))
    assert not np.allclose(other, out)


def test_degrade_view_is_degrade_chunk_by_chunk():
    """data.degrade_view: images through data.degrade chunk_rows rows at a time (the chunk at row
    i with fold_in(key, i)); vectors take only the noise; gamma = noise = 0 returns the input."""
    rng = np.random.default_rng(1)
    img = rng.random((5, 8, 8, 1)).astype(np.float32)
    key = jax.random.key(2)
    out = data.degrade_view(img, gamma=1.0, noise=0.3, key=key, chunk_rows=2)
    assert out.dtype == np.float32 and out.shape == img.shape
    for i in (0, 2, 4):
        part = data.degrade(img[i : i + 2], gamma=1.0, noise=0.3, key=jax.random.fold_in(key, i))
        np.testing.assert_array_equal(out[i : i + 2], np.asarray(part))
    assert data.degrade_view(img, key=key) is img
    vec = rng.normal(size=(400, 3)).astype(np.float32)
    noisy = data.degrade_view(vec, noise=2.0, key=key)
    assert abs(float(np.std(noisy - vec)) - 2.0) < 0.15
    with pytest.raises(ValueError, match="^gamma: blur needs images"):
        data.degrade_view(vec, gamma=1.0, key=key)
    with pytest.raises(ValueError, match="^x: expected"):
        data.degrade_view(img[0], noise=1.0, key=key)


@pytest.mark.parametrize("name", data.TFDS_DATASETS)
def test_load_mock(name, tmp_path):
    # Under the mock download_and_prepare is a no-op: nothing is fetched.
    with tfds.testing.mock_data(num_examples=7):
        images, labels = data.load(name, "train", data_dir=tmp_path, download=True)
        head, _ = data.load(name, "test", data_dir=tmp_path, download=True, max_examples=3)
    chex.assert_shape(images, (7, *SHAPES[name]))
    chex.assert_shape(labels, (7,))
    assert images.dtype == np.uint8 and labels.dtype == np.int32
    assert labels.min() >= 0 and labels.max() < 10
    chex.assert_shape(head, (3, *SHAPES[name]))


def test_load_fails_fast_when_not_prepared(tmp_path, monkeypatch):
    # no download is attempted (its retries take minutes): reading a source would fail the test
    monkeypatch.setattr(tfds, "data_source", lambda *a, **k: pytest.fail("tried to load"))
    with pytest.raises(RuntimeError, match=r"no prepared 'mnist'.*cch-jax\[tf\].*download=True"):
        data.load("mnist", "train", data_dir=tmp_path)
    assert not any(tmp_path.rglob("*.array_record*"))


def test_load_bad_arguments(tmp_path):
    with pytest.raises(
        ValueError, match="^name: expected one of 'mnist', 'fashion_mnist', 'cifar10', got 'svhn'"
    ):
        data.load("svhn", "train", data_dir=tmp_path)
    with pytest.raises(ValueError, match="^split: expected one of 'train', 'test', got 'valid"):
        data.load("mnist", "validation", data_dir=tmp_path)
    with pytest.raises(ValueError, match="^max_examples: must be >= 1, got 0"):
        data.load("mnist", "train", data_dir=tmp_path, max_examples=0)
    with pytest.raises(ValueError, match="^max_examples: expected an integer, got 2.5"):
        data.load_digits("train", max_examples=2.5)


def _write_idx(path, array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


def test_read_idx_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 4, 3), dtype=np.uint8)
    _write_idx(tmp_path / "img.gz", images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "img.gz"), images)
    ints = rng.integers(-1000, 1000, size=(6,)).astype(np.int32)
    _write_idx(tmp_path / "ints", ints, code=0x0C)
    out = data.read_idx(tmp_path / "ints")
    np.testing.assert_array_equal(out, ints)
    assert out.dtype == np.int32


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x02ab")
    with pytest.raises(ValueError, match="bad magic number"):
        data.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05ab")
    with pytest.raises(ValueError, match="holds 2 data bytes"):
        data.read_idx(tmp_path / "short")


def test_fashion_mnist_idx_from_folder(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=(6,), dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    x, y = data.load_fashion_mnist_idx("test", root=tmp_path, max_examples=4)
    chex.assert_shape(x, (4, 28, 28, 1))
    np.testing.assert_array_equal(x[..., 0], images[:4])
    np.testing.assert_array_equal(y, labels[:4])
    assert y.dtype == np.int32


def test_fashion_mnist_idx_missing_names_package(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="train-images-idx3-ubyte.gz.*dataset-fashion-mnist"
    ):
        data.load_fashion_mnist_idx("train", root=tmp_path)


def test_digits_split():
    xtr, ytr = data.load_digits("train")
    xte, yte = data.load_digits("test")
    chex.assert_shape(xtr, (1297, 8, 8, 1))
    chex.assert_shape(xte, (500, 8, 8, 1))
    assert xtr.dtype == np.uint8 and xtr.max() == 255
    assert set(np.unique(ytr)) == set(range(10)) and set(np.unique(yte)) == set(range(10))
    # The two splits are disjoint images of the 1797.
    train_rows = {r.tobytes() for r in xtr.reshape(1297, -1)}
    overlap = sum(r.tobytes() in train_rows for r in xte.reshape(500, -1))
    assert overlap < 10  # a few digits are pixel-identical duplicates in scikit-learn's set


def _blob(size=28, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size, channels), np.float32)
    img[10:18, 9:19] = rng.uniform(size=(8, 10, channels))
    return img


@pytest.mark.parametrize("gamma", [0.7, 1.5, 2.0])
def test_blur_matches_scipy_and_preserves_sum(gamma):
    img = _blob()
    radius = 8  # content lies >= 9 pixels from every border
    out = np.asarray(data.gaussian_blur(img, gamma, radius=radius))
    ref = scipy.ndimage.gaussian_filter(
        img, sigma=(gamma, gamma, 0), mode="constant", truncate=radius / gamma
    )
    np.testing.assert_allclose(out, ref, atol=2e-6)
    np.testing.assert_allclose(out.sum(axis=(0, 1)), img.sum(axis=(0, 1)), rtol=1e-5)


def test_blur_identity_and_shapes():
    imgs = np.stack([_blob(seed=s) for s in range(3)])
    np.testing.assert_array_equal(np.asarray(data.gaussian_blur(imgs, 0.0)), imgs)
    np.testing.assert_array_equal(np.asarray(data.gaussian_blur(imgs, 0.0, radius=5)), imgs)
    batched = data.gaussian_blur(imgs[None], 1.0)
    chex.assert_shape(batched, (1, 3, 28, 28, 2))
    assert not np.allclose(np.asarray(batched[0]), imgs)


def test_blur_traced_gamma_vmap_one_compile():
    imgs = jnp.asarray(np.stack([_blob(seed=s) for s in range(2)]))

    @jax.jit
    @chex.assert_max_traces(n=1)
    def sweep(gammas):
        return jax.vmap(lambda g: data.gaussian_blur(imgs, g, radius=12))(gammas)

    out = sweep(jnp.asarray([0.0, 1.0, 3.0]))
    chex.assert_shape(out, (3, 2, 28, 28, 2))
    np.testing.assert_allclose(np.asarray(out[0]), np.asarray(imgs), atol=0)
    np.testing.assert_allclose(
        np.asarray(out[1]), np.asarray(data.gaussian_blur(imgs, 1.0, radius=12)), atol=1e-6
    )
    sweep(jnp.asarray([0.5, 2.0, 3.5]))  # same shapes: no retrace
    # Larger gamma spreads the blob: the peak falls.
    peaks = np.asarray(out.max(axis=(1, 2, 3, 4)))
    assert peaks[0] > peaks[1] > peaks[2]


def test_blur_bad_input():
    with pytest.raises(ValueError, match="gamma: must be >= 0"):
        data.gaussian_blur(_blob(), -1.0)
    with pytest.raises(ValueError, match="images: expected"):
        data.gaussian_blur(np.zeros((4, 4), np.float32), 1.0)
    with pytest.raises(ValueError, match="radius: pass a static radius"):
        jax.jit(lambda g: data.gaussian_blur(_blob(), g))(1.0)
    with pytest.raises(ValueError, match="images: contains 1 non-finite"):
        img = _blob()
        img[0, 0, 0] = np.nan
        data.gaussian_blur(img, 1.0)


def test_huge_blur_is_fast_and_exact():
    """gamma = 1000 on 8x8 images used to trace 8001 shifted copies for minutes. Offsets beyond the
    image only meet the zero padding, so the capped kernel gives scipy's result exactly."""
    rng = np.random.default_rng(0)
    img = rng.uniform(size=(4, 8, 8, 3)).astype(np.float32)
    # the work does not grow with gamma: the applied kernel is capped at 7 pixels each side
    for gamma in (1000.0, 1e7):
        kernel = _views._capped_kernel(gamma, _views.blur_radius(gamma), 8)
        # the 15 taps nearest the centre of an almost flat Gaussian: 1 / (sqrt(2 pi) gamma) each
        assert kernel.shape == (15,)
        np.testing.assert_allclose(np.asarray(kernel), 1 / (np.sqrt(2 * np.pi) * gamma), rtol=1e-4)
    out = np.asarray(data.gaussian_blur(img, 1000.0))
    ref = scipy.ndimage.gaussian_filter(img, sigma=(0, 1000, 1000, 0), mode="constant", truncate=4)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-12)
    # Not the image mean: zero padding lets ~1 - (8 / (sqrt(2 pi) 1000))^2 of the mass leak out.
    np.testing.assert_allclose(out.sum(axis=(1, 2)) / img.sum(axis=(1, 2)), 1.02e-5, rtol=0.01)
    # A wide kernel on a larger image takes the convolution path (> 33 taps) and stays exact.
    big = rng.uniform(size=(40, 40, 1)).astype(np.float32)
    ref = scipy.ndimage.gaussian_filter(big, sigma=(6, 6, 0), mode="constant", truncate=4)
    np.testing.assert_allclose(np.asarray(data.gaussian_blur(big, 6.0)), ref, atol=1e-6)
    # gamma = 1e7 (closed-form normaliser): every output pixel is the channel sum times the flat
    # 2-D kernel's weight 1 / (2 pi gamma^2) ~ 1.6e-15, not 0 or NaN
    huge = np.asarray(data.gaussian_blur(img, 1e7))
    expected = img.sum(axis=(1, 2), keepdims=True) / (2 * np.pi * 1e14)
    np.testing.assert_allclose(huge, np.broadcast_to(expected, huge.shape), rtol=1e-3)


def test_noise_statistics():
    x = np.zeros((200, 28, 28, 1), np.float32)
    out = np.asarray(data.add_gaussian_noise(x, 0.3, key=jax.random.key(0)))
    # 156 800 draws: the std of the sample std is ~0.3/sqrt(2*156800) = 5e-4.
    assert abs(out.std() - 0.3) < 5e-3 and abs(out.mean()) < 5e-3


def test_make_mnistm():
    rng = np.random.default_rng(0)
    digits = np.zeros((16, 28, 28), np.uint8)
    digits[:, 8:20, 12:16] = 255
    photos = [rng.integers(0, 256, size=(40 + 5 * i, 50, 3), dtype=np.uint8) for i in range(3)]
    out = data.make_mnistm(digits, photos, key=jax.random.key(0))
    chex.assert_shape(out, (16, 28, 28, 3))
    assert out.dtype == jnp.uint8
    out = np.asarray(out).astype(np.int32)
    # Where the digit is 255 the pixel is 255 - background; where it is 0, the background itself.
    stack = np.stack([p[:40, :50] for p in photos])  # what the centre crop keeps (all >= 40 rows)
    for img in out[:4]:
        background = img[:, :8]
        found = False
        for p in stack:
            for top in range(40 - 28 + 1):
                for left in range(50 - 28 + 1):
                    patch = p[top : top + 28, left : left + 28].astype(np.int32)
                    if np.array_equal(patch[:, :8], background):
                        np.testing.assert_array_equal(img[8:20, 12:16], 255 - patch[8:20, 12:16])
                        found = True
        assert found
    again = np.asarray(data.make_mnistm(digits, photos, key=jax.random.key(0))).astype(np.int32)
    np.testing.assert_array_equal(again, out)  # deterministic in the key


def test_make_mnistm_bad_input():
    photos = [np.zeros((30, 30, 3), np.uint8)]
    with pytest.raises(ValueError, match="digits: expected uint8"):
        data.make_mnistm(np.zeros((2, 28, 28), np.float32), photos, key=jax.random.key(0))
    with pytest.raises(ValueError, match="smaller than the digits"):
        data.make_mnistm(
            np.zeros((2, 28, 28), np.uint8),
            [np.zeros((20, 40, 3), np.uint8)],
            key=jax.random.key(0),
        )
    with pytest.raises(ValueError, match="photos: expected at least one"):
        data.make_mnistm(np.zeros((2, 28, 28), np.uint8), [], key=jax.random.key(0))


def test_stand_in_photos():
    pytest.importorskip("skimage")
    photos = data.stand_in_photos()
    assert len(photos) == len(data.STAND_IN_PHOTOS)
    for p in photos:
        assert p.ndim == 3 and p.shape[-1] == 3 and p.dtype == np.uint8 and min(p.shape[:2]) >= 28


def test_blur_views():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28, 1), dtype=np.uint8)
    labels = np.arange(5)
    v = data.blur_views(images, labels, teacher_gamma=0.0, student_gamma=2.0, key=jax.random.key(0))
    chex.assert_shape([v.teacher_input, v.student_input], (5, 28, 28, 1))
    np.testing.assert_allclose(np.asarray(v.teacher_input), images / 255.0, atol=1e-7)
    assert np.asarray(v.student_input).std() < np.asarray(v.teacher_input).std()
    assert v.labels.dtype == jnp.int32
    assert set(v.as_dict()) == {"teacher_input", "student_input", "label"}
    with pytest.raises(ValueError, match="mismatched number of rows"):
        data.blur_views(images, np.arange(4), key=jax.random.key(0))


@pytest.mark.realdata
def test_debian_fashion_mnist():
    x, y = data.load_fashion_mnist_idx("train")
    chex.assert_shape(x, (60000, 28, 28, 1))
    assert np.bincount(y).tolist() == [6000] * 10
    xt, yt = data.load_fashion_mnist_idx("test")
    chex.assert_shape(xt, (10000, 28, 28, 1))
    assert np.bincount(yt).tolist() == [1000] * 10
    # Known first labels of the original files (ankle boot, T-shirt, T-shirt, dress, ...).
    assert y[:5].tolist() == [9, 0, 0, 3, 0]
    assert 70 < x.mean() < 75  # the training set's mean pixel is ~72.9
