"""Indexing: basic and advanced reads (differentiable), gather/scatter along an axis, index_select, masked_fill."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..backend import array_module
from ..promotion import scalar_for
from ..tensor import Tensor
from ._util import ShapeError, check_index_range, normalize_dim

__all__ = ["getitem", "index_put", "index_select", "gather", "take_along_dim", "scatter", "scatter_add", "scatter_into",
           "masked_fill", "index_add"]


def _add_at(xp, a, idx, v):
    """a[idx] += v, repeated indices summed: rows of a 2-d ``v`` by sorted runs (:func:`_add_rows`), else add.at."""
    if xp is np and isinstance(idx, np.ndarray) and idx.ndim == 1 and v.ndim == 2 and idx.size and idx.min() >= 0:
        _add_rows(a, idx, v)
    elif xp is np:
        np.add.at(a, idx, v)
    else:
        backend.gpu_extras().scatter_add(a, idx, v)


def _add_rows(a, idx, v) -> None:
    """a[idx[k]] += v[k] for a 1-d non-negative ``idx`` on NumPy: the rows sorted by index (stably) and each run of
    equal indices summed by one ``add.reduceat`` (the same sums as ``add.at`` up to float rounding: ~4e-6 apart at
    float32, 2048 rows). ``np.add.at`` walks the rows one by one: 1.24 vs 0.18 ms for an embedding's (2048, 64)
    gradient into (65, 64) (measured on the 2-core CPU)."""
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    a[s[starts]] += np.add.reduceat(v[order], starts, axis=0)


def _is_advanced(key) -> bool:
    return any(not (k is None or k is Ellipsis or isinstance(k, (int, slice, np.integer))) for k in key)


def _convert_key(key):
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor):
            if k.dtype.kind not in "biu":
                raise IndexError(f"index: tensors used as indices must be integer or bool, got dtype {k.dtype}")
            k = k._data
        elif isinstance(k, list):
            k = np.asarray(k)
            if k.dtype.kind not in "biu" and k.size:
                raise IndexError(f"index: lists used as indices must hold integers or bools, got {k.dtype}")
        out.append(k)
    return tuple(out)


class GetItem(Function):
    """x[key]; the gradient lands back at the indexed positions (summed where an index repeats)."""

    accumulates = True

    def __init__(self, key):
        self.key = key
        self.is_view = not _is_advanced(key)  # basic indexing returns a view of the input

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.key]

    def replay(self, t: Tensor) -> Tensor:
        return GetItem(self.key)(t)

    def backward(self, g):
        return (IndexPut(self.key, self.in_shape)(g),)

    def backward_into(self, acc, g):
        xp = array_module(g)
        if acc is None:
            acc = xp.zeros(self.in_shape, dtype=g.dtype)
        if _is_advanced(self.key):
            _add_at(xp, acc, self.key, g)
        else:
            acc[self.key] += g
        return acc


class IndexPut(Function):
    """The adjoint of x[key]: a zero tensor of ``shape`` with ``g`` added at ``key``."""

    def __init__(self, key, shape):
        self.key, self.shape = key, shape

    def forward(self, g):
        xp = array_module(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        if _is_advanced(self.key):
            _add_at(xp, out, self.key, g)
        else:
            out[self.key] = g
        return out

    def backward(self, gg):
        return (GetItem(self.key)(gg),)


class SetItem(Function):
    """x with ``value`` written at ``key`` (out of place): the gradient of x is g with zeros at ``key``; the
    value's is g[key] (summed back to the value's shape by the engine)."""

    def __init__(self, key):
        self.key = key

    def forward(self, x, v):
        out = x.copy()
        out[self.key] = v
        return out

    def backward(self, g):
        na, nv = self.needs_input_grad
        gx = SetItem(self.key)(g, g.new_zeros(())) if na else None
        return gx, (GetItem(self.key)(g) if nv else None)


def index_put(x: Tensor, key, value) -> Tensor:
    """x with ``value`` (a Tensor or number, broadcast to x[key]) written at ``key``, out of place; what
    ``x[key] = value`` records in a graph."""
    from .elementwise import _promote

    key = _convert_key(key)
    if not isinstance(value, Tensor):
        value = x.new_tensor(value) if isinstance(value, (list, tuple)) else value
    _, v = _promote("index_put", x, value)
    if v.dtype != x.dtype:
        v = v.to(x.dtype)
    try:
        return SetItem(key)(x, v)
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {tuple(x.shape)})") from None


def getitem(x: Tensor, key) -> Tensor:
    """x[key] with NumPy semantics: ints, slices, None, Ellipsis, integer arrays and bool masks."""
    key = _convert_key(key)
    try:
        return GetItem(key)(x)
    except IndexError as e:
        raise IndexError(f"index: {e} (tensor of shape {tuple(x.shape)})") from None


class IndexSelect(Function):
    def __init__(self, axis, idx):
        self.axis, self.idx = axis, idx

    def forward(self, x):
        self.in_shape = x.shape
        return array_module(x).take(x, self.idx, axis=self.axis)

    def backward(self, g):
        return (IndexAdd(self.axis, self.idx, self.in_shape)(g),)


class IndexAdd(Function):
    """Zeros of ``shape`` with slices of ``src`` added at positions ``idx`` along ``axis`` (repeats accumulate)."""

    def __init__(self, axis, idx, shape):
        self.axis, self.idx, self.shape = axis, idx, shape

    def forward(self, src):
        xp = array_module(src)
        out = xp.zeros(self.shape, dtype=src.dtype)
        if self.axis == 0:
            _add_at(xp, out, self.idx, src)
        else:
            _add_at(xp, out, (slice(None),) * self.axis + (self.idx,), src)
        return out

    def backward(self, g):
        return (IndexSelect(self.axis, self.idx)(g),)


def _index_array(index, op, like: Tensor):
    """``index`` as an integer array on ``like``'s device (a list, a NumPy array or a Tensor; CuPy takes no host
    index arrays)."""
    if isinstance(index, Tensor):
        if index.dtype.kind not in "iu":
            raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
        a = index._data
    else:
        a = np.asarray(index)
        if a.dtype.kind not in "iu":
            raise TypeError(f"{op}: index must hold integers, got {a.dtype}")
    return a if backend.device_of(a) == like.device else backend.to_device(a, like.device)


def index_select(x: Tensor, dim: int, index) -> Tensor:
    """The slices of ``x`` at positions ``index`` (1-d) along ``dim``."""
    d = normalize_dim(dim, x.ndim, "index_select")
    idx = _index_array(index, "index_select", x)
    if idx.ndim > 1:
        raise ShapeError(f"index_select: index must be 1-d, got shape {idx.shape}")
    check_index_range("index_select", idx, d, x.shape[d])
    return IndexSelect(d, idx)(x)


def index_add(x: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """x with ``source``'s slices added at rows ``index`` along ``dim`` (out of place)."""
    d = normalize_dim(dim, x.ndim, "index_add")
    idx = _index_array(index, "index_add", x)
    if idx.ndim != 1:
        raise ShapeError(f"index_add: index must be 1-d, got shape {idx.shape}")
    check_index_range("index_add", idx, d, x.shape[d])
    want = tuple(x.shape[:d]) + (idx.shape[0],) + tuple(x.shape[d + 1:])
    if tuple(source.shape) != want:
        raise ShapeError(f"index_add: source must have shape {want} (the input's with dim {d} the index's length), "
                         f"got {tuple(source.shape)}")
    return x + IndexAdd(d, idx, x.shape)(source)


def _along_axis(idx, axis):
    """Full advanced-index tuple that addresses idx's entries along ``axis`` (for scatter with accumulation)."""
    xp = array_module(idx)
    nd = idx.ndim
    out = []
    for i in range(nd):
        if i == axis:
            out.append(idx)
        else:
            shape = [1] * nd
            shape[i] = idx.shape[i]
            out.append(xp.arange(idx.shape[i]).reshape(shape))
    return tuple(out)


class Gather(Function):
    """out[i][j] = x[i][index[i][j]] along ``axis`` (as torch.gather)."""

    def __init__(self, axis, idx):
        self.axis, self.idx = axis, idx

    def forward(self, x):
        self.in_shape = x.shape
        return array_module(x).take_along_axis(x, self.idx, axis=self.axis)

    def backward(self, g):
        return (ScatterAdd(self.axis, self.idx, self.in_shape)(g),)


class ScatterAdd(Function):
    """Zeros of ``shape`` with src[i][j] added at [i][index[i][j]] along ``axis`` (repeats accumulate)."""

    def __init__(self, axis, idx, shape):
        self.axis, self.idx, self.shape = axis, idx, shape

    def forward(self, src):
        xp = array_module(src)
        out = xp.zeros(self.shape, dtype=src.dtype)
        _add_at(xp, out, _along_axis(self.idx, self.axis), src)
        return out

    def backward(self, g):
        return (Gather(self.axis, self.idx)(g),)


def _check_gather(x, d, idx, op):
    if idx.ndim != x.ndim:
        raise ShapeError(f"{op}: index must have as many dims as the input ({x.ndim}), got index shape {idx.shape} "
                         f"for input {tuple(x.shape)}")
    for i, (a, b) in enumerate(zip(idx.shape, x.shape)):
        if i != d and a > b:
            raise ShapeError(f"{op}: index shape {idx.shape} exceeds input shape {tuple(x.shape)} at dim {i}")


def gather(x: Tensor, dim: int, index) -> Tensor:
    """out[..., j, ...] = x[..., index[..., j, ...], ...] along ``dim``."""
    d = normalize_dim(dim, x.ndim, "gather")
    idx = _index_array(index, "gather", x)
    _check_gather(x, d, idx, "gather")
    check_index_range("gather", idx, d, x.shape[d])
    if any(a < b for i, (a, b) in enumerate(zip(idx.shape, x.shape)) if i != d):
        x = x[tuple(slice(0, a) if i != d else slice(None) for i, a in enumerate(idx.shape))]
    return Gather(d, idx)(x)


def take_along_dim(x: Tensor, indices, dim: int) -> Tensor:
    """NumPy's take_along_axis (indices broadcast against x)."""
    d = normalize_dim(dim, x.ndim, "take_along_dim")
    idx = _index_array(indices, "take_along_dim", x)
    if idx.ndim != x.ndim:
        raise ShapeError(f"take_along_dim: indices must have as many dims as the input ({x.ndim}), got shape "
                         f"{idx.shape}")
    check_index_range("take_along_dim", idx, d, x.shape[d])
    xp = array_module(idx)
    shape = [max(a, b) if i != d else a for i, (a, b) in enumerate(zip(idx.shape, x.shape))]
    idx = xp.broadcast_to(idx, shape)
    bshape = [s if i != d else x.shape[d] for i, s in enumerate(shape)]
    return Gather(d, idx)(x.expand(bshape))


def scatter_add(x: Tensor, dim: int, index, src: Tensor) -> Tensor:
    """x with ``src[i][j]`` added at ``[i][index[i][j]]`` along ``dim`` (out of place; repeated indices accumulate)."""
    d = normalize_dim(dim, x.ndim, "scatter_add")
    idx = _index_array(index, "scatter_add", x)
    _check_gather(x, d, idx, "scatter_add")
    check_index_range("scatter_add", idx, d, x.shape[d])
    if tuple(src.shape) != tuple(idx.shape):
        src = src[tuple(slice(0, a) for a in idx.shape)]
    return x + ScatterAdd(d, idx, tuple(x.shape))(src)


class Scatter(Function):
    """x with ``src[i][j]`` written at ``[i][index[i][j]]`` along ``axis``; x's gradient is zero where it was overwritten,
    src's is g gathered at ``index`` (as torch.scatter, repeated indices keep one of their values)."""

    def __init__(self, axis, idx):
        self.axis, self.idx = axis, idx

    def forward(self, x, src):
        out = x.copy()
        out[_along_axis(self.idx, self.axis)] = src
        return out

    def backward(self, g):
        nx, ns = self.needs_input_grad
        gx = Scatter(self.axis, self.idx)(g, g.new_zeros(self.idx.shape)) if nx else None
        return gx, (Gather(self.axis, self.idx)(g) if ns else None)


def scatter(x: Tensor, dim: int, index, src) -> Tensor:
    """x with ``src[i][j]`` written at ``[i][index[i][j]]`` along ``dim`` (out of place); ``src`` may be a number."""
    d = normalize_dim(dim, x.ndim, "scatter")
    idx = _index_array(index, "scatter", x)
    _check_gather(x, d, idx, "scatter")
    check_index_range("scatter", idx, d, x.shape[d])
    if not isinstance(src, Tensor):
        src = x.new_full(idx.shape, src)
    elif tuple(src.shape) != tuple(idx.shape):
        if src.ndim != idx.ndim or any(a < b for a, b in zip(src.shape, idx.shape)):
            raise ShapeError(f"scatter: src of shape {tuple(src.shape)} is smaller than the index {idx.shape}")
        src = src[tuple(slice(0, a) for a in idx.shape)]
    if src.dtype != x.dtype:
        src = src.to(x.dtype)
    return Scatter(d, idx)(x, src)


def scatter_into(g: Tensor, idx, axis: int, shape) -> Tensor:
    """Zeros of ``shape`` with g placed at ``idx`` along ``axis`` (the backward of max/min over one axis)."""
    return ScatterAdd(axis, idx, tuple(shape))(g)


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """x with ``value`` wherever ``mask`` (bool, broadcastable) is true."""
    from .elementwise import where

    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be bool, got {m.dtype}")
    try:
        np.broadcast_shapes(m.shape, tuple(x.shape))
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {m.shape} does not broadcast to the input's {tuple(x.shape)}") from None
    if not isinstance(value, Tensor):
        value = x.new_full((), scalar_for("masked_fill", value, x.dtype) if isinstance(value, int) else value)
    return where(Tensor._wrap(m), value, x)
