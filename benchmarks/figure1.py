"""Figure 1: the whole `cch figure1` process, and its simulation against NumPy loops.

Usage:  python benchmarks/figure1.py [--repeats 5]

Rows (all on this machine, in one run):
  - `cch figure1` as a process, launch to files written (compile included), median of --repeats.
  - the compiled JAX simulation (50 seeds x 41 gaps x 12 KD weights): compile and steady-state time.
  - a straightforward NumPy loop over seeds and gap values on the same draws (Gram matrix and solve
    per seed and gap), and a tuned NumPy variant (one Cholesky per seed, all gaps in one solve).
Both NumPy versions get the same random draws as the JAX simulation; the table reports the largest
difference of the simulated risks (float32 JAX vs float64 NumPy).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
from _harness import Row, time_call, time_command, write_results

from cch_jax.figure1 import Figure1Config, draw, lstsq_solver, simulate_risks


def numpy_loop(x2s, zs, a, b, kd_weights, sigma2):
    """Straightforward: for each seed and gap, solve the normal equations for y and t."""
    seeds, gaps = x2s.shape[0], a.shape[0]
    out = np.empty((seeds, gaps, kd_weights.shape[0]))
    for i in range(seeds):
        x2, e = x2s[i], np.sqrt(sigma2) * zs[i]
        s = x2[:, 0]
        y = s + e
        for g in range(gaps):
            t = a[g] * s + b[g] * e
            w_y, w_t = np.linalg.solve(x2.T @ x2, x2.T @ np.stack([y, t], axis=1)).T
            for j, kd_weight in enumerate(kd_weights):
                w = (1 - kd_weight) * w_y + kd_weight * w_t
                w[0] -= 1.0
                out[i, g, j] = sigma2 + w @ w
    return out


def numpy_tuned(x2s, zs, a, b, kd_weights, sigma2):
    """One Cholesky per seed; every gap's right-hand side solved at once; kd_weight vectorised."""
    seeds = x2s.shape[0]
    out = np.empty((seeds, a.shape[0], kd_weights.shape[0]))
    for i in range(seeds):
        x2, e = x2s[i], np.sqrt(sigma2) * zs[i]
        s = x2[:, 0]
        y = s + e
        t = a[:, None] * s[None, :] + b[:, None] * e[None, :]  # [G, n]
        chol = scipy.linalg.cho_factor(x2.T @ x2, lower=True)
        w = scipy.linalg.cho_solve(
            chol, x2.T @ np.concatenate([y[:, None], t.T], axis=1)
        )  # [d, 1+G]
        w_y, w_t = w[:, 0], w[:, 1:].T  # [d], [G, d]
        ws = (1 - kd_weights)[None, :, None] * w_y[None, None, :] + kd_weights[None, :, None] * w_t[
            :, None, :
        ]
        ws[..., 0] -= 1.0
        out[i] = sigma2 + np.sum(ws**2, axis=-1)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    config = Figure1Config()
    rows: list[Row] = []
    params = dict(
        seeds=config.num_seeds,
        gaps=config.num_gaps,
        kd_weights=len(config.kd_weights()),
        n=config.n,
        d=config.d,
    )

    # 1. The whole process.
    cch = shutil.which("cch") or str(Path(sys.executable).with_name("cch"))
    out = tempfile.mkdtemp(prefix="cch-fig1-")
    proc = time_command([cch, "figure1", "--out", out], repeats=args.repeats)
    rows.append(
        Row(
            name="cch figure1 (process, compile included)",
            impl="cch_jax",
            params=params,
            timing=proc,
            extra={"goal_s": 5.0},
        )
    )

    # 2. The compiled simulation on fixed draws, and the NumPy loops on the same draws.
    draws = draw(key=jax.random.key(0), num_seeds=config.num_seeds, n=config.n, d=config.d)
    gaps, kd_weights = config.gaps(), config.kd_weights()
    a = np.sqrt(np.maximum(1.0 + config.sigma2 - config.sigma2 * np.exp(-2.0 * gaps), 0.0))
    b = np.sqrt(np.maximum(1.0 + config.sigma2 - a**2, 0.0) / config.sigma2)
    a32, mus32 = jnp.asarray(a, jnp.float32), jnp.asarray(kd_weights, jnp.float32)
    jax_timing, jax_risks = time_call(
        lambda: simulate_risks(draws, a32, mus32, config.sigma2, lstsq_solver), repeats=args.repeats
    )
    x2s, zs = np.asarray(draws.x2, np.float64), np.asarray(draws.z, np.float64)
    loop_timing, loop_risks = time_call(
        lambda: numpy_loop(x2s, zs, a, b, kd_weights, config.sigma2),
        repeats=max(args.repeats // 2, 1),
    )
    tuned_timing, tuned_risks = time_call(
        lambda: numpy_tuned(x2s, zs, a, b, kd_weights, config.sigma2), repeats=args.repeats
    )
    jax_risks = np.asarray(jax_risks)
    diff_loop = float(np.max(np.abs(jax_risks - loop_risks)))
    diff_tuned = float(np.max(np.abs(tuned_risks - loop_risks)))
    jax_row = Row(
        name="simulation",
        impl="cch_jax (jit, vmap)",
        params=params,
        timing=jax_timing,
        extra={"max_abs_diff_vs_numpy_loop": diff_loop},
    )
    loop_row = Row(
        name="simulation",
        impl="numpy loop (solve per seed x gap)",
        params=params,
        timing=loop_timing,
    )
    tuned_row = Row(
        name="simulation",
        impl="numpy tuned (Cholesky per seed)",
        params=params,
        timing=tuned_timing,
        extra={"max_abs_diff_vs_numpy_loop": diff_tuned},
    )
    for r in (loop_row, tuned_row):
        r.extra["cch_jax_speedup"] = round(r.timing.median_s / jax_row.timing.median_s, 2)
        r.extra["cch_jax_speedup_incl_compile"] = round(
            r.timing.median_s / jax_row.timing.first_s, 2
        )
    rows += [jax_row, loop_row, tuned_row]

    notes = (
        f"`cch figure1` process median {proc.median_s:.2f} s (goal <= 5 s). Simulation: cch_jax "
        f"{jax_timing.median_s * 1e3:.1f} ms steady state ({jax_timing.first_s:.2f} s first call incl. "
        f"compile); NumPy loop {loop_timing.median_s:.2f} s -> {loop_row.extra['cch_jax_speedup']}x; "
        f"tuned NumPy {tuned_timing.median_s:.3f} s -> {tuned_row.extra['cch_jax_speedup']}x. Same draws: "
        f"largest |risk difference| {diff_loop:.2e} (float32 vs float64)."
    )
    write_results("figure1", rows, notes=notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
