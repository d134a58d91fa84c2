"""Matrix structure: triangles (``tril``, ``triu``) and diagonals (``diagonal``, ``diag_embed``, ``diag``).

Each is linear, so its gradient is the same structural map applied to the incoming gradient: the triangle of the
gradient, or the gradient placed back on (or read off) the diagonal.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from ._util import ShapeError, describe, normalize_dim

__all__ = ["tril", "triu", "diagonal", "diag_embed", "diag", "t"]


class Triangle(Function):
    """tril/triu: keep the entries on and below (above) the ``k``-th diagonal of the last two axes; ∂ = same mask."""

    def __init__(self, k: int, upper: bool):
        self.k, self.upper = k, upper

    def forward(self, x):
        xp = array_module(x)
        return xp.triu(x, self.k) if self.upper else xp.tril(x, self.k)

    def backward(self, g):
        return (triu(g, self.k) if self.upper else tril(g, self.k),)


def _matrix(x, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {describe(x)}")
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected a tensor with at least 2 dimensions (..., m, n), got shape {tuple(x.shape)}")


def tril(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """Lower triangle: out[..., i, j] = x[..., i, j] if j − i ≤ diagonal else 0 (``torch.tril``).

    Example:
        >>> import deepgrad as dg
        >>> dg.tril(dg.ones(2, 2)).tolist()
        [[1.0, 0.0], [1.0, 1.0]]
    """
    _matrix(input, "tril")
    return Triangle(int(diagonal), False)(input)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """Upper triangle: out[..., i, j] = x[..., i, j] if j − i ≥ diagonal else 0 (``torch.triu``)."""
    _matrix(input, "triu")
    return Triangle(int(diagonal), True)(input)


class Diagonal(Function):
    """out[..., i] = x[..., i, i + offset] over axes (dim1, dim2), moved to the end; ∂ = the gradient placed back."""

    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def forward(self, x):
        self.shape = x.shape
        return array_module(x).diagonal(x, self.offset, self.dim1, self.dim2).copy()

    def backward(self, g):
        return (DiagonalScatter(self.shape, self.offset, self.dim1, self.dim2)(g),)


class DiagonalScatter(Function):
    """Zeros of ``shape`` with x[..., i] at [i, i + offset] of axes (dim1, dim2); ∂ = the diagonal of the gradient."""

    def __init__(self, shape: tuple, offset: int, dim1: int, dim2: int):
        self.shape, self.offset, self.dim1, self.dim2 = tuple(shape), offset, dim1, dim2

    def forward(self, x):
        xp = array_module(x)
        rest = [s for k, s in enumerate(self.shape) if k not in (self.dim1, self.dim2)]
        out = xp.zeros((*rest, self.shape[self.dim1], self.shape[self.dim2]), dtype=x.dtype)
        i = xp.arange(x.shape[-1])
        rows, cols = (i, i + self.offset) if self.offset >= 0 else (i - self.offset, i)
        out[..., rows, cols] = x
        return xp.moveaxis(out, (-2, -1), (self.dim1, self.dim2))

    def backward(self, g):
        return (diagonal(g, self.offset, self.dim1, self.dim2),)


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The ``offset``-th diagonal of the matrices spanned by ``dim1`` and ``dim2``, as a new last axis
    (``torch.diagonal``; a copy here, not a view)."""
    _matrix(input, "diagonal")
    d1, d2 = normalize_dim(dim1, input.ndim, "diagonal"), normalize_dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise ValueError(f"diagonal: dim1 and dim2 must differ, both are {d1}")
    return Diagonal(int(offset), d1, d2)(input)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: A002
    """Matrices whose ``offset``-th diagonal (over the new axes ``dim1``, ``dim2``) is the last axis of ``input``
    (``torch.diag_embed``)."""
    if not isinstance(input, Tensor) or input.ndim < 1:
        raise ShapeError(f"diag_embed: expected a tensor with at least 1 dimension, got {describe(input)}")
    nd = input.ndim + 1
    d1, d2 = normalize_dim(dim1, nd, "diag_embed"), normalize_dim(dim2, nd, "diag_embed")
    if d1 == d2:
        raise ValueError(f"diag_embed: dim1 and dim2 must differ, both are {d1}")
    n = input.shape[-1] + abs(int(offset))
    shape = [*input.shape[:-1]]
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    return DiagonalScatter(tuple(shape), int(offset), d1, d2)(input)


_diagonal = diagonal  # diag's argument is called ``diagonal``, as in PyTorch


def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002
    """``torch.diag``: a 1-d tensor becomes the square matrix with it on its ``diagonal``-th diagonal; a 2-d
    tensor gives its ``diagonal``-th diagonal as a 1-d tensor.

    Example:
        >>> import deepgrad as dg
        >>> dg.diag(dg.tensor([1.0, 2.0])).tolist()
        [[1.0, 0.0], [0.0, 2.0]]
    """
    if not isinstance(input, Tensor) or input.ndim not in (1, 2):
        got = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ShapeError(f"diag: expected a 1-d or 2-d tensor, got {got}")
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    return _diagonal(input, diagonal)


def t(input: Tensor) -> Tensor:  # noqa: A002
    """The transpose of a 2-d tensor; a 0-d or 1-d tensor is returned as it is (``torch.t``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"t: expected a Tensor, got {describe(input)}")
    if input.ndim > 2:
        raise ValueError(f"t() expects a tensor with <= 2 dimensions, but got one of shape {tuple(input.shape)}; "
                         "use .transpose(dim0, dim1) or .mT")
    return input.transpose(0, 1) if input.ndim == 2 else input
