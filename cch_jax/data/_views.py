"""Degradations and paired views of one image for cross-modal distillation.

A view pair is two inputs of the same example: the teacher reads one, the student the other, and
both share the label. The paper weakens one modality with Gaussian blur of standard deviation
gamma (up to 3.5 pixels) to move I(H_teacher; H_student) relative to I(H_student; Y).

Every function here is written for one image ``[H, W, C]`` and batched with ``jax.vmap`` over any
leading axes; gamma and the noise level may be traced (swept with vmap), the blur radius is static.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks

DEFAULT_TRUNCATE = 4.0  # kernel half-width in standard deviations (scipy.ndimage's default)


class Views(NamedTuple):
    """Two views of the same n examples.

    Attributes:
      teacher_input: ``[n, H, W, Ct]`` float32 in [0, 1] (before noise).
      student_input: ``[n, H, W, Cs]`` float32.
      labels: ``[n]`` int32 classes (``label`` is the former name, kept as a read-only alias).
    """

    teacher_input: jax.Array
    student_input: jax.Array
    labels: jax.Array

    @property
    def label(self) -> jax.Array:
        """The former name of :attr:`labels`."""
        return self.labels

    def as_dict(self) -> dict:
        """The mapping :func:`cch_jax.kd.prepare_data` reads (whose key for the classes is
        ``"label"``)."""
        return {
            "teacher_input": self.teacher_input,
            "student_input": self.student_input,
            "label": self.labels,
        }


def to_float(images) -> jax.Array:
    """uint8 images (0..255) -> float32 in [0, 1]; float images are returned as float32.

    Args:
      images: an image array of any shape (e.g. ``[n, H, W, C]``), uint8 in 0..255 or float.

    Returns:
      float32, same shape: uint8 values divided by 255, float values unchanged.
    """
    arr = np.asarray(images) if not _checks.is_traced(images) else images
    if arr.dtype == np.uint8:
        return jnp.asarray(arr, jnp.float32) / 255.0
    return _checks.as_float_array("images", arr).astype(jnp.float32)


def gaussian_kernel(gamma, radius: int) -> jax.Array:
    """Normalised 1-D Gaussian weights on offsets -radius..radius.

    Args:
      gamma: standard deviation in pixels, >= 0 (may be traced); 0 gives the identity kernel.
      radius: static half-width.

    Returns:
      ``[2 * radius + 1]`` weights summing to 1.
    """
    offsets = jnp.arange(-radius, radius + 1, dtype=jnp.float32)
    g = jnp.maximum(jnp.asarray(gamma, jnp.float32), 1e-6)  # gamma -> 0: a unit impulse, no NaN
    w = jnp.exp(-0.5 * (offsets / g) ** 2)
    return w / jnp.sum(w)


# Kernels longer than this use an XLA convolution instead of unrolled shifted copies.
_UNROLL_TAPS = 33


# Above this half-width the normaliser of the kernel is computed in closed form.
_EXACT_NORM_RADIUS = 4096


def _capped_kernel(gamma, radius: int, size: int) -> jax.Array:
    """The weights of :func:`gaussian_kernel` (gamma, radius) on offsets -r..r only, with
    r = min(radius, size - 1), still normalised over the full -radius..radius.

    With zero padding, offsets of ``size`` or more pixels only ever meet zeros, so dropping them
    gives exactly the same blur, and the work no longer grows with gamma (gamma = 1000 on 8x8
    images took minutes of tracing before). For radius > 4096 the normaliser uses
    sum_{|o| <= R} exp(-o^2 / 2g^2) = sqrt(2 pi) g erf((R + 1/2) / (sqrt(2) g)) (exact to float32
    rounding for g >= 1), so that no [2 * radius + 1] array is ever built.
    """
    r = min(radius, size - 1)
    if radius <= _EXACT_NORM_RADIUS:
        return gaussian_kernel(gamma, radius)[radius - r : radius + r + 1]
    offsets = jnp.arange(-r, r + 1, dtype=jnp.float32)
    g = jnp.maximum(jnp.asarray(gamma, jnp.float32), 1e-6)
    w = jnp.exp(-0.5 * (offsets / g) ** 2)
    norm = jnp.sqrt(2 * jnp.pi) * g * jax.scipy.special.erf((radius + 0.5) / (jnp.sqrt(2.0) * g))
    return w / jnp.maximum(norm, 1.0)  # g -> 0: the impulse, weight 1


def _blur_axis(image: jax.Array, gamma, radius: int, axis: int) -> jax.Array:
    size = image.shape[axis]
    kernel = _capped_kernel(gamma, radius, size)
    radius = (kernel.shape[0] - 1) // 2
    pad = [(0, 0)] * image.ndim
    pad[axis] = (radius, radius)
    padded = jnp.pad(image, pad)  # zeros outside the image
    if kernel.shape[0] > _UNROLL_TAPS:
        moved = jnp.moveaxis(padded, axis, -1)
        lead = moved.shape[:-1]
        rows = moved.reshape(-1, 1, moved.shape[-1])
        out = jax.lax.conv_general_dilated(
            rows,
            kernel[::-1].reshape(1, 1, -1).astype(rows.dtype),
            window_strides=(1,),
            padding="VALID",
            precision=jax.lax.Precision.HIGHEST,
        )
        return jnp.moveaxis(out.reshape(*lead, size), -1, axis)
    out = jnp.zeros_like(image)
    for i in range(kernel.shape[0]):  # 2r+1 shifted, weighted copies: a separable convolution
        out = out + kernel[i] * jax.lax.slice_in_dim(padded, i, i + size, axis=axis)
    return out


def _blur_one(image: jax.Array, gamma, radius: int) -> jax.Array:
    return _blur_axis(_blur_axis(image, gamma, radius, 0), gamma, radius, 1)


def blur_radius(gamma: float, truncate: float = DEFAULT_TRUNCATE) -> int:
    """The static kernel half-width for a concrete gamma: ceil(truncate * gamma)."""
    return int(math.ceil(truncate * float(gamma)))


def gaussian_blur(images, gamma, *, radius: int | None = None) -> jax.Array:
    """Gaussian blur with standard deviation ``gamma`` pixels, zero outside the image.

    Separable (rows then columns), per channel, in float32. With zero padding the total intensity
    is preserved exactly for content at least ``radius`` pixels from the border
    (scipy.ndimage.gaussian_filter(mode='constant') computes the same filter).

    Wide blurs are cheap: kernel offsets of H (or W) pixels or more only meet the zero padding, so
    the applied kernel is capped at H - 1 (W - 1) pixels each side while staying normalised over
    its full width -- the same result as the uncapped filter, at a cost independent of gamma.
    (It is *not* the per-channel image mean: zero padding lets intensity leak out; gamma = 1000
    on 8x8 images keeps ~1e-5 of it.)

    Args:
      images: ``[..., H, W, C]`` (uint8 images are scaled to [0, 1] first).
      gamma: standard deviation in pixels, >= 0; a scalar, possibly traced (then ``radius`` is
        required). gamma = 0 returns the images unchanged.
      radius: static kernel half-width; default ceil(4 * gamma), needing a concrete gamma.

    Returns:
      ``[..., H, W, C]`` float32.
    """
    x = to_float(images)
    if x.ndim < 3:
        raise ValueError(f"images: expected [..., H, W, C], got shape {x.shape}")
    if radius is None:
        if _checks.is_traced(gamma):
            raise ValueError("radius: pass a static radius when gamma is traced (jit/vmap)")
        _checks.check_scalar_range("gamma", gamma, low=0.0)
        radius = blur_radius(gamma)
    _checks.check_positive_int("radius", radius, minimum=0)
    if not _checks.is_traced(gamma):
        _checks.check_scalar_range("gamma", gamma, low=0.0)
    if radius == 0:
        return x
    return _blur(x, jnp.asarray(gamma, jnp.float32), radius)


@functools.partial(jax.jit, static_argnums=2)
def _blur(x: jax.Array, gamma: jax.Array, radius: int) -> jax.Array:
    fn = lambda im: _blur_one(im, gamma, radius)  # noqa: E731
    for _ in range(x.ndim - 3):
        fn = jax.vmap(fn)
    return fn(x)


def add_gaussian_noise(images, sigma, *, key: jax.Array) -> jax.Array:
    """Adds N(0, sigma^2) pixel noise (no clipping) to float images ``[..., H, W, C]``.

    Args:
      images: ``[..., H, W, C]`` (uint8 scaled to [0, 1] first).
      sigma: noise standard deviation in [0, 1] pixel units, >= 0 (may be traced).
      key: a ``jax.random.key``.

    Returns:
      ``[..., H, W, C]`` float32.
    """
    x = to_float(images)
    _checks.check_key("key", key)
    if not _checks.is_traced(sigma):
        _checks.check_scalar_range("sigma", sigma, low=0.0)
    return x + jnp.asarray(sigma, jnp.float32) * jax.random.normal(key, x.shape, jnp.float32)


def to_grey(images) -> jax.Array:
    """Mean over channels, kept as one channel: ``[..., H, W, C]`` -> ``[..., H, W, 1]``.

    Args:
      images: ``[..., H, W, C]`` uint8 (0..255) or float in [0, 1].

    Returns:
      float32 ``[..., H, W, 1]`` in [0, 1] (for uint8 input), the mean of the C channels.
    """
    x = to_float(images)
    return jnp.mean(x, axis=-1, keepdims=True)


def degrade(images, *, gamma: float = 0.0, noise: float = 0.0, key: jax.Array) -> jax.Array:
    """Blur by ``gamma`` pixels, then add N(0, noise^2) pixel noise: ``[n, H, W, C]`` float32.

    Args:
      images: ``[n, H, W, C]`` uint8 (0..255) or float in [0, 1].
      gamma: Gaussian blur standard deviation in pixels, >= 0 (0: no blur).
      noise: standard deviation of the added pixel noise (intensity units of [0, 1] images),
        >= 0 (0: no noise).
      key: a ``jax.random.key`` for the noise (keyword-only).

    Returns:
      float32 ``[n, H, W, C]``: the blurred, then noised images (not clipped).
    """
    _checks.check_key("key", key)
    gamma = _checks.check_real("gamma", gamma, low=0.0)
    noise = _checks.check_real("noise", noise, low=0.0)
    x = gaussian_blur(images, gamma) if gamma > 0 else to_float(images)
    return add_gaussian_noise(x, noise, key=key) if noise > 0 else x


def degrade_view(
    x, *, gamma: float = 0.0, noise: float = 0.0, key: jax.Array, chunk_rows: int = 4096
) -> np.ndarray:
    """Weakens one whole view of a dataset: Gaussian blur ``gamma`` (images only), then noise.

    Images go through :func:`degrade` ``chunk_rows`` rows at a time (the chunk starting at row i
    with the key ``jax.random.fold_in(key, i)``), which bounds the blur's memory on a whole
    dataset; vectors only take the noise. This is how the benchmark's image teachers and students
    are degraded (``cch bench``), and a way to build the teacher views of a degradation grid for a
    user's file (``cch bench --data``, ``cch trial``): one ``x_teacher_NAME`` per level.

    Args:
      x: ``[n, H, W, C]`` images in [0, 1], or ``[n, d]`` vectors (e.g. standardized features).
      gamma: blur standard deviation in pixels, >= 0 (must be 0 for vectors).
      noise: standard deviation of the added N(0, noise^2) noise (pixel intensity, or the
        vectors' units), >= 0.
      key: ``jax.random.key`` (keyword-only).
      chunk_rows: image rows per call of :func:`degrade`, >= 1.

    Returns:
      ``[n, ...]`` float32 NumPy array; ``x`` itself (as float32) when gamma and noise are 0.
    """
    _checks.check_key("key", key)
    gamma = _checks.check_real("gamma", gamma, low=0.0)
    noise = _checks.check_real("noise", noise, low=0.0)
    chunk_rows = _checks.check_int("chunk_rows", chunk_rows, minimum=1)
    x = np.asarray(x, np.float32)
    if x.ndim not in (2, 4):
        raise ValueError(f"x: expected [n, d] vectors or [n, H, W, C] images, got shape {x.shape}")
    if gamma == 0 and noise == 0:
        return x
    if x.ndim == 2:
        if gamma > 0:
            raise ValueError(f"gamma: blur needs images [n, H, W, C]; got shape {x.shape}")
        return (x + noise * np.asarray(jax.random.normal(key, x.shape, jnp.float32))).astype(
            np.float32
        )
    out = [
        np.asarray(
            degrade(x[i : i + chunk_rows], gamma=gamma, noise=noise, key=jax.random.fold_in(key, i))
        )
        for i in range(0, x.shape[0], chunk_rows)
    ]
    return np.concatenate(out).astype(np.float32)


def blur_views(
    images,
    labels,
    *,
    teacher_gamma: float = 0.0,
    teacher_noise: float = 0.0,
    student_gamma: float = 0.0,
    student_noise: float = 0.0,
    key: jax.Array,
) -> Views:
    """Two degraded copies of one dataset: e.g. a clean teacher and a noisy or blurred student.

    Args:
      images: ``[n, H, W, C]`` uint8 or float in [0, 1].
      labels: ``[n]`` integer classes.
      teacher_gamma: blur standard deviation of the teacher's view, in pixels, >= 0.
      teacher_noise: pixel-noise standard deviation of the teacher's view ([0, 1] intensity
        units), >= 0.
      student_gamma: blur standard deviation of the student's view, in pixels, >= 0.
      student_noise: pixel-noise standard deviation of the student's view, >= 0.
      key: ``jax.random.key`` for the noise.

    Returns:
      :class:`Views`.
    """
    x = to_float(images)
    if x.ndim != 4:
        raise ValueError(f"images: expected [n, H, W, C], got shape {x.shape}")
    y = _as_labels(labels, x.shape[0])
    _checks.check_key("key", key)
    k_t, k_s = jax.random.split(key)
    return Views(
        degrade(x, gamma=teacher_gamma, noise=teacher_noise, key=k_t),
        degrade(x, gamma=student_gamma, noise=student_noise, key=k_s),
        y,
    )


def _as_labels(labels, n: int) -> jax.Array:
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels: expected [n] integers, got shape {y.shape} dtype {y.dtype}")
    _checks.check_same_rows(images=np.empty((n, 0)), labels=y)
    return jnp.asarray(y, jnp.int32)
