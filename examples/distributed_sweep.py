"""A KD sweep spread over the processes of a ``jax.distributed`` job (``kd.fit_distributed``).

Each process trains its share of seeds x kd_weights x temperatures on its own devices; process 0
writes the gathered table (one row per run x epoch) as CSV. The data here are synthetic (Gaussian
inputs, random labels and teacher logits): replace :func:`build` with your own loading.

Usage:
  python examples/distributed_sweep.py --local 2 --out sweep.csv    # two CPU processes, here
  srun python examples/distributed_sweep.py --out sweep.csv \\
      --checkpoint-dir /shared/ckpt                                  # SLURM: one process per task
  python examples/distributed_sweep.py --out sweep.csv              # one process, no runtime
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np


def build(args):
    """(config, data, sweep) of the example: every process must build the same ones."""
    from cch_jax import kd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n, args.dim)).astype(np.float32)
    y = rng.integers(0, args.classes, args.n)
    t = rng.normal(size=(args.n, args.classes)).astype(np.float32)
    data = kd.kd_data(x, y, t, task="classification")
    config = kd.TrainConfig(
        model=kd.ModelConfig(name=args.model, input_shape=(args.dim,), num_outputs=args.classes),
        epochs=args.epochs,
        batch_size=min(128, args.n),
    )
    sweep = kd.SweepConfig(
        seeds=tuple(range(args.seeds)),
        kd_weights=tuple(float(v) for v in args.kd_weights.split(",")),
        temperatures=tuple(float(v) for v in args.temperatures.split(",")),
    )
    return config, data, sweep


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="mlp", choices=("linear", "mlp"))
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--kd-weights", default="0.0,0.5,1.0")
    p.add_argument("--temperatures", default="1,4")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--n", type=int, default=1024, help="training examples")
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--checkpoint-dir", default=None, help="shared by all processes")
    p.add_argument("--out", default=None, help="CSV of the gathered table (process 0)")
    p.add_argument("--local", type=int, default=0, help="start this many CPU processes here")
    p.add_argument("--coordinator", default=None, help=argparse.SUPPRESS)  # set by --local
    p.add_argument("--process-id", type=int, default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def launch_local(args, argv) -> int:
    """Starts ``args.local`` copies of this script on CPU, meeting on a free local port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    rest, skip = [], False
    for a in argv:  # every argument but --local N / --local=N
        if not skip and not a.startswith("--local"):
            rest.append(a)
        skip = a == "--local"
    own = [f"--coordinator=127.0.0.1:{port}", f"--local={args.local}"]
    procs = [
        subprocess.Popen([sys.executable, __file__, *rest, *own, f"--process-id={i}"], env=env)
        for i in range(args.local)
    ]
    return max(p.wait() for p in procs)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    if args.local and args.process_id is None:
        return launch_local(args, argv)
    if args.process_id is not None:  # a local process started by --local
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.local,
            process_id=args.process_id,
        )
    elif int(os.environ.get("SLURM_NTASKS", "1")) > 1:  # srun: coordinator, ids from SLURM
        jax.distributed.initialize()
    from cch_jax import kd

    config, data, sweep = build(args)
    t0 = time.perf_counter()
    result = kd.fit_distributed(config, data, sweep=sweep, checkpoint_dir=args.checkpoint_dir)
    wall = time.perf_counter() - t0
    if jax.process_index() == 0:
        rows = result.table()
        print(
            f"{len(result.diverged)} runs x {config.epochs} epochs on {jax.process_count()} "
            f"process(es), {jax.device_count()} {jax.default_backend()} device(s): {wall:.1f} s",
            file=sys.stderr,
        )
        if args.out:
            with open(args.out, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
