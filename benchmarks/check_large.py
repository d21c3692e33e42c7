"""Memory of ``cch check`` on 200 000 x 512 float32 inputs (a student and two teachers, .npy).

Usage:
  python benchmarks/check_large.py [--n 200000] [--dim 512] [--max-rows 20000]

The .npy files (400 MB each) are memory-mapped by the command; rows beyond ``--max-rows`` are
subsampled before anything is converted. Reports the command's wall time and peak resident memory
(``ru_maxrss`` of the child process). Writes benchmarks/results/check_large.{json,md}.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=200_000)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--max-rows", type=int, default=20_000)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Written in chunks so that this script itself never holds a whole array.
        for name in ("hs", "t1", "t2"):
            mm = np.lib.format.open_memmap(
                folder / f"{name}.npy", mode="w+", dtype=np.float32, shape=(args.n, args.dim)
            )
            for start in range(0, args.n, 20_000):
                stop = min(start + 20_000, args.n)
                block = rng.normal(size=(stop - start, args.dim)).astype(np.float32)
                if name == "hs":
                    block[:, 0] += rng.integers(0, 4, stop - start) * 2.0
                mm[start:stop] = block
            mm.flush()
            del mm
        y = (np.load(folder / "hs.npy", mmap_mode="r")[:, 0] > 3.0).astype(np.int64)
        np.save(folder / "y.npy", y)
        cmd = [
            sys.executable, "-m", "cch_jax.cli", "check", "--quiet",
            "--student", str(folder / "hs.npy"), "--labels", str(folder / "y.npy"),
            "--teacher", f"a={folder / 't1.npy'}", "--teacher", f"b={folder / 't2.npy'}",
            "--max-rows", str(args.max_rows),
        ]  # fmt: skip
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    noted = [line for line in proc.stdout.splitlines() if line.startswith("note:")]
    rows = [
        Row(
            name=f"{args.n} x {args.dim} float32 (student + 2 teachers, 3 x "
            f"{args.n * args.dim * 4 / 2**20:.0f} MiB)",
            impl="cch check",
            params={"n": args.n, "dim": args.dim, "max_rows": args.max_rows},
            value=round(peak_mb),
            extra={"exit_code": proc.returncode, "wall_s": round(wall, 1), "notes": noted},
        )
    ]
    write_results(
        "check_large",
        rows,
        notes="value = peak resident memory of the `cch check` process in MiB (ru_maxrss).",
    )


if __name__ == "__main__":
    main()
