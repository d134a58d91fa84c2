"""Operators and op methods of :class:`Tensor`, bound to the functions in :mod:`deepgrad.ops`."""
from __future__ import annotations

from . import ops
from .ops import elementwise as _ew
from .ops.index import getitem
from .tensor import Tensor


def _r(fn):
    return lambda self, other: fn(other, self)


Tensor.__add__ = _ew._method(_ew.Add, "add")
Tensor.__radd__ = Tensor.__add__
Tensor.__sub__ = _ew._method(_ew.Sub, "sub")
Tensor.__rsub__ = lambda self, other: _ew._binary(_ew.Sub, "sub", other, self) if isinstance(other, Tensor) \
    else _ew._binary(_ew.Sub, "sub", _ew.operand(other, self), self)
Tensor.__mul__ = _ew._method(_ew.Mul, "mul")
Tensor.__rmul__ = Tensor.__mul__
Tensor.__truediv__ = ops.div
Tensor.__rtruediv__ = lambda self, other: ops.div(_ew.operand(other, self if self.dtype.kind == "f" else self.float()), self)
Tensor.__pow__ = ops.pow
Tensor.__rpow__ = lambda self, other: ops.pow(_ew.operand(other, self), self)
Tensor.__matmul__ = ops.matmul
Tensor.__rmatmul__ = _r(ops.matmul)
Tensor.__neg__ = ops.neg
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = ops.abs
Tensor.__eq__ = ops.eq
Tensor.__ne__ = ops.ne
Tensor.__lt__ = ops.lt
Tensor.__le__ = ops.le
Tensor.__gt__ = ops.gt
Tensor.__ge__ = ops.ge
Tensor.__and__ = ops.logical_and
Tensor.__or__ = ops.logical_or
Tensor.__xor__ = ops.logical_xor
Tensor.__invert__ = ops.logical_not
Tensor.__getitem__ = getitem
Tensor.__hash__ = object.__hash__

_METHODS = [
    "add", "sub", "mul", "div", "pow", "neg", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh",
    "sigmoid", "relu", "erf", "abs", "sign", "reciprocal", "clamp", "clip", "maximum", "minimum", "square",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
    "isfinite", "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "logsumexp",
    "norm", "cumsum", "all", "any", "count_nonzero", "reshape", "view", "flatten", "unflatten", "permute",
    "transpose", "swapaxes", "movedim", "squeeze", "unsqueeze", "expand", "broadcast_to", "sum_to", "split", "chunk",
    "unbind", "flip", "roll", "repeat", "tile", "narrow", "index_select", "gather", "take_along_dim", "scatter_add",
    "masked_fill", "index_add", "matmul", "mm", "bmm", "dot", "softmax", "log_softmax",
]
for _name in _METHODS:
    setattr(Tensor, _name, getattr(ops, _name))

Tensor.expand_as = lambda self, other: ops.expand(self, other.shape)
Tensor.view_as = lambda self, other: ops.reshape(self, other.shape)
Tensor.reshape_as = Tensor.view_as
Tensor.contiguous = lambda self: self


def _masked_fill_(self, mask, value):
    from .backend import array_module

    m = mask._data if isinstance(mask, Tensor) else mask
    return self._inplace("masked_fill_", lambda a, _: array_module(a).where(m, value, a))


Tensor.masked_fill_ = _masked_fill_
