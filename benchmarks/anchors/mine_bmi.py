"""Times bmi's MINEEstimator on data saved as .npy (run inside .venv-bmi: jax 0.4.33 + benchmark-mi).

Usage (from benchmarks/mine.py):
  .venv-bmi/bin/python benchmarks/anchors/mine_bmi.py --x x.npy --y y.npy --num-seeds 3 --out r.json \
      [--steps 2000 --batch 256 --lr 0.1 --hidden 16,8]

One estimate per seed (``MINEEstimator(seed=s)``), each timed from the call to its return; the first
includes bmi's compilation, and bmi re-jits its step on every call. bmi keeps early stopping on and
returns the best held-out value over its checkpoints (every 250 steps).
Writes {"times_s": [...], "values": [...], "n_steps": [...], "versions": {...}}.
"""

import argparse
import importlib.metadata
import json
import time

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--x", required=True)
    p.add_argument("--y", required=True)
    p.add_argument("--num-seeds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--hidden", default="16,8")
    p.add_argument("--out", required=True)
    args = p.parse_args()

    from bmi.estimators import MINEEstimator

    x, y = np.load(args.x), np.load(args.y)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    times, values, steps = [], [], []
    for seed in range(args.num_seeds):
        est = MINEEstimator(
            batch_size=args.batch,
            max_n_steps=args.steps,
            learning_rate=args.lr,
            hidden_layers=hidden,
            seed=seed,
            verbose=False,
        )
        t0 = time.perf_counter()
        res = est.estimate_with_info(x, y)
        times.append(time.perf_counter() - t0)
        values.append(float(res.mi_estimate))
        steps.append(int(res.additional_information.get("n_training_steps", -1)))
    versions = {}
    for pkg in ("benchmark-mi", "jax", "jaxlib", "equinox", "optax", "numpy"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    with open(args.out, "w") as f:
        json.dump({"times_s": times, "values": values, "n_steps": steps, "versions": versions}, f)


if __name__ == "__main__":
    main()
