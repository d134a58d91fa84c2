"""Second-order optimisation (the lectures' "Second Order (KFac)"): K-FAC against SGD with momentum and Adam on
the MNIST sample, training loss against steps and against wall-clock time."""
from __future__ import annotations

import time

import numpy as np

import deepgrad as dg

from ..models import MLP
from ..nn import functional as F
from ..optim.kfac import KFAC
from . import demo
from ._mlp_util import figure, mnist, pyplot, save, table


def _net(kind: str):
    if kind == "mlp":
        return MLP([784, 128, 10])
    return dg.nn.Sequential(dg.nn.Conv2d(1, 8, 5, stride=2), dg.nn.ReLU(), dg.nn.Conv2d(8, 16, 5, stride=2),
                            dg.nn.ReLU(), dg.nn.Flatten(), dg.nn.Linear(16 * 4 * 4, 10))


@demo("kfac", "K-FAC (Kronecker-factored curvature) against SGD + momentum and Adam on the MNIST sample: loss "
              "against steps and against wall time, for an MLP and a small CNN")
def kfac(out: str, fast: bool) -> dict:
    n, steps = (1000, 40) if fast else (5000, 400)
    x, y = mnist("train", n)
    xt, yt = mnist("test")
    res, rows = {}, []
    for kind in ("mlp", "cnn"):
        shape = (-1, 784) if kind == "mlp" else (-1, 1, 28, 28)
        res[kind] = {}
        for name in ("SGD", "Adam", "KFAC"):
            dg.manual_seed(0)
            net = _net(kind)
            opt = {"SGD": lambda p: dg.optim.SGD(p.parameters(), lr=0.05, momentum=0.9),
                   "Adam": lambda p: dg.optim.Adam(p.parameters(), lr=1e-3),
                   "KFAC": lambda p: KFAC(p, lr=0.05, momentum=0.9, damping=0.03, factor_update_freq=5,
                                          inv_update_freq=20)}[name](net)
            rng = np.random.default_rng(0)
            losses, clock, t0 = [], [], time.perf_counter()
            for _ in range(steps):
                i = rng.integers(0, n, 128)
                loss = F.cross_entropy(net(dg.tensor(x[i].reshape(shape))), dg.tensor(y[i]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
                clock.append(time.perf_counter() - t0)
            net.eval()
            with dg.no_grad():
                acc = float((net(dg.tensor(xt.reshape(shape))).numpy().argmax(1) == yt).mean())
            res[kind][name] = {"losses": losses, "seconds": clock, "test_accuracy": acc}
            rows.append([kind.upper(), name, float(np.mean(losses[:10])), float(np.mean(losses[-10:])), acc,
                         clock[-1]])
    print(f"{steps} steps of batch 128 on {n} MNIST-sample digits:")
    table(["model", "optimizer", "loss (first 10)", "loss (last 10)", "test accuracy", "seconds"], rows)

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(2, 2, figsize=(12, 8), layout="constrained")
        k = max(1, steps // 40)
        for r, kind in enumerate(res):
            for name, v in res[kind].items():
                sm = np.convolve(v["losses"], np.ones(k) / k, mode="valid")
                axes[r, 0].semilogy(np.arange(k, len(v["losses"]) + 1), sm, label=name)
                axes[r, 1].semilogy(v["seconds"][k - 1:], sm, label=name)
            axes[r, 0].set_xlabel("step")
            axes[r, 1].set_xlabel("wall time (s)")
            axes[r, 0].set_title(f"{kind.upper()}: loss against steps")
            axes[r, 1].set_title(f"{kind.upper()}: loss against wall time")
            for a in axes[r]:
                a.set_ylabel(f"training loss (mean of {k} steps)" if k > 1 else "training loss")
                a.grid(alpha=0.3, which="both")
                a.legend()
        save(fig, path)

    res["figure"] = figure(out, "kfac.png", draw)
    return res
