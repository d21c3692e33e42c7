"""Running a sweep: seeds x kd_weights x temperatures x teachers as one vmapped, sharded program.

The host loop only strings compiled chunks of epochs together: between chunks it reports progress
and writes checkpoints, and a KeyboardInterrupt there saves the last finished state before leaving.
When several devices are visible, the sweep axis is sharded across them (``jax.sharding``) and the
data replicated; the same code runs on one CPU, a multi-GPU host or a TPU slice.
"""

from __future__ import annotations

import functools
import itertools
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from cch_jax import _checks
from cch_jax.kd._checkpoint import Checkpointer
from cch_jax.kd._config import SweepConfig, TrainConfig
from cch_jax.kd._data import KDData
from cch_jax.kd._trainer import (
    HParams,
    Metrics,
    TrainState,
    init_runs,
    make_trainer,
    stack_states,
)


class Progress(NamedTuple):
    """What a progress callback receives after each compiled chunk.

    Attributes:
      epoch: epochs finished so far.
      epochs: epochs in the whole run.
      metrics: the last epoch's :class:`Metrics`, averaged over the sweep (floats).
      seconds: wall time since the run (or resumption) started.
    """

    epoch: int
    epochs: int
    metrics: Metrics
    seconds: float


class FitResult(NamedTuple):
    """A finished (or resumed-to-the-end) sweep.

    Attributes:
      state: the final :class:`TrainState`, every leaf with a leading run axis ``[P, ...]``.
      history: :class:`Metrics` per run and epoch, each field ``[P, epochs]`` (numpy).
      grid: the run axis: ``{'seed', 'kd_weight', 'temperature', 'teacher'}`` -> ``[P]`` arrays.
      diverged: ``[P]`` bool: the run's training loss became non-finite or exceeded
        ``DIVERGED_GROWTH`` (1000) times the loss of a constant predictor (zero logits, or zero
        prediction for regression), or its final parameters are non-finite.
        :func:`fit` also warns (:class:`cch_jax.DivergenceWarning`) naming such runs.
    """

    state: TrainState
    history: Metrics
    grid: dict[str, np.ndarray]
    diverged: np.ndarray

    def table(self) -> list[dict]:
        """Tidy rows, one per run x epoch, with the grid values and every metric."""
        rows = []
        num_runs, epochs = self.history.loss.shape
        for r in range(num_runs):
            for e in range(epochs):
                row = {k: v[r].item() for k, v in self.grid.items()}
                row["epoch"] = e + 1
                row.update({f: float(getattr(self.history, f)[r, e]) for f in Metrics._fields})
                rows.append(row)
        return rows


# A run whose loss exceeds this multiple of a constant predictor's loss has diverged.
DIVERGED_GROWTH = 1000.0


def reference_loss(config: TrainConfig, data: KDData, grid: dict[str, np.ndarray]) -> np.ndarray:
    """[P] the loss of the constant predictor (zero logits / zero prediction) for each run: a
    scale no sane training run exceeds by orders of magnitude."""
    teacher = np.asarray(data.teacher_output, np.float64)
    w = grid["kd_weight"].astype(np.float64)
    if config.loss.task == "regression":
        y2 = float(np.mean(np.asarray(data.label, np.float64) ** 2))
        t2 = np.mean(teacher**2, axis=1)[grid["teacher"]]
        return (1 - w) * y2 + w * t2
    k = teacher.shape[-1]
    out = np.empty(len(w))
    for r, (temp, v) in enumerate(zip(grid["temperature"], grid["teacher"], strict=True)):
        z = teacher[v] / float(temp)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        kl = np.mean(np.sum(np.exp(logp) * (logp + np.log(k)), axis=1))
        out[r] = (1 - w[r]) * np.log(k) + w[r] * float(temp) ** 2 * kl
    return out


def divergence(history: Metrics, state: TrainState, reference: np.ndarray) -> np.ndarray:
    """[P] bool: non-finite parameters or loss, or a loss above DIVERGED_GROWTH x ``reference``."""
    loss = np.asarray(history.loss, np.float64)
    bad = ~np.isfinite(loss).all(axis=1)
    with np.errstate(invalid="ignore"):
        bad |= np.nanmax(np.abs(loss), axis=1, initial=0.0) > DIVERGED_GROWTH * np.maximum(
            reference, 1e-6
        )
    for leaf in jax.tree.leaves(state.params):
        arr = np.asarray(leaf)
        if np.issubdtype(arr.dtype, np.floating):
            bad |= ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
    return bad


def sweep_grid(sweep: SweepConfig, num_teachers: int) -> dict[str, np.ndarray]:
    """The flattened run axis, seeds x kd_weights x temperatures x teachers (teacher fastest).

    Args:
      sweep: the :class:`SweepConfig` (seeds, kd_weights, temperatures).
      num_teachers: V, the number of teacher variants in the data.

    Returns:
      ``{'seed': int64, 'kd_weight': float32, 'temperature': float32, 'teacher': int32}``, each
      ``[P]`` with P = seeds x kd_weights x temperatures x V.
    """
    combos = list(
        itertools.product(sweep.seeds, sweep.kd_weights, sweep.temperatures, range(num_teachers))
    )
    cols = list(zip(*combos, strict=True))
    return {
        "seed": np.asarray(cols[0], np.int64),
        "kd_weight": np.asarray(cols[1], np.float32),
        "temperature": np.asarray(cols[2], np.float32),
        "teacher": np.asarray(cols[3], np.int32),
    }


def print_progress(p: Progress) -> None:
    """The default progress display: a bar and the last epoch's sweep-mean metrics, on stderr.

    Args:
      p: the :class:`Progress` after a chunk of epochs (loss, kd in nats; seconds of wall time).

    Returns:
      None; on a terminal one line is (re)written on stderr, ended with a newline after the last
      epoch; elsewhere one plain line per chunk (the package's one display,
      :class:`cch_jax._progress.ProgressLine`).
    """
    from cch_jax._progress import ProgressLine

    m = p.metrics
    ProgressLine(sys.stderr).update(
        p.epoch,
        p.epochs,
        f"epochs  loss {m.loss:.4f}  kd {m.kd:.4f}  score {m.score:.4f}  "
        f"agree {m.agreement:.4f}  {p.seconds:.1f}s",
    )


def _check_data(config: TrainConfig, data: KDData) -> None:
    if not isinstance(data, KDData):
        raise ValueError(
            f"data: expected KDData (see kd_data/prepare_data), got {type(data).__name__}"
        )
    shape = tuple(data.student_input.shape[1:])
    if shape != config.model.input_shape:
        raise ValueError(
            f"data.student_input: examples of shape {shape} do not match "
            f"model.input_shape {config.model.input_shape}"
        )
    if config.loss.task == "classification":
        if (
            data.teacher_output.ndim != 3
            or data.teacher_output.shape[-1] != config.model.num_outputs
        ):
            raise ValueError(
                f"data.teacher_output: expected [V, n, {config.model.num_outputs}] teacher logits, "
                f"got shape {data.teacher_output.shape}"
            )
    elif data.teacher_output.ndim != 2:
        raise ValueError(
            f"data.teacher_output: regression expects [V, n] teacher predictions, got shape "
            f"{data.teacher_output.shape}"
        )


# Compiled programs are cached per (config, n, chunk length, devices), so that repeated or resumed
# fits of the same configuration reuse them. The data are arguments, never baked-in constants.
@functools.lru_cache(maxsize=32)
def _trainer(config: TrainConfig, num_examples: int):
    return make_trainer(config, num_examples=num_examples)


@functools.lru_cache(maxsize=32)
def _stack_fn(device_ids: tuple, runs: NamedSharding):
    """jit of ``[P] states -> one state with leaves [P, ...]``, sharded over the runs."""
    del device_ids  # part of the cache key; ``runs`` carries the mesh
    return jax.jit(stack_states, out_shardings=runs)


@functools.lru_cache(maxsize=64)
def _chunk_fn(config, num_examples: int, length: int, device_ids: tuple, runs: NamedSharding):
    del device_ids
    trainer = _trainer(config, num_examples)
    fn = jax.vmap(lambda s, d, h: trainer.run_epochs(s, d, h, length), in_axes=(0, None, 0))
    return jax.jit(fn, out_shardings=(runs, runs))


def _boundaries(start: int, epochs: int, chunk: int, every: int | None) -> list[int]:
    marks = set(range(chunk, epochs, chunk)) | {epochs}
    if every:
        marks |= set(range(every, epochs, every))
    return sorted(m for m in marks if m > start)


def fit(
    config: TrainConfig,
    data: KDData,
    *,
    sweep: SweepConfig | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    progress: bool | Callable[[Progress], None] = True,
    devices: list | None = None,
) -> FitResult:
    """Trains every run of ``sweep`` (default: one run, seed 0, the config's kd_weight and T).

    Args:
      config: the static :class:`TrainConfig`.
      data: the training :class:`KDData` (frozen teacher outputs included).
      sweep: seeds x kd_weights x temperatures; teacher variants come from ``data``.
      checkpoint_dir: if given, checkpoints are written there, and a run finding one resumes from
        it (the same sweep is checked).
      checkpoint_every: epochs between checkpoints (default: every chunk of
        ``config.chunk_epochs``). The final epoch is always saved.
      progress: True for a bar on stderr, False for silence, or a callable taking
        :class:`Progress` after each chunk.
      devices: devices to shard the run axis over (default: all of ``jax.devices()``).

    Returns:
      :class:`FitResult` with the ``[P, ...]`` states, ``[P, epochs]`` metrics and the grid.

    Raises:
      ValueError: a wrong config, sweep or data object, or data that do not fit the model.
      KeyboardInterrupt: after saving the last finished state (when checkpointing).

    Warns:
      cch_jax.DivergenceWarning: when some runs diverged (``FitResult.diverged``).
    """
    sweep, checkpoint_every = check_fit_args(config, data, sweep, checkpoint_dir, checkpoint_every)
    grid = sweep_grid(sweep, data.num_teachers)
    result = train_runs(
        config,
        data,
        grid,
        checkpoint_dir=checkpoint_dir,
        checkpoint_every=checkpoint_every,
        progress=progress,
        devices=devices,
    )
    warn_diverged(config, result, stacklevel=3)
    return result


def check_fit_args(
    config: TrainConfig,
    data: KDData,
    sweep: SweepConfig | None,
    checkpoint_dir: str | Path | None,
    checkpoint_every: int | None,
) -> tuple[SweepConfig, int | None]:
    """Checks :func:`fit`'s arguments before any work: (the sweep, default filled in, and
    checkpoint_every); raises ValueError naming the wrong argument."""
    _checks.check_instance("config", config, TrainConfig)
    _check_data(config, data)
    if sweep is None:
        sweep = SweepConfig(
            kd_weights=(config.loss.kd_weight,), temperatures=(config.loss.temperature,)
        )
    if sweep is not None:
        _checks.check_instance("sweep", sweep, SweepConfig)
    if checkpoint_every is not None:
        checkpoint_every = _checks.check_int("checkpoint_every", checkpoint_every, minimum=1)
    if checkpoint_dir is not None:  # before any compilation: an unwritable folder fails at once
        _checks.check_output_dir("checkpoint_dir", checkpoint_dir)
    _trainer(config, data.num_examples)  # validates batch_size against n
    return sweep, checkpoint_every


def train_runs(
    config: TrainConfig,
    data: KDData,
    grid: dict[str, np.ndarray],
    *,
    checkpoint_dir: str | Path | None,
    checkpoint_every: int | None,
    progress: bool | Callable[[Progress], None],
    devices: list | None,
    checkpointer: Callable[[str | Path], Checkpointer] = Checkpointer,
) -> FitResult:
    """Trains the runs of ``grid`` (``[P]`` arrays, e.g. :func:`sweep_grid` or any subset of it:
    each run's key comes from its own seed, so a run's numbers do not depend on the others) with
    arguments already checked (:func:`check_fit_args`); flags divergence without warning.
    ``checkpointer(checkpoint_dir)`` makes the object that saves and restores (default: orbax)."""
    num_runs = grid["seed"].shape[0]

    devices = list(devices) if devices is not None else jax.devices()
    padded = math.ceil(num_runs / len(devices)) * len(devices)
    pad = np.concatenate([np.arange(num_runs), np.full(padded - num_runs, num_runs - 1)])
    mesh = Mesh(np.asarray(devices), ("sweep",))
    runs = NamedSharding(mesh, PartitionSpec("sweep"))
    replicated = NamedSharding(mesh, PartitionSpec())

    hp = HParams(
        kd_weight=jnp.asarray(grid["kd_weight"][pad]),
        temperature=jnp.asarray(grid["temperature"][pad]),
        teacher=jnp.asarray(grid["teacher"][pad]),
    )
    hp = jax.device_put(hp, runs)
    data = jax.device_put(data, replicated)
    device_ids = tuple(d.id for d in devices)
    inits = init_runs(_trainer(config, data.num_examples), grid["seed"][pad])
    state = _stack_fn(device_ids, runs)(inits)

    def run_chunk(st, length):
        return _chunk_fn(config, data.num_examples, length, device_ids, runs)(st, data, hp)

    history = Metrics(*[np.zeros((padded, 0), np.float32) for _ in Metrics._fields])
    epoch = 0
    ckpt = checkpointer(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt is not None and ckpt.latest_epoch() is not None:
        epoch = ckpt.latest_epoch()
        state, history = ckpt.restore(epoch, state, grid)
        state = jax.device_put(state, runs)
    saved_epoch = epoch
    report = print_progress if progress is True else (progress or None)
    every = checkpoint_every or config.chunk_epochs
    t0 = time.perf_counter()
    try:
        for mark in _boundaries(epoch, config.epochs, config.chunk_epochs, every):
            new_state, metrics = run_chunk(state, mark - epoch)
            new_state = jax.block_until_ready(new_state)
            state, epoch = new_state, mark
            history = Metrics(
                *[
                    np.concatenate([h, np.asarray(m)], axis=1)
                    for h, m in zip(history, metrics, strict=True)
                ]
            )
            if ckpt is not None and (epoch % every == 0 or epoch == config.epochs):
                ckpt.save(epoch, state, history, grid)
                saved_epoch = epoch
            if report is not None:
                last = Metrics(*[float(np.mean(h[:num_runs, -1])) for h in history])
                report(Progress(epoch, config.epochs, last, time.perf_counter() - t0))
    except KeyboardInterrupt:
        if ckpt is not None and epoch > saved_epoch:
            ckpt.save(epoch, state, history, grid)
        if ckpt is not None:
            print(
                f"\ninterrupted: epoch {epoch} saved in {ckpt.directory}; run again to resume",
                file=sys.stderr,
            )
        raise
    finally:
        if ckpt is not None:
            ckpt.close()
    state = jax.tree.map(lambda x: x[:num_runs], state)
    history = Metrics(*[h[:num_runs] for h in history])
    diverged = divergence(history, state, reference_loss(config, data, grid))
    return FitResult(state=state, history=history, grid=grid, diverged=diverged)


def warn_diverged(config: TrainConfig, result: FitResult, *, stacklevel: int) -> None:
    """Warns (:class:`cch_jax.DivergenceWarning`) naming up to five diverged runs of ``result``."""
    grid, diverged = result.grid, result.diverged
    num_runs = diverged.shape[0]
    if diverged.any():
        runs_shown = ", ".join(
            f"(seed {grid['seed'][r]}, kd_weight {grid['kd_weight'][r]:g}, temperature "
            f"{grid['temperature'][r]:g})"
            for r in np.nonzero(diverged)[0][:5]
        )
        warnings.warn(
            f"learning_rate: {int(diverged.sum())} of {num_runs} runs diverged (non-finite or "
            f"exploding loss): {runs_shown}{', ...' if diverged.sum() > 5 else ''}; lower "
            f"learning_rate (now {config.learning_rate:g}); FitResult.diverged flags them",
            _checks.DivergenceWarning,
            stacklevel=stacklevel,
        )
