"""An opt-in XLA:CPU flag that makes the small CNN's convolutions faster (nothing is set on import).

jaxlib 0.10 hands every CPU convolution to YNNPACK by default. For the small CNN's training step
(28x28x1, batch 128, inside the ``lax.scan`` epoch) XLA's other convolution kernels (Eigen) are
faster: 18.1 ms vs 26.4 ms a step on a quiet 2-core CPU, the kernel-gradient convolution above all.
:func:`use_fast_cpu_convolutions` appends
``--xla_cpu_experimental_ynn_fusion_type=-individual_convolution`` (YNNPACK's defaults, convolutions
taken out) to ``XLA_FLAGS``. It changes which library computes convolutions, not what they compute
(float32 either way; only the summation order differs), and nothing on GPU/TPU.

``XLA_FLAGS`` is read once per process, when JAX starts its backends (the first computation or
``jax.devices()``), and it applies to every JAX computation of the process, not only to this
package's. So importing :mod:`cch_jax.kd` never sets it; the ``cch`` command and the benchmarks
call :func:`use_fast_cpu_convolutions` before JAX starts, and a script or notebook may do the same.
It is public as ``cch_jax.kd.use_fast_cpu_convolutions``; this module imports only the standard
library (jaxlib when called), so the ``cch`` command can call it without importing JAX.
"""

from __future__ import annotations

import os
import sys
import warnings

FLAG = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
_NAME = "xla_cpu_experimental_ynn_fusion_type"
_SERIES = "0.10."  # the jaxlib series the flag was measured on (XLA aborts on unknown flags)


def flags_with_eigen_convolutions(xla_flags: str | None, jaxlib_version: str) -> str | None:
    """``XLA_FLAGS`` with :data:`FLAG` appended, or ``None`` when it is to be left as it is.

    Args:
      xla_flags: the current ``XLA_FLAGS`` value (``None`` when unset).
      jaxlib_version: e.g. ``'0.10.2'``.

    Returns:
      The new value, or ``None`` (the flags already name the YNNPACK setting, or another jaxlib
      series).
    """
    if not jaxlib_version.startswith(_SERIES):
        return None
    if xla_flags and _NAME in xla_flags:
        return None
    return f"{xla_flags} {FLAG}" if xla_flags else FLAG


def _backends_started() -> bool:
    if "jax" not in sys.modules:  # JAX not even imported: nothing can have started
        return False
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # a jax without that helper: assume the safe answer
        return True


def use_fast_cpu_convolutions() -> bool:
    """Opts this process into XLA:CPU's Eigen convolutions (faster for the CNN than YNNPACK's).

    Appends ``--xla_cpu_experimental_ynn_fusion_type=-individual_convolution`` to the
    ``XLA_FLAGS`` environment variable. Measured effect: one training step of the small CNN
    (28x28x1 images, batch 128, Adam, inside the scanned epoch) takes 18.1 ms instead of 26.4 ms
    on a quiet 2-core CPU. Results are the same float32 convolutions up to summation order; GPU and
    TPU computations are unaffected. XLA reads ``XLA_FLAGS`` once, when JAX starts its backends,
    and applies it to every computation of the process: call this at the top of a script, before
    any JAX computation (importing ``jax`` or :mod:`cch_jax` is fine). The ``cch`` command calls it
    for you.

    Nothing is changed (and False returned) when

    * ``XLA_FLAGS`` already names ``xla_cpu_experimental_ynn_fusion_type`` (your setting wins; e.g.
      ``--xla_cpu_experimental_ynn_fusion_type=individual_dot``, its default, opts out of the
      ``cch`` command's choice); True if it is exactly this flag, already set;
    * JAX's backends already started (a warning says so: the flag could no longer take effect);
    * jaxlib is not 0.10.x, the series it was measured on (a warning says so: XLA aborts on flags
      it does not know).

    Returns:
      Whether the flag is in effect for this process's XLA:CPU computations from now on.

    Warns:
      RuntimeWarning: when JAX's backends already started or jaxlib is not 0.10.x.
    """
    current = os.environ.get("XLA_FLAGS")
    already = bool(current) and FLAG in current.split()
    if _backends_started():
        if not already:
            warnings.warn(
                "use_fast_cpu_convolutions: JAX's backends already started, so XLA_FLAGS is no "
                "longer read; call it before the first JAX computation (or set XLA_FLAGS="
                f"{FLAG} in the environment)",
                RuntimeWarning,
                stacklevel=2,
            )
        return already
    if already:
        return True
    import jaxlib

    version = jaxlib.__version__
    if not version.startswith(_SERIES):
        warnings.warn(
            f"use_fast_cpu_convolutions: jaxlib {version} is not the {_SERIES}x series the flag "
            "was measured on (XLA aborts on flags it does not know); XLA_FLAGS left as it is",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    new = flags_with_eigen_convolutions(current, version)
    if new is None:  # the user's own YNNPACK setting wins
        return False
    os.environ["XLA_FLAGS"] = new
    return True
