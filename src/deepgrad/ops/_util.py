"""Helpers shared by the op families: dims and error messages."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


class ShapeError(ValueError):
    """An op received operands whose shapes do not fit together."""


class DeviceError(RuntimeError):
    """An op received operands that live on different devices."""


def describe(t) -> str:
    if isinstance(t, Tensor):
        return f"Tensor(shape={tuple(t.shape)}, dtype={t.dtype}, device={t.device})"
    return f"{type(t).__name__} {t!r}"


def normalize_dim(dim: int, ndim: int, op: str) -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimension(s) (expected {-n}..{n - 1})")
    return dim % n


def normalize_dims(dim, ndim: int, op: str):
    """``None`` -> all axes; int or sequence -> a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        return (normalize_dim(int(dim), ndim, op),)
    dims = tuple(normalize_dim(int(d), ndim, op) for d in dim)
    if len(set(dims)) != len(dims):
        raise ValueError(f"{op}: dim {tuple(dim)} names an axis twice")
    return tuple(sorted(dims))


def check_index_range(op: str, idx, dim: int, size: int) -> None:
    """Refuse an index array with an entry outside 0..size-1 along ``dim``, naming the first bad value.

    Negative indices are refused too (as PyTorch's gather, scatter, index_select, index_add and embedding do):
    they would otherwise wrap silently.
    """
    if not idx.size:
        return
    lo, hi = int(idx.min()), int(idx.max())
    if lo >= 0 and hi < size:
        return
    bad = lo if lo < 0 else hi
    extra = "; negative indices are not accepted here" if bad < 0 else ""
    raise IndexError(f"{op}: index {bad} is out of range for dim {dim} of size {size} (valid indices are "
                     f"0..{size - 1}{extra})")
