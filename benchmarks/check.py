"""Speed of ``cch check`` and of a first call, cold and with the persistent compilation cache warm.

Usage:
  python benchmarks/check.py [--n 10000] [--dim 128] [--no-trained]

Every command row is a fresh process, launch to exit, with its own compilation cache folder
(``CCH_JAX_COMPILE_CACHE``, a temporary folder; no other process shares it):
  default cold      ``cch check`` with the defaults (ksg + ross, advice) and an empty cache: <= 10 s
  default warm      the same command again (the cache filled by the cold run): <= 4 s
  --no-advice warm  the CCH verdicts alone, cache warm: <= 3 s
  figure1 warm      ``cch figure1`` after one run filled its cache: <= 1.5 s
  ksg 1e6 cold      ``mi.ksg`` on 1-D data at n = 10^6: the first call in a fresh process, no cache
                    (data made before the clock starts): <= 2 s; and the same with the cache warm
  compile in process  three identical ``criterion.check`` calls: compilations counted
                    (``cch_jax._compile_cache.CompileCounter``) and seconds of each call
  all three         ``--estimators ksg,mine,latent``, cold and warm (skipped with --no-trained)
Each command row's extra columns hold the command's own ``--json`` timings (load, prepare, label
term, each estimator, total) and its compile-cache counts, so compile and run are apart.

Data: ``mi.tasks.cch_triple`` with gaps +0.4, 0, -0.4 (classes), saved as .npy. Writes
benchmarks/results/check.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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


def _timed(cmd, env, cwd=ROOT) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, cwd=cwd, env=env)
    return time.perf_counter() - t0


def _env(cache: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCH_JAX_")}
    if cache is None:
        env["CCH_JAX_NO_COMPILE_CACHE"] = "1"
    else:
        env["CCH_JAX_COMPILE_CACHE"] = str(cache)
    return env


def _check_row(name, data_args, folder, cache, params, goal, *extra_args) -> Row:
    out = folder / f"{name.replace(' ', '_')}.json"
    cmd = [*CCH, "check", *data_args, "--quiet", "--json", str(out), *extra_args]
    wall = _timed(cmd, _env(cache))
    result = json.loads(out.read_text())
    extra = {f"{k}_s": v for k, v in result["timings_s"].items()}
    extra |= {f"cache_{k}": v for k, v in result["compile_cache"].items() if k != "dir"}
    extra |= {"goal_s": goal, "verdicts": {t["name"]: t["verdict"] for t in result["teachers"]}}
    if result.get("advice"):
        extra["advice_calls"] = [t["call"] for t in result["advice"]["teachers"]]
    return Row(name=name, impl="cch check " + " ".join(extra_args), params=params, value=wall,
               extra=extra)  # fmt: skip


_KSG_FIRST_CALL = """
import sys, time
import numpy as np
from cch_jax import _compile_cache
_compile_cache.enable()
import jax
from cch_jax import mi
rng = np.random.default_rng(0)
x = rng.normal(size=(1_000_000, 1)).astype(np.float32)
y = (x + rng.normal(size=x.shape)).astype(np.float32)
t0 = time.perf_counter()
v = float(mi.ksg(x, y))
first = time.perf_counter() - t0
t0 = time.perf_counter()
float(mi.ksg(x, y))
print(first, time.perf_counter() - t0, v)
"""


def _ksg_first_call(cache: Path | None) -> tuple[float, float, float]:
    out = subprocess.run([sys.executable, "-c", _KSG_FIRST_CALL], check=True, capture_output=True,
                         text=True, cwd=ROOT, env=_env(cache))  # fmt: skip
    first, second, value = (float(v) for v in out.stdout.split())
    return first, second, value


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--dim", type=int, default=128)
    p.add_argument("--no-trained", action="store_true", help="skip the ksg,mine,latent runs")
    args = p.parse_args(argv)
    params = {"n": args.n, "dim": args.dim, "teachers": 3}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data_args = _data(folder, args.n, args.dim)
        cache = folder / "cache"
        rows.append(_check_row("default cold", data_args, folder, cache, params, 10))
        rows.append(_check_row("default warm", data_args, folder, cache, params, 4))
        rows.append(
            _check_row("no-advice warm", data_args, folder, cache, params, 3, "--no-advice")
        )
        rows.append(_check_row("default, cache off", data_args, folder, None, params, None,
                               "--no-compile-cache"))  # fmt: skip

        fig_cache = folder / "fig_cache"
        fig = [*CCH, "figure1", "--out", str(folder / "fig")]
        cold = _timed(fig, _env(fig_cache))
        warm = [_timed(fig, _env(fig_cache)) for _ in range(3)]
        rows.append(Row(name="figure1 warm", impl="cch figure1", params={},
                        timing=Timing(first_s=cold, runs_s=tuple(warm)),
                        value=statistics.median(warm), extra={"goal_s": 1.5, "cold_s": cold}))  # fmt: skip

        first, second, value = _ksg_first_call(None)
        rows.append(Row(name="ksg 1e6 first call, cold", impl="mi.ksg", params={"n": 10**6, "dim": 1},
                        value=first, extra={"goal_s": 2, "second_call_s": second, "nats": value}))  # fmt: skip
        ksg_cache = folder / "ksg_cache"
        _ksg_first_call(ksg_cache)
        first, second, value = _ksg_first_call(ksg_cache)
        rows.append(Row(name="ksg 1e6 first call, cache warm", impl="mi.ksg",
                        params={"n": 10**6, "dim": 1}, value=first,
                        extra={"second_call_s": second, "nats": value}))  # fmt: skip

        import jax

        from cch_jax import _compile_cache, criterion

        hs = np.load(folder / "hs.npy")
        y = np.load(folder / "y.npy")
        teachers = {n: np.load(folder / f"{n}.npy") for n in ("good", "near0", "bad")}
        calls = []
        for _ in range(3):
            t0 = time.perf_counter()
            with _compile_cache.CompileCounter() as counter:
                criterion.check(hs, y, teachers, key=jax.random.key(0))
            calls.append((time.perf_counter() - t0, counter.compiles, counter.compile_s))
        rows.append(Row(name="compile in process (3 identical calls)", impl="criterion.check",
                        params=params, value=calls[0][0],
                        extra={"seconds": [round(c[0], 3) for c in calls],
                               "compiles": [c[1] for c in calls],
                               "compile_s": [round(c[2], 3) for c in calls]}))  # fmt: skip

        if not args.no_trained:
            trained = folder / "trained_cache"
            for label in ("cold", "warm"):
                rows.append(_check_row(f"all three {label}", data_args, folder, trained, params,
                                       180, "--estimators", "ksg,mine,latent"))  # fmt: skip
    notes = (
        "value = wall seconds, process launch to exit (compile row: first of three in-process "
        "calls). Keys *_s: the command's own --json timings (load, prepare, label:<estimator> = "
        "I(Hs;Y), one per estimator of I(Ht;Hs) over the 3 teachers; 8 subsamples of 50% each), "
        "cache_*: its persistent-compilation-cache counts (compiles = backend compilations "
        "requested, hits among them loaded from disk). Each row has its own cache folder."
    )
    write_results("check", rows, notes=notes)


if __name__ == "__main__":
    main()
