"""A sweep spread over the processes (hosts) of a ``jax.distributed`` job.

Each process trains a contiguous share of the run grid on its own devices with the one-process
trainer (:func:`cch_jax.kd.fit`'s loop), checkpoints its share in its own folder, and the shares are
gathered over JAX's distributed runtime into one :class:`FitResult`, in the one-process grid order
and identical on every process. A run's key comes from its seed alone, so a run gives the same
numbers whichever share it falls in.

Processes coordinate through the runtime's coordination service (its key-value store): they check
at the start that they were given the same config, sweep and data, and at the end each waits for
the others' shares without a time limit (a lost host is detected by the runtime's heartbeats), so
that a resumed job whose other shares are already finished waits for the one still training. An
error in one process (a mismatched checkpoint, Ctrl-C) is reported to the others, which raise
instead of waiting forever.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks
from cch_jax.kd._config import SweepConfig, TrainConfig
from cch_jax.kd._data import KDData
from cch_jax.kd._fit import (
    FitResult,
    Progress,
    check_fit_args,
    sweep_grid,
    train_runs,
    warn_diverged,
)
from cch_jax.kd._trainer import Metrics, TrainState

SHARE_FOLDER = "process-{index}-of-{count}"
_SHARE_RE = re.compile(r"^process-(\d+)-of-(\d+)$")
_EPOCH_RE = re.compile(r"^epoch-(\d+)\.npz$")
_POLL_SECONDS = 0.5
# Every process calls fit_distributed the same number of times, so the n-th call has the same
# number everywhere: it names the call's keys in the coordination service.
_CALLS = itertools.count()


def process_share(num_runs: int, process_index: int, process_count: int) -> np.ndarray:
    """The runs one process trains: a contiguous block of the grid, sizes differing by at most one.

    Args:
      num_runs: P, the runs in the whole grid.
      process_index: this process, in [0, process_count).
      process_count: processes sharing the grid, <= P.

    Returns:
      ``[P_i]`` int indices into the grid; over all processes, in order, they are 0..P-1.
    """
    base, extra = divmod(num_runs, process_count)
    start = process_index * base + min(process_index, extra)
    return np.arange(start, start + base + (process_index < extra))


def _share_folder(checkpoint_dir: Path, index: int, count: int) -> Path:
    """This process's checkpoint folder; refuses a folder written by another process count or by
    the one-process :func:`fit`."""
    for entry in sorted(checkpoint_dir.iterdir()):
        match = _SHARE_RE.match(entry.name)
        if match and int(match[2]) != count:
            raise ValueError(
                f"checkpoint_dir: {checkpoint_dir} holds the checkpoints of a {match[2]}-process "
                f"sweep ({entry.name}) but this job has {count} process(es): the runs are shared "
                f"by process count, so run it again with {match[2]} processes or use a fresh "
                f"directory"
            )
        if entry.name.isdigit() and entry.is_dir():
            raise ValueError(
                f"checkpoint_dir: {checkpoint_dir} holds a checkpoint of the one-process kd.fit "
                f"(epoch folder {entry.name}); use a fresh directory for fit_distributed"
            )
    return checkpoint_dir / SHARE_FOLDER.format(index=index, count=count)


class ShareCheckpointer:
    """One process's checkpoints of its share of a sweep: ``epoch-{E}.npz`` files in ``directory``.

    The same interface as :class:`cch_jax.kd.Checkpointer` (``latest_epoch``, ``save``,
    ``restore``, ``close``), in plain numpy files: orbax cannot checkpoint one process's arrays on
    their own in a multi-process job (it writes numpy arrays from process 0 only and refuses
    process-local ``jax.Array``s). A file is written under a temporary name and then renamed, so a
    host lost while saving leaves the previous checkpoint whole. Runs are stored without the
    padding to a multiple of the devices, so a share may resume on a host with another device count.

    Args:
      directory: the share's folder (created; it must be writable, as ``checkpoint_dir``).
      max_to_keep: how many of the latest checkpoints to keep, >= 1.
    """

    def __init__(self, directory: str | Path, *, max_to_keep: int = 2):
        self.directory = _checks.check_output_dir("checkpoint_dir", directory).resolve()
        self.max_to_keep = _checks.check_int("max_to_keep", max_to_keep, minimum=1)

    def _epochs(self) -> list[int]:
        found = (_EPOCH_RE.match(p.name) for p in self.directory.iterdir())
        return sorted(int(m[1]) for m in found if m)

    def latest_epoch(self) -> int | None:
        """The epoch of the newest checkpoint, or None if there is none."""
        epochs = self._epochs()
        return epochs[-1] if epochs else None

    @staticmethod
    def _flat(state: TrainState, history: Metrics, grid: dict, num_runs: int) -> dict:
        state = state._replace(key=jax.random.key_data(state.key))
        tree = {"state": state, "history": history._asdict(), "grid": dict(grid)}
        leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
        return {jax.tree_util.keystr(k): np.asarray(v)[:num_runs] for k, v in leaves}

    def save(self, epoch: int, state: TrainState, history: Metrics, grid: dict) -> None:
        """Writes the checkpoint for ``epoch`` (``[P_i, ...]`` runs, padding dropped)."""
        flat = self._flat(state, history, grid, grid["seed"].shape[0])
        path = self.directory / f"epoch-{epoch}.npz"
        tmp = self.directory / f".epoch-{epoch}.npz.partial"
        with open(tmp, "wb") as f:
            np.savez(f, **flat)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        for old in self._epochs()[: -self.max_to_keep]:
            (self.directory / f"epoch-{old}.npz").unlink(missing_ok=True)

    def restore(self, epoch: int, like: TrainState, grid: dict) -> tuple[TrainState, Metrics]:
        """Restores the state and history saved at ``epoch``, padded like ``like``.

        Args:
          epoch: a saved epoch (see :meth:`latest_epoch`).
          like: a freshly initialised state of the same share (``[P_pad, ...]`` leaves).
          grid: the share's grid (``[P_i]``); a checkpoint of other runs raises ValueError.

        Returns:
          (state, history): numpy leaves ``[P_pad, ...]``, history fields ``[P_pad, epoch]``.
        """
        num_runs = grid["seed"].shape[0]
        padded = jax.tree.leaves(like.params)[0].shape[0]
        empty = Metrics(*[np.zeros((padded, epoch), np.float32) for _ in Metrics._fields])
        wanted = self._flat(like, empty, grid, num_runs)
        with np.load(self.directory / f"epoch-{epoch}.npz") as npz:
            saved = {k: npz[k] for k in npz.files}
        for key in sorted(set(saved) | set(wanted)):
            have = saved[key].shape if key in saved else None
            need = wanted[key].shape if key in wanted else None
            if have != need:
                raise ValueError(
                    f"checkpoint_dir: {self.directory} holds a checkpoint (epoch {epoch}) that "
                    f"does not match this run (another model, sweep or optimizer: {key} saved as "
                    f"{have}, needed {need}); use a fresh directory"
                )
        for f in grid:
            if not np.allclose(saved[f"['grid']['{f}']"], np.asarray(grid[f])):
                raise ValueError(
                    f"checkpoint_dir: {self.directory} holds runs of a different sweep ({f} "
                    f"differs); use a fresh directory"
                )
        pad = np.concatenate([np.arange(num_runs), np.full(padded - num_runs, num_runs - 1)])
        tree = {
            "state": like._replace(key=jax.random.key_data(like.key)),
            "history": empty._asdict(),
        }
        paths, treedef = jax.tree_util.tree_flatten_with_path(tree)
        out = jax.tree.unflatten(treedef, [saved[jax.tree_util.keystr(k)][pad] for k, _ in paths])
        state = out["state"]
        key = jax.random.wrap_key_data(state.key, impl=jax.random.key_impl(like.key))
        return state._replace(key=key), Metrics(**out["history"])

    def close(self) -> None:
        """Nothing to release (files are complete when :meth:`save` returns)."""


def _fingerprints(config: TrainConfig, sweep: SweepConfig, data: KDData) -> dict[str, int]:
    crc = 0
    for leaf in jax.tree.leaves(data):
        arr = np.ascontiguousarray(np.asarray(leaf))
        crc = zlib.crc32(f"{arr.dtype}{arr.shape}".encode(), crc)
        crc = zlib.crc32(arr.tobytes(), crc)
    return {
        "config": zlib.crc32(repr(config).encode()),
        "sweep": zlib.crc32(repr(sweep).encode()),
        "data": crc,
    }


class _Peers:
    """The other processes of the job, through the coordination service's key-value store."""

    def __init__(self, call: int, index: int, count: int):
        from jax._src import distributed  # jax exposes no public handle on the runtime's client

        self.client = distributed.global_state.client
        if self.client is None:
            raise RuntimeError(
                f"fit_distributed: jax reports {count} processes but the distributed runtime has "
                f"no client; start every process with jax.distributed.initialize()"
            )
        self.prefix = f"cch_jax/kd/fit_distributed/{call}"
        self.index, self.count = index, count

    def publish(self, topic: str, value: dict) -> None:
        self.client.key_value_set(f"{self.prefix}/{topic}/{self.index}", json.dumps(value))

    def collect(self, topic: str) -> dict[int, dict]:
        """Waits until every process has published ``topic``; raises if one reported a failure."""
        while True:
            found = {
                int(key.rsplit("/", 1)[1]): json.loads(value)
                for key, value in self.client.key_value_dir_get(f"{self.prefix}/{topic}/")
            }
            failed = {
                int(key.rsplit("/", 1)[1]): json.loads(value)
                for key, value in self.client.key_value_dir_get(f"{self.prefix}/failed/")
            }
            if len(found) == self.count:  # all got here: a failure after that shows later
                return found
            failed.pop(self.index, None)
            if failed:
                j, info = min(failed.items())
                raise RuntimeError(
                    f"fit_distributed: process {j} of {self.count} failed ({info['error']}); "
                    f"this process stops too. Finished shares are checkpointed: run the job "
                    f"again to resume"
                )
            time.sleep(_POLL_SECONDS)


def _check_same_everywhere(peers: _Peers, mine: dict[str, int]) -> None:
    peers.publish("fingerprint", mine)
    for j, theirs in sorted(peers.collect("fingerprint").items()):
        for name in ("config", "sweep", "data"):
            if theirs[name] != mine[name]:
                raise ValueError(
                    f"{name}: process {j} was given a different {name} from process "
                    f"{peers.index}; every process must pass the same config, sweep and data"
                )


def _gather(tree, shares: list[np.ndarray]):
    """Leaves ``[P_i, ...]`` on each process -> ``[P, ...]`` numpy in grid order, on every
    process (padded to equal shares for the all-gather)."""
    from jax.experimental import multihost_utils

    size = max(len(s) for s in shares)

    def pad(x):
        x = np.asarray(x)
        return np.concatenate([x, np.repeat(x[-1:], size - x.shape[0], axis=0)])

    stacked = multihost_utils.process_allgather(jax.tree.map(pad, tree))  # [count, size, ...]
    return jax.tree.map(
        lambda g: np.concatenate([g[j, : len(s)] for j, s in enumerate(shares)]), stacked
    )


def fit_distributed(
    config: TrainConfig,
    data: KDData,
    *,
    sweep: SweepConfig | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int | None = None,
    progress: bool | Callable[[Progress], None] = True,
) -> FitResult:
    """Trains the runs of ``sweep`` shared among the processes of a ``jax.distributed`` job.

    Every process calls it with the same arguments (checked). Process i of N trains the i-th
    contiguous block of the :func:`sweep_grid` (block sizes differ by at most one) on its local
    devices, as :func:`fit` would; the blocks are then all-gathered, so every process returns the same
    :class:`FitResult` as a one-process ``fit`` of the whole sweep: a run's key comes from its seed
    alone. Without ``jax.distributed`` (one process) it is ``fit`` on the local devices.

    Args:
      config: the static :class:`TrainConfig`.
      data: the training :class:`KDData`, the same on every process.
      sweep: seeds x kd_weights x temperatures (default: one run, as in :func:`fit`); teacher
        variants come from ``data``. It must have at least one run per process.
      checkpoint_dir: a folder every process can write (on a cluster: a shared file system).
        Process i of N checkpoints its share in ``checkpoint_dir/process-{i}-of-{N}`` and resumes
        from it alone: after a lost host, the job run again retrains only what was lost (finished
        shares are read back). A folder written with another process count is refused.
      checkpoint_every: epochs between checkpoints (default: every ``config.chunk_epochs``).
      progress: True for a bar on process 0's stderr (its share), False for silence, or a
        callable taking each process's :class:`Progress` on its share.

    Returns:
      :class:`FitResult` of the whole grid: ``[P, ...]`` states (on the default device),
      ``[P, epochs]`` metrics, the grid and ``[P]`` divergence flags, in the order of
      :func:`sweep_grid`.

    Raises:
      ValueError: a wrong argument (as :func:`fit`), fewer runs than processes, a
        ``checkpoint_dir`` of another process count or sweep, or processes given different
        config, sweep or data (named).
      RuntimeError: another process failed; this one stops instead of waiting for it.
      KeyboardInterrupt: after saving this share's last finished state (when checkpointing).

    Warns:
      cch_jax.DivergenceWarning: when some runs diverged (on every process).
    """
    index, count = jax.process_index(), jax.process_count()
    peers = _Peers(next(_CALLS), index, count) if count > 1 else None
    try:  # an error here is reported to the other processes, which stop instead of waiting
        sweep, checkpoint_every = check_fit_args(
            config, data, sweep, checkpoint_dir, checkpoint_every
        )
        grid = sweep_grid(sweep, data.num_teachers)
        num_runs = grid["seed"].shape[0]
        if num_runs < count:
            raise ValueError(
                f"sweep: {num_runs} run(s) cannot be shared by {count} processes; add seeds, "
                f"kd_weights or temperatures, or start fewer processes"
            )
        folder = None
        if checkpoint_dir is not None:
            folder = _share_folder(Path(checkpoint_dir).expanduser(), index, count)
        if peers is not None:
            _check_same_everywhere(peers, _fingerprints(config, sweep, data))
        shares = [process_share(num_runs, j, count) for j in range(count)]
        part = train_runs(
            config,
            data,
            {k: v[shares[index]] for k, v in grid.items()},
            checkpoint_dir=folder,
            checkpoint_every=checkpoint_every,
            progress=False if progress is True and index != 0 else progress,
            devices=jax.local_devices(),
            checkpointer=ShareCheckpointer,
        )
    except BaseException as err:
        if peers is not None:
            peers.publish("failed", {"error": f"{type(err).__name__}: {err}"[:300]})
        raise
    if peers is None:
        result = part
    else:
        peers.publish("trained", {"runs": len(shares[index])})
        peers.collect("trained")  # no time limit: the others may still be training
        key_impl = jax.random.key_impl(part.state.key)
        local = (part.state._replace(key=jax.random.key_data(part.state.key)), part.history)
        state, history = _gather(local, shares)
        state = TrainState(
            params=jax.tree.map(jnp.asarray, state.params),
            opt_state=jax.tree.map(jnp.asarray, state.opt_state),
            step=jnp.asarray(state.step),
            key=jax.random.wrap_key_data(state.key, impl=key_impl),
        )
        diverged = _gather(part.diverged.astype(np.int32), shares).astype(bool)
        result = FitResult(state=state, history=Metrics(*history), grid=grid, diverged=diverged)
    warn_diverged(config, result, stacklevel=3)
    return result
