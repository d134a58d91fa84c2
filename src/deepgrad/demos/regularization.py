"""Demos of over-fitting and how to see and fight it: L2, L1, elastic net, dropout, early stopping, the
bias-variance picture, and k-fold cross-validation."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..data import ArrayDataset, DataLoader, KFold
from ..models import MLP
from ..nn import functional as F
from ..train import EarlyStopping, Trainer
from . import demo
from ._mlp_util import accuracy, figure, mnist, pyplot, save, table, train_classifier


def _weights(model) -> list:
    return [p for name, p in model.named_parameters() if name.endswith("weight")]


def _bias_variance(fast: bool) -> dict:
    """Noisy samples of sin(πx) fitted by polynomials of degree 1 (under-fit), 4 (good) and 11 (over-fit)."""
    rng = np.random.default_rng(0)
    x = np.sort(rng.uniform(-1, 1, 15))
    y = np.sin(np.pi * x) + 0.25 * rng.standard_normal(15)
    xt = np.linspace(-1, 1, 400)
    yt = np.sin(np.pi * xt)
    fits = {}
    for label, deg in (("under-fit", 1), ("good fit", 4), ("over-fit", 11)):
        coef = np.polynomial.legendre.legfit(x, y, deg)
        fits[label] = {"degree": deg, "train_mse": float(np.mean((np.polynomial.legendre.legval(x, coef) - y) ** 2)),
                       "test_mse": float(np.mean((np.polynomial.legendre.legval(xt, coef) - yt) ** 2)),
                       "curve": np.polynomial.legendre.legval(xt, coef)}
    return {"x": x, "y": y, "xt": xt, "yt": yt, "fits": fits}


@demo("regularization", "Over-fitting a small MNIST subset; L2, L1, elastic net, dropout, early stopping; bias-variance")
def regularization(out: str, fast: bool) -> dict:
    x, y = mnist("train", 200 if fast else 500)
    xv, yv = mnist("val", 300 if fast else 500)
    epochs = 25 if fast else 60
    variants = {
        "none": {},
        "L2 (λ = 1e-3)": {"penalty": lambda m: 1e-3 * F.l2_penalty(_weights(m))},
        "L1 (λ = 1e-4)": {"penalty": lambda m: 1e-4 * F.l1_penalty(_weights(m))},
        "elastic net": {"penalty": lambda m: 2e-4 * F.elastic_net_penalty(_weights(m), l1_ratio=0.5)},
        "dropout 0.5": {"dropout": 0.5},
    }
    curves, result, rows = {}, {}, []
    for name, v in variants.items():
        dg.manual_seed(0)
        model = MLP([784, 256, 10], dropout=v.get("dropout", 0.0))
        opt = dg.optim.Adam(model.parameters(), lr=1e-3)
        pen = v.get("penalty")
        hist = train_classifier(model, opt, x, y, epochs=epochs, batch_size=32, val=(xv, yv),
                                penalty=(lambda m=model, pen=pen: pen(m)) if pen else None)
        curves[name] = hist
        result[name] = {"train_accuracy": hist["accuracy"][-1], "val_accuracy": hist["val_accuracy"][-1],
                        "val_loss": hist["val_loss"][-1], "best_val_loss": min(hist["val_loss"])}
        rows.append([name, hist["accuracy"][-1], hist["val_accuracy"][-1], hist["accuracy"][-1] -
                     hist["val_accuracy"][-1], min(hist["val_loss"]), hist["val_loss"][-1]])

    dg.manual_seed(0)
    model = MLP([784, 256, 10])
    trainer = Trainer(model, F.cross_entropy, dg.optim.Adam(model.parameters(), lr=1e-3), progress=False,
                      callbacks=[EarlyStopping("val_loss", patience=3)])
    train_loader = DataLoader(ArrayDataset(x, y), batch_size=32, shuffle=True, generator=0)
    hist = trainer.fit(train_loader, DataLoader(ArrayDataset(xv, yv), batch_size=256), epochs=epochs)
    stopped = len(hist["loss"])
    es = {"train_accuracy": accuracy(model, x, y), "val_accuracy": accuracy(model, xv, yv), "epochs": stopped,
          "best_val_loss": min(hist["val_loss"])}
    result["early stopping"] = es
    rows.append(["early stopping", es["train_accuracy"], es["val_accuracy"],
                 es["train_accuracy"] - es["val_accuracy"], es["best_val_loss"], f"stopped at epoch {stopped}"])
    print(f"MLP 784-256-10 on {len(x)} training digits ({len(xv)} for validation), {epochs} epochs of Adam:")
    table(["regulariser", "train acc", "val acc", "gap", "best val loss", "final val loss"], rows)
    none = curves["none"]
    print(f"without regularisation the training accuracy reaches {none['accuracy'][-1]:.3f} while the validation loss "
          f"bottoms out at epoch {int(np.argmin(none['val_loss'])) + 1} and then rises: over-fitting")

    bv = _bias_variance(fast)
    print("\nbias-variance: 15 noisy samples of sin(πx), polynomial least squares:")
    table(["fit", "degree", "train MSE", "test MSE"],
          [[k, f["degree"], f["train_mse"], f["test_mse"]] for k, f in bv["fits"].items()])
    result["bias_variance"] = {k: {"degree": f["degree"], "train_mse": f["train_mse"], "test_mse": f["test_mse"]}
                               for k, f in bv["fits"].items()}

    def draw_curves(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
        for name, h in curves.items():
            line, = axes[0].plot(np.arange(1, epochs + 1), h["val_loss"], label=name)
            axes[1].plot(np.arange(1, epochs + 1), h["loss"], color=line.get_color(), label=name)
        axes[0].axvline(stopped, color="k", ls=":", label="early stop")
        axes[0].set_title("validation loss")
        axes[0].set_ylabel("cross-entropy (nats)")
        axes[1].set_title("training loss (with penalty)")
        axes[1].set_ylabel("cross-entropy + penalty (nats)")
        axes[1].set_yscale("log")
        for ax in axes:
            ax.set_xlabel("epoch")
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        save(fig, path)

    def draw_bv(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), sharey=True, layout="constrained")
        for ax, (k, f) in zip(axes, bv["fits"].items()):
            ax.plot(bv["xt"], bv["yt"], "k--", lw=1, label="truth")
            ax.plot(bv["xt"], f["curve"], "tab:red", label="least-squares polynomial")
            ax.scatter(bv["x"], bv["y"], s=18, label="training points")
            ax.set_ylim(-2, 2)
            ax.set_title(f"{k}, degree {f['degree']}: test MSE {f['test_mse']:.2f}")
            ax.set_xlabel("x")
        axes[0].set_ylabel("y")
        # one legend below the panels: inside, it would hide points or the over-fit curve
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=8)
        save(fig, path)

    result["figures"] = {"curves": figure(out, "regularization_curves.png", draw_curves),
                         "bias_variance": figure(out, "bias_variance.png", draw_bv)}
    return result


@demo("cross-validation", "k-fold cross-validation of an MLP on the MNIST sample: accuracy mean ± std over folds")
def cross_validation(out: str, fast: bool) -> dict:
    x, y = mnist("train+val", 1000 if fast else 6000)
    k, epochs = 5, 2 if fast else 5
    accs = []
    for fold, (tr, va) in enumerate(KFold(k, shuffle=True, seed=0).split(len(x))):
        dg.manual_seed(0)
        model = MLP([784, 64, 10])
        opt = dg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        train_classifier(model, opt, x[tr], y[tr], epochs=epochs, batch_size=32, seed=fold)
        accs.append(accuracy(model, x[va], y[va]))
    mean, std = float(np.mean(accs)), float(np.std(accs, ddof=1))
    print(f"MLP 784-64-10, {k}-fold cross-validation on {len(x)} digits ({epochs} epochs per fold):")
    table(["fold", "validation accuracy"], [[i + 1, a] for i, a in enumerate(accs)])
    print(f"accuracy {mean:.4f} ± {std:.4f}: the same method gives different results on different folds (which "
          "digits land in the validation fold matters), so report the mean and the spread")

    def draw(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5, 3.6))
        ax.bar(np.arange(1, k + 1), accs)
        ax.axhline(mean, color="k", ls="--", label=f"mean {mean:.3f} ± {std:.3f}")
        ax.set_ylim(min(accs) - 0.05, min(1.0, max(accs) + 0.03))
        ax.set_xlabel("fold")
        ax.set_ylabel("validation accuracy")
        ax.legend()
        save(fig, path)

    return {"fold_accuracy": accs, "mean": mean, "std": std, "figure": figure(out, "cross_validation.png", draw)}
