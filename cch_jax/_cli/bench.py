"""`cch bench`: the benchmark of KD outcomes, one dataset (or a user's file) per call, and its
leaderboard."""

from __future__ import annotations

import argparse
import shlex
import sys
import time

HELP = (
    "Benchmark of KD outcomes: train students to convergence without KD, with KD and with a "
    "random-control teacher over seeds for every setting of a dataset (cached, resumable), score "
    "the predictors; 'cch bench leaderboard' ranks them. 'cch bench --data FILE.npz' runs it on "
    "your own paired file."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from cch_jax._bench_names import DATASET_NAMES  # standard library only: no JAX yet

    p.add_argument(
        "dataset",
        nargs="?",
        default=None,
        help=f"one of {', '.join(DATASET_NAMES)}, or 'leaderboard' (score every predictor on the "
        "settings tables under --out); leave it out with --data",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="FILE.npz",
        help="your own paired file instead of a built-in dataset: x_student [n, ...], y [n], "
        "x_teacher_NAME (views to train teachers on) and/or logits_teacher_NAME [n, C] (your "
        "teachers' outputs), optional train [n] mask (the layout of cch trial, docs/trial.md)",
    )
    p.add_argument(
        "--name",
        default=None,
        help="with --data: the dataset name its results go under (default: the file's stem)",
    )
    p.add_argument(
        "--out", default="results/bench", help="benchmark folder (default results/bench)"
    )
    p.add_argument("--num-seeds", type=int, default=10, help="student seeds 0..N-1 (default 10)")
    p.add_argument(
        "--size", default="cpu", help="cpu (default: the 2-core CPU sizes) or full (GPU sizes)"
    )
    p.add_argument(
        "--phase",
        default="all",
        help="all (default: train, then score), train, score (predictors on cached inputs), or "
        "record (only the trial record's runs, merged into a finished dataset's table)",
    )
    p.add_argument("--kd-weights", default="0.1,0.5", help="KD weights (default 0.1,0.5)")
    p.add_argument("--temperature", type=float, default=3.0, help="KD temperature (default 3)")
    p.add_argument("--alpha", type=float, default=0.05, help="paired-test level (default 0.05)")
    p.add_argument(
        "--allow-low-power",
        action="store_true",
        help="run even when --num-seeds makes p < alpha impossible (warned loudly, also in the report)",
    )
    p.add_argument("--pilot-fraction", type=float, default=0.25, help="pilot share of rows")
    p.add_argument("--pilot-seeds", type=int, default=3, help="pilot seeds (default 3)")
    p.add_argument(
        "--record-seeds",
        type=int,
        default=10,
        help="seeds of the trial record's full-data runs (default 10; 0: no record)",
    )
    p.add_argument("--max-epochs", type=int, default=None, help="override the dataset's cap")
    p.add_argument("--patience", type=int, default=None, help="override the dataset's patience")
    p.add_argument("--seed", type=int, default=0, help="seed of split, degradations, teachers")
    p.add_argument("--predictors", default=None, help="predictors to score (default: all)")
    p.add_argument("--rescore", action="store_true", help="forget cached predictor scores")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _floats(name: str, text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _leaderboard(args: argparse.Namespace) -> int:
    from cch_jax import _checks
    from cch_jax.bench import _board_files, _table

    out = _checks.check_output_dir("out", args.out)
    combined = _table.write_combined(out)
    if not combined.exists():
        raise ValueError(f"out: {out} holds no <dataset>/settings.csv; run cch bench DATASET first")
    rows = _board_files.read_settings(combined)
    paths = _board_files.write_leaderboard(rows, out)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


def _dataset_and_data(args: argparse.Namespace) -> tuple[str, str | None]:
    """(dataset name, --data or None) from the positional name, --data and --name."""
    from pathlib import Path

    if args.data is None:
        if args.name is not None:
            raise ValueError("name: only with --data FILE.npz (a built-in dataset has its name)")
        if args.dataset is None:
            raise ValueError("dataset: expected a dataset name, 'leaderboard' or --data FILE.npz")
        return args.dataset, None
    if args.dataset is not None:
        raise ValueError(
            f"data: give either a dataset ({args.dataset!r}) or --data FILE.npz, not both (the "
            f"file's results are named by --name)"
        )
    return (args.name if args.name is not None else Path(args.data).stem), args.data


def _config(args: argparse.Namespace, dataset: str, data: str | None):
    """The :class:`cch_jax.bench.BenchConfig` from the flags; a file's name errors name --name."""
    from cch_jax import bench

    try:
        return bench.BenchConfig(
            dataset=dataset,
            size=args.size,
            num_seeds=args.num_seeds,
            kd_weights=_floats("kd_weights", args.kd_weights),
            temperature=args.temperature,
            alpha=args.alpha,
            allow_low_power=args.allow_low_power,
            pilot_fraction=args.pilot_fraction,
            pilot_seeds=args.pilot_seeds,
            record_seeds=args.record_seeds,
            max_epochs=args.max_epochs,
            patience=args.patience,
            seed=args.seed,
            data=data,
        )
    except ValueError as err:
        text = str(err)
        if data is not None and text.startswith("dataset:"):
            raise ValueError("name:" + text.removeprefix("dataset:")) from None
        raise


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.dataset == "leaderboard" and args.data is None:
        return _leaderboard(args)
    from cch_jax import _checks, bench

    dataset, data = _dataset_and_data(args)
    if data is None:
        dataset = _checks.check_choice("dataset", dataset, bench.DATASET_NAMES + ("leaderboard",))
    config = _config(args, dataset, data)
    names = None
    if args.predictors:
        names = tuple(v.strip() for v in args.predictors.split(",") if v.strip())
    progress = None if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    result = bench.run_bench(
        config,
        out=args.out,
        phase=args.phase,
        predictor_names=names,
        rescore=args.rescore,
        progress=progress,
    )
    command = "cch " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    path = result.folder / "command.txt"  # every command that wrote this folder, in order
    done = path.read_text().splitlines() if path.exists() else []
    if command not in done:
        path.write_text("\n".join([*done, command]) + "\n")
    rows = result.rows
    sig = sum(r["outcome_kd"] != "none" for r in rows)
    print(
        f"{dataset}: {len(rows)} settings, {sig} with a significant KD effect; "
        f"{result.folder / 'settings.csv'}, {result.folder / 'report.md'} "
        f"({time.perf_counter() - start:.0f} s)"
    )
    if result.info.get("power_warning"):
        print(result.info["power_warning"], file=sys.stderr)
    return 0
