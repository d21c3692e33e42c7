"""The functional KD trainer: pure ``init``/``step``/``run_epochs`` over an explicit state.

One run is written for one student; a sweep (seeds x kd_weights x temperatures x teachers) is
``jax.vmap`` of the same functions (see :func:`cch_jax.kd.fit` in ``_fit.py``). Epochs are
``jax.lax.scan`` over minibatches of on-device arrays, shuffled with the run's own key; the frozen
teacher enters only through precomputed outputs.

This is the only training loop of the package: supervised training without a teacher
(:func:`cch_jax.kd.fit_supervised`) is the same trainer built with ``distill=False``, so a no-KD
run and a KD run of one seed share their initialisation and minibatch order by construction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cch_jax import _checks
from cch_jax.kd._config import TrainConfig
from cch_jax.kd._data import KDData
from cch_jax.kd._losses import (
    batch_classification_kd_terms,
    batch_regression_kd_terms,
    cross_entropy,
)
from cch_jax.kd._models import Model, make_model


class TrainState(NamedTuple):
    """Everything that changes during training (and goes into a checkpoint).

    Attributes:
      params: the student's parameter pytree.
      opt_state: the optax optimizer state.
      step: int32 scalar, optimizer steps taken.
      key: the run's PRNG key (split once per epoch for shuffling).
    """

    params: Any
    opt_state: Any
    step: jax.Array
    key: jax.Array


class HParams(NamedTuple):
    """The swept, traced hyperparameters of one run (scalars; ``[P]`` across a sweep).

    Attributes:
      kd_weight: in [0, 1], the weight on the KD term.
      temperature: T > 0 (ignored for regression).
      teacher: int32 index of the teacher variant in ``KDData.teacher_output``.
    """

    kd_weight: jax.Array
    temperature: jax.Array
    teacher: jax.Array


class Metrics(NamedTuple):
    """Per-example means over an epoch (or an evaluation set); per-example ``[b]`` inside a step.

    Without a teacher (``make_trainer(..., distill=False)``) ``loss`` equals ``supervised`` and
    ``kd`` and ``agreement`` are 0.

    Attributes:
      loss: the minimised KD loss.
      supervised: CE(y, student) in nats (classification) or (y - yhat)^2 (regression).
      kd: T^2 KL(teacher_T || student_T) in nats, or (t - yhat)^2.
      score: accuracy, the fraction of correct argmax predictions (classification), or the MSE
        (y - yhat)^2 (regression; equal to ``supervised``, kept so both tasks have a score).
      agreement: teacher-student agreement: the fraction of examples where the student's argmax
        equals the teacher's (classification), or the mean squared distance (t - yhat)^2
        (regression; lower is closer).
    """

    loss: jax.Array
    supervised: jax.Array
    kd: jax.Array
    score: jax.Array
    agreement: jax.Array


class Batch(NamedTuple):
    """A minibatch: student inputs ``[b, ...]``, labels ``[b]``, teacher outputs ``[b, (k)]``
    (``None`` for a trainer without a teacher)."""

    student_input: jax.Array
    label: jax.Array
    teacher_output: jax.Array


class Trainer(NamedTuple):
    """Pure functions of one run; vmap them for a sweep.

    Attributes:
      init: ``key -> TrainState``.
      step: ``(state, batch, hparams) -> (state, per-example Metrics [b])``.
      epoch: ``(state, data, hparams) -> (state, Metrics)`` one shuffled pass.
      run_epochs: ``(state, data, hparams, num_epochs) -> (state, Metrics [num_epochs])``.
      evaluate: ``(params, data, hparams) -> Metrics`` on every example (no update).
      model: the student :class:`Model`.
      config: the :class:`TrainConfig`.
      steps_per_epoch: number of minibatches per epoch (n // batch_size).
    """

    init: Callable
    step: Callable
    epoch: Callable
    run_epochs: Callable
    evaluate: Callable
    model: Model
    config: TrainConfig
    steps_per_epoch: int


def make_optimizer(config: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """The optax optimizer (with its schedule) described by ``config``.

    Args:
      config: its ``optimizer`` ('sgd', 'momentum': Nesterov with ``momentum``, or 'adam'),
        ``learning_rate`` and ``schedule`` ('cosine' decays to 0 over ``total_steps``).
      total_steps: optimizer steps of the whole run (steps per epoch x epochs), >= 0.

    Returns:
      An ``optax.GradientTransformation``.
    """
    lr: Any = config.learning_rate
    if config.schedule == "cosine":
        lr = optax.cosine_decay_schedule(config.learning_rate, decay_steps=max(total_steps, 1))
    if config.optimizer == "sgd":
        return optax.sgd(lr)
    if config.optimizer == "momentum":
        return optax.sgd(lr, momentum=config.momentum, nesterov=True)
    return optax.adam(lr)


def _per_example(task: str, outputs, teacher, labels, hp: HParams, *, distill: bool) -> Metrics:
    """Per-example loss terms and the 0/1 metrics for a batch: every field ``[b]``.

    ``distill=False``: the label term alone; ``teacher`` and ``hp`` are not read."""
    if not distill:
        if task == "classification":
            sup = jax.vmap(cross_entropy)(outputs, labels)
            score = (jnp.argmax(outputs, axis=-1) == labels).astype(outputs.dtype)
        else:
            sup = (labels - outputs[:, 0]) ** 2
            score = sup
        zero = jnp.zeros_like(sup)
        return Metrics(sup, sup, zero, score, zero)
    if task == "classification":
        terms = batch_classification_kd_terms(
            outputs, teacher, labels, kd_weight=hp.kd_weight, temperature=hp.temperature
        )
        pred = jnp.argmax(outputs, axis=-1)
        acc = (pred == labels).astype(outputs.dtype)
        agree = (pred == jnp.argmax(teacher, axis=-1)).astype(outputs.dtype)
    else:
        yhat = outputs[:, 0]
        terms = batch_regression_kd_terms(yhat, teacher, labels, kd_weight=hp.kd_weight)
        acc, agree = terms.supervised, terms.kd
    return Metrics(terms.total, terms.supervised, terms.kd, acc, agree)


def make_trainer(
    config: TrainConfig,
    *,
    num_examples: int,
    optimizer: optax.GradientTransformation | None = None,
    distill: bool = True,
) -> Trainer:
    """Builds the pure trainer functions for ``config`` and a training set of ``num_examples``.

    Args:
      config: a validated :class:`TrainConfig`.
      num_examples: training-set size n (fixes steps per epoch and the schedule length).
      optimizer: an optax transformation replacing the one ``config`` describes (e.g. one whose
        step size is computed from the data, inside a traced function).
      distill: True for the KD loss of ``config.loss`` with the swept :class:`HParams`; False for
        supervised training on labels alone (what :func:`cch_jax.kd.fit_supervised` runs):
        ``KDData.teacher_output`` and the hparams are then never read, and the initialisation,
        shuffling and optimizer are those of the KD trainer.

    Returns:
      :class:`Trainer`.
    """
    distill = _checks.check_bool("distill", distill)
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 1:
        raise ValueError(f"num_examples: expected a positive integer, got {num_examples!r}")
    if config.batch_size > num_examples:
        raise ValueError(
            f"batch_size: {config.batch_size} exceeds the {num_examples} training examples"
        )
    task = config.loss.task
    model = make_model(config.model)
    steps_per_epoch = num_examples // config.batch_size
    tx = (
        optimizer
        if optimizer is not None
        else make_optimizer(config, steps_per_epoch * config.epochs)
    )
    full_batch = config.batch_size == num_examples and not config.shuffle
    bs = config.batch_size

    def init(key: jax.Array) -> TrainState:
        k_init, k_run = jax.random.split(key)
        params = model.init(k_init)
        return TrainState(params, tx.init(params), jnp.zeros((), jnp.int32), k_run)

    def step(state: TrainState, batch: Batch, hp: HParams):
        def loss_fn(params):
            out = model.apply(params, batch.student_input)
            per = _per_example(task, out, batch.teacher_output, batch.label, hp, distill=distill)
            return jnp.mean(per.loss), per

        (_, per), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(params, opt_state, state.step + 1, state.key), per

    def teacher(data: KDData, hp: HParams, idx=None):
        if not distill:
            return None
        return (
            data.teacher_output[hp.teacher] if idx is None else data.teacher_output[hp.teacher, idx]
        )

    def gather(data: KDData, idx, hp: HParams) -> Batch:
        return Batch(data.student_input[idx], data.label[idx], teacher(data, hp, idx))

    def epoch(state: TrainState, data: KDData, hp: HParams):
        if full_batch:  # one step on the data as stored: no gather, no copy, no randomness
            batch = Batch(data.student_input, data.label, teacher(data, hp))
            state, per = step(state, batch, hp)
            return state, jax.tree.map(jnp.mean, per)
        key, k_perm = jax.random.split(state.key)
        n = data.label.shape[0]
        if config.shuffle:
            perm = jax.random.permutation(k_perm, n)[: steps_per_epoch * bs]
        else:
            perm = jnp.arange(steps_per_epoch * bs)
        idx = perm.reshape(steps_per_epoch, bs)

        def body(st, i):
            st, per = step(st, gather(data, i, hp), hp)
            return st, jax.tree.map(jnp.sum, per)

        state, sums = jax.lax.scan(body, state._replace(key=key), idx)
        metrics = jax.tree.map(lambda s: jnp.sum(s) / (steps_per_epoch * bs), sums)
        return state, metrics

    def run_epochs(state: TrainState, data: KDData, hp: HParams, num_epochs: int):
        return jax.lax.scan(lambda st, _: epoch(st, data, hp), state, None, length=num_epochs)

    def evaluate(params, data: KDData, hp: HParams) -> Metrics:
        out = model.apply(params, data.student_input)
        per = _per_example(task, out, teacher(data, hp), data.label, hp, distill=distill)
        return jax.tree.map(jnp.mean, per)

    return Trainer(init, step, epoch, run_epochs, evaluate, model, config, steps_per_epoch)


@functools.lru_cache(maxsize=64)
def _seed_init(trainer: Trainer):
    return jax.jit(lambda seed: trainer.init(jax.random.key(seed)))


def init_runs(trainer: Trainer, seeds) -> list[TrainState]:
    """Each run's initial state, ``trainer.init(jax.random.key(seed))``, one per seed.

    One jitted single-run program per trainer, called once per distinct seed: the random
    initialisation is most of an init program's compile time, and this one compiles once whatever
    the number of runs (a vmapped init recompiled for every run count).

    Args:
      trainer: a :class:`Trainer`.
      seeds: ``[P]`` integer seeds >= 0.

    Returns:
      ``P`` :class:`TrainState` (runs of one seed share the same one).
    """
    init, by_seed = _seed_init(trainer), {}
    out = []
    for s in np.asarray(seeds).astype(np.int32).reshape(-1).tolist():
        if s not in by_seed:
            by_seed[s] = init(np.int32(s))
        out.append(by_seed[s])
    return out


def stack_states(states):
    """``P`` pytrees of one structure (e.g. :func:`init_runs`' states) as one with leaves
    ``[P, ...]``; traceable (the KD drivers call it inside their jitted programs)."""
    return jax.tree.map(lambda *a: jnp.stack(a), *states)
