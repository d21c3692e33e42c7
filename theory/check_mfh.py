"""Checks the MFH family's known answer (theory/mfh.md) against simulation.

Usage:  python theory/check_mfh.py [--reps 400] [--out theory/check_mfh_results.md]

For every teacher of the bench's family (cch_jax/bench/_mfh.py) and kd_weight 0.1 and 0.5, draws
``reps`` training sets of n rows, fits the no-KD and the KD student exactly (damped Newton on the
mean KD loss, no regularisation: the estimator the formula is about) on the same rows and scores
both by their exact population accuracy. Reports, per setting and n, the formula's Δ, the simulated
mean Δ ± its standard error, the bias (simulated − formula), the spread (standard deviation of Δ
over training sets) and how often one training set's Δ has the formula's sign. n is the bench's
fit size (600) and 2400 (where the 1/n term should dominate).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from cch_jax.bench import _mfh
from cch_jax.theory import _mfh as mfh


def simulate(model, n: int, reps: int, weights, rng, chunk: int = 50) -> dict:
    """Δ per training set, ``{w: [reps]}`` (points), and the no-KD accuracy loss [reps]."""
    deltas = {w: [] for w in weights}
    loss0 = []
    bayes = mfh.bayes_accuracy(mfh.separations(model)["student"])
    for start in range(0, reps, chunk):
        r = min(chunk, reps - start)
        smp = [mfh.sample(model, n, rng) for _ in range(r)]
        x = np.stack([s.latent_student for s in smp])
        y = np.stack([s.y for s in smp])
        lt = np.stack([s.teacher_logit for s in smp])
        acc0 = mfh.student_accuracy(model, mfh.fit_students(x, y, lt, 0.0))
        loss0.append(bayes - acc0)
        for w in weights:
            acc = mfh.student_accuracy(model, mfh.fit_students(x, y, lt, w))
            deltas[w].append(acc - acc0)
    return {w: np.concatenate(v) for w, v in deltas.items()}, np.concatenate(loss0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--sizes", type=int, nargs="+", default=[_mfh.FIT_ROWS, 4 * _mfh.FIT_ROWS])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--k-n", type=int, default=None, help="nuisance features (default: the bench's)"
    )
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    teachers, _ = _mfh.teachers_and_students()
    weights = (0.1, 0.5)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    lines = [
        "# MFH family: the known answer against simulation",
        "",
        f"`python theory/check_mfh.py {' '.join(sys.argv[1:] if argv is None else argv)}`; every row is "
        f"{args.reps} training sets. Δ in accuracy points; 'mean ± se' is the simulated mean Δ of "
        "the exact (unregularised) M-estimators and its standard error, 'bias' = mean − formula, "
        "'sd' = spread of Δ over training sets, 'sign' = share of training sets whose Δ has the "
        "formula's sign.",
        "",
    ]
    summary = []
    for n in args.sizes:
        lines += [
            f"## n = {n} fit rows (d_s = {_mfh.DIMS['k_g'] + (args.k_n or _mfh.DIMS['k_n'])})",
            "",
            "| teacher | acc_t | gamma | w | formula | mean ± se | bias | bias/se | sd | sign |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        loss_rows = []
        for t in teachers:
            model = _mfh.model_of(t)
            if args.k_n is not None:
                model = model._replace(k_n=args.k_n)
            sep = mfh.separations(model)
            d, loss0 = simulate(model, n, args.reps, weights, rng)
            loss_rows.append(loss0)
            for w in weights:
                th = mfh.theory_delta(model, w, n)
                v = d[w]
                mean, se, sd = v.mean(), v.std(ddof=1) / np.sqrt(v.size), v.std(ddof=1)
                sign = np.mean(np.sign(v) == np.sign(th))
                summary.append((n, th, mean, se))
                lines.append(
                    f"| {t.name} | {mfh.bayes_accuracy(sep['teacher']):.1f} | "
                    f"{mfh.gamma(model) if sep['teacher'] > 0 else float('nan'):.2f} | {w:g} | "
                    f"{th:+.3f} | {mean:+.3f} ± {se:.3f} | {mean - th:+.3f} | "
                    f"{(mean - th) / se:+.1f} | {sd:.3f} | {sign:.2f} |"
                )
            print(f"n={n} {t.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        m0 = _mfh.model_of(teachers[0])
        if args.k_n is not None:
            m0 = m0._replace(k_n=args.k_n)
        loss = np.concatenate(loss_rows)
        formula0 = mfh.accuracy_loss_factor(m0) * mfh.direction_variance(m0, 0.0) / n
        lines += [
            "",
            f"No-KD accuracy loss below Bayes ({mfh.bayes_accuracy(mfh.separations(m0)['student']):.2f}"
            f" %): formula {formula0:.3f}, simulated {loss.mean():.3f} ± "
            f"{loss.std(ddof=1) / np.sqrt(loss.size):.3f} points.",
            "",
        ]
    lines.append("## Summary")
    lines.append("")
    for n in args.sizes:
        rows = [(th, m, se) for nn, th, m, se in summary if nn == n]
        th, m, se = (np.asarray(c) for c in zip(*rows, strict=True))
        agree = np.mean(np.sign(th) == np.sign(m))
        lines.append(
            f"- n = {n}: sign of the simulated mean Δ = the formula's in {int(agree * th.size)} of "
            f"{th.size} settings; bias mean {np.mean(m - th):+.3f}, range "
            f"[{np.min(m - th):+.3f}, {np.max(m - th):+.3f}] points; corr(formula, simulated) "
            f"{np.corrcoef(th, m)[0, 1]:.3f}."
        )
    lines += ["", f"Wall time {time.perf_counter() - t0:.0f} s.", ""]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
