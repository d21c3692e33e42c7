"""kd.fit_distributed: two local CPU processes on jax.distributed give the one-process kd.fit.

The test launches this file as a script (``python tests/test_distributed.py SPEC``) in two
processes that meet through ``jax.distributed.initialize`` on a free local port; each writes the
gathered result to a .npz that is compared, bit for bit, with a one-process ``kd.fit`` of the same
sweep run here (4 CPU devices, vs 2 per worker process: a run's numbers depend on its seed only).
"""

import csv
import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from cch_jax import _compile_cache, kd

N, D, K, V = 32, 4, 3, 1
EPOCHS = 4
SWEEP = dict(seeds=(0, 1, 2), kd_weights=(0.3,), temperatures=(1.0, 2.0, 4.0))  # 9 runs: 5 + 4
LAUNCH_TIMEOUT = 120  # seconds; a hung rendezvous fails the test instead of hanging the suite


def _problem(perturb: bool = False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = rng.integers(0, K, N)
    t = rng.normal(size=(N, K)).astype(np.float32)
    if perturb:
        x[0, 0] += 1.0
    data = kd.kd_data(x, y, t, task="classification")
    config = kd.TrainConfig(
        model=kd.ModelConfig(name="linear", input_shape=(D,), num_outputs=K),
        epochs=EPOCHS,
        batch_size=8,
        optimizer="adam",
        learning_rate=0.01,
    )
    return config, data, kd.SweepConfig(**SWEEP)


def _flat(result) -> dict[str, np.ndarray]:
    """Every number of a FitResult, by name."""
    state = result.state._replace(key=jax.random.key_data(result.state.key))
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    out = {f"state{jax.tree_util.keystr(path)}": np.asarray(leaf) for path, leaf in leaves}
    out.update({f"history.{k}": np.asarray(v) for k, v in result.history._asdict().items()})
    out.update({f"grid.{k}": np.asarray(v) for k, v in result.grid.items()})
    out["diverged"] = np.asarray(result.diverged)
    return out


def _worker(spec: dict) -> int:
    """One process of the job: runs the spec's fits in turn, each writing its result (or its
    error) to its own ``out``."""
    jax.config.update("jax_num_cpu_devices", 2)
    jax.config.update("jax_numpy_rank_promotion", "raise")
    # the suite's persistent compilation cache (tests/conftest.py passes its folder, or its opt-out,
    # in the environment): a later job's process 0 loads what an earlier one's compiled (JAX
    # writes entries from process 0 only)
    _compile_cache.enable()
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{spec['port']}",
        num_processes=spec["count"],
        process_id=spec["index"],
        initialization_timeout=60,
    )
    for fit in spec["fits"]:
        _fit(spec["index"], **fit)
    return 0


def _fit(index: int, *, out: str, checkpoint_dir, interrupt_at, checks: bool) -> None:
    """One fit_distributed call of process ``index`` (every process makes the same calls)."""
    config, data, sweep = _problem()
    errors = {}
    if checks:  # wrong inputs first: every process must raise the same ValueError
        for name, args in {
            "too_few_runs": (config, data, kd.SweepConfig(seeds=(0,))),
            "data_differs": (config, _problem(perturb=index == 1)[1], sweep),
        }.items():
            try:
                kd.fit_distributed(args[0], args[1], sweep=args[2], progress=False)
            except ValueError as err:
                errors[name] = str(err)
    epochs = []

    def progress(p):
        epochs.append(p.epoch)
        if p.epoch == interrupt_at:
            raise KeyboardInterrupt

    arrays = {}
    try:
        result = kd.fit_distributed(
            config, data, sweep=sweep, checkpoint_dir=checkpoint_dir, progress=progress
        )
        arrays = _flat(result)
    except (KeyboardInterrupt, RuntimeError) as err:
        errors["fit"] = f"{type(err).__name__}: {err}"
    np.savez(out, **arrays, epochs=np.asarray(epochs, np.int32), errors=json.dumps(errors))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path, *fits):
    """Runs the two-process job: the fits ``(name, options)`` in turn in the same two processes
    (one start and one rendezvous for all); returns each fit's list of the processes' .npz
    contents, by name. Options: ``checkpoint_dir``, ``interrupt_at`` (an epoch per process),
    ``checks`` (the wrong-input calls first)."""
    port = _free_port()
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(Path(__file__).parents[1]))
    env.pop("XLA_FLAGS", None)
    procs = []
    for index in range(2):
        spec = dict(
            port=port,
            count=2,
            index=index,
            fits=[
                dict(
                    out=str(tmp_path / f"{name}-{index}.npz"),
                    checkpoint_dir=None
                    if opts.get("checkpoint_dir") is None
                    else str(opts["checkpoint_dir"]),
                    interrupt_at=opts.get("interrupt_at", (None, None))[index],
                    checks=opts.get("checks", False),
                )
                for name, opts in fits
            ],
        )
        cmd = [sys.executable, __file__, json.dumps(spec)]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=LAUNCH_TIMEOUT)[0].decode(errors="replace"))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
            p.communicate()
        pytest.fail(f"the two-process job did not finish in {LAUNCH_TIMEOUT} s")
    for p, log in zip(procs, logs, strict=True):
        assert p.returncode == 0, log[-3000:]
    results = {}
    for name, _ in fits:
        results[name] = []
        for index in range(2):
            with np.load(tmp_path / f"{name}-{index}.npz") as npz:
                res = {k: npz[k] for k in npz.files}
            res["errors"] = json.loads(str(res["errors"]))
            results[name].append(res)
    return results


@pytest.fixture(scope="module")
def first_job(tmp_path_factory):
    """One two-process job for the first fits of the two tests below: a plain fit (after the
    wrong-input checks), then a checkpointed fit whose process 1 is lost after epoch 2 (Ctrl-C
    saves it) while process 0 finishes its share, then stops."""
    tmp_path = tmp_path_factory.mktemp("distributed")
    ckpt = tmp_path / "ckpt"
    results = _launch(
        tmp_path,
        ("plain", dict(checks=True)),
        ("lost", dict(checkpoint_dir=ckpt, interrupt_at=(None, 2))),
    )
    return results, ckpt


@pytest.fixture(scope="module")
def reference():
    config, data, sweep = _problem()
    return _flat(kd.fit(config, data, sweep=sweep, progress=False))


def _saved(folder: Path) -> list[int]:
    return sorted(int(p.name[6:-4]) for p in folder.glob("epoch-*.npz"))


def _assert_equal_to(got: dict, want: dict):
    assert sorted(k for k in got if k not in ("epochs", "errors")) == sorted(want)
    for name, value in want.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


def test_two_processes_give_the_one_process_result(first_job, reference):
    results = first_job[0]["plain"]
    for res in results:
        assert "fit" not in res["errors"], res["errors"]
        _assert_equal_to(res, reference)
        assert res["epochs"].tolist() == [1, 2, 3, 4]  # each process trained its own share
        assert res["errors"]["too_few_runs"].startswith("sweep: 1 run(s) cannot be shared by 2")
        assert res["errors"]["data_differs"].startswith("data: process ")
    assert (
        np.ptp(reference["history.loss"][:, -1]) > 0
    )  # the runs differ: a mixed-up order would show


def test_a_lost_process_resumes_its_share_alone(first_job, tmp_path, reference):
    results, ckpt = first_job
    # process 1 is lost after epoch 2 (Ctrl-C saves it); process 0 finishes its share, then stops
    first = results["lost"]
    assert first[1]["errors"]["fit"].startswith("KeyboardInterrupt")
    assert first[0]["errors"]["fit"].startswith("RuntimeError: fit_distributed: process 1 of 2")
    assert first[0]["epochs"].tolist() == [1, 2, 3, 4]
    assert _saved(ckpt / "process-0-of-2") == [EPOCHS - 1, EPOCHS]  # the latest two are kept
    assert _saved(ckpt / "process-1-of-2") == [1, 2]
    # run again: process 0 reads its finished share back, process 1 trains epochs 3 and 4 only
    again = _launch(tmp_path, ("again", dict(checkpoint_dir=ckpt)))["again"]
    assert again[0]["epochs"].tolist() == []
    assert again[1]["epochs"].tolist() == [3, 4]
    for res in again:
        _assert_equal_to(res, reference)


def test_one_process_is_fit(tmp_path, reference):
    config, data, sweep = _problem()
    result = kd.fit_distributed(
        config, data, sweep=sweep, checkpoint_dir=tmp_path / "ckpt", progress=False
    )
    _assert_equal_to(_flat(result), reference)
    assert _saved(tmp_path / "ckpt" / "process-0-of-1") == [EPOCHS - 1, EPOCHS]
    again = kd.fit_distributed(  # a finished share is read back, not retrained
        config, data, sweep=sweep, checkpoint_dir=tmp_path / "ckpt", progress=pytest.fail
    )
    _assert_equal_to(_flat(again), reference)


def test_checkpoints_of_another_process_count_are_refused(tmp_path):
    config, data, sweep = _problem()
    (tmp_path / "two" / "process-1-of-2").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"^checkpoint_dir: .* 2-process sweep .* 1 process"):
        kd.fit_distributed(config, data, sweep=sweep, checkpoint_dir=tmp_path / "two")
    (tmp_path / "fit" / "4").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"^checkpoint_dir: .* one-process kd.fit"):
        kd.fit_distributed(config, data, sweep=sweep, checkpoint_dir=tmp_path / "fit")


def test_bad_arguments(tmp_path):
    config, data, sweep = _problem()
    with pytest.raises(ValueError, match="^sweep:"):
        kd.fit_distributed(config, data, sweep=(0, 1))
    with pytest.raises(ValueError, match="^checkpoint_every:"):
        kd.fit_distributed(config, data, sweep=sweep, checkpoint_every=0)
    with pytest.raises(ValueError, match="^data:"):
        kd.fit_distributed(config, data.student_input, sweep=sweep)


def test_example_script_gives_the_one_process_table(tmp_path):
    script = Path(__file__).parents[1] / "examples" / "distributed_sweep.py"
    argv = "--model linear --seeds 2 --kd-weights 0.5 --temperatures 1,4 --epochs 2 --n 64".split()
    argv += ["--dim", "4", "--classes", "3"]
    out = tmp_path / "sweep.csv"
    env = dict(os.environ, PYTHONPATH=str(script.parents[1]))
    env.pop("XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, str(script), "--local", "2", *argv, f"--out={out}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "4 runs x 2 epochs on 2 process(es)" in done.stderr
    spec = importlib.util.spec_from_file_location("distributed_sweep", script)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    config, data, sweep = example.build(example.parse(argv))
    want = kd.fit(config, data, sweep=sweep, progress=False).table()
    with open(out, newline="") as f:
        got = list(csv.DictReader(f))
    assert len(got) == len(want) == 4 * 2
    for g, w in zip(got, want, strict=True):
        assert {k: float(v) for k, v in g.items()} == {k: float(v) for k, v in w.items()}


if __name__ == "__main__":
    sys.exit(_worker(json.loads(sys.argv[1])))
