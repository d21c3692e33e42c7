"""MNIST-M (Ganin et al. 2016): grey digits blended into random crops of colour photos.

Each digit is blended per channel as |patch - digit| with a random 28x28 crop of a random photo,
so the digit shows as an inverted-colour shape on a textured background. Ganin et al. cropped
BSDS500 photos; offline, :func:`stand_in_photos` gives scikit-image's bundled colour photos.
A dataset built from them is an MNIST-M *stand-in* and results on it must say so.

The blend is pure JAX, written for one digit and vmapped over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks

# scikit-image's bundled colour photos (public domain or CC0), readable offline.
STAND_IN_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
)
STAND_IN_NOTE = (
    "MNIST-M stand-in: digits blended with crops of scikit-image's bundled photos, "
    "not the BSDS500 photos of the original MNIST-M"
)


def stand_in_photos() -> list[np.ndarray]:
    """scikit-image's bundled colour photos, ``[h, w, 3]`` uint8 each (offline BSDS500 stand-ins).

    Returns:
      One ``[h, w, 3]`` uint8 array per name in ``STAND_IN_PHOTOS``, in that order (sizes differ).

    Raises:
      ImportError: scikit-image is missing (``pip install cch-jax[images]``).
    """
    try:
        from skimage import data as skdata
    except ImportError as err:
        raise ImportError(
            "stand_in_photos needs scikit-image: pip install cch-jax[images]"
        ) from err
    photos = []
    for name in STAND_IN_PHOTOS:
        img = getattr(skdata, name)()
        img = img[0] if isinstance(img, tuple) else img  # stereo_motorcycle: (left, right, disp)
        photos.append(np.asarray(img, dtype=np.uint8)[..., :3])
    return photos


def _stack_photos(photos: Sequence, height: int, width: int) -> jax.Array:
    """Centre-crops every photo to the smallest common size and stacks them: [P, h, w, 3]."""
    arrs = [np.asarray(p) for p in photos]
    if not arrs:
        raise ValueError("photos: expected at least one colour photo")
    for i, a in enumerate(arrs):
        if a.ndim != 3 or a.shape[-1] != 3 or a.dtype != np.uint8:
            raise ValueError(
                f"photos: photo {i} must be [h, w, 3] uint8, got shape {a.shape} dtype {a.dtype}"
            )
        if a.shape[0] < height or a.shape[1] < width:
            raise ValueError(
                f"photos: photo {i} of size {a.shape[:2]} is smaller than the digits ({height}, "
                f"{width})"
            )
    h = min(a.shape[0] for a in arrs)
    w = min(a.shape[1] for a in arrs)
    crops = []
    for a in arrs:
        top, left = (a.shape[0] - h) // 2, (a.shape[1] - w) // 2
        crops.append(a[top : top + h, left : left + w])
    return jnp.asarray(np.stack(crops))


def _blend_one(digit: jax.Array, photos: jax.Array, key: jax.Array) -> jax.Array:
    """One MNIST-M image: |random crop - digit| per channel, uint8 [h, w, 3]."""
    height, width = digit.shape
    num, ph, pw, _ = photos.shape
    k_p, k_r, k_c = jax.random.split(key, 3)
    index = jax.random.randint(k_p, (), 0, num)
    top = jax.random.randint(k_r, (), 0, ph - height + 1)
    left = jax.random.randint(k_c, (), 0, pw - width + 1)
    patch = jax.lax.dynamic_slice(photos[index], (top, left, 0), (height, width, 3))
    blended = jnp.abs(patch.astype(jnp.int32) - digit.astype(jnp.int32)[:, :, None])
    return blended.astype(jnp.uint8)


def make_mnistm(digits, photos: Sequence, *, key: jax.Array) -> jax.Array:
    """Builds MNIST-M images from grey digits and colour photos.

    Args:
      digits: ``[n, H, W]`` (or ``[n, H, W, 1]``) uint8 grey digits, e.g. MNIST.
      photos: colour photos, each ``[h, w, 3]`` uint8 and at least H x W (BSDS500 for the real
        MNIST-M; :func:`stand_in_photos` offline).
      key: ``jax.random.key``; each digit gets its own photo and crop position.

    Returns:
      ``[n, H, W, 3]`` uint8.

    References:
      Y. Ganin et al., Domain-Adversarial Training of Neural Networks, JMLR 17 (2016), Sec. 5.1.
    """
    d = np.asarray(digits) if not _checks.is_traced(digits) else digits
    if d.ndim == 4 and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim != 3:
        raise ValueError(f"digits: expected [n, H, W] grey images, got shape {d.shape}")
    if d.dtype != np.uint8:
        raise ValueError(f"digits: expected uint8 (0..255), got dtype {d.dtype}")
    if d.shape[0] < 1:
        raise ValueError("digits: needs at least one digit")
    _checks.check_key("key", key)
    stack = _stack_photos(photos, d.shape[1], d.shape[2])
    keys = jax.random.split(key, d.shape[0])
    return _make(jnp.asarray(d), stack, keys)


@jax.jit
def _make(digits: jax.Array, photos: jax.Array, keys: jax.Array) -> jax.Array:
    return jax.vmap(_blend_one, in_axes=(0, None, 0))(digits, photos, keys)
