"""Supervised training without a teacher: the cross-entropy (or squared-error) runs of a sweep.

Teachers, pre-KD student encoders and no-KD baselines read no teacher. They are trained by the KD
trainer itself, built without its KD term (``make_trainer(..., distill=False)``: teacher outputs
are never read; an empty placeholder fills ``KDData.teacher_output``): the same ``init``, epoch
loop, shuffling and optimizer as :func:`cch_jax.kd.fit`. So a no-KD baseline from :func:`fit_supervised` and a KD student from
:func:`~cch_jax.kd.fit` of one seed are paired: they start from the same parameters, see the same
minibatches in the same order and differ only in the loss.

Several inputs of one shape (e.g. one image set blurred at several levels) train as variants of one
vmapped program: runs are seeds x variants. The seeds axis is a vmap over keys and the variants
axis a vmap over the inputs' leading axis, so the inputs are never copied per run.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.kd._config import TrainConfig
from cch_jax.kd._data import KDData
from cch_jax.kd._trainer import HParams, make_trainer


class SupervisedResult(NamedTuple):
    """What :func:`fit_supervised` returns.

    Attributes:
      params: the trained parameters, every leaf with a leading run axis ``[P, ...]``.
      loss: ``[P, epochs]`` mean training loss per epoch (CE in nats, or squared error).
      score: ``[P, epochs]`` training accuracy per epoch (classification) or MSE (regression).
      grid: the run axis: ``{'seed', 'variant'}`` -> ``[P]`` int arrays (variant fastest).
    """

    params: Any
    loss: np.ndarray
    score: np.ndarray
    grid: dict[str, np.ndarray]


# The trainer without a teacher reads neither of these; they only fill the trainer's signature.
_NO_TEACHER = HParams(kd_weight=0.0, temperature=1.0, teacher=0)


@functools.lru_cache(maxsize=16)
def _program(config: TrainConfig, num_examples: int):
    """The jitted ``(keys [S], x [V, n, ...], y [n]) -> (params, loss, score)``, each ``[S, V, ...]``.

    One run is ``init`` then ``run_epochs`` of the KD trainer built with ``distill=False``."""
    trainer = make_trainer(config, num_examples=num_examples, distill=False)

    def one(key, x, y):  # one seed, one variant: x [n, ...]
        data = KDData(student_input=x, label=y, teacher_output=jnp.zeros((1, 0), x.dtype))
        state, metrics = trainer.run_epochs(trainer.init(key), data, _NO_TEACHER, config.epochs)
        return state.params, metrics.loss, metrics.score

    over_variants = jax.vmap(one, in_axes=(None, 0, None))
    return jax.jit(jax.vmap(over_variants, in_axes=(0, None, None)))


def fit_supervised(
    config: TrainConfig,
    x,
    y,
    *,
    seeds: tuple[int, ...] = (0,),
    variants: bool = False,
) -> SupervisedResult:
    """Trains networks on labels only (no teacher, no KD term), seeds x variants in one program.

    Args:
      config: the :class:`TrainConfig` (its ``loss`` gives only the task; kd_weight and
        temperature are not used).
      x: inputs ``[n, *input_shape]``, or ``[V, n, *input_shape]`` when ``variants`` is True
        (e.g. one image set at V blur levels).
      y: ``[n]`` integer classes (classification) or floats (regression).
      seeds: integer seeds >= 0; seed s gives the same initialisation and minibatch order as
        seed s of :func:`cch_jax.kd.fit` (the same trainer, without its KD term), so with
        kd_weight 0 ``fit`` trains the same weights up to float rounding.
      variants: whether ``x`` carries a leading axis of input variants.

    Returns:
      :class:`SupervisedResult` with runs ordered seeds x variants (variant fastest).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config: expected a TrainConfig, got {type(config).__name__}")
    seeds = _checks.check_int_tuple("seeds", seeds, minimum=0)
    if not seeds:
        raise ValueError("seeds: expected at least one seed")
    variants = _checks.check_bool("variants", variants)
    xs = _checks.as_float_array("x", x)
    if not variants:
        xs = xs[None]
    if xs.ndim < 3:
        raise ValueError(f"x: expected [{'V, ' if variants else ''}n, ...], got shape {x.shape}")
    if tuple(xs.shape[2:]) != config.model.input_shape:
        raise ValueError(
            f"x: examples of shape {tuple(xs.shape[2:])} do not match model.input_shape "
            f"{config.model.input_shape}"
        )
    y_np = np.asarray(y)
    if y_np.ndim != 1 or y_np.shape[0] != xs.shape[1]:
        raise ValueError(f"y: expected [{xs.shape[1]}] labels, got shape {y_np.shape}")
    n = int(y_np.shape[0])
    if config.batch_size > n:
        raise ValueError(f"batch_size: {config.batch_size} exceeds the {n} training examples")
    if config.loss.task == "classification":
        if not np.issubdtype(y_np.dtype, np.integer):
            raise ValueError(f"y: classification needs integer classes, got dtype {y_np.dtype}")
        if y_np.min() < 0 or y_np.max() >= config.model.num_outputs:
            raise ValueError(
                f"y: classes must lie in [0, {config.model.num_outputs}), got range "
                f"[{y_np.min()}, {y_np.max()}]"
            )
        yj = jnp.asarray(y_np, jnp.int32)
    else:
        yj = _checks.as_float_array("y", y_np)
    num_variants = int(xs.shape[0])
    seed_col = np.repeat(np.asarray(seeds, np.int64), num_variants)
    variant_col = np.tile(np.arange(num_variants, dtype=np.int64), len(seeds))
    keys = jax.vmap(jax.random.key)(jnp.asarray(seeds))
    params, loss, score = _program(config, n)(keys, xs, yj)

    def runs(a):  # [S, V, ...] -> [S * V, ...], variant fastest
        return a.reshape(-1, *a.shape[2:])

    return SupervisedResult(
        params=jax.tree.map(runs, params),
        loss=np.asarray(runs(loss)),
        score=np.asarray(runs(score)),
        grid={"seed": seed_col, "variant": variant_col},
    )
