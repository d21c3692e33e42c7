"""Views of one grey image made by splitting or filtering it: halves, spatial-frequency bands, an
edge map and a coarse copy.

Each view keeps part of what the image says about its class, so two views of the same image act
as two modalities (a teacher reads one, a student the other):

* ``top`` / ``bottom``: the upper and lower halves, ``[n, H/2, W, 1]``.
* ``lowpass`` / ``highpass``: the image blurred by a Gaussian of :data:`LOWPASS_SIGMA` pixels, and
  what that blur removes (image - lowpass, values in [-1, 1]); ``[n, H, W, 1]``.
* ``edges``: the Sobel gradient magnitude, divided by its largest possible value 4 sqrt(2) (so in
  [0, 1]); zero outside the image; ``[n, H, W, 1]``.
* ``coarse``: the mean of each 4x4 block, ``[n, H/4, W/4, 1]`` (7x7 for 28x28 images).
"""

from __future__ import annotations

import numpy as np

IMAGE_VIEWS = ("top", "bottom", "lowpass", "highpass", "edges", "coarse")
LOWPASS_SIGMA = 1.5  # pixels
COARSE_BLOCK = 4  # pixels per side of a coarse cell
_CHUNK = 4096  # images blurred per call


def _lowpass(x: np.ndarray) -> np.ndarray:
    from cch_jax.data import _views

    out = [
        np.asarray(_views.gaussian_blur(x[i : i + _CHUNK], LOWPASS_SIGMA))
        for i in range(0, x.shape[0], _CHUNK)
    ]
    return np.concatenate(out).astype(np.float32) if out else x.astype(np.float32)


def _sobel_magnitude(x: np.ndarray) -> np.ndarray:
    p = np.pad(x[..., 0], ((0, 0), (1, 1), (1, 1)))  # zeros outside the image
    h, w = x.shape[1:3]

    def at(dy: int, dx: int) -> np.ndarray:
        return p[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]

    gx = (at(-1, 1) + 2 * at(0, 1) + at(1, 1)) - (at(-1, -1) + 2 * at(0, -1) + at(1, -1))
    gy = (at(1, -1) + 2 * at(1, 0) + at(1, 1)) - (at(-1, -1) + 2 * at(-1, 0) + at(-1, 1))
    return (np.hypot(gx, gy) / (4.0 * np.sqrt(2.0)))[..., None].astype(np.float32)


def image_view(images: np.ndarray, view: str) -> np.ndarray:
    """One derived view of grey images (see the module docstring).

    Args:
      images: ``[n, H, W, 1]`` float in [0, 1]; H and W even (multiples of 4 for 'coarse').
      view: a name in :data:`IMAGE_VIEWS`.

    Returns:
      float32: ``[n, H/2, W, 1]`` (top, bottom), ``[n, H/4, W/4, 1]`` (coarse) or
      ``[n, H, W, 1]`` (lowpass, highpass, edges).

    Raises:
      ValueError: an unknown view, colour images, or sizes the view cannot split.
    """
    if view not in IMAGE_VIEWS:
        raise ValueError(f"view: {view!r} is not one of {', '.join(IMAGE_VIEWS)}")
    x = np.asarray(images, np.float32)
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"images: expected grey [n, H, W, 1], got shape {x.shape}")
    n, h, w, _ = x.shape
    if view in ("top", "bottom"):
        if h % 2:
            raise ValueError(f"images: {view} needs an even height, got {h}")
        return np.ascontiguousarray(x[:, : h // 2] if view == "top" else x[:, h // 2 :])
    if view == "coarse":
        b = COARSE_BLOCK
        if h % b or w % b:
            raise ValueError(f"images: coarse needs sides divisible by {b}, got {h}x{w}")
        return x.reshape(n, h // b, b, w // b, b, 1).mean(axis=(2, 4)).astype(np.float32)
    if view == "edges":
        return _sobel_magnitude(x)
    low = _lowpass(x)
    return low if view == "lowpass" else (x - low).astype(np.float32)
