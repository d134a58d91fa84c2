"""Matrix products: ``matmul`` with every case of ``numpy.matmul``, ``mm``, ``bmm``, ``einsum``."""
from __future__ import annotations

import string

from .. import parallel
from ..autograd.function import Function
from ..backend import array_module
from ..promotion import require_same_dtype
from ..tensor import Tensor
from ._util import ShapeError, describe
from .elementwise import _check_devices

__all__ = ["matmul", "mm", "bmm", "einsum", "dot", "outer"]


class MatMul(Function):
    """a @ b; ∂/∂a = g bᵀ, ∂/∂b = aᵀ g (1-d operands are promoted and the result squeezed, as in NumPy)."""

    saves_inputs = (0, 1)

    def forward(self, a, b):
        return parallel.matmul(a, b)

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if na else None), (g * a if nb else None)
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g2 = g.unsqueeze(-2) if a.ndim == 1 else g
        g2 = g2.unsqueeze(-1) if b.ndim == 1 else g2
        ga = gb = None
        # For a transposed operand (an F-ordered view, e.g. W.T in x @ W.T) compute its gradient transposed, so
        # that after the Permute's backward it arrives C-contiguous: later updates of it then run at full speed.
        if na:
            ga = (b2 @ g2.mT).mT if a2.ndim == 2 and _f_ordered(a2) else g2 @ b2.mT
            if ga.shape != a2.shape:
                ga = ga.sum_to(a2.shape)
            if a.ndim == 1:
                ga = ga.reshape(a.shape)
        if nb:
            gb = (g2.mT @ a2).mT if b2.ndim == 2 and _f_ordered(b2) else a2.mT @ g2
            if gb.shape != b2.shape:
                gb = gb.sum_to(b2.shape)
            if b.ndim == 1:
                gb = gb.reshape(b.shape)
        return ga, gb


def _f_ordered(t: Tensor) -> bool:
    flags = getattr(t._data, "flags", None)
    return flags is not None and flags.f_contiguous and not flags.c_contiguous


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product with NumPy's rules: 1-d operands are vectors, leading dims broadcast as a batch."""
    if getattr(a, "is_sparse", False):  # a sparse COO first operand (GCN's adj @ x)
        from ..sparse import mm as sparse_mm

        return sparse_mm(a, b)
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"matmul: expected two Tensors, got {describe(a)} and {describe(b)}")
    _check_devices("matmul", a, b)
    sa, sb = a._data.shape, b._data.shape
    if not sa or not sb:
        raise ShapeError(f"matmul: both operands need at least 1 dimension, got shapes {tuple(sa)} and "
                         f"{tuple(sb)}; use * to scale by a scalar")
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        raise ShapeError(f"matmul: {tuple(sa)} @ {tuple(sb)}: inner dimensions differ ({ka} vs {kb})")
    if len(sa) > 2 and len(sb) > 2:
        try:
            import numpy as np

            np.broadcast_shapes(sa[:-2], sb[:-2])
        except ValueError:
            raise ShapeError(f"matmul: {tuple(sa)} @ {tuple(sb)}: batch dimensions {tuple(sa[:-2])} "
                             f"and {tuple(sb[:-2])} do not broadcast") from None
    if a._data.dtype is not b._data.dtype:
        require_same_dtype("matmul", input=a, other=b)
    return MatMul()(a, b)


def mm(a: Tensor, b: Tensor) -> Tensor:
    """Product of two matrices (n, k) @ (k, m); the first may be a sparse COO tensor."""
    if getattr(a, "is_sparse", False):
        return matmul(a, b)
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expected two 2-d tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    """Batched product (B, n, k) @ (B, k, m)."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expected (B, n, k) and (B, k, m) with the same B, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def dot(a: Tensor, b: Tensor) -> Tensor:
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expected two 1-d tensors, got {tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    return a.reshape(-1, 1) * b.reshape(1, -1)


# ------------------------------------------------------------------------------------------------ einsum
def _parse_einsum(equation: str, shapes):
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} names {len(ins)} operands but {len(shapes)} were given")
    used = set(c for c in eq if c.isalpha())
    free = [c for c in string.ascii_letters if c not in used]
    ell_nd = 0
    for s, shp in zip(ins, shapes):
        if "..." in s:
            ell_nd = max(ell_nd, len(shp) - (len(s) - 3))
    ell = "".join(free[:ell_nd])
    out_ins = []
    for s, shp in zip(ins, shapes):
        if "..." in s:
            n = len(shp) - (len(s) - 3)
            s = s.replace("...", ell[ell_nd - n:] if n else "")
        if len(s) != len(shp):
            raise ShapeError(f"einsum: subscripts {s!r} have {len(s)} letters but the operand has shape {tuple(shp)}")
        out_ins.append(s)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts = {}
        for s in out_ins:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in ell))
    return out_ins, out


class Einsum(Function):
    def __init__(self, ins, out):
        self.ins, self.out = ins, out

    def forward(self, *xs):
        return array_module(xs[0]).einsum(",".join(self.ins) + "->" + self.out, *xs)

    def backward(self, g):
        grads = []
        for i, (s, need) in enumerate(zip(self.ins, self.needs_input_grad)):
            if not need:
                grads.append(None)
                continue
            if len(set(s)) != len(s):
                raise NotImplementedError(f"einsum: the gradient for operand {i} with a repeated subscript {s!r} "
                                          "(a diagonal) is not supported; take the diagonal explicitly first")
            others = [(t, self.ins[j]) for j, t in enumerate(self.inputs) if j != i]
            present = set(self.out).union(*[set(o) for _, o in others])
            target = "".join(c for c in s if c in present)
            eq = ",".join([self.out] + [o for _, o in others]) + "->" + target
            gi = einsum(eq, g, *[t for t, _ in others])
            if target != s:  # letters only in this operand were summed out: broadcast them back
                gi = gi.reshape([self.inputs[i].shape[k] if c in present else 1 for k, c in enumerate(s)])
                gi = gi.expand([self.inputs[i].shape[k] for k in range(len(s))])
            grads.append(gi)
        return tuple(grads)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, e.g. ``einsum('bij,bjk->bik', a, b)``; ellipses and implicit outputs as in NumPy."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ins, out = _parse_einsum(equation, [t.shape for t in operands])
    dims = {}
    for s, t in zip(ins, operands):
        for c, n in zip(s, t.shape):
            if dims.setdefault(c, n) != n and n != 1 and dims[c] != 1:
                raise ShapeError(f"einsum: subscript {c!r} has size {dims[c]} in one operand and {n} in another "
                                 f"(equation {equation!r}, shapes {[tuple(t.shape) for t in operands]})")
    return Einsum(ins, out)(*operands)
