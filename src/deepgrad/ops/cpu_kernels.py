"""The fast kernels of the convolution family: blocked convolutions, max pooling and batch norm, tuned for the CPU.

:mod:`deepgrad.ops.conv`, :mod:`deepgrad.ops.pool` and :mod:`deepgrad.nn.functional.normalization` hold the
mathematics and a plain reference implementation of each op; every function here computes exactly what its reference
computes (to float rounding: the tests run every registry case through both), only faster, and each op picks one or
the other in one place (``deepgrad.backends.cpu.fast_kernels``). What makes them fast:

* **Sample blocks.** A convolution is computed block by block over the batch, each block's columns sized to stay in
  cache (:data:`CONV_BLOCK_BYTES`; :data:`CONV_BACKWARD_BLOCK_BYTES` for the backward's larger buffers); blocks run
  in parallel on the threads of :mod:`deepgrad.parallel`, and the backward rebuilds each block's columns instead of
  keeping the forward's, so a convolution never holds more than one block of columns per thread.
  On a GPU one block spans the batch.
* **Wide columns** (stride 1): each kernel offset's columns are one contiguous run of the flattened padded input.
* **The row-separable input gradient** (stride 1): one GEMM against the gradient's row columns and one slice-add per
  outer kernel offset, instead of a col2im with one slice-add per kernel offset.
* **Max pooling** as a running maximum over the kernel offsets, and a fused backward that finds each window's first
  winner block by block, without materialising the argmax.
* **Batch norm** as one node with the closed-form backward, in blocks of samples on the CPU threads, x̂ recomputed
  in cache rather than kept.

The window helpers (:func:`pad_array`, :func:`strided_view`, :func:`window_view`, :func:`sample_blocks`) are public:
the reference implementations use them too.
"""
from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from ..backend import array_module
from ..parallel import parallel_for

__all__ = ["pad_array", "fill_padding", "strided_view", "window_view", "sample_blocks", "conv_forward", "conv_backward",
           "max_pool_forward", "max_pool_winner_index", "max_pool_backward", "batch_norm_forward",
           "batch_norm_backward", "CONV_BLOCK_BYTES", "CONV_BACKWARD_BLOCK_BYTES", "POOL_BLOCK_BYTES"]

CONV_BLOCK_BYTES = 1 << 21
"""Column bytes per block of samples in a convolution: columns this size stay in L2/L3 while the copy that builds
them and the GEMM that reads them run (for LeNet-sized layers that traffic, not the arithmetic, was the larger
cost)."""

CONV_BACKWARD_BLOCK_BYTES = 1 << 22
"""Buffer bytes per block of samples in a convolution's backward (columns, gradient columns, the row plan's): one
sample of ResNet-20's 16-channel layer already needs 1.2 MB, more than a core's L2, so blocks sized like the
forward's held one sample each and the per-block Python work (about 25 NumPy calls, under the GIL) dominated.
Measured, ResNet-20 step medians of 5 alternating runs: 306 ms with 4 MiB, 356 ms with 2 MiB."""

POOL_BLOCK_BYTES = 1 << 18
"""Input bytes per block of samples in max pooling: a block and its gradient stay in L2 (measured best)."""


# ------------------------------------------------------------------------------------------------ windows
def pad_array(x, pads, value=0.0):
    """``x`` (N, C, *spatial) with ``pads`` ((lo, hi) per spatial dim) of ``value`` around the spatial dims."""
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = array_module(x)
    shape = x.shape[:2] + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    out = xp.empty(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(x.shape[2:], pads))] = x
    fill_padding(out, pads, value)
    return out


def fill_padding(a, pads, value=0.0) -> None:
    """Write ``value`` into the padding of ``a`` (A, B, *padded) — the ``pads`` ((lo, hi) per spatial dim) around its
    interior — and nowhere else: a buffer from ``empty`` whose interior is written anyway needs no full zero fill
    (a pass over the whole buffer saved per block)."""
    for i, (lo, hi) in enumerate(pads):
        lead = (slice(None),) * (2 + i)
        if lo:
            a[lead + (slice(0, lo),)] = value
        if hi:
            a[lead + (slice(a.shape[2 + i] - hi, None),)] = value


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


def window_view(xpad, g, columns: bool):
    """Sliding windows of a padded (N, C, *spatial) array as a strided view, without copying.

    ``g`` is a :class:`deepgrad.ops.conv.Geometry`. ``columns``: shape (N, C, *kernel, *out) — the im2col layout;
    otherwise (N, C, *out, *kernel) for pooling.
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


def sample_blocks(a, n: int, sample_bytes: int, block_bytes: int) -> list:
    """The batch of ``n`` samples cut into slices of about ``block_bytes`` each (a single slice on a GPU); the cut
    depends on the shapes alone, never on the thread count, so results do not either."""
    if array_module(a) is not np:
        return [slice(0, n)]
    b = max(1, min(n, block_bytes // max(1, sample_bytes)))
    return [slice(s, min(s + b, n)) for s in range(0, n, b)]


# ------------------------------------------------------------------------------------------------ column blocks
# For a block of B samples the columns (im2col) are a (C·Πk, B·M) matrix, channel-major: row (c, k) holds, sample
# after sample, the M input values that kernel offset k meets in channel c, so each row is copied from one channel's
# consecutive samples. One GEMM per block (block-diagonal over groups) gives the block's output as (C_out, B·M), and
# one transposing copy writes it into the (N, C_out, *o) result.
#
# Stride-1 convolutions use "wide" columns. Flatten the padded input's spatial dims; an output position then reads,
# for each kernel offset, the flat input at (its own flat index + the offset's flat shift), so for one offset all
# outputs read ONE contiguous run — if the output grid is taken as wide as the padded input (o₁ × P₂ × … × P_k
# positions, the extra ones per row being junk that is cropped after the GEMM). Copying long runs instead of rows of
# o_k elements makes im2col several times faster for small images, for ≈ P_k/o_k more GEMM work (measured on LeNet's
# 5×5 layer on 14×14 maps, 40 % more GEMM work: still 20 % faster than exact columns built from rows of 10).
def _is_wide(g) -> bool:
    return all(st == 1 for st in g.stride)


@functools.lru_cache(maxsize=512)
def _wide_plan(padded: tuple, kernel: tuple, dilation: tuple, out0: int):
    """(flat shift of each kernel offset's step per dim, run length L, flat length needed) for wide columns."""
    step = [d * math.prod(padded[i + 1:]) for i, d in enumerate(dilation)]
    run = out0 * math.prod(padded[1:])
    need = sum((k - 1) * st for k, st in zip(kernel, step)) + run
    return step, run, max(need, math.prod(padded))


def _wide(g):
    return _wide_plan(g.padded, g.kernel, g.dilation, g.out[0])


def _grid(g) -> tuple:
    """The output grid the GEMM computes: o, or for wide columns o₁ × P₂ × … × P_k (junk beyond o cropped)."""
    return (g.out[0], *g.padded[1:]) if _is_wide(g) else g.out


def _valid(g) -> tuple:
    """The index of the valid outputs in a (B, C, *grid) array of wide columns."""
    return (slice(None),) * 3 + tuple(slice(0, o) for o in g.out[1:])


def _wide_flat(x, g, length: int):
    """x (A, B, *size) zero-padded by ``g.pads``, flattened to a contiguous (A, B, length) and zero-extended past its
    end, in one copy (none when x is contiguous and needs neither)."""
    xp = array_module(x)
    a, b = x.shape[:2]
    size = math.prod(g.padded)
    if length == size and not any(lo or hi for lo, hi in g.pads):
        return xp.ascontiguousarray(x).reshape(a, b, -1)
    flat = xp.empty((a, b, length), dtype=x.dtype)
    padded = flat[..., :size].reshape(a, b, *g.padded)  # a view: a last-axis slice
    padded[(slice(None), slice(None)) + g.inner] = x
    fill_padding(padded, g.pads)
    flat[..., size:] = 0
    return flat


def _columns(x, g):
    """im2col: the channel-major (C·Πk, B·M) columns of a block x (B, C, *size); M = Πo, or the wide run length."""
    xp = array_module(x)
    xt = x.swapaxes(0, 1)  # (C, B, ...): the one copy below transposes it on the way
    c, b = xt.shape[:2]
    if _is_wide(g):
        step, run, length = _wide(g)
        flat = _wide_flat(xt, g, length)
        sc, sb, se = flat.strides
        view = strided_view(flat, (c, *g.kernel, b, run), (sc, *(se * s for s in step), sb, se))
    else:
        view = xp.moveaxis(window_view(pad_array(xt, g.pads), g, columns=True), 1, 1 + len(g.kernel))
    return xp.ascontiguousarray(view).reshape(c * math.prod(g.kernel), -1)


def _uncolumns(cols, g, b: int, c: int):
    """col2im, the adjoint of :func:`_columns` for strided convolutions (stride 1 takes :class:`_RowPlan`): the
    (C·Πk, B·Πo) columns summed back into a (B, C, *size) view, one strided slice-add per kernel offset, each
    reading its columns in memory order."""
    xp = array_module(cols)
    lead = (slice(None), slice(None))
    cols = cols.reshape(c, *g.kernel, b, *g.out)
    acc = xp.zeros((c, b, *g.padded), dtype=cols.dtype)
    for k, sl in g.offsets():
        acc[lead + sl] += cols[(slice(None),) + k]
    return acc[lead + g.inner].swapaxes(0, 1)


def _output(y, g, b: int):
    """A block's GEMM result (C_out, B·M) as a (B, C_out, *o) view, the junk of wide columns cropped."""
    grid = _grid(g)
    y = y.reshape(y.shape[0], b, *grid).swapaxes(0, 1)
    return y[_valid(g)] if grid != g.out else y


def _grad_columns(gy, g):
    """The adjoint of :func:`_output`: a block's gradient (B, C_out, *o) as a contiguous (C_out, B·M) matrix, zero
    in the junk positions of wide columns."""
    xp = array_module(gy)
    gt = gy.swapaxes(0, 1)
    grid = _grid(g)
    if grid != g.out:
        wide = xp.empty((*gt.shape[:2], *grid), dtype=gy.dtype)
        wide[_valid(g)] = gt
        for i, o in enumerate(g.out[1:]):  # only the junk beyond o is zeroed, not the whole buffer
            wide[(slice(None),) * (3 + i) + (slice(o, None),)] = 0
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
    """A block's weight gradient: (C_out, M) gradient × (C_in·Πk, M) columnsᵀ -> (C_out, C_in/G·Πk), as a view.

    Computed transposed, columns × gradientᵀ -> (C_in·Πk, C_out): OpenBLAS runs the long reduction over M about
    twice as fast with the wide columns as the left operand (measured on ResNet-20's 16-channel layer, 3 samples
    per block: 0.22 ms instead of 0.43 ms)."""
    cout, m = gcols.shape
    if groups == 1:
        return array_module(cols).dot(cols, gcols.T).T
    k = cols.shape[0]
    return (cols.reshape(groups, k // groups, m) @ gcols.reshape(groups, cout // groups, m).swapaxes(1, 2)).swapaxes(
        1, 2).reshape(cout, -1)


def conv_forward(x, w, b, g):
    """y = conv(x, w) + b as a contiguous (N, C_out, *o) array, block by block (see the module docstring)."""
    xp = array_module(x)
    n, c = x.shape[:2]
    y = xp.empty((n, w.shape[0], *g.out), dtype=xp.result_type(x, w))
    blocks = sample_blocks(x, n, c * math.prod(g.kernel) * math.prod(_grid(g)) * x.itemsize, CONV_BLOCK_BYTES)

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

    def __init__(self, w, g, c: int):
        xp = array_module(w)
        cout, groups = w.shape[0], g.groups
        step, self.run, self.length = _wide(g)
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

    def input_grad(self, gcols, g):
        """dx (B, C, *size), as a view, of a block's wide gradient columns (C_out, B·run) (:func:`_grad_columns`)."""
        xp = array_module(gcols)
        b, ext, rows = gcols.shape[1] // self.run, self.ext, self.run + self.ext
        gext = xp.empty((self.cout, b, self.run + 2 * ext), dtype=gcols.dtype)  # ext zeros each side of every sample
        gext[..., ext:ext + self.run] = gcols.reshape(self.cout, b, self.run)
        gext[..., :ext] = 0
        gext[..., ext + self.run:] = 0
        so, sb, se = gext.strides
        r = strided_view(gext, (self.cout, self.kl, b, rows), (so, se * self.dl, sb, se))
        r = xp.ascontiguousarray(r).reshape(self.groups, -1, b * rows)
        u = xp.dot(self.a[0], r[0]) if self.groups == 1 else self.a @ r
        u = u.reshape(self.groups, len(self.outer), self.c // self.groups, b, rows)
        acc = xp.empty((self.groups, self.c // self.groups, b, self.length), dtype=u.dtype)
        acc[..., :rows] = u[:, 0]  # the first outer offset is 0: written, not added into zeros
        acc[..., rows:] = 0
        for i, off in enumerate(self.outer[1:], 1):
            acc[..., off:off + rows] += u[:, i]
        acc = acc.reshape(self.c, b, self.length)[..., :math.prod(g.padded)].reshape(self.c, b, *g.padded)
        return acc[(slice(None), slice(None)) + g.inner].swapaxes(0, 1)


def conv_backward(x, w, gy, g, x_shape, w_shape, need_x: bool, need_w: bool, need_b: bool = False):
    """(dx, dw, db), the gradients of y = conv(x, w) + b for the incoming gy (None where not asked for), in one pass
    over the blocks.

    Per block: the columns of x are rebuilt for dw = gy·colsᵀ, and db sums the block's gradient columns; dx is, with
    stride 1, the row-separable transposed GEMM (:class:`_RowPlan`), else wᵀ·gy written over the columns and summed
    back by col2im. The blocks' dw and db are summed in block order, the same for every thread count."""
    xp = array_module(gy)
    n, c = x_shape[:2]
    cout = gy.shape[1]
    rows = _RowPlan(w, g, c) if need_x and _is_wide(g) else None
    m = math.prod(_grid(g))
    per = cout * m + (c * math.prod(g.kernel) * m if need_w or (need_x and rows is None) else 0)
    if rows is not None:
        per += rows.sample_elements()
    blocks = sample_blocks(gy, n, per * gy.itemsize, CONV_BACKWARD_BLOCK_BYTES)
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


# ------------------------------------------------------------------------------------------------ max pooling
def _low_value(dtype):
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


def _pool_blocks(x) -> list:
    return sample_blocks(x, x.shape[0], x[:1].nbytes, POOL_BLOCK_BYTES)


def _offsets(g) -> list:
    return [(slice(None), slice(None)) + sl for _, sl in g.offsets()]


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


def max_pool_forward(x, g):
    """(y, xpad): the window maxima as a running maximum over the kernel offsets (Πk strided elementwise passes, no
    window copy, no argmax), block by block; ``xpad`` is x padded with −∞, kept for the backward."""
    xp = array_module(x)
    xpad = pad_array(x, g.pads, _low_value(x.dtype))
    best = xp.empty(x.shape[:2] + g.out, dtype=x.dtype)
    offsets = _offsets(g)
    blocks = _pool_blocks(x)

    def block(i):
        xb, out = xpad[blocks[i]], best[blocks[i]]
        if len(offsets) == 1:
            out[...] = xb[offsets[0]]
        else:
            xp.maximum(xb[offsets[0]], xb[offsets[1]], out=out)
        for sl in offsets[2:]:
            xp.maximum(out, xb[sl], out=out)

    parallel_for(len(blocks), block)
    return best, xpad


def max_pool_winner_index(xpad, best, g):
    """Per output, the index of the first kernel offset holding the maximum (int8 when Πk < 128)."""
    xp = array_module(best)
    offsets = _offsets(g)
    dtype = np.int8 if len(offsets) < 128 else np.int64
    arg = xp.zeros(best.shape, dtype=dtype)
    for i, won in enumerate(_winners(xpad, best, offsets)):
        if i:
            arg += won.astype(dtype) * dtype(i)  # bool masks and products: much faster than where()
    return arg


def max_pool_backward(gy, xpad, best, g):
    """The input gradient without building the winners' index: per kernel offset, the outputs it won (first winner
    on ties) take their gradient, block by block."""
    xp = array_module(gy)
    overlapping = g.overlapping()
    tiles = not overlapping and not any(lo or hi for lo, hi in g.pads) and all(
        k == st and d == 1 and o * st == s for k, st, d, o, s in zip(g.kernel, g.stride, g.dilation, g.out, g.size))
    acc = (xp.empty if tiles else xp.zeros)(xpad.shape, dtype=gy.dtype)  # tiled windows write every input once
    offsets = _offsets(g)
    blocks = _pool_blocks(xpad)  # sized by the input, which the block reads and writes

    def block(i):
        s = blocks[i]
        gb, ab = gy[s], acc[s]
        for sl, won in zip(offsets, _winners(xpad[s], best[s], offsets)):
            if overlapping:
                ab[sl] += gb * won
            else:
                xp.multiply(gb, won, out=ab[sl])

    parallel_for(len(blocks), block)
    return acc[(slice(None), slice(None)) + g.inner]


# ------------------------------------------------------------------------------------------------ batch norm
# Batch norm is memory-bound: a handful of passes over the activation. With x viewed as (N, C, S) the batch is cut
# into blocks of samples of about POOL_BLOCK_BYTES (in L2), run on the CPU threads; per-channel partial sums are
# added in block order (the same for every thread count), and each pass over a block reads it while it is in cache.
def _channel_dot(a, b):
    """Σ_{n,s} a(n, c, s)·b(n, c, s) per channel c of two (B, C, S) blocks: NumPy's vecdot (SIMD dot products,
    measured 2x einsum's time on ResNet-20's 16-channel blocks); einsum where there is no vecdot (CuPy)."""
    xp = array_module(a)
    if xp is np:
        return np.vecdot(a, b).sum(axis=0)
    return xp.einsum("ncs,ncs->c", a, b)


def batch_norm_forward(x, w, b, eps: float):
    """(y, mean, var, invstd) of y = γ x̂ + β, x̂ = (x − μ)/σ, in training.

    Two passes for the statistics (μ, then Σ(x − μ)², numerically safe) and one for y, block by block. x̂ is not
    kept: the backward recomputes x − μ from x block by block, in cache (an activation's worth of memory less per
    batch-norm layer, as in PyTorch)."""
    xp = array_module(x)
    n, c = x.shape[:2]
    x3 = x.reshape(n, c, -1)
    m = n * x3.shape[2]
    blocks = sample_blocks(x3, n, x3[:1].nbytes, POOL_BLOCK_BYTES)
    sums, squares = [None] * len(blocks), [None] * len(blocks)
    y = xp.empty(x3.shape, dtype=x.dtype)

    def block_sum(i):
        sums[i] = x3[blocks[i]].sum(axis=2).sum(axis=0)

    parallel_for(len(blocks), block_sum)
    mean = _sum_in_order(sums) / m

    def block_centre(i):
        xc = y[blocks[i]]  # y's block as scratch for x − μ: written over by block_out below
        xp.subtract(x3[blocks[i]], mean[:, None], out=xc)
        squares[i] = _channel_dot(xc, xc)

    parallel_for(len(blocks), block_centre)
    var = _sum_in_order(squares) / m
    invstd = 1.0 / xp.sqrt(var + eps)
    scale = invstd if w is None else invstd * w
    shift = -mean * scale if b is None else b - mean * scale

    def block_out(i):
        yb = y[blocks[i]]
        xp.multiply(x3[blocks[i]], scale[:, None], out=yb)
        yb += shift[:, None]

    parallel_for(len(blocks), block_out)
    return y.reshape(x.shape), mean, var, invstd


def batch_norm_backward(gy, x, mean, invstd, w, need_x: bool):
    """(dx, dγ, dβ) in closed form, per channel: dβ = Σ g, dγ = Σ g x̂, dx = (γ/σ)·(g − dβ/m − x̂·dγ/m), m = N·S, with
    x̂ = (x − μ)/σ recomputed per block; dx is None unless ``need_x``. One pass for the sums, one for dx.

    Per block, x − μ is written once into dx's block (scratch until dx is written there), so the dx pass is
    dx = (x − μ)·(−γ/σ · dγ/(σm)) + g·γ/σ − γ/σ · dβ/m: three passes in cache, no temporary beside g·γ/σ."""
    xp = array_module(gy)
    n, c = gy.shape[:2]
    g3, x3 = gy.reshape(n, c, -1), x.reshape(n, c, -1)
    m = n * g3.shape[2]
    blocks = sample_blocks(g3, n, g3[:1].nbytes, POOL_BLOCK_BYTES)
    parts_b, parts_w = [None] * len(blocks), [None] * len(blocks)
    dtype = xp.result_type(gy, x)
    scratch = xp.empty(g3.shape, dtype=dtype)  # x − μ per block, then dx

    def block_sums(i):
        gb, xc = g3[blocks[i]], scratch[blocks[i]]
        xp.subtract(x3[blocks[i]], mean[:, None], out=xc)
        parts_b[i] = gb.sum(axis=2).sum(axis=0)
        parts_w[i] = _channel_dot(gb, xc)  # Σ g·(x − μ) = σ·dγ

    parallel_for(len(blocks), block_sums)
    db, dw = _sum_in_order(parts_b), _sum_in_order(parts_w) * invstd
    dx = None
    if need_x:
        a = invstd if w is None else invstd * w
        k1, k0, a1 = (-a * dw * invstd / m)[:, None], (-a * db / m)[:, None], a[:, None]

        def block_dx(i):
            d = scratch[blocks[i]]  # holds x − μ
            d *= k1
            d += k0
            d += g3[blocks[i]] * a1

        parallel_for(len(blocks), block_dx)
        dx = scratch.reshape(gy.shape)
    return dx, dw.astype(gy.dtype, copy=False), db
