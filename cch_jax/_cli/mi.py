"""`cch mi`: estimate I(X; Y) between two .npy files with KSG (or Ross's estimator for labels)."""

from __future__ import annotations

import argparse
import json
import sys
import warnings

HELP = "Estimate the mutual information between two .npy arrays (KSG, or class labels), in nats."


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("x", help="samples of X: .npy (or file.npz:key) of shape [n] or [n, dx]")
    p.add_argument(
        "y",
        help="samples of Y: .npy (or file.npz:key) [n] or [n, dy]; integer labels with --labels",
    )
    p.add_argument("--k", type=int, default=3, help="neighbours (default 3)")
    p.add_argument(
        "--metric",
        default=None,
        help="KSG: max (default) or bmi; --labels: euclidean (default) or max",
    )
    p.add_argument(
        "--labels", action="store_true", help="Y holds integer class labels (Ross's estimator)"
    )
    p.add_argument("--no-standardize", action="store_true", help="use the raw coordinates")
    p.add_argument(
        "--ties",
        default="jitter",
        choices=("jitter", "error", "keep"),
        help="columns with many tied values (discrete data): jitter (default, with a note), "
        "error, or keep (the raw estimator)",
    )
    p.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="write one JSON object to FILE (without FILE, or '-': print it)",
    )


def run(args: argparse.Namespace) -> int:
    from cch_jax._cli import _io

    json_path = None if args.json in (None, "-") else _io.output_file("--json", args.json)
    x = _io.load_array("x", args.x, ndims=(1, 2))
    y = _io.load_array("y", args.y, ndims=(1, 2))

    import cch_jax.mi as mi
    from cch_jax import InputWarning

    standardize = not args.no_standardize
    options = dict(k=args.k, standardize=standardize, ties=args.ties)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        if args.labels:
            metric = args.metric or "euclidean"
            value = mi.ksg_labels(x, y, metric=metric, **options)
            estimator = "ross"
        else:
            metric = args.metric or "max"
            value = mi.ksg(x, y, metric=metric, **options)
            estimator = "ksg"
        nats = float(value)
    for w in caught:
        if issubclass(w.category, InputWarning):
            print(f"cch mi: note: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    bits = float(mi.nats_to_bits(nats))
    if args.json is not None:
        out = {"estimator": estimator, "k": args.k, "metric": metric, "n": int(x.shape[0])}
        text = json.dumps({**out, "mi_nats": nats, "mi_bits": bits})
        if json_path is None:
            print(text)
        else:
            json_path.write_text(text + "\n")
            print(f"wrote {json_path}")
    else:
        print(f"I(X; Y) = {nats:.6f} nats ({bits:.6f} bits)  [{estimator}, k={args.k}, {metric}]")
    return 0
