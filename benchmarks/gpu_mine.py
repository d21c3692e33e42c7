"""GPU row of the MINE benchmark: 1, 32 and 256 vmapped estimates (2 000 steps, batch 256, 5+5, n = 10 000).

Usage (on a machine with a GPU and `pip install -e .[gpu]`):
  python benchmarks/gpu_mine.py [--hidden 32,32] [--allow-cpu]

Goal (issue 4): 256 vmapped estimates in <= 2 s after compilation; compile time reported apart.
Each problem has its own dataset (independent samples) and key; the rows report the median of 3 calls
after the first (compile) call, the time per estimate, and the mean/sd of the estimates (truth 1.1157
nats). Writes benchmarks/results/gpu_mine.{json,md}. Not run in the CPU-only development session.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, time_call, write_results  # noqa: E402

from cch_jax.kd import use_fast_cpu_convolutions  # noqa: E402

use_fast_cpu_convolutions()  # before any JAX computation, like every benchmark (XLA:CPU only)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--hidden",
        default="32,32",
        help="critic widths (library default; the anchor row used 256,256)",
    )
    ap.add_argument("--batches", default="1,32,256", help="numbers of problems vmapped")
    ap.add_argument("--allow-cpu", action="store_true", help="run even without a GPU (smoke test)")
    args = ap.parse_args()

    import jax
    import jax.numpy as jnp

    from cch_jax.mi import MINEConfig, mine, tasks

    if jax.default_backend() == "cpu" and not args.allow_cpu:
        sys.exit("no GPU found (jax.default_backend() == 'cpu'); pass --allow-cpu for a smoke test")

    n = 10_000
    hidden = tuple(int(h) for h in args.hidden.split(","))
    cfg = MINEConfig(steps=2000, batch_size=256, hidden=hidden)
    task = tasks.correlated_gaussian(5, 5, 0.6)
    truth = task.mutual_information()
    run = jax.jit(jax.vmap(lambda x, y, k: mine(x, y, key=k, config=cfg).estimate))
    rows = []
    for b in (int(v) for v in args.batches.split(",")):
        keys = jax.random.split(jax.random.key(b), b)
        xs, ys = jax.vmap(lambda k: task.sample(key=k, n=n))(
            jax.random.split(jax.random.key(10_000 + b), b)
        )
        xs, ys = jnp.asarray(xs), jnp.asarray(ys)
        timing, est = time_call(lambda xs=xs, ys=ys, keys=keys: run(xs, ys, keys), repeats=3)
        est = np.asarray(est, dtype=np.float64)
        sd = float(est.std(ddof=1)) if b > 1 else 0.0
        rows.append(
            Row(
                "mine-gpu",
                f"cch_jax mine, {b} vmapped",
                {
                    "problems": b,
                    "n": n,
                    "steps": cfg.steps,
                    "batch": cfg.batch_size,
                    "hidden": args.hidden,
                },
                timing,
                float(est.mean()),
                {
                    "per_estimate_s": round(timing.median_s / b, 5),
                    "true_mi": round(truth, 4),
                    "sd": round(sd, 4),
                    "se": round(sd / math.sqrt(b), 4),
                    "goal_256_le_2s": (timing.median_s <= 2.0) if b == 256 else None,
                },
            )
        )
    write_results(
        "gpu_mine", rows, notes="Units: nats. Goal: 256 vmapped estimates <= 2 s after compilation."
    )


if __name__ == "__main__":
    main()
