"""Vision practice from the lectures: finding a digit in a larger image by normalised cross-correlation, and
classification + localisation of a digit placed on a canvas (box head, IoU, smooth-L1 and GIoU losses)."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models.localization import ClassifierLocalizer, localization_loss
from ..tools.template import best_match, match_template
from ..vision.ops import elementwise_box_iou
from . import demo
from ._mlp_util import figure, mnist, pyplot, save, table


def digits_on_canvas(images: np.ndarray, labels: np.ndarray, canvas: int = 64, seed: int = 0,
                     scale: tuple = (0.6, 1.4)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each 28×28 digit rescaled by a random factor (nearest neighbour) and pasted at a random place on a dark
    ``canvas`` × ``canvas`` image with faint noise; returns (images (N, 1, canvas, canvas), labels, boxes (N, 4)):
    the tight box (x₁, y₁, x₂, y₂) around the digit's ink, divided by ``canvas``."""
    rng = np.random.default_rng(seed)
    n = len(images)
    out = (0.05 * rng.random((n, 1, canvas, canvas))).astype(np.float32)
    boxes = np.zeros((n, 4), np.float32)
    for i, img in enumerate(images.reshape(n, 28, 28)):
        s = int(round(28 * rng.uniform(*scale)))
        idx = (np.arange(s) * 28 / s).astype(int)
        d = img[np.ix_(idx, idx)]
        r, c = rng.integers(0, canvas - s + 1, 2)
        out[i, 0, r:r + s, c:c + s] = np.maximum(out[i, 0, r:r + s, c:c + s], d)
        ys, xs = np.nonzero(d > 0.2)
        boxes[i] = [c + xs.min(), r + ys.min(), c + xs.max() + 1, r + ys.max() + 1]
    return out, labels.copy(), boxes / canvas


@demo("template-matching", "Normalised cross-correlation finds a digit in a larger image (brightness and "
                           "contrast changed), where plain correlation picks the brightest region")
def template_matching(out: str, fast: bool) -> dict:
    x, y = mnist("test", 40)
    rng = np.random.default_rng(0)
    scene = (0.1 * rng.random((112, 140))).astype(np.float32)
    spots = [(r, c) for r in range(0, 112 - 28 + 1, 28) for c in range(0, 112 - 28 + 1, 28)]
    order = rng.permutation(len(spots))[:12]
    placed = []
    for k, s in enumerate(order):
        r, c = spots[s]
        scene[r:r + 28, c:c + 28] += x[k].reshape(28, 28)
        placed.append((r, c))
    target = 5                                        # find digit 5 of the scene from its own (clean) image
    template = x[target].reshape(28, 28)
    scene[:, 116:] += 1.5                              # a bright band beside the digits: plain correlation is drawn to it
    scene = 0.5 * scene + 0.2                          # a global change of contrast and brightness
    ncc = match_template(dg.tensor(scene), dg.tensor(template))
    found = best_match(ncc)
    raw = dg.nn.functional.conv2d(dg.tensor(scene)[None, None], dg.tensor(template)[None, None])[0, 0]
    raw_found = best_match(raw)
    truth = placed[target]
    peak = float(ncc.numpy().max())
    print(f"digit {y[target]} hidden at (row, col) {truth} among {len(placed)} digits in a 112×140 scene (contrast ×0.5, "
          f"+0.2, a bright band): NCC finds it at {found} (score {peak:.3f}); plain correlation picks {raw_found}")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 3, figsize=(13, 4.3), layout="constrained", width_ratios=[0.6, 1, 1])
        axes[0].imshow(template, cmap="gray")
        axes[0].set_title(f"template (digit {y[target]}, 28×28)")
        axes[1].imshow(scene, cmap="gray")
        for (r, c), col, lab in ((found, "lime", "best NCC match"), (raw_found, "red", "best plain correlation")):
            axes[1].add_patch(plt.Rectangle((c - 0.5, r - 0.5), 28, 28, fill=False, color=col, lw=2, label=lab))
        # below the scene, so it hides none of its digits
        axes[1].legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), ncols=2, fontsize=8, frameon=False)
        axes[1].set_title(f"scene ({scene.shape[0]}×{scene.shape[1]})")
        m = axes[2].imshow(ncc.numpy(), cmap="coolwarm", vmin=-1, vmax=1)
        fig.colorbar(m, ax=axes[2], shrink=0.75, label="NCC score")
        axes[2].set_title("normalised cross-correlation per position")
        for a in axes:
            a.axis("off")
        save(fig, path)

    return {"truth": truth, "found": found, "plain_found": raw_found, "peak": peak,
            "figure": figure(out, "template_matching.png", draw)}


@demo("localization", "Classification + localisation of a digit on a 64×64 canvas: a CNN with a class head and a "
                      "box head trained with cross-entropy + smooth-L1 + GIoU; test accuracy and mean IoU")
def localization(out: str, fast: bool) -> dict:
    n, steps = (400, 80) if fast else (5000, 2500)
    xs, ys = mnist("train", n)
    xt_s, yt_s = mnist("test", 200 if fast else 1000)
    x, y, b = digits_on_canvas(xs, ys, seed=0)
    xt, yt, bt = digits_on_canvas(xt_s, yt_s, seed=1)
    res, rows, preds = {}, [], {}
    for box_loss in ("both",) if fast else ("smooth_l1", "giou", "both"):
        dg.manual_seed(0)
        model = ClassifierLocalizer()
        opt = dg.optim.Adam(model.parameters(), lr=1e-3)
        rng = np.random.default_rng(0)
        losses = []
        for _ in range(steps):
            i = rng.integers(0, n, 32)
            logits, boxes = model(dg.tensor(x[i]))
            loss = localization_loss(logits, boxes, dg.tensor(y[i]), dg.tensor(b[i]), box_loss)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        model.eval()
        with dg.no_grad():
            logits, boxes = model(dg.tensor(xt))
            iou = elementwise_box_iou(boxes, dg.tensor(bt)).numpy()
        acc = float((logits.numpy().argmax(1) == yt).mean())
        res[box_loss] = {"accuracy": acc, "mean_iou": float(iou.mean()), "iou_above_0.5": float((iou > 0.5).mean()),
                         "losses": losses}
        preds[box_loss] = boxes.numpy()
        rows.append([box_loss, acc, float(iou.mean()), float((iou > 0.5).mean())])
    print(f"digits on a 64×64 canvas (scale 0.6–1.4, random place), {n} training images, {steps} Adam steps:")
    table(["box loss (+ cross-entropy)", "test accuracy", "mean IoU", "IoU > 0.5"], rows)

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(2, 6, figsize=(13, 4.6))
        for k, a in enumerate(axes.ravel()):
            a.imshow(xt[k, 0], cmap="gray")
            for bx, col in ((bt[k], "lime"), (preds["both"][k], "red")):
                x1, y1, x2, y2 = bx * 64
                a.add_patch(plt.Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, color=col, lw=1.5))
            a.set_title(f"IoU {float(elementwise_box_iou(dg.tensor(preds['both'][k]), dg.tensor(bt[k])).item()):.2f}",
                        fontsize=8)
            a.axis("off")
        fig.suptitle("green: true box, red: predicted (cross-entropy + smooth-L1 + GIoU)")
        save(fig, path)

    res["figure"] = figure(out, "localization.png", draw)
    return res
