"""Movement ops: reshape, permute, expand/sum_to, cat, flip, roll, pad, and what is composed from them."""
from __future__ import annotations

import builtins
import functools

from ..autograd.function import Function
from ..backend import array_module
from ..promotion import promote_types
from ..tensor import Tensor
from ._util import DeviceError, ShapeError, normalize_dim, normalize_dims

__all__ = ["reshape", "view", "flatten", "unflatten", "permute", "transpose", "swapaxes", "movedim", "squeeze",
           "unsqueeze", "expand", "broadcast_to", "sum_to", "cat", "concatenate", "stack", "split", "chunk",
           "unbind", "flip", "roll", "repeat", "tile", "pad", "narrow", "atleast_2d"]


class Reshape(Function):
    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def replay(self, t: Tensor) -> Tensor:
        return Reshape(self.shape)(t)

    def backward(self, g):
        return (g.reshape(self.in_shape),)


class Permute(Function):
    is_view = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def replay(self, t: Tensor) -> Tensor:
        return Permute(self.axes)(t)

    def backward(self, g):
        inv = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inv[a] = i
        return (g.permute(inv),)


class Expand(Function):
    """Broadcast to ``shape`` (a view, no copy); the gradient is summed back (``sum_to``)."""

    is_view = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return array_module(x).broadcast_to(x, self.shape)

    def replay(self, t: Tensor) -> Tensor:
        return Expand(self.shape)(t)

    def backward(self, g):
        return (sum_to(g, self.in_shape),)


class SumTo(Function):
    """Sum a broadcast result back to ``shape``: the adjoint of broadcasting, used by the engine for every op."""

    is_view = True

    def replay(self, t: Tensor) -> Tensor:
        return SumTo(self.shape)(t)

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        shape = self.shape
        self.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape) if s == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        if lead:
            y = y.reshape(shape)
        return y

    def backward(self, g):
        return (g.expand(self.in_shape),)


def sum_to(x: Tensor, shape) -> Tensor:
    """Σ of ``x`` over the axes that broadcasting added or stretched, giving ``shape``."""
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return SumTo(shape)(x)


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def replay_views(views, t: Tensor) -> Tensor:
    """The view nodes ``views`` (a chain from a base down to a view) applied afresh to ``t``."""
    for v in views:
        t = v.replay(t)
    return t


class CopySlices(Function):
    """A base after an in-place op wrote ``values`` into its view (reached from the base by the view nodes
    ``views``): PyTorch's CopySlices. The values are already in the base's buffer, so forward returns it; the
    gradient outside the view goes to the base as it was, the view's part to the values."""

    def __init__(self, views):
        self.views = views

    def forward(self, base, values):
        return base

    def backward(self, g):
        from ..autograd import no_grad

        nb, nv = self.needs_input_grad
        gb = None
        if nb:
            keep = Tensor._wrap(array_module(g._data).ones(g.shape, dtype=bool))
            with no_grad():
                replay_views(self.views, keep)._data[...] = False  # a view of keep's buffer: the region is cleared
            gb = g * keep
        return gb, (replay_views(self.views, g) if nv else None)


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one entry may be -1)."""
    shape = _shape_arg(shape)
    for i, s in enumerate(shape):
        if s < -1:
            raise ShapeError(f"reshape: size {s} at position {i} of {shape} is invalid; sizes must be non-negative, "
                             "or -1 for the one size to infer")
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape: {shape} asks to infer {shape.count(-1)} sizes (-1); only one can be inferred")
    n = x.numel()
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if shape.count(-1) > 1 or (shape.count(-1) == 0 and known != n) or (shape.count(-1) == 1 and (known == 0 or n % known)):
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {tuple(x.shape)} ({n} elements) into {shape}")
    return Reshape(shape)(x)


view = reshape


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim``..``end_dim`` into one."""
    if x.ndim == 0:
        return x.reshape(1)
    s = normalize_dim(start_dim, x.ndim, "flatten")
    e = normalize_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (-1,) + x.shape[e + 1:]
    if x.numel() == 0:
        m = 1
        for d in x.shape[s:e + 1]:
            m *= d
        shape = x.shape[:s] + (m,) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes``."""
    d = normalize_dim(dim, x.ndim, "unflatten")
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def permute(x: Tensor, *dims) -> Tensor:
    """Reorder the axes: output axis i is input axis dims[i]."""
    dims = _shape_arg(dims)
    n = x._data.ndim
    if len(dims) != n:
        raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor with {n} dimensions {tuple(x.shape)}")
    axes = tuple([normalize_dim(d, n, "permute") for d in dims])
    if sorted(axes) != list(range(n)):
        raise ValueError(f"permute: dims {dims} are not a permutation of 0..{n - 1}")
    return Permute(axes)(x)


def transpose(x: Tensor, dim0: int = 0, dim1: int = 1) -> Tensor:
    """Swap two axes."""
    n = x._data.ndim
    if n < 2:
        return x
    a, b = normalize_dim(dim0, n, "transpose"), normalize_dim(dim1, n, "transpose")
    axes = list(range(n))
    axes[a], axes[b] = axes[b], axes[a]
    return Permute(tuple(axes))(x)


swapaxes = transpose


def movedim(x: Tensor, source: int, destination: int) -> Tensor:
    s, d = normalize_dim(source, x.ndim, "movedim"), normalize_dim(destination, x.ndim, "movedim")
    axes = [i for i in range(x.ndim) if i != s]
    axes.insert(d, s)
    return Permute(tuple(axes))(x)


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Drop axes of size 1 (all, or those in ``dim``)."""
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = normalize_dims(dim, x.ndim, "squeeze")
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert an axis of size 1 at ``dim``."""
    d = normalize_dim(dim, x.ndim + 1, "unsqueeze")
    return Reshape(x.shape[:d] + (1,) + x.shape[d:])(x)


def expand(x: Tensor, *shape) -> Tensor:
    """Broadcast to ``shape`` without copying (-1 keeps a size)."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: cannot expand shape {tuple(x.shape)} to fewer dimensions {shape}")
    full = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(shape))
    for i, s in enumerate(x.shape):
        if s != 1 and s != full[i + lead]:
            raise ShapeError(f"expand: cannot expand shape {tuple(x.shape)} to {shape}: "
                             f"size {s} at dim {i} must be 1 or equal {full[i + lead]}")
    if full == tuple(x.shape):
        return x
    return Expand(full)(x)


def broadcast_to(x: Tensor, shape) -> Tensor:
    return expand(x, tuple(shape))


class Cat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return array_module(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, g):
        out, start = [], 0
        for s, need in zip(self.sizes, self.needs_input_grad):
            out.append(g.narrow(self.axis, start, s) if need else None)
            start += s
        return tuple(out)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing axis ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    d = normalize_dim(dim, first.ndim, "cat")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat: item {i} is a {type(t).__name__}, expected a Tensor")
        if t.ndim != first.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, first.shape)) if j != d):
            raise ShapeError(f"cat: along dim {d} every shape must match except that dim; item 0 is "
                             f"{tuple(first.shape)} but item {i} is {tuple(t.shape)}")
        if t.device != first.device:
            raise DeviceError(f"cat: item 0 is on {first.device} but item {i} is on {t.device}")
    if len(tensors) == 1:
        return tensors[0]
    dt = functools.reduce(promote_types, [t.dtype for t in tensors])
    return Cat(d)(*[t if t.dtype == dt else t.to(dt) for t in tensors])


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(tensors[0].shape):
            raise ShapeError(f"stack: every tensor must have the same shape; item 0 is {tuple(tensors[0].shape)} "
                             f"but item {i} is {tuple(t.shape)}")
    d = normalize_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d) if len(tensors) > 1 else unsqueeze(tensors[0], d)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """x[..., start:start+length, ...] along ``dim`` (a view in the forward pass)."""
    d = normalize_dim(dim, x.ndim, "narrow")
    idx = (slice(None),) * d + (slice(start, start + length),)
    return x[idx]


def split(x: Tensor, split_size_or_sections, dim: int = 0):
    """Pieces of ``x`` along ``dim``: of equal size ``split_size`` (the last may be smaller) or of the given sizes."""
    d = normalize_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [builtins.min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split: sections {sizes} sum to {builtins.sum(sizes)} but dim {d} has size {n}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(x, d, start, s))
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0):
    """``chunks`` nearly equal pieces along ``dim`` (as torch.chunk)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    d = normalize_dim(dim, x.ndim, "chunk")
    size = -(-x.shape[d] // chunks)
    return split(x, builtins.max(size, 1), d)


def unbind(x: Tensor, dim: int = 0):
    d = normalize_dim(dim, x.ndim, "unbind")
    return tuple(x[(slice(None),) * d + (i,)] for i in range(x.shape[d]))


class Flip(Function):
    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return array_module(x).flip(x, axis=self.axes).copy()  # a copy, as PyTorch's flip (NumPy's is a view)

    def backward(self, g):
        return (flip(g, self.axes),)


def flip(x: Tensor, dims) -> Tensor:
    """Reverse the order of elements along ``dims``."""
    return Flip(normalize_dims(dims, x.ndim, "flip"))(x)


class Roll(Function):
    def __init__(self, shifts, axes):
        self.shifts, self.axes = shifts, axes

    def forward(self, x):
        return array_module(x).roll(x, self.shifts, axis=self.axes)

    def backward(self, g):
        return (Roll(tuple(-s for s in self.shifts), self.axes)(g),)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (flattened when ``dims`` is None)."""
    if dims is None:
        return roll(x.reshape(-1), shifts, 0).reshape(x.shape)
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: got {len(shifts)} shifts for {len(dims)} dims")
    return Roll(shifts, tuple(normalize_dim(d, x.ndim, "roll") for d in dims))(x)


def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along each axis (torch.Tensor.repeat)."""
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: need at least {x.ndim} repeat counts for shape {tuple(x.shape)}, got {sizes}")
    x = x.reshape((1,) * (len(sizes) - x.ndim) + tuple(x.shape))
    # interleave a size-1 axis before each axis, expand it, and merge: (r0, s0, r1, s1, ...) -> (r0*s0, ...)
    inter = []
    for s in x.shape:
        inter += [1, s]
    big = []
    for r, s in zip(sizes, x.shape):
        big += [r, s]
    return x.reshape(inter).expand(big).reshape([r * s for r, s in zip(sizes, x.shape)])


tile = repeat


class PadConstant(Function):
    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, x):
        return array_module(x).pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, g):
        idx = tuple(slice(lo, g.shape[i] - hi) for i, (lo, hi) in enumerate(self.widths))
        return (g[idx],)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last ``len(pad)//2`` axes; ``pad`` lists (left, right) of the last axis first, as in F.pad.

    Modes: ``constant`` (with ``value``), ``reflect`` (mirror without the edge), ``replicate`` (repeat the edge),
    ``circular`` (wrap around).
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected pairs (left, right) for at most {x.ndim} axes of shape {tuple(x.shape)}, got {pad}")
    k = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    if any(lo < 0 or hi < 0 for lo, hi in widths):
        # negative padding crops
        idx = tuple(slice(-lo if lo < 0 else 0, x.shape[i] + hi if hi < 0 else None) for i, (lo, hi) in enumerate(widths))
        x = x[idx]
        widths = [(builtins.max(lo, 0), builtins.max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return PadConstant(tuple(widths), value)(x)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: unknown mode {mode!r}; expected 'constant', 'reflect', 'replicate' or 'circular'")
    import numpy as np

    from .index import index_select

    for axis, (lo, hi) in enumerate(widths):
        if lo == 0 and hi == 0:
            continue
        n = x.shape[axis]
        pos = np.arange(-lo, n + hi)
        if mode == "reflect":
            if lo >= n or hi >= n:
                raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} of dim {axis}")
            pos = np.abs(pos)
            pos = np.where(pos >= n, 2 * (n - 1) - pos, pos)
        elif mode == "replicate":
            pos = np.clip(pos, 0, n - 1)
        else:
            if lo > n or hi > n:
                raise ValueError(f"pad: circular padding ({lo}, {hi}) must not exceed the size {n} of dim {axis}")
            pos = pos % n
        x = index_select(x, axis, Tensor._wrap(array_module(x._data).asarray(pos)))
    return x


def atleast_2d(x: Tensor) -> Tensor:
    return x.reshape(1, -1) if x.ndim < 2 else x
