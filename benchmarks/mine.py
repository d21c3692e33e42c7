"""MINE and latent-MI benchmark: cch_jax against bmi's MINEEstimator, side by side in one run.

Usage:
  flock /tmp/cch-bench.lock python benchmarks/mine.py [--quick] [--num-seeds 8] [--no-bmi]

Sections (every row carries device, versions, compile time apart from run time):
  speed     one 5+5 estimate (n = 10 000, rho = 0.6) by cch_jax and by bmi in its own environment
            (.venv-bmi, jax 0.4.33, via subprocess, data passed as .npy), bmi with its defaults and with
            cch_jax's steps, batch, widths and learning rate; ratio = bmi time / cch_jax time.
  seeds     32 seeds vmapped in one program against 32 sequential calls (time per estimate).
  accuracy  mean, sd and se over seeds (independent samples and keys) on the known-answer tasks.
  latent    latent_mi against raw KSG on 64+64 data whose MI lives in 2+2 directions.
Writes benchmarks/results/mine.{json,md}.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import BMI_PYTHON, Row, Timing, run_anchor, time_call, write_results  # noqa: E402

HERE = Path(__file__).resolve().parent
N = 10_000


def _stats(values, truth):
    v = np.asarray(values, dtype=np.float64)
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {
        "true_mi": round(truth, 4),
        "mean": round(float(v.mean()), 4),
        "bias": round(float(v.mean() - truth), 4),
        "bias_pct": round(100 * float(v.mean() - truth) / truth, 1) if truth > 0 else None,
        "sd": round(sd, 4),
        "se": round(sd / math.sqrt(v.size), 4),
        "seeds": int(v.size),
    }


def _bmi(x, y, *, seeds, steps, batch, lr, hidden):
    """bmi's MINEEstimator in .venv-bmi; returns (Timing, values, n_steps, versions) or None."""
    args = [
        "--num-seeds",
        str(seeds),
        "--steps",
        str(steps),
        "--batch",
        str(batch),
        "--lr",
        str(lr),
    ]
    args += ["--hidden", ",".join(map(str, hidden))]
    out = run_anchor(HERE / "anchors" / "mine_bmi.py", {"x": x, "y": y}, args, python=BMI_PYTHON)
    if out is None:
        return None
    t = out["times_s"]
    # Every bmi call re-jits, so all calls are samples; first_s is the first (with compilation).
    return (
        Timing(first_s=t[0], runs_s=tuple(t[1:] or t)),
        out["values"],
        out["n_steps"],
        out["versions"],
    )


def speed_rows(rows, args):
    import jax

    from cch_jax.mi import MINEConfig, mine, tasks

    task = tasks.correlated_gaussian(5, 5, 0.6)
    truth = task.mutual_information()
    x, y = task.sample(key=jax.random.key(0), n=N)
    cfg = MINEConfig()
    p = {"case": "5+5 rho 0.6", "n": N, "steps": cfg.steps, "batch": cfg.batch_size}

    # Data are arguments, not closed-over constants (what a user's loop over datasets does).
    one = jax.jit(lambda a, b, k: mine(a, b, key=k, config=cfg).estimate)
    timing, value = time_call(lambda: one(x, y, jax.random.key(0)), repeats=3)
    keys = jax.random.split(jax.random.key(1), args.num_bmi_seeds)
    same_data = np.asarray(jax.jit(jax.vmap(one, in_axes=(None, None, 0)))(x, y, keys))
    base = Row(
        "mine-speed",
        "cch_jax mine (DV, 32-32 elu, lr 1e-3)",
        p,
        timing,
        float(value),
        {"same_data_seeds": _stats(same_data, truth)},
    )
    rows.append(base)
    if args.no_bmi:
        return base, one, x, y
    for label, kw in (
        (
            "bmi MINEEstimator defaults (16-8, lr 0.1, <=10000 steps, early stop)",
            dict(steps=10_000, lr=0.1, hidden=(16, 8)),
        ),
        (
            "bmi MINEEstimator, cch_jax's settings (32-32, lr 1e-3, <=2000 steps)",
            dict(steps=cfg.steps, lr=cfg.learning_rate, hidden=cfg.hidden),
        ),
    ):
        got = _bmi(x, y, seeds=args.num_bmi_seeds, batch=cfg.batch_size, **kw)
        if got is None:
            continue
        t, values, n_steps, versions = got
        row = Row(
            "mine-speed",
            label,
            {**p, "steps": kw["steps"]},
            t,
            float(np.mean(values)),
            {
                "ratio_vs_cch_jax": round(t.median_s / timing.median_s, 1),
                "same_data_seeds": _stats(values, truth),
                "bmi_steps_run": n_steps,
                "bmi_env": versions,
            },
        )
        rows.append(row)
    return base, one, x, y


def seeds_rows(rows, args, one, x, y):
    import jax

    seeds = 32
    keys = jax.random.split(jax.random.key(2), seeds)
    vm = jax.jit(jax.vmap(one, in_axes=(None, None, 0)))
    t_vm, est = time_call(lambda: vm(x, y, keys), repeats=2)
    p = {"case": "5+5 rho 0.6", "n": N, "seeds": seeds}
    rows.append(
        Row(
            "mine-seeds",
            "cch_jax vmap over 32 keys",
            p,
            t_vm,
            float(np.mean(est)),
            {"per_estimate_s": round(t_vm.median_s / seeds, 4)},
        )
    )
    t0 = time.perf_counter()
    seq = [float(one(x, y, k)) for k in keys]  # `one` is compiled already (speed section)
    total = time.perf_counter() - t0
    t_seq = Timing(first_s=total, runs_s=(total,))
    rows.append(
        Row(
            "mine-seeds",
            "cch_jax 32 sequential calls",
            p,
            t_seq,
            float(np.mean(seq)),
            {
                "per_estimate_s": round(total / seeds, 4),
                "ratio_vs_vmap": round(total / t_vm.median_s, 2),
                "max_abs_diff_vs_vmap": float(np.max(np.abs(np.asarray(est) - np.asarray(seq)))),
            },
        )
    )


def _accuracy(task, config, seeds, n=N):
    import jax
    import jax.numpy as jnp

    from cch_jax.mi import mine

    data = [task.sample(key=jax.random.key(1000 + s), n=n) for s in range(seeds)]
    xs, ys = jnp.stack([d[0] for d in data]), jnp.stack([d[1] for d in data])
    keys = jax.random.split(jax.random.key(3), seeds)
    run = jax.jit(jax.vmap(lambda a, b, k: mine(a, b, key=k, config=config).estimate))
    t0 = time.perf_counter()
    est = np.asarray(run(xs, ys, keys))  # one call: compile + run (accuracy rows are not timings)
    return time.perf_counter() - t0, est


def accuracy_rows(rows, args):
    from cch_jax.mi import MINEConfig, tasks

    g55 = tasks.correlated_gaussian(5, 5, 0.6)
    cases = [
        ("5+5 rho 0.6", g55, MINEConfig(), "dv"),
        ("5+5 cube/asinh", tasks.transformed(g55), MINEConfig(), "dv"),
        ("5+5 cube/asinh", tasks.transformed(g55), MINEConfig(preprocess="zscore"), "dv, zscore"),
        ("5+5 independent", tasks.independent(5, 5), MINEConfig(), "dv"),
        ("1+1 rho 0.6", tasks.correlated_gaussian(1, 1, 0.6), MINEConfig(), "dv"),
        ("5+5 rho 0.6", g55, MINEConfig(bound="nwj"), "nwj"),
        (
            "5+5 rho 0.6",
            g55,
            MINEConfig(bound="infonce", batch_size=128, steps=1000),
            "infonce b128",
        ),
        ("5+5 rho 0.999", tasks.correlated_gaussian(5, 5, 0.999), MINEConfig(), "dv"),
    ]
    if args.quick:
        cases = cases[:2]
    for name, task, cfg, label in cases:
        wall, est = _accuracy(task, cfg, args.num_seeds)
        stats = _stats(est, task.mutual_information())
        stats["all_finite"] = bool(np.all(np.isfinite(est)))
        stats["wall_s_incl_compile"] = round(wall, 2)
        rows.append(
            Row(
                "mine-accuracy",
                f"cch_jax mine ({label})",
                {"case": name, "n": N, "steps": cfg.steps, "batch": cfg.batch_size},
                None,
                float(est.mean()),
                stats,
            )
        )


def latent_rows(rows, args):
    import jax
    import jax.numpy as jnp

    from cch_jax.mi import LatentMIConfig, ksg, latent_mi, tasks

    rho, var, n, seeds = 0.8, 10.0, 4000, 5
    cov = var * np.block([[np.eye(2), rho * np.eye(2)], [rho * np.eye(2), np.eye(2)]])
    task = tasks.embedded(tasks.multinormal(cov, 2), 64, 64, key=jax.random.key(42))
    truth = task.mutual_information()
    data = [task.sample(key=jax.random.key(100 + s), n=n) for s in range(seeds)]
    xs, ys = jnp.stack([d[0] for d in data]), jnp.stack([d[1] for d in data])
    keys = jax.random.split(jax.random.key(0), seeds)
    p = {"case": "64+64, MI in 2+2 directions (var 10)", "n": n}
    for label, cfg in (
        ("defaults 256-128-64", LatentMIConfig()),
        ("64-32-16", LatentMIConfig(hidden=(64, 32, 16))),
    ):
        run = jax.jit(jax.vmap(lambda a, b, k, c=cfg: latent_mi(a, b, key=k, config=c)))
        t0 = time.perf_counter()
        res = jax.block_until_ready(run(xs, ys, keys))
        stats = _stats(np.asarray(res.estimate), truth)
        stats["epochs"] = np.asarray(res.epochs).tolist()
        stats["wall_s_incl_compile"] = round(time.perf_counter() - t0, 2)
        rows.append(
            Row(
                "latent",
                f"cch_jax latent_mi ({label}), {seeds} seeds vmapped",
                p,
                None,
                stats["mean"],
                stats,
            )
        )
    timing, raw = time_call(lambda: ksg(xs, ys, k=3), repeats=1)
    rows.append(
        Row(
            "latent",
            f"cch_jax ksg on raw 64+64 (k=3), {seeds} datasets",
            p,
            timing,
            float(np.mean(raw)),
            _stats(np.asarray(raw), truth),
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer cases (smoke test)")
    ap.add_argument("--num-seeds", type=int, default=8, help="seeds per accuracy row")
    ap.add_argument("--num-bmi-seeds", type=int, default=5, help="bmi calls per bmi row")
    ap.add_argument("--no-bmi", action="store_true", help="skip the bmi rows")
    ap.add_argument("--sections", default="speed,seeds,accuracy,latent")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    rows: list[Row] = []
    _, one, x, y = speed_rows(rows, args)
    if "seeds" in sections:
        seeds_rows(rows, args, one, x, y)
    if "accuracy" in sections:
        accuracy_rows(rows, args)
    if "latent" in sections:
        latent_rows(rows, args)
    notes = (
        "Units: nats. ratio_vs_cch_jax = bmi median time / cch_jax median time for one estimate "
        "(bmi re-jits on every call; its first call also compiles). bmi returns the best held-out "
        "checkpoint; cch_jax the held-out bound of the final critic. Accuracy rows: independent "
        "samples and keys per seed, vmapped in one program (time = the whole batch, first call "
        "included)."
    )
    write_results("mine" if not args.quick else "mine_quick", rows, notes=notes)


if __name__ == "__main__":
    main()
