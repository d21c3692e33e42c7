"""GPU row of the KD trainer benchmark: throughput of the vmapped small-CNN sweep (not run on CPU).

On one GPU: one epoch of 60 000 random 28x28x1 images (batch 128, Adam, KD loss lam 0.5, T 3) for
1 model and for sweeps of S = 8, 32, 128 students vmapped in one program (each its own seed and
shuffle); value: student-images per second (S x images / epoch time). The CNN uses XLA's
convolution on GPU (ModelConfig conv='auto'). Results: benchmarks/results/gpu_kd.{json,md}.

Usage (on a GPU machine): python benchmarks/gpu_kd.py [--sweeps 1,8,32,128] [--n 60000]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, time_call, write_results  # noqa: E402

from cch_jax import kd  # noqa: E402

kd.use_fast_cpu_convolutions()  # opt in before any JAX computation (XLA:CPU only)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sweeps", default="1,8,32,128")
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--allow-cpu", action="store_true", help="run even without a GPU (smoke test)")
    args = p.parse_args()
    if jax.default_backend() == "cpu" and not args.allow_cpu:
        raise SystemExit("gpu_kd.py: no GPU found (jax.default_backend() == 'cpu')")
    rng = np.random.default_rng(0)
    n = args.n
    data = kd.kd_data(
        rng.normal(size=(n, 28, 28, 1)).astype(np.float32),
        rng.integers(0, 10, n),
        rng.normal(size=(n, 10)).astype(np.float32),
        task="classification",
    )
    cfg = kd.TrainConfig(
        model=kd.ModelConfig(name="cnn", input_shape=(28, 28, 1), num_outputs=10),
        epochs=1,
        batch_size=128,
        optimizer="adam",
        learning_rate=1e-3,
    )
    tr = kd.make_trainer(cfg, num_examples=n)
    images = tr.steps_per_epoch * cfg.batch_size
    rows = []
    for s in [int(v) for v in args.sweeps.split(",")]:
        hp = kd.HParams(
            jnp.full((s,), 0.5, jnp.float32),
            jnp.full((s,), 3.0, jnp.float32),
            jnp.zeros((s,), jnp.int32),
        )
        states = jax.vmap(tr.init)(jax.random.split(jax.random.key(0), s))
        fn = jax.jit(jax.vmap(lambda st, h: tr.run_epochs(st, data, h, 1)))
        timing, _ = time_call(lambda: fn(states, hp), repeats=3)  # noqa: B023
        rows.append(
            Row(
                "cnn_sweep_epoch",
                "cch_jax",
                {"students": s, "n": n, "batch": 128},
                timing,
                s * images / timing.median_s,
                extra={"unit": "student-images/s", "epoch_s_per_student": timing.median_s / s},
            )
        )
    write_results("gpu_kd", rows, notes="Random images (throughput only); one GPU.")


if __name__ == "__main__":
    main()
