"""Ensembles and hard example mining on the MNIST sample: five MLPs averaged (probabilities or logits), a
snapshot ensemble from one cosine-restart run, and online hard example mining against plain cross-entropy."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models import MLP
from ..nn import functional as F
from ..tools.ensemble import Ensemble, HardExampleSampler, ohem_cross_entropy, snapshot_cosine
from . import demo
from ._mlp_util import figure, mnist, pyplot, save, table


def _error(model, x: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    with dg.no_grad():
        return float((model(dg.tensor(x)).numpy().argmax(1) != y).mean())


def _batches(sampler, batch: int):
    """Consecutive batches of the sampler's epochs (a new epoch, with fresh probabilities, when one runs out)."""
    while True:
        order = np.fromiter(iter(sampler), np.int64)
        for i in range(0, len(order) - batch + 1, batch):
            yield order[i:i + batch]


def _train(model, x, y, steps: int, lr: float, seed: int, schedule=None, on_cycle_end=None, cycle: int = 0,
           loss_fn=None, sampler=None, batch: int = 64) -> list:
    rng = np.random.default_rng(seed)
    opt = dg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = dg.optim.lr_scheduler.LambdaLR(opt, schedule) if schedule else None
    stream, losses = (_batches(sampler, batch) if sampler is not None else None), []
    model.train()
    for t in range(steps):
        idx = rng.integers(0, len(x), batch) if stream is None else next(stream)
        logits = model(dg.tensor(x[idx]))
        if sampler is not None:
            per = F.cross_entropy(logits, dg.tensor(y[idx]), reduction="none")
            sampler.update(idx, per)
            loss = per.mean()
        else:
            loss = (loss_fn or F.cross_entropy)(logits, dg.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if sched is not None:
            sched.step()
        if on_cycle_end is not None and (t + 1) % cycle == 0:
            on_cycle_end(model)
            model.train()
    model.eval()
    return losses


@demo("ensemble", "Ensembles on the MNIST sample: five MLPs averaged by probabilities and by logits, and a "
                  "snapshot ensemble from one cosine-restart run, against their single members")
def ensemble(out: str, fast: bool) -> dict:
    n, members, steps = (1000, 3, 150) if fast else (5000, 5, 1500)
    x, y = mnist("train", n)
    xt, yt = mnist("test")
    nets = []
    for m in range(members):
        dg.manual_seed(m)
        net = MLP([784, 128, 10])
        _train(net, x, y, steps, 0.05, seed=m)
        nets.append(net)
    single = [_error(net, xt, yt) for net in nets]
    probs, logits = _error(Ensemble(nets, "probs"), xt, yt), _error(Ensemble(nets, "logits"), xt, yt)
    dg.manual_seed(0)
    snap_net = MLP([784, 128, 10])
    snaps = Ensemble()
    snap_errors = []

    def take(model):
        snaps.add(model)
        snap_errors.append(_error(model, xt, yt))

    total = members * steps
    lrs = _train(snap_net, x, y, total, 0.1, seed=0, schedule=snapshot_cosine(total, members), on_cycle_end=take,
                 cycle=total // members)
    snap_err = _error(snaps, xt, yt)
    rows = [[f"MLP seed {m}", e] for m, e in enumerate(single)]
    rows += [["mean of the members", float(np.mean(single))], [f"ensemble of {members}: mean probabilities", probs],
             [f"ensemble of {members}: mean logits", logits]]
    rows += [[f"snapshot {i + 1} of one run", e] for i, e in enumerate(snap_errors)]
    rows += [[f"snapshot ensemble ({members} cycles, {total} steps)", snap_err]]
    print(f"test error on {len(yt)} MNIST-sample digits, MLPs 784-128-10 trained on {n} (the lectures: "
          f"7 CNNs 18.2 % -> 15.4 % on ImageNet)")
    table(["model", "test error"], rows)

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
        bars = axes[0].bar(range(1, members + 1), single, color="tab:gray", label="single MLPs")
        axes[0].bar_label(bars, [f"{e:.3f}" for e in single], padding=2, fontsize=8)
        axes[0].axhline(probs, color="tab:blue", label=f"ensemble, mean probabilities ({probs:.3f})")
        axes[0].axhline(logits, color="tab:orange", ls="--", label=f"ensemble, mean logits ({logits:.3f})")
        axes[0].set_ylim(0, max(single) * 1.45)
        axes[0].set_xticks(range(1, members + 1))
        axes[0].set_xlabel("member (MLP 784-128-10, seed = member − 1)")
        axes[0].set_ylabel("test error (fraction misclassified)")
        axes[0].set_title(f"{members} independently trained MLPs and their ensembles")
        axes[0].legend(fontsize=8, loc="upper center", ncols=2)
        axes[1].semilogy(np.convolve(lrs, np.ones(20) / 20, mode="valid"), lw=0.7, label="training loss")
        axes[1].set_xlabel("step of the snapshot run")
        axes[1].set_ylabel("training loss (moving average of 20 steps)")
        for i in range(members):
            axes[1].axvline((i + 1) * (total // members), color="gray", lw=0.5,
                            label="end of a cosine cycle: snapshot" if i == 0 else None)
        axes[1].legend(fontsize=8)
        axes[1].set_title(f"snapshot ensemble error {snap_err:.3f} vs last snapshot {snap_errors[-1]:.3f}")
        save(fig, path)

    return {"single": single, "probs": probs, "logits": logits, "snapshots": snap_errors, "snapshot_ensemble": snap_err,
            "figure": figure(out, "ensemble.png", draw)}


@demo("ohem", "Online hard example mining on the MNIST sample: the hardest quarter of each batch, or a sampler "
              "weighted by the last losses, against plain cross-entropy")
def ohem(out: str, fast: bool) -> dict:
    n, steps = (1000, 150) if fast else (5000, 2000)
    x, y = mnist("train", n)
    xt, yt = mnist("test")
    res, rows, curves = {}, [], {}
    for name in ("cross-entropy", "OHEM (hardest 25 % of each batch of 128)", "hard-example sampler"):
        dg.manual_seed(0)
        net = MLP([784, 128, 10])
        if name.startswith("OHEM"):
            curves[name] = _train(net, x, y, steps, 0.05, 0, batch=128,
                                  loss_fn=lambda lg, t: ohem_cross_entropy(lg, t, keep=0.25))
        elif name.startswith("hard"):
            curves[name] = _train(net, x, y, steps, 0.05, 0, sampler=HardExampleSampler(n, generator=0), batch=32)
        else:
            curves[name] = _train(net, x, y, steps, 0.05, 0, batch=32)
        with dg.no_grad():
            per = F.cross_entropy(net(dg.tensor(xt)), dg.tensor(yt), reduction="none").numpy()
        worst = np.sort(per)[-len(per) // 20:].mean()
        res[name] = {"test_error": _error(net, xt, yt), "test_loss": float(per.mean()), "worst5_loss": float(worst)}
        rows.append([name, res[name]["test_error"], res[name]["test_loss"], res[name]["worst5_loss"]])
    print(f"MLP 784-128-10, {steps} SGD steps, each back-propagating 32 examples, on {n} training digits:")
    table(["training", "test error", "test loss", "loss of the worst 5 %"], rows)

    def draw(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 4))
        for name, c in curves.items():
            ax.plot(np.convolve(c, np.ones(20) / 20, mode="valid"), lw=0.8, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss being minimised (moving average of 20 steps)")
        ax.set_title("training loss of each method")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, path)

    res["figure"] = figure(out, "ohem.png", draw)
    return res
