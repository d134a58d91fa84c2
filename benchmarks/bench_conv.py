"""Convolution benchmarks, ours beside PyTorch's (when importable) in one run.

(a) conv2d forward + backward (input, weight and bias gradients): input (64, 64, 32, 32), 3×3 kernel, 64 -> 64
    channels, padding 1, float32;
(b) one LeNet-5 training step, batch 128 on 28×28 (conv 1->6 5×5 pad 2, relu, max-pool 2, conv 6->16 5×5, relu,
    max-pool 2, 400-120-84-10, cross-entropy, plain SGD), written with the functional ops.

Run: python benchmarks/bench_conv.py
"""
from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import deepgrad as dg  # noqa: E402
from deepgrad.ops.conv import conv2d  # noqa: E402
from deepgrad.ops.pool import max_pool2d  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:
    torch = None


def best_of(fn, repeat=5, number=3):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)


def conv_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 64, 32, 32)).astype(np.float32)
    w = (rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)
    b = np.zeros(64, np.float32)
    return x, w, b


def conv_step(lib, conv):
    x, w, b = (lib.from_numpy(a).requires_grad_() for a in conv_data())

    def step():
        x.grad = w.grad = b.grad = None
        conv(x, w, b, padding=1).sum().backward()

    return best_of(step) * 1e3


def lenet_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,), (10, 84), (10,)]
    params = [(rng.standard_normal(s) * (0.1 if len(s) > 1 else 0.0)).astype(np.float32) for s in shapes]
    return X, y, params


def lenet_step(lib, conv, pool):
    X, y, arrays = lenet_data()
    x, t = lib.from_numpy(X), lib.from_numpy(y)
    p = [lib.from_numpy(a).requires_grad_() for a in arrays]
    rows = lib.arange(128)

    def step():
        h = pool(conv(x, p[0], p[1], padding=2).relu(), 2)
        h = pool(conv(h, p[2], p[3]).relu(), 2).flatten(1)
        h = (h @ p[4].T + p[5]).relu()
        h = (h @ p[6].T + p[7]).relu()
        h = h @ p[8].T + p[9]
        loss = -h.log_softmax(1)[rows, t].mean()
        for q in p:
            q.grad = None
        loss.backward()
        with lib.no_grad():
            for q in p:
                q -= 0.01 * q.grad

    return best_of(step, repeat=7, number=5) * 1e3


def main():
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ", torch not installed"))
    rows = [("conv2d 64x64x32x32, 3x3, 64->64, fwd+bwd (ms)",
             lambda: conv_step(dg, conv2d), lambda: conv_step(torch, torch_f.conv2d)),
            ("LeNet-5 training step, batch 128 (ms)",
             lambda: lenet_step(dg, conv2d, max_pool2d), lambda: lenet_step(torch, torch_f.conv2d, torch_f.max_pool2d))]
    print(f"{'benchmark':48s} {'deepgrad':>10s} {'pytorch':>10s} {'ratio':>7s}")
    for name, ours, theirs in rows:
        a = ours()
        b = theirs() if torch else float("nan")
        print(f"{name:48s} {a:10.2f} {b:10.2f} {a / b:7.2f}")


if __name__ == "__main__":
    main()
