"""Numerically stable softmax and log-softmax (fused primitives), and one-hot encoding."""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from ._util import normalize_dim

__all__ = ["softmax", "log_softmax", "one_hot"]


class SoftmaxFn(Function):
    """softmax(x)_i = e^{x_i - m} / Σ_j e^{x_j - m} with m = max x; ∂: y ⊙ (g - Σ g ⊙ y)."""

    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = array_module(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        return e

    def backward(self, g):
        y = self.output()
        return (y * (g - (g * y).sum(self.axis, keepdim=True)),)


class LogSoftmaxFn(Function):
    """log softmax(x)_i = x_i - m - log Σ_j e^{x_j - m}; ∂: g - softmax(x) Σ g."""

    saves_output = True

    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        xp = array_module(x)
        z = x - x.max(axis=self.axis, keepdims=True)
        return z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        return (g - self.output().exp() * g.sum(self.axis, keepdim=True),)


def _dim(x, dim, op):
    if dim is None:
        if x.ndim > 1:
            raise ValueError(f"{op}: pass dim explicitly for a {x.ndim}-d input of shape {tuple(x.shape)} "
                             "(usually dim=-1 or dim=1 for classes)")
        dim = 0
    return normalize_dim(dim, x.ndim, op)


def softmax(x: Tensor, dim: int | None = None) -> Tensor:
    """softmax(x)_i = exp(x_i) / Σ_j exp(x_j) along ``dim``, computed without overflow."""
    return SoftmaxFn(_dim(x, dim, "softmax"))(x if x.dtype.kind == "f" else x.float())


def log_softmax(x: Tensor, dim: int | None = None) -> Tensor:
    """log softmax(x) along ``dim``, computed as x - logsumexp(x) without overflow."""
    return LogSoftmaxFn(_dim(x, dim, "log_softmax"))(x if x.dtype.kind == "f" else x.float())


def one_hot(labels: Tensor, num_classes: int = -1) -> Tensor:
    """An int64 tensor with a trailing axis of size ``num_classes`` holding 1 at each label."""
    a = labels._data
    if a.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {a.dtype}")
    xp = array_module(a)
    if num_classes < 0:
        num_classes = int(a.max()) + 1 if a.size else 0
    if a.size and (int(a.min()) < 0 or int(a.max()) >= num_classes):
        raise ValueError(f"one_hot: labels must lie in 0..{num_classes - 1}, got {int(a.min())}..{int(a.max())}")
    return Tensor._wrap((a[..., None] == xp.arange(num_classes)).astype("int64"))
