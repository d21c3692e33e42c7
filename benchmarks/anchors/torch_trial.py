"""PyTorch anchor for benchmarks/trial.py: the KD trial a user would otherwise write by hand.

A plain loop on the CPU in one process, over seeds x (no KD, then per teacher: KD from it, KD from
its random-control teacher). It trains what ``cch trial`` trains, with the same settings:

- rows: the fit / validation / held-out codes of the file's ``part`` (computed by cch_jax, so the
  same rows); inputs flattened and z-scored with the fit rows' mean and std (std 0 -> 1);
- network: flattened input -> Linear(64) -> ReLU -> Linear(C), weights drawn from flax's default
  ``lecun_normal`` (normal with std sqrt(1 / fan_in), truncated at 2 std and rescaled to keep
  that std), zero biases;
- Adam (lr 1e-3, betas 0.9 / 0.999, eps 1e-8) at a constant step, shuffled minibatches, the last
  partial batch dropped;
- loss per example (1 - w) CE + w T^2 KL(softmax(t / T) || softmax(s / T)), averaged over the
  batch, with the teacher's logits given in the file (``logits_<name>``, the very outputs cch
  trial's students learn from); the no-KD arm is w = 0;
- the control teacher of seed s: the fit-row logits permuted across rows by
  ``numpy.random.default_rng([s, 7]).permutation(n_fit)`` (cch_jax's permutation);
- early stopping: validation accuracy after every epoch (epoch 0: the initialisation); a strictly
  higher one keeps the parameters; stop after ``patience`` epochs without one, or at
  ``max_epochs``; the kept parameters are scored on the held-out rows (accuracy, %);
- seed s pairs the arms: ``torch.manual_seed(s)`` before the network is built fixes the
  initialisation, and a generator seeded with s the minibatch order, for every arm of s.

The arrays come from one ``.npz``: ``x_student [n, ...]``, ``y [n]``, ``part [n]`` (0 fit,
1 validation, 3 held out), ``teachers`` (names) and ``logits_<name> [n, C]``. Writes one JSON file:
per teacher the per-seed accuracies and epochs of the three arms, the timings (setup: imports and
data; train, and its running total after each seed) and the torch version and threads. Never imports cch_jax; runs in .venv-torch
(bash benchmarks/anchors/setup_torch_env.sh).

Usage:
  .venv-torch/bin/python benchmarks/anchors/torch_trial.py --data anchor.npz --seeds 10 \\
      --batch 128 --max-epochs 300 --patience 15 --threads 1 --out anchor.json
"""

import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

FIT, VAL, TEST = 0, 1, 3
TRUNC_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2] (flax's constant)


def lecun_normal_(weight: torch.Tensor) -> None:
    """flax's ``lecun_normal``: truncated normal with std sqrt(1 / fan_in) after truncation."""
    std = math.sqrt(1.0 / weight.shape[1]) / TRUNC_STD
    nn.init.trunc_normal_(weight, std=std, a=-2.0 * std, b=2.0 * std)


def mlp(dim: int, hidden: int, classes: int) -> nn.Module:
    model = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, classes))
    for layer in (model[0], model[2]):
        lecun_normal_(layer.weight)
        nn.init.zeros_(layer.bias)
    return model


def kd_loss(z_s, z_t, y, w: float, temp: float):
    ce = F.cross_entropy(z_s, y, reduction="none")
    if w == 0.0:
        return ce.mean()
    log_q = F.log_softmax(z_s / temp, dim=1)
    log_p = F.log_softmax(z_t / temp, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)  # summed over classes, per example
    return ((1.0 - w) * ce + w * temp**2 * kl).mean()


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(dim=1) == y).float().mean())


def train_one(seed, data, teacher, w, args) -> tuple[float, int]:
    """One run to its early stop: (held-out accuracy %, epochs trained)."""
    x, y, xv, yv, xt, yt = data
    torch.manual_seed(seed)
    model = mlp(x.shape[1], args.hidden, args.classes)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    order = torch.Generator().manual_seed(seed)
    steps = x.shape[0] // args.batch
    best = {k: v.clone() for k, v in model.state_dict().items()}
    best_acc, since, epoch = accuracy(model, xv, yv), 0, 0
    while epoch < args.max_epochs and since < args.patience:
        perm = torch.randperm(x.shape[0], generator=order)[: steps * args.batch]
        for idx in perm.view(steps, args.batch):
            z_t = None if teacher is None else teacher[idx]
            loss = kd_loss(model(x[idx]), z_t, y[idx], w, args.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        epoch += 1
        acc = accuracy(model, xv, yv)
        if acc > best_acc:
            best_acc, since = acc, 0
            best = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
    model.load_state_dict(best)
    return 100.0 * accuracy(model, xt, yt), epoch


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--max-epochs", type=int, required=True)
    p.add_argument("--patience", type=int, required=True)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--kd-weight", type=float, default=0.5)
    p.add_argument("--temperature", type=float, default=3.0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    with np.load(args.data) as f:
        arrays = {k: f[k] for k in f.files}
    part, y_all = arrays["part"], arrays["y"].astype(np.int64)
    x_all = arrays["x_student"].reshape(len(y_all), -1).astype(np.float32)
    fit, val, test = (np.flatnonzero(part == c) for c in (FIT, VAL, TEST))
    mean, std = x_all[fit].mean(axis=0), x_all[fit].std(axis=0)
    x_all = ((x_all - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
    names = [str(n) for n in arrays["teachers"]]
    logits = {n: arrays[f"logits_{n}"][fit].astype(np.float32) for n in names}
    args.classes = int(max(y_all.max() + 1, *(v.shape[1] for v in logits.values())))
    data = tuple(
        torch.from_numpy(np.ascontiguousarray(a))
        for a in (x_all[fit], y_all[fit], x_all[val], y_all[val], x_all[test], y_all[test])
    )
    t_train = time.perf_counter()

    result = {n: {"nokd": [], "kd": [], "control": [], "epochs": 0} for n in names}
    nokd_epochs, seed_s = 0, []
    for s in range(args.seeds):
        acc, ep = train_one(s, data, None, 0.0, args)  # no KD: once per seed, shared
        nokd_epochs += ep
        perm = np.random.default_rng([s, 7]).permutation(len(fit))
        for n in names:
            result[n]["nokd"].append(acc)
            for arm, out in (("kd", logits[n]), ("control", logits[n][perm])):
                a, e = train_one(s, data, torch.from_numpy(out), args.kd_weight, args)
                result[n][arm].append(a)
                result[n]["epochs"] += e
        seed_s.append(time.perf_counter() - t_train)
    t_end = time.perf_counter()
    doc = {
        "teachers": result,
        "nokd_epochs": nokd_epochs,
        "seeds": args.seeds,
        "networks": args.seeds * (1 + 2 * len(names)),
        "setup_s": t_train - T_START,
        "train_s": t_end - t_train,
        "seed_s": seed_s,  # training seconds after each seed (cumulative)
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "rows": {"fit": len(fit), "validation": len(val), "test": len(test)},
    }
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
