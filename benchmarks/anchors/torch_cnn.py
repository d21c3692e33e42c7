"""PyTorch anchor for benchmarks/kd.py: a plain training loop of the same small CNN and KD loss.

Runs in .venv-torch (bash benchmarks/anchors/setup_torch_env.sh), never imports cch_jax. Model:
conv3x3(32)-ReLU-maxpool2, conv3x3(64)-ReLU-maxpool2, dense(128)-ReLU, dense(10), the layout of
cch_jax.kd's SmallCNN (NCHW here, PyTorch's native layout; NHWC in JAX). Loss per example:
(1 - lam) CE + lam T^2 KL(softmax(z_t/T) || softmax(z_s/T)) with frozen teacher logits, averaged
over the batch; Adam, shuffled minibatches, the last partial batch dropped (as in cch_jax).

Prints one JSON object: the wall time of each epoch (the first includes warm-up) and images/s.
Usage: .venv-torch/bin/python benchmarks/anchors/torch_cnn.py --n 60000 --epochs 3 --batch 128
"""

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self, channels=1, size=28, classes=10, c1=32, c2=64, width=128):
        super().__init__()
        self.conv0 = nn.Conv2d(channels, c1, 3, padding=1)
        self.conv1 = nn.Conv2d(c1, c2, 3, padding=1)
        self.dense = nn.Linear((size // 4) * (size // 4) * c2, width)
        self.out = nn.Linear(width, classes)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv0(x)), 2)
        h = F.max_pool2d(F.relu(self.conv1(h)), 2)
        h = F.relu(self.dense(h.flatten(1)))
        return self.out(h)


def kd_loss(z_s, z_t, y, lam, temp):
    ce = F.cross_entropy(z_s, y, reduction="none")
    log_q = F.log_softmax(z_s / temp, dim=1)
    log_p = F.log_softmax(z_t / temp, dim=1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)  # summed over classes, per example
    return ((1 - lam) * ce + lam * temp**2 * kl).mean()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=60000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--size", type=int, default=28)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: PyTorch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    # random images and labels: throughput does not depend on the pixel values
    x = torch.from_numpy(
        rng.normal(size=(args.n, args.channels, args.size, args.size)).astype(np.float32)
    )
    y = torch.from_numpy(rng.integers(0, 10, args.n))
    z_t = torch.from_numpy(rng.normal(size=(args.n, 10)).astype(np.float32))
    model = SmallCNN(args.channels, args.size)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = args.n // args.batch
    times = []
    for _ in range(args.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(args.n)[: steps * args.batch].view(steps, args.batch)
        for idx in perm:
            opt.zero_grad(set_to_none=True)
            loss = kd_loss(model(x[idx]), z_t[idx], y[idx], 0.5, 3.0)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    print(
        json.dumps(
            {
                "epoch_s": times,
                "images_per_epoch": steps * args.batch,
                "final_loss": float(loss.detach()),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
            }
        )
    )


if __name__ == "__main__":
    main()
