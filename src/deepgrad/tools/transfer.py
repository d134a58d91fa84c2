"""Transfer learning: re-use a network trained on one task for another.

The lectures' recipe: early layers compute generic features, so keep them (frozen, or fine-tuned with a reduced
learning rate), replace the classification layer with one for the new classes, and train it from scratch. With very
little data, train only a linear classifier on the frozen features (:func:`extract_features`); with more, fine-tune
more layers.

>>> import deepgrad as dg
>>> from deepgrad.tools import freeze, replace_head, count_trainable
>>> net = dg.nn.Sequential(dg.nn.Linear(4, 8), dg.nn.ReLU(), dg.nn.Linear(8, 10))
>>> head = replace_head(net, 3)            # a new, trainable Linear(8, 3) in place of the last Linear
>>> _ = freeze(net, depth=2)               # the first two children keep their weights
>>> count_trainable(net)                   # only the head learns: 8·3 + 3
27
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import autograd
from ..backend import CPU, to_device
from ..nn.linear import Linear
from ..nn.module import Module
from ..tensor import Tensor, tensor

__all__ = ["freeze", "unfreeze", "count_trainable", "replace_head", "find_head", "param_groups", "extract_features"]


def _select(fn: str, model: Module, names, depth) -> list:
    """The (name, parameter) pairs under the prefixes ``names`` / in the first ``depth`` children (all if neither)."""
    if names is not None and depth is not None:
        raise ValueError(f"{fn}: give names (parameter-name prefixes) or depth (a number of children), not both")
    named = list(model.named_parameters())
    if depth is not None:
        children = [n for n, _ in model.named_children()]
        if not isinstance(depth, int) or not 0 <= depth <= len(children):
            raise ValueError(f"{fn}: depth must be an int in [0, {len(children)}] (the number of child modules of "
                             f"{type(model).__name__}: {children}), got {depth!r}")
        keep = set(children[:depth])
        return [(n, p) for n, p in named if n.split(".")[0] in keep]
    if names is None:
        return named
    prefixes = [names] if isinstance(names, str) else list(names)
    picked = []
    for prefix in prefixes:
        hits = [(n, p) for n, p in named if n == prefix or n.startswith(prefix + ".")]
        if not hits:
            top = sorted({n.split(".")[0] for n, _ in named})
            raise ValueError(f"{fn}: no parameter of {type(model).__name__} is named {prefix!r} or starts with "
                             f"'{prefix}.'; top-level names are {top}")
        picked += hits
    return list(dict(picked).items())


def freeze(model: Module, names: str | Iterable[str] | None = None, depth: int | None = None) -> list:
    """requires_grad = False for the chosen parameters, so that training leaves them unchanged.

    Args:
        model: the network.
        names: parameter-name prefixes (a layer: ``"features"``, ``"c1"``, ``"layer1.0"``; or one parameter:
            ``"fc.bias"``). A prefix matches whole dotted components.
        depth: freeze the first ``depth`` child modules (in definition order) instead.
        With neither, every parameter is frozen.

    Returns:
        the names of the parameters frozen.

    Note: frozen parameters get no gradient; give the optimiser only trainable ones (:func:`param_groups` does), and
    remember that BatchNorm running statistics still update in train mode (call ``.eval()`` on frozen BN layers).
    """
    sel = _select("freeze", model, names, depth)
    for _, p in sel:
        p.requires_grad = False
        p.grad = None
    return [n for n, _ in sel]


def unfreeze(model: Module, names: str | Iterable[str] | None = None, depth: int | None = None) -> list:
    """requires_grad = True for the chosen parameters (arguments as :func:`freeze`); returns their names."""
    sel = _select("unfreeze", model, names, depth)
    for _, p in sel:
        p.requires_grad = True
    return [n for n, _ in sel]


def count_trainable(model: Module) -> int:
    """Σ numel(p) over the parameters with requires_grad (each shared parameter once)."""
    return sum(p.numel() for p in dict.fromkeys(model.parameters()) if p.requires_grad)


def find_head(model: Module) -> tuple:
    """(dotted name, module) of the classification layer: the last ``Linear`` in definition order (``fc``,
    ``classifier.6``, ``output``, ...)."""
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, Linear)]
    if not found:
        raise ValueError(f"find_head: {type(model).__name__} has no Linear layer to treat as the head; pass the "
                         "layer's name to replace_head(name=...)")
    return found[-1]


def replace_head(model: Module, num_classes: int, name: str | None = None, bias: bool = True) -> Module:
    """Swap the classification layer for a fresh ``Linear(in_features, num_classes)`` (same device and dtype).

    The new layer takes the old one's place (a Sequential keeps its order). ``name`` picks the layer (default: the
    last Linear, :func:`find_head`); the model's ``num_classes`` attribute, if any, is updated. Returns the new layer.
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"replace_head: num_classes must be a positive int, got {num_classes!r}")
    if name is None:
        name, old = find_head(model)
    else:
        old = model.get_submodule(name)
    in_features = getattr(old, "in_features", None)
    if in_features is None:
        raise ValueError(f"replace_head: layer {name!r} is a {type(old).__name__}, which has no in_features; "
                         "expected a Linear")
    w = old.weight
    new = Linear(in_features, num_classes, bias=bias, device=w.device, dtype=w.dtype)
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, new)
    if isinstance(getattr(model, "num_classes", None), int):
        model.num_classes = num_classes
    return new


def param_groups(model: Module, base_lr: float, lr_mult: float = 0.1, head: str | Iterable[str] | None = None,
                 head_lr: float | None = None) -> list:
    """Optimiser parameter groups for fine-tuning: the new head at ``head_lr`` (default ``base_lr``), the pre-trained
    layers at lr = base_lr · lr_mult — the lectures' "reduced learning rate" for what was already learned.

    Args:
        model: the network (frozen parameters are left out; empty groups are dropped).
        base_lr: the learning rate of training from scratch.
        lr_mult: factor for the pre-trained layers (0.1 is common; 0 would freeze them in all but name).
        head: parameter-name prefixes of the new layers (default: the last Linear, :func:`find_head`).
        head_lr: learning rate of the head (default ``base_lr``).

    Returns:
        ``[{"params": [...], "lr": base_lr·lr_mult, "name": "pretrained"}, {"params": [...], "lr": head_lr,
        "name": "head"}]``, ready for ``dg.optim.SGD(groups, lr=base_lr)``.
    """
    if base_lr < 0 or lr_mult < 0:
        raise ValueError(f"param_groups: base_lr and lr_mult must be >= 0, got {base_lr} and {lr_mult}")
    head_names = {n for n, _ in _select("param_groups", model, [find_head(model)[0]] if head is None else head, None)}
    seen, body, top = set(), [], []
    for n, p in model.named_parameters():
        if not p.requires_grad or p in seen:
            continue
        seen.add(p)
        (top if n in head_names else body).append(p)
    groups = [{"params": body, "lr": base_lr * lr_mult, "name": "pretrained"},
              {"params": top, "lr": base_lr if head_lr is None else head_lr, "name": "head"}]
    return [g for g in groups if g["params"]]


def _batches(data, batch_size: int):
    if isinstance(data, (np.ndarray, Tensor)):
        n = data.shape[0]
        for i in range(0, n, batch_size):
            yield data[i:i + batch_size], None
        return
    for batch in data:
        if isinstance(batch, (tuple, list)):
            yield batch[0], (batch[1] if len(batch) > 1 else None)
        else:
            yield batch, None


def extract_features(model: Module, data, layer: str | None = None, batch_size: int = 256, flatten: bool = True,
                     device=None) -> tuple:
    """φ(x) for every input: the output of ``layer`` (default: the model's output) with the weights fixed.

    The lectures' "use a linear classifier on the top layer": extract the features of a pre-trained network once,
    then train a small classifier on them.

    Args:
        model: the (pre-trained) network; run in eval mode without gradients (its mode is restored).
        data: a DataLoader (or any iterable) of ``(x, y)`` or ``x`` batches, or an array/Tensor of inputs.
        layer: dotted name of the module whose output is the feature (``"features"``, ``"f6"``, ``"avgpool"``).
        batch_size: for array input.
        flatten: reshape each feature to a vector.
        device: where the inputs go (default: the device of the model's first parameter).

    Returns:
        (features as a NumPy array (N, D) — or (N, ...) without ``flatten`` —, labels as a NumPy array or None).
    """
    target = model.get_submodule(layer) if layer else None
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else None
    grabbed = []
    handle = target.register_forward_hook(lambda m, a, out: grabbed.append(out)) if target is not None else None
    feats, labels = [], []
    training = {m: m.training for m in model.modules()}
    model.eval()
    try:
        with autograd.no_grad():
            for x, y in _batches(data, batch_size):
                x = x if isinstance(x, Tensor) else tensor(np.asarray(x))
                out = model(x.to(device) if device is not None else x)
                if target is not None:
                    if not grabbed:
                        raise ValueError(f"extract_features: layer {layer!r} was not called in the forward pass")
                    out = grabbed.pop()
                    grabbed.clear()
                f = np.asarray(to_device(out._data, CPU))
                feats.append(f.reshape(f.shape[0], -1) if flatten else f)
                if y is not None:
                    labels.append(np.asarray(to_device(y._data, CPU)) if isinstance(y, Tensor) else np.asarray(y))
    finally:
        if handle is not None:
            handle.remove()
        for m, mode in training.items():
            m.training = mode
    return np.concatenate(feats), (np.concatenate(labels) if labels else None)
