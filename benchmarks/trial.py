"""Speed of ``cch trial`` on scikit-learn's 1 797 8x8 digits: student = the left half (32 pixels),
two teachers: the right half, and the right half under heavy pixel noise (a degraded copy).

Usage:
  python benchmarks/trial.py [--max-seeds 10] [--noise 8]

Rows:
  command          ``cch trial --data digits.npz --json ...`` with the defaults, process launch to
                   exit (cold start: compilation included); its calls, seeds and Δs from --json.
  command, rerun   the same command again: every result is read back from --out (resume path).
  in process       ``bench.trial`` called twice without a cache in one process: the first call
                   compiles and trains, the second only trains; their difference is compilation.

Writes benchmarks/results/trial.{json,md} (device, versions and compile time apart from run time
in every row).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, Timing, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CCH = [sys.executable, "-m", "cch_jax.cli"]


def _digits_file(path: Path, noise: float) -> None:
    from sklearn.datasets import load_digits

    b = load_digits()
    img = np.asarray(b.images, np.float32)  # [1797, 8, 8], pixel values 0..16
    right = img[:, :, 4:].reshape(len(img), -1)
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_student=img[:, :, :4].reshape(len(img), -1),
        y=np.asarray(b.target),
        x_teacher_right=right,
        x_teacher_noisy=right + noise * rng.normal(size=right.shape).astype(np.float32),
    )


def _command(args: list[str]) -> tuple[float, str]:
    """Wall seconds of one ``cch trial`` process, launch to exit, and its stdout."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*CCH, "trial", *args], check=True, capture_output=True, cwd=ROOT, text=True
    )
    return time.perf_counter() - t0, proc.stdout


def _summary(doc: dict) -> dict:
    return {
        "calls": {t["name"]: t["call"] for t in doc["teachers"]},
        "seeds": {t["name"]: t["seeds"] for t in doc["teachers"]},
        "delta_kd": {t["name"]: round(t["delta_kd"], 2) for t in doc["teachers"]},
        "p_kd": {t["name"]: float(f"{t['p_kd']:.3g}") for t in doc["teachers"]},
        "delta_transfer": {t["name"]: round(t["delta_transfer"], 2) for t in doc["teachers"]},
        "epochs": {t["name"]: t["epochs"] for t in doc["teachers"]},
        "trained": len(doc["trained"]),
        "cached": len(doc["cached"]),
        "cost_s": round(doc["cost_s"], 2),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--max-seeds", type=int, default=10)
    p.add_argument("--noise", type=float, default=8.0, help="pixel-noise std of the noisy teacher")
    args = p.parse_args(argv)
    params = {"rows": 1797, "teachers": 2, "max_seeds": args.max_seeds, "noise": args.noise}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "digits.npz"
        _digits_file(data, args.noise)
        js = folder / "out.json"
        cmd = ["--data", str(data), "--out", str(folder / "cache"), "--json", str(js)]
        cmd += ["--max-seeds", str(args.max_seeds)]
        for name in ("command", "command, rerun"):
            wall, stdout = _command(cmd)
            doc = json.loads(js.read_text())
            rows.append(
                Row(name=name, impl="cch trial", params=params, value=wall,
                    extra={"wall_s": round(wall, 2)} | _summary(doc))
            )  # fmt: skip
            if name == "command":
                print(stdout)

        from cch_jax import bench
        from cch_jax import data as cch_data

        paired = cch_data.load_paired_file(data)
        config = bench.TrialConfig(max_seeds=args.max_seeds)
        calls = []
        for _ in range(2):
            t0 = time.perf_counter()
            res = bench.trial(paired, config)
            calls.append(time.perf_counter() - t0)
        timing = Timing(first_s=calls[0], runs_s=(calls[1],))
        rows.append(
            Row(name="in process (no cache)", impl="bench.trial", params=params, timing=timing,
                value=timing.compile_s, extra=_summary(res.to_dict()))
        )  # fmt: skip
    notes = (
        "value = wall seconds (command rows: process launch to exit, compilation included; in-process "
        "row: compile_s = first call minus second, median_s = the second call, i.e. training alone). "
        "cost_s = the library call's own wall time. The chance warning of the noisy teacher, if any, "
        "is on stderr. 2-core CPU shared with other jobs unless rerun on a quiet machine."
    )
    write_results("trial", rows, notes=notes)


if __name__ == "__main__":
    main()
