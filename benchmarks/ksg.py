"""KSG speed and accuracy, side by side with the anchors, in one run.

Anchors: bmi's ``KSGEnsembleFirstEstimator(neighborhoods=(k,))`` (run from .venv-bmi in a
subprocess with its own timing; it needs jax 0.4.33), a SciPy cKDTree KSG-1 with the max-norm
(the NPEET/scikit-learn algorithm) and scikit-learn's ``mutual_info_regression`` in 1-D.
``ratio`` = anchor time / cch_jax time (> 1: cch_jax is faster), on the same data in the same run.
Our ``metric="max"`` is compared with cKDTree and scikit-learn, ``metric="bmi"`` with bmi.

Usage:
  flock /tmp/cch-bench.lock python benchmarks/ksg.py            # every speed row
  flock /tmp/cch-bench.lock python benchmarks/ksg.py --only main,oned --quick
  flock /tmp/cch-bench.lock python benchmarks/ksg.py --only sorted --name ksg_sorted
  python benchmarks/ksg.py --accuracy                            # bias/spread table over seeds

Writes benchmarks/results/ksg.{json,md} (speed) or ksg_accuracy.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _harness import BMI_PYTHON, Row, Timing, run_anchor, time_call, write_results  # noqa: E402

# --------------------------------------------------------------------------------------------------
# Anchors


def ckdtree_ksg(x, y, k, workers=1):
    """KSG-1, max-norm, with scipy.spatial.cKDTree (the NPEET / scikit-learn algorithm)."""
    from scipy.spatial import cKDTree
    from scipy.special import digamma

    xy = np.concatenate([x, y], axis=1)
    eps = cKDTree(xy).query(xy, k + 1, p=np.inf, workers=workers)[0][:, -1]
    r = np.nextafter(eps, 0)
    kw = dict(p=np.inf, return_length=True, workers=workers)
    nx = cKDTree(x).query_ball_point(x, r, **kw) - 1
    ny = cKDTree(y).query_ball_point(y, r, **kw) - 1
    return digamma(k) + digamma(len(x)) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def sklearn_1d(x, y, k):
    from sklearn.feature_selection import mutual_info_regression

    return mutual_info_regression(x.reshape(-1, 1), y.ravel(), n_neighbors=k, random_state=0)[0]


def time_plain(fn, repeats):
    """Times a function without compilation: every call is a sample (first_s = the first)."""
    runs, value = [], None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        value = fn()
        runs.append(time.perf_counter() - t0)
    return Timing(first_s=runs[0], runs_s=tuple(runs)), value


def time_bmi(x, y, k, repeats):
    """bmi in its own environment; returns (Timing, value, versions) or None if unavailable."""
    args = ["--k", str(k), "--repeats", str(repeats)]
    out = run_anchor(HERE / "anchors" / "ksg_bmi.py", {"x": x, "y": y}, args, python=BMI_PYTHON)
    if out is None:
        return None
    t = out["times_s"]
    return Timing(first_s=t[0], runs_s=tuple(t)), out["value"], out["versions"]


# --------------------------------------------------------------------------------------------------
# Rows


def data(dx, dy, n, seed=0):
    import jax

    from cch_jax.mi import tasks

    task = tasks.correlated_gaussian(dx, dy, 0.6)
    x, y = task.sample(key=jax.random.key(seed), n=n)
    return np.asarray(x), np.asarray(y), task.mutual_information()


def ours(x, y, k, metric, repeats, **kw):
    import cch_jax.mi as mi

    timing, value = time_call(lambda: mi.ksg(x, y, k=k, metric=metric, **kw), repeats=repeats)
    return timing, float(value)


def add_ratio(rows, anchor, base):
    anchor.extra["ratio"] = round(anchor.timing.median_s / base.timing.median_s, 2)
    rows.append(anchor)


def rows_main(rows, quick):
    """5+5, k = 10, n = 10 000: the headline row."""
    n, k = (2000 if quick else 10_000), 10
    x, y, truth = data(5, 5, n)
    p = {"case": "5+5", "n": n, "k": k, "true_mi": round(truth, 4)}
    t, v = ours(x, y, k, "max", 5)
    base_max = Row("ksg", "cch_jax max", p, t, v)
    rows.append(base_max)
    t, v = ours(x, y, k, "bmi", 5)
    base_bmi = Row("ksg", "cch_jax bmi", p, t, v)
    rows.append(base_bmi)
    t, v = ours(x, y, k, "max", 3, search="topk")
    rows.append(Row("ksg", "cch_jax max, search=topk", p, t, v))
    t, v = time_plain(lambda: ckdtree_ksg(x, y, k), 2)
    add_ratio(rows, Row("ksg", "scipy cKDTree (max)", p, t, v), base_max)
    got = time_bmi(x, y, k, 2)
    if got:
        t, v, ver = got
        add_ratio(rows, Row("ksg", "bmi KSGEnsembleFirst", p, t, v, {"bmi": ver}), base_bmi)


def rows_oned(rows, quick):
    """1-D, n = 10 000, k = 3 and 10, against scikit-learn and cKDTree."""
    n = 2000 if quick else 10_000
    x, y, truth = data(1, 1, n)
    for k in (3, 10):
        p = {"case": "1+1", "n": n, "k": k, "true_mi": round(truth, 4)}
        t, v = ours(x, y, k, "max", 7)
        base = Row("ksg", "cch_jax max", p, t, v)
        rows.append(base)
        t, v = time_plain(lambda k=k: sklearn_1d(x, y, k), 7)
        add_ratio(rows, Row("ksg", "scikit-learn", p, t, v), base)
        t, v = time_plain(lambda k=k: ckdtree_ksg(x, y, k), 5)
        add_ratio(rows, Row("ksg", "scipy cKDTree (max)", p, t, v), base)


def rows_crossover(rows, quick):
    """Growing n: where a tree method overtakes the O(n^2) brute force."""
    sizes_1d = (1000, 5000) if quick else (2000, 5000, 10_000, 20_000, 50_000, 100_000)
    for n in sizes_1d:
        x, y, _ = data(1, 1, n, seed=1)
        p = {"case": "1+1 crossover", "n": n, "k": 3}
        rep = 3 if n <= 20_000 else 1
        t, v = ours(x, y, 3, "max", rep)
        base = Row("ksg", "cch_jax max", p, t, v)
        rows.append(base)
        t, v = time_plain(lambda x=x, y=y: sklearn_1d(x, y, 3), 3)
        add_ratio(rows, Row("ksg", "scikit-learn", p, t, v), base)
    sizes_5d = (1000, 2000) if quick else (2000, 5000, 10_000, 20_000, 40_000)
    for n in sizes_5d:
        x, y, _ = data(5, 5, n, seed=1)
        p = {"case": "5+5 crossover", "n": n, "k": 10}
        rep = 3 if n <= 10_000 else 1
        t, v = ours(x, y, 10, "max", rep)
        base = Row("ksg", "cch_jax max", p, t, v)
        rows.append(base)
        t, v = time_plain(lambda x=x, y=y: ckdtree_ksg(x, y, 10), 1)
        add_ratio(rows, Row("ksg", "scipy cKDTree (max)", p, t, v), base)


def rows_wide(rows, quick):
    """32+32 and 128+128 (the size of real representations), n = 10 000, k = 3."""
    n, k = (2000 if quick else 10_000), 3
    for d in (32, 128):
        x, y, truth = data(d, d, n, seed=2)
        p = {"case": f"{d}+{d}", "n": n, "k": k, "true_mi": round(truth, 3)}
        t, v = ours(x, y, k, "max", 2)
        base_max = Row("ksg", "cch_jax max", p, t, v)
        rows.append(base_max)
        t, v = ours(x, y, k, "bmi", 2)
        base_bmi = Row("ksg", "cch_jax bmi", p, t, v)
        rows.append(base_bmi)
        t, v = time_plain(lambda x=x, y=y: ckdtree_ksg(x, y, k), 1)
        add_ratio(rows, Row("ksg", "scipy cKDTree (max)", p, t, v), base_max)
        got = time_bmi(x, y, k, 1)
        if got:
            t, v, ver = got
            add_ratio(rows, Row("ksg", "bmi KSGEnsembleFirst", p, t, v, {"bmi": ver}), base_bmi)


def rows_batched(rows, quick):
    """64 datasets of n = 2 000 (5+5, k = 3): one vmapped call vs one call per dataset."""
    import jax

    import cch_jax.mi as mi
    from cch_jax.mi import tasks

    b, n, k = (8 if quick else 64), 2000, 3
    task = tasks.correlated_gaussian(5, 5, 0.6)
    xs, ys = jax.vmap(lambda key: task.sample(key=key, n=n))(jax.random.split(jax.random.key(3), b))
    xs, ys = np.asarray(xs), np.asarray(ys)
    p = {"case": "batched 5+5", "n": n, "k": k, "datasets": b}
    t, v = time_call(lambda: mi.ksg(xs, ys, k=k), repeats=3)
    vm = Row("ksg", "cch_jax vmapped (per dataset)", p, _per(t, b), float(np.mean(v)))
    rows.append(vm)
    t, v = time_call(lambda: [mi.ksg(xs[i], ys[i], k=k) for i in range(b)], repeats=3)
    add_ratio(
        rows,
        Row("ksg", "cch_jax one call each (per dataset)", p, _per(t, b), float(np.mean(v))),
        vm,
    )
    t, v = time_plain(lambda: [ckdtree_ksg(xs[i], ys[i], k) for i in range(min(b, 8))], 1)
    add_ratio(
        rows,
        Row("ksg", "scipy cKDTree (max) (per dataset)", p, _per(t, min(b, 8)), float(np.mean(v))),
        vm,
    )


def _per(t: Timing, b: int) -> Timing:
    return Timing(first_s=t.first_s / b, runs_s=tuple(r / b for r in t.runs_s))


BIG_CHILD = r"""
import json, resource, sys, time
import jax
import cch_jax.mi as mi
from cch_jax.mi import tasks
n, k = int(sys.argv[1]), int(sys.argv[2])
x, y = tasks.correlated_gaussian(5, 5, 0.6).sample(key=jax.random.key(0), n=n)
x, y = jax.block_until_ready((x, y))
f = jax.jit(lambda a, b: mi.ksg(a, b, k=k))
t0 = time.perf_counter(); compiled = f.lower(x, y).compile(); t_compile = time.perf_counter() - t0
t0 = time.perf_counter(); v = float(compiled(x, y)); t_run = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"compile_s": t_compile, "run_s": t_run, "value": v, "peak_rss_mb": peak_kb / 1024}))
"""


def rows_big(rows, quick):
    """n = 200 000 in 5+5 (k = 3) within 2 GB: a fresh process reports its own peak RSS."""
    n, k = (20_000 if quick else 200_000), 3
    out = subprocess.run(
        [sys.executable, "-c", BIG_CHILD, str(n), str(k)],
        check=True,
        capture_output=True,
        text=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    t = Timing(first_s=r["compile_s"] + r["run_s"], runs_s=(r["run_s"],))
    p = {"case": "5+5 large", "n": n, "k": k, "true_mi": 1.1157}
    base = Row("ksg", "cch_jax max", p, t, r["value"], {"peak_rss_mb": round(r["peak_rss_mb"])})
    rows.append(base)
    # The same data for the tree, on both cores (the brute force's fusions use both threads too).
    import jax

    from cch_jax.mi import tasks

    x, y = tasks.correlated_gaussian(5, 5, 0.6).sample(key=jax.random.key(0), n=n)
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    x, y = (x - x.mean(0)) / x.std(0), (y - y.mean(0)) / y.std(0)
    t, v = time_plain(lambda: ckdtree_ksg(x, y, k, workers=-1), 1)
    add_ratio(rows, Row("ksg", "scipy cKDTree (max, workers=2)", p, t, v), base)


def rows_sorted(rows, quick):
    """search="sorted" (the exact sorted sweep, what "auto" picks on CPU in low dimension) side by
    side with scikit-learn (1-D) and the brute-force "grouped" search, k = 3."""
    for n in (2000, 20_000) if quick else (10_000, 1_000_000):
        x, y, truth = data(1, 1, n, seed=4)
        p = {"case": "1+1 sorted", "n": n, "k": 3, "true_mi": round(truth, 4)}
        big = n > 100_000
        t, v = ours(x, y, 3, "max", 2 if big else 7, search="sorted")
        base = Row("ksg", "cch_jax max, search=sorted", p, t, v)
        rows.append(base)
        t, v = time_plain(lambda x=x, y=y: sklearn_1d(x, y, 3), 1 if big else 7)
        add_ratio(rows, Row("ksg", "scikit-learn", p, t, v), base)
        if not big:  # O(n^2): 10^6 rows would take about an hour
            t, v = ours(x, y, 3, "max", 3, search="grouped")
            add_ratio(rows, Row("ksg", "cch_jax max, search=grouped", p, t, v), base)
    # Where the brute force still wins: the sweep prunes along two coordinates only.
    n = 2000 if quick else 20_000
    for d in (2, 3, 5):
        x, y, _ = data(d, d, n, seed=5)
        p = {"case": f"{d}+{d} sorted vs brute", "n": n, "k": 3}
        t, v = ours(x, y, 3, "max", 2, search="sorted")
        base = Row("ksg", "cch_jax max, search=sorted", p, t, v)
        rows.append(base)
        t, v = ours(x, y, 3, "max", 2, search="grouped")
        add_ratio(rows, Row("ksg", "cch_jax max, search=grouped", p, t, v), base)


GROUPS = {
    "sorted": rows_sorted,
    "main": rows_main,
    "oned": rows_oned,
    "crossover": rows_crossover,
    "wide": rows_wide,
    "batched": rows_batched,
    "big": rows_big,
}


# --------------------------------------------------------------------------------------------------
# Accuracy: bias and spread over seeds


def accuracy(n_seeds: int, sizes) -> list[Row]:
    import jax

    import cch_jax.mi as mi
    from cch_jax.mi import tasks

    disp = np.array([[1, 0, 0.5, 0], [0, 1, 0, 0.5], [0.5, 0, 1, 0], [0, 0.5, 0, 1.0]])
    task_list = [
        tasks.correlated_gaussian(1, 1, 0.6),
        tasks.correlated_gaussian(5, 5, 0.6),
        tasks.independent(3, 3),
        tasks.transformed(tasks.correlated_gaussian(2, 2, 0.6), x_map="cube", y_map="asinh"),
        tasks.student_t(disp, 2, 5.0),
        tasks.embedded(tasks.correlated_gaussian(2, 2, 0.8), 16, 16, key=jax.random.key(0)),
    ]
    rows = []
    for task in task_list:
        for n in sizes:
            for metric in ("max", "bmi"):
                chunk = max(1, min(n_seeds, 2_000_000 // (n * 64)))

                def run(keys, task=task, n=n, metric=metric):
                    return jax.vmap(
                        lambda kk: mi.ksg(*task.sample(key=kk, n=n), k=3, metric=metric)
                    )(keys)

                f = jax.jit(run)
                keys = jax.random.split(jax.random.key(2024), n_seeds)
                t0 = time.perf_counter()
                vals = np.concatenate(
                    [np.asarray(f(keys[i : i + chunk])) for i in range(0, n_seeds, chunk)]
                )
                wall = time.perf_counter() - t0
                truth = task.mutual_information()
                mean, sd = float(vals.mean()), float(vals.std(ddof=1))
                rows.append(
                    Row(
                        "ksg_accuracy",
                        f"cch_jax {metric}",
                        {"task": task.name, "n": n, "k": 3, "seeds": n_seeds},
                        None,
                        mean,
                        {
                            "true_mi": round(truth, 4),
                            "bias": round(mean - truth, 4),
                            "rel_bias": round((mean - truth) / truth, 3) if truth > 0 else "",
                            "sd": round(sd, 4),
                            "se_mean": round(sd / math.sqrt(n_seeds), 4),
                            "wall_s": round(wall, 1),
                        },
                    )
                )
                print(rows[-1].as_dict(), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of {list(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--accuracy", action="store_true", help="bias/spread table instead")
    parser.add_argument("--num-seeds", type=int, default=50, help="seeds per accuracy row")
    parser.add_argument("--name", default=None, help="results file name")
    args = parser.parse_args()
    if args.accuracy:
        sizes = (500,) if args.quick else (1000, 10_000)
        rows = accuracy(4 if args.quick else args.num_seeds, sizes)
        write_results(args.name or "ksg_accuracy", rows, notes=ACCURACY_NOTES)
        return
    rows: list[Row] = []
    for name in args.only.split(","):
        if name not in GROUPS:
            raise SystemExit(f"--only: unknown group {name!r}; choose from {list(GROUPS)}")
        GROUPS[name](rows, args.quick)
        print(f"[{name} done]", flush=True)
    write_results(args.name or ("ksg_quick" if args.quick else "ksg"), rows, notes=SPEED_NOTES)


SPEED_NOTES = """\
`ratio` = anchor median time / cch_jax median time on the same data (> 1: cch_jax faster); the
cch_jax row it divides by is the one just above with the matching metric (max-norm for cKDTree and
scikit-learn, bmi's convention for bmi). cch_jax rows: `compile_s` = first call minus a steady call.
bmi runs in .venv-bmi (jax 0.4.33) in a subprocess that times `estimate` itself (no compilation).
The n = 200 000 row runs in a fresh process that reports its own peak resident memory (ru_maxrss);
its cKDTree anchor runs with workers=2 (both cores, as XLA:CPU's fusions do).
"""

ACCURACY_NOTES = """\
Known-answer tasks of `cch_jax.mi.tasks`, k = 3, seeds drawn with one vmapped call per chunk.
`bias` = mean estimate - true MI (nats); `sd` = spread over seeds; `se_mean` = sd / sqrt(seeds).
"""


if __name__ == "__main__":
    main()
