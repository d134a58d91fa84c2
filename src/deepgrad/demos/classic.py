"""Demos of the first neurons and the single-neuron exercise: McCulloch-Pitts units, the perceptron, the backprop
exercise of lecture 003, XOR, the SVM and softmax losses, and the softmax + cross-entropy gradient."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from .. import nn
from ..data import synthetic
from ..models import MLP, McCullochPitts, Perceptron
from ..nn import functional as F
from ..viz import plots
from . import demo
from ._mlp_util import figure, pyplot, save, table

_UNITS = {"AND": McCullochPitts.and_, "OR": McCullochPitts.or_, "NOT": McCullochPitts.not_,
          "x1 AND NOT x2": McCullochPitts.and_not}


def _draw_line(ax, w, b, lo=-0.5, hi=1.5, **kw) -> None:
    """The line w·x + b = 0 in the plane."""
    xs = np.linspace(lo, hi, 2)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, -(w[0] * xs + b) / w[1], **kw)
    else:
        ax.axvline(-b / w[0], **kw)


@demo("mcculloch-pitts", "McCulloch-Pitts units AND, OR, NOT, x1 AND NOT x2: truth tables and separating lines")
def mcculloch_pitts(out: str, fast: bool) -> dict:
    result = {}
    for name, make in _UNITS.items():
        unit = make()
        x, y = unit.truth_table()
        w, b = unit.hyperplane()
        print(f"\n{name}: θ = {unit.threshold:g}, inhibitory inputs {[i + 1 for i in unit.inhibitory]}")
        table([f"x{i + 1}" for i in range(unit.n_inputs)] + ["y"], [[*map(int, r), int(v)] for r, v in zip(x, y)])
        line = " + ".join(f"{wi:g}·x{i + 1}" for i, wi in enumerate(w)).replace("+ -", "- ")
        print(f"fires where {line} {'-' if b < 0 else '+'} {abs(b):g} ≥ 0")
        result[name] = {"outputs": y.tolist(), "weights": w.tolist(), "offset": b}

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 4, figsize=(14, 4), layout="constrained")
        for ax, (name, make) in zip(axes, _UNITS.items()):
            unit = make()
            x, y = unit.truth_table()
            w, b = unit.hyperplane()
            if unit.n_inputs == 1:
                ax.scatter(x[:, 0], np.zeros(len(x)), c=y, cmap="coolwarm", s=120, edgecolors="k", vmin=0, vmax=1)
                ax.axvline(-b / w[0], color="k")
                ax.set_yticks([])
                ax.set_xlabel("x")
            else:
                ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=120, edgecolors="k", vmin=0, vmax=1)
                _draw_line(ax, w, b, color="k")
                ax.set_xlabel("x₁")
                ax.set_ylabel("x₂")
                ax.set_ylim(-0.5, 1.5)
                ax.set_yticks([0, 1])
            ax.set_xlim(-0.5, 1.5)
            ax.set_xticks([0, 1])
            ax.set_title(f"{name.replace('x1', 'x₁').replace('x2', 'x₂')} (θ = {unit.threshold:g})")
        fig.get_layout_engine().set(wspace=0.06)  # a gap beside the NOT panel, which has no y ticks
        fig.suptitle("McCulloch-Pitts units: red = fires; the line is where Σ w·x = θ")
        save(fig, path)

    result["figure"] = figure(out, "mcculloch_pitts.png", draw)
    return result


def _perceptron_panel(ax, x, y, p, title) -> None:
    ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=25 if len(x) > 20 else 120)
    w, b = p.hyperplane()
    if np.any(w != 0):
        lo, hi = x[:, 0].min() - 0.3, x[:, 0].max() + 0.3
        _draw_line(ax, w, b, lo, hi, color="k")
    ax.set_xlim(x[:, 0].min() - 0.3, x[:, 0].max() + 0.3)
    ax.set_ylim(x[:, 1].min() - 0.3, x[:, 1].max() + 0.3)
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title(title)


@demo("perceptron", "Rosenblatt's perceptron rule: converges on a separable set, stops at the epoch limit on XOR")
def perceptron(out: str, fast: bool) -> dict:
    limit = 20 if fast else 100
    xs, ys = synthetic.gaussians(100 if fast else 400, noise=0.2, seed=3)
    sep = Perceptron(2)
    fit_sep = sep.fit(xs, ys, lr=0.1, max_epochs=limit)
    acc_sep = float((sep(dg.tensor(xs)).numpy() == ys).mean())
    print(f"separable set ({len(xs)} points): converged = {fit_sep.converged} after {fit_sep.epochs} epochs, "
          f"mistakes per epoch {fit_sep.errors}, training accuracy {acc_sep:.3f}")
    xx = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    yx = np.array([0, 1, 1, 0])
    xor = Perceptron(2)
    fit_xor = xor.fit(xx, yx, lr=0.1, max_epochs=limit)
    acc_xor = float((xor(dg.tensor(xx)).numpy() == yx).mean())
    print(f"XOR: converged = {fit_xor.converged}; stopped at the limit of {fit_xor.epochs} epochs, mistakes per "
          f"epoch {fit_xor.errors[:8]}..., accuracy {acc_xor:.2f} (no line separates XOR)")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
        _perceptron_panel(axes[0], xs, ys, sep, f"separable: converged in {fit_sep.epochs} epochs")
        _perceptron_panel(axes[1], xx, yx, xor, f"XOR: not converged after {fit_xor.epochs} epochs")
        axes[2].plot(range(1, fit_sep.epochs + 1), fit_sep.errors, "o-", label="separable")
        axes[2].plot(range(1, fit_xor.epochs + 1), fit_xor.errors, "s-", ms=4, markevery=max(1, fit_xor.epochs // 20),
                     label="XOR")
        axes[2].set_xlabel("epoch")
        axes[2].set_ylabel("mistakes (= updates) per epoch")
        axes[2].yaxis.get_major_locator().set_params(integer=True)
        axes[2].grid(alpha=0.3)
        axes[2].legend()
        save(fig, path)

    return {"separable": {"converged": fit_sep.converged, "epochs": fit_sep.epochs, "errors": fit_sep.errors,
                          "accuracy": acc_sep},
            "xor": {"converged": fit_xor.converged, "epochs": fit_xor.epochs, "errors": fit_xor.errors,
                    "accuracy": acc_xor},
            "figure": figure(out, "perceptron.png", draw)}


# --------------------------------------------------------------------------------------- the neuron exercise
_EX_X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
_EX_Y = np.array([0.0, 1.0, 1.0, 0.0])


def _hand_step(w: np.ndarray, b: float, x: np.ndarray, y: float, r: float) -> dict:
    """The chain rule written out: C = ½(a − y)², a = σ(z), z = w·x + b."""
    z = float(w @ x + b)
    a = 1.0 / (1.0 + np.exp(-z))
    dc_da = a - y
    da_dz = a * (1.0 - a)
    dc_dz = dc_da * da_dz
    return {"z": z, "a": a, "C": 0.5 * (a - y) ** 2, "dC/da": dc_da, "da/dz": da_dz, "dC/dz": dc_dz,
            "dC/dw": dc_dz * x, "dC/db": dc_dz, "w": w - r * dc_dz * x, "b": b - r * dc_dz}


def _autograd_step(w: np.ndarray, b: float, x: np.ndarray, y: float, r: float) -> dict:
    wt = dg.tensor(w, dtype=dg.float64, requires_grad=True)
    bt = dg.tensor(b, dtype=dg.float64, requires_grad=True)
    z = (wt * dg.tensor(x, dtype=dg.float64)).sum() + bt
    a = F.logistic(z, k=1.0)
    c = 0.5 * (a - y) ** 2
    c.backward()
    gw, gb = wt.grad.numpy(), float(bt.grad.item())
    return {"z": float(z.item()), "a": float(a.item()), "C": float(c.item()), "dC/dw": gw, "dC/db": gb,
            "w": w - r * gw, "b": b - r * gb}


@demo("exercise", "Lecture 003's exercise: one logistic neuron, one update by hand and by autograd, then training")
def exercise(out: str, fast: bool) -> dict:
    w0, b0, r = np.array([0.1, -0.2]), 0.2, 0.1
    print("one neuron a = σ(w·x + b), C = ½(a − y)², w = (0.1, −0.2), b = 0.2, r = 0.1")
    print("Q1: the update for the first observation x = (0, 1), y = 0")
    hand = _hand_step(w0, b0, _EX_X[0], _EX_Y[0], r)
    auto = _autograd_step(w0, b0, _EX_X[0], _EX_Y[0], r)
    for k in ("z", "a", "C", "dC/da", "da/dz", "dC/dz", "dC/dw", "dC/db", "w", "b"):
        line = f"  {k:6s} = {np.round(hand[k], 6)}"
        if k in auto:
            line += f"   (autograd: {np.round(auto[k], 6)})"
        print(line)
    agree = all(np.allclose(hand[k], auto[k], atol=1e-12) for k in auto)
    print(f"hand formulas and autograd agree: {agree}; updated w = {hand['w'].round(4)}, b = {hand['b']:.4f}")

    print("\nQ2: keep training, one sample at a time (SGD), with autograd")
    wt = nn.Parameter(dg.tensor(w0, dtype=dg.float64))
    bt = nn.Parameter(dg.tensor(b0, dtype=dg.float64))
    opt = dg.optim.SGD([wt, bt], lr=r)
    xt, yt = dg.tensor(_EX_X), dg.tensor(_EX_Y)
    epochs = 600 if fast else 10000
    costs, solved_at = [], None
    for epoch in range(epochs):
        for j in range(4):
            opt.zero_grad()
            c = 0.5 * (F.sigmoid((wt * xt[j]).sum() + bt) - yt[j]) ** 2
            c.backward()
            opt.step()
        with dg.no_grad():
            h = F.sigmoid(xt @ wt + bt)
            costs.append(float((0.5 * (h - yt) ** 2).sum().item()))
            if solved_at is None and bool((((h.numpy() > 0.5) == (_EX_Y == 1))).all()):
                solved_at = epoch + 1
    h = F.sigmoid(xt @ wt + bt).detach().numpy()
    rows = [[epoch, costs[epoch - 1]] for epoch in sorted({1, 10, 100, solved_at or 1, epochs // 2, epochs})]
    table(["epoch", "total cost"], rows)
    print(f"all four points classified correctly from epoch {solved_at}; final w = {wt.detach().numpy().round(3)}, "
          f"b = {bt.item():.3f}, outputs h = {h.round(3)}")
    print("it converges: the set is linearly separable (y = x1), so the cost keeps decreasing towards 0 as the "
          "weights grow")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
        axes[0].semilogy(np.arange(1, epochs + 1), costs)
        axes[0].set_xlabel("epoch")
        axes[0].set_ylabel("Σ ½(h − y)²")
        axes[0].set_title("Q2: training cost")
        axes[1].scatter(_EX_X[:, 0], _EX_X[:, 1], c=_EX_Y, cmap="coolwarm", s=120, edgecolors="k")
        _draw_line(axes[1], wt.detach().numpy(), bt.item(), color="k", label="final")
        _draw_line(axes[1], w0, b0, color="gray", ls="--", label="initial")
        axes[1].set_xlim(-0.5, 1.5)
        axes[1].set_ylim(-0.5, 1.5)
        axes[1].set_xlabel("x₁")
        axes[1].set_ylabel("x₂")
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
        axes[1].set_title("h = 0.5 line")
        save(fig, path)

    return {"z": hand["z"], "a": hand["a"], "dC/dw": hand["dC/dw"].tolist(), "dC/db": hand["dC/db"],
            "w": hand["w"].tolist(), "b": hand["b"], "autograd_agrees": agree, "costs": costs,
            "solved_at": solved_at, "outputs": h.tolist(), "figure": figure(out, "exercise.png", draw)}


@demo("xor", "XOR: the perceptron fails, a two-layer MLP solves it (decision boundaries)")
def xor(out: str, fast: bool) -> dict:
    dg.manual_seed(0)
    x, y = synthetic.xor(200 if fast else 400, seed=0)
    p = Perceptron(2)
    fit = p.fit(x, y, lr=0.1, max_epochs=20 if fast else 100)
    acc_p = float((p(dg.tensor(x)).numpy() == y).mean())
    model = MLP([2, 8, 2], activation="tanh")
    opt = dg.optim.Adam(model.parameters(), lr=0.05)
    xt, yt = dg.tensor(x), dg.tensor(y)
    for _ in range(150 if fast else 400):
        loss = F.cross_entropy(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with dg.no_grad():
        acc_m = float((model(xt).numpy().argmax(1) == y).mean())
        corners = model(dg.tensor([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])).numpy().argmax(1)
    print(f"perceptron on XOR ({len(x)} points): converged = {fit.converged} after {fit.epochs} epochs, accuracy "
          f"{acc_p:.3f}")
    print(f"MLP 2-8-2 (tanh) on XOR: accuracy {acc_m:.3f}, final loss {loss.item():.4f}; corners "
          f"(−,−) (−,+) (+,−) (+,+) → classes {corners.tolist()}")

    def predict_p(g):
        return p(dg.tensor(g)).numpy()

    def predict_m(g):
        with dg.no_grad():
            return model(dg.tensor(g)).softmax(-1).numpy()

    figs = {"perceptron": figure(out, "xor_perceptron.png", lambda path: plots.decision_boundary(
        predict_p, x, y, path, title=f"perceptron: accuracy {acc_p:.2f}")),
        "mlp": figure(out, "xor_mlp.png", lambda path: plots.decision_boundary(
            predict_m, x, y, path, title=f"MLP 2-8-2: accuracy {acc_m:.2f}"))}
    return {"perceptron_converged": fit.converged, "perceptron_accuracy": acc_p, "mlp_accuracy": acc_m,
            "mlp_corners": corners.tolist(), "figures": figs}


@demo("hinge-vs-softmax", "The cat/car/frog example: multiclass SVM losses 2.9, 0, 12.9 vs softmax cross-entropy")
def hinge_vs_softmax(out: str, fast: bool) -> dict:
    classes = ["cat", "car", "frog"]
    scores = dg.tensor([[3.2, 1.3, 2.2], [5.1, 4.9, 2.5], [-1.7, 2.0, -3.1]], dtype=dg.float64)  # rows: classes
    s = scores.T  # one row per image
    target = dg.tensor([0, 1, 2])
    print("scores (columns are the images of a cat, a car, a frog):")
    table(["class", "cat image", "car image", "frog image"],
          [[c, *[float(v) for v in row]] for c, row in zip(classes, scores.numpy())])
    hinge = F.multiclass_hinge_loss(s, target, reduction="none").numpy()
    mean_hinge = float(F.multiclass_hinge_loss(s, target).item())
    print(f"multiclass SVM loss L_i = Σ_(j≠y) max(0, s_j − s_y + 1): {np.round(hinge, 2).tolist()}, "
          f"mean L = {mean_hinge:.2f}")
    probs = F.softmax(s, dim=1).numpy()
    ce = F.cross_entropy(s, target, reduction="none").numpy()
    print("softmax of the cat image: exp(s) =", np.round(np.exp(s.numpy()[0]), 2).tolist(),
          "→ probabilities", np.round(probs[0], 2).tolist())
    table(["image", "P(cat)", "P(car)", "P(frog)", "cross-entropy −ln P(y)"],
          [[f"{c} image", *map(float, probs[i]), float(ce[i])] for i, c in enumerate(classes)])
    print(f"the cat image: hinge loss {hinge[0]:.1f}, cross-entropy {ce[0]:.2f} (= −ln {probs[0, 0]:.2f}); "
          "the car image has hinge loss 0 (margin met) but still a positive cross-entropy")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
        pos = np.arange(3)
        axes[0].bar(pos - 0.2, hinge, 0.4, label="multiclass SVM")
        axes[0].bar(pos + 0.2, ce, 0.4, label="cross-entropy")
        axes[0].set_xticks(pos, [f"{c} image" for c in classes])
        axes[0].set_ylabel("loss (nats for cross-entropy)")
        axes[0].legend()
        axes[0].set_title("loss per image")
        bars = axes[1].bar(pos, probs[0], color=["tab:green", "tab:red", "tab:red"])
        axes[1].bar_label(bars, [f"{v:.2f}" for v in probs[0]], padding=2)
        axes[1].set_xticks(pos, classes)
        axes[1].set_ylim(0, 1)
        axes[1].set_xlabel("class (green: the true class)")
        axes[1].set_ylabel("softmax probability")
        axes[1].set_title("softmax probabilities of the cat image")
        save(fig, path)

    return {"hinge": hinge.tolist(), "hinge_mean": mean_hinge, "cat_probs": probs[0].tolist(),
            "cross_entropy": ce.tolist(), "figure": figure(out, "hinge_vs_softmax.png", draw)}


@demo("softmax-gradient", "∂CE/∂logits = softmax − one-hot checked numerically; backprop by hand vs autograd")
def softmax_gradient(out: str, fast: bool) -> dict:
    rng = np.random.default_rng(0)
    c = 5
    logits = rng.standard_normal(c)
    y = 3
    onehot = np.eye(c)[y]
    t = dg.tensor(logits[None], dtype=dg.float64, requires_grad=True)
    F.cross_entropy(t, dg.tensor([y])).backward()
    auto = t.grad.numpy()[0]
    formula = np.exp(logits) / np.exp(logits).sum() - onehot

    def ce(v):
        return -np.log(np.exp(v[y]) / np.exp(v).sum())

    eps = 1e-6
    numeric = np.array([(ce(logits + eps * e) - ce(logits - eps * e)) / (2 * eps) for e in np.eye(c)])
    print(f"logits ỹ = {logits.round(3).tolist()}, target class {y} (one-hot {onehot.astype(int).tolist()})")
    table(["i", "softmax − one-hot", "autograd", "central difference"],
          [[i, float(formula[i]), float(auto[i]), float(numeric[i])] for i in range(c)])
    err_ce = float(max(np.abs(formula - auto).max(), np.abs(formula - numeric).max()))
    print(f"largest disagreement: {err_ce:.2e}")

    print("\nbackprop through h̃ = Wʰx + bʰ, h = σ(h̃), ỹ = Wᵒh + bᵒ, f = softmax(ỹ), L = −log f_y "
          "(when in doubt, look at the shape):")
    d, hdim = 4, 6
    x = rng.standard_normal(d)
    wh, bh = rng.standard_normal((hdim, d)) * 0.5, rng.standard_normal(hdim) * 0.1
    wo, bo = rng.standard_normal((c, hdim)) * 0.5, rng.standard_normal(c) * 0.1
    ht = wh @ x + bh
    h = 1 / (1 + np.exp(-ht))
    yt = wo @ h + bo
    f = np.exp(yt - yt.max()) / np.exp(yt - yt.max()).sum()
    hand = {}
    hand["∇ỹ L = f − e(y)"] = f - onehot
    hand["∇bᵒ L = ∇ỹ L"] = hand["∇ỹ L = f − e(y)"]
    hand["∇Wᵒ L = ∇ỹ L · hᵀ"] = np.outer(hand["∇ỹ L = f − e(y)"], h)
    hand["∇h L = Wᵒᵀ · ∇ỹ L"] = wo.T @ hand["∇ỹ L = f − e(y)"]
    hand["∇h̃ L = ∇h L ⊙ σ'(h̃)"] = hand["∇h L = Wᵒᵀ · ∇ỹ L"] * h * (1 - h)
    hand["∇bʰ L = ∇h̃ L"] = hand["∇h̃ L = ∇h L ⊙ σ'(h̃)"]
    hand["∇Wʰ L = ∇h̃ L · xᵀ"] = np.outer(hand["∇h̃ L = ∇h L ⊙ σ'(h̃)"], x)

    params = {k: dg.tensor(v, dtype=dg.float64, requires_grad=True) for k, v in
              (("Wh", wh), ("bh", bh), ("Wo", wo), ("bo", bo))}
    ht_t = params["Wh"] @ dg.tensor(x) + params["bh"]
    ht_t.retain_grad()
    h_t = F.sigmoid(ht_t)
    h_t.retain_grad()
    y_t = params["Wo"] @ h_t + params["bo"]
    y_t.retain_grad()
    F.cross_entropy(y_t[None], dg.tensor([y])).backward()
    auto_g = {"∇ỹ L = f − e(y)": y_t.grad, "∇bᵒ L = ∇ỹ L": params["bo"].grad,
              "∇Wᵒ L = ∇ỹ L · hᵀ": params["Wo"].grad, "∇h L = Wᵒᵀ · ∇ỹ L": h_t.grad,
              "∇h̃ L = ∇h L ⊙ σ'(h̃)": ht_t.grad,
              "∇bʰ L = ∇h̃ L": params["bh"].grad, "∇Wʰ L = ∇h̃ L · xᵀ": params["Wh"].grad}
    rows = []
    worst = 0.0
    for k, v in hand.items():
        diff = float(np.abs(auto_g[k].numpy() - v).max())
        worst = max(worst, diff)
        rows.append([k, str(v.shape), f"{diff:.1e}"])
    table(["equation", "shape", "|hand − autograd|"], rows)
    print(f"shapes: x {x.shape}, Wʰ {wh.shape}, h {h.shape}, Wᵒ {wo.shape}, ỹ {yt.shape}: each ∇W has W's shape, "
          f"as the update W ← W − η∇W requires. Largest disagreement {worst:.1e}")

    def draw(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 3.6))
        pos = np.arange(c)
        ax.bar(pos - 0.2, formula, 0.4, label="softmax − one-hot")
        ax.bar(pos + 0.2, auto, 0.4, label="autograd")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xlabel(f"logit i (target class {y})")
        ax.set_ylabel("∂L/∂ỹ_i")
        ax.legend()
        ax.set_title("gradient of the cross-entropy w.r.t. the logits")
        save(fig, path)

    return {"max_error_logits": err_ce, "max_error_backprop": worst,
            "shapes": {k: list(v.shape) for k, v in hand.items()}, "figure": figure(out, "softmax_gradient.png", draw)}
