"""Times bmi's KSGEnsembleFirstEstimator on data saved as .npy (run inside .venv-bmi: jax 0.4.33).

Usage (from benchmarks/ksg.py):
  .venv-bmi/bin/python benchmarks/anchors/ksg_bmi.py --x x.npy --y y.npy --k 10 --repeats 3 --out r.json

Writes {"times_s": [...], "value": float, "versions": {...}}: wall time of ``estimate`` per call
(the estimator is pure NumPy/scikit-learn, so there is no compilation to separate).
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
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--metric", default="euclidean")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    from bmi.estimators import KSGEnsembleFirstEstimator

    x, y = np.load(args.x), np.load(args.y)
    est = KSGEnsembleFirstEstimator(neighborhoods=(args.k,), metric_x=args.metric)
    times, value = [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        value = float(est.estimate(x, y))
        times.append(time.perf_counter() - t0)
    versions = {}
    for pkg in ("benchmark-mi", "jax", "numpy", "scikit-learn"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    with open(args.out, "w") as f:
        json.dump({"times_s": times, "value": value, "versions": versions}, f)


if __name__ == "__main__":
    main()
