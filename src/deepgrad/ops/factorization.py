"""Matrix factorisations and triangular solves: ``cholesky`` and ``solve_triangular`` (as ``torch.linalg``).

The backward formulas are written with these same ops, so second derivatives exist. Batched inputs broadcast over
their leading axes.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from ._util import ShapeError, describe
from .elementwise import _check_devices
from .matrix import tril, triu

__all__ = ["cholesky", "solve_triangular", "cholesky_inverse"]


def _batch(a, b):
    """Both operands broadcast to a common batch shape (CuPy's solvers do not broadcast)."""
    xp = array_module(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])


class SolveTriangular(Function):
    """X = A⁻¹ B for triangular A (left) or X = B A⁻¹ (right).

    Left: ∂B = A⁻ᵀ G, ∂A = −tri(∂B Xᵀ); right: ∂B = G A⁻ᵀ, ∂A = −tri(Xᵀ ∂B), where tri keeps A's triangle.
    """

    saves_inputs = (0,)
    saves_output = True

    def __init__(self, upper: bool, left: bool, unitriangular: bool):
        self.upper, self.left, self.unit = upper, left, unitriangular

    def forward(self, a, b):
        xp = array_module(a)
        a = xp.triu(a) if self.upper else xp.tril(a)
        if self.unit:
            a = a.copy()
            idx = xp.arange(a.shape[-1])
            a[..., idx, idx] = 1
        if self.left:
            a2, b2 = _batch(a, b)
            return xp.linalg.solve(a2, b2)
        a2, b2 = _batch(xp.swapaxes(a, -1, -2), xp.swapaxes(b, -1, -2))
        return xp.swapaxes(xp.linalg.solve(a2, b2), -1, -2)

    def backward(self, g):
        a = self.inputs[0]
        x = self.output()
        na, nb = self.needs_input_grad
        at = a.mT
        if self.left:
            gb = solve_triangular(at, g, upper=not self.upper, left=True, unitriangular=self.unit)
            ga = -(gb @ x.mT) if na else None
        else:
            gb = solve_triangular(at, g, upper=not self.upper, left=False, unitriangular=self.unit)
            ga = -(x.mT @ gb) if na else None
        if ga is not None:
            ga = triu(ga, 1 if self.unit else 0) if self.upper else tril(ga, -1 if self.unit else 0)
        return ga, (gb if nb else None)


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True,  # noqa: N803 - torch's names
                     unitriangular: bool = False) -> Tensor:
    """The solution X of A X = B (``left=True``) or X A = B, for A triangular (``torch.linalg.solve_triangular``).

    Only A's ``upper`` (or lower) triangle is read; with ``unitriangular`` its diagonal is taken as ones.

    Shape:
        A: (*, n, n); B: (*, n, k) when left, (*, k, n) otherwise; batch axes broadcast.

    Example:
        >>> import deepgrad as dg
        >>> L = dg.tensor([[2.0, 0.0], [1.0, 1.0]])
        >>> dg.linalg.solve_triangular(L, dg.tensor([[2.0], [3.0]]), upper=False).tolist()
        [[1.0], [2.0]]
    """
    for name, t in (("A", A), ("B", B)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ShapeError(f"solve_triangular: {name} must be a tensor with at least 2 dimensions, got {describe(t)}")
    _check_devices("solve_triangular", A, B)
    n = A.shape[-1]
    if A.shape[-2] != n:
        raise ShapeError(f"solve_triangular: A must be square (*, n, n), got shape {tuple(A.shape)}")
    if (B.shape[-2] if left else B.shape[-1]) != n:
        side = "rows" if left else "columns"
        raise ShapeError(f"solve_triangular: B of shape {tuple(B.shape)} must have {n} {side} to match A of shape "
                         f"{tuple(A.shape)} (left={left})")
    if A.dtype != B.dtype or A.dtype.kind != "f":
        raise TypeError(f"solve_triangular: A and B must be floating tensors of one dtype, got {A.dtype} and {B.dtype}")
    return SolveTriangular(bool(upper), bool(left), bool(unitriangular))(A, B)


class Cholesky(Function):
    """A = L Lᵀ with L lower triangular (only A's lower triangle is read).

    ∂A = ½ L⁻ᵀ (Φ + Φᵀ − diag Φ) L⁻¹ with Φ = tril(Lᵀ ∂L) — symmetric, as A is (Murray, 2016; PyTorch's rule).
    """

    saves_output = True

    def forward(self, a):
        xp = array_module(a)
        try:
            return xp.linalg.cholesky(a)
        except xp.linalg.LinAlgError:
            raise ValueError("cholesky: the input is not positive-definite (the factorisation failed); "
                             "check that the matrix is symmetric with positive eigenvalues") from None

    def backward(self, g):
        L = self.output()  # noqa: N806
        phi = tril(L.mT @ g)
        phi = (phi + tril(phi, -1).mT) * 0.5
        ga = solve_triangular(L.mT, phi, upper=True, left=True)
        return (solve_triangular(L, ga, upper=False, left=False),)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    """The Cholesky factor L (lower triangular, positive diagonal) with A = L Lᵀ (``torch.linalg.cholesky``);
    with ``upper=True`` it returns U = Lᵀ, with A = Uᵀ U.

    Shape:
        A: (*, n, n), symmetric positive-definite; only its lower triangle is read.

    Example:
        >>> import deepgrad as dg
        >>> dg.linalg.cholesky(dg.tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
        [[2.0, 0.0], [1.0, 1.0]]
    """
    if not isinstance(A, Tensor) or A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ShapeError(f"cholesky: expected a batch of square matrices (*, n, n), got {describe(A)}")
    if A.dtype.kind != "f":
        raise TypeError(f"cholesky: expected a floating tensor, got {A.dtype}")
    L = Cholesky()(A)  # noqa: N806
    return L.mT if upper else L


def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:  # noqa: N803
    """A⁻¹ from the Cholesky factor of A: (L Lᵀ)⁻¹ = L⁻ᵀ L⁻¹ (``torch.cholesky_inverse``)."""
    from ..creation import eye

    eye_n = eye(L.shape[-1], dtype=L.dtype, device=L.device)
    if upper:
        L = L.mT  # noqa: N806
    inv_l = solve_triangular(L, eye_n, upper=False)
    return inv_l.mT @ inv_l
