"""Looking inside a trained CNN: its first-layer filters, the feature maps of any layer, saliency maps, and
adversarial examples made with the fast gradient sign method (the lectures' "adversarial images").

Every function returns NumPy arrays; those with a ``path`` also write a PNG (matplotlib, the ``viz`` extra).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np

from .. import autograd
from ..backend import CPU, to_device
from ..nn import functional as F
from ..nn.conv import _ConvNd
from ..nn.linear import Linear
from ..nn.module import Module
from ..ops import clamp, sign
from ..tensor import Tensor, tensor
from ..viz import plots

__all__ = ["first_layer_filters", "feature_maps", "saliency", "fgsm", "adversarial_accuracy"]


def _np(t) -> np.ndarray:
    return np.asarray(to_device(t.detach()._data if isinstance(t, Tensor) else t, CPU))


def _as_tensor(x, model: Module) -> Tensor:
    if not isinstance(x, Tensor):
        x = tensor(np.asarray(x, dtype=np.float32))
    first = next(iter(model.parameters()), None)
    return x.to(first.device) if first is not None else x


@contextmanager
def _eval(model: Module):
    """Eval mode (dropout off, batch-norm running statistics) for the block; each module's mode restored after."""
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes.items():
            m.training = mode


def first_layer_filters(model: Module, path: str | None = None, max_filters: int = 64) -> np.ndarray:
    """The weights of the first convolution (or Linear) layer as images: (out, kH, kW), or (out, 3, kH, kW) for
    colour inputs — the oriented edge and blob detectors a CNN learns first (the lectures' Gabor-like filters).

    A Linear layer's rows are reshaped to square images when they can be. With ``path``, writes them as a grid.
    """
    layer = next((m for m in model.modules() if isinstance(m, (_ConvNd, Linear))), None)
    if layer is None:
        raise ValueError(f"first_layer_filters: {type(model).__name__} has no Conv or Linear layer")
    w = _np(layer.weight)[:max_filters]
    if w.ndim == 4:
        w = w if w.shape[1] == 3 else w[:, 0]
    elif w.ndim == 2:
        side = int(np.sqrt(w.shape[1]))
        w = w.reshape(-1, side, side) if side * side == w.shape[1] else w[:, None, :]
    else:
        raise ValueError(f"first_layer_filters: cannot show a {w.ndim}-d weight as images (shape {w.shape})")
    if path is not None:
        plots.image_grid(w, path, title=f"first-layer filters ({type(layer).__name__} weight "
                                        f"{tuple(layer.weight.shape)}): blue < 0 < red", cmap="RdBu_r")
    return w


def feature_maps(model: Module, x, layer: str | Sequence[str], path: str | None = None,
                 max_maps: int = 32) -> np.ndarray | dict:
    """The output of layer(s) ``layer`` (dotted names) when ``model`` sees ``x``, as NumPy arrays (N, C, H, W).

    One forward pass in eval mode without gradients, with a forward hook on each named layer. ``x`` is one image
    (C, H, W) or a batch. With ``path`` (one layer), the first image's maps (up to ``max_maps`` channels) are
    written as a grid. Returns the array, or {name: array} when several layers are asked for.
    """
    names = [layer] if isinstance(layer, str) else list(layer)
    x = _as_tensor(x, model)
    mods = {n: model.get_submodule(n) for n in names}
    got: dict = {}
    handles = [m.register_forward_hook(lambda mod, a, out, n=n: got.__setitem__(n, out)) for n, m in mods.items()]
    try:
        with _eval(model), autograd.no_grad():
            model(x.unsqueeze(0) if x.ndim == 3 else x)
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in names if n not in got]
    if missing:
        raise ValueError(f"feature_maps: layer(s) {missing} were not called in {type(model).__name__}'s forward")
    maps = {n: _np(got[n][0] if isinstance(got[n], (tuple, list)) else got[n]) for n in names}
    if path is not None:
        if len(names) != 1:
            raise ValueError("feature_maps: a path is for one layer; call once per layer to draw several")
        a = maps[names[0]][0]
        if a.ndim == 3:
            plots.image_grid(a[:max_maps], path, titles=[f"{names[0]}[{c}]" for c in range(min(len(a), max_maps))],
                             cmap="viridis",
                             title=f"feature maps of {names[0]} {tuple(a.shape)}, each channel scaled to its range")
    return maps[names[0]] if isinstance(layer, str) else maps


def saliency(model: Module, x, target=None, path: str | None = None) -> np.ndarray:
    """M(i, j) = max_c |∂s_y/∂x(c, i, j)|: which pixels change the class score s_y most (Simonyan et al., 2014).

    ``s_y`` is the logit (pre-softmax score) of class ``target`` (default: the predicted class) for each image of
    ``x`` (N, C, H, W) or (C, H, W). Returns (N, H, W); with ``path`` writes images and maps side by side.
    """
    x = _as_tensor(x, model)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    x = x.detach()
    x.requires_grad = True
    with _eval(model), autograd.enable_grad():
        scores = model(x)
        if scores.ndim != 2:
            raise ValueError(f"saliency: expected class scores (N, classes) from the model, got {tuple(scores.shape)}")
        if target is None:
            idx = scores.detach().argmax(1)
        else:
            idx = target if isinstance(target, Tensor) else tensor(np.broadcast_to(np.asarray(target),
                                                                                   (x.shape[0],)).copy())
        picked = scores.gather(1, idx.reshape(-1, 1).to(scores.device).long())
        (g,) = autograd.grad(picked.sum(), [x])
    sal = np.abs(_np(g)).max(axis=1)
    if path is not None:
        imgs = _np(x)
        grid = np.concatenate([imgs[:, :1] if imgs.shape[1] != 3 else imgs.mean(1, keepdims=True), sal[:, None]])
        n = len(sal)
        plots.image_grid(grid, path, ncols=n, titles=[f"input {k}" for k in range(n)] +
                         [f"saliency {k}" for k in range(n)], cmap="hot", title="saliency |∂s_y/∂x|")
    return sal


def fgsm(model: Module, x, target, eps: float, loss_fn: Callable = F.cross_entropy, targeted: bool = False,
         clip: tuple | None = (0.0, 1.0)) -> Tensor:
    """x′ = clip(x + ε·sign(∇ₓ L(f(x), y))): the fast gradient sign method (Goodfellow et al., 2015).

    One step of size ε in every pixel, in the direction that raises the loss most in the max-norm ball — an
    invisible change for small ε that can flip the prediction. With ``targeted=True``, ``target`` is the class to
    reach and the step goes down the loss instead (x − ε·sign(∇ₓ L(f(x), target))).

    Args:
        model: classifier producing logits (run in eval mode; its parameter gradients are not touched).
        x: images (N, C, H, W) (Tensor or array). target: (N,) true labels (or target classes).
        eps: the max-norm size of the perturbation (≥ 0).
        loss_fn: loss(logits, target), default cross-entropy.
        clip: keep pixels in this (low, high) range (None: no clipping).

    Returns:
        the adversarial images x′, a Tensor without gradient, ‖x′ − x‖_∞ ≤ ε.
    """
    if eps < 0:
        raise ValueError(f"fgsm: eps must be >= 0, got {eps}")
    x = _as_tensor(x, model).detach()
    y = target if isinstance(target, Tensor) else tensor(np.asarray(target))
    x.requires_grad = True
    with _eval(model), autograd.enable_grad():
        loss = loss_fn(model(x), y.to(x.device))
        (g,) = autograd.grad(loss, [x])
    with autograd.no_grad():
        step = sign(g) * (-eps if targeted else eps)
        adv = x.detach() + step
        if clip is not None:
            adv = clamp(adv, clip[0], clip[1])
    return adv


def adversarial_accuracy(model: Module, X, y, epsilons: Sequence[float], batch_size: int = 256,
                         clip: tuple | None = (0.0, 1.0)) -> list:
    """Accuracy of ``model`` on FGSM examples x + ε·sign(∇ₓL) of (X, y), one value per ε (ε = 0: clean accuracy).

    The untargeted attack of :func:`fgsm`, made against the model itself (white box). Returns floats in [0, 1].
    """
    X = np.asarray(_np(X) if isinstance(X, Tensor) else X, dtype=np.float32)
    y = np.asarray(_np(y) if isinstance(y, Tensor) else y)
    accs = []
    for eps in epsilons:
        correct = 0
        for i in range(0, len(X), batch_size):
            xb, yb = X[i:i + batch_size], y[i:i + batch_size]
            xa = fgsm(model, xb, yb, eps, clip=clip) if eps > 0 else _as_tensor(xb, model)
            with _eval(model), autograd.no_grad():
                pred = _np(model(xa).argmax(1))
            correct += int((pred == yb).sum())
        accs.append(correct / len(X))
    return accs
