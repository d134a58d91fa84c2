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


def mm(sparse: SparseCooTensor, dense: Tensor | SparseCooTensor) -> Tensor | SparseCooTensor:
    r"""The product of a 2-d sparse (n, k) and a dense (k, m) or (k,) tensor:
    :math:`out_{i\cdot} = \sum_{(i, j, v)} v\, dense_{j\cdot}` over the stored entries (``torch.sparse.mm``).

    Computed as a gather of the dense rows, a scale by the values and an index_add into the rows, so the gradient
    reaches both ``dense`` (∂ = Sᵀ g) and the sparse values (∂v = ⟨g_i, dense_j⟩). With a sparse (k, m) second
    operand the product is sparse and coalesced, as in PyTorch.
    """
    if not isinstance(sparse, SparseCooTensor):
        raise TypeError(f"sparse.mm: the first operand must be a sparse COO tensor, got {describe(sparse)}; use "
                        "deepgrad.mm for two dense tensors")
    if not isinstance(dense, Tensor | SparseCooTensor):
        raise TypeError(f"sparse.mm: the second operand must be a dense or sparse Tensor, got {describe(dense)}")
    _check_pair(sparse, dense)
    if isinstance(dense, SparseCooTensor):
        return _sparse_sparse_mm(sparse, dense)
    from ..creation import zeros

    rows, cols = Tensor._wrap(sparse._idx[0]), Tensor._wrap(sparse._idx[1])
    vals = sparse._vals if dense.ndim == 1 else sparse._vals.unsqueeze(-1)
    contrib = vals * dense[cols]
    out = zeros(sparse.shape[0], *dense.shape[1:], dtype=dense.dtype, device=dense.device)
    return out.index_add(0, rows, contrib)


def _check_pair(sparse: SparseCooTensor, dense) -> None:
    """Refuse operands of ``mm`` whose dimensions, dtypes or devices do not fit, in a sentence."""
    if sparse.dense_dim() or getattr(dense, "is_sparse", False) and dense.dense_dim():
        raise ShapeError("sparse.mm: hybrid sparse tensors (with dense dimensions) are not supported by mm, as in "
                         "PyTorch; convert with .to_dense()")
    if sparse.ndim != 2 or dense.ndim not in (1, 2) or (dense.ndim == 1 and getattr(dense, "is_sparse", False)):
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


def _sparse_sparse_mm(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    r"""A @ B for sparse (n, k) A and (k, m) B, sparse and coalesced: every stored pair a_ij, b_jl with the same j
    contributes a_ij b_jl at (i, l), and coalescing sums the contributions.

    The pairs are found without a dense intermediate: B's entries sorted by row, each entry of A is matched with
    the run of B's entries in row j. The products are ops on the two value vectors, so gradients reach both: the
    gradient with respect to each stored value (PyTorch's gradient, read on the operand's own coordinates).
    """
    xp = backend.array_module(a._idx)
    order = xp.argsort(b._idx[0], kind="stable")
    b_rows, b_cols = b._idx[0][order], b._idx[1][order]
    counts = xp.bincount(b_rows, minlength=b.shape[0])
    starts = xp.cumsum(counts) - counts
    a_rows, a_cols = a._idx[0], a._idx[1]
    per_a = counts[a_cols]  # how many entries of B each entry of A meets
    ends = xp.cumsum(per_a)
    first = ends - per_a
    # pair p belongs to the entry of A whose run [first, end) holds it (a search, not repeat: CuPy's repeat takes
    # no array of counts)
    a_pos = xp.searchsorted(ends, xp.arange(int(ends[-1]) if ends.shape[0] else 0), side="right")
    b_pos = starts[a_cols][a_pos] + xp.arange(a_pos.shape[0]) - first[a_pos]
    values = a._vals[Tensor._wrap(a_pos)] * b._vals[Tensor._wrap(order[b_pos])]
    idx = xp.stack([a_rows[a_pos], b_cols[b_pos]]).astype("int64")
    return SparseCooTensor(idx, values, (a.shape[0], b.shape[1])).coalesce()


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
