"""Orbax checkpoints: an interrupted, resumed run ends exactly where an uninterrupted one does."""

import jax
import numpy as np
import pytest

from cch_jax import kd

N, D, K = 32, 4, 3


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = rng.integers(0, K, N)
    t = rng.normal(size=(N, K)).astype(np.float32)
    data = kd.kd_data(x, y, t, task="classification")
    cfg = kd.TrainConfig(
        model=kd.ModelConfig(name="mlp", input_shape=(D,), num_outputs=K, hidden=(6,)),
        epochs=4,
        batch_size=8,
        optimizer="adam",
        learning_rate=0.01,
    )
    sweep = kd.SweepConfig(seeds=(0, 1), kd_weights=(0.5,), temperatures=(1.0, 3.0))
    reference = kd.fit(cfg, data, sweep=sweep, progress=False)
    return cfg, data, sweep, reference


def _interrupt_at(epoch):
    def callback(p):
        if p.epoch == epoch:
            raise KeyboardInterrupt

    return callback


def _assert_same(a, b):
    jax.tree.map(np.testing.assert_array_equal, a.state.params, b.state.params)
    jax.tree.map(np.testing.assert_array_equal, a.state.opt_state, b.state.opt_state)
    np.testing.assert_array_equal(a.state.step, b.state.step)
    np.testing.assert_array_equal(
        jax.random.key_data(a.state.key), jax.random.key_data(b.state.key)
    )
    for f in kd.Metrics._fields:
        np.testing.assert_array_equal(getattr(a.history, f), getattr(b.history, f))


def test_interrupted_and_resumed_equals_uninterrupted(setup, tmp_path):
    cfg, data, sweep, reference = setup
    ckpt = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        kd.fit(cfg, data, sweep=sweep, checkpoint_dir=ckpt, progress=_interrupt_at(2))
    assert kd.Checkpointer(ckpt).latest_epoch() == 2
    resumed = kd.fit(cfg, data, sweep=sweep, checkpoint_dir=ckpt, progress=False)
    _assert_same(resumed, reference)
    assert kd.Checkpointer(ckpt).latest_epoch() == 4
    # a finished run resumes to the same result without training
    again = kd.fit(cfg, data, sweep=sweep, checkpoint_dir=ckpt, progress=False)
    _assert_same(again, reference)


def test_interrupt_between_checkpoints_saves_the_current_state(setup, tmp_path):
    cfg, data, sweep, reference = setup
    ckpt = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        kd.fit(
            cfg,
            data,
            sweep=sweep,
            checkpoint_dir=ckpt,
            checkpoint_every=2,
            progress=_interrupt_at(3),
        )
    assert kd.Checkpointer(ckpt).latest_epoch() == 3  # saved on the way out, not only at 2
    resumed = kd.fit(
        cfg, data, sweep=sweep, checkpoint_dir=ckpt, checkpoint_every=2, progress=False
    )
    _assert_same(resumed, reference)


def test_checkpoint_holds_the_student_only_and_rejects_another_sweep(setup, tmp_path):
    cfg, data, sweep, reference = setup
    ckpt = tmp_path / "run"
    kd.fit(cfg, data, sweep=sweep, checkpoint_dir=ckpt, checkpoint_every=4, progress=False)
    restored = kd.Checkpointer(ckpt)._manager.restore(4)
    assert set(restored) == {"params", "opt_state", "step", "key", "history", "grid"}
    assert set(restored["params"]) == {"dense0", "out"}  # the student's layers, no teacher
    other = kd.SweepConfig(seeds=(0, 1), kd_weights=(0.9,), temperatures=(1.0, 3.0))
    with pytest.raises(ValueError, match="checkpoint_dir: .* different sweep"):
        kd.fit(cfg, data, sweep=other, checkpoint_dir=ckpt, progress=False)


def test_checkpoint_every_is_validated(setup, tmp_path):
    cfg, data, sweep, _ = setup
    with pytest.raises(ValueError, match="checkpoint_every: must be >= 1"):
        kd.fit(cfg, data, sweep=sweep, checkpoint_dir=tmp_path, checkpoint_every=0)


def test_unwritable_or_foreign_checkpoint_dir_is_a_clear_error(setup, tmp_path, monkeypatch):
    """A file in the way fails before any training; a checkpoint of another model (different
    parameter shapes) fails with a message naming checkpoint_dir, not orbax internals."""
    import dataclasses

    from cch_jax.kd import _fit

    cfg, data, sweep, _ = setup
    (tmp_path / "file").write_text("x")
    with monkeypatch.context() as m:  # training would fail the test: the check comes first
        m.setattr(_fit, "train_runs", lambda *a, **k: pytest.fail("training started"))
        with pytest.raises(ValueError, match=r"^checkpoint_dir: cannot write to folder"):
            kd.fit(cfg, data, sweep=sweep, checkpoint_dir=tmp_path / "file" / "run", progress=False)
    ckpt = tmp_path / "run"
    kd.fit(cfg, data, sweep=sweep, checkpoint_dir=ckpt, checkpoint_every=4, progress=False)
    wider = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, hidden=(7,)))
    with pytest.raises(ValueError, match=r"^checkpoint_dir: .* does not match this run"):
        kd.fit(wider, data, sweep=sweep, checkpoint_dir=ckpt, progress=False)
