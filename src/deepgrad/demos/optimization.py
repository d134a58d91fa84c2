"""Demos of how MLPs are trained: activations and vanishing gradients, initialisation, the optimisers on the
Rosenbrock function and on MNIST, and batch vs mini-batch vs stochastic gradient descent."""
from __future__ import annotations

import math
import time

import numpy as np

import deepgrad as dg

from .. import nn
from ..models import MLP
from ..nn import functional as F
from ..train import check_health
from ..viz import plots
from . import demo
from ._mlp_util import figure, mnist, pyplot, save, table, train_classifier

_ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu"]


def _linear_norms(report: dict) -> list:
    return list(report["grad_norms"].values())


@demo("activations", "10-layer MLPs with sigmoid ... GELU: per-layer gradient norms, dead ReLUs, linear collapse")
def activations(out: str, fast: bool) -> dict:
    x, y = mnist("train", 500 if fast else 2000)
    xb, yb = dg.tensor(x[:256]), dg.tensor(y[:256])
    epochs = 2 if fast else 10
    result, init_norms, rows = {}, {}, []
    for act in _ACTS:
        dg.manual_seed(0)
        model = MLP([784] + [32] * 9 + [10], activation=act)
        _init(model, "he")
        before = check_health(model, F.cross_entropy, xb, yb)
        opt = dg.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        hist = train_classifier(model, opt, x, y, epochs=epochs, batch_size=32)
        after = check_health(model, F.cross_entropy, xb, yb)
        n0, n1 = _linear_norms(before), _linear_norms(after)
        dead = max(after["dead_relu"].values(), default=None)
        init_norms[act] = n0
        result[act] = {"grad_norms_init": n0, "grad_norms_trained": n1, "first_over_last_init": n0[0] / n0[-1],
                       "train_accuracy": hist["accuracy"][-1], "dead_relu_max": dead}
        rows.append([act, n0[0], n0[-1], n0[0] / n0[-1], n1[0] / n1[-1], hist["accuracy"][-1],
                     "—" if dead is None else f"{100 * dead:.0f}%"])
    print(f"10-layer MLPs 784-32×9-10, He initialisation, {epochs} epochs of SGD + momentum on {len(x)} digits")
    table(["activation", "‖∇W₁‖ init", "‖∇W₁₀‖ init", "ratio init", "ratio trained", "train acc", "dead ReLU (max)"],
          rows)
    print("sigmoid shrinks the gradient by ≤ 1/4 per layer, so the first layers barely learn (vanishing "
          "gradients); ReLU-like units keep the norms comparable across depth")

    dg.manual_seed(0)
    lin = MLP([4, 8, 8, 3], activation="identity")
    (w1, b1), (w2, b2), (w3, b3) = [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in lin
                                    if isinstance(m, nn.Linear)]
    w, b = w3 @ w2 @ w1, w3 @ (w2 @ b1 + b2) + b3
    xs = np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32)
    with dg.no_grad():
        collapse = float(np.abs(lin(dg.tensor(xs)).numpy() - (xs @ w.T + b)).max())
    print(f"without hidden activation, MLP 4-8-8-3 = one linear map x ↦ W₃W₂W₁x + b: max |net(x) − Wx − b| = "
          f"{collapse:.1e} (W = W₃W₂W₁ has shape {w.shape})")
    result["linear_collapse_error"] = collapse
    result["figure"] = figure(out, "activations_grad_norms.png", lambda path: _norms_plot(init_norms, path))
    return result


def _norms_plot(norms: dict, path: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    # relu and leaky_relu (slope 0.01) give nearly the same norms: distinct markers and dashes keep both visible
    styles = dict(zip(_ACTS, [("o", "-"), ("s", "-"), ("^", "-"), ("v", "--"), ("D", "-"), ("x", ":")]))
    for act, ns in norms.items():
        marker, ls = styles.get(act, ("o", "-"))
        ax.semilogy(np.arange(1, len(ns) + 1), ns, marker=marker, ls=ls, ms=6 if marker in "^v" else 5,
                    mfc="none" if act == "relu" else None, label=act)
    ax.set_xlabel("layer (1 = input side)")
    ax.set_ylabel("‖∂L/∂W‖ at initialisation")
    ax.set_title("gradient norm per layer, 10-layer MLP")
    ax.set_xticks(range(1, max(len(ns) for ns in norms.values()) + 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="activation", title_fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save(fig, path)


def _init(model, scheme: str) -> None:
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
            if scheme == "zeros":
                nn.init.zeros_(m.weight)
            elif scheme == "constant":
                nn.init.constant_(m.weight, 0.05)
            elif scheme == "large":
                nn.init.normal_(m.weight, 0.0, 1.0)
            elif scheme == "xavier":
                nn.init.xavier_normal_(m.weight)
            else:
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")


@demo("initialization", "Zeros (no learning), constant (symmetry), large (explosion), Xavier and He initialisation")
def initialization(out: str, fast: bool) -> dict:
    x, y = mnist("train", 1000 if fast else 5000)
    epochs = 3 if fast else 10
    curves, result, rows = {}, {}, []
    for scheme in ("zeros", "constant", "large", "xavier", "he"):
        dg.manual_seed(0)
        model = MLP([784, 64, 64, 10], activation="relu")
        _init(model, scheme)
        opt = dg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        with dg.no_grad():
            first = float(F.cross_entropy(model(dg.tensor(x)), dg.tensor(y)).item())
        hist = train_classifier(model, opt, x, y, epochs=epochs, batch_size=64)
        w1 = model[1].weight.detach().numpy()
        spread = float(np.abs(w1 - w1[:1]).max())  # 0 in exact arithmetic when every hidden unit has the same weights
        curves[scheme] = [first] + hist["loss"]
        result[scheme] = {"initial_loss": first, "final_loss": hist["loss"][-1], "accuracy": hist["accuracy"][-1],
                          "hidden_unit_spread": spread}
        rows.append([scheme, first, hist["loss"][-1], hist["accuracy"][-1], spread])
    print(f"MLP 784-64-64-10 (ReLU), {epochs} epochs of SGD + momentum on {len(x)} digits:")
    table(["init", "initial loss", "final loss", "train acc", "max |W₁[i] − W₁[0]|"], rows)
    print("zeros: every gradient but the last bias's is zero, the loss stays at ln 10 = 2.30; constant: the hidden "
          "units receive identical gradients and stay identical (spread 0 up to float32 rounding: a BLAS kernel may sum "
          "different rows of one GEMM in different orders); large N(0, 1): the initial loss explodes and "
          "the big steps that follow kill the ReLUs; Xavier and He keep the signal's scale and learn")

    def draw(path):
        series = {k: [min(v, 50.0) if math.isfinite(v) else 50.0 for v in c] for k, c in curves.items()}
        plots.line_plot(series, path, xlabel="epoch (0 = before training)", ylabel="training loss (clipped at 50)",
                        title="initialisation schemes", logy=True,
                        # zeros, constant and large all end at ln 10: widths and dashes keep the three visible
                        styles={"zeros": {"lw": 5, "alpha": 0.5}, "constant": {"lw": 2.5, "ls": "--"},
                                "large": {"lw": 1.2, "ls": ":"}})

    result["figure"] = figure(out, "initialization.png", draw)
    return result


# ------------------------------------------------------------------------------------------------- optimisers
def _rosenbrock(p):
    return 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2


_ROSEN_OPTS = {
    "GD": lambda p: dg.optim.SGD([p], lr=5e-4),
    "SGD (noisy gradient)": lambda p: dg.optim.SGD([p], lr=5e-4),
    "momentum": lambda p: dg.optim.SGD([p], lr=5e-4, momentum=0.9),
    "Nesterov": lambda p: dg.optim.SGD([p], lr=5e-4, momentum=0.9, nesterov=True),
    "RMSProp": lambda p: dg.optim.RMSprop([p], lr=3e-3),
    "Adagrad": lambda p: dg.optim.Adagrad([p], lr=1.0),
    "Adam": lambda p: dg.optim.Adam([p], lr=0.05),
    "Barzilai-Borwein": lambda p: dg.optim.BarzilaiBorwein([p], lr=5e-4),
    "L-BFGS": lambda p: dg.optim.LBFGS([p], lr=1.0, max_iter=1, line_search_fn="strong_wolfe"),
}


def _run_rosenbrock(name: str, steps: int) -> np.ndarray:
    p = dg.tensor([-1.5, 2.0], dtype=dg.float64, requires_grad=True)
    opt = _ROSEN_OPTS[name](p)
    rng = np.random.default_rng(0)
    path = [p.detach().numpy().copy()]

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(p)
        loss.backward()
        if name.startswith("SGD"):
            p.grad = p.grad + dg.tensor(rng.standard_normal(2) * 5.0)
        return loss

    for _ in range(steps):
        opt.step(closure)
        path.append(p.detach().numpy().copy())
        if not np.all(np.isfinite(path[-1])):
            break
    return np.array(path)


def _mnist_optimizers(fast: bool) -> dict:
    x, y = mnist("train", 500 if fast else 2000)
    passes = 3 if fast else 15
    xt, yt = dg.tensor(x), dg.tensor(y)
    makers = {
        "GD (full batch)": (lambda ps: dg.optim.SGD(ps, lr=0.5), None),
        "SGD": (lambda ps: dg.optim.SGD(ps, lr=0.05), 32),
        "momentum": (lambda ps: dg.optim.SGD(ps, lr=0.05, momentum=0.9), 32),
        "Nesterov": (lambda ps: dg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True), 32),
        "RMSProp": (lambda ps: dg.optim.RMSprop(ps, lr=1e-3), 32),
        "Adagrad": (lambda ps: dg.optim.Adagrad(ps, lr=0.05), 32),
        "Adam": (lambda ps: dg.optim.Adam(ps, lr=1e-3), 32),
        "Barzilai-Borwein (full batch)": (lambda ps: dg.optim.BarzilaiBorwein(ps, lr=0.5), None),
        "L-BFGS (full batch)": (lambda ps: dg.optim.LBFGS(ps, max_iter=1, line_search_fn="strong_wolfe"), None),
    }
    curves = {}
    for name, (make, batch) in makers.items():
        dg.manual_seed(0)
        model = MLP([784, 64, 10])
        opt = make(list(model.parameters()))
        with dg.no_grad():
            losses = [float(F.cross_entropy(model(xt), yt).item())]
        for epoch in range(passes):
            if batch is None:
                def closure():
                    opt.zero_grad()
                    loss = F.cross_entropy(model(xt), yt)
                    loss.backward()
                    return loss

                opt.step(closure)
            else:
                train_classifier(model, opt, x, y, epochs=1, batch_size=batch, seed=epoch)
            with dg.no_grad():
                losses.append(float(F.cross_entropy(model(xt), yt).item()))
        curves[name] = losses
    return {"curves": curves, "passes": passes, "n": len(x)}


@demo("optimizers", "GD, SGD, momentum, Nesterov, RMSProp, Adagrad, Adam, Barzilai-Borwein, L-BFGS on Rosenbrock and MNIST")
def optimizers(out: str, fast: bool) -> dict:
    steps = 500 if fast else 3000
    paths, dist, rows = {}, {}, []
    for name in _ROSEN_OPTS:
        path = _run_rosenbrock(name, steps)
        paths[name] = path
        dist[name] = float(np.linalg.norm(path[-1] - 1.0)) if np.all(np.isfinite(path[-1])) else math.inf
        rows.append([name, len(path) - 1, f"({path[-1][0]:.3f}, {path[-1][1]:.3f})", dist[name],
                     float(_rosenbrock(path[-1]))])
    print(f"Rosenbrock f = 100(y − x²)² + (1 − x)² from (−1.5, 2), {steps} steps (minimum at (1, 1)):")
    table(["optimiser", "steps", "final point", "distance to (1, 1)", "f"], rows)

    mn = _mnist_optimizers(fast)
    print(f"\nMLP 784-64-10 on {mn['n']} MNIST digits, {mn['passes']} passes over the data (full-batch methods make "
          "one step per pass, mini-batch ones (32) many):")
    table(["optimiser", "initial loss", "final loss"], [[k, v[0], v[-1]] for k, v in mn["curves"].items()])

    def draw_paths(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(7, 5.5))
        gx, gy = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
        ax.contour(gx, gy, np.log10(_rosenbrock(np.stack([gx, gy])) + 1e-3), levels=25, cmap="gray", alpha=0.6)
        # tab10 without its gray (the contours' colour), then black: nine paths, nine colours
        colours = [c for c in plt.get_cmap("tab10").colors if c[0] != c[1] or c[1] != c[2]] + [(0.0, 0.0, 0.0)]
        for (name, pts), colour in zip(paths.items(), colours):
            pts = pts[np.all(np.isfinite(pts), 1)]
            ax.plot(pts[:, 0], pts[:, 1], "-", lw=1.2, color=colour, label=f"{name} ({dist[name]:.2g})")
        ax.plot([1], [1], "k*", ms=14, label="minimum (1, 1)")
        ax.plot([-1.5], [2], "ko", label="start (−1.5, 2)")
        ax.set_xlim(-2, 2)
        ax.set_ylim(-1, 3)
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.legend(fontsize=7, title="optimiser (final distance to (1, 1))", title_fontsize=7, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0))  # beside the axes: the paths stay visible
        ax.set_title(f"Rosenbrock, {steps} steps from (−1.5, 2)")
        save(fig, path)

    figs = {"rosenbrock": figure(out, "optimizers_rosenbrock.png", draw_paths),
            "mnist": figure(out, "optimizers_mnist.png", lambda path: plots.line_plot(
                mn["curves"], path, xlabel="passes over the data", ylabel="training loss",
                title="optimisers on MNIST", logy=True))}
    return {"rosenbrock_distance": dist, "mnist_final_loss": {k: v[-1] for k, v in mn["curves"].items()},
            "figures": figs}


@demo("batch-size", "Batch vs mini-batch vs stochastic gradient descent; learning rate proportional to batch size")
def batch_size(out: str, fast: bool) -> dict:
    x, y = mnist("train", 500 if fast else 2000)
    epochs = 3 if fast else 10
    xt, yt = dg.tensor(x), dg.tensor(y)

    def run(batch, lr):
        dg.manual_seed(0)
        model = MLP([784, 64, 10])
        opt = dg.optim.SGD(model.parameters(), lr=lr)
        t0 = time.perf_counter()
        hist = train_classifier(model, opt, x, y, epochs=epochs, batch_size=batch)
        with dg.no_grad():
            final = float(F.cross_entropy(model(xt), yt).item())
        return hist, final, time.perf_counter() - t0

    kinds = {"batch GD (B = N)": (len(x), 0.5), "mini-batch (B = 32)": (32, 0.05), "stochastic (B = 1)": (1, 0.005)}
    curves, result, rows = {}, {"kinds": {}}, []
    for name, (b, lr) in kinds.items():
        hist, final, secs = run(b, lr)
        curves[name] = hist["loss"]
        result["kinds"][name] = {"batch": b, "lr": lr, "final_loss": final, "seconds": secs,
                                 "updates": epochs * math.ceil(len(x) / b)}
        rows.append([name, lr, epochs * math.ceil(len(x) / b), final, hist["accuracy"][-1], secs])
    print(f"MLP 784-64-10 on {len(x)} digits, {epochs} epochs of plain SGD:")
    table(["method", "lr", "updates", "final loss", "train acc", "seconds"], rows)

    rule = {}
    rows = []
    for b, lr in ((16, 0.025), (32, 0.05), (64, 0.1), (128, 0.2), (128, 0.05)):
        _, final, _ = run(b, lr)
        rule[f"B={b}, lr={lr:g}"] = final
        rows.append([b, lr, lr / b, final])
    print("\nlearning rate ∝ batch size: the same number of epochs with lr/B fixed gives about the same loss; a "
          "larger batch at the old lr falls behind (fewer, equally long steps):")
    table(["batch B", "lr", "lr / B", "final loss"], rows)
    result["rule"] = rule
    result["figure"] = figure(out, "batch_size.png", lambda path: plots.line_plot(
        curves, path, xlabel="epoch", ylabel="training loss (mean over the epoch)",
        title="batch vs mini-batch vs stochastic", x=np.arange(1, epochs + 1)))
    return result
