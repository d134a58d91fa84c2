"""Autograd engine benchmarks, ours beside PyTorch's (when importable) in one run.

(a) per-op overhead: forward + backward of a chain of 300 small elementwise ops on a 16-element float32 tensor,
    in microseconds per op;
(b) one training step of an MLP 784-256-256-10, batch 128, float32, cross-entropy, SGD with momentum 0.9,
    written with raw ops (matmul, add, relu, log_softmax, indexing) and a hand-written momentum update.

Run: python benchmarks/bench_autograd.py
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))
import _bench  # noqa: E402, I001 - deepgrad is imported before NumPy, so that OpenBLAS's idle workers spin briefly

import deepgrad as dg  # noqa: E402  (see deepgrad.parallel)
import numpy as np  # noqa: E402

try:
    import torch
except ImportError:
    torch = None

CHAIN = 300


def chain(lib, x):
    for _ in range(CHAIN // 3):
        x = x * 1.001
        x = x + 0.01
        x = x.tanh()
    return x.sum()


def per_op_step(lib):
    x = lib.randn(16, requires_grad=True)

    def step():
        x.grad = None
        chain(lib, x).backward()

    return step


def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((128, 784)).astype(np.float32)
    y = rng.integers(0, 10, 128)
    sizes = [(784, 256), (256, 256), (256, 10)]
    Ws = [(rng.standard_normal((o, i)) * np.sqrt(2 / i)).astype(np.float32) for i, o in sizes]
    bs = [np.zeros(o, np.float32) for _, o in sizes]
    return X, y, Ws, bs


def mlp_loss(x, params, rows, t):
    """Cross-entropy of the MLP on a batch, written with raw ops (the same code for both libraries)."""
    h = x
    for i in range(0, 6, 2):
        h = h @ params[i].T + params[i + 1]
        if i < 4:
            h = h.relu()
    return -h.log_softmax(1)[rows, t].mean()


def mlp_ours():
    """Our step, with the momentum update written on the arrays by hand."""
    X, y, Ws, bs = mlp_data()
    x = dg.from_numpy(X)
    params = [dg.from_numpy(a).requires_grad_() for pair in zip(Ws, bs) for a in pair]
    bufs = [np.zeros_like(p._data) for p in params]
    rows = np.arange(128)

    def step():
        loss = mlp_loss(x, params, rows, y)
        for p in params:
            p.grad = None
        loss.backward()
        for p, b in zip(params, bufs):
            b *= 0.9
            b += p.grad._data
            p._data -= 0.01 * b

    return step


def mlp_torch():
    X, y, Ws, bs = mlp_data()
    x, t = torch.from_numpy(X), torch.from_numpy(y)
    params = [torch.from_numpy(a).requires_grad_() for pair in zip(Ws, bs) for a in pair]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
    rows = torch.arange(128)

    def step():
        loss = mlp_loss(x, params, rows, t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def build_rows(args, side):
    if side == "pytorch" and torch is None:
        return [(name, None, 1) for name in NAMES]
    lib = dg if side == "deepgrad" else torch
    return [(NAMES[0], per_op_step(lib), 5, 1e3 / (CHAIN + 1)),
            (NAMES[1], mlp_ours() if side == "deepgrad" else mlp_torch(), 10)]


NAMES = ["per-op overhead, fwd+bwd (µs/op)", "MLP 784-256-256-10 step, batch 128 (ms)"]


if __name__ == "__main__":
    _bench.main(__file__, __doc__.splitlines()[0], build_rows)
