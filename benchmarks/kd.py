"""KD trainer speed, side by side with a plain PyTorch loop and with sequential runs (2-core CPU).

Rows (results in benchmarks/results/kd.{json,md}):
  1. cnn_epoch: the small CNN, one epoch over 60 000 random 28x28x1 images (throughput does not
     depend on pixel values), batch 128, Adam, KD loss (lam 0.5, T 3): cch_jax vs PyTorch 2.13 CPU
     (benchmarks/anchors/torch_cnn.py in .venv-torch). Value: images/s.
  2. mlp_seeds / cnn_seeds: 16 seeds as one vmapped program vs 16 sequential runs of the same
     jitted single-run trainer. Value: models trained per second.
  3. figure1: `cch figure1 --solver trainer` wall time (process launch to exit), with the
     closed-form `--solver lstsq` as its baseline.

Usage: flock /tmp/cch-bench.lock python benchmarks/kd.py [--only cnn_epoch,mlp_seeds,...]
       [--cnn-n 60000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, Timing, ratio, time_call, time_command, write_results  # noqa: E402

from cch_jax import kd  # noqa: E402

kd.use_fast_cpu_convolutions()  # opt in before any JAX computation (XLA:CPU only)

ROOT = Path(__file__).resolve().parents[1]
HP = kd.HParams(jnp.float32(0.5), jnp.float32(3.0), jnp.int32(0))


def _random_data(n, shape, k=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    return kd.kd_data(
        x, rng.integers(0, k, n), rng.normal(size=(n, k)).astype(np.float32), task="classification"
    )


def _config(name, shape, hidden=(), epochs=1, batch=128):
    return kd.TrainConfig(
        model=kd.ModelConfig(name=name, input_shape=shape, num_outputs=10, hidden=hidden),
        epochs=epochs,
        batch_size=batch,
        optimizer="adam",
        learning_rate=1e-3,
    )


def cnn_epoch(rows, n):
    data = _random_data(n, (28, 28, 1))
    cfg = _config("cnn", (28, 28, 1))
    tr = kd.make_trainer(cfg, num_examples=n)
    run = jax.jit(lambda s: tr.run_epochs(s, data, HP, 1))
    state = tr.init(jax.random.key(0))
    timing, _ = time_call(lambda: run(state), repeats=1)
    images = tr.steps_per_epoch * cfg.batch_size
    ours = Row(
        "cnn_epoch",
        "cch_jax",
        {"n": n, "batch": 128},
        timing,
        images / timing.median_s,
        extra={"unit": "images/s", "data": "random"},
    )
    torch_py = (
        subprocess.run(
            ["bash", str(ROOT / "benchmarks/anchors/setup_torch_env.sh")],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    out = subprocess.run(
        [
            str(ROOT / torch_py),
            str(ROOT / "benchmarks/anchors/torch_cnn.py"),
            "--n",
            str(n),
            "--epochs",
            "2",
            "--batch",
            "128",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(out.stdout.strip().splitlines()[-1])
    t_timing = Timing(first_s=res["epoch_s"][0], runs_s=tuple(res["epoch_s"][1:]))
    theirs = Row(
        "cnn_epoch",
        "pytorch",
        {"n": n, "batch": 128},
        t_timing,
        res["images_per_epoch"] / t_timing.median_s,
        extra={
            "unit": "images/s",
            "data": "random",
            "torch": res["torch"],
            "torch_threads": res["threads"],
        },
    )
    ours.extra["speedup_vs_pytorch"] = round(ratio(theirs, ours), 3)
    rows += [theirs, ours]


def seeds(rows, name, shape, hidden, n, epochs, num_seeds=16, repeats=2):
    data = _random_data(n, shape)
    cfg = _config(name, shape, hidden, epochs=epochs)
    tr = kd.make_trainer(cfg, num_examples=n)
    single = jax.jit(lambda s: tr.run_epochs(s, data, HP, epochs))
    states = [tr.init(jax.random.key(i)) for i in range(num_seeds)]
    seq, _ = time_call(lambda: [single(s)[0] for s in states], repeats=repeats)
    hps = jax.tree.map(lambda v: jnp.broadcast_to(v, (num_seeds,)), HP)
    swept = jax.jit(jax.vmap(lambda s, h: tr.run_epochs(s, data, h, epochs)))
    stacked = jax.vmap(tr.init)(jax.random.split(jax.random.key(0), num_seeds))
    vm, _ = time_call(lambda: swept(stacked, hps), repeats=repeats)
    params = {
        "model": name,
        "input": "x".join(map(str, shape)),
        "hidden": str(hidden),
        "n": n,
        "epochs": epochs,
        "seeds": num_seeds,
    }
    extra = {"unit": "models/s", "data": "random"}
    r_seq = Row(f"{name}_seeds", "sequential", params, seq, num_seeds / seq.median_s, dict(extra))
    r_vm = Row(f"{name}_seeds", "vmap", params, vm, num_seeds / vm.median_s, dict(extra))
    r_vm.extra["speedup_vs_sequential"] = round(ratio(r_seq, r_vm), 3)
    rows += [r_seq, r_vm]


def figure1(rows, repeats=2):
    cch = shutil.which("cch") or str(Path(sys.executable).with_name("cch"))
    for solver in ("lstsq", "trainer"):
        with tempfile.TemporaryDirectory() as tmp:
            timing = time_command(
                [cch, "figure1", "--solver", solver, "--out", tmp], repeats=repeats
            )
        rows.append(
            Row(
                "figure1_wall",
                solver,
                {"defaults": "50 seeds x 41 gaps x 11 mus"},
                timing,
                timing.median_s,
                extra={"unit": "s (whole command)"},
            )
        )
    rows[-1].extra["slowdown_vs_lstsq"] = round(
        rows[-1].timing.median_s / rows[-2].timing.median_s, 3
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--only", default="cnn_epoch,mlp_seeds,cnn_seeds,figure1")
    p.add_argument("--cnn-n", type=int, default=60000)
    args = p.parse_args()
    parts = args.only.split(",")
    rows: list[Row] = []
    notes = (
        "Random inputs (throughput only). cnn_epoch: one epoch after a warm-up epoch (PyTorch: "
        "epoch 2 of 2; cch_jax: the run after the compiling one). *_seeds: 16 "
        "seeds trained as one vmapped program vs 16 calls of the same jitted single-run trainer. "
        "figure1_wall: whole `cch figure1` process, median of 2 cold starts."
    )
    for part in parts:
        if part == "cnn_epoch":
            cnn_epoch(rows, args.cnn_n)
        elif part == "mlp_seeds":
            seeds(rows, "mlp", (32,), (64, 64), 10_000, epochs=5)
            seeds(rows, "mlp", (784,), (128,), 10_000, epochs=1)
        elif part == "cnn_seeds":
            seeds(rows, "cnn", (28, 28, 1), (), 2_000, epochs=1, repeats=1)
        elif part == "figure1":
            figure1(rows)
        else:
            raise SystemExit(f"--only: unknown part {part!r}")
        write_results("kd", rows, notes=notes)  # after each part, so partial runs are kept


if __name__ == "__main__":
    main()
