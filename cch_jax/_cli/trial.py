"""`cch trial`: will KD from this teacher help my student? Decided by training on the user's data."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

HELP = (
    "Will KD help on your data? Trains the student without KD, with KD and with KD from a "
    "random-control teacher over paired seeds, adding seeds until a sequential paired test calls "
    "distill / dont (or undecided at --max-seeds); cached and resumable."
)

# the library's argument names -> the flag a user typed
_FLAGS = {
    "max_seeds": "--max-seeds",
    "kd_weight": "--kd-weight",
    "temperature": "--temperature",
    "alpha": "--alpha",
    "spending": "--spending",
    "min_effect": "--min-effect",
    "max_epochs": "--max-epochs",
    "seed": "--seed",
    "teachers": "--teacher",
    "out": "--out",
}
_FILE_KEYS = ("x_student", "y", "train")
_TEACHER_KEYS = ("x_teacher", "logits_teacher")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        required=True,
        metavar="FILE.npz",
        help="x_student [n, ...], y [n], x_teacher[_NAME] (views to train teachers on) and/or "
        "logits_teacher[_NAME] [n, C] (your teachers' outputs), optional train [n] mask "
        "(docs/trial.md)",
    )
    p.add_argument(
        "--teacher",
        action="append",
        default=None,
        metavar="NAME",
        help="a teacher of the file to try (repeat; default: every teacher)",
    )
    p.add_argument(
        "--kd-weight", type=float, default=0.5, help="w in (1-w) CE + w T^2 KL (default 0.5)"
    )
    p.add_argument("--temperature", type=float, default=3.0, help="KD temperature T (default 3)")
    p.add_argument(
        "--max-seeds",
        type=int,
        default=10,
        help="most seeds per teacher; looks at 3, 5, 7, 10, then every 5 (default 10)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        help="family-wise error of a false distill/dont over all looks (default 0.05)",
    )
    p.add_argument(
        "--spending",
        default="obrien_fleming",
        help="how alpha is shared over the looks: obrien_fleming (default) or pocock",
    )
    p.add_argument(
        "--min-effect",
        type=float,
        default=None,
        metavar="POINTS",
        help="stop as undecided once the 95 %% interval of Δ_KD lies within ±POINTS accuracy "
        "points (default: never)",
    )
    p.add_argument(
        "--max-epochs",
        type=int,
        default=None,
        help="epoch cap of every run (default: from the training rows)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="cache folder; rerunning the command resumes (default results/trial/<file stem>)",
    )
    p.add_argument(
        "--json", default=None, metavar="OUT", help="write the result (schema cch-trial/1)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of split, teachers, students (default 0)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _flagged(message: str, data: str) -> str:
    """The library's message with the user's flag (or the data file) in front."""
    name, sep, rest = message.partition(":")
    if sep and name in _FLAGS:
        return f"{_FLAGS[name]}:{rest}"
    if sep and name == "path":
        return f"--data:{rest}"
    if sep and (name in _FILE_KEYS or name.startswith(_TEACHER_KEYS)):
        return f"--data {data}: {message}"
    return message


def run(args: argparse.Namespace) -> int:
    from cch_jax._cli import _io

    t_start = time.perf_counter()
    json_path = None if args.json is None else _io.output_file("--json", args.json)
    out = args.out if args.out is not None else Path("results/trial") / Path(args.data).stem
    say = None if args.quiet else (lambda s: print(f"cch trial: {s}", file=sys.stderr, flush=True))
    try:
        from cch_jax import bench, data

        config = bench.TrialConfig(
            kd_weight=args.kd_weight,
            temperature=args.temperature,
            max_seeds=args.max_seeds,
            alpha=args.alpha,
            spending=args.spending,
            min_effect=args.min_effect,
            max_epochs=args.max_epochs,
            seed=args.seed,
        )
        paired = data.load_paired_file(args.data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            result = bench.trial(paired, config, teachers=args.teacher, out=out, progress=say)
    except ValueError as err:
        raise ValueError(_flagged(str(err), args.data)) from None
    for w in caught:
        if issubclass(w.category, UserWarning) and str(w.message).startswith("WARNING"):
            print(f"cch trial: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    print(result.table())
    print()
    for t in result.teachers:
        print(t.advice())
    if say is not None:
        say(
            f"{len(result.trained)} result(s) trained, {len(result.cached)} read back from "
            f"{result.folder} ({time.perf_counter() - t_start:.1f} s)"
        )
    if json_path is not None:
        doc = result.to_dict()
        doc["files"] = {"data": str(args.data)}
        json_path.write_text(json.dumps(doc, indent=2) + "\n")
        if say is not None:
            say(f"wrote {json_path}")
    return 0
