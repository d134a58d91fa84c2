"""Training plots as PNG files (matplotlib, the ``viz`` extra): learning curves, decision boundaries, regression
surfaces, confusion matrices, first-layer weights, gradient norms per layer, episode returns of RL agents.

Every function takes an output ``path``, writes the figure there (creating the directory), closes it and returns
the path; nothing is shown on screen, so they work on servers and in CI.
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..backend import CPU, to_device
from ..tensor import Tensor

__all__ = ["available", "learning_curves", "decision_boundary", "surface", "confusion_matrix", "first_layer_weights",
           "image_grid", "gradient_norms", "line_plot", "episode_returns"]


def available() -> bool:
    """True when matplotlib is installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'deepgrad[viz]'") from None
    return plt


def _np(x) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach()._data
    return np.asarray(to_device(x, CPU))


def _save(fig, path: str) -> str:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{os.path.basename(path)}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    os.replace(tmp, path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def learning_curves(history, path: str, title: str | None = None) -> str:
    """Loss and every metric per epoch, training beside validation (``val_`` keys)."""
    plt = _plt()
    h = history.history if hasattr(history, "history") else history
    keys = [k for k in h if not k.startswith("val_") and k not in ("time", "lr")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.4), squeeze=False, layout="constrained")
    for ax, k in zip(axes[0], keys):
        epochs = np.arange(1, len(h[k]) + 1)
        ax.plot(epochs, h[k], "o-", label="train")
        if f"val_{k}" in h:
            ax.plot(epochs[: len(h[f"val_{k}"])], h[f"val_{k}"], "s-", label="validation")
        ax.set_xlabel("epoch")
        _integer_ticks(ax.xaxis)
        ax.set_ylabel(k)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def line_plot(series: dict, path: str, xlabel: str = "step", ylabel: str = "", title: str = "", logy: bool = False,
              x=None, styles: dict | None = None) -> str:
    """Several named curves on one axis (e.g. the loss of several optimisers), against ``x`` (default 0, 1, ...).
    Integer x values get integer ticks; more than four curves put the legend beside the axes, where it hides none.
    ``styles`` maps a curve's name to extra ``Axes.plot`` keywords (``{"zeros": {"ls": "--", "lw": 3}}``), so that
    curves lying on top of each other stay visible."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs_all = []
    for name, ys in series.items():
        xs = np.arange(len(ys)) if x is None else np.asarray(x)[: len(ys)]
        xs_all.append(xs)
        kw = {"marker": "o" if x is not None else None, "ls": "-", **(styles or {}).get(name, {})}
        ax.plot(xs, ys, label=name, **kw)
    if logy:
        ax.set_yscale("log")
    if xs_all and all(np.issubdtype(np.asarray(v).dtype, np.integer) for v in xs_all):
        _integer_ticks(ax.xaxis)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(series) > 4:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend(fontsize=8)
    return _save(fig, path)


def decision_boundary(predict, X, y, path: str, title: str = "", resolution: int = 200, margin: float = 0.5,
                      xlabel: str = "x₁", ylabel: str = "x₂") -> str:
    """A 2-D classifier's regions, TensorFlow-Playground style: ``predict`` maps (M, 2) float32 points to class
    scores (M, C) or probabilities (M,); the training points are drawn on top."""
    plt = _plt()
    X, y = _np(X), _np(y)
    lo, hi = X.min(0) - margin, X.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    z = _np(predict(grid))
    z = z.argmax(1) if z.ndim == 2 and z.shape[1] > 1 else (z.reshape(-1) > (0.5 if z.min() >= 0 else 0)).astype(int)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.contourf(gx, gy, z.reshape(gx.shape), alpha=0.35, cmap="coolwarm", levels=np.arange(z.max() + 2) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=18)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_aspect("equal")
    return _save(fig, path)


def surface(f_true, f_pred, path: str, extent=(-2, 2, -1, 3), resolution: int = 60, title: str = "",
            labels=("x₁", "x₂", "f(x₁, x₂)")) -> str:
    """True and predicted regression surfaces z = f(x, y) side by side (functions of an (M, 2) array); ``title``
    goes above both."""
    plt = _plt()
    gx, gy = np.meshgrid(np.linspace(extent[0], extent[1], resolution), np.linspace(extent[2], extent[3], resolution))
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    fig = plt.figure(figsize=(10, 4))
    for i, (f, name) in enumerate(((f_true, "true"), (f_pred, "predicted"))):
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        ax.plot_surface(gx, gy, _np(f(pts)).reshape(gx.shape), cmap="viridis", linewidth=0)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        ax.set_zlabel(labels[2])
        ax.set_title(name)
    if title:
        fig.suptitle(title, y=1.03)  # above the 3-D panels' own titles
    return _save(fig, path)


def confusion_matrix(matrix, path: str, classes=None, title: str = "confusion matrix") -> str:
    """A confusion matrix (rows: true class, columns: predicted) with counts written in the cells."""
    plt = _plt()
    m = _np(matrix)
    n = m.shape[0]
    fig, ax = plt.subplots(figsize=(0.5 * n + 2.5, 0.5 * n + 2))
    ax.imshow(m, cmap="Blues")
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(int(m[i, j])), ha="center", va="center", fontsize=7,
                    color="white" if m[i, j] > m.max() / 2 else "black")
    labels = classes or [str(i) for i in range(n)]
    ax.set_xticks(range(n), labels)
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _save(fig, path)


_DIVERGING = {"RdBu", "RdBu_r", "coolwarm", "bwr", "seismic", "PiYG", "PRGn", "BrBG", "PuOr", "RdGy", "RdYlBu"}


def image_grid(images, path: str, titles=None, ncols: int | None = None, cmap: str = "gray", title: str = "",
               shared: bool = False) -> str:
    """Images (N, H, W) or (N, C, H, W) with C in {1, 3} in a grid, each min-max scaled; with a diverging ``cmap``
    (``RdBu_r``, ``coolwarm``, ...) each single-channel image is scaled by its largest |value| instead, so 0 is the
    map's middle colour (weights and signed responses). ``shared=True`` scales all images by the same range, so
    their values compare (an image of zeros stays blank)."""
    plt = _plt()
    a = _np(images).astype(np.float64)
    if a.ndim == 4:
        a = a[:, 0] if a.shape[1] == 1 else a.transpose(0, 2, 3, 1)
    n = a.shape[0]
    ncols = ncols or min(n, 8)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.4 * ncols, 1.4 * nrows + (0.4 if title else 0)), squeeze=False,
                             layout="constrained")
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            img = a[k]
            ref = a if shared else img
            if img.ndim == 2 and cmap in _DIVERGING:
                ax.imshow(img / (np.abs(ref).max() or 1.0), cmap=cmap, vmin=-1.0, vmax=1.0)
            else:
                img = np.clip((img - ref.min()) / (np.ptp(ref) or 1.0), 0.0, 1.0)
                ax.imshow(img, cmap=cmap if img.ndim == 2 else None, vmin=0.0, vmax=1.0)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10 if ncols <= 4 else 12)
    return _save(fig, path)


def first_layer_weights(weight, path: str, image_shape=None, max_units: int = 64) -> str:
    """The first layer's weights as images: conv filters (out, in, kh, kw), or rows of a Linear weight (out, in)
    reshaped to ``image_shape`` (a square by default) — what the units look for."""
    w = _np(weight)
    if w.ndim == 4:
        imgs = w[:max_units, 0] if w.shape[1] != 3 else w[:max_units]
    else:
        side = int(math.isqrt(w.shape[1]))
        shape = image_shape or ((side, side) if side * side == w.shape[1] else (1, w.shape[1]))
        imgs = w[:max_units].reshape(-1, *shape)
    return image_grid(imgs, path, cmap="RdBu_r",
                      title=f"first-layer weights {tuple(w.shape)}, first {len(imgs)}: blue < 0 < red, each scaled to "
                            "its largest |w|")


def _layer_label(name: str, module) -> str:
    """``1: Linear(784→256)``, ``0: Conv2d(1→16, 5×5)``, ``3: BatchNorm2d``: the name, the type and its sizes."""
    kind = type(module).__name__
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        kind += f"({module.in_features}→{module.out_features})"
    elif hasattr(module, "in_channels") and hasattr(module, "out_channels"):
        k = getattr(module, "kernel_size", None)
        k = "×".join(map(str, k)) if isinstance(k, (tuple, list)) else k
        kind += f"({module.in_channels}→{module.out_channels}" + (f", {k}" if k is not None else "") + ")"
    return f"{name}: {kind}"


def gradient_norms(health: list, path: str, model=None) -> str:
    """Gradient norm of each layer's parameters over the training (from the health reports), on a log scale. With
    ``model`` each curve is labelled by the layer's name, type and sizes (``1: Linear(784→256)``), else by its name
    alone."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(dict.fromkeys(n for r in health for n in r["grad_norms"]))
    modules = dict(model.named_modules()) if model is not None else {}
    for n in names:
        xs = [r["epoch"] for r in health if n in r["grad_norms"]]
        ys = [max(r["grad_norms"][n], 1e-30) for r in health if n in r["grad_norms"]]
        ax.plot(xs, ys, "o-", label=_layer_label(n, modules[n]) if n in modules else n)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    _integer_ticks(ax.xaxis)
    ax.set_ylabel("‖∂L/∂θ‖₂ of the layer's parameters")
    ax.set_title("gradient norm per layer (first batch of each epoch)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, title="layer", loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the curves
    return _save(fig, path)


def episode_returns(runs: dict, path: str, window: int = 100, target: float | None = None,
                    solved_at: dict | None = None, title: str = "") -> str:
    """Return of every episode (thin) and its moving mean over the last ``window`` episodes (thick; over all
    episodes so far before the first ``window``), one colour per run
    (``{name: returns}``); the ``target`` return as a dashed line and, from ``solved_at`` (``{name: episode}``), a
    dotted mark where each run reached it. The legend sits below the axes, off the curves."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.2))
    solved_at = solved_at or {}
    for i, (name, ret) in enumerate(runs.items()):
        r = np.asarray(ret, np.float64)
        color = f"C{i}"
        episodes = np.arange(1, len(r) + 1)
        ax.plot(episodes, r, color=color, lw=0.6, alpha=0.35, label=f"{name}: episode return")
        c = np.concatenate([[0.0], np.cumsum(r)])
        n = np.minimum(episodes, window)  # the first window-1 points average the episodes so far
        ax.plot(episodes, (c[episodes] - c[episodes - n]) / n, color=color, lw=2,
                label=f"{name}: mean of the last {window}")
        if solved_at.get(name) is not None:
            ax.axvline(solved_at[name], color=color, ls=":", lw=1.2, label=f"{name}: solved at episode {solved_at[name]}")
    if target is not None:
        ax.axhline(target, color="gray", ls="--", lw=1, label=f"target {target:g}")
    ax.set_xlabel("episode")
    ax.set_ylabel("return (steps balanced)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return _save(fig, path)
