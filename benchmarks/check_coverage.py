"""Coverage and bias of ``cch check`` on known-answer triples (many independent replications).

Usage:
  python benchmarks/check_coverage.py [--reps 30] [--n 2000] [--dim 32]
      [--pairings ksg:auto,ksg:probe] [--trained-reps 3] [--name check_coverage]
  python benchmarks/check_coverage.py --pairings "" --trained-reps 2 --name check_coverage_trained

For each target (classes, continuous) and each replication r, one student/label sample and five
teachers with known gaps (-0.4, -0.2, 0, +0.2, +0.4 nats; ``mi.tasks.cch_triple``, all sharing the
student) are drawn with key r, and ``criterion.check`` runs once with its defaults (8 subsamples of
50%, 90% intervals). Reported per (target, pairing, gap), over the replications:

- bias of each term (mean estimate - truth, and in % of the truth);
- coverage: how often the 90% subsampling interval of I(Ht;Hs), of I(Hs;Y) and of the gap
  contains the truth, and how often the verdict interval (gap interval widened by the bias
  allowance) contains the true gap;
- verdicts: fraction holds / undecided / fails (right: holds when gap > 0, fails when < 0,
  undecided at 0).

``--trained-reps`` runs the MINE and latent estimators too, on fewer replications (they train
networks: minutes per replication on a 2-core CPU). Writes benchmarks/results/check_coverage.{json,md}.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, write_results  # noqa: E402

GAPS = (-0.4, -0.2, 0.0, 0.2, 0.4)


def _replicate(target, rep, n, dim, estimators, label_estimator):
    import jax

    from cch_jax import criterion
    from cch_jax.mi import tasks

    teachers, truth = {}, {}
    for g in GAPS:
        task = tasks.cch_triple(g, target=target, dim_teacher=dim, dim_student=dim)
        ht, hs, y = task.sample(key=jax.random.key(1000 + rep), n=n)
        name = f"{g:+.1f}"
        teachers[name] = np.asarray(ht)
        truth[name] = (task.mi_teacher_student(), task.mi_student_label(), task.gap())
    cfg = criterion.CheckConfig(label_estimator=label_estimator)
    res = criterion.check(
        np.asarray(hs), np.asarray(y), teachers, key=jax.random.key(rep), label_kind=target,
        estimators=estimators, config=cfg,
    )  # fmt: skip
    return res.rows(), truth


def _summarise(records, truth):
    """records: list of row dicts for one (target, pairing, estimator, gap)."""
    ts_true, sl_true, gap_true = truth

    def cover(lo, hi, t):
        return float(np.mean([(r[lo] <= t <= r[hi]) for r in records]))

    ts = np.array([r["mi_teacher_student"] for r in records])
    sl = np.array([r["mi_student_label"] for r in records])
    gap = np.array([r["gap"] for r in records])
    sampling = [
        (r["gap_low"] + r["bias_allowance"] <= gap_true <= r["gap_high"] - r["bias_allowance"])
        for r in records
    ]
    verdicts = [r["verdict"] for r in records]
    right = "holds" if gap_true > 1e-9 else ("fails" if gap_true < -1e-9 else "undecided")
    return {
        "reps": len(records),
        "true_ts": round(ts_true, 4),
        "true_sl": round(sl_true, 4),
        "bias_ts": round(float(ts.mean() - ts_true), 4),
        "bias_ts_pct": round(100 * float(ts.mean() - ts_true) / ts_true, 1),
        "bias_sl": round(float(sl.mean() - sl_true), 4),
        "bias_sl_pct": round(100 * float(sl.mean() - sl_true) / sl_true, 1),
        "bias_gap": round(float(gap.mean() - gap_true), 4),
        "sd_gap": round(float(gap.std(ddof=1)) if len(gap) > 1 else 0.0, 4),
        "cover_ts": round(cover("mi_teacher_student_low", "mi_teacher_student_high", ts_true), 3),
        "cover_sl": round(cover("mi_student_label_low", "mi_student_label_high", sl_true), 3),
        "cover_gap_sampling": round(float(np.mean(sampling)), 3),
        "cover_gap_verdict": round(cover("gap_low", "gap_high", gap_true), 3),
        "holds": round(verdicts.count("holds") / len(verdicts), 3),
        "undecided": round(verdicts.count("undecided") / len(verdicts), 3),
        "fails": round(verdicts.count("fails") / len(verdicts), 3),
        "right_verdict": round(verdicts.count(right) / len(verdicts), 3),
    }


def run(target, pairing_label, estimators, reps, n, dim):
    by_key: dict = {}
    truths = {}
    t0 = time.perf_counter()
    for rep in range(reps):
        rows, truth = _replicate(target, rep, n, dim, estimators, pairing_label)
        truths.update(truth)
        for r in rows:
            by_key.setdefault((r["estimator"], r["teacher"]), []).append(r)
        print(
            f"  {target} {'+'.join(estimators)}:{pairing_label} rep {rep + 1}/{reps} "
            f"({time.perf_counter() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    out = []
    for (est, teacher), records in by_key.items():
        stats = _summarise(records, truths[teacher])
        out.append(
            Row(
                name=f"{target} gap {teacher}",
                impl=f"{est}:{records[0]['label_estimator']}",
                params={"target": target, "gap": float(teacher), "n": n, "dim": dim},
                value=stats["right_verdict"],
                extra=stats,
            )
        )
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--dim", type=int, default=32)
    p.add_argument("--pairings", default="ksg:auto,ksg:probe")
    p.add_argument("--trained-reps", type=int, default=0, help="replications for mine and latent")
    p.add_argument("--name", default="check_coverage", help="results/<name>.{json,md}")
    args = p.parse_args(argv)
    rows = []
    t0 = time.perf_counter()
    for target in ("classes", "continuous"):
        for pairing in filter(None, args.pairings.split(",")):
            est, label = pairing.split(":")
            if label == "probe" and target == "continuous":
                continue
            rows += run(target, label, (est,), args.reps, args.n, args.dim)
        if args.trained_reps:
            rows += run(target, "auto", ("mine", "latent"), args.trained_reps, args.n, args.dim)
    cmd = "python benchmarks/check_coverage.py " + " ".join(argv or sys.argv[1:])
    notes = (
        f"Command: `{cmd.strip()}` ({time.perf_counter() - t0:.0f} s wall). Known-answer triples "
        f"`mi.tasks.cch_triple(gap, dim_teacher={args.dim}, dim_student={args.dim})` with n = "
        f"{args.n}, all five gaps sharing one student per replication; `criterion.check` defaults "
        "(8 subsamples of 50%, 90% intervals, bias allowance 10% of the larger term). `value` = "
        "fraction of right verdicts (holds for gap > 0, fails for gap < 0, undecided at 0). "
        "cover_* = fraction of replications whose 90% interval contains the truth (nominal 0.90): "
        "cover_gap_sampling is the subsampling interval alone, cover_gap_verdict the interval the "
        "verdict uses (widened by the allowance)."
    )
    write_results(args.name, rows, notes=notes)


if __name__ == "__main__":
    main()
