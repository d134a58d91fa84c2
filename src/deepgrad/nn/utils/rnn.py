"""Variable-length batches for the recurrent layers, as in ``torch.nn.utils.rnn``.

A batch of sequences of lengths l_0 ≥ l_1 ≥ … is *packed* time step by time step: ``data`` holds x_0 of every
sequence that has a step 0, then x_1 of every sequence that has a step 1, …, and ``batch_sizes[t]`` says how many
sequences are still running at step t. A recurrent layer given a ``PackedSequence`` runs each sequence for its own
length only (h_n is the state after its last element, also for the reverse direction) and returns its output packed
the same way. Unsorted batches are sorted by decreasing length (``sorted_indices``) and restored on the way out
(``unsorted_indices``).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ... import ops
from ...creation import tensor
from ...ops._util import ShapeError
from ...ops.index import IndexPut
from ...tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence", "pack_sequence",
           "unpad_sequence", "unpack_sequence", "invert_permutation"]


class PackedSequence(NamedTuple):
    """Sequences packed step by step: data (Σ lengths, *), batch_sizes (L,) int64, sorted_indices and
    unsorted_indices (N,) int64 or None (None: the batch was already sorted by decreasing length)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def lengths(self) -> np.ndarray:
        """The length of each sequence, in packed (sorted) order."""
        bs = self.batch_sizes.numpy()
        return (bs[None, :] > np.arange(bs[0])[:, None]).sum(1)

    def to(self, *args, **kwargs) -> PackedSequence:
        return self._replace(data=self.data.to(*args, **kwargs))

    @property
    def is_cuda(self) -> bool:
        return self.data.device.type == "cuda"


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The permutation q with q[p[i]] = i."""
    if permutation is None:
        return None
    p = permutation.numpy()
    q = np.empty_like(p)
    q[p] = np.arange(len(p))
    return tensor(q)


def _lengths(lengths, who: str) -> np.ndarray:
    arr = lengths.numpy() if isinstance(lengths, Tensor) else np.asarray(lengths)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValueError(f"{who}: lengths must be a 1-d sequence of integers, got {arr.dtype} of shape {arr.shape}")
    if len(arr) and arr.min() <= 0:
        raise ValueError(f"{who}: every length must be positive, got {arr.tolist()}")
    return arr.astype(np.int64)


def _packed_index(lengths: np.ndarray, batch: int) -> np.ndarray:
    """Flat positions t·N + b of the packed elements in an (L, N) time-major grid, step by step."""
    steps = int(lengths.max())
    grid = lengths[None, :] > np.arange(steps)[:, None]  # (L, N), the sequences running at step t
    return np.flatnonzero(grid.reshape(-1)) if batch else np.zeros(0, np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,  # noqa: A002
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch (L, N, *) (or (N, L, *) batch-first) whose sequence b has ``lengths[b]`` valid steps.

    Args:
        input: the padded batch. lengths: (N,) ints (list or int64 tensor), each 1 ≤ l ≤ L.
        batch_first: input is (N, L, *). enforce_sorted: require lengths in decreasing order (else they are sorted
            here and ``unsorted_indices`` restores the order later).

    Returns:
        PackedSequence; differentiable with respect to ``input``.

    Example:
        >>> import deepgrad as dg
        >>> p = dg.nn.utils.rnn.pack_padded_sequence(dg.randn(4, 2, 3), [4, 2])
        >>> p.data.shape, p.batch_sizes.tolist()
        ((6, 3), [2, 2, 1, 1])
    """
    n_axis = 0 if batch_first else 1
    if input.ndim < 2:
        raise ShapeError(f"pack_padded_sequence: expected input of at least 2 dimensions (L, N, *), got shape "
                         f"{tuple(input.shape)}")
    ls = _lengths(lengths, "pack_padded_sequence")
    if len(ls) != input.shape[n_axis]:
        raise ValueError(f"pack_padded_sequence: {len(ls)} lengths for a batch of {input.shape[n_axis]} sequences")
    if len(ls) and ls.max() > input.shape[1 - n_axis]:
        raise ValueError(f"pack_padded_sequence: a length of {ls.max()} exceeds the {input.shape[1 - n_axis]} "
                         "steps of the padded input")
    sorted_idx = None
    if enforce_sorted:
        if np.any(np.diff(ls) > 0):
            raise ValueError(f"pack_padded_sequence: lengths must be sorted in decreasing order when "
                             f"enforce_sorted=True, got {ls.tolist()}; pass enforce_sorted=False to have them sorted")
    else:
        order = np.argsort(-ls, kind="stable")
        sorted_idx = tensor(order)
        ls = ls[order]
        input = input[:, order] if not batch_first else input[order]
    x = input.transpose(0, 1) if batch_first else input
    steps, batch = int(ls.max()), x.shape[1]
    flat = x[:steps].reshape(steps * batch, *x.shape[2:])
    data = flat[tensor(_packed_index(ls, batch))]
    batch_sizes = (ls[None, :] > np.arange(steps)[:, None]).sum(1).astype(np.int64)
    return PackedSequence(data, tensor(batch_sizes), sorted_idx, invert_permutation(sorted_idx))


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: (padded (L, N, *) or (N, L, *), lengths (N,) int64), in the
    batch's original order; positions past a sequence's end hold ``padding_value``; ``total_length`` pads L further.
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data = sequence.data
    ls = sequence.lengths()
    steps, batch = len(sequence.batch_sizes), len(ls)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length={total_length} is shorter than the longest "
                             f"sequence ({steps} steps)")
        steps = total_length
    idx = _packed_index(ls, batch)
    out = IndexPut((idx,), (steps * batch, *data.shape[1:]))(data).reshape(steps, batch, *data.shape[1:])
    if padding_value:
        grid = ls[None, :] > np.arange(steps)[:, None]
        pad = np.where(grid, 0.0, padding_value).reshape(steps, batch, *([1] * (data.ndim - 1)))
        out = out + tensor(pad.astype(data.dtype), device=data.device)
    lengths = ls
    if sequence.unsorted_indices is not None:
        u = sequence.unsorted_indices.numpy()
        out = out[:, u]
        lengths = ls[u]
    if batch_first:
        out = out.transpose(0, 1)
    return out, tensor(lengths.astype(np.int64))


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack tensors (l_b, *) of different lengths into (L, N, *) (or (N, L, *)), padding with ``padding_value``."""
    if not sequences:
        raise ValueError("pad_sequence: expected at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    trailing = tuple(sequences[0].shape[1:])
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise ShapeError(f"pad_sequence: every sequence must have trailing shape {trailing}, got "
                             f"{tuple(s.shape)}")
    longest = max(s.shape[0] for s in sequences)
    rows = []
    for s in sequences:
        extra = longest - s.shape[0]
        spec = [0, 0] * len(trailing) + ([0, extra] if padding_side == "right" else [extra, 0])
        rows.append(ops.pad(s, spec, value=padding_value) if extra else s)
    return ops.stack(rows, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of tensors (l_b, *): ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """The list of sequences (l_b, *) inside a padded batch."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[b, :int(n)] for b, n in enumerate(_lengths(lengths, "unpad_sequence"))]


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The list of sequences (l_b, *) inside a PackedSequence, in the batch's original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
