"""Semantic segmentation with a small U-Net on procedurally drawn shapes: every pixel is background, disc or square."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models import UNet
from ..nn import functional as F
from . import demo
from ._mlp_util import figure, pyplot, save, table

CLASSES = ("background", "disc", "square")


def shapes(n: int, size: int = 32, seed: int = 0) -> tuple:
    """n grey images (n, 1, size, size) with 1–3 discs and squares of equal brightness on noise, and their label
    maps (n, size, size): 0 background, 1 disc, 2 square (later shapes drawn over earlier ones). A disc has radius r
    and a square half-side r, with r uniform in [size/8, size/4]: big enough for corners and curved edges to differ.

    Discs and squares have the same intensity, so telling them apart takes the shape of a neighbourhood, not the
    pixel value: the job of the encoder's receptive field, while the decoder's skip connections keep edges sharp.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.zeros((n, 1, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            r = rng.uniform(size / 8, size / 4)
            cy, cx = rng.uniform(r, size - r, 2)
            if rng.random() < 0.5:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
                masks[i][inside] = 1
            else:
                inside = (np.abs(yy - cy) <= r) & (np.abs(xx - cx) <= r)
                masks[i][inside] = 2
            images[i, 0][inside] = 1.0
    images += rng.normal(0, 0.15, images.shape).astype(np.float32)
    return images, masks


def iou(pred: np.ndarray, target: np.ndarray, num_classes: int) -> list:
    """Intersection over union |P ∩ T| / |P ∪ T| per class (nan for a class absent from both)."""
    out = []
    for c in range(num_classes):
        p, t = pred == c, target == c
        union = np.logical_or(p, t).sum()
        out.append(float(np.logical_and(p, t).sum() / union) if union else float("nan"))
    return out


@demo("segmentation", "A small U-Net labels every pixel of synthetic images as background, disc or square: "
      "pixel accuracy and IoU")
def segmentation(out: str, fast: bool) -> dict:
    n_train, steps, batch, width = (128, 60, 8, 8) if fast else (1024, 400, 16, 8)
    x, m = shapes(n_train, seed=0)
    xv, mv = shapes(64 if fast else 200, seed=1)
    # most pixels are background: weight class c by 1/√(frequency of c), so that the shapes' pixels count more
    freq = np.bincount(m.ravel(), minlength=len(CLASSES)) / m.size
    weight = 1.0 / np.sqrt(freq)
    weight = dg.tensor((weight * len(CLASSES) / weight.sum()).astype(np.float32))
    dg.manual_seed(0)
    net = UNet(1, len(CLASSES), depth=2, base_width=width)
    opt = dg.optim.Adam(net.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    net.train()
    for _ in range(steps):
        idx = rng.integers(0, n_train, batch)
        # per-pixel cross-entropy, class-weighted: Σ w_y·(−log p_y) / Σ w_y over the pixels
        loss = F.cross_entropy(net(dg.tensor(x[idx])), dg.tensor(m[idx]), weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    net.eval()
    with dg.no_grad():
        pred = net(dg.tensor(xv)).numpy().argmax(1)
    pixel_acc = float((pred == mv).mean())
    ious = iou(pred, mv, len(CLASSES))
    base = float((mv == 0).mean())
    print(f"U-Net (depth 2, width {width}, {sum(p.numel() for p in net.parameters()):,} parameters), {steps} steps "
          f"on {n_train} images; {len(xv)} held-out images:")
    table(["metric", "value"], [["pixel accuracy", pixel_acc], ["all-background baseline", base],
                                ["mean IoU", float(np.nanmean(ious))]])
    # Dice 2|P ∩ T| / (|P| + |T|) = 2·IoU / (1 + IoU)
    table(["class", "IoU", "Dice"], [[c, v, 2 * v / (1 + v)] for c, v in zip(CLASSES, ious)])

    def draw(p):
        plt = pyplot()
        k = 6
        fig, axes = plt.subplots(3, k, figsize=(1.5 * k, 5.2), layout="constrained")
        for i in range(k):
            for row, (img, cmap) in enumerate([(xv[i, 0], "gray"), (mv[i], "viridis"), (pred[i], "viridis")]):
                axes[row, i].imshow(img, cmap=cmap, vmin=None if row == 0 else 0, vmax=None if row == 0 else 2)
                axes[row, i].axis("off")
        for row, name in enumerate(["image", "truth", "U-Net prediction"]):
            axes[row, 0].set_title(name, fontsize=8, loc="left")
        cmap = plt.get_cmap("viridis")
        fig.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=cmap(c / 2)) for c in range(len(CLASSES))],
                   labels=list(CLASSES), loc="outside lower center", ncols=len(CLASSES), fontsize=8, frameon=False)
        fig.suptitle(f"per-pixel classes (pixel accuracy {pixel_acc:.3f}, mean IoU {float(np.nanmean(ious)):.2f})")
        save(fig, p)

    figure(out, "segmentation.png", draw)
    return {"pixel_accuracy": pixel_acc, "background_fraction": base, "iou": dict(zip(CLASSES, ious)),
            "mean_iou": float(np.nanmean(ious)), "first_loss": losses[0], "last_loss": float(np.mean(losses[-10:]))}
