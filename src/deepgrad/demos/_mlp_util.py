"""Helpers shared by the perceptron-to-MLP demos: tables, the MNIST sample as arrays, a small training loop and
figures that are skipped (with a note) when matplotlib is missing."""
from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import tensor
from ..viz import plots


def table(headers: list, rows: list) -> None:
    """Print ``rows`` under ``headers`` in aligned columns (floats with 4 significant digits)."""
    cells = [[h for h in headers]] + [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if k == 0:
            print("  ".join("-" * w for w in widths))


def figure(out: str, name: str, draw: Callable[[str], object]) -> str | None:
    """Call ``draw(path)`` for ``out/name`` when matplotlib is installed; returns the path (None without it)."""
    if not plots.available():
        print(f"(matplotlib not installed: {name} not drawn)")
        return None
    path = os.path.join(out, name)
    draw(path)
    print(f"figure: {path}")
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend (call only inside a ``figure`` callback)."""
    return plots._plt()


def save(fig, path: str) -> str:
    return plots._save(fig, path)


def mnist(split: str, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST sample's ``split`` as flat float32 images in [0, 1] (N, 784) and int64 labels (first n)."""
    from ..data import MNISTSample

    ds = MNISTSample(split)
    x, y = ds.data[:n], ds.targets[:n]
    return (x.reshape(len(x), -1).astype(np.float32) / 255.0), y.astype(np.int64)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    with no_grad():
        was = model.training
        model.eval()
        pred = model(tensor(x)).numpy().argmax(1)
        model.train(was)
    return float((pred == y).mean())


def train_classifier(model, optimizer, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, seed: int = 0,
                     val: tuple | None = None, penalty: Callable | None = None) -> dict:
    """Mini-batch training with cross-entropy (+ ``penalty()`` if given); per-epoch train loss (mean over the
    epoch's batches), train/validation accuracy and validation loss."""
    rng = np.random.default_rng(seed)
    hist = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    n = len(x)
    for _ in range(epochs):
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(tensor(x[idx])), tensor(y[idx]))
            if penalty is not None:
                loss = loss + penalty()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        hist["loss"].append(total / n)
        hist["accuracy"].append(accuracy(model, x, y))
        if val is not None:
            with no_grad():
                model.eval()
                hist["val_loss"].append(float(F.cross_entropy(model(tensor(val[0])), tensor(val[1])).item()))
                model.train()
            hist["val_accuracy"].append(accuracy(model, *val))
    return hist
