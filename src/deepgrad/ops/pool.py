"""Pooling, unpooling, resampling and channel-wise normalisation / dropout, in 1, 2 and 3 dimensions.

Pools reuse the sliding-window view of :mod:`deepgrad.ops.conv` (``as_strided``, no copy). Their backward passes
scatter with one strided slice-add per kernel offset (no ``add.at``), and each scatter's backward is the matching
gather, so second derivatives are exact. Adaptive average pooling and linear interpolation are separable linear
maps: one small (out × in) matrix per spatial dim, applied with matmul.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
from ..parallel import parallel_for
from ..tensor import Tensor
from ._util import ShapeError
from .conv import Geometry, _batched, _blocks, _fmt, ntuple, pad_array, window_view

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "interpolate", "local_response_norm", "dropout2d", "dropout3d", "pool_output_size"]


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
        raise ShapeError(f"{op}: kernel {_fmt(kernel)} (padding {pad}, dilation {dil}) does not fit the input "
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


_POOL_BLOCK_BYTES = 1 << 18  # input bytes per block of samples: a block and its gradient stay in L2 (measured best)


def _sample_blocks(x) -> list:
    """The batch of ``x`` cut into blocks of about _POOL_BLOCK_BYTES (one block on a GPU)."""
    return _blocks(x, x.shape[0], x[:1].nbytes, _POOL_BLOCK_BYTES)


def _winners(xpad, best, offsets):
    """For each kernel offset in order, where it holds its window's maximum and no earlier offset did (first
    winner on ties), as a bool array shaped like ``best``; each mask is valid until the next one is asked for."""
    xp = array_module(best)
    taken = None
    for sl in offsets:
        won = xpad[sl] == best
        if taken is None:
            taken = won  # updated in place below, once the first mask has been used
        else:
            xp.greater(won, taken, out=won)  # won and not taken before (bools: a > b is a and not b)
            taken |= won
        yield won


class MaxPool(Function):
    """out(n, c, o) = max over window o of x; ``self.arg`` says which kernel offset won (the first one on ties)."""

    saves_inputs = (0,)  # the winners are found from x when they are first needed

    def __init__(self, g: Geometry):
        self.g = g
        self._arg = None

    def forward(self, x):
        # a running maximum over the kernel offsets: Πk strided elementwise passes, no window copy, no argmax
        xp = array_module(x)
        xpad = pad_array(x, self.g.pads, _low_value(x.dtype))
        best = xp.empty(x.shape[:2] + self.g.out, dtype=x.dtype)
        offsets = [(slice(None), slice(None)) + sl for _, sl in self.g.offsets()]
        blocks = _sample_blocks(x)

        def block(i):
            xb, out = xpad[blocks[i]], best[blocks[i]]
            if len(offsets) == 1:
                out[...] = xb[offsets[0]]
            else:
                xp.maximum(xb[offsets[0]], xb[offsets[1]], out=out)
            for sl in offsets[2:]:
                xp.maximum(out, xb[sl], out=out)

        parallel_for(len(blocks), block)
        self._xpad, self._best = xpad, best
        return best

    @property
    def arg(self):
        """Per output, the index of the first kernel offset holding the maximum (int8 when Πk < 128)."""
        if self._arg is None:
            xp = array_module(self._best)
            offsets = [(slice(None), slice(None)) + sl for _, sl in self.g.offsets()]
            dtype = np.int8 if len(offsets) < 128 else np.int64
            arg = xp.zeros(self._best.shape, dtype=dtype)
            for i, won in enumerate(_winners(self._xpad, self._best, offsets)):
                if i:
                    arg += won.astype(dtype) * dtype(i)  # bool masks and products: much faster than where()
            self._arg = arg
        return self._arg

    def backward(self, grad):
        if grad_mode.state.enabled:  # create_graph: a scatter whose own backward is the matching gather
            return (WindowScatter(self.g, self.arg)(grad),)
        return (Tensor._wrap(self._scatter_to_winners(grad._data)),)

    def _scatter_to_winners(self, g):
        """The input gradient without building ``arg``: per kernel offset, the outputs it won (first winner on ties)
        take their gradient, block by block."""
        xp = array_module(g)
        xpad, best, geo = self._xpad, self._best, self.g
        overlapping = geo.overlapping()
        tiles = not overlapping and not any(lo or hi for lo, hi in geo.pads) and all(
            k == st and d == 1 and o * st == s for k, st, d, o, s in zip(geo.kernel, geo.stride, geo.dilation, geo.out,
                                                                          geo.size))
        acc = (xp.empty if tiles else xp.zeros)(xpad.shape, dtype=g.dtype)  # tiled windows write every input once
        offsets = [(slice(None), slice(None)) + sl for _, sl in geo.offsets()]
        blocks = _sample_blocks(xpad)  # sized by the input, which the block reads and writes

        def block(i):
            s = blocks[i]
            gb, ab = g[s], acc[s]
            for sl, won in zip(offsets, _winners(xpad[s], best[s], offsets)):
                if overlapping:
                    ab[sl] += gb * won
                else:
                    xp.multiply(gb, won, out=ab[sl])

        parallel_for(len(blocks), block)
        return _crop(acc, geo)


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
    x, squeeze = _batched(x, n, op)
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
    x, squeeze = _batched(x, n, op)
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


def _along_dims(x: Tensor, mats) -> Tensor:
    """Apply one (out_d × in_d) matrix along each spatial dim d of (N, C, *spatial)."""
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
    x, squeeze = _batched(x, n, op)
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
    y = _along_dims(x, mats)
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
    x, squeeze = _batched(x, n, op)
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
    x, squeeze = _batched(x, n, op)
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


# ------------------------------------------------------------------------------------------------ interpolation
_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _linear_matrix(s: int, o: int, scale: float, align_corners: bool):
    """The (o × s) matrix of 1-d linear interpolation, PyTorch's source-coordinate rule."""
    dst = np.arange(o, dtype=np.float64)
    if align_corners:
        src = dst * ((s - 1) / (o - 1) if o > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), s - 1)
    i1 = np.minimum(i0 + 1, s - 1)
    w1 = src - i0
    m = np.zeros((o, s))
    rows = np.arange(o)
    m[rows, i0] += 1.0 - w1  # two statements: i0 == i1 at the last pixel must add up, not overwrite
    m[rows, i1] += w1
    return m


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None
                ) -> Tensor:
    """Resample (N, C, *spatial) to ``size`` or ``scale_factor`` × the input size.

    * 'nearest': out(o) = in(min(⌊o·scale⌋, in − 1)), scale = in/out (1/scale_factor when given);
    * 'linear' / 'bilinear' / 'trilinear' (3-, 4-, 5-d input): out(o) = (1 − λ)·in(i₀) + λ·in(i₀ + 1) per dim with
      source coordinate src = o·(in − 1)/(out − 1) when ``align_corners`` (the corner pixels' centres line up) or
      src = max((o + ½)·scale − ½, 0) when not (the corners' edges line up; the default), i₀ = ⌊src⌋, λ = src − i₀;
    * 'area': adaptive average pooling to the output size.
    """
    op = "interpolate"
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ShapeError(f"{op}: expected an (N, C, *spatial) input with 1 to 3 spatial dims, got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    n = input.ndim - 2
    if mode in _LINEAR and _LINEAR[mode] != n:
        raise ShapeError(f"{op}: mode {mode!r} expects a {_LINEAR[mode] + 2}-d input, got shape {tuple(input.shape)}")
    if mode not in ("nearest", "area") and mode not in _LINEAR:
        raise ValueError(f"{op}: mode must be 'nearest', 'linear', 'bilinear', 'trilinear' or 'area', got {mode!r}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(f"{op}: align_corners applies only to the linear modes, not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    in_size = tuple(input.shape[2:])
    if size is not None:
        out = ntuple(size, n, "size", op)
        scales = [s / o for s, o in zip(in_size, out)]
    else:
        factors = (scale_factor,) * n if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        if len(factors) != n or min(factors) <= 0:
            raise ValueError(f"{op}: scale_factor must be positive, one value or {n}, got {scale_factor!r}")
        out = tuple(int(math.floor(s * f)) for s, f in zip(in_size, factors))
        scales = [1.0 / f for f in factors]
    if min(out) < 1:
        raise ValueError(f"{op}: the output size {out} must be positive")
    if mode == "area":
        return _adaptive_avg(n, input, out)
    if mode == "nearest":
        x = input
        for d, (s, o, sc) in enumerate(zip(in_size, out, scales)):
            src = np.minimum(np.floor(np.arange(o) * sc).astype(np.int64), s - 1)
            if o % s == 0 and np.array_equal(src, np.arange(o) // (o // s)):
                # a whole-number upscale: repeat each element (the gradient is a plain sum, no scatter)
                axis = 2 + d
                shape = tuple(x.shape)
                x = x.unsqueeze(axis + 1).expand(shape[:axis + 1] + (o // s,) + shape[axis + 1:])
                x = x.reshape(shape[:axis] + (o,) + shape[axis + 1:])
            elif o != s or not np.array_equal(src, np.arange(o)):
                x = x.index_select(2 + d, Tensor._wrap(array_module(x._data).asarray(src)))
        return x
    mats = [None if s == o and (align_corners or sc == 1.0) else _linear_matrix(s, o, sc, bool(align_corners))
            for s, o, sc in zip(in_size, out, scales)]
    return _along_dims(input, mats)


# ------------------------------------------------------------------------------------------------ channel ops
def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """b(N_i, c) = a(N_i, c) / (k + α/n · Σ_{c'=c−⌊n/2⌋}^{c+⌈n/2⌉−1} a(N_i, c')²)^β, n = ``size`` (AlexNet's LRN).

    The sum runs over ``size`` neighbouring channels (zero beyond the edges), at every position; input (N, C, ...).
    """
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected an (N, C, *spatial) input, got shape "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    shape = tuple(input.shape)
    sq = (input * input).reshape((shape[0], 1, shape[1], -1))
    g = Geometry((shape[1], sq.shape[3]), (size, 1), (1, 1), (1, 1), [(size // 2, (size - 1) // 2), (0, 0)])
    div = (WindowSum(g)(sq) * (alpha / size) + k) ** beta
    return input / div.reshape(shape)


def _dropout_channels(op, n, x, p, training):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability must be in [0, 1], got {p}")
    _batched(x, n, op)  # the same input check as the other spatial ops
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    xp = array_module(x._data)
    lead = x.shape[:x.ndim - n]
    rng = backend.default_generator.module_rng(xp, x.device)
    keep = rng.random(lead) >= p
    mask = (keep / (1.0 - p)).astype(x.dtype).reshape(lead + (1,) * n)
    return x * Tensor._wrap(mask)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """out(N_i, C_j) = input(N_i, C_j) · m(N_i, C_j) / (1 − p), m ~ Bernoulli(1 − p): whole channels are zeroed.

    Inverted dropout (no rescaling at evaluation); input (N, C, H, W) or (C, H, W); draws from deepgrad's default
    generator, so :func:`deepgrad.manual_seed` makes it reproducible.
    """
    return _dropout_channels("dropout2d", 2, input, p, training)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Channel dropout for (N, C, D, H, W) inputs. See :func:`dropout2d`."""
    return _dropout_channels("dropout3d", 3, input, p, training)
