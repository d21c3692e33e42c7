"""Training to convergence: many KD runs as one vmapped program with per-run early stopping.

Built on the pure functions of :func:`cch_jax.kd.make_trainer` (``init`` and ``step``); only the
epoch loop is written here, because each run must (a) read its own input variant and teacher
without copying the data per run, (b) be scored on a validation split after every epoch inside the
compiled loop, and (c) keep its best parameters and freeze once it has stopped.

The rule, the same for every run (no KD, KD, control teacher, teachers themselves):

* after every epoch the run's validation score is computed (accuracy for classification, -MSE for
  regression; higher is better);
* a strictly higher score than the best so far makes the current parameters the run's *best*
  parameters (epoch 0 is the initialisation);
* a run *stops* when its best score has not improved for ``patience`` epochs, or after
  ``max_epochs``; from then on its state is frozen (the program keeps computing it, the result is
  discarded), and its best parameters are what it returns.

The host runs chunks of ``chunk_epochs`` epochs (the last one too: its epochs past ``max_epochs``
are frozen) and ends when every run has stopped. A stopped run stays in the program, frozen, so that
one program serves every chunk; only when chunks are slow (``compact_after_s``) and at most a
quarter of the runs are active is the program re-run on the active runs alone, padded to a power of
two so that few shapes are compiled.

A run is paired with the others of its seed: the seed alone fixes the initialisation
(``trainer.init(jax.random.key(seed))``) and the per-epoch minibatch order (the run's key is split
once per epoch, exactly as :func:`cch_jax.kd.make_trainer`'s ``epoch``), whatever the loss.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.kd import _trainer


@dataclasses.dataclass(frozen=True, kw_only=True)
class StopConfig:
    """The early-stopping rule shared by every run.

    Attributes:
      max_epochs: most epochs a run trains, >= 1.
      patience: epochs without a strict improvement of the validation score before a run stops,
        >= 1.
      chunk_epochs: epochs per compiled chunk (the host checks for stopped runs between chunks),
        >= 1.
    """

    max_epochs: int = 100
    patience: int = 10
    chunk_epochs: int = 5

    def __post_init__(self):
        _checks.check_int("max_epochs", self.max_epochs, minimum=1)
        _checks.check_int("patience", self.patience, minimum=1)
        _checks.check_int("chunk_epochs", self.chunk_epochs, minimum=1)


class RunSpec(NamedTuple):
    """The runs of one program, every field ``[P]``.

    Attributes:
      seed: int, the run's seed (initialisation and minibatch order).
      kd_weight: float in [0, 1] (0: no KD term, the teacher is ignored).
      temperature: float > 0.
      teacher: int, index into the teacher outputs ``[Vt, n, (k)]``.
      data: int, index into the input variants ``[D, n, ...]`` (0 when all runs read one input).
    """

    seed: np.ndarray
    kd_weight: np.ndarray
    temperature: np.ndarray
    teacher: np.ndarray
    data: np.ndarray

    @property
    def size(self) -> int:
        return int(np.shape(self.seed)[0])


def run_spec(seed, kd_weight, temperature, teacher, data=None) -> RunSpec:
    """Builds a :class:`RunSpec` from equal-length sequences (``data`` defaults to zeros).

    Args:
      seed: ``[P]`` integer seeds.
      kd_weight: ``[P]`` KD weights in [0, 1].
      temperature: ``[P]`` temperatures T > 0.
      teacher: ``[P]`` teacher indices.
      data: ``[P]`` data-variant indices (None: zeros).

    Returns:
      :class:`RunSpec` of NumPy arrays.
    """
    seed = np.asarray(seed, np.int64).reshape(-1)
    p = seed.shape[0]
    data = np.zeros(p, np.int64) if data is None else np.asarray(data, np.int64).reshape(-1)
    out = RunSpec(
        seed,
        np.asarray(kd_weight, np.float32).reshape(-1),
        np.asarray(temperature, np.float32).reshape(-1),
        np.asarray(teacher, np.int64).reshape(-1),
        data,
    )
    for name, v in out._asdict().items():
        if v.shape != (p,):
            raise ValueError(f"{name}: expected [{p}] values (one per run), got shape {v.shape}")
    if p < 1:
        raise ValueError("seed: expected at least one run")
    if np.any(seed < 0):
        raise ValueError("seed: seeds must be >= 0")
    if np.any((out.kd_weight < 0) | (out.kd_weight > 1)):
        raise ValueError("kd_weight: values must lie in [0, 1]")
    if np.any(out.temperature <= 0):
        raise ValueError("temperature: values must be > 0")
    return out


class TrainData(NamedTuple):
    """The arrays of one program (host or device).

    Attributes:
      x: ``[D, n, ...]`` training inputs (D input variants of the same n rows).
      y: ``[D, n]`` labels (int classes, or float targets).
      teacher: ``[Vt, n, k]`` teacher logits (``[Vt, n]`` predictions for regression).
      x_val: ``[D, m, ...]`` validation inputs.
      y_val: ``[D, m]`` validation labels.
    """

    x: Any
    y: Any
    teacher: Any
    x_val: Any
    y_val: Any


class Trained(NamedTuple):
    """What :func:`train_runs` returns.

    Attributes:
      params: every run's best parameters, leaves ``[P, ...]``.
      best_epoch: ``[P]`` int, epoch of the best validation score (0: the initialisation).
      epochs: ``[P]`` int, epochs trained before the run stopped.
      best_score: ``[P]`` the best validation score (accuracy in [0, 1], or -MSE).
      val_curve: ``[P, max_epochs]`` validation score after every epoch (NaN once stopped).
      seconds: wall time of the training (compilation included).
    """

    params: Any
    best_epoch: np.ndarray
    epochs: np.ndarray
    best_score: np.ndarray
    val_curve: np.ndarray
    seconds: float


class _RunState(NamedTuple):
    train: Any  # kd TrainState
    best: Any
    best_score: jax.Array
    best_epoch: jax.Array
    since: jax.Array
    epoch: jax.Array
    stopped: jax.Array


def batch_size_for(n_train: int) -> int:
    """The default minibatch size for ``n_train`` fitting rows: min(128, max(8, n // 8)), <= n.

    Args:
      n_train: rows the runs fit on, >= 1.

    Returns:
      The batch size (int).
    """
    n_train = _checks.check_int("n_train", n_train, minimum=1)
    return min(n_train, min(128, max(8, n_train // 8)))


def _score(task: str, out: jax.Array, y: jax.Array) -> jax.Array:
    """Validation score, higher is better: accuracy, or -MSE."""
    if task == "classification":
        return jnp.mean((jnp.argmax(out, axis=-1) == y).astype(jnp.float32))
    return -jnp.mean((out[:, 0] - y) ** 2)


def _select(flag, new, old):
    return jax.tree.map(lambda a, b: jnp.where(flag, a, b), new, old)


@functools.lru_cache(maxsize=32)
def _chunk_program(trainer, stop: StopConfig, n: int, one_input: bool, num_epochs: int):
    """jit of ``(states [P], spec [P], data) -> (states, val scores [P, num_epochs])``."""
    task = trainer.config.loss.task
    bs = trainer.config.batch_size
    steps = n // bs
    shuffle = trainer.config.shuffle

    def one_run(rs: _RunState, spec: RunSpec, data: TrainData):
        hp = _trainer.HParams(spec.kd_weight, spec.temperature, spec.teacher)
        if one_input:  # every run reads the same input: no per-run gather of the variants
            x, y, xv, yv = data.x[0], data.y[0], data.x_val[0], data.y_val[0]
        else:
            x, y, xv, yv = (
                data.x[spec.data],
                data.y[spec.data],
                data.x_val[spec.data],
                data.y_val[spec.data],
            )

        def epoch(rs: _RunState, _):
            st = rs.train
            key, k_perm = jax.random.split(st.key)
            if shuffle:
                perm = jax.random.permutation(k_perm, n)[: steps * bs]
            else:
                perm = jnp.arange(steps * bs)

            def body(s, idx):
                batch = _trainer.Batch(x[idx], y[idx], data.teacher[spec.teacher, idx])
                s, _ = trainer.step(s, batch, hp)
                return s, None

            new, _ = jax.lax.scan(body, st._replace(key=key), perm.reshape(steps, bs))
            score = _score(task, trainer.model.apply(new.params, xv), yv)
            active = jnp.logical_not(rs.stopped)
            improved = jnp.logical_and(active, score > rs.best_score)
            epoch_now = rs.epoch + 1
            since = jnp.where(improved, 0, rs.since + 1)
            stopped = rs.stopped | (since >= stop.patience) | (epoch_now >= stop.max_epochs)
            out = _RunState(
                train=_select(active, new, rs.train),
                best=_select(improved, new.params, rs.best),
                best_score=jnp.where(improved, score, rs.best_score),
                best_epoch=jnp.where(improved, epoch_now, rs.best_epoch),
                since=jnp.where(active, since, rs.since),
                epoch=jnp.where(active, epoch_now, rs.epoch),
                stopped=jnp.where(active, stopped, rs.stopped),
            )
            return out, jnp.where(active, score, jnp.nan)

        return jax.lax.scan(epoch, rs, None, length=num_epochs)

    return jax.jit(jax.vmap(one_run, in_axes=(0, 0, None)))


@functools.lru_cache(maxsize=32)
def _init_program(trainer, task: str, one_input: bool):
    """jit of ``(inits, spec.data [P], data) -> states [P]``: the runs' initial train states
    (:func:`cch_jax.kd._trainer.init_runs`) stacked, and scored on the validation rows (epoch 0)."""

    def one(st, spec_data, data: TrainData):
        if one_input:
            xv, yv = data.x_val[0], data.y_val[0]
        else:
            xv, yv = data.x_val[spec_data], data.y_val[spec_data]
        score = _score(task, trainer.model.apply(st.params, xv), yv)
        zero = jnp.zeros((), jnp.int32)
        return _RunState(st, st.params, score, zero, zero, zero, jnp.zeros((), bool))

    def program(inits, spec_data, data: TrainData):
        states = _trainer.stack_states(inits)
        return jax.vmap(one, in_axes=(0, 0, None))(states, spec_data, data)

    return jax.jit(program)


def _bucket(active: int, current: int) -> int:
    """The program size for ``active`` runs: ``current`` until at most a quarter of it is active,
    then the next power of two >= active (at least 4), so that only a few sizes compile."""
    if active > current // 4 or current <= 4:
        return current
    return min(current, max(4, 1 << math.ceil(math.log2(max(active, 1)))))


def check_train_data(data: TrainData, spec: RunSpec, *, task: str) -> None:
    """Checks the shapes of a program's arrays against its runs (before any training).

    Args:
      data: :class:`TrainData` (host arrays).
      spec: :class:`RunSpec`.
      task: 'classification' or 'regression'.
    """
    d, n = np.shape(data.x)[:2]
    if np.shape(data.y) != (d, n):
        raise ValueError(f"y: expected [{d}, {n}] labels, got shape {np.shape(data.y)}")
    if np.shape(data.x_val)[0] != d or np.shape(data.x_val)[2:] != np.shape(data.x)[2:]:
        raise ValueError(
            f"x_val: expected [{d}, m, {np.shape(data.x)[2:]}], got {np.shape(data.x_val)}"
        )
    if np.shape(data.y_val) != np.shape(data.x_val)[:2]:
        raise ValueError(f"y_val: expected {np.shape(data.x_val)[:2]}, got {np.shape(data.y_val)}")
    want = 3 if task == "classification" else 2
    if np.ndim(data.teacher) != want or np.shape(data.teacher)[1] != n:
        raise ValueError(
            f"teacher: expected [Vt, {n}{', k' if want == 3 else ''}] outputs, got "
            f"{np.shape(data.teacher)}"
        )
    if np.any(spec.teacher < 0) or np.any(spec.teacher >= np.shape(data.teacher)[0]):
        raise ValueError(f"teacher: indices must lie in [0, {np.shape(data.teacher)[0]})")
    if np.any(spec.data < 0) or np.any(spec.data >= d):
        raise ValueError(f"data: indices must lie in [0, {d})")


def train_runs(
    trainer,
    data: TrainData,
    spec: RunSpec,
    *,
    stop: StopConfig,
    compact_after_s: float = 2.0,
    progress: Callable[[str], None] | None = None,
) -> Trained:
    """Trains every run of ``spec`` to convergence under the early-stopping rule (module docstring).

    Args:
      trainer: a :class:`cch_jax.kd.Trainer` (``make_trainer(config, num_examples=n)``); its
        config's ``epochs`` and schedule should not depend on the number of epochs (use a constant
        schedule: runs stop at different epochs).
      data: :class:`TrainData` of n training and m validation rows.
      spec: :class:`RunSpec` of P runs.
      stop: :class:`StopConfig`.
      compact_after_s: stopped runs are dropped from later chunks (a smaller program, compiled
        once per size) only when a chunk takes longer than this many seconds after compilation;
        for small problems the compilations would cost more than the computing they save.
      progress: called with a short line after every chunk (or None).

    Returns:
      :class:`Trained` (best parameters ``[P, ...]`` and epoch counts).
    """
    _checks.check_instance("stop", stop, StopConfig)
    task = trainer.config.loss.task
    check_train_data(data, spec, task=task)
    t0 = time.perf_counter()
    one_input = int(np.shape(data.x)[0]) == 1
    ydtype = jnp.int32 if task == "classification" else jnp.float32
    dev = TrainData(
        jnp.asarray(data.x, jnp.float32),
        jnp.asarray(data.y, ydtype),
        jnp.asarray(data.teacher, jnp.float32),
        jnp.asarray(data.x_val, jnp.float32),
        jnp.asarray(data.y_val, ydtype),
    )
    n = int(dev.x.shape[1])
    p = spec.size
    jspec = RunSpec(
        jnp.asarray(spec.seed, jnp.int32),
        jnp.asarray(spec.kd_weight, jnp.float32),
        jnp.asarray(spec.temperature, jnp.float32),
        jnp.asarray(spec.teacher, jnp.int32),
        jnp.asarray(spec.data, jnp.int32),
    )
    inits = _trainer.init_runs(trainer, spec.seed)
    states = _init_program(trainer, task, one_input)(inits, jspec.data, dev)
    curve = np.full((p, stop.max_epochs), np.nan, np.float32)
    # every chunk has the same length, the last one too: epochs past max_epochs are frozen inside
    # the program (a run stops at max_epochs), which costs less than compiling a shorter chunk
    chunk = min(stop.chunk_epochs, stop.max_epochs)
    program = _chunk_program(trainer, stop, n, one_input, chunk)
    done = 0
    size = p
    chunk_seconds: dict[int, list[float]] = {}
    while True:
        stopped = np.asarray(states.stopped)
        active = np.flatnonzero(~stopped)
        if active.size == 0 or done >= stop.max_epochs:
            break
        steady = chunk_seconds.get(size, [])[1:]  # the first call of a size includes compiling
        if steady and min(steady) > compact_after_s:
            size = _bucket(active.size, size)
        t_chunk = time.perf_counter()
        if size == p:  # every run: the stopped ones are frozen inside the program
            rows = np.arange(p)
            states, scores = program(states, jspec, dev)
        else:  # the active runs, padded with copies of the first (their results are dropped)
            rows = active
            pad = size - active.size
            sub, sub_spec = _take((states, jspec), jnp.asarray(np.pad(active, (0, pad), "edge")))
            sub, scores = program(sub, sub_spec, dev)
            dest = np.concatenate([active, np.full(pad, p)])  # index p: out of bounds, dropped
            states = _put(states, sub, jnp.asarray(dest))
        scores = np.asarray(scores)[: rows.size]  # waits for the chunk
        chunk_seconds.setdefault(size, []).append(time.perf_counter() - t_chunk)
        # every active run started this chunk at epoch `done` (runs only leave, never lag);
        # a stopped run's scores are NaN
        for j, r in enumerate(rows):
            for e in range(chunk):
                if np.isfinite(scores[j, e]) and done + e < stop.max_epochs:
                    curve[r, done + e] = scores[j, e]
        done += chunk
        if progress is not None:
            left = int((~np.asarray(states.stopped)).sum())
            progress(f"epoch {done}: {left}/{p} runs still training (program of {size})")
    return Trained(
        params=states.best,
        best_epoch=np.asarray(states.best_epoch),
        epochs=np.asarray(states.epoch),
        best_score=np.asarray(states.best_score),
        val_curve=curve,
        seconds=time.perf_counter() - t0,
    )


@jax.jit
def _take(tree, idx):
    """The runs ``idx`` of every leaf (one compiled gather per shape, not one per leaf)."""
    return jax.tree.map(lambda a: a[idx], tree)


@jax.jit
def _put(tree, sub, idx):
    """``tree`` with runs ``idx`` replaced by ``sub``'s rows; an index past the end is dropped."""
    return jax.tree.map(lambda a, b: a.at[idx].set(b, mode="drop"), tree, sub)


def apply_runs(apply, params, x, *, chunk: int = 1024) -> np.ndarray:
    """Every run's outputs on the same inputs: ``apply`` vmapped over the runs' parameters.

    Args:
      apply: ``(params, x [b, ...]) -> [b, k]`` (a model's ``apply`` or ``features``).
      params: parameters with leaves ``[P, ...]``.
      x: ``[n, ...]`` inputs shared by every run.
      chunk: rows per call.

    Returns:
      ``[P, n, k]`` float32 (NumPy).
    """
    f = _vmapped(apply)
    x = np.asarray(x, np.float32)
    parts = [np.asarray(f(params, jnp.asarray(x[i : i + chunk]))) for i in range(0, len(x), chunk)]
    return np.concatenate(parts, axis=1)


@functools.lru_cache(maxsize=32)
def _vmapped(apply):
    return jax.jit(jax.vmap(apply, in_axes=(0, None)))


def take_run(params, i: int):
    """The parameters of run ``i`` (leaves ``[P, ...]`` -> ``[...]``)."""
    return jax.tree.map(lambda a: a[i], params)
