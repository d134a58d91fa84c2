"""Sparse COO tensors: a list of coordinates (``indices``, shape (sparse_dim, nnz)) and one value per coordinate.

A value is a number, or for a hybrid tensor a dense block: ``values`` has shape (nnz, *dense_dims) and the tensor's
size is the sparse sizes followed by ``dense_dims``, as in PyTorch.

The values are an ordinary Tensor, so every sparse computation here is written with dense ops on them
(index_add to scatter, indexing to gather) and differentiates like any other graph: gradients reach the values
and the dense operands.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..ops._util import ShapeError
from ..tensor import Tensor, tensor


class SparseCooTensor:
    """A sparse tensor in coordinate format (PyTorch's ``torch.sparse_coo`` layout).

    Build one with :func:`deepgrad.sparse_coo_tensor` or :meth:`Tensor.to_sparse`. Duplicated coordinates are
    allowed and mean the sum of their values; :meth:`coalesce` sorts the coordinates and sums duplicates.
    A hybrid tensor has dense trailing dimensions: each coordinate then holds a dense block (``values`` of shape
    (nnz, *dense_dims)).
    """

    is_sparse = True
    layout = "sparse_coo"
    __array_priority__ = 1001

    def __init__(self, indices, values: Tensor, size: tuple, coalesced: bool = False) -> None:
        self._idx, self._vals, self._size, self._coalesced = indices, values, tuple(size), coalesced

    # ---------------------------------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self._size

    def size(self, dim: int | None = None):
        return self._size if dim is None else self._size[dim]

    @property
    def ndim(self) -> int:
        return len(self._size)

    def dim(self) -> int:
        return len(self._size)

    def sparse_dim(self) -> int:
        return int(self._idx.shape[0])

    def dense_dim(self) -> int:
        return len(self._size) - self.sparse_dim()

    @property
    def grad(self) -> SparseCooTensor | None:
        """The gradient with respect to the stored values, on this tensor's coordinates (None before backward)."""
        g = self._vals.grad
        return None if g is None else SparseCooTensor(self._idx, g, self._size, self._coalesced)

    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def device(self) -> backend.Device:
        return self._vals.device

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def requires_grad(self) -> bool:
        return self._vals.requires_grad

    def requires_grad_(self, requires_grad: bool = True) -> SparseCooTensor:
        self._vals.requires_grad_(requires_grad)
        return self

    def _nnz(self) -> int:
        return int(self._idx.shape[1])

    def is_coalesced(self) -> bool:
        return self._coalesced

    # ----------------------------------------------------------------------------------------- contents
    def indices(self) -> Tensor:
        """The coordinates (ndim, nnz) as an int64 Tensor; the tensor must be coalesced, as in PyTorch."""
        if not self._coalesced:
            raise RuntimeError("indices(): this sparse tensor is not coalesced (it may hold duplicate or unsorted "
                               "coordinates); call .coalesce() first, or use ._indices() for the raw coordinates")
        return Tensor._wrap(self._idx)

    def values(self) -> Tensor:
        """The values (nnz, *dense_dims), in the graph (gradients flow to whatever they were computed from)."""
        if not self._coalesced:
            raise RuntimeError("values(): this sparse tensor is not coalesced; call .coalesce() first, or use "
                               "._values() for the raw values")
        return self._vals

    def _indices(self) -> Tensor:
        return Tensor._wrap(self._idx)

    def _values(self) -> Tensor:
        return self._vals

    def _linear(self):
        """Each coordinate as one row-major position among the sparse dimensions."""
        return _linear(self._idx, self._size[:self.sparse_dim()])

    def coalesce(self) -> SparseCooTensor:
        """The same tensor with coordinates sorted (row-major) and duplicates summed; differentiable."""
        if self._coalesced:
            return self
        xp = backend.array_module(self._idx)
        sparse_size = self._size[:self.sparse_dim()]
        unique, inverse = xp.unique(self._linear(), return_inverse=True)
        summed = zeros_for(self._vals, len(unique)).index_add(0, Tensor._wrap(inverse.ravel()), self._vals)
        idx = (xp.stack(xp.unravel_index(unique, sparse_size)) if sparse_size
               else xp.zeros((0, len(unique)), np.int64))
        return SparseCooTensor(idx.astype(np.int64), summed, self._size, coalesced=True)

    def to_dense(self) -> Tensor:
        """The dense tensor: zeros with each value (or dense block) added at its coordinate (duplicates sum);
        differentiable."""
        flat = zeros_for(self._vals, math.prod(self._size[:self.sparse_dim()]))
        flat = flat.index_add(0, Tensor._wrap(self._linear()), self._vals)
        return flat.reshape(self._size)

    def to(self, *args, **kwargs) -> SparseCooTensor:
        """The sparse tensor with its values (and coordinates) moved/cast as ``Tensor.to`` does."""
        vals = self._vals.to(*args, **kwargs)
        idx = backend.to_device(self._idx, vals.device)
        return SparseCooTensor(idx, vals, self._size, self._coalesced)

    def cpu(self) -> SparseCooTensor:
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> SparseCooTensor:
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self) -> SparseCooTensor:
        return self.to(backend.float32)

    def double(self) -> SparseCooTensor:
        return self.to(backend.float64)

    def detach(self) -> SparseCooTensor:
        return SparseCooTensor(self._idx, self._vals.detach(), self._size, self._coalesced)

    def t(self) -> SparseCooTensor:
        """The transpose of a 2-d sparse tensor (coordinates swapped; no longer sorted)."""
        if self.ndim != 2 or self.dense_dim():
            raise ShapeError(f"t(): expected a 2-d sparse tensor with no dense dimensions, got size {self._size} with "
                             f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        return SparseCooTensor(self._idx[::-1].copy(), self._vals, self._size[::-1], coalesced=False)

    def transpose(self, dim0: int, dim1: int) -> SparseCooTensor:
        """Two sparse dimensions swapped (swapping a dense one is not supported)."""
        sd = self.sparse_dim()
        dim0, dim1 = dim0 % self.ndim, dim1 % self.ndim
        if dim0 >= sd or dim1 >= sd:
            raise ShapeError(f"transpose({dim0}, {dim1}): only sparse dimensions can be swapped; this tensor of size "
                             f"{self._size} has {sd} sparse dimensions")
        order = list(range(sd))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        size = tuple(self._size[i] for i in order) + self._size[sd:]
        return SparseCooTensor(self._idx[order].copy(), self._vals, size, coalesced=False)

    # -------------------------------------------------------------------------------------- arithmetic
    def mm(self, other: Tensor) -> Tensor:
        from . import mm

        return mm(self, other)

    __matmul__ = mm

    def matmul(self, other: Tensor) -> Tensor:
        return self.mm(other)

    def __mul__(self, other) -> SparseCooTensor:
        if isinstance(other, Tensor | SparseCooTensor):
            raise TypeError("sparse * tensor: only multiplication by a Python number is supported for sparse tensors; "
                            "convert with .to_dense() first")
        return SparseCooTensor(self._idx, self._vals * other, self._size, self._coalesced)

    __rmul__ = __mul__

    def __neg__(self) -> SparseCooTensor:
        return self * -1

    def __truediv__(self, other) -> SparseCooTensor:
        return self * (1.0 / other)

    def __repr__(self) -> str:
        return (f"tensor(indices={np.asarray(backend.to_numpy(self._idx)).tolist()},\n       values="
                f"{self._vals!r},\n       size={self._size}, nnz={self._nnz()}, layout=deepgrad.sparse_coo)")


def zeros_for(values: Tensor, n: int) -> Tensor:
    """Zeros of shape (n, *values.shape[1:]) on ``values``' device and of its dtype (the base that index_add adds
    into)."""
    from ..creation import zeros

    return zeros(n, *values.shape[1:], dtype=values.dtype, device=values.device)


def _linear(idx, sparse_size: tuple):
    """Each coordinate (a column of ``idx``) as one row-major position in a tensor of ``sparse_size``."""
    xp = backend.array_module(idx)
    if not sparse_size:
        return xp.zeros(idx.shape[1], dtype=np.int64)
    return xp.ravel_multi_index(tuple(idx), sparse_size)


def _as_index_array(indices, device):
    if isinstance(indices, Tensor):
        a = indices._data
    else:
        a = np.asarray(indices)
    if a.dtype.kind not in "iu":
        raise TypeError(f"sparse_coo_tensor: indices must be integers, got dtype {a.dtype}")
    if a.ndim != 2:
        raise ShapeError(f"sparse_coo_tensor: indices must be 2-d (ndim, nnz), got shape {tuple(a.shape)}")
    return backend.to_device(a.astype(np.int64), device)


def sparse_coo_tensor(indices, values, size=None, dtype=None, device=None, requires_grad: bool = False,
                      check_invariants: bool | None = None, is_coalesced: bool | None = None) -> SparseCooTensor:
    """A sparse COO tensor with ``values[k]`` at coordinate ``indices[:, k]`` (``torch.sparse_coo_tensor``).

    Args:
        indices: integer (sparse_dim, nnz) coordinates.
        values: (nnz,) values, or (nnz, *dense_dims) dense blocks for a hybrid tensor (a Tensor keeps its graph).
        size: the dense shape, sparse sizes then ``dense_dims`` (default: one past the largest coordinate in each
            sparse dimension, then ``dense_dims``).
        dtype, device, requires_grad: as for :func:`deepgrad.tensor`.
        is_coalesced: promise that the coordinates are sorted and unique (checked).

    Example:
        >>> import deepgrad as dg
        >>> s = dg.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4.0, 5.0], (2, 3))
        >>> s.to_dense().tolist()
        [[0.0, 0.0, 3.0], [4.0, 0.0, 5.0]]
    """
    if isinstance(values, Tensor):
        vals = values if dtype is None else values.to(dtype)
        vals = vals if device is None else vals.to(device)
    else:
        vals = tensor(values, dtype=dtype, device=device)
    if requires_grad:
        vals.requires_grad_(True)
    idx = _as_index_array(indices, vals.device)
    if vals.ndim < 1:
        raise ShapeError("sparse_coo_tensor: values must be (nnz,) or (nnz, *dense_dims), got a 0-d tensor")
    nnz, dense = idx.shape[1], tuple(vals.shape[1:])
    if vals.shape[0] != nnz:
        raise ShapeError(f"sparse_coo_tensor: indices name {nnz} coordinates but values has {vals.shape[0]} entries")
    if nnz and int(idx.min()) < 0:
        raise ValueError(f"sparse_coo_tensor: indices must be non-negative, found {int(idx.min())}")
    largest = [int(v) for v in backend.to_numpy(idx.max(axis=1))] if nnz else [-1] * idx.shape[0]
    if size is None:
        size = (tuple(m + 1 for m in largest) if nnz else tuple(0 for _ in largest)) + dense
    size = tuple(int(s) for s in size)
    if len(size) != idx.shape[0] + len(dense) or size[idx.shape[0]:] != dense:
        raise ShapeError(f"sparse_coo_tensor: indices have {idx.shape[0]} rows (sparse dimensions) and values have "
                         f"dense dimensions {dense}, so size must be {idx.shape[0]} sparse sizes followed by {dense}, "
                         f"got {size}")
    for d, (m, s) in enumerate(zip(largest, size)):
        if m >= s:
            raise ValueError(f"sparse_coo_tensor: index {m} in dimension {d} is out of bounds for size {s}")
    coalesced = False
    if is_coalesced:
        lin = _linear(idx, size[:idx.shape[0]])
        if nnz > 1 and not bool((lin[1:] > lin[:-1]).all()):
            raise ValueError("sparse_coo_tensor: is_coalesced=True but the coordinates are not sorted and unique")
        coalesced = True
    return SparseCooTensor(idx, vals, size, coalesced)


def to_sparse(x: Tensor, sparse_dim: int | None = None) -> SparseCooTensor:
    """The nonzero entries of a dense tensor as a coalesced sparse COO tensor (``Tensor.to_sparse``); with
    ``sparse_dim`` < ``x.ndim`` a hybrid tensor holding each block ``x[i₁, ..., i_sparse_dim]`` that is not all
    zero. The values stay in the graph."""
    sd = x.ndim if sparse_dim is None else sparse_dim
    if not isinstance(sd, int) or not 0 <= sd <= x.ndim or (x.ndim and sd == 0):
        raise ValueError(f"to_sparse: sparse_dim must be an integer in [1, {x.ndim}], got {sparse_dim!r}")
    xp = backend.array_module(x._data)
    if not x.ndim:
        idx = xp.zeros((0, int(x._data != 0)), np.int64)
        return SparseCooTensor(idx, x.reshape(1)[: idx.shape[1]], (), coalesced=True)
    nonzero = x._data != 0
    if sd < x.ndim:
        nonzero = nonzero.any(axis=tuple(range(sd, x.ndim)))
    idx = xp.stack(xp.nonzero(nonzero))
    vals = x[tuple(Tensor._wrap(i) for i in idx)]
    return SparseCooTensor(idx.astype(np.int64), vals, tuple(x.shape), coalesced=True)
