"""Training-step benchmarks with the layer API, ours beside PyTorch's (when importable) in one run, with ratios.

(a) MLP 784-256-256-10, batch 128, float32, built from nn.Linear / nn.ReLU, F.cross_entropy, optim.SGD(momentum=0.9);
(b) the same MLP with optim.Adam;
(c) the same step written with raw ops and a hand-written momentum update (bench_autograd.py's), to show what the
    layer API costs on top of raw ops;
(d) LeNet-5 (conv 1->6 5×5 pad 2, ReLU, max-pool 2, conv 6->16 5×5, ReLU, max-pool 2, 400-120-84-10) from nn layers,
    batch 128 on 28×28, cross-entropy, SGD with momentum 0.9;
(e) the mnist-cnn model (deepgrad's default for ``deepgrad train``) with Adam, batch 64 — the step its recipe runs.

Timings are the minimum over rounds, in ms per step, each library timed in its own process (see _bench.py). Targets: (a), (b)
≤ 1.0× PyTorch; (a) ≈ (c); (d) ≤ 1.25× PyTorch.

Run: python benchmarks/bench_training.py [--rounds 7] [--profile]
"""
from __future__ import annotations

import cProfile
import os
import pstats
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))
import _bench  # noqa: E402, I001 - deepgrad is imported before NumPy, so that OpenBLAS's idle workers spin briefly

import deepgrad as dg  # noqa: E402  (see deepgrad.parallel)
import numpy as np  # noqa: E402
import deepgrad.nn.functional as F  # noqa: E402

try:
    import torch
    import torch.nn.functional as torch_f
except ImportError:
    torch = None


def batch(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0])


def load_same_weights(ours, theirs) -> None:
    """Copy our initial parameters into the PyTorch model (same order), so both start from the same point."""
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))


def mlp(lib):
    n = lib.nn
    return n.Sequential(n.Linear(784, 256), n.ReLU(), n.Linear(256, 256), n.ReLU(), n.Linear(256, 10))


def lenet(lib):
    n = lib.nn
    return n.Sequential(n.Conv2d(1, 6, 5, padding=2), n.ReLU(), n.MaxPool2d(2), n.Conv2d(6, 16, 5), n.ReLU(),
                        n.MaxPool2d(2), n.Flatten(), n.Linear(400, 120), n.ReLU(), n.Linear(120, 84), n.ReLU(),
                        n.Linear(84, 10))


def torch_mnist_cnn():
    n = torch.nn
    return n.Sequential(n.Conv2d(1, 16, 5, padding=2, bias=False), n.BatchNorm2d(16), n.ReLU(), n.MaxPool2d(2),
                        n.Conv2d(16, 32, 5, padding=2, bias=False), n.BatchNorm2d(32), n.ReLU(), n.MaxPool2d(2),
                        n.Flatten(), n.Linear(32 * 49, 128), n.ReLU(), n.Linear(128, 10))


def step_fn(lib, model, loss_fn, opt, X, y):
    x, t = lib.from_numpy(X), lib.from_numpy(y)

    def step():
        loss = loss_fn(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def pair(build_ours, build_torch, optimizer: str, shape):
    """(our step, PyTorch's step or None) for one model and optimiser on a random batch of ``shape``."""
    X, y = batch(shape)
    ours = build_ours()
    make = {"sgd": lambda lib, m: lib.optim.SGD(m.parameters(), lr=0.01, momentum=0.9),
            "adam": lambda lib, m: lib.optim.Adam(m.parameters(), lr=1e-3)}[optimizer]
    mine = step_fn(dg, ours, F.cross_entropy, make(dg, ours), X, y)
    if torch is None:
        return mine, None
    theirs = build_torch()
    load_same_weights(ours, theirs)
    return mine, step_fn(torch, theirs, torch_f.cross_entropy, make(torch, theirs), X, y)


def raw_mlp_step():
    """bench_autograd.py's raw-ops MLP step (matmul, add, relu, log_softmax, indexing, manual momentum update)."""
    from bench_autograd import mlp_ours

    return mlp_ours()


def build_rows(args, side):
    dg.manual_seed(0)
    if torch is not None:
        torch.manual_seed(0)
    mlp_sgd = pair(lambda: mlp(dg), lambda: mlp(torch), "sgd", (128, 784))
    mlp_adam = pair(lambda: mlp(dg), lambda: mlp(torch), "adam", (128, 784))
    lenet_sgd = pair(lambda: lenet(dg), lambda: lenet(torch), "sgd", (128, 1, 28, 28))
    cnn_adam = pair(lambda: dg.models.get_model("mnist-cnn"), torch_mnist_cnn, "adam", (64, 1, 28, 28))
    k = 0 if side == "deepgrad" else 1
    if side == "deepgrad" and args.profile:
        for name, fn in (("MLP + Adam", mlp_adam[0]), ("LeNet-5 + SGD", lenet_sgd[0])):
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(20):
                fn()
            prof.disable()
            print(f"\n--- cProfile, 20 steps of {name} (sorted by own time) ---")
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    return [("MLP 784-256-256-10, nn layers, SGD momentum (ms)", mlp_sgd[k], 20),
            ("MLP 784-256-256-10, nn layers, Adam (ms)", mlp_adam[k], 20),
            ("MLP 784-256-256-10, raw ops (bench_autograd) (ms)", raw_mlp_step() if k == 0 else mlp_sgd[1], 20),
            ("LeNet-5 28x28, batch 128, SGD momentum (ms)", lenet_sgd[k], 5),
            ("mnist-cnn, batch 64, Adam (ms)", cnn_adam[k], 5)]


if __name__ == "__main__":
    _bench.main(__file__, __doc__.splitlines()[0], build_rows,
                {"--profile": {"action": "store_true", "help": "cProfile our MLP-Adam and LeNet-5 steps"}})
