"""What the trained MI estimators (:func:`cch_jax.mi.mine`, :func:`cch_jax.mi.latent_mi`) share:
checks of their paired inputs and the detection of diverged training.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks

# A value of a training or held-out curve below this (nats) marks a lower-bound estimator's run as
# diverged: a lower bound on a non-negative quantity that far below zero means the critic's scores
# exploded (see cch_jax.mi.MINEResult.diverged).
DIVERGED_BELOW = -1.0


def as_pair(x, y) -> tuple[jax.Array, jax.Array]:
    """x [n, dx] (or [n]) and y [n, dy] (or [n]) as float arrays [n, dx], [n, dy].

    Raises:
      ValueError: non-numeric or (concrete) non-finite data, not 1 or 2 dimensions, mismatched
        rows, or no column; the message starts with the argument's name.
    """
    x = _checks.as_float_array("x", x, ndims=(1, 2))
    y = _checks.as_float_array("y", y, ndims=(1, 2))
    x = x[:, None] if x.ndim == 1 else x
    y = y[:, None] if y.ndim == 1 else y
    _checks.check_same_rows(x=x, y=y)
    for name, a in (("x", x), ("y", y)):
        if a.shape[1] == 0:
            raise ValueError(f"{name}: needs at least one column, got shape {a.shape}")
    return x, y


def split_learning_rate(config):
    """(config with ``learning_rate`` set to 1.0, the learning rate as a float64 NumPy scalar).

    The compiled estimators take the learning rate as a traced argument and the rest of the
    configuration as a static one, so configurations that differ only in their learning rate
    (a user's search over it; a divergence check) share one compiled program. The placeholder 1.0
    keeps the static part hashable and valid; the impl casts the traced value to the parameters'
    dtype, the same rounding a Python float gets (results are bit-identical to a constant).
    """
    return dataclasses.replace(config, learning_rate=1.0), np.float64(config.learning_rate)


def learning_rate_as(learning_rate, config, like: jax.Array):
    """The learning rate an impl trains with: ``config.learning_rate`` (a constant) when
    ``learning_rate`` is None, else the traced value cast to ``like``'s dtype."""
    if learning_rate is None:
        return config.learning_rate
    return jnp.asarray(learning_rate).astype(like.dtype)


def divergence_flag(*curves: jax.Array) -> jax.Array:
    """bool []: any value of the curves (nats, any shapes) is non-finite or below
    ``DIVERGED_BELOW``."""
    ok = jnp.stack([jnp.all(jnp.isfinite(c) & (c >= DIVERGED_BELOW)) for c in curves])
    return ~jnp.all(ok)


def raise_if_diverged(name: str, diverged, estimate, config, what: str) -> None:
    """For concrete results: a ValueError naming ``learning_rate`` when training diverged.

    Args:
      name: the estimator, for the message ("MINE", "latent MI").
      diverged: bool [] (traced values are left alone).
      estimate: the estimate in nats, [].
      config: the estimator's config (its ``learning_rate`` is quoted).
      what: what ``estimate`` is ("held-out bound", "estimate").
    """
    if _checks.is_traced(diverged) or not bool(diverged):
        return
    raise ValueError(
        f"learning_rate: {name} training diverged ({what} {float(estimate):.3g} nats); lower "
        f"learning_rate (now {config.learning_rate:g}) or check the data; pass "
        f"raise_on_divergence=False to get the result with diverged=True instead"
    )
