"""Helpers shared by the op families: operand conversion and error messages."""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor


class ShapeError(ValueError):
    """An op received operands whose shapes do not fit together."""


class DeviceError(RuntimeError):
    """An op received operands that live on different devices."""


def describe(t) -> str:
    if isinstance(t, Tensor):
        return f"Tensor(shape={tuple(t.shape)}, dtype={t.dtype}, device={t.device})"
    return f"{type(t).__name__} {t!r}"


def operand(x, like: Tensor) -> Tensor:
    """``x`` as a Tensor that can meet ``like`` in a binary op; Python numbers become weak scalars of a fitting dtype."""
    tx = type(x)
    if tx is float:  # the common case first: no ABC checks
        dt = like.dtype if like.dtype.kind == "f" else backend.get_default_dtype()
    elif tx is int:
        dt = like.dtype if like.dtype.kind in "fiu" else backend.int64
    elif isinstance(x, Tensor):
        return x
    elif isinstance(x, (bool, np.bool_)):
        dt = like.dtype if like.dtype.kind in "fiub" else backend.bool_
    elif isinstance(x, numbers.Integral):
        dt = like.dtype if like.dtype.kind in "fiu" else backend.int64
    elif isinstance(x, numbers.Real):
        dt = like.dtype if like.dtype.kind == "f" else backend.get_default_dtype()
    elif isinstance(x, (np.ndarray, list, tuple)) or backend.is_device_array(x):
        from ..tensor import tensor

        return tensor(x, device=like.device)
    else:
        raise TypeError(f"expected a Tensor or a number as the other operand of an op on {describe(like)}, "
                        f"got {type(x).__name__}")
    t = Tensor.__new__(Tensor)
    t._data = dt.type(x)
    t.grad, t.grad_fn, t.requires_grad, t._version, t._retains_grad, t._hooks = None, None, False, 0, False, None
    return t


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
