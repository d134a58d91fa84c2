"""Convolution benchmarks, ours beside PyTorch's (when importable) in one run.

(a) conv2d forward + backward (input, weight and bias gradients): input (64, 64, 32, 32), 3×3 kernel, 64 -> 64
    channels, padding 1, float32;
(b) one LeNet-5 training step, batch 128 on 28×28 (conv 1->6 5×5 pad 2, relu, max-pool 2, conv 6->16 5×5, relu,
    max-pool 2, 400-120-84-10, cross-entropy, plain SGD), written with the functional ops.

Each benchmark alternates ours and PyTorch's over several rounds and keeps each one's minimum, so that a machine
shared with other jobs slows both alike. ``--breakdown`` also times each forward/backward piece of the LeNet step.

Run: python benchmarks/bench_conv.py [--rounds 5] [--breakdown]
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))
import _bench  # noqa: E402, I001 - deepgrad is imported before NumPy, so that OpenBLAS's idle workers spin briefly

import deepgrad as dg  # noqa: E402  (see deepgrad.parallel)
import numpy as np  # noqa: E402
from deepgrad.ops.conv import conv2d  # noqa: E402
from deepgrad.ops.pool import max_pool2d  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:
    torch = None


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

    return step


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

    return step


def lenet_pieces(lib, conv, pool):
    """Forward and forward+backward of each LeNet-5 stage on its own, for ``--breakdown``."""
    rng = np.random.default_rng(1)
    X, _, arrays = lenet_data()
    x = lib.from_numpy(X)
    p = [lib.from_numpy(a).requires_grad_() for a in arrays]
    a1 = lib.from_numpy(rng.standard_normal((128, 6, 28, 28)).astype(np.float32)).requires_grad_()
    a2 = lib.from_numpy(rng.standard_normal((128, 6, 14, 14)).astype(np.float32)).requires_grad_()
    f1 = lib.from_numpy(rng.standard_normal((128, 400)).astype(np.float32)).requires_grad_()
    stages = {"conv1": lambda: conv(x, p[0], p[1], padding=2), "relu+pool1": lambda: pool(a1.relu(), 2),
              "conv2": lambda: conv(a2, p[2], p[3]),
              "mlp 400-120-84-10": lambda: ((f1 @ p[4].T + p[5]).relu() @ p[6].T + p[7]).relu() @ p[8].T + p[9]}

    def fwd_bwd(f):
        def run():
            out = f()
            out.backward(lib.ones_like(out))
        return run

    return {f"{name} {kind}": (g if kind == "fwd" else fwd_bwd(g)) for name, g in stages.items()
            for kind in ("fwd", "fwd+bwd")}


def build_rows(args, side):
    if side == "pytorch" and torch is None:
        return [(n, None, 1) for n in ("conv2d", "lenet")]
    lib, conv, pool = (dg, conv2d, max_pool2d) if side == "deepgrad" else (torch, torch_f.conv2d, torch_f.max_pool2d)
    rows = [("conv2d 64x64x32x32, 3x3, 64->64, fwd+bwd (ms)", conv_step(lib, conv), 3),
            ("LeNet-5 training step, batch 128 (ms)", lenet_step(lib, conv, pool), 10)]
    if args.breakdown:
        rows += [(f"  LeNet {k} (ms)", fn, 10) for k, fn in lenet_pieces(lib, conv, pool).items()]
    return rows


if __name__ == "__main__":
    _bench.main(__file__, __doc__.splitlines()[0], build_rows,
                {"--breakdown": {"action": "store_true", "help": "also time each piece of the LeNet-5 step"}})
