"""One XLA:CPU flag for the CNN's convolutions, set when ``cch_jax.kd`` is imported.

jaxlib 0.10 hands every CPU convolution to YNNPACK by default. For the small CNN's training step
(28x28x1, batch 128, inside the ``lax.scan`` epoch) XLA's other convolution kernels (Eigen) are
faster: 18.1 ms vs 26.4 ms a step on a quiet 2-core CPU, the kernel-gradient convolution above all.
So importing ``cch_jax.kd`` appends ``--xla_cpu_experimental_ynn_fusion_type=-individual_convolution``
(YNNPACK's defaults, convolutions taken out) to ``XLA_FLAGS``. It changes which library computes
convolutions, not what they compute (float32 either way; only the summation order differs), and
nothing on GPU/TPU.

The flag is left alone when

* ``XLA_FLAGS`` already names ``xla_cpu_experimental_ynn_fusion_type`` (your setting wins; set it
  to its default, e.g. ``--xla_cpu_experimental_ynn_fusion_type=individual_dot``, to opt out);
* JAX's backends already started before ``cch_jax.kd`` was imported (XLA reads its flags once);
* jaxlib is not 0.10.x, the series it was measured on (XLA aborts on flags it does not know).
"""

from __future__ import annotations

import os

import jaxlib

FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
_NAME = "xla_cpu_experimental_ynn_fusion_type"


def flags_with_eigen_convolutions(xla_flags: str | None, jaxlib_version: str) -> str | None:
    """``XLA_FLAGS`` with :data:`FLAG` appended, or ``None`` when it is to be left as it is.

    Args:
      xla_flags: the current ``XLA_FLAGS`` value (``None`` when unset).
      jaxlib_version: e.g. ``'0.10.2'``.

    Returns:
      The new value, or ``None`` (the user names the flag already, or another jaxlib series).
    """
    if not jaxlib_version.startswith("0.10."):
        return None
    if xla_flags and _NAME in xla_flags:
        return None
    return f"{xla_flags} {FLAG}" if xla_flags else FLAG


def _backends_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # a jax without that helper: assume the safe answer
        return True


def use_eigen_convolutions() -> bool:
    """Appends :data:`FLAG` to ``XLA_FLAGS`` if that can still take effect; returns whether it did."""
    if _backends_started():
        return False
    new = flags_with_eigen_convolutions(os.environ.get("XLA_FLAGS"), jaxlib.__version__)
    if new is None:
        return False
    os.environ["XLA_FLAGS"] = new
    return True
