"""``embedding``: rows of a weight matrix looked up by integer index."""
from __future__ import annotations

from ...autograd.function import Function
from ...backend import array_module
from ...ops._util import check_index_range
from ...ops.index import IndexAdd
from ...tensor import Tensor

__all__ = ["embedding"]


class _Embedding(Function):
    """y[..., :] = W[idx[...], :]; ∂W accumulates g's rows at ``idx`` (except the ``padding_idx`` row)."""

    def __init__(self, idx, padding_idx):
        self.idx, self.padding_idx = idx, padding_idx

    def forward(self, w):
        self.num = w.shape[0]
        return array_module(w).take(w, self.idx, axis=0)

    def backward(self, g):
        flat = self.idx.reshape(-1)
        if self.padding_idx is not None:
            flat = flat.copy()
            flat[flat == self.padding_idx] = -1  # sent past the end and dropped below
            gw = IndexAdd(0, flat % (self.num + 1), (self.num + 1, g.shape[-1]))(g.reshape(-1, g.shape[-1]))
            return (gw[: self.num],)
        return (IndexAdd(0, flat, (self.num, g.shape[-1]))(g.reshape(-1, g.shape[-1])),)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:  # noqa: A002
    """y = W[input]: each integer of ``input`` (any shape) selects a row of ``weight`` (num_embeddings, dim).

    The row ``padding_idx`` receives no gradient.
    """
    if not isinstance(input, Tensor) or input.dtype.kind not in "iu":
        got = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"embedding: input must be an integer tensor of indices, got {got}; use .long()")
    n = weight.shape[0]
    idx = input._data
    check_index_range("embedding", idx, 0, n)
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    return _Embedding(idx, padding_idx)(weight)
