"""Orbax checkpoints of a (swept) student run: parameters, optimizer state, step, key.

What is saved is the student only: the teacher never enters the train state (the trainer sees its
frozen outputs), so it cannot be checkpointed with the student. Alongside the state we save the
epoch reached, the per-epoch metrics so far and the sweep grid, so that a resumed run can check it
continues the same sweep and ends with the same history as an uninterrupted one.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np

from cch_jax import _checks
from cch_jax.kd._trainer import Metrics, TrainState

GRID_FIELDS = ("seed", "kd_weight", "temperature", "teacher")


def _payload(state: TrainState, history: Metrics, grid: dict[str, np.ndarray]) -> dict:
    opt_leaves = jax.tree.leaves(state.opt_state)
    return {
        "params": state.params,
        "opt_state": {f"{i:04d}": leaf for i, leaf in enumerate(opt_leaves)},
        "step": state.step,
        "key": jax.random.key_data(state.key),
        "history": {f: np.asarray(v) for f, v in history._asdict().items()},
        "grid": {f: np.asarray(grid[f]) for f in GRID_FIELDS},
    }


class Checkpointer:
    """Saves and restores sweep states in ``directory`` (one orbax step per epoch reached).

    Args:
      directory: where checkpoints go (created if missing; it must be writable: checked at once,
        as ``checkpoint_dir``).
      max_to_keep: how many of the latest checkpoints to keep, >= 1.

    A folder holding a checkpoint of another model or sweep shape raises ``ValueError`` naming
    ``checkpoint_dir`` on restore, not an orbax error.
    """

    def __init__(self, directory: str | Path, *, max_to_keep: int = 2):
        import orbax.checkpoint as ocp  # imported on first use: ~0.7 s

        self.directory = _checks.check_output_dir("checkpoint_dir", directory).resolve()
        max_to_keep = _checks.check_int("max_to_keep", max_to_keep, minimum=1)
        options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True)
        try:
            self._manager = ocp.CheckpointManager(self.directory, options=options)
        except Exception as err:  # noqa: BLE001 (orbax raises many kinds)
            raise ValueError(
                f"checkpoint_dir: {self.directory} cannot be used for checkpoints "
                f"({type(err).__name__}: {str(err).splitlines()[0][:160]})"
            ) from None

    def latest_epoch(self) -> int | None:
        """The epoch of the newest checkpoint, or None if there is none."""
        return self._manager.latest_step()

    def save(self, epoch: int, state: TrainState, history: Metrics, grid: dict) -> None:
        """Writes the checkpoint for ``epoch`` and waits until it is on disk."""
        import orbax.checkpoint as ocp

        self._manager.save(epoch, args=ocp.args.StandardSave(_payload(state, history, grid)))
        self._manager.wait_until_finished()

    def restore(self, epoch: int, like: TrainState, grid: dict) -> tuple[TrainState, Metrics]:
        """Restores the state and history saved at ``epoch``.

        Args:
          epoch: a saved epoch (see :meth:`latest_epoch`).
          like: a freshly initialised state of the same sweep (structure, shapes, shardings).
          grid: the current sweep grid; a checkpoint of a different sweep raises ValueError.

        Returns:
          (state, history) with history fields ``[P, epoch]``.
        """
        import orbax.checkpoint as ocp

        num_runs = jax.tree.leaves(like.params)[0].shape[0]
        empty = Metrics(*[np.zeros((num_runs, epoch), np.float32) for _ in Metrics._fields])
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, _payload(like, empty, grid))
        mismatch = self._mismatch(epoch, target)
        if mismatch:
            raise ValueError(
                f"checkpoint_dir: {self.directory} holds a checkpoint (epoch {epoch}) that does not "
                f"match this run (another model, sweep size or optimizer: {mismatch}); use a "
                f"fresh directory"
            )
        try:
            raw = self._manager.restore(epoch, args=ocp.args.StandardRestore(target))
        except Exception as err:  # noqa: BLE001 (orbax raises many kinds for a foreign tree)
            self.close()
            raise ValueError(
                f"checkpoint_dir: {self.directory} holds a checkpoint (epoch {epoch}) that does not "
                f"match this run (another model, sweep size or optimizer?); use a fresh directory "
                f"({type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''})"
            ) from None
        for f in GRID_FIELDS:
            if not np.allclose(np.asarray(raw["grid"][f]), np.asarray(grid[f])):
                raise ValueError(
                    f"checkpoint_dir: {self.directory} holds a run of a different sweep "
                    f"({f} differs); use a fresh directory"
                )
        treedef = jax.tree.structure(like.opt_state)
        opt_leaves = [raw["opt_state"][k] for k in sorted(raw["opt_state"])]
        state = TrainState(
            params=raw["params"],
            opt_state=jax.tree.unflatten(treedef, opt_leaves),
            step=raw["step"],
            key=jax.random.wrap_key_data(raw["key"]),
        )
        history = Metrics(**{f: np.asarray(v) for f, v in raw["history"].items()})
        return state, history

    def _mismatch(self, epoch: int, target) -> str | None:
        """Compares the saved tree's shapes with ``target``'s without restoring (a failed orbax
        restore leaves pending I/O behind): a short description of the first difference."""
        import logging

        import orbax.checkpoint as ocp

        def shapes(tree) -> dict:
            flat = jax.tree_util.tree_flatten_with_path(tree)[0]
            return {jax.tree_util.keystr(k): tuple(v.shape) for k, v in flat}

        absl_logger = logging.getLogger("absl")
        level = absl_logger.level
        absl_logger.setLevel(logging.ERROR)  # "metadata file does not exist": expected here
        try:
            meta = ocp.StandardCheckpointer().metadata(self.directory / str(epoch) / "default")
            saved = shapes(getattr(meta, "item_metadata", meta))
        except Exception as err:  # noqa: BLE001
            return f"unreadable ({type(err).__name__})"
        finally:
            absl_logger.setLevel(level)
        wanted = shapes(target)
        for key in sorted(set(saved) | set(wanted)):
            if saved.get(key) != wanted.get(key):
                return f"{key} saved as {saved.get(key)}, needed {wanted.get(key)}"
        return None

    def close(self) -> None:
        self._manager.close()
