"""Convolution (cross-correlation, as in every deep-learning framework) and its transpose, in 1, 2 and 3 dimensions.

The mathematics: out(n, j, o) = b(j) + Σ_k Σ_m w(j, k, m) · xpad(n, k, o·stride + m·dilation), the channels k
running over j's group. Computed as im2col + one GEMM: the input's windows are copied into columns (one column
per output position, one row per (channel, kernel offset)), and the flattened weight multiplies all columns at once
(:func:`im2col`, :func:`reference_conv_forward`). Three Functions, each the others' adjoint, so double backward
is exact:

* ``ConvNd(x, w, b) = y``;
* ``ConvInputGrad(g, w)`` = ∂x = col2im(Wᵀ·g), the *transposed* convolution (also ``conv_transpose*d``);
* ``ConvWeightGrad(x, g)`` = ∂w = Σ_n g · im2col(x)ᵀ.

Each one's backward is written with the other two. The numbers come from one of two implementations, picked in
:func:`_forward` / :func:`_backward`: the reference here (a few lines each, whole-batch columns), or the tuned kernels
of :mod:`deepgrad.ops.cpu_kernels` (blocks of samples in cache and on several threads, wide columns, the
row-separable input gradient), the default; ``deepgrad.backends.cpu.fast_kernels = False`` or
``DEEPGRAD_KERNELS=reference`` selects the reference. Both give the same results to float rounding (tested).
"""
from __future__ import annotations

import itertools
import math

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
from ..backends import cpu as _cpu
from ..promotion import require_same_dtype
from ..tensor import Tensor
from . import cpu_kernels as K
from ._util import ShapeError
from .cpu_kernels import pad_array, window_view

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "correlate2d", "convolve2d", "conv_output_size", "conv_transpose_output_size"]

_DIMS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_KDIMS = {1: "kL", 2: "kH, kW", 3: "kD, kH, kW"}


def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int | tuple = 0, dilation: int = 1) -> int:
    """⌊(size + pad_lo + pad_hi − dilation·(kernel − 1) − 1) / stride⌋ + 1 — the length of a convolution's output.

    ``padding`` is one int (both sides) or a pair (lo, hi).
    """
    lo, hi = (padding, padding) if isinstance(padding, int) else padding
    return (size + lo + hi - dilation * (kernel - 1) - 1) // stride + 1


def conv_transpose_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
                               dilation: int = 1) -> int:
    """(size − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1 — a transposed convolution's output."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def ntuple(v, n: int, what: str, op: str) -> tuple:
    """``v`` (an int or a sequence of n ints) as a tuple of n ints."""
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return (v,) * n
    try:
        t = tuple(int(a) for a in v)
    except TypeError:
        raise TypeError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v!r}") from None
    if len(t) != n:
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {v!r}")
    return t


def shape_str(shape) -> str:
    """A shape as 3x3 (in messages)."""
    return "x".join(str(s) for s in shape)


class Geometry:
    """Where the windows of an N-d sliding-window op lie: spatial ``size``, ``kernel``, ``stride``, ``dilation``,
    ``pads`` ((lo, hi) per spatial dim) and ``groups``; ``out`` is the output's spatial shape."""

    __slots__ = ("size", "kernel", "stride", "dilation", "pads", "groups", "out", "padded", "inner")

    def __init__(self, size, kernel, stride, dilation, pads, groups=1, out=None):
        self.size, self.kernel, self.stride, self.dilation = tuple(size), tuple(kernel), tuple(stride), tuple(dilation)
        self.pads, self.groups = tuple(tuple(p) for p in pads), groups
        self.out = tuple(out) if out is not None else tuple(
            conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(size, kernel, stride, pads, dilation))
        self.padded = tuple(s + lo + hi for s, (lo, hi) in zip(self.size, self.pads))
        self.inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(self.size, self.pads))  # the input inside the padding

    def offsets(self):
        """Every kernel offset, with the strided slice of the padded input that it meets."""
        for k in itertools.product(*(range(k) for k in self.kernel)):
            yield k, tuple(slice(ki * d, ki * d + s * (o - 1) + 1, s)
                           for ki, d, s, o in zip(k, self.dilation, self.stride, self.out))

    def overlapping(self) -> bool:
        return any(d * (k - 1) + 1 > s for k, s, d in zip(self.kernel, self.stride, self.dilation))


# ------------------------------------------------------------------------------------------------ reference
# im2col turns the convolution into one matrix product: column o of sample n is the window that output o sees,
# flattened over (channel, kernel offset); the weight, flattened the same way, multiplies all columns at once.
def im2col(x, g: Geometry):
    """(N, C·Πk, Πo) columns of x (N, C, *size): cols(n, (c, k), o) = xpad(n, c, o·stride + k·dilation)."""
    xp = array_module(x)
    n, c = x.shape[:2]
    view = window_view(pad_array(x, g.pads), g, columns=True)  # (N, C, *k, *o), a strided view: no copy yet
    return xp.ascontiguousarray(view).reshape(n, c * math.prod(g.kernel), math.prod(g.out))


def col2im(cols, g: Geometry, x_shape):
    """The adjoint of :func:`im2col`: each column entry is added back to the input position it was copied from."""
    xp = array_module(cols)
    n, c = x_shape[:2]
    cols = cols.reshape(n, c, *g.kernel, *g.out)
    acc = xp.zeros((n, c, *g.padded), dtype=cols.dtype)
    lead = (slice(None), slice(None))
    for k, sl in g.offsets():
        acc[lead + sl] += cols[lead + k]
    return acc[lead + g.inner]


def reference_conv_forward(x, w, b, g: Geometry):
    """y = W · im2col(x) + b: one (batched over samples and groups) GEMM, W as (G, C_out/G, C_in/G·Πk)."""
    n, cout, groups = x.shape[0], w.shape[0], g.groups
    cols = im2col(x, g).reshape(n, groups, -1, math.prod(g.out))
    y = (w.reshape(groups, cout // groups, -1) @ cols).reshape(n, cout, *g.out)
    if b is not None:
        y = y + b.reshape((cout,) + (1,) * len(g.out))
    return y


def reference_conv_backward(x, w, gy, g: Geometry, x_shape, w_shape, need_x: bool, need_w: bool, need_b: bool = False):
    """(dx, dw, db) of y = W · im2col(x) + b: dx = col2im(Wᵀ · gy), dw = Σ_n gy · im2col(x)ᵀ, db = Σ gy."""
    n, cout, groups = x_shape[0], w_shape[0], g.groups
    gy = gy.reshape(n, groups, cout // groups, math.prod(g.out))
    w3 = w.reshape(groups, cout // groups, -1) if w is not None else None
    dx = col2im(w3.swapaxes(1, 2) @ gy, g, x_shape) if need_x else None
    dw = None
    if need_w:
        cols = im2col(x, g).reshape(n, groups, -1, math.prod(g.out))
        dw = (gy @ cols.swapaxes(2, 3)).sum(axis=0).reshape(w_shape)
    db = gy.sum(axis=(0, 3)).reshape(cout) if need_b else None
    return dx, dw, db


# ------------------------------------------------------------------------------------------------ dispatch
def _forward(x, w, b, g: Geometry):
    return (K.conv_forward if _cpu.fast_kernels else reference_conv_forward)(x, w, b, g)


def _backward(*args):
    return (K.conv_backward if _cpu.fast_kernels else reference_conv_backward)(*args)


class ConvNd(Function):
    """y = conv(x, w) + b: out(n, j) = b(j) + Σ_k w(j, k) ⋆ x(n, k) over the channels k of j's group."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry):
        self.g = g

    def forward(self, x, w, b=None):
        return _forward(x, w, b, self.g)

    def backward(self, grad):
        x, w = self.inputs[:2]
        need_x, need_w = self.needs_input_grad[:2]
        need_b = len(self.inputs) > 2 and self.needs_input_grad[2]
        if grad_mode.state.enabled:  # create_graph: gradients that are themselves differentiable
            gx = ConvInputGrad(self.g, x.shape)(grad, w) if need_x else None
            gw = ConvWeightGrad(self.g, w.shape)(x, grad) if need_w else None
            gb = grad.sum((0, *range(2, grad.ndim))) if need_b else None
            return gx, gw, gb
        grads = _backward(x._data, w._data, grad._data, self.g, x.shape, w.shape, need_x, need_w, need_b)
        return tuple(None if a is None else Tensor._wrap(a) for a in grads)  # all three from one pass over the blocks


class ConvInputGrad(Function):
    """dx = convᵀ(g, w): the adjoint of ``ConvNd`` in x, i.e. the transposed convolution ("deconvolution")."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry, x_shape):
        self.g, self.x_shape = g, tuple(x_shape)

    def forward(self, grad, w):
        return _backward(None, w, grad, self.g, self.x_shape, w.shape, True, False)[0]

    def backward(self, gg):
        grad, w = self.inputs
        d_grad = d_w = None
        if self.needs_input_grad[0]:
            d_grad = ConvNd(self.g)(gg, w)
        if self.needs_input_grad[1]:
            d_w = ConvWeightGrad(self.g, w.shape)(gg, grad)
        return d_grad, d_w


class ConvWeightGrad(Function):
    """dw = Σ_n g(n, j) ⋆ x(n, k): the adjoint of ``ConvNd`` in w (GEMMs against the columns of x)."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry, w_shape):
        self.g, self.w_shape = g, tuple(w_shape)

    def forward(self, x, grad):
        return _backward(x, None, grad, self.g, x.shape, self.w_shape, False, True)[1]

    def backward(self, gw):
        x, grad = self.inputs
        d_x = d_grad = None
        if self.needs_input_grad[0]:
            d_x = ConvInputGrad(self.g, x.shape)(grad, gw)
        if self.needs_input_grad[1]:
            d_grad = ConvNd(self.g)(x, gw)
        return d_x, d_grad


# ------------------------------------------------------------------------------------------------ padding
def resolve_padding(padding, size, kernel, stride, dilation, op: str) -> list:
    """Padding as (lo, hi) per spatial dim from an int, a tuple, or 'valid' / 'same' / 'full'.

    Explicit ((lo, hi), ...) pairs per spatial dim are taken as they are. 'same' gives out = ⌈size / stride⌉ for
    any stride (TensorFlow's rule: the total padding
    (out − 1)·stride + dilation·(k − 1) + 1 − size is split with the odd pixel on the high side; PyTorch refuses
    stride > 1 with 'same'). 'full' pads dilation·(k − 1) on both sides, so every partial overlap is computed.
    """
    n = len(size)
    if isinstance(padding, (list, tuple)) and padding and all(isinstance(p, (list, tuple)) for p in padding):
        if len(padding) != n or any(len(p) != 2 or min(p) < 0 for p in padding):
            raise ValueError(f"{op}: expected {n} non-negative (lo, hi) padding pairs, got {padding!r}")
        return [(int(lo), int(hi)) for lo, hi in padding]
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return [(0, 0)] * n
        if mode == "same":
            pads = []
            for s, k, st, d in zip(size, kernel, stride, dilation):
                total = max((-(-s // st) - 1) * st + d * (k - 1) + 1 - s, 0)
                pads.append((total // 2, total - total // 2))
            return pads
        if mode == "full":
            return [(d * (k - 1),) * 2 for k, d in zip(kernel, dilation)]
        raise ValueError(f"{op}: padding must be an int, a tuple, 'valid', 'same' or 'full', got {padding!r}")
    p = ntuple(padding, n, "padding", op)
    if any(v < 0 for v in p):
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return [(v, v) for v in p]


# ------------------------------------------------------------------------------------------------ functions
def batched(x: Tensor, n: int, op: str):
    """Accept (N, C, *spatial) or an unbatched (C, *spatial) input; return the batched one and whether to squeeze."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(x).__name__}")
    if x.ndim == n + 2:
        return x, False
    if x.ndim == n + 1:
        return x.unsqueeze(0), True
    raise ShapeError(f"{op}: expected a {n + 2}-d input {_DIMS[n]} or {n + 1}-d ({_DIMS[n][4:]}, got shape "
                     f"{tuple(x.shape)}")


def _check_fits(op, size, pads, kernel, dilation):
    padded = [s + lo + hi for s, (lo, hi) in zip(size, pads)]
    eff = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(e > p for e, p in zip(eff, padded)):
        dil = "" if all(d == 1 for d in dilation) else f" (dilated to {shape_str(eff)})"
        raise ShapeError(f"{op}: kernel {shape_str(kernel)}{dil} is larger than the padded input {shape_str(padded)} "
                         f"(input {shape_str(size)}, padding {[tuple(p) for p in pads]})")


def _conv(n, x, weight, bias, stride, padding, dilation, groups):
    op = f"conv{n}d"
    x, squeeze = batched(x, n, op)
    if not isinstance(weight, Tensor) or weight.ndim != n + 2:
        raise ShapeError(f"{op}: expected a {n + 2}-d weight (out_channels, in_channels/groups, {_KDIMS[n]}), got "
                         f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    cout, cin_g = weight.shape[:2]
    c = x.shape[1]
    if cout % groups:
        raise ValueError(f"{op}: groups={groups} must divide out_channels={cout} (weight {tuple(weight.shape)})")
    if c != cin_g * groups:
        raise ShapeError(f"{op}: input {tuple(x.shape)} has {c} channels but weight {tuple(weight.shape)} expects "
                         f"{cin_g * groups} (in_channels/groups={cin_g} × groups={groups})")
    require_same_dtype(op, input=x, weight=weight, bias=bias if isinstance(bias, Tensor) else None)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, n, "stride", op)
    dilation = ntuple(dilation, n, "dilation", op)
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation):
        raise ValueError(f"{op}: stride and dilation must be positive, got stride={stride}, dilation={dilation}")
    size = tuple(x.shape[2:])
    pads = resolve_padding(padding, size, kernel, stride, dilation, op)
    _check_fits(op, size, pads, kernel, dilation)
    g = Geometry(size, kernel, stride, dilation, pads, groups)
    node = ConvNd(g)
    if bias is None:
        y = node(x, weight)
    else:
        if not isinstance(bias, Tensor) or tuple(bias.shape) != (cout,):
            raise ShapeError(f"{op}: bias must have shape ({cout},) for weight {tuple(weight.shape)}, got "
                             f"{tuple(bias.shape) if isinstance(bias, Tensor) else type(bias).__name__}")
        y = node(x, weight, bias)
    return y.squeeze(0) if squeeze else y


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """out(N_i, C_out_j, l) = bias(C_out_j) + Σ_k Σ_m weight(C_out_j, k, m) · input(N_i, k, stride·l + dilation·m).

    A 1-d cross-correlation over (N, C_in, L) (or unbatched (C_in, L)) with a weight (C_out, C_in/groups, kL).
    ``padding``: int, tuple, 'valid', 'same' (any stride: out = ⌈L/stride⌉) or 'full'. See :func:`conv2d`.
    """
    return _conv(1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """out(N_i, C_out_j) = bias(C_out_j) + Σ_k weight(C_out_j, k) ⋆ input(N_i, k), ⋆ the 2-d cross-correlation.

    Args:
        input: (N, C_in, H, W), or unbatched (C_in, H, W).
        weight: (C_out, C_in/groups, kH, kW); with ``groups`` > 1 each group of C_in/groups input channels
            feeds its own C_out/groups outputs (groups = C_in: depthwise).
        bias: (C_out,) or None.
        stride, dilation: int or (sH, sW).
        padding: int or (pH, pW) zeros on both sides; 'valid' (none); 'same' — out = ⌈in/stride⌉ for *any*
            stride, the odd pixel of padding going to the bottom/right (TensorFlow's rule; PyTorch allows 'same'
            only with stride 1, where both agree); 'full' — dilation·(k−1) on each side.

    Shape: H_out = ⌊(H + pad_top + pad_bottom − dilation·(kH − 1) − 1)/stride⌋ + 1 (see :func:`conv_output_size`).

    >>> import deepgrad as dg
    >>> from deepgrad.ops.conv import conv2d
    >>> conv2d(dg.ones(1, 1, 4, 4), dg.ones(1, 1, 3, 3), padding=1)[0, 0, 0]
    tensor([4., 6., 6., 4.])
    """
    return _conv(2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """out(N_i, C_out_j) = bias(C_out_j) + Σ_k weight(C_out_j, k) ⋆ input(N_i, k) over (D, H, W). See :func:`conv2d`."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(n, x, weight, bias, stride, padding, output_padding, groups, dilation, output_size=None):
    op = f"conv_transpose{n}d"
    x, squeeze = batched(x, n, op)
    if not isinstance(weight, Tensor) or weight.ndim != n + 2:
        raise ShapeError(f"{op}: expected a {n + 2}-d weight (in_channels, out_channels/groups, {_KDIMS[n]}), got "
                         f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    cin, cout_g = weight.shape[:2]
    if cin % groups:
        raise ValueError(f"{op}: groups={groups} must divide in_channels={cin} (weight {tuple(weight.shape)})")
    if x.shape[1] != cin:
        raise ShapeError(f"{op}: input {tuple(x.shape)} has {x.shape[1]} channels but weight {tuple(weight.shape)} "
                         f"expects {cin}")
    require_same_dtype(op, input=x, weight=weight, bias=bias if isinstance(bias, Tensor) else None)
    kernel = tuple(weight.shape[2:])
    stride = ntuple(stride, n, "stride", op)
    dilation = ntuple(dilation, n, "dilation", op)
    pad = ntuple(padding, n, "padding", op)
    if any(s < 1 for s in stride) or any(d < 1 for d in dilation) or any(p < 0 for p in pad):
        raise ValueError(f"{op}: stride and dilation must be positive and padding non-negative, got stride={stride}, "
                         f"dilation={dilation}, padding={pad}")
    o = tuple(x.shape[2:])
    base = tuple(conv_transpose_output_size(s, k, st, p, 0, d) for s, k, st, p, d in zip(o, kernel, stride, pad, dilation))
    if output_size is not None:
        want = tuple(output_size)[-n:]
        opad = tuple(w - b for w, b in zip(want, base))
    else:
        opad = ntuple(output_padding, n, "output_padding", op)
    for p, s, d in zip(opad, stride, dilation):
        if p < 0 or (p >= s and p >= d):
            raise ValueError(f"{op}: output_padding {opad} must be smaller than stride {stride} or dilation "
                             f"{dilation} (and non-negative)")
    size = tuple(b + p for b, p in zip(base, opad))
    if any(s < 1 for s in size):
        raise ShapeError(f"{op}: input {tuple(x.shape)} with kernel {shape_str(kernel)}, stride {stride} and padding {pad} "
                         f"gives an empty output {size}")
    g = Geometry(size, kernel, stride, dilation, [(p, p) for p in pad], groups, out=o)
    y = ConvInputGrad(g, (x.shape[0], cout_g * groups, *size))(x, weight)
    if bias is not None:
        if tuple(bias.shape) != (cout_g * groups,):
            raise ShapeError(f"{op}: bias must have shape ({cout_g * groups},), got {tuple(bias.shape)}")
        y = y + bias.reshape((cout_g * groups,) + (1,) * n)
    return y.squeeze(0) if squeeze else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The adjoint of :func:`conv1d` in its input ("deconvolution"); see :func:`conv_transpose2d`."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """out(N_i, C_out_j, p) = bias(C_out_j) + Σ_k Σ_{p = stride·q + dilation·m − padding} weight(k, C_out_j, m)·input(N_i, k, q).

    The transposed convolution ("deconvolution"): each input pixel scatters a weighted copy of the kernel into the
    output, at ``stride`` spacing — the gradient of :func:`conv2d` w.r.t. its input. ``weight`` is
    (C_in, C_out/groups, kH, kW) as in PyTorch. H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) +
    output_padding + 1; ``output_padding`` (< stride or < dilation) picks among the input sizes that a strided
    convolution maps to the same output size.
    """
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The adjoint of :func:`conv3d` in its input ("deconvolution"); see :func:`conv_transpose2d`."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups, dilation)


# ------------------------------------------------------------------------------------------------ signal view
def _filter2d(op, x, kernel, mode, flip):
    if not isinstance(kernel, Tensor):
        from ..tensor import tensor

        kernel = tensor(kernel, dtype=x.dtype, device=x.device)
    if kernel.ndim != 2:
        raise ShapeError(f"{op}: expected a 2-d kernel (kH, kW), got shape {tuple(kernel.shape)}")
    if x.ndim not in (2, 3, 4):
        raise ShapeError(f"{op}: expected an image (H, W), a batch (N, H, W) or (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"{op}: mode must be 'valid', 'same' or 'full', got {mode!r}")
    if kernel.dtype != x.dtype:
        kernel = kernel.to(x.dtype)
    if flip:
        kernel = kernel.flip((0, 1))
    shape = tuple(x.shape)
    flat = x.reshape((-1, 1) + shape[-2:])
    padding = mode
    if mode == "same":
        # the output is the centre of the 'full' one, as in SciPy (an even kernel's odd pixel: see the tests)
        padding = [((k - 1) - (k - 1) // 2, (k - 1) // 2) if flip else ((k - 1) // 2, (k - 1) - (k - 1) // 2)
                   for k in kernel.shape]
    y = conv2d(flat, kernel.reshape((1, 1) + tuple(kernel.shape)), padding=padding)
    return y.reshape(shape[:-2] + tuple(y.shape[-2:]))


def correlate2d(input: Tensor, kernel, mode: str = "valid") -> Tensor:
    """g(i, j) = Σ_{k,l} f(i + k, j + l) · h(k, l) — cross-correlation, what CNN layers compute.

    ``input`` is one image (H, W) or a batch (N, H, W) / (N, C, H, W) (each channel filtered alike); ``kernel`` is
    (kH, kW) (a Tensor, an array or nested lists). ``mode`` as in SciPy: 'valid' (only full overlaps), 'same'
    (output the size of the input, kernel centred) or 'full' (every partial overlap).
    """
    return _filter2d("correlate2d", input, kernel, mode, flip=False)


def convolve2d(input: Tensor, kernel, mode: str = "valid") -> Tensor:
    """g(i, j) = Σ_{k,l} f(i − k, j − l) · h(k, l) — true convolution: correlation with the kernel flipped in both axes.

    Commutative and associative (blurring twice = blurring once with the convolved kernel), unlike correlation;
    for symmetric kernels (box, Gaussian, Laplacian) the two agree. Arguments as :func:`correlate2d`.
    """
    return _filter2d("convolve2d", input, kernel, mode, flip=True)
