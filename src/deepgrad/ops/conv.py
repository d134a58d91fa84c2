"""Convolution (cross-correlation, as in every deep-learning framework) and its transpose, in 1, 2 and 3 dimensions.

One N-d implementation serves every case: the input is zero-padded, viewed as sliding windows with ``as_strided``
(no copy), copied once into a column buffer, and multiplied by the weight in batched GEMMs (over the samples for
small convolutions, see ``per_sample``; over groups), giving an output contiguous in (N, C_out, *o) order. The
backward pass is a pair of Functions that are each other's adjoints, so double backward is exact:

* ``ConvNd(x, w, b) = y`` (the bias is added in place; its gradient sums g over all dims but C_out);
* ``ConvInputGrad(g, w)`` = the gradient w.r.t. x = the *transposed* convolution: GEMM to columns, then col2im,
  which adds the columns back with one strided slice-add per kernel offset (no ``add.at``); with stride 1, when
  cheaper, a plain convolution of the padded g with the flipped, channel-transposed weight instead;
* ``ConvWeightGrad(x, g)`` = the gradient w.r.t. w: per-sample GEMMs against the columns of x, summed.

Each one's backward is written with the other two. The forward keeps its column buffer for the weight gradient and
hands that same buffer to the input gradient to write its columns into, so backward never holds more than one
column buffer (and allocates none when the layout allows).
"""
from __future__ import annotations

import itertools
import math

from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
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

    __slots__ = ("size", "kernel", "stride", "dilation", "pads", "groups", "out")

    def __init__(self, size, kernel, stride, dilation, pads, groups=1, out=None):
        self.size, self.kernel, self.stride, self.dilation = tuple(size), tuple(kernel), tuple(stride), tuple(dilation)
        self.pads, self.groups = tuple(pads), groups
        self.out = tuple(out) if out is not None else tuple(
            conv_output_size(s, k, st, p, d) for s, k, st, p, d in zip(size, kernel, stride, pads, dilation))

    @property
    def padded(self) -> tuple:
        return tuple(s + lo + hi for s, (lo, hi) in zip(self.size, self.pads))

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


def window_view(xpad, g: Geometry, columns: bool):
    """Sliding windows of a padded (N, C, *spatial) array as a strided view, without copying.

    ``columns``: shape (N, C, *kernel, *out) — the im2col layout; otherwise (N, C, *out, *kernel) for pooling.
    """
    xp = array_module(xpad)
    sn, sc, *ss = xpad.strides
    kstr = tuple(s * d for s, d in zip(ss, g.dilation))
    ostr = tuple(s * st for s, st in zip(ss, g.stride))
    n, c = xpad.shape[:2]
    if columns:
        shape, strides = (n, c, *g.kernel, *g.out), (sn, sc, *kstr, *ostr)
    else:
        shape, strides = (n, c, *g.out, *g.kernel), (sn, sc, *ostr, *kstr)
    return xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides, writeable=False)


# Column buffers are stacks (B, C·Πk, M) of GEMM operands. When one sample's GEMM is small (LeNet-sized), B = N and
# M = Πo: a batched matmul over the samples leaves the output contiguous in (N, C_out, *o) order with no transposing
# copy, and each per-sample GEMM stays below OpenBLAS's threading threshold, so it runs without the thread hand-offs
# that dominate small GEMMs (and stall them badly on a busy machine). Larger convolutions use B = 1, M = N·Πo: one
# GEMM per pass, which threads well, at the price of a transposing copy of the output and of the incoming gradient.
_PER_SAMPLE_MNK = 1 << 18


def per_sample(g: Geometry, c: int, cout: int) -> bool:
    """Whether the convolution of C -> C_out channels is computed as one GEMM per sample (see above); M is the
    column count actually multiplied (the wide run for stride 1)."""
    m = _wide_geometry(g)[1] if is_wide(g) else math.prod(g.out)
    return cout // g.groups * c // g.groups * math.prod(g.kernel) * m <= _PER_SAMPLE_MNK


# Stride-1 convolutions use "wide" columns. Flatten the padded input's spatial dims; an output position then reads,
# for each kernel offset, the flat input at (its own flat index + the offset's flat shift), so for one offset all
# outputs read ONE contiguous run — if the output grid is taken as wide as the padded input (o₁ × P₂ × … × P_k
# positions, the extra ones per row being junk that is cropped after the GEMM). Copying long runs instead of rows of
# o_k elements makes im2col and col2im several times faster for small images, for ≈ P_k/o_k more GEMM work.
def is_wide(g: Geometry) -> bool:
    return all(st == 1 for st in g.stride)


def _wide_geometry(g: Geometry):
    """(flat shift of each kernel offset's step per dim, run length L, flat length needed) for wide columns."""
    p = g.padded
    step = [d * math.prod(p[i + 1:]) for i, d in enumerate(g.dilation)]
    run = g.out[0] * math.prod(p[1:])
    need = sum((k - 1) * st for k, st in zip(g.kernel, step)) + run
    return step, run, max(need, math.prod(p))


def _wide_flat(x, g: Geometry, length: int):
    """x (N, C, *size) zero-padded by ``g.pads``, flattened to (N, C, length) and zero-extended past its end, in
    one copy (none when x needs neither)."""
    xp = array_module(x)
    n, c = x.shape[:2]
    size = math.prod(g.padded)
    if length == size and not any(lo or hi for lo, hi in g.pads):
        return xp.ascontiguousarray(x).reshape(n, c, -1)
    flat = xp.zeros((n, c, length), dtype=x.dtype)
    inner = (slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in zip(g.size, g.pads))
    flat[..., :size].reshape(n, c, *g.padded)[inner] = x  # splitting the contiguous last axis: a view
    return flat


def im2col(x, g: Geometry, by_sample: bool):
    """The column buffer of x (N, C, *size): a contiguous (N, C·Πk, M) stack if ``by_sample``, else (1, C·Πk, N·M);
    M = Πo, or the wide run length for stride 1 (see :func:`is_wide`)."""
    xp = array_module(x)
    n, k = x.shape[0], x.shape[1] * math.prod(g.kernel)
    if is_wide(g):
        step, run, length = _wide_geometry(g)
        flat = _wide_flat(x, g, length)
        sn, sc, se = flat.strides
        view = xp.lib.stride_tricks.as_strided(flat, shape=(n, x.shape[1], *g.kernel, run),
                                               strides=(sn, sc, *(se * st for st in step), se), writeable=False)
    else:
        view = window_view(pad_array(x, g.pads), g, columns=True)
    if by_sample:
        return xp.ascontiguousarray(view).reshape(n, k, -1)
    return xp.ascontiguousarray(xp.moveaxis(view, 0, 1 + len(g.kernel))).reshape(1, k, -1)


def col2im(cols, g: Geometry, n: int, c: int, by_sample: bool):
    """The adjoint of :func:`im2col`: a column stack summed back into an (N, C, *size) array.

    The sums run in the columns' own (sample, channel) order — (C, N) for the one-GEMM layout, transposed once at
    the end — so that every slice-add reads its columns in memory order."""
    xp = array_module(cols)
    nd = len(g.kernel)
    lead = (slice(None), slice(None))
    first = (n, c) if by_sample else (c, n)
    if is_wide(g):
        step, run, length = _wide_geometry(g)
        cols = cols.reshape((n, c, *g.kernel, run)) if by_sample else \
            xp.moveaxis(cols.reshape((c, *g.kernel, n, run)), 1 + nd, 1)
        acc = xp.zeros((*first, length), dtype=cols.dtype)
        for k in itertools.product(*(range(kk) for kk in g.kernel)):
            off = sum(ki * st for ki, st in zip(k, step))
            acc[..., off:off + run] += cols[lead + k]
        acc = acc[..., :math.prod(g.padded)].reshape(*first, *g.padded)
    else:
        cols = cols.reshape((n, c, *g.kernel, *g.out)) if by_sample else \
            xp.moveaxis(cols.reshape((c, *g.kernel, n, *g.out)), 1 + nd, 1)
        acc = xp.zeros((*first, *g.padded), dtype=cols.dtype)
        for k, sl in g.offsets():
            acc[lead + sl] += cols[lead + k]
    crop = lead + tuple(slice(lo, lo + s) for s, (lo, _) in zip(g.size, g.pads))
    return acc[crop] if by_sample else xp.ascontiguousarray(acc.swapaxes(0, 1)[crop])


def _to_stack(a, g: Geometry, by_sample: bool):
    """(N, C, *o) -> the (B, C, M) stack layout of the columns (zero in the junk positions of wide columns)."""
    xp = array_module(a)
    n, c = a.shape[:2]
    if not by_sample:
        a = a.swapaxes(0, 1)  # transposed by the one copy below
    if is_wide(g):
        wide = xp.zeros((*a.shape[:2], g.out[0], *g.padded[1:]), dtype=a.dtype)
        wide[(slice(None),) * 3 + tuple(slice(0, o) for o in g.out[1:])] = a
        a = wide
    return a.reshape(n, c, -1) if by_sample else xp.ascontiguousarray(a).reshape(1, c, -1)


def _from_stack(y, n: int, g: Geometry, by_sample: bool):
    """A (B, C, M) stack -> a contiguous (N, C, *out) array (cropping the junk of wide columns)."""
    xp = array_module(y)
    c = y.shape[1]
    grid = (g.out[0], *g.padded[1:]) if is_wide(g) else g.out
    y = y.reshape(n, c, *grid) if by_sample else y.reshape(c, n, *grid).swapaxes(0, 1)
    if is_wide(g):
        y = y[(slice(None),) * 3 + tuple(slice(0, o) for o in g.out[1:])]
    return xp.ascontiguousarray(y)


def _conv_gemm(w, cols, groups: int):
    """(C_out, C_in/G·Πk) weight × (B, C_in·Πk, M) columns -> (B, C_out, M), block-diagonal over groups."""
    cout = w.shape[0]
    w2 = w.reshape(cout, -1)
    if groups == 1:
        return w2 @ cols
    b, k, m = cols.shape
    y = w2.reshape(groups, cout // groups, -1) @ cols.reshape(b, groups, k // groups, m)
    return y.reshape(b, cout, m)


def _conv_gemm_t(w, g, groups: int, out=None):
    """The transposed GEMM: weightᵀ × a (B, C_out, M) gradient stack -> (B, C_in·Πk, M) columns, written into
    ``out`` (a spare column buffer of that shape and dtype) when one is given."""
    xp = array_module(g)
    cout = w.shape[0]
    w2 = w.reshape(cout, -1)
    b, _, m = g.shape
    if out is not None and (out.shape != (b, w2.shape[1] * groups, m) or out.dtype != xp.result_type(w, g)):
        out = None  # dropped before the GEMM allocates its own
    if groups == 1:
        return xp.matmul(w2.T, g, out=out)
    wt = w2.reshape(groups, cout // groups, -1).swapaxes(1, 2)
    gs = g.reshape(b, groups, cout // groups, m)
    cols = xp.matmul(wt, gs, out=None if out is None else out.reshape(b, groups, -1, m))
    return cols.reshape(b, -1, m)


_WGRAD_CHUNK = 1 << 22  # elements of the per-sample partial weight gradients held at once


def _conv_wgrad(g, cols, w_shape, groups: int):
    """Σ_b g_b (C_out, M) × cols_bᵀ (M, C_in·Πk): batched GEMMs over chunks of the stack, summed.

    Each GEMM is computed transposed, cols_b × g_bᵀ -> (C_in·Πk, C_out): with the long reduction over M, OpenBLAS
    splits the taller output better across threads (measured ~1.5× faster for the 64-channel 3×3 case).
    """
    xp = array_module(cols)
    cout = w_shape[0]
    b, k, m = cols.shape
    g = g.reshape(b, groups, cout // groups, m)
    c = cols.reshape(b, groups, k // groups, m)
    step = max(1, _WGRAD_CHUNK // (cout * k // groups))
    dw = None
    for a in range(0, b, step):
        part = (c[a:a + step] @ g[a:a + step].swapaxes(-1, -2)).sum(axis=0)
        dw = part if dw is None else xp.add(dw, part, out=dw)
    return xp.ascontiguousarray(dw.swapaxes(-1, -2)).reshape(w_shape)


def _conv_forward(x, w, b, g: Geometry):
    """(y, columns of x): the convolution's output as a contiguous (N, C_out, *o) array."""
    by_sample = per_sample(g, x.shape[1], w.shape[0])
    cols = im2col(x, g, by_sample)
    y = _conv_gemm(w, cols, g.groups)
    if b is not None:
        y += b[:, None]
    return _from_stack(y, x.shape[0], g, by_sample), cols


def _full_correlation(g: Geometry, c: int, cout: int):
    """For stride 1, the input gradient is itself a convolution: the gradient, padded by dilation·(k − 1) − pad,
    correlated with the weight flipped in space and transposed in channels. Its Geometry when that is valid and
    its column buffer is no larger than col2im's (C_out·Πsize ≤ C_in·Πo), else None."""
    if any(s != 1 for s in g.stride) or cout * math.prod(g.size) > c * math.prod(g.out):
        return None
    pads = [(d * (k - 1) - lo, d * (k - 1) - hi) for k, d, (lo, hi) in zip(g.kernel, g.dilation, g.pads)]
    if min(min(p) for p in pads) < 0:
        return None
    return Geometry(g.out, g.kernel, g.stride, g.dilation, pads, g.groups, out=g.size)


def _flipped_transposed(w, groups: int):
    """w (C_out, C_in/G, *k) -> (C_in, C_out/G, *k) flipped in every spatial dim, group by group."""
    cout, cin_g, *k = w.shape
    wt = w.reshape(groups, cout // groups, cin_g, *k).swapaxes(1, 2).reshape(cin_g * groups, cout // groups, *k)
    return array_module(w).ascontiguousarray(wt[(slice(None), slice(None)) + (slice(None, None, -1),) * len(k)])


class ConvNd(Function):
    """y = conv(x, w) + b: out(n, j) = b(j) + Σ_k w(j, k) ⋆ x(n, k) over the channels k of j's group."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry, keep_columns: bool = True):
        self.g, self.keep_columns = g, keep_columns

    def forward(self, x, w, b=None):
        y, cols = _conv_forward(x, w, b, self.g)
        self._cols = cols if self.keep_columns else None
        return y

    def backward(self, grad):
        x, w = self.inputs[:2]
        gx = gw = gb = None
        cols = self.__dict__.pop("_cols", None)
        if self.needs_input_grad[1]:
            gw = ConvWeightGrad(self.g, w.shape, cols)(x, grad)
        if cols is not None and array_module(cols).may_share_memory(cols, x._data):
            cols = None  # im2col gave a view of x itself (a 1×1 kernel): never write into it
        if self.needs_input_grad[0]:  # the input gradient's columns reuse the buffer of x's columns
            node = ConvInputGrad(self.g, x.shape, cols)
            cols = None  # the node holds the only reference, and drops it when it no longer needs the buffer
            gx = node(grad, w)
        if len(self.inputs) > 2 and self.needs_input_grad[2]:
            gb = grad.sum((0, *range(2, grad.ndim)))
        return gx, gw, gb


class ConvInputGrad(Function):
    """dx = convᵀ(g, w): the adjoint of ``ConvNd`` in x, i.e. the transposed convolution ("deconvolution")."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry, x_shape, spare=None):
        self.g, self.x_shape, self._spare = g, tuple(x_shape), spare

    def forward(self, grad, w):
        n, c = self.x_shape[:2]
        full = _full_correlation(self.g, c, grad.shape[1])
        if full is not None:
            self._spare = None  # freed before the correlation builds its own columns
            return _conv_forward(grad, _flipped_transposed(w, self.g.groups), None, full)[0]
        by_sample = per_sample(self.g, c, grad.shape[1])
        cols = _conv_gemm_t(w, _to_stack(grad, self.g, by_sample), self.g.groups, self.__dict__.pop("_spare"))
        return col2im(cols, self.g, n, c, by_sample)

    def backward(self, gg):
        grad, w = self.inputs
        d_grad = d_w = None
        if self.needs_input_grad[0]:
            d_grad = ConvNd(self.g, keep_columns=False)(gg, w)
        if self.needs_input_grad[1]:
            d_w = ConvWeightGrad(self.g, w.shape)(gg, grad)
        return d_grad, d_w


class ConvWeightGrad(Function):
    """dw = Σ_n g(n, j) ⋆ x(n, k): the adjoint of ``ConvNd`` in w (GEMMs against the columns of x)."""

    saves_inputs = (0, 1)

    def __init__(self, g: Geometry, w_shape, cols=None):
        self.g, self.w_shape, self._cols = g, tuple(w_shape), cols

    def forward(self, x, grad):
        by_sample = per_sample(self.g, x.shape[1], self.w_shape[0])
        cols = self.__dict__.pop("_cols", None)
        if cols is None:
            cols = im2col(x, self.g, by_sample)
        return _conv_wgrad(_to_stack(grad, self.g, by_sample), cols, self.w_shape, self.g.groups)

    def backward(self, gw):
        x, grad = self.inputs
        d_x = d_grad = None
        if self.needs_input_grad[0]:
            d_x = ConvInputGrad(self.g, x.shape)(grad, gw)
        if self.needs_input_grad[1]:
            d_grad = ConvNd(self.g, keep_columns=False)(x, gw)
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
    node = ConvNd(g, keep_columns=weight.requires_grad and grad_mode.state.enabled)
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
