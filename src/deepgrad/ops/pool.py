"""Pooling and unpooling in 1, 2 and 3 dimensions: max, average, adaptive, and max unpooling.

A pool reduces each window of a sliding-window :class:`~deepgrad.ops.conv.Geometry`: the reference gathers the
windows as a strided view of the padded input (no copy) and reduces over the kernel axes. Backward passes scatter
with one strided slice-add per kernel offset (no ``add.at``), and each scatter's backward is the matching gather, so
second derivatives are exact. Max pooling's gradient goes to each window's first maximum. Its forward and backward
run on the tuned kernels of :mod:`deepgrad.ops.cpu_kernels` (a running maximum block by block, a fused backward)
unless ``deepgrad.backends.cpu.fast_kernels`` is False. Adaptive average pooling is a separable linear map: one small
(out × in) matrix per spatial dim, applied with matmul (:func:`along_spatial_dims`).
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
from ..backends import cpu as _cpu
from ..tensor import Tensor
from . import cpu_kernels as K
from ._util import ShapeError
from .conv import Geometry, batched, ntuple, shape_str
from .cpu_kernels import pad_array, window_view

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "pool_output_size"]


def pool_output_size(size: int, kernel: int, stride: int, padding: int = 0, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """⌊ or ⌈(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌉ + 1, as PyTorch: with ``ceil_mode`` the last
    window must still start inside the input or its left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _geometry(op, n, x, kernel_size, stride, padding, dilation, ceil_mode) -> Geometry:
    kernel = ntuple(kernel_size, n, "kernel_size", op)
    stride = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        ntuple(stride, n, "stride", op)
    pad = ntuple(padding, n, "padding", op)
    dil = ntuple(dilation, n, "dilation", op)
    if min(kernel) < 1 or min(stride) < 1 or min(dil) < 1 or min(pad) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding non-negative, got "
                         f"kernel_size={kernel}, stride={stride}, dilation={dil}, padding={pad}")
    if any(2 * p > d * (k - 1) + 1 for p, k, d in zip(pad, kernel, dil)):
        raise ValueError(f"{op}: padding {pad} must be at most half the (dilated) kernel size {kernel}")
    size = tuple(x.shape[2:])
    out = tuple(pool_output_size(s, k, st, p, d, ceil_mode) for s, k, st, p, d in zip(size, kernel, stride, pad, dil))
    if min(out) < 1:
        raise ShapeError(f"{op}: kernel {shape_str(kernel)} (padding {pad}, dilation {dil}) does not fit the input "
                         f"{tuple(x.shape)}: output size would be {out}")
    # ceil_mode's last window may run past the padding: pad the high side a little more (it never wins a max and
    # is left out of an average's divisor)
    pads = [(p, max((o - 1) * st + d * (k - 1) + 1 - s - p, p))
            for s, k, st, p, d, o in zip(size, kernel, stride, pad, dil, out)]
    return Geometry(size, kernel, stride, dil, pads, out=out)


# ------------------------------------------------------------------------------------------------ window primitives
def _low_value(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


class WindowSum(Function):
    """out(n, c, o) = Σ_{k in window o} x(n, c, o·stride + k·dilation − pad), zero padding."""

    def __init__(self, g: Geometry):
        self.g = g

    def forward(self, x):
        n = len(self.g.kernel)
        return window_view(pad_array(x, self.g.pads), self.g, columns=False).sum(axis=tuple(range(-n, 0)))

    def backward(self, grad):
        return (WindowSpread(self.g)(grad),)


class WindowSpread(Function):
    """The adjoint of :class:`WindowSum`: every input position receives the sum of the outputs whose window covers it."""

    def __init__(self, g: Geometry):
        self.g = g

    def forward(self, grad):
        xp = array_module(grad)
        acc = xp.zeros(grad.shape[:2] + self.g.padded, dtype=grad.dtype)
        for _, sl in self.g.offsets():
            acc[(slice(None), slice(None)) + sl] += grad
        return _crop(acc, self.g)

    def backward(self, gg):
        return (WindowSum(self.g)(gg),)


def _crop(acc, g: Geometry):
    return acc[(slice(None), slice(None)) + g.inner]


class MaxPool(Function):
    """out(n, c, o) = max over window o of x; ``self.arg`` says which kernel offset won (the first one on ties).

    The reference gathers the windows (N, C, *out, Πk) and takes max and argmax over the last axis; the fast kernels
    keep a running maximum and find the winners only when the gradient needs them.
    """

    saves_inputs = (0,)

    def __init__(self, g: Geometry):
        self.g = g
        self._arg = self._xpad = self._best = None

    def forward(self, x):
        g = self.g
        if _cpu.fast_kernels:
            self._best, self._xpad = K.max_pool_forward(x, g)
            return self._best
        windows = window_view(pad_array(x, g.pads, _low_value(x.dtype)), g, columns=False)
        windows = windows.reshape(x.shape[:2] + g.out + (-1,))  # (N, C, *out, Πk), kernel offsets in C order
        self._arg = windows.argmax(axis=-1)  # argmax picks the first maximum
        return windows.max(axis=-1)

    @property
    def arg(self):
        """Per output, the index of the first kernel offset holding the maximum."""
        if self._arg is None:
            self._arg = K.max_pool_winner_index(self._xpad, self._best, self.g)
        return self._arg

    def backward(self, grad):
        if grad_mode.state.enabled or self._xpad is None:  # create_graph, or the reference: scatter to the winners
            return (WindowScatter(self.g, self.arg)(grad),)
        return (Tensor._wrap(K.max_pool_backward(grad._data, self._xpad, self._best, self.g)),)


class WindowScatter(Function):
    """Each output gradient goes to the input position that won its window (summed where windows overlap)."""

    def __init__(self, g: Geometry, arg):
        self.g, self.arg = g, arg

    def forward(self, grad):
        xp = array_module(grad)
        acc = xp.zeros(grad.shape[:2] + self.g.padded, dtype=grad.dtype)
        lead = (slice(None), slice(None))
        overlapping = self.g.overlapping()
        for i, (_, sl) in enumerate(self.g.offsets()):
            if overlapping:
                acc[lead + sl] += grad * (self.arg == i)
            else:  # each input position is in at most one window: assign, nothing to add up
                xp.multiply(grad, self.arg == i, out=acc[lead + sl])
        return _crop(acc, self.g)

    def backward(self, gg):
        return (WindowSelect(self.g, self.arg)(gg),)


class WindowSelect(Function):
    """x at the positions a :class:`MaxPool` chose (the adjoint of :class:`WindowScatter`)."""

    def __init__(self, g: Geometry, arg):
        self.g, self.arg = g, arg

    def forward(self, x):
        xp = array_module(x)
        xpad = pad_array(x, self.g.pads)
        out = xp.zeros(self.arg.shape, dtype=x.dtype)
        for i, (_, sl) in enumerate(self.g.offsets()):
            xp.copyto(out, xpad[(slice(None), slice(None)) + sl], where=self.arg == i)
        return out

    def backward(self, grad):
        return (WindowScatter(self.g, self.arg)(grad),)


def _flat_indices(arg, g: Geometry):
    """PyTorch's return_indices: the winner's position in the flattened (unpadded) spatial dims of its (n, c) plane."""
    xp = array_module(arg)
    ks = xp.unravel_index(arg, g.kernel)
    flat = xp.zeros(arg.shape, dtype=np.int64)
    nd = len(g.kernel)
    for i in range(nd):
        shape = [1] * arg.ndim
        shape[2 + i] = g.out[i]
        pos = xp.arange(g.out[i]).reshape(shape) * g.stride[i] + ks[i] * g.dilation[i] - g.pads[i][0]
        flat = flat * g.size[i] + pos
    return flat


# ------------------------------------------------------------------------------------------------ max / avg pooling
def _max_pool(n, x, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    op = f"max_pool{n}d"
    x, squeeze = batched(x, n, op)
    g = _geometry(op, n, x, kernel_size, stride, padding, dilation, ceil_mode)
    node = MaxPool(g)
    y = node(x)
    if squeeze:
        y = y.squeeze(0)
    if not return_indices:
        return y
    idx = Tensor._wrap(_flat_indices(node.arg, g))
    return y, (idx.squeeze(0) if squeeze else idx)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """out(N_i, C_j, l) = max_{m < k} input(N_i, C_j, stride·l + dilation·m − padding). See :func:`max_pool2d`."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """out(N_i, C_j, h, w) = max_{m < kH, n < kW} input(N_i, C_j, sH·h + dH·m − pH, sW·w + dW·n − pW).

    ``stride`` defaults to ``kernel_size``; ``padding`` (at most half the kernel) is −∞; ``ceil_mode`` rounds the
    output size up (H_out from :func:`pool_output_size`). With ``return_indices`` also returns, per output, the
    flat index h·W + w of the chosen input position in its (N_i, C_j) plane — what :func:`max_unpool2d` takes.
    The gradient flows only to each window's maximum (the first one on ties).
    """
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """out(N_i, C_j, d, h, w) = max over the (kD, kH, kW) window. See :func:`max_pool2d`."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _divisor(g: Geometry, include_pad: bool, xp, dtype):
    """1 / (the number of elements averaged) at each output position, broadcastable to (N, C, *out)."""
    inv = None
    for i, (s, k, st, (p, _), o) in enumerate(zip(g.size, g.kernel, g.stride, g.pads, g.out)):
        start = np.arange(o) * st - p
        end = np.minimum(start + k, s + p)
        count = (end - start) if include_pad else (np.minimum(end, s) - np.maximum(start, 0))
        shape = [1] * (len(g.out) + 2)
        shape[2 + i] = o
        c = (1.0 / count).reshape(shape)
        inv = c if inv is None else inv * c
    return Tensor._wrap(xp.asarray(inv.astype(dtype)))


def _avg_pool(n, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    op = f"avg_pool{n}d"
    x, squeeze = batched(x, n, op)
    g = _geometry(op, n, x, kernel_size, stride, padding, 1, ceil_mode)
    s = WindowSum(g)(x)
    if divisor_override:
        y = s * (1.0 / divisor_override)
    else:
        y = s * _divisor(g, count_include_pad, array_module(x._data), x.dtype)
    return y.squeeze(0) if squeeze else y


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """out(N_i, C_j, l) = 1/k · Σ_{m < k} input(N_i, C_j, stride·l + m − padding). See :func:`avg_pool2d`."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """out(N_i, C_j, h, w) = 1/(kH·kW) · Σ_{m, n} input(N_i, C_j, sH·h + m − pH, sW·w + n − pW).

    Zero padding; ``count_include_pad=False`` divides by the number of real (non-padding) elements instead; a
    ``ceil_mode`` window that runs past the padding never counts the overhang; ``divisor_override`` replaces
    the divisor.
    """
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """out(N_i, C_j, d, h, w) = the mean over the (kD, kH, kW) window. See :func:`avg_pool2d`."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


# ------------------------------------------------------------------------------------------------ adaptive pooling
def _bins(size: int, out: int):
    """PyTorch's adaptive bins: [⌊i·size/out⌋, ⌈(i+1)·size/out⌉) for i < out."""
    i = np.arange(out)
    return (i * size) // out, -((-(i + 1) * size) // out)


def along_spatial_dims(x: Tensor, mats) -> Tensor:
    """x ×_d M_d: apply one (out_d × in_d) matrix along each spatial dim d of (N, C, *spatial) (None: leave d)."""
    for d, m in enumerate(mats):
        if m is None:
            continue
        axis = 2 + d
        x = (x.movedim(axis, -1) @ Tensor._wrap(array_module(x._data).asarray(m.T.astype(x.dtype)))).movedim(-1, axis)
    return x


def _out_size(output_size, size, op):
    n = len(size)
    out = (output_size,) * n if isinstance(output_size, int) else tuple(output_size)
    if len(out) != n:
        raise ValueError(f"{op}: output_size must be an int or {n} values, got {output_size!r}")
    out = tuple(s if o is None else int(o) for o, s in zip(out, size))
    if min(out) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return out


def _adaptive_avg(n, x, output_size):
    op = f"adaptive_avg_pool{n}d"
    x, squeeze = batched(x, n, op)
    size = tuple(x.shape[2:])
    out = _out_size(output_size, size, op)
    mats = []
    for s, o in zip(size, out):
        if s == o:
            mats.append(None)
            continue
        lo, hi = _bins(s, o)
        pos = np.arange(s)
        m = ((pos >= lo[:, None]) & (pos < hi[:, None])) / (hi - lo)[:, None]
        mats.append(m)
    y = along_spatial_dims(x, mats)
    return y.squeeze(0) if squeeze else y


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """out(N_i, C_j, l) = mean of input over the bin [⌊l·L/L_out⌋, ⌈(l+1)·L/L_out⌉). See :func:`adaptive_avg_pool2d`."""
    return _adaptive_avg(1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """out(N_i, C_j, h, w) = mean of input over rows [⌊h·H/H_out⌋, ⌈(h+1)·H/H_out⌉) × the same for columns.

    The output has the requested size whatever the input's (``None`` keeps a dim); ``output_size=1`` is global
    average pooling. Bins may overlap by one pixel when the sizes do not divide.
    """
    return _adaptive_avg(2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """out = mean of input over each adaptive (D, H, W) bin. See :func:`adaptive_avg_pool2d`."""
    return _adaptive_avg(3, input, output_size)


def _adaptive_max(n, x, output_size, return_indices):
    from .index import gather

    op = f"adaptive_max_pool{n}d"
    x, squeeze = batched(x, n, op)
    size = tuple(x.shape[2:])
    out = _out_size(output_size, size, op)
    if all(s % o == 0 for s, o in zip(size, out)):
        k = tuple(s // o for s, o in zip(size, out))
        res = _max_pool(n, x, k, k, 0, 1, False, return_indices)
    else:
        # irregular bins: each bin's flat input positions (short bins repeat their last one), then a gather
        cand = 0
        for d, (s, o) in enumerate(zip(size, out)):
            lo, hi = _bins(s, o)
            pos = np.minimum(lo[:, None] + np.arange(int((hi - lo).max())), hi[:, None] - 1)
            shape = [1] * (2 * n)
            shape[d], shape[n + d] = pos.shape
            cand = cand + pos.reshape(shape) * math.prod(size[d + 1:])
        xp = array_module(x._data)
        cand = xp.asarray(cand.reshape(math.prod(out), -1))
        vals = x._data.reshape(x.shape[:2] + (-1,))[..., cand]  # (N, C, Πout, bin)
        win = cand[xp.arange(cand.shape[0]), vals.argmax(axis=-1)]
        y = gather(x.reshape(x.shape[:2] + (-1,)), 2, Tensor._wrap(win)).reshape(x.shape[:2] + out)
        res = (y, Tensor._wrap(win.reshape(x.shape[:2] + out))) if return_indices else y
    if squeeze:
        return tuple(r.squeeze(0) for r in res) if return_indices else res.squeeze(0)
    return res


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """out(N_i, C_j, l) = max of input over the adaptive bin of l. See :func:`adaptive_max_pool2d`."""
    return _adaptive_max(1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """out(N_i, C_j, h, w) = max of input over the adaptive bin of (h, w) (bins as :func:`adaptive_avg_pool2d`).

    ``output_size=1`` is global max pooling; ``return_indices`` gives flat indices as :func:`max_pool2d`.
    """
    return _adaptive_max(2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """out = max of input over each adaptive (D, H, W) bin. See :func:`adaptive_max_pool2d`."""
    return _adaptive_max(3, input, output_size, return_indices)


# ------------------------------------------------------------------------------------------------ unpooling
class FlatPut(Function):
    """Zeros of (N, C, size) with x(n, c, i) written at index(n, c, i) — indices are distinct, as max pooling makes
    them for non-overlapping windows (a repeated index keeps one of its values, as in PyTorch)."""

    def __init__(self, idx, size: int):
        self.idx, self.size = idx, size

    def forward(self, x):
        xp = array_module(x)
        out = xp.zeros(x.shape[:2] + (self.size,), dtype=x.dtype)
        xp.put_along_axis(out, self.idx, x, axis=2)
        return out

    def backward(self, grad):
        from .index import gather

        return (gather(grad, 2, Tensor._wrap(self.idx)),)


def _max_unpool(n, x, indices, kernel_size, stride, padding, output_size):
    op = f"max_unpool{n}d"
    x, squeeze = batched(x, n, op)
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer Tensor (from max_pool{n}d(..., return_indices=True))")
    idx = indices.unsqueeze(0) if squeeze else indices
    if tuple(idx.shape) != tuple(x.shape):
        raise ShapeError(f"{op}: indices {tuple(indices.shape)} must have the input's shape {tuple(x.shape)}")
    kernel = ntuple(kernel_size, n, "kernel_size", op)
    stride = kernel if stride is None else ntuple(stride, n, "stride", op)
    pad = ntuple(padding, n, "padding", op)
    default = tuple((s - 1) * st - 2 * p + k for s, st, p, k in zip(x.shape[2:], stride, pad, kernel))
    size = default if output_size is None else tuple(int(s) for s in tuple(output_size)[-n:])
    total = math.prod(size)
    if idx.numel() and (int(idx._data.min()) < 0 or int(idx._data.max()) >= total):
        raise IndexError(f"{op}: indices range over {int(idx._data.min())}..{int(idx._data.max())} but the output "
                         f"{size} has {total} positions; pass output_size= the pooled input's size")
    flat = FlatPut(idx._data.reshape(x.shape[:2] + (-1,)), total)(x.reshape(x.shape[:2] + (-1,)))
    y = flat.reshape(x.shape[:2] + size)
    return y.squeeze(0) if squeeze else y


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool1d`. See :func:`max_unpool2d`."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """out(N_i, C_j, indices(N_i, C_j, h, w)) = input(N_i, C_j, h, w), zero elsewhere: the partial inverse of max pooling.

    ``indices`` come from ``max_pool2d(..., return_indices=True)``; the output is (H − 1)·stride − 2·padding +
    kernel_size high (and wide), or ``output_size`` (needed when the pooled input's size was not a multiple).
    """
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool3d`. See :func:`max_unpool2d`."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size)
