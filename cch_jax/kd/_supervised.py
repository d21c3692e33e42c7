"""Supervised training without a teacher: the cross-entropy (or squared-error) runs of a sweep.

Teachers, pre-KD student encoders and no-KD baselines read no teacher, so they are trained here
rather than by :func:`cch_jax.kd.fit` with a fake teacher. A run here makes exactly the choices a
:func:`~cch_jax.kd.fit` run of the same seed makes (the same parameter initialisation, the same
per-epoch shuffling keys, the same optimizer), so a no-KD baseline from :func:`fit_supervised` and
a KD student from :func:`~cch_jax.kd.fit` of one seed are paired: they differ only in the loss.

Several inputs of one shape (e.g. one image set blurred at several levels) train as variants of one
vmapped program: runs are seeds x variants.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.kd._config import TrainConfig
from cch_jax.kd._models import make_model
from cch_jax.kd._trainer import make_optimizer


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


def _per_example(task: str, out: jax.Array, y: jax.Array):
    if task == "classification":
        loss = -jnp.take_along_axis(jax.nn.log_softmax(out), y[:, None], axis=-1)[:, 0]
        score = (jnp.argmax(out, axis=-1) == y).astype(out.dtype)
    else:
        loss = (out[:, 0] - y) ** 2
        score = loss
    return loss, score


@functools.lru_cache(maxsize=16)
def _program(config: TrainConfig, num_examples: int):
    """The jitted ``(keys [P], variant [P], x [V, n, ...], y [n]) -> (params, loss, score)``.

    Each run gathers its minibatches from its variant (``x[v, idx]``), so the data are never
    copied per run."""
    model = make_model(config.model)
    bs = config.batch_size
    steps = num_examples // bs
    tx = make_optimizer(config, steps * config.epochs)
    task = config.loss.task

    def one(key, v, x, y):
        k_init, k_run = jax.random.split(key)  # as kd.make_trainer's init: paired with kd.fit
        params = model.init(k_init)
        opt_state = tx.init(params)

        def step(carry, idx):
            params, opt_state = carry

            def loss_fn(p):
                loss, score = _per_example(task, model.apply(p, x[v, idx]), y[idx])
                return jnp.mean(loss), (loss, score)

            (_, (loss, score)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = jax.tree.map(jnp.add, params, updates)
            return (params, opt_state), (jnp.sum(loss), jnp.sum(score))

        def epoch(carry, _):
            params, opt_state, key = carry
            key, k_perm = jax.random.split(key)
            if config.shuffle:
                perm = jax.random.permutation(k_perm, num_examples)[: steps * bs]
            else:
                perm = jnp.arange(steps * bs)
            (params, opt_state), (loss, score) = jax.lax.scan(
                step, (params, opt_state), perm.reshape(steps, bs)
            )
            denom = steps * bs
            return (params, opt_state, key), (jnp.sum(loss) / denom, jnp.sum(score) / denom)

        (params, _, _), (loss, score) = jax.lax.scan(
            epoch, (params, opt_state, k_run), None, length=config.epochs
        )
        return params, loss, score

    return jax.jit(jax.vmap(one, in_axes=(0, 0, None, None)))


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
        seed s of :func:`cch_jax.kd.fit`.
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
    keys = jax.vmap(jax.random.key)(jnp.asarray(seed_col))
    fn = _program(config, n)
    params, loss, score = fn(keys, jnp.asarray(variant_col), xs, yj)
    return SupervisedResult(
        params=params,
        loss=np.asarray(loss),
        score=np.asarray(score),
        grid={"seed": seed_col, "variant": variant_col},
    )
