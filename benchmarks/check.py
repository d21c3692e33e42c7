"""Speed of ``cch check``: n = 10 000 rows, a 128-dim student and three 128-dim teachers.

Usage:
  python benchmarks/check.py [--n 10000] [--dim 128] [--repeats 1] [--no-trained]

Rows:
  command     the whole ``cch check`` command (process launch to exit, compilation included) with the
              default estimators and intervals (``--repeats`` cold starts): goal <= 30 s.
  breakdown   the same command's own timings from ``--json`` (load, prepare, label term, each
              estimator over the three teachers; compilation included).
  compile     ``criterion.check`` called twice in one process: first call minus second = tracing and
              compilation.
  all three   ``cch check --estimators ksg,mine,latent`` once, with its breakdown: goal <= 3 min.

Data: ``mi.tasks.cch_triple`` with gaps +0.4, 0, -0.4 (classes), saved as .npy. Writes
benchmarks/results/check.{json,md}.
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
from _harness import Row, Timing, time_command, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CCH = [sys.executable, "-m", "cch_jax.cli"]


def _data(folder: Path, n: int, dim: int) -> list[str]:
    import jax

    from cch_jax.mi import tasks

    args = []
    for g, name in ((0.4, "good"), (0.0, "near0"), (-0.4, "bad")):
        task = tasks.cch_triple(g, dim_teacher=dim, dim_student=dim)
        ht, hs, y = task.sample(key=jax.random.key(0), n=n)
        np.save(folder / f"{name}.npy", np.asarray(ht))
        args += ["--teacher", f"{name}={folder / f'{name}.npy'}"]
    np.save(folder / "hs.npy", np.asarray(hs))
    np.save(folder / "y.npy", np.asarray(y))
    return ["--student", str(folder / "hs.npy"), "--labels", str(folder / "y.npy"), *args]


def _command(args, out: Path, estimators: str) -> tuple[float, dict]:
    t0 = time.perf_counter()
    subprocess.run(
        [*CCH, "check", *args, "--quiet", "--estimators", estimators, "--json", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t0
    return wall, json.loads(out.read_text())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--repeats", type=int, default=1, help="cold starts of the default command")
    p.add_argument("--no-trained", action="store_true", help="skip the ksg,mine,latent run")
    args = p.parse_args(argv)
    params = {"n": args.n, "dim": args.dim, "teachers": 3}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_args = _data(folder, args.n, args.dim)
        cmd = [*CCH, "check", *data_args, "--quiet"]
        timing = time_command(cmd, repeats=args.repeats, cwd=ROOT)
        rows.append(
            Row(name="command (default: ksg + ross)", impl="cch check", params=params, timing=timing,
                value=timing.median_s, extra={"goal_s": 30})
        )  # fmt: skip
        wall, result = _command(data_args, folder / "out.json", "ksg")
        rows.append(
            Row(name="breakdown (default)", impl="cch check --json", params=params, value=wall,
                extra={f"{k}_s": v for k, v in result["timings_s"].items()}
                | {"verdicts": {t["name"]: t["verdict"] for t in result["teachers"]}})
        )  # fmt: skip

        import jax

        from cch_jax import criterion

        hs = np.load(folder / "hs.npy")
        y = np.load(folder / "y.npy")
        teachers = {n: np.load(folder / f"{n}.npy") for n in ("good", "near0", "bad")}
        calls = []
        for _ in range(2):
            t0 = time.perf_counter()
            res = criterion.check(hs, y, teachers, key=jax.random.key(0))
            calls.append((time.perf_counter() - t0, res.timings_s))
        timing = Timing(first_s=calls[0][0], runs_s=(calls[1][0],))
        rows.append(
            Row(name="compile (in process)", impl="criterion.check", params=params, timing=timing,
                value=timing.compile_s,
                extra={f"first_{k}_s": round(v, 3) for k, v in calls[0][1].items()}
                | {f"second_{k}_s": round(v, 3) for k, v in calls[1][1].items()})
        )  # fmt: skip

        if not args.no_trained:
            wall, result = _command(data_args, folder / "all.json", "ksg,mine,latent")
            rows.append(
                Row(name="all three estimators", impl="cch check --estimators ksg,mine,latent",
                    params=params, value=wall,
                    extra={f"{k}_s": v for k, v in result["timings_s"].items()}
                    | {"goal_s": 180,
                       "verdicts": {t["name"]: t["verdict"] for t in result["teachers"]}})
            )  # fmt: skip
    notes = (
        "value = wall seconds (command rows: process launch to exit, compilation included; compile "
        "row: first minus second in-process call). Breakdown keys: load (reading/memory-mapping the "
        ".npy files), prepare (checks, column clean-up), label:<estimator> (I(Hs;Y), once), and one "
        "per estimator of I(Ht;Hs) over the 3 teachers; 8 subsamples of 50% each. 2-core CPU shared "
        "with other jobs unless rerun on a quiet machine."
    )
    write_results("check", rows, notes=notes)


if __name__ == "__main__":
    main()
