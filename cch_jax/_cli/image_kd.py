"""`cch image-kd`: the image CCH experiment (teacher blur levels, MI before KD, KD vs no KD)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HELP = (
    "Image CCH experiment: train teachers on blurred views, estimate I(Ht;Hs) and I(Hs;Y), "
    "then train students with and without KD over seeds."
)


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from err


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def _limit(text: str) -> int | None:
    return None if text.lower() in ("all", "none") else int(text)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        default="fashion_mnist_idx",
        help="mnist, fashion_mnist, cifar10 (tensorflow-datasets), fashion_mnist_idx (Debian "
        "package IDX files) or digits (scikit-learn 8x8) (default fashion_mnist_idx)",
    )
    p.add_argument(
        "--view",
        default="blur",
        help="blur (teacher: blurred image, student: noisy image) or mnistm (teacher: MNIST-M "
        "colour blend, student: grey image) (default blur)",
    )
    p.add_argument(
        "--gammas", type=_floats, default=(0.0, 1.5, 3.5), help="teacher blur stds, pixels"
    )
    p.add_argument("--student-noise", type=float, default=0.5, help="student pixel noise std")
    p.add_argument("--student-gamma", type=float, default=0.0, help="student blur std, pixels")
    p.add_argument("--train-examples", type=_limit, default=10_000, help="int or 'all'")
    p.add_argument("--test-examples", type=_limit, default=2_000, help="int or 'all'")
    p.add_argument("--mi-examples", type=int, default=2_000, help="test images for the MI")
    p.add_argument("--mi-dim", type=int, default=8, help="PCA dims before KSG (0: none)")
    p.add_argument("--mi-k", type=int, default=3, help="KSG neighbours")
    p.add_argument("--hidden", type=_ints, default=(16, 32, 64), help="CNN widths c1,c2,dense")
    p.add_argument("--teacher-epochs", type=int, default=3)
    p.add_argument("--epochs", type=int, default=3, help="student epochs")
    p.add_argument(
        "--probe-epochs", type=int, default=1, help="pre-KD student encoder epochs for the MI"
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam step size")
    p.add_argument("--lam", type=float, default=0.5, help="KD weight lam (default 0.5)")
    p.add_argument("--temperature", type=float, default=3.0, help="KD temperature T (default 3)")
    p.add_argument("--seeds", type=_ints, default=(0, 1, 2), help="student seeds")
    p.add_argument("--seed", type=int, default=0, help="seed of views, teachers, MI encoder")
    p.add_argument("--data-dir", default=None, help="tensorflow-datasets data_dir")
    p.add_argument(
        "--download",
        action="store_true",
        help="let tensorflow-datasets download and prepare (needs cch-jax[tf] and a network)",
    )
    p.add_argument("--idx-root", default=None, help="folder of Fashion-MNIST IDX files")
    p.add_argument(
        "--out", type=Path, default=Path("results/image_kd"), help="output folder for CSV/JSON"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    from cch_jax.experiments import _image

    config = _image.ImageExperimentConfig(
        dataset=args.dataset,
        view=args.view,
        teacher_gammas=args.gammas,
        student_gamma=args.student_gamma,
        student_noise=args.student_noise,
        train_examples=args.train_examples,
        test_examples=args.test_examples,
        mi_examples=args.mi_examples,
        mi_dim=args.mi_dim,
        mi_k=args.mi_k,
        hidden=args.hidden,
        teacher_epochs=args.teacher_epochs,
        epochs=args.epochs,
        probe_epochs=args.probe_epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        kd_weight=args.lam,
        temperature=args.temperature,
        seeds=args.seeds,
        seed=args.seed,
        data_dir=args.data_dir,
        download=args.download,
        idx_root=args.idx_root,
    )
    try:
        result = _image.run_image(config, progress=not args.quiet)
    except (RuntimeError, FileNotFoundError, ImportError) as err:  # missing data: one clean line
        raise ValueError(str(err)) from err
    paths = _image.write_image(result, args.out)
    print(_image.image_table(result))
    seconds = result.info["seconds"]
    print(
        "seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        + f", total {time.perf_counter() - start:.1f}; devices {result.info['devices']}"
    )
    print("wrote " + ", ".join(paths.values()))
    return 0
