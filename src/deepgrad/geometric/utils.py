"""Graph utilities on an edge index: segment sums, degrees, self-loops and the softmax over each node's neighbours.

A graph with N nodes is an integer ``edge_index`` of shape (2, E): column e is the edge j -> i with
``edge_index[0, e] = j`` (the source) and ``edge_index[1, e] = i`` (the target), as in PyTorch Geometric. Every
aggregation is a segment sum over the targets, out_i = Σ_{e : target(e) = i} m_e, done by ``index_add`` (a
scatter-add, O(E)); nothing builds the dense N x N adjacency.
"""
from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..tensor import Tensor

__all__ = ["check_edge_index", "gather_rows", "scatter", "degree", "add_self_loops", "remove_self_loops", "softmax",
           "to_undirected"]


def _array(index, op: str) -> np.ndarray:
    """The index as a host (NumPy) array: edge indices are checked and normalised on the host."""
    a = index.detach().cpu().numpy() if isinstance(index, Tensor) else np.asarray(index)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{op}: an index must hold integers, got dtype {a.dtype}")
    return a


def _index_like(idx: np.ndarray, like: Tensor) -> Tensor:
    """A host index moved to ``like``'s device (CuPy takes no NumPy index arrays)."""
    return Tensor._wrap(array_module(like._data).asarray(idx))


def gather_rows(x: Tensor, index) -> Tensor:
    """x[index] along dim 0 (differentiable; the gradient is a segment sum)."""
    return x.index_select(0, _index_like(_array(index, "gather_rows"), x))


def check_edge_index(edge_index, num_nodes: int | None = None, op: str = "edge_index") -> np.ndarray:
    """The edge index as an int64 array of shape (2, E), after checking its shape and range."""
    ei = _array(edge_index, op).astype(np.int64, copy=False)
    if ei.ndim != 2 or ei.shape[0] != 2:
        raise ValueError(f"{op}: edge_index must have shape (2, E), got {tuple(ei.shape)}")
    if ei.size and int(ei.min()) < 0:
        raise ValueError(f"{op}: edge_index holds a negative node index ({int(ei.min())})")
    if num_nodes is not None and ei.size and int(ei.max()) >= num_nodes:
        raise ValueError(f"{op}: edge_index refers to node {int(ei.max())} but the graph has {num_nodes} nodes")
    return ei


def scatter(src: Tensor, index, dim_size: int, reduce: str = "sum") -> Tensor:
    """out[i] = Σ_{e : index[e] = i} src[e] (``reduce='sum'``) or that sum divided by the count (``'mean'``,
    0 for an empty segment), along dim 0.

    Args:
        src: (E, ...) values, one row per edge.
        index: (E,) integer segment of each row.
        dim_size: the number of segments N.
        reduce: 'sum' (also 'add') or 'mean'.

    Returns:
        (N, ...) segment sums or means; differentiable in ``src``.
    """
    idx = _array(index, "scatter")
    if idx.ndim != 1 or idx.shape[0] != src.shape[0]:
        raise ValueError(f"scatter: index must be 1-d with one entry per row of src ({src.shape[0]}), "
                         f"got shape {tuple(idx.shape)}")
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= dim_size):
        raise ValueError(f"scatter: index values must lie in [0, {dim_size}), got {int(idx.min())}..{int(idx.max())}")
    out = src.new_zeros((dim_size,) + tuple(src.shape[1:])).index_add(0, _index_like(idx, src), src)
    if reduce in ("sum", "add"):
        return out
    if reduce == "mean":
        xp = array_module(src._data)
        count = xp.asarray(np.maximum(np.bincount(idx, minlength=dim_size), 1).astype(src.dtype))
        return out / Tensor._wrap(count.reshape((dim_size,) + (1,) * (src.ndim - 1)))
    raise ValueError(f"scatter: reduce must be 'sum', 'add' or 'mean', got {reduce!r}")


def degree(index, num_nodes: int, dtype=np.float32) -> np.ndarray:
    """deg[i] = the number of entries of ``index`` equal to i (in-degree when given edge_index[1])."""
    idx = _array(index, "degree")
    return np.bincount(idx, minlength=num_nodes).astype(dtype)


def remove_self_loops(edge_index, edge_weight: Tensor | None = None):
    """The edges j -> i with j ≠ i (and their weights)."""
    ei = check_edge_index(edge_index, op="remove_self_loops")
    keep = ei[0] != ei[1]
    return ei[:, keep], (None if edge_weight is None else edge_weight[np.nonzero(keep)[0]])


def add_self_loops(edge_index, edge_weight: Tensor | None = None, fill_value: float = 1.0,
                   num_nodes: int | None = None):
    """The edges plus one loop i -> i per node (existing loops are replaced, as PyTorch Geometric does).

    Returns (edge_index, edge_weight); loops carry ``fill_value`` when weights are given.
    """
    ei, w = remove_self_loops(edge_index, edge_weight)
    n = int(num_nodes) if num_nodes is not None else (int(ei.max()) + 1 if ei.size else 0)
    loops = np.arange(n, dtype=np.int64)
    ei = np.concatenate([ei, np.stack([loops, loops])], 1)
    if w is not None:
        from ..ops.shape import cat

        w = cat([w, w.new_full((n,), fill_value)])
    return ei, w


def to_undirected(edge_index) -> np.ndarray:
    """Both directions of every edge, each pair once, sorted by (source, target)."""
    ei = check_edge_index(edge_index, op="to_undirected")
    both = np.concatenate([ei, ei[::-1]], 1)
    return np.unique(both, axis=1)


def softmax(src: Tensor, index, num_nodes: int) -> Tensor:
    """α_e = exp(s_e) / Σ_{e' : index[e'] = index[e]} exp(s_{e'}): the softmax of the scores of each node's
    incoming edges (GAT's attention normalisation).

    The largest score of each segment is subtracted first (a constant per segment, so the gradient is unchanged).

    Args:
        src: (E,) or (E, H) scores.
        index: (E,) target node of each edge.
        num_nodes: N.
    """
    idx = _array(index, "softmax")
    xp = array_module(src._data)
    shift = xp.full((num_nodes,) + tuple(src.shape[1:]), -np.inf, dtype=src.dtype)
    didx = xp.asarray(idx)
    xp.maximum.at(shift, didx, src._data)
    e = (src - Tensor._wrap(shift[didx])).exp()
    return e / gather_rows(scatter(e, idx, num_nodes), idx)
