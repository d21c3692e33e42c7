"""`cch check`: should I distill from this teacher? The CCH gap per teacher, with intervals."""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

HELP = "Should I distill from these teachers? The CCH gap I(Ht;Hs) - I(Hs;Y) with a verdict."


def _progress_printer(stream, width: int = 24):
    """A ``progress`` callable for :func:`cch_jax.criterion.check`: the package's one progress
    display (:class:`cch_jax._progress.ProgressLine`): on a terminal one redrawn bar
    ``[#####-----] i/N`` for the ``[i/N]`` step messages; elsewhere one plain line per message."""
    from cch_jax._progress import ProgressLine

    return ProgressLine(stream, prefix="cch check: ", width=width).message


def add_arguments(p: argparse.ArgumentParser) -> None:
    from cch_jax._estimator_names import LABELS as labels  # standard library only: no JAX yet
    from cch_jax._estimator_names import PAIR as pair

    p.add_argument(
        "--student", required=True, help="student representations H_s [n, d_s]: .npy or .npz:key"
    )
    p.add_argument(
        "--labels",
        required=True,
        help="labels Y [n] (classes, or continuous with --label-kind continuous): .npy or .npz:key",
    )
    p.add_argument(
        "--teacher",
        action="append",
        required=True,
        metavar="NAME=FILE",
        help="a candidate teacher's representations H_t [n, d_t], e.g. rgb=h_rgb.npy or "
        "depth=h.npz:feats (repeat for several teachers)",
    )
    p.add_argument(
        "--estimators",
        default="ksg",
        help=f"comma-separated estimators of I(Ht;Hs): {', '.join(pair)} (default ksg)",
    )
    p.add_argument(
        "--label-estimator",
        default="auto",
        help="estimator of I(Hs;Y): auto (ross for classes, ksg for continuous), "
        f"{', '.join(labels)} (classes), or {', '.join(pair)} on the labels",
    )
    p.add_argument(
        "--label-kind",
        "--target",
        dest="label_kind",
        default="classes",
        help="what --labels holds: classes (default) or continuous (--target is the former name)",
    )
    p.add_argument(
        "--max-rows",
        type=int,
        default=20_000,
        help="rows beyond this are randomly subsampled, with a note (default 20000)",
    )
    p.add_argument(
        "--standardize",
        action="store_true",
        help="divide every column by its standard deviation first (columns in different units)",
    )
    p.add_argument("--repeats", type=int, default=8, help="subsamples per interval (default 8)")
    p.add_argument("--level", type=float, default=0.9, help="interval level (default 0.9)")
    p.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help="write the result as JSON (schema cch-check/2, docs/json-schema.md)",
    )
    p.add_argument(
        "--plot", default=None, metavar="FILE", help="write a forest plot of the gaps (PNG)"
    )
    p.add_argument(
        "--teacher-logits",
        action="append",
        default=[],
        metavar="NAME=FILE",
        help="a teacher's own outputs [n, C] (logits) for the rows given, used by the predictors "
        "that read teacher outputs instead of a linear probe's (repeat per teacher)",
    )
    p.add_argument(
        "--predictors",
        default=None,
        metavar="NAMES",
        help="also compute these predictors (comma-separated, or 'all'; grace only when named), "
        "each with its benchmark record, threshold and interval; by default only predictors the "
        "benchmark validated are computed",
    )
    p.add_argument(
        "--kd-weight",
        type=float,
        default=0.5,
        help="the KD weight w you plan, (1-w) CE + w T^2 KL (default 0.5); read by the predictors",
    )
    p.add_argument(
        "--temperature", type=float, default=3.0, help="the KD temperature T you plan (default 3)"
    )
    p.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="training rows the KD student will see (default: the rows given)",
    )
    p.add_argument(
        "--no-advice",
        action="store_true",
        help="the CCH verdicts only: no benchmark records, no recommendation",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _parse_teachers(specs: list[str], flag: str = "--teacher") -> dict[str, str]:
    teachers: dict[str, str] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name = name.strip()
        if not sep or not name or not path:
            raise ValueError(f"{flag}: expected NAME=FILE (e.g. rgb=h_rgb.npy), got {spec!r}")
        if name in teachers:
            raise ValueError(f"{flag}: the name {name!r} is given twice; names must be unique")
        if name in ("student", "labels"):
            raise ValueError(f"--teacher: {name!r} is reserved; use another teacher name")
        teachers[name] = path
    return teachers


def run(args: argparse.Namespace) -> int:
    from cch_jax._cli import _io

    t_start = time.perf_counter()
    teachers_spec = _parse_teachers(args.teacher)
    from cch_jax import mi

    estimators = tuple(e.strip() for e in args.estimators.split(",") if e.strip())
    estimators = mi.check_names("--estimators", estimators, kind="pair")
    if args.label_kind not in ("classes", "continuous"):
        raise ValueError(f"--label-kind: expected classes or continuous, got {args.label_kind!r}")
    from cch_jax import _checks

    _checks.check_real("--kd-weight", args.kd_weight, low=0.0, high=1.0, low_open=True)
    _checks.check_real("--temperature", args.temperature, low=0.0, low_open=True)
    if args.n_train is not None:
        _checks.check_int("--n-train", args.n_train, minimum=1)
    json_path = None if args.json is None else _io.output_file("--json", args.json)
    plot_path = None if args.plot is None else _io.output_file("--plot", args.plot)

    files = {"student": args.student, "labels": args.labels}
    arrays = {"student": _io.open_array("--student", args.student, ndims=(1, 2))}
    labels = _io.open_array("--labels", args.labels, ndims=(1, 2))
    teachers = {}
    for name, spec in teachers_spec.items():
        teachers[name] = _io.open_array(f"--teacher {name}", spec, ndims=(1, 2))
        files[f"teacher {name!r}"] = spec
    rows = {f"--student {args.student}": arrays["student"].shape[0]}
    rows[f"--labels {args.labels}"] = labels.shape[0]
    for name, spec in teachers_spec.items():
        rows[f"--teacher {name}={spec}"] = teachers[name].shape[0]
    if len(set(rows.values())) > 1:
        desc = ", ".join(f"{k} has {v}" for k, v in rows.items())
        raise ValueError(f"rows: every file needs one row per example, but {desc}")
    load_s = time.perf_counter() - t_start

    import jax

    from cch_jax._warnings import InputWarning
    from cch_jax.criterion import CheckConfig, check

    logit_specs = _parse_teachers(args.teacher_logits, "--teacher-logits")
    for name in logit_specs:
        if name not in teachers:
            raise ValueError(
                f"--teacher-logits: {name!r} is not a --teacher name ({', '.join(teachers)})"
            )
    teacher_logits = {
        name: _io.open_array(f"--teacher-logits {name}", spec, ndims=(2,))
        for name, spec in logit_specs.items()
    }
    for name, z in teacher_logits.items():
        if z.shape[0] != labels.shape[0]:
            raise ValueError(
                f"--teacher-logits {name}: {z.shape[0]} rows, but --labels has {labels.shape[0]}"
            )
    config = CheckConfig(
        max_rows=args.max_rows,
        repeats=args.repeats,
        level=args.level,
        label_estimator=args.label_estimator,
        standardize=args.standardize,
    )
    progress = False if args.quiet else _progress_printer(sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        try:
            result = check(
                arrays["student"],
                labels,
                teachers,
                key=jax.random.key(args.seed),
                label_kind=args.label_kind,
                estimators=estimators,
                config=config,
                progress=progress,
            )
        except ValueError as err:
            raise ValueError(_with_file(str(err), files)) from None
    for w in caught:
        if not issubclass(w.category, InputWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    advice = None
    if not args.no_advice:
        advice = _advise(args, result, arrays["student"], labels, teachers, teacher_logits)
    print(result.table())
    if advice is not None:
        print("\n" + "\n".join(_advice_lines(advice)))
    timings = {"load": load_s, **result.timings_s}
    if advice is not None:
        timings["predictors"] = advice.seconds
    if json_path is not None:
        out = result.to_dict()
        out["advice"] = None if advice is None else _advice_json(advice)
        out["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
        out["compile_cache"] = args.compile_cache()
        out["files"] = files
        json_path.write_text(json.dumps(out, indent=2) + "\n")
        print(f"cch check: wrote {json_path}", file=sys.stderr)
    if plot_path is not None:
        result.plot(plot_path)
        print(f"cch check: wrote {plot_path}", file=sys.stderr)
    return 0


def _advise(args, result, student, labels, teachers, teacher_logits):
    """The recommendation per teacher (:func:`cch_jax.predictors.advise`): the validated
    predictors, and those asked for with ``--predictors``, on all rows, or on a uniform subsample
    of as many rows as the check used when it subsampled (drawn with ``--seed``, not the check's
    own rows)."""
    import jax
    import numpy as np

    from cch_jax import predictors

    rows = np.arange(labels.shape[0])
    if result.n_rows < result.n_input:  # the check subsampled: advise on as many rows
        rows = np.sort(np.random.default_rng(args.seed).permutation(rows)[: result.n_rows])
    if result.num_classes is not None:
        _, y = np.unique(np.asarray(labels)[rows], return_inverse=True)
    else:
        y = np.asarray(labels, np.float64)[rows]
    return predictors.advise(
        np.asarray(student)[rows],
        y,
        {t: np.asarray(h)[rows] for t, h in teachers.items()},
        key=jax.random.fold_in(jax.random.key(args.seed), 0x41445649),
        num_classes=result.num_classes,
        check_result=result,
        teacher_logits={t: np.asarray(z)[rows] for t, z in teacher_logits.items()},
        kd_weight=args.kd_weight,
        temperature=args.temperature,
        n_train=args.n_train,
        predictors=args.predictors,
    )


def _advice_lines(advice) -> list[str]:
    """The advice for the terminal: each computed predictor with its interval, threshold and
    record, then one line per teacher to act on."""
    r = advice.records
    if r is None:
        lines = ["Should I distill? No benchmark records are installed."]
    else:
        validated = ", ".join(advice.validated) or "none"
        lines = [
            f"Should I distill? Benchmark records: {r['settings']} settings on "
            f"{len(r['datasets'])} real datasets, {r['significant']} significant KD effects; "
            f"predictors validated against 'never distill': {validated}."
        ]
    for t in advice.teachers:
        for c in t.calls:
            score = "nan" if c.score != c.score else f"{c.score:+.3g}"
            interval = "" if c.low != c.low else f" [{c.low:+.3g}, {c.high:+.3g}]"
            thr = "" if c.threshold is None else f", distill if > {c.threshold:+.3g}"
            dep = f"; reads {', '.join(c.depends_on)}" if c.depends_on else ""
            lines.append(
                f"  {t.teacher} {c.predictor}: {c.call} (score {score}{interval}{thr}{dep}); "
                f"{c.record_text}"
            )
    lines.append("")
    lines += [f"=> {t.text}" for t in advice.teachers]
    return lines


def _advice_json(advice) -> dict:
    """``advice`` of the ``cch-check/3`` JSON (docs/json-schema.md)."""

    def num(v):
        return None if v is None or v != v or v in (float("inf"), float("-inf")) else float(v)

    return {
        "validated": list(advice.validated),
        "records": advice.records,
        "teachers": [
            {
                "teacher": t.teacher,
                "call": t.call,
                "predictor": t.predictor,
                "validated": t.validated,
                "text": t.text,
                "predictors": [
                    {
                        "predictor": c.predictor,
                        "call": c.call,
                        "score": num(c.score),
                        "low": num(c.low),
                        "high": num(c.high),
                        "threshold": num(c.threshold),
                        "depends_on": list(c.depends_on),
                        "record": c.record_text,
                    }
                    for c in t.calls
                ],
            }
            for t in advice.teachers
        ],
    }


def _with_file(message: str, files: dict[str, str]) -> str:
    """Adds the file name to a library message that starts with 'student:', "teacher 'x':" etc."""
    for name, spec in files.items():
        if message.startswith(f"{name}:"):
            return f"{name} ({spec}){message[len(name) :]}"
    return message
