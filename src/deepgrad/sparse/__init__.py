"""``deepgrad.sparse``: sparse COO tensors and their products with dense ones (``torch.sparse``).

>>> import deepgrad as dg
>>> adj = dg.sparse_coo_tensor([[0, 1, 2], [1, 2, 0]], [1.0, 1.0, 1.0], (3, 3))
>>> x = dg.ones(3, 2, requires_grad=True)
>>> dg.sparse.mm(adj, x).sum().backward()   # gradients reach the dense operand
>>> x.grad.tolist()
[[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
"""
from __future__ import annotations

from .. import backend
from ..ops._util import ShapeError, describe
from ..tensor import Tensor
from .coo import SparseCooTensor, sparse_coo_tensor, to_sparse

__all__ = ["SparseCooTensor", "sparse_coo_tensor", "to_sparse", "mm", "spmm", "addmm", "sum", "FloatTensor",
           "DoubleTensor", "LongTensor"]


def mm(sparse: SparseCooTensor, dense: Tensor) -> Tensor:
    r"""The product of a 2-d sparse (n, k) and a dense (k, m) or (k,) tensor:
    :math:`out_{i\cdot} = \sum_{(i, j, v)} v\, dense_{j\cdot}` over the stored entries (``torch.sparse.mm``).

    Computed as a gather of the dense rows, a scale by the values and an index_add into the rows, so the gradient
    reaches both ``dense`` (∂ = Sᵀ g) and the sparse values (∂v = ⟨g_i, dense_j⟩).
    """
    if not isinstance(sparse, SparseCooTensor):
        raise TypeError(f"sparse.mm: the first operand must be a sparse COO tensor, got {describe(sparse)}; use "
                        "deepgrad.mm for two dense tensors")
    if isinstance(dense, SparseCooTensor):
        raise TypeError("sparse.mm: sparse @ sparse is not supported; convert one operand with .to_dense()")
    if not isinstance(dense, Tensor):
        raise TypeError(f"sparse.mm: the second operand must be a dense Tensor, got {describe(dense)}")
    if sparse.ndim != 2 or dense.ndim not in (1, 2):
        raise ShapeError(f"sparse.mm: expected a 2-d sparse and a 1-d or 2-d dense tensor, got sizes {sparse.shape} "
                         f"and {tuple(dense.shape)}")
    n, k = sparse.shape
    if dense.shape[0] != k:
        raise ShapeError(f"sparse.mm: {sparse.shape} @ {tuple(dense.shape)}: inner dimensions differ "
                         f"({k} vs {dense.shape[0]})")
    if sparse.dtype != dense.dtype:
        raise TypeError(f"sparse.mm: operands have different dtypes {sparse.dtype} and {dense.dtype}; convert one "
                        "with .to()")
    if sparse.device != dense.device:
        raise RuntimeError(f"sparse.mm: operands are on different devices ({sparse.device} and {dense.device}); "
                           "move one with .to(device)")
    from ..creation import zeros

    rows, cols = Tensor._wrap(sparse._idx[0]), Tensor._wrap(sparse._idx[1])
    vals = sparse._vals if dense.ndim == 1 else sparse._vals.unsqueeze(-1)
    contrib = vals * dense[cols]
    out = zeros(n, *dense.shape[1:], dtype=dense.dtype, device=dense.device)
    return out.index_add(0, rows, contrib)


def spmm(sparse: SparseCooTensor, dense: Tensor) -> Tensor:
    """``torch.spmm``: the same as :func:`mm`."""
    return mm(sparse, dense)


def addmm(mat: Tensor, sparse: SparseCooTensor, dense: Tensor, *, beta: float = 1.0, alpha: float = 1.0) -> Tensor:
    """beta · mat + alpha · (sparse @ dense) (``torch.sparse.addmm``)."""
    return mat * beta + mm(sparse, dense) * alpha


def sum(input: SparseCooTensor, dim=None) -> Tensor:  # noqa: A001,A002 - torch.sparse.sum
    """The sum of all stored values, or a dense sum over ``dim`` (``torch.sparse.sum``; dense result)."""
    if not isinstance(input, SparseCooTensor):
        raise TypeError(f"sparse.sum: expected a sparse COO tensor, got {describe(input)}")
    if dim is None:
        return input._vals.sum()
    return input.to_dense().sum(dim)


def _legacy(name: str, dtype):
    def make(*args, **kwargs) -> SparseCooTensor:
        if len(args) not in (2, 3) or kwargs.keys() - {"device"}:
            raise TypeError(f"sparse.{name}(indices, values[, size]): the legacy constructor takes indices, values "
                            "and an optional size; prefer deepgrad.sparse_coo_tensor")
        return sparse_coo_tensor(*args, dtype=dtype, **kwargs)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"``torch.sparse.{name}(indices, values, size)``: a sparse COO tensor of dtype {dtype}."
    return make


FloatTensor = _legacy("FloatTensor", backend.float32)
DoubleTensor = _legacy("DoubleTensor", backend.float64)
LongTensor = _legacy("LongTensor", backend.int64)
