"""Demos of what MLPs can represent: universal approximation by sums of ReLUs, regressing the Rosenbrock surface,
an image as a surface I = f(x, y) at equal weight budgets (deeper is better), and the MNIST MLP."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..data import synthetic
from ..models import MLP
from ..nn import functional as F
from ..train import confusion_matrix
from ..viz import plots
from . import demo
from ._mlp_util import accuracy, figure, mnist, pyplot, save, table, train_classifier


def _target(x: np.ndarray) -> np.ndarray:
    return np.sin(3 * x) + 0.3 * x ** 2


def _relu_network(n: int, lo: float = -2.0, hi: float = 2.0) -> MLP:
    """An MLP 1 → n → 1 whose ReLUs are placed by hand: the piecewise-linear interpolant of the target at n + 1
    knots, f(x) ≈ f(x₀) + Σ_k c_k ReLU(x − x_k), c_k the change of slope at knot k."""
    knots = np.linspace(lo, hi, n + 1)
    slopes = np.diff(_target(knots)) / np.diff(knots)
    c = np.diff(np.concatenate([[0.0], slopes]))
    net = MLP([1, n, 1], activation="relu")
    with dg.no_grad():
        net[1].weight.copy_(dg.ones(n, 1))
        net[1].bias.copy_(dg.tensor(-knots[:-1], dtype=dg.float32))
        net[3].weight.copy_(dg.tensor(c[None], dtype=dg.float32))
        net[3].bias.copy_(dg.tensor([_target(knots[0])], dtype=dg.float32))
    return net


@demo("universal-approximation", "A continuous function as a sum of 1, 2, 4, ... translated/scaled ReLUs: error shrinks")
def universal_approximation(out: str, fast: bool) -> dict:
    counts = [1, 2, 4, 8, 16, 32] if fast else [1, 2, 4, 8, 16, 32, 64, 128]
    x = np.linspace(-2, 2, 2001, dtype=np.float32)[:, None]
    truth = _target(x[:, 0].astype(np.float64))
    rows, errors, curves = [], {}, {}
    for n in counts:
        with dg.no_grad():
            pred = _relu_network(n)(dg.tensor(x)).numpy()[:, 0]
        err = float(np.abs(pred - truth).max())
        errors[n] = err
        curves[n] = pred
        rows.append([n, 3 * n + 1, err, float(np.sqrt(np.mean((pred - truth) ** 2)))])
    print("ψ(x) = sin(3x) + 0.3x² on [−2, 2] approximated by f(x) = b + Σ_k c_k ReLU(w_k x + b_k) (an MLP 1 → n → 1):")
    table(["ReLUs n", "weights", "max |f − ψ|", "RMS error"], rows)
    print("doubling the units divides the error by about 4 (piecewise-linear interpolation: error ∝ 1/n²)")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
        axes[0].plot(x[:, 0], truth, "k", lw=2, label="ψ")
        for n in counts[:4]:
            axes[0].plot(x[:, 0], curves[n], label=f"{n} ReLU{'s' if n > 1 else ''}")
        axes[0].legend(fontsize=8)
        axes[0].set_xlabel("x")
        axes[0].set_ylabel("ψ(x) and its approximations f(x)")
        axes[0].set_title("sums of translated/scaled ReLUs")
        axes[1].loglog(counts, [errors[n] for n in counts], "o-")
        axes[1].set_xlabel("number of ReLUs")
        axes[1].set_ylabel("max |f(x) − ψ(x)| on [−2, 2]")
        axes[1].set_title("error against the number of ReLUs")
        axes[1].grid(alpha=0.3)
        save(fig, path)

    return {"max_error": errors, "figure": figure(out, "universal_approximation.png", draw)}


def _fit_regression(model, x: np.ndarray, y: np.ndarray, steps: int, lr: float, batch: int | None = None,
                    seed: int = 0) -> list:
    """Adam on the mean squared error (full batch, or mini-batches of ``batch``); returns the loss per step."""
    opt = dg.optim.Adam(model.parameters(), lr=lr)
    sched = dg.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    rng = np.random.default_rng(seed)
    xt, yt = dg.tensor(x), dg.tensor(y)
    losses = []
    for _ in range(steps):
        if batch is None:
            xb, yb = xt, yt
        else:
            idx = rng.integers(0, len(x), batch)
            xb, yb = dg.tensor(x[idx]), dg.tensor(y[idx])
        loss = F.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
    return losses


@demo("rosenbrock", "An MLP regresses the Rosenbrock surface 100(x2 − x1²)² + (1 − x1)²: predicted vs true")
def rosenbrock(out: str, fast: bool) -> dict:
    dg.manual_seed(0)
    x, y = synthetic.rosenbrock(1024 if fast else 4096, seed=0)
    xv, yv = synthetic.rosenbrock(900, grid=True)
    scale = float(y.std())
    model = MLP([2, 64, 64, 1], activation="tanh")
    losses = _fit_regression(model, x, y / scale, steps=400 if fast else 3000, lr=1e-2, batch=256)
    with dg.no_grad():
        pred = model(dg.tensor(xv)).numpy() * scale
    rmse = float(np.sqrt(np.mean((pred - yv) ** 2)))
    r2 = float(1 - np.mean((pred - yv) ** 2) / np.var(yv))
    print(f"MLP 2-64-64-1 (tanh), trained on {len(x)} samples of the surface (targets / {scale:.0f}):")
    print(f"on a 30×30 grid: RMSE {rmse:.1f} for values in [{yv.min():.0f}, {yv.max():.0f}] (std {yv.std():.0f}), "
          f"R² = {r2:.4f}")

    def predict(pts):
        with dg.no_grad():
            return model(dg.tensor(pts)).numpy() * scale

    def truth(pts):
        return 100 * (pts[:, 1] - pts[:, 0] ** 2) ** 2 + (1 - pts[:, 0]) ** 2

    return {"rmse": rmse, "r2": r2, "final_loss": losses[-1],
            "figure": figure(out, "rosenbrock_surface.png",
                             lambda path: plots.surface(truth, predict, path,
                                                         title=f"Rosenbrock surface, MLP 2-64-64-1: R² = {r2:.4f}"))}


# the deck's five nets: three at ≈500 weights, then two wider 3-layer nets (541 and 837 weights)
_SURFACE_NETS = {"1 layer of 125": [2, 125, 1], "2 layers of 20": [2, 20, 20, 1], "3 layers of 14": [2, 14, 14, 14, 1],
                 "3 layers of 15": [2, 15, 15, 15, 1], "3 layers of 19": [2, 19, 19, 19, 1]}
_LECTURE = {"1 layer of 125": 2.40e-1, "2 layers of 20": 8.31e-2, "3 layers of 14": 7.55e-2, "3 layers of 15": 5.93e-2,
            "3 layers of 19": 4.38e-2}


@demo("surface", "An image as a surface I = f(x, y) fitted at ≈500 weights (1×125 vs 2×20 vs 3×14 hidden units), "
                 "then 3×15 and 3×19 (541 and 837 weights)")
def surface(out: str, fast: bool) -> dict:
    size = 32
    x, y = synthetic.image_surface(size)
    steps = 1500 if fast else 3000
    results, images = {}, {}
    rows = []
    for name, sizes in _SURFACE_NETS.items():
        dg.manual_seed(0)
        model = MLP(sizes, activation="relu")
        n_weights = sum(p.numel() for p in model.parameters())
        _fit_regression(model, x, y, steps=steps, lr=3e-3)
        with dg.no_grad():
            pred = model(dg.tensor(x)).numpy()
        mse = float(np.mean((pred - y) ** 2))
        results[name] = {"weights": n_weights, "mse": mse, "sse": float(np.sum((pred - y) ** 2))}
        images[name] = pred.reshape(size, size)
        rows.append([name, n_weights, mse, results[name]["sse"], _LECTURE[name]])
    print(f"image {size}×{size} as I = f(x, y), {steps} full-batch Adam steps (cosine-decayed lr), ReLU:")
    table(["hidden layers", "weights", "MSE", "sum of squares", "lecture's loss"], rows)
    print("at the same budget, depth helps: the deeper nets fit the image better, and more weights in 3 layers help "
          "further. Our numbers differ from the "
          "lecture's: its image (and its loss normalisation) is not ours — deepgrad draws a synthetic test image "
          "(blobs, rings, an edge).")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 1 + len(images), figsize=(3.5 * (1 + len(images)), 3.6))
        axes[0].imshow(y.reshape(size, size), cmap="gray", vmin=0, vmax=1)
        axes[0].set_title("image I(x, y)")
        for ax, (name, img) in zip(axes[1:], images.items()):
            ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{name}: MSE {results[name]['mse']:.2e}", fontsize=9)
        for ax in axes:
            ax.axis("off")
        save(fig, path)

    return {**results, "figure": figure(out, "surface_fits.png", draw)}


@demo("mnist-mlp", "MLP 784 → hidden → 10 on the MNIST sample: accuracy for hidden widths 20 to 120, confusion matrix")
def mnist_mlp(out: str, fast: bool) -> dict:
    n_train = 1500 if fast else None
    x, y = mnist("train", n_train)
    xt, yt = mnist("test")
    widths = [20, 120] if fast else [20, 40, 60, 80, 100, 120]
    epochs = 3 if fast else 15
    acc, rows, model = {}, [], None
    for h in widths:
        dg.manual_seed(0)
        model = MLP([784, h, 10], activation="relu")
        opt = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        hist = train_classifier(model, opt, x, y, epochs=epochs, batch_size=64)
        acc[h] = accuracy(model, xt, yt)
        rows.append([h, 784 * h + h + 10 * h + 10, hist["accuracy"][-1], acc[h]])
    print(f"MLP 784 → h → 10 (ReLU), {len(x)} training digits, {epochs} epochs of SGD + momentum:")
    table(["hidden h", "parameters", "train accuracy", "test accuracy"], rows)
    with dg.no_grad():
        model.eval()
        cm = confusion_matrix(model(dg.tensor(xt)), yt, num_classes=10)
    print(f"confusion matrix of h = {widths[-1]} (rows: true digit, columns: predicted):")
    print(cm)
    figs = {"confusion": figure(out, "mnist_mlp_confusion.png", lambda path: plots.confusion_matrix(
        cm, path, title=f"MLP 784-{widths[-1]}-10: test accuracy {acc[widths[-1]]:.3f}"))}

    def draw(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.plot(widths, [acc[h] for h in widths], "o-")
        ax.set_xlabel("hidden layer size h (units)")
        ax.set_ylabel(f"test accuracy ({len(yt)} digits)")
        ax.set_title(f"MLP 784-h-10, {epochs} epochs on {len(x)} digits")
        ax.grid(alpha=0.3)
        save(fig, path)

    figs["width"] = figure(out, "mnist_mlp_width.png", draw)
    return {"test_accuracy": acc, "confusion_matrix": cm.tolist(), "figures": figs}
