"""Convolutional-network demos: filtering with the lectures' kernels (correlation vs convolution, padding, stride),
LeNet-5 on MNIST digits with its filters and feature maps, receptive fields (VGG's 3×3 argument), and adversarial
images made with the fast gradient sign method."""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

import deepgrad as dg

from ..models import get_model
from ..nn import functional as F
from ..nn import kernels
from ..ops.conv import conv_output_size
from ..tools import adversarial_accuracy, feature_maps, fgsm, first_layer_filters, receptive_field, saliency, summary
from ..viz import plots
from . import demo
from ._mlp_util import figure, pyplot, save, table


# ------------------------------------------------------------------------------------------------ helpers
@functools.lru_cache(maxsize=4)
def digits(split: str) -> tuple:
    """The bundled MNIST sample's ``split`` as (N, 1, 28, 28) float32 images in [0, 1] and int64 labels."""
    ds = dg.data.get_dataset("mnist-sample", split=split)
    x = np.asarray(ds.arrays[0], dtype=np.float32)[:, None] / 255.0
    return x, np.asarray(ds.arrays[1], dtype=np.int64)


def train_steps(model, x: np.ndarray, y: np.ndarray, steps: int, batch_size: int = 64, lr: float = 1e-3,
                seed: int = 0, loss_fn: Callable | None = None, params=None) -> list:
    """``steps`` Adam steps on random mini-batches; ``loss_fn(logits, idx)`` (default cross-entropy with y[idx]).

    ``params`` may be a list of parameters or of param groups (default: the trainable parameters). Returns the
    loss of every step.
    """
    rng = np.random.default_rng(seed)
    opt = dg.optim.Adam(params if params is not None else [p for p in model.parameters() if p.requires_grad], lr=lr)
    model.train()
    losses = []
    for _ in range(steps):
        idx = rng.integers(0, len(x), batch_size)
        logits = model(dg.tensor(x[idx]))
        loss = loss_fn(logits, idx) if loss_fn is not None else F.cross_entropy(logits, dg.tensor(y[idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    model.eval()
    return losses


@functools.lru_cache(maxsize=2)
def trained_lenet(fast: bool) -> tuple:
    """(LeNet-5 with ReLU and max-pooling trained on the MNIST sample's training digits, its per-step losses); made
    once per process and shared by the demos that need a trained CNN (they must not change it)."""
    x, y = digits("train")
    dg.manual_seed(0)
    net = get_model("lenet5_mnist", activation="relu", pool="max")
    steps, batch = LENET_STEPS[fast]
    losses = train_steps(net, x, y, steps, batch_size=batch, lr=3e-3)
    return net, losses


LENET_STEPS = {True: (120, 32), False: (600, 64)}  # (Adam steps, batch size) for fast / full mode


def predict(model, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class predictions in eval mode, without gradients."""
    model.eval()
    with dg.no_grad():
        return np.concatenate([model(dg.tensor(x[i:i + batch_size])).numpy().argmax(1)
                               for i in range(0, len(x), batch_size)])


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict(model, x) == y).mean())


def smooth(values: list, k: int = 20) -> list:
    """Running mean over the last ``k`` values (for noisy per-step losses)."""
    c = np.cumsum(np.insert(np.asarray(values, dtype=np.float64), 0, 0.0))
    return [float((c[i + 1] - c[max(0, i + 1 - k)]) / min(k, i + 1)) for i in range(len(values))]


# ------------------------------------------------------------------------------------------- convolution
_SLIDE_F = np.zeros((10, 10))
_SLIDE_F[2:7, 3:8] = 90.0
_SLIDE_F[5, 4] = 0.0
_SLIDE_F[8, 2] = 90.0
# the lectures' moving average: G = 3×3 box filter of F (valid part), as printed on the slide
_SLIDE_G = np.array([[0, 10, 20, 30, 30, 30, 20, 10], [0, 20, 40, 60, 60, 60, 40, 20],
                     [0, 30, 60, 90, 90, 90, 60, 30], [0, 30, 50, 80, 80, 90, 60, 30],
                     [0, 30, 50, 80, 80, 90, 60, 30], [0, 20, 30, 50, 50, 60, 40, 20],
                     [10, 20, 30, 30, 30, 30, 20, 10], [10, 10, 10, 0, 0, 0, 0, 0]], dtype=np.float64)


@demo("convolution", "The lectures' kernels on a digit; correlation vs convolution; valid/same/full padding, stride "
      "and ⌊(W − F + 2P)/S⌋ + 1")
def convolution(out: str, fast: bool) -> dict:
    res: dict = {}
    # 1. the slide's moving average (3×3 box filter), reproduced exactly
    g = dg.nn.functional.correlate2d(dg.tensor(_SLIDE_F), kernels.box_blur(3, dtype=dg.float64)).numpy()
    res["slide_box_filter_max_error"] = float(np.abs(np.round(g) - _SLIDE_G).max())
    print(f"slide F ⋆ box(3): matches the printed G (rounded): max |error| = {res['slide_box_filter_max_error']}")
    # 2. the lectures' kernels on a digit; correlation vs convolution
    x, labels = digits("test")
    img = dg.tensor(x[0, 0])
    bank = {"identity": kernels.identity(), "box blur": kernels.box_blur(3), "sharpen": kernels.sharpen(),
            "-laplacian": -kernels.laplacian(), "edge (x−1)": kernels.edge_difference(),
            "sobel x": kernels.sobel_x(), "sobel y": kernels.sobel_y(), "gaussian σ=1": kernels.gaussian(sigma=1.0),
            "∂x gaussian": kernels.gaussian_derivative(1, 0, sigma=1.0)}
    rows, filtered, diffs = [], [], {}
    for name, k in bank.items():
        c = dg.nn.functional.correlate2d(img, k, mode="same").numpy()
        v = dg.nn.functional.convolve2d(img, k, mode="same").numpy()
        kn = k.numpy()
        symmetric = bool(np.allclose(kn, kn[::-1, ::-1]))
        diffs[name] = float(np.abs(c - v).max())
        rows.append([name, "yes" if symmetric else "no", diffs[name]])
        filtered.append(c)
    table(["kernel", "symmetric (180°)", "max |corr − conv|"], rows)
    res["corr_vs_conv_max_diff"] = diffs
    sob_c = dg.nn.functional.correlate2d(img, kernels.sobel_x()).numpy()
    sob_v = dg.nn.functional.convolve2d(img, kernels.sobel_x()).numpy()
    res["sobel_conv_is_minus_corr"] = bool(np.allclose(sob_v, -sob_c, atol=1e-6))
    print(f"Sobel: convolution = −correlation (the kernel flips sign under a 180° turn): "
          f"{res['sobel_conv_is_minus_corr']}")

    # 3. output sizes: valid/same/full, stride, and the formula against the layer
    w = x.shape[-1]
    sizes = {mode: tuple(dg.nn.functional.correlate2d(img, kernels.gaussian(5, 1.0), mode=mode).shape)
             for mode in ("valid", "same", "full")}
    res["padding_sizes_28_k5"] = {m: s[0] for m, s in sizes.items()}
    print(f"28×28 image, 5×5 kernel: valid {sizes['valid']}, same {sizes['same']}, full {sizes['full']}")
    checks, rows = [], []
    for (f, p, s) in [(5, 0, 1), (5, 2, 1), (5, 4, 1), (3, 1, 2), (5, 0, 2), (7, 3, 3), (11, 0, 4), (2, 0, 2)]:
        formula = (w - f + 2 * p) // s + 1
        layer = dg.nn.Conv2d(1, 1, f, stride=s, padding=p)
        with dg.no_grad():
            got = layer(dg.tensor(x[:1])).shape[-1]
        checks.append(formula == got == conv_output_size(w, f, s, p))
        rows.append([w, f, p, s, formula, got])
    table(["W", "F", "P", "S", "⌊(W−F+2P)/S⌋+1", "Conv2d output"], rows)
    res["formula_matches_layer"] = all(checks)

    names = list(bank)
    figure(out, "kernels.png", lambda p: plots.image_grid(
        np.stack([x[0, 0]] + filtered), p, titles=[f"digit {labels[0]}"] + names, ncols=5,
        title="the lectures' kernels (correlation, 'same' padding)"))
    figure(out, "correlation_vs_convolution.png", lambda p: plots.image_grid(
        np.stack([sob_c, sob_v, sob_c + sob_v]), p,
        titles=["correlate(sobel x)", "convolve(sobel x)", f"sum: max |·| = {np.abs(sob_c + sob_v).max():.1e}"],
        cmap="RdBu_r", title="an antisymmetric kernel: convolution = −correlation", shared=True))
    return res


# ------------------------------------------------------------------------------------------------- LeNet
@demo("lenet", "LeNet-5 on the MNIST sample: parameter table, accuracy, learned filters and feature maps")
def lenet(out: str, fast: bool) -> dict:
    xt, yt = digits("test")
    steps = LENET_STEPS[fast][0]
    net, losses = trained_lenet(fast)
    s = summary(net)
    print(s)
    acc = accuracy(net, xt, yt)
    print(f"LeNet-5 after {steps} Adam steps: test accuracy {acc:.4f} on {len(yt)} digits")
    res = {"steps": steps, "test_accuracy": acc, "first_loss": losses[0], "last_loss": float(np.mean(losses[-10:])),
           "params": s.total_params, "macs": s.total_macs}
    maps = feature_maps(net, xt[:1], ["c1", "c3"])
    res["c1_maps_shape"], res["c3_maps_shape"] = list(maps["c1"].shape), list(maps["c3"].shape)
    if plots.available():
        first_layer_filters(net, f"{out}/filters.png")
        feature_maps(net, xt[:1], "c1", f"{out}/feature_maps_c1.png")
        feature_maps(net, xt[:1], "c3", f"{out}/feature_maps_c3.png", max_maps=16)
        plots.line_plot({"loss (running mean of 20 steps)": smooth(losses)}, f"{out}/loss.png", xlabel="step",
                        ylabel="cross-entropy (nats)", title=f"LeNet-5 training, Adam, batch {LENET_STEPS[fast][1]}")
        print(f"figures: {out}/filters.png, feature_maps_c1.png, feature_maps_c3.png, loss.png")
    return res


# ------------------------------------------------------------------------------------------ receptive field
@demo("receptive-field", "Three stacked 3×3 convolutions see a 7×7 window with 27C² instead of 49C² weights (VGG)")
def receptive_field_demo(out: str, fast: bool) -> dict:
    c = 64
    stack = dg.nn.Sequential(*[m for _ in range(3) for m in (dg.nn.Conv2d(c, c, 3, padding=1, bias=False),
                                                            dg.nn.ReLU())])
    single = dg.nn.Sequential(dg.nn.Conv2d(c, c, 7, padding=3, bias=False), dg.nn.ReLU())
    shape = (c, 16, 16)
    s3, s7 = summary(stack, shape), summary(single, shape)
    rf3, rf7 = receptive_field(stack, shape)[0][0], receptive_field(single, shape)[0][0]
    table(["network", "receptive field", "weights", "formula", "MACs (16×16)"],
          [["3 × conv3×3", rf3, s3.total_params, f"3·(3²C²) = 27C² = {27 * c * c}", s3.total_macs],
           ["1 × conv7×7", rf7, s7.total_params, f"7²C² = 49C² = {49 * c * c}", s7.total_macs]])
    print("...and three non-linearities instead of one.")
    depths = list(range(1, 9 if fast else 13))
    rf_plain, rf_pool = [], []
    for n in depths:
        plain = dg.nn.Sequential(*[dg.nn.Conv2d(1, 1, 3) for _ in range(n)])
        pooled = dg.nn.Sequential(*[m for k in range(n) for m in ([dg.nn.Conv2d(1, 1, 3, padding=1)] +
                                                                  ([dg.nn.MaxPool2d(2)] if k % 2 else []))])
        rf_plain.append(receptive_field(plain, (1, 64, 64))[0][0])
        rf_pool.append(receptive_field(pooled, (1, 128, 128))[0][0])
    print("3×3 layers:                " + " ".join(f"{v:4d}" for v in rf_plain))
    print("3×3 layers, 2×2 pool every 2nd: " + " ".join(f"{v:4d}" for v in rf_pool))
    lenet_rf = {r.name: r.receptive_field[0] for r in summary(get_model("lenet5")).rows if r.receptive_field}
    print(f"LeNet-5: {lenet_rf}")
    figure(out, "receptive_field.png", lambda p: plots.line_plot(
        {"3×3 convs (+2 per layer)": rf_plain, "with a 2×2 pool after every 2nd conv": rf_pool}, p, x=depths,
        xlabel="number of 3×3 conv layers", ylabel="receptive field (input pixels per side)",
        title="receptive field growth"))
    return {"stack_rf": rf3, "single_rf": rf7, "stack_params": s3.total_params, "single_params": s7.total_params,
            "C": c, "rf_by_depth": rf_plain, "rf_by_depth_pooled": rf_pool, "lenet_rf": lenet_rf}


# -------------------------------------------------------------------------------------------- adversarial
@demo("adversarial", "Fast gradient sign method on a trained CNN: accuracy vs ε, adversarial digits, saliency")
def adversarial(out: str, fast: bool) -> dict:
    xt, yt = digits("test")
    n_eval = 200 if fast else 1000
    xt, yt = xt[:n_eval], yt[:n_eval]
    net, _ = trained_lenet(fast)
    eps = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    accs = adversarial_accuracy(net, xt, yt, eps)
    table(["ε", "accuracy on x + ε·sign(∇ₓL)"], [[e, a] for e, a in zip(eps, accs)])
    k = 8
    adv = fgsm(net, xt[:k], yt[:k], 0.15).numpy()
    clean_pred, adv_pred = predict(net, xt[:k]), predict(net, adv)
    print(f"ε = 0.15 on {k} digits: labels {yt[:k].tolist()}, predicted clean {clean_pred.tolist()}, "
          f"adversarial {adv_pred.tolist()}")
    sal = saliency(net, xt[:k])
    res = {"epsilons": eps, "accuracy": accs, "clean_pred": clean_pred.tolist(), "adv_pred": adv_pred.tolist(),
           "max_perturbation": float(np.abs(adv - xt[:k]).max()), "saliency_shape": list(sal.shape)}
    figure(out, "accuracy_vs_eps.png", lambda p: plots.line_plot(
        {"FGSM": accs}, p, x=eps, xlabel="ε (change of each pixel; pixels in [0, 1])", ylabel="test accuracy",
        title="accuracy under the fast gradient sign attack"))

    def examples(p):
        plt = pyplot()
        fig, axes = plt.subplots(3, k, figsize=(1.4 * k, 4.6))
        for i in range(k):
            for row, (img, title, cmap) in enumerate([(xt[i, 0], f"label {yt[i]}, pred {clean_pred[i]}", "gray"),
                                                       (adv[i, 0], f"pred {adv_pred[i]}", "gray"),
                                                       (sal[i], "saliency", "hot")]):
                axes[row, i].imshow(img, cmap=cmap)
                axes[row, i].set_title(title, fontsize=8)
                axes[row, i].axis("off")
        fig.suptitle("top: test digits; middle: FGSM x + 0.15·sign(∇ₓL); bottom: saliency |∂s_y/∂x|")
        save(fig, p)

    figure(out, "adversarial_examples.png", examples)
    return res
