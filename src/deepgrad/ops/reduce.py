"""Reductions over a ``dim`` (int, tuple or None = all) with ``keepdim``, PyTorch-style."""
from __future__ import annotations

import builtins
from collections import namedtuple

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from ._util import normalize_dim, normalize_dims

__all__ = ["sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "logsumexp",
           "norm", "cumsum", "all", "any", "count_nonzero"]

values_indices = namedtuple("values_indices", ["values", "indices"])


def _kept_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    """Σ over ``axes``; the gradient is broadcast back: ∂/∂x_i = g."""

    def __init__(self, axes, keepdim):
        self.axes, self.keepdim = axes, keepdim

    def forward(self, x):
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdim)

    def backward(self, g):
        if not self.keepdim:
            g = g.reshape(_kept_shape(self.in_shape, self.axes))
        return (g.expand(self.in_shape),)


class Prod(Function):
    """Π over one axis (or all); ∂/∂x_i = Π_{j≠i} x_j, computed with exclusive products so zeros are exact."""

    saves_inputs = (0,)

    def __init__(self, axis, keepdim):
        self.axis, self.keepdim = axis, keepdim

    def forward(self, x):
        return x.prod(axis=self.axis, keepdims=self.keepdim)

    def backward(self, g):
        from .shape import flip

        x = self.inputs[0]
        if self.axis is None:
            flat = x.reshape(-1)
            others = _exclusive_prod(flat, 0, flip).reshape(x.shape)
            return (g * others,)
        if not self.keepdim:
            g = g.unsqueeze(self.axis)
        return (g * _exclusive_prod(x, self.axis, flip),)


def _exclusive_prod(x, axis, flip):
    """Π_{j≠i} x_j along ``axis`` as (product of those before i) · (product of those after i)."""
    from .shape import cat

    n = x.shape[axis]
    ones = x.new_ones(_kept_shape(x.shape, (axis,)))
    before = cat([ones, cumprod(x.narrow(axis, 0, n - 1), axis)], axis) if n > 1 else ones
    rev = flip(x, (axis,))
    after = cat([ones, cumprod(rev.narrow(axis, 0, n - 1), axis)], axis) if n > 1 else ones
    return before * flip(after, (axis,))


class CumProd(Function):
    saves_inputs = (0,)
    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return array_module(x).cumprod(x, axis=self.axis)

    def backward(self, g):
        # y_k = Π_{j≤k} x_j;  ∂L/∂x_i = Σ_{k≥i} g_k y_k / x_i  (inputs here are never zero: see _exclusive_prod)
        from .shape import flip

        y = self.output()
        x = self.inputs[0]
        s = flip(cumsum(flip(g * y, (self.axis,)), self.axis), (self.axis,))
        return (s / x,)


def cumprod(x: Tensor, dim: int) -> Tensor:
    return CumProd(normalize_dim(dim, x.ndim, "cumprod"))(x)


class MaxMin(Function):
    """max (or min) over ``axes``.

    The tie rule (PyTorch's, the same for every max/min): the gradient goes where the value came from. With
    ``to_index`` (``max(dim)`` / ``min(dim)``, which return indices) it goes to the returned index, the first
    position holding the extreme value; otherwise (``amax``, ``amin``, ``max()``, ``min()``, and elementwise
    ``maximum`` / ``minimum``) the positions that tie share it equally.
    """

    def __init__(self, axes, keepdim, is_max, to_index=False):
        self.axes, self.keepdim, self.is_max, self.to_index = axes, keepdim, is_max, to_index

    def forward(self, x):
        xp = array_module(x)
        axes = self.axes
        self.in_shape = x.shape
        if self.to_index:
            ax = axes[0]
            idx = (x.argmax if self.is_max else x.argmin)(axis=ax)
            self.indices = idx
            y = xp.take_along_axis(x, xp.expand_dims(idx, ax), axis=ax)
            return y if self.keepdim else y.squeeze(ax)
        y = (x.max if self.is_max else x.min)(axis=axes, keepdims=True)
        self.mask_src = x == y
        return y if self.keepdim else y.reshape([s for i, s in enumerate(x.shape) if i not in axes])

    def backward(self, g):
        xp = array_module(g._data)
        if self.to_index:
            from .index import scatter_into

            ax = self.axes[0]
            if not self.keepdim:
                g = g.unsqueeze(ax)
            return (scatter_into(g, xp.expand_dims(self.indices, ax), ax, self.in_shape),)
        mask = self.mask_src
        w = mask / mask.sum(axis=self.axes, keepdims=True)
        if not self.keepdim:
            g = g.reshape(_kept_shape(self.in_shape, self.axes))
        return (g * Tensor._wrap(w.astype(g.dtype)),)


class CumSum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return array_module(x).cumsum(x, axis=self.axis)

    def backward(self, g):
        from .shape import flip

        return (flip(cumsum(flip(g, (self.axis,)), self.axis), (self.axis,)),)


# -------------------------------------------------------------------------------------------- functions
def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Σ x over ``dim`` (int, tuple, or None for all)."""
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "bui":
        x = x.long()
    return Sum(normalize_dims(dim, x.ndim, "sum"), keepdim)(x)


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """(1/n) Σ x over ``dim``."""
    if x.dtype.kind != "f":
        raise TypeError(f"mean: expected a floating tensor, got dtype {x.dtype}; use x.float().mean()")
    axes = normalize_dims(dim, x.ndim, "mean")
    n = 1
    for a in axes:
        n *= x.shape[a]
    return Sum(axes, keepdim)(x) * (1.0 / n) if n else Sum(axes, keepdim)(x) * float("nan")


def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Π x over one ``dim`` (or all)."""
    axis = None if dim is None else normalize_dim(dim, x.ndim, "prod")
    return Prod(axis, keepdim)(x.long() if x.dtype.kind in "bui" else x)


def _extreme(x, dim, keepdim, is_max, name):
    if x.numel() == 0:
        raise ValueError(f"{name}: cannot reduce an empty tensor of shape {tuple(x.shape)}")
    if dim is None:
        return MaxMin(tuple(range(x.ndim)), False, is_max)(x)
    if isinstance(dim, (tuple, list)):
        return MaxMin(normalize_dims(dim, x.ndim, name), keepdim, is_max)(x)
    fn = MaxMin((normalize_dim(dim, x.ndim, name),), keepdim, is_max, to_index=True)
    values = fn(x)
    idx = fn.indices if keepdim is False else array_module(fn.indices).expand_dims(fn.indices, fn.axes[0])
    return values_indices(values, Tensor._wrap(idx.astype("int64", copy=False)))


def max(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """The largest element; with an int ``dim``, a (values, indices) pair like PyTorch's (tie rule: :class:`MaxMin`)."""
    if isinstance(dim, Tensor):
        from .elementwise import maximum

        return maximum(x, dim)
    return _extreme(x, dim, keepdim, True, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """The smallest element; with an int ``dim``, a (values, indices) pair like PyTorch's."""
    if isinstance(dim, Tensor):
        from .elementwise import minimum

        return minimum(x, dim)
    return _extreme(x, dim, keepdim, False, "min")


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The largest values over ``dim`` (int, tuple or None)."""
    return MaxMin(normalize_dims(dim, x.ndim, "amax"), keepdim, True)(x)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The smallest values over ``dim`` (int, tuple or None)."""
    return MaxMin(normalize_dims(dim, x.ndim, "amin"), keepdim, False)(x)


def _arg_extreme(x: Tensor, dim, keepdim: bool, name: str) -> Tensor:
    a = x._data
    fn = a.argmax if name == "argmax" else a.argmin
    if dim is None:
        return Tensor._wrap(array_module(a).asarray(fn()).astype("int64"))
    return Tensor._wrap(fn(axis=normalize_dim(dim, x.ndim, name), keepdims=keepdim).astype("int64", copy=False))


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (of the flattened tensor when ``dim`` is None)."""
    return _arg_extreme(x, dim, keepdim, "argmax")


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (of the flattened tensor when ``dim`` is None)."""
    return _arg_extreme(x, dim, keepdim, "argmin")


def var(x: Tensor, dim=None, *, correction: int = 1, keepdim: bool = False, unbiased=None) -> Tensor:
    """Σ (x - x̄)² / (n - correction) over ``dim``; ``correction=1`` is Bessel's (unbiased) estimate."""
    if unbiased is not None:
        correction = int(bool(unbiased))
    axes = normalize_dims(dim, x.ndim, "var")
    n = 1
    for a in axes:
        n *= x.shape[a]
    d = x - mean(x, axes, keepdim=True)
    return sum(d * d, axes, keepdim) * (1.0 / builtins.max(n - correction, 0)) if n - correction > 0 \
        else sum(d * d, axes, keepdim) * float("nan")


def std(x: Tensor, dim=None, *, correction: int = 1, keepdim: bool = False, unbiased=None) -> Tensor:
    """√var(x) over ``dim``."""
    return var(x, dim, correction=correction, keepdim=keepdim, unbiased=unbiased).sqrt()


def logsumexp(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """log Σ exp(x) over ``dim``, computed as m + log Σ exp(x - m) with m = max x so it never overflows."""
    axes = normalize_dims(dim, x.ndim, "logsumexp")
    m = amax(x, axes, keepdim=True).detach()
    xp = array_module(m._data)
    m = Tensor._wrap(xp.where(xp.isfinite(m._data), m._data, 0).astype(x.dtype))
    out = (x - m).exp().sum(axes, keepdim=True).log() + m
    if not keepdim:
        out = out.reshape([s for i, s in enumerate(x.shape) if i not in axes])
    return out


def norm(x: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The p-norm (Σ |x|^p)^{1/p} over ``dim``; p may be 1, 2, any positive number, or inf."""
    axes = normalize_dims(dim, x.ndim, "norm")
    if p == 2 or p == "fro":
        return (x * x).sum(axes, keepdim).sqrt()
    if p == 1:
        return x.abs().sum(axes, keepdim)
    if p == float("inf"):
        return amax(x.abs(), axes, keepdim)
    if not isinstance(p, (int, float)) or p <= 0:
        raise ValueError(f"norm: p must be a positive number, inf or 'fro', got {p!r}")
    return (x.abs() ** p).sum(axes, keepdim) ** (1.0 / p)


def cumsum(x: Tensor, dim: int) -> Tensor:
    """Running sums along ``dim``; the gradient is the reversed running sum of g."""
    return CumSum(normalize_dim(dim, x.ndim, "cumsum"))(x.long() if x.dtype.kind in "bui" else x)


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    a = x._data
    return Tensor._wrap(array_module(a).asarray(a.all(axis=None if dim is None else normalize_dims(dim, x.ndim, "all"),
                                                     keepdims=keepdim)))


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    a = x._data
    return Tensor._wrap(array_module(a).asarray(a.any(axis=None if dim is None else normalize_dims(dim, x.ndim, "any"),
                                                     keepdims=keepdim)))


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    a = x._data
    axes = None if dim is None else normalize_dims(dim, x.ndim, "count_nonzero")
    return Tensor._wrap(array_module(a).asarray((a != 0).sum(axis=axes)).astype("int64"))
