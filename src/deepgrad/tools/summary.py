"""``summary(model, input_shape)``: the per-layer table of a network — output shape, parameters, activations,
multiply-adds and receptive field — from one forward pass of zeros with forward hooks on its layers.

What each column counts (for the whole batch of ``batch_size`` inputs; the default 1 gives per-image numbers):

* **Param #**: the layer's own parameters (weights + biases; a parameter shared by several layers is counted at its
  first use). The totals split them into trainable (``requires_grad``) and frozen ones.
* **Activations**: the number of elements the layer outputs; the activation memory is their size in bytes (4 per
  float32 element) summed over all layers — what a forward pass keeps for the backward pass.
* **MACs** (multiply-accumulates), the lectures' cost formula:
  convolution kW·kH·(C_in/groups)·C_out·W_out·H_out (the slide's "input width / stride" is the output width);
  transposed convolution k·(C_in)·(C_out/groups)·W_in·H_in (each input pixel scatters one kernel);
  Linear (and Maxout) in·out per input row; Bilinear in₁·in₂·out per row; batch/layer/group normalisation one per
  output element (the affine y = x·a + b it reduces to at inference). Activations, pooling, dropout, reshapes and
  embeddings are counted as 0: they compare, look up or move values rather than multiply-add them.
  FLOPs = 2·MACs.
* **RF (jump)**: the receptive field — the input window, in pixels, that one output unit sees — and the jump (the
  input-pixel distance between neighbouring output units), for convolution and pooling layers. Along a path
  r_out = r_in + dilation·(k − 1)·j_in and j_out = j_in·stride (r = j = 1 at the input), so each k×k stride-1
  convolution widens the field by k − 1. Upsampling layers divide the jump by their factor (a transposed
  convolution adds (⌈k/s⌉ − 1)·j_in to the field, an interpolation other than 'nearest' adds j_in). Each tensor
  carries its own (r, j): a layer takes them from its input, and where the input was made by code between layers
  (a concatenation, a residual sum) from the tensors it was computed from, following the autograd graph and keeping
  the largest field — so branches and skip connections are handled, and a sum or concatenation sees what its
  widest input sees. Layers that keep the shape (activations, normalisation) pass (r, j) on; layers that flatten
  or mix all positions (Flatten, Linear on image features) see the whole input. Operations called as functions
  inside ``forward`` rather than as modules are invisible to hooks, so their effect on the field is not counted.

Example:
    >>> import deepgrad as dg
    >>> net = dg.nn.Sequential(dg.nn.Conv2d(1, 6, 5), dg.nn.ReLU(), dg.nn.MaxPool2d(2))
    >>> s = dg.summary(net, (1, 32, 32))
    >>> s.rows[0].params, s.rows[0].activations, s.rows[0].macs, s.rows[2].receptive_field
    (156, 4704, 117600, (6, 6))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from .. import autograd
from ..creation import zeros
from ..nn.conv import _ConvNd
from ..nn.module import Module
from ..nn.normalization import GroupNorm, LayerNorm, _BatchNorm
from ..tensor import Tensor

__all__ = ["summary", "Summary", "LayerSummary", "receptive_field"]


@dataclass
class LayerSummary:
    """One row of :class:`Summary`: a layer call during the forward pass."""

    name: str
    type: str
    input_shape: tuple
    output_shape: tuple
    params: int
    trainable_params: int
    activations: int
    activation_bytes: int
    macs: int
    receptive_field: tuple | None = None  # per spatial dim, conv/pool layers only
    jump: tuple | None = None

    @property
    def flops(self) -> int:
        return 2 * self.macs

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "input_shape": list(self.input_shape),
                "output_shape": list(self.output_shape), "params": self.params,
                "trainable_params": self.trainable_params, "activations": self.activations,
                "activation_bytes": self.activation_bytes, "macs": self.macs,
                "receptive_field": None if self.receptive_field is None else list(self.receptive_field),
                "jump": None if self.jump is None else list(self.jump)}


@dataclass
class Summary:
    """The result of :func:`summary`: ``rows`` (one :class:`LayerSummary` per layer call) and the totals.

    ``str(summary)`` is the table; ``summary[name]`` is the row of the layer ``name``; ``as_dict()`` gives it all as
    JSON-ready data.
    """

    model_name: str
    input_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    input_bytes: int = 0
    param_bytes: int = 0

    @property
    def frozen_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_activations(self) -> int:
        return sum(r.activations for r in self.rows)

    @property
    def activation_bytes(self) -> int:
        return sum(r.activation_bytes for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_flops(self) -> int:
        return 2 * self.total_macs

    @property
    def unused_params(self) -> int:
        """Parameters of modules that the forward pass never called (counted in the totals, in no row)."""
        return self.total_params - sum(r.params for r in self.rows)

    def __getitem__(self, name: str) -> LayerSummary:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"Summary: no layer named {name!r}; layers are {[r.name for r in self.rows]}")

    def as_dict(self) -> dict:
        return {"model": self.model_name, "input_shape": list(self.input_shape),
                "layers": [r.as_dict() for r in self.rows],
                "total_params": self.total_params, "trainable_params": self.trainable_params,
                "frozen_params": self.frozen_params, "total_activations": self.total_activations,
                "activation_bytes": self.activation_bytes, "input_bytes": self.input_bytes,
                "param_bytes": self.param_bytes, "macs": self.total_macs, "flops": self.total_flops}

    def __str__(self) -> str:
        head = ("Layer (type)", "Output shape", "Param #", "Activations", "MACs", "RF (jump)")
        body = [(f"{r.name} ({r.type})", _shape(r.output_shape), f"{r.params:,}", f"{r.activations:,}",
                 f"{r.macs:,}", _rf(r)) for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

        def line(cells):
            return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "-" * sum(widths + [2 * (len(widths) - 1)])
        out = [f"{self.model_name}, input {_shape(self.input_shape)}", "=" * len(rule), line(head), rule]
        out += [line(b) for b in body]
        out += ["=" * len(rule),
                f"Total params: {self.total_params:,} (trainable {self.trainable_params:,}, frozen "
                f"{self.frozen_params:,})" + (f"; {self.unused_params:,} in layers not called"
                                              if self.unused_params else ""),
                f"Activations: {self.total_activations:,} values = {_bytes(self.activation_bytes)}",
                f"Parameters: {_bytes(self.param_bytes)}; input: {_bytes(self.input_bytes)}",
                f"MACs: {self.total_macs:,} ({_si(self.total_macs)}); FLOPs ≈ 2·MACs = {_si(self.total_flops)}"]
        return "\n".join(out)

    __repr__ = __str__


def _num(v):
    return int(v) if Fraction(v).denominator == 1 else float(v)


def _nums(t: tuple) -> tuple:
    return tuple(_num(v) for v in t)


def _shape(s) -> str:
    return "[" + ", ".join(str(d) for d in s) + "]"


def _rf(r: LayerSummary) -> str:
    if r.receptive_field is None:
        return ""
    rf, j = ("x".join(map(str, t)) if len(set(t)) > 1 else str(t[0]) for t in (r.receptive_field, r.jump))
    return f"{rf} ({j})"


def _bytes(n: int) -> str:
    for unit, k in (("GB", 2 ** 30), ("MB", 2 ** 20), ("KB", 2 ** 10)):
        if n >= k:
            return f"{n / k:.2f} {unit}"
    return f"{n} B"


def _si(n: int) -> str:
    for unit, k in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= k:
            return f"{n / k:.2f} {unit}"
    return str(n)


def tensors_in(out) -> list:
    """The Tensors in a module's arguments or output: a Tensor, or nested tuples, lists and dicts of them."""
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in tensors_in(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in tensors_in(o)]
    return []


def _macs(m: Module, x: Tensor | None, y: Tensor | None) -> int:
    """Multiply-accumulates of one call of ``m`` (see the module docstring for the formulas)."""
    if y is None:
        return 0
    if isinstance(m, _ConvNd):
        k = math.prod(m.kernel_size)
        if m.transposed:  # every input pixel scatters a (C_out/groups)·k block
            return k * m.out_channels // m.groups * x.numel()
        return k * (m.in_channels // m.groups) * y.numel()
    if isinstance(m, (_BatchNorm, LayerNorm, GroupNorm)):
        return y.numel()
    w = getattr(m, "weight", None)
    if isinstance(w, Tensor) and x is not None:
        if w.ndim == 2 and getattr(m, "in_features", None):  # Linear, Maxout: weight (out, in) per input row
            return w.numel() * (x.numel() // m.in_features)
        if w.ndim == 3 and getattr(m, "in1_features", None):  # Bilinear: out·in1·in2 per row
            return w.numel() * (x.numel() // m.in1_features)
    return 0


def _ntuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _propagate(m: Module, rf_in, x: Tensor, y: Tensor):
    """(r, j, is_spatial_layer) of ``m``'s output given its input's (r, j); (None, None) means "sees everything"."""
    r, j = rf_in
    if r is None or x.ndim < 3 or y.ndim != x.ndim:
        return None, None, False  # flattening / fully-connected: the whole input
    n = x.ndim - 2
    size_in, size_out = tuple(x.shape[2:]), tuple(y.shape[2:])
    kernel = getattr(m, "kernel_size", None)
    if kernel is not None and kernel != ():
        k = _ntuple(kernel, n)
        s = _ntuple(getattr(m, "stride", None) or k, n)
        if getattr(m, "transposed", False) or any(o > i for o, i in zip(size_out, size_in)):  # upsampling
            r = tuple(ri + (-(-ki // si) - 1) * ji for ri, ki, si, ji in zip(r, k, s, j))
            j = tuple(ji / si for ji, si in zip(j, s))
        else:
            d = _ntuple(getattr(m, "dilation", 1), n)
            r = tuple(ri + di * (ki - 1) * ji for ri, di, ki, ji in zip(r, d, k, j))
            j = tuple(ji * si for ji, si in zip(j, s))
        return r, j, True
    if size_in == size_out:
        return r, j, False  # elementwise / per-position layers
    # resampling without a kernel: adaptive pooling (shrinks) or interpolation (grows)
    new_r, new_j = [], []
    for ri, ji, a, b in zip(r, j, size_in, size_out):
        if b <= a:  # adaptive pooling: windows of about ⌈a/b⌉ input pixels, a/b apart
            new_r.append(ri + (-(-a // b) - 1) * ji)
        else:
            new_r.append(ri + (0 if getattr(m, "mode", "nearest") == "nearest" else ji))
        new_j.append(ji * Fraction(a, b))
    return tuple(new_r), tuple(new_j), True


def _lookup(t: Tensor, known: dict):
    """(r, j) of tensor ``t``: its own if a layer made it, else the widest among the tensors it was computed from."""
    if id(t) in known:
        return known[id(t)][1]
    best, seen, stack = None, set(), [t]
    while stack:
        u = stack.pop()
        fn = u.grad_fn
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        for v in fn.inputs:
            if id(v) in known:
                rf = known[id(v)][1]
                if best is None or rf[0] is None or (best[0] is not None and max(rf[0]) > max(best[0])):
                    best = rf
            else:
                stack.append(v)
    return best if best is not None else (None, None)


def receptive_field(model: Module, input_shape, layer: str | None = None, batch_size: int = 1) -> tuple:
    """(receptive field, jump) per spatial dim of ``layer`` (default: the last conv/pool layer), from :func:`summary`.

    Example:
        >>> import deepgrad as dg
        >>> three = dg.nn.Sequential(*[dg.nn.Conv2d(1, 1, 3) for _ in range(3)])
        >>> receptive_field(three, (1, 16, 16))
        ((7, 7), (1, 1))
    """
    s = summary(model, input_shape, batch_size)
    rows = [r for r in s.rows if r.receptive_field is not None and (layer is None or r.name == layer)]
    if not rows:
        what = f"layer {layer!r} is not a convolution or pooling layer" if layer else "no convolution or pooling layer"
        raise ValueError(f"receptive_field: {what} in {type(model).__name__}; conv/pool layers: "
                         f"{[r.name for r in s.rows if r.receptive_field is not None]}")
    return rows[-1].receptive_field, rows[-1].jump


def summary(model: Module, input_shape=None, batch_size: int = 1, device=None, dtype=None) -> Summary:
    """Run ``model`` once on zeros of shape (batch_size, *input_shape) and tabulate its layers (Keras-style).

    Rows are the leaf modules (and any module with parameters of its own) in call order, named by their dotted
    path in the model. Columns and how branches are handled: see :mod:`deepgrad.tools.summary`.

    Args:
        model: any Module; it runs in eval mode (its training flags are restored afterwards).
        input_shape: one input's shape without the batch dim, e.g. (1, 32, 32); default
            ``model.default_input_shape``.
        batch_size: inputs in the batch (1: per-image numbers, as in the lectures' tables).
        device: where the zeros go (default: the device of the model's first parameter).
        dtype: of the zeros (default float32; ``dg.int64`` for models that take indices).

    Returns:
        :class:`Summary` — ``print(s)`` shows the table; ``s.rows``, ``s.total_params``, ``s.total_macs``, ... hold
        the numbers.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a deepgrad.nn.Module, got {type(model).__name__}")
    if input_shape is None:
        input_shape = getattr(model, "default_input_shape", None)
        if input_shape is None:
            raise ValueError(f"summary: {type(model).__name__} has no default_input_shape; pass input_shape, e.g. "
                             "(1, 28, 28) for MNIST images or (784,) for flat vectors")
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(f"summary: input_shape must be positive ints without the batch dim, e.g. (1, 28, 28); "
                         f"got {input_shape!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"summary: batch_size must be a positive int, got {batch_size!r}")
    params = list(dict.fromkeys(model.parameters()))  # unique, in order
    if device is None:
        device = params[0].device if params else None
    x = zeros(batch_size, *shape, dtype=dtype, device=device)
    if x.dtype.kind == "f":
        x.requires_grad = True  # keeps the autograd graph, which the receptive-field bookkeeping follows
    spatial = x.ndim >= 3
    one = Fraction(1)
    known = {id(x): (x, ((1,) * (x.ndim - 2), (one,) * (x.ndim - 2)) if spatial else (None, None))}
    rows, counted, handles = [], set(), []

    def hook(name):
        def fn(m, args, out):
            ins, outs = tensors_in(args), tensors_in(out)
            xin = ins[0] if ins else None
            y = outs[0] if outs else None
            own = [p for p in m.parameters(recurse=False) if id(p) not in counted]
            counted.update(id(p) for p in own)
            rf, j, show = None, None, False
            if xin is not None and y is not None:
                rf, j, show = _propagate(m, _lookup(xin, known), xin, y)
                for t in outs:
                    known[id(t)] = (t, (rf, j))  # the tensor itself is kept so that its id stays unique
            rows.append(LayerSummary(
                name=name or type(m).__name__, type=type(m).__name__,
                input_shape=tuple(xin.shape) if xin is not None else (),
                output_shape=tuple(y.shape) if y is not None else (),
                params=sum(p.numel() for p in own), trainable_params=sum(p.numel() for p in own if p.requires_grad),
                activations=sum(t.numel() for t in outs), activation_bytes=sum(t.numel() * t.element_size()
                                                                              for t in outs),
                macs=_macs(m, xin, y), receptive_field=_nums(rf) if show else None, jump=_nums(j) if show else None))
        return fn

    modes = {m: m.training for m in model.modules()}
    try:
        for name, m in model.named_modules():
            if not next(m.children(), None) or next(m.parameters(recurse=False), None) is not None:
                handles.append(m.register_forward_hook(hook(name)))
        model.eval()
        with autograd.enable_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
    return Summary(model_name=type(model).__name__, input_shape=(batch_size, *shape), rows=rows,
                   total_params=sum(p.numel() for p in params),
                   trainable_params=sum(p.numel() for p in params if p.requires_grad),
                   input_bytes=x.numel() * x.element_size(),
                   param_bytes=sum(p.numel() * p.element_size() for p in params))
