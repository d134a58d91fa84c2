"""Convolution (cross-correlation, as in every deep-learning framework) and its transpose, in 1, 2 and 3 dimensions.

One N-d implementation serves every case. The batch is cut into blocks of samples whose column buffers fit in
cache; for each block the input is zero-padded, viewed as sliding windows (no copy), copied once into channel-major
columns (im2col) and multiplied by the weight in one GEMM per group. Blocks run in parallel on the CPU threads of
``deepgrad.parallel`` (one block spans the batch on a GPU). The backward pass is a pair of Functions that are each
other's adjoints, so double backward is exact:

* ``ConvNd(x, w, b) = y`` (the bias is added per block; its gradient sums g over all dims but C_out);
* ``ConvInputGrad(g, w)`` = the gradient w.r.t. x = the *transposed* convolution: with stride 1 one GEMM against
  the gradient's row columns and a slice-add per outer kernel offset (:class:`_RowPlan`); otherwise a GEMM to
  columns, then col2im, one strided slice-add per kernel offset (no ``add.at``);
* ``ConvWeightGrad(x, g)`` = the gradient w.r.t. w: per block, g times the columns of x, summed in block order.

Each one's backward is written with the other two. A plain ``backward()`` computes both gradients of ``ConvNd`` in one
pass over the blocks, rebuilding each block's columns rather than keeping the forward's: a convolution never holds
more than one block of columns per thread.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
from ..parallel import parallel_for
from ..tensor import Tensor
from ._util import ShapeError

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


def _fmt(shape) -> str:
    return "x".join(str(s) for s in shape)


class Geometry:
    """Where the windows of an N-d sliding-window op lie: spatial ``size``, ``kernel``, ``stride``, ``dilation``,
    ``pads`` ((lo, hi) per spatial dim) and ``groups``; ``out`` is the output's spatial shape."""

    __slots__ = ("size", "kernel", "stride", "dilation", "pads", "groups", "out", "padded", "inner", "_wide")

    def __init__(self, size, kernel, stride, dilation, pads, groups=1, out=None):
        self.size, self.kernel, self.stride, self.dilation = tuple(size), tuple(kernel), tuple(stride), tuple(dilation)
        self.pads, self.groups = tuple(tuple(p) for p in pads), groups
        self.out = tuple(out) if out is not None else tuple(
            conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(size, kernel, stride, pads, dilation))
        self.padded = tuple(s + lo + hi for s, (lo, hi) in zip(self.size, self.pads))
        self.inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(self.size, self.pads))  # the input inside the padding
        self._wide = None  # _wide_geometry's answer, once asked

    def offsets(self):
        """Every kernel offset, with the strided slice of the padded input that it meets."""
        for k in itertools.product(*(range(k) for k in self.kernel)):
            yield k, tuple(slice(ki * d, ki * d + s * (o - 1) + 1, s)
                           for ki, d, s, o in zip(k, self.dilation, self.stride, self.out))

    def overlapping(self) -> bool:
        return any(d * (k - 1) + 1 > s for k, s, d in zip(self.kernel, self.stride, self.dilation))


def pad_array(x, pads, value=0.0):
    """``x`` (N, C, *spatial) with ``pads`` ((lo, hi) per spatial dim) of ``value`` around the spatial dims."""
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = array_module(x)
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    out = xp.full(shape, value, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads))] = x
    return out


def strided_view(base, shape, strides):
    """A read-only view of ``base`` with the given shape and byte strides — through ndarray's constructor for a
    contiguous NumPy array (about 1 µs, a tenth of ``as_strided``, which adds up over many blocks)."""
    xp = array_module(base)
    if xp is not np:  # CuPy's as_strided has no read-only flag
        return xp.lib.stride_tricks.as_strided(base, shape=shape, strides=strides)
    if base.flags.c_contiguous:
        view = np.ndarray(shape, base.dtype, base, 0, strides)
        view.flags.writeable = False
        return view
    return np.lib.stride_tricks.as_strided(base, shape=shape, strides=strides, writeable=False)


def window_view(xpad, g: Geometry, columns: bool):
    """Sliding windows of a padded (N, C, *spatial) array as a strided view, without copying.

    ``columns``: shape (N, C, *kernel, *out) — the im2col layout; otherwise (N, C, *out, *kernel) for pooling.
    """
    sn, sc, *ss = xpad.strides
    kstr = tuple(s * d for s, d in zip(ss, g.dilation))
    ostr = tuple(s * st for s, st in zip(ss, g.stride))
    n, c = xpad.shape[:2]
    if columns:
        shape, strides = (n, c, *g.kernel, *g.out), (sn, sc, *kstr, *ostr)
    else:
        shape, strides = (n, c, *g.out, *g.kernel), (sn, sc, *ostr, *kstr)
    return strided_view(xpad, shape, strides)


# ------------------------------------------------------------------------------------------------ column blocks
# A convolution is computed block by block over the samples. For a block of B samples the columns (im2col) are a
# (C·Πk, B·M) matrix, channel-major: row (c, k) holds, sample after sample, the M input values that kernel offset k
# meets in channel c, so each row is copied from one channel's consecutive samples. One GEMM per block
# (block-diagonal over groups) gives the block's output as (C_out, B·M), and one transposing copy writes it into the
# (N, C_out, *o) result.
#
# Blocks are sized so that their columns stay in cache (about _BLOCK_BYTES): the copy that builds them and the GEMM
# that reads them then work in cache, not in main memory — for LeNet-sized layers that traffic, not the arithmetic,
# was the larger cost. The backward rebuilds each block's columns rather than keeping a column buffer for the whole
# batch, so a convolution never holds more than one block of columns per thread. Blocks run in parallel on the CPU
# (deepgrad.parallel); on a GPU one block spans the whole batch, for one large GEMM per pass.
_BLOCK_BYTES = 1 << 21


def _blocks(a, n: int, sample_bytes: int, block_bytes: int | None = None) -> list:
    """The batch cut into slices of about ``block_bytes`` (default _BLOCK_BYTES) of columns each (a single slice on
    a GPU); the cut depends on the shapes alone, never on the thread count, so results do not either."""
    if array_module(a) is not np:
        return [slice(0, n)]
    b = max(1, min(n, (block_bytes or _BLOCK_BYTES) // max(1, sample_bytes)))
    return [slice(s, min(s + b, n)) for s in range(0, n, b)]


# Stride-1 convolutions use "wide" columns. Flatten the padded input's spatial dims; an output position then reads,
# for each kernel offset, the flat input at (its own flat index + the offset's flat shift), so for one offset all
# outputs read ONE contiguous run — if the output grid is taken as wide as the padded input (o₁ × P₂ × … × P_k
# positions, the extra ones per row being junk that is cropped after the GEMM). Copying long runs instead of rows of
# o_k elements makes im2col several times faster for small images, for ≈ P_k/o_k more GEMM work (measured on LeNet's
# 5×5 layer on 14×14 maps, 40 % more GEMM work: still 20 % faster than exact columns built from rows of 10).
def is_wide(g: Geometry) -> bool:
    return all(st == 1 for st in g.stride)


def _wide_geometry(g: Geometry):
    """(flat shift of each kernel offset's step per dim, run length L, flat length needed) for wide columns."""
    if g._wide is None:
        p = g.padded
        step = [d * math.prod(p[i + 1:]) for i, d in enumerate(g.dilation)]
        run = g.out[0] * math.prod(p[1:])
        need = sum((k - 1) * st for k, st in zip(g.kernel, step)) + run
        g._wide = step, run, max(need, math.prod(p))
    return g._wide


def _grid(g: Geometry) -> tuple:
    """The output grid the GEMM computes: o, or for wide columns o₁ × P₂ × … × P_k (junk beyond o cropped)."""
    return (g.out[0], *g.padded[1:]) if is_wide(g) else g.out


def _valid(g: Geometry) -> tuple:
    """The index of the valid outputs in a (B, C, *grid) array of wide columns."""
    return (slice(None),) * 3 + tuple(slice(0, o) for o in g.out[1:])


def _wide_flat(x, g: Geometry, length: int):
    """x (A, B, *size) zero-padded by ``g.pads``, flattened to a contiguous (A, B, length) and zero-extended past its
    end, in one copy (none when x is contiguous and needs neither)."""
    xp = array_module(x)
    a, b = x.shape[:2]
    size = math.prod(g.padded)
    if length == size and not any(lo or hi for lo, hi in g.pads):
        return xp.ascontiguousarray(x).reshape(a, b, -1)
    flat = xp.zeros((a, b, length), dtype=x.dtype)
    flat[..., :size].reshape(a, b, *g.padded)[(slice(None), slice(None)) + g.inner] = x  # reshape of a last-axis slice: a view
    return flat


def _columns(x, g: Geometry):
    """im2col: the channel-major (C·Πk, B·M) columns of a block x (B, C, *size); M = Πo, or the wide run length."""
    xp = array_module(x)
    xt = x.swapaxes(0, 1)  # (C, B, ...): the one copy below transposes it on the way
    c, b = xt.shape[:2]
    if is_wide(g):
        step, run, length = _wide_geometry(g)
        flat = _wide_flat(xt, g, length)
        sc, sb, se = flat.strides
        view = strided_view(flat, (c, *g.kernel, b, run), (sc, *(se * s for s in step), sb, se))
    else:
        view = xp.moveaxis(window_view(pad_array(xt, g.pads), g, columns=True), 1, 1 + len(g.kernel))
    return xp.ascontiguousarray(view).reshape(c * math.prod(g.kernel), -1)


def _uncolumns(cols, g: Geometry, b: int, c: int):
    """col2im, the adjoint of :func:`_columns` for strided convolutions (stride 1 takes :class:`_RowPlan`): the
    (C·Πk, B·Πo) columns summed back into a (B, C, *size) view, one strided slice-add per kernel offset (no
    ``add.at``), each reading its columns in memory order."""
    xp = array_module(cols)
    lead = (slice(None), slice(None))
    cols = cols.reshape(c, *g.kernel, b, *g.out)
    acc = xp.zeros((c, b, *g.padded), dtype=cols.dtype)
    for k, sl in g.offsets():
        acc[lead + sl] += cols[(slice(None),) + k]
    return acc[lead + g.inner].swapaxes(0, 1)


def _output(y, g: Geometry, b: int):
    """A block's GEMM result (C_out, B·M) as a (B, C_out, *o) view, the junk of wide columns cropped."""
    grid = _grid(g)
    y = y.reshape(y.shape[0], b, *grid).swapaxes(0, 1)
    return y[_valid(g)] if grid != g.out else y


def _grad_columns(gy, g: Geometry):
    """The adjoint of :func:`_output`: a block's gradient (B, C_out, *o) as a contiguous (C_out, B·M) matrix, zero
    in the junk positions of wide columns."""
    xp = array_module(gy)
    gt = gy.swapaxes(0, 1)
    grid = _grid(g)
    if grid != g.out:
        wide = xp.zeros((*gt.shape[:2], *grid), dtype=gy.dtype)
        wide[_valid(g)] = gt
        gt = wide
    return xp.ascontiguousarray(gt).reshape(gt.shape[0], -1)


# GEMMs of 2-d operands go through ``dot`` rather than ``matmul``: NumPy's matmul holds the GIL around a transposed
# operand's BLAS call (measured: no speed-up at all from a second thread), dot releases it.
def _gemm(w, cols, groups: int):
    """(C_out, C_in/G·Πk) weight × (C_in·Πk, M) columns -> (C_out, M), block-diagonal over the groups."""
    cout = w.shape[0]
    w2 = w.reshape(cout, -1)
    if groups == 1:
        return array_module(cols).dot(w2, cols)
    k, m = cols.shape
    return (w2.reshape(groups, cout // groups, -1) @ cols.reshape(groups, k // groups, m)).reshape(cout, m)


def _gemm_t(w, gcols, groups: int, out=None):
    """The transposed GEMM: weightᵀ × (C_out, M) gradient columns -> (C_in·Πk, M) columns, written into ``out``
    (a spare column buffer of that shape and dtype) when one is given."""
    xp = array_module(gcols)
    cout = w.shape[0]
    w2 = w.reshape(cout, -1)
    m = gcols.shape[1]
    if out is not None and (out.shape != (w2.shape[1] * groups, m) or out.dtype != xp.result_type(w, gcols)):
        out = None
    if groups == 1:
        return xp.dot(w2.T, gcols, out=out)
    wt = w2.reshape(groups, cout // groups, -1).swapaxes(1, 2)
    cols = xp.matmul(wt, gcols.reshape(groups, cout // groups, m),
                     out=None if out is None else out.reshape(groups, -1, m))
    return cols.reshape(-1, m)


def _wgrad(gcols, cols, groups: int):
    """A block's weight gradient: (C_out, M) gradient × (C_in·Πk, M) columnsᵀ -> (C_out, C_in/G·Πk)."""
    cout, m = gcols.shape
    if groups == 1:
        return array_module(cols).dot(gcols, cols.T)
    k = cols.shape[0]
    return (gcols.reshape(groups, cout // groups, m) @ cols.reshape(groups, k // groups, m).swapaxes(1, 2)).reshape(
        cout, -1)


def _conv_forward(x, w, b, g: Geometry):
    """y = conv(x, w) + b as a contiguous (N, C_out, *o) array, block by block."""
    xp = array_module(x)
    n, c = x.shape[:2]
    y = xp.empty((n, w.shape[0], *g.out), dtype=xp.result_type(x, w))
    blocks = _blocks(x, n, c * math.prod(g.kernel) * math.prod(_grid(g)) * x.itemsize)

    def block(i):
        sl = blocks[i]
        yb = _gemm(w, _columns(x[sl], g), g.groups)
        if b is not None:
            yb += b[:, None]
        y[sl] = _output(yb, g, sl.stop - sl.start)

    parallel_for(len(blocks), block)
    return y


# With stride 1 the input gradient dx = Σ_k shift(wₖᵀ·g, off(k)) (col2im of wᵀ·g) is split by the kernel's last dim:
# for each offset k' of the other dims, U_k' = Σ_kl shift(w_{k',kl}ᵀ·g, kl·d) is one GEMM against the *row columns* of
# g (the gradient, shifted by each kl, C_out·kL rows), so only Πk' slice-adds remain instead of Πk (5 instead of 25
# for a 5×5 kernel, none for 1-d). The row columns are a kL/(C_in·Πk/C_out) fraction of the full columns' size.
class _RowPlan:
    """What the row-separable input gradient of a stride-1 Geometry needs: the (G, Πk'·C/G, C_out/G·kL) weight
    matrix, the row length run' = run + (kL − 1)·d, and the flat shifts of the outer kernel offsets k'."""

    def __init__(self, w, g: Geometry, c: int):
        xp = array_module(w)
        cout, groups = w.shape[0], g.groups
        step, self.run, self.length = _wide_geometry(g)
        self.kl, self.dl = g.kernel[-1], g.dilation[-1]
        self.ext = (self.kl - 1) * self.dl
        self.outer = [sum(k * s for k, s in zip(ko, step)) for ko in itertools.product(*(range(k) for k in g.kernel[:-1]))]
        # A[g, (k', c), (o, r)] = w[o, c, k', kL − 1 − r]: the last dim flipped, so row r of the row columns shifts by r·d
        a = w.reshape(groups, cout // groups, c // groups, len(self.outer), self.kl)[..., ::-1]
        self.a = xp.ascontiguousarray(a.transpose(0, 3, 2, 1, 4)).reshape(groups, len(self.outer) * c // groups, -1)
        self.c, self.cout, self.groups = c, cout, groups

    def sample_elements(self) -> int:
        """Elements per sample of the padded gradient, its row columns and U."""
        rows = self.run + self.ext
        return (self.cout * self.kl + self.c * len(self.outer)) * rows + self.cout * (self.run + 2 * self.ext)

    def input_grad(self, gcols, g: Geometry):
        """dx (B, C, *size), as a view, of a block's wide gradient columns (C_out, B·run) (:func:`_grad_columns`)."""
        xp = array_module(gcols)
        b, ext, rows = gcols.shape[1] // self.run, self.ext, self.run + self.ext
        gext = xp.zeros((self.cout, b, self.run + 2 * ext), dtype=gcols.dtype)  # ext zeros each side of every sample
        gext[..., ext:ext + self.run] = gcols.reshape(self.cout, b, self.run)
        so, sb, se = gext.strides
        r = strided_view(gext, (self.cout, self.kl, b, rows), (so, se * self.dl, sb, se))
        r = xp.ascontiguousarray(r).reshape(self.groups, -1, b * rows)
        u = xp.dot(self.a[0], r[0]) if self.groups == 1 else self.a @ r
        u = u.reshape(self.groups, len(self.outer), self.c // self.groups, b, rows)
        acc = xp.zeros((self.groups, self.c // self.groups, b, self.length), dtype=u.dtype)
        for i, off in enumerate(self.outer):
            acc[..., off:off + rows] += u[:, i]
        acc = acc.reshape(self.c, b, self.length)[..., :math.prod(g.padded)].reshape(self.c, b, *g.padded)
        return acc[(slice(None), slice(None)) + g.inner].swapaxes(0, 1)


def _conv_backward(x, w, gy, g: Geometry, x_shape, w_shape, need_x: bool, need_w: bool, need_b: bool = False):
    """(dx, dw, db), the gradients of y = conv(x, w) + b for the incoming gy (None where not asked for), in one pass
    over the blocks.

    Per block: the columns of x are rebuilt for dw = gy·colsᵀ, and db sums the block's gradient columns; dx is, with
    stride 1, the row-separable transposed GEMM (:class:`_RowPlan`), else wᵀ·gy written over the columns and summed
    back by col2im. The blocks' dw and db are summed in block order, the same for every thread count."""
    xp = array_module(gy)
    n, c = x_shape[:2]
    cout = gy.shape[1]
    rows = _RowPlan(w, g, c) if need_x and is_wide(g) else None
    m = math.prod(_grid(g))
    per = cout * m + (c * math.prod(g.kernel) * m if need_w or (need_x and rows is None) else 0)
    if rows is not None:
        per += rows.sample_elements()
    blocks = _blocks(gy, n, per * gy.itemsize)
    dx = xp.empty(x_shape, dtype=xp.result_type(gy, w)) if need_x else None
    parts_w, parts_b = [None] * len(blocks), [None] * len(blocks)

    def block(i):
        sl = blocks[i]
        cols = _columns(x[sl], g) if need_w else None
        gcols = _grad_columns(gy[sl], g)
        if need_w:
            parts_w[i] = _wgrad(gcols, cols, g.groups)
        if need_b:
            parts_b[i] = gcols.sum(axis=1)  # the junk of wide columns is zero
        if not need_x:
            return
        if rows is not None:
            dx[sl] = rows.input_grad(gcols, g)
            return
        if cols is not None and (not getattr(cols.flags, "writeable", True) or xp.may_share_memory(cols, x)):
            cols = None  # a 1×1 kernel's columns can be x itself: never write into them
        dx[sl] = _uncolumns(_gemm_t(w, gcols, g.groups, out=cols), g, sl.stop - sl.start, c)

    parallel_for(len(blocks), block)
    return dx, (_sum_in_order(parts_w).reshape(w_shape) if need_w else None), (
        _sum_in_order(parts_b) if need_b else None)


def _sum_in_order(parts):
    total = parts[0]
    for p in parts[1:]:
        total += p
    return total


class ConvNd(Function):
    """y = conv(x, w) + b: out(n, j) = b(j) + Σ_k w(j, k) ⋆ x(n, k) over the channels k of j's group."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry):
        self.g = g

    def forward(self, x, w, b=None):
        return _conv_forward(x, w, b, self.g)

    def backward(self, grad):
        x, w = self.inputs[:2]
        need_x, need_w = self.needs_input_grad[:2]
        need_b = len(self.inputs) > 2 and self.needs_input_grad[2]
        if grad_mode.state.enabled:  # create_graph: gradients that are themselves differentiable
            gx = ConvInputGrad(self.g, x.shape)(grad, w) if need_x else None
            gw = ConvWeightGrad(self.g, w.shape)(x, grad) if need_w else None
            gb = grad.sum((0, *range(2, grad.ndim))) if need_b else None
            return gx, gw, gb
        grads = _conv_backward(x._data, w._data, grad._data, self.g, x.shape, w.shape, need_x, need_w, need_b)
        return tuple(None if a is None else Tensor._wrap(a) for a in grads)  # all three from one pass over the blocks


class ConvInputGrad(Function):
    """dx = convᵀ(g, w): the adjoint of ``ConvNd`` in x, i.e. the transposed convolution ("deconvolution")."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry, x_shape):
        self.g, self.x_shape = g, tuple(x_shape)

    def forward(self, grad, w):
        return _conv_backward(None, w, grad, self.g, self.x_shape, w.shape, True, False)[0]

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
        return _conv_backward(x, None, grad, self.g, x.shape, self.w_shape, False, True)[1]

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
def _batched(x: Tensor, n: int, op: str):
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
        dil = "" if all(d == 1 for d in dilation) else f" (dilated to {_fmt(eff)})"
        raise ShapeError(f"{op}: kernel {_fmt(kernel)}{dil} is larger than the padded input {_fmt(padded)} "
                         f"(input {_fmt(size)}, padding {[tuple(p) for p in pads]})")


def _conv(n, x, weight, bias, stride, padding, dilation, groups):
    op = f"conv{n}d"
    x, squeeze = _batched(x, n, op)
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
    x, squeeze = _batched(x, n, op)
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
        raise ShapeError(f"{op}: input {tuple(x.shape)} with kernel {_fmt(kernel)}, stride {stride} and padding {pad} "
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
