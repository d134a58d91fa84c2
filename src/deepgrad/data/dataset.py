"""Datasets: anything with ``__getitem__`` and ``__len__``, plus wrappers that index whole arrays at once.

A dataset may also offer ``get_batch(indices)``: the samples at a NumPy array of indices, already stacked (a
tuple of arrays, one per field). :class:`~deepgrad.data.DataLoader` uses it to take a batch by fancy-indexing
whole arrays instead of looping over samples in Python.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from .transforms import apply_batch

__all__ = ["Dataset", "IterableDataset", "ArrayDataset", "TensorDataset", "StackDataset", "Subset", "ConcatDataset",
           "ChainDataset", "supports_batches"]


class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample ``i``, ``len(dataset)`` the number of samples.

    Subclasses define ``__getitem__`` and ``__len__``; ``a + b`` concatenates two datasets.
    """

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset:
    """A stream-style dataset: ``iter(dataset)`` yields the samples (no indexing, no sampler, no shuffle).

    With ``DataLoader(num_workers=N)`` every worker iterates its own copy, so a dataset that should not repeat
    itself N times splits the stream using :func:`~deepgrad.data.get_worker_info` (``id``, ``num_workers``).
    ``a + b`` chains two streams.

    Example:
        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         from deepgrad.data import get_worker_info
        ...         info = get_worker_info()
        ...         first, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(first, self.n, step))
        >>> list(Count(5))
        [0, 1, 2, 3, 4]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after another."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: expected IterableDatasets, got {type(d).__name__}")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def supports_batches(dataset) -> bool:
    """True when ``dataset.get_batch(indices)`` can take a whole batch at once."""
    fn = getattr(dataset, "get_batch", None)
    return fn is not None and getattr(dataset, "batchable", True)


def _check_index(index, n: int, who: str) -> int:
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"{who}: index {i} is out of range for {n} samples")
    return i + n if i < 0 else i


def _as_index_array(indices, xp=np):
    idx = np.asarray(indices, dtype=np.int64)
    return idx if xp is np else xp.asarray(idx)


def _same_length(arrays: Sequence, who: str) -> int:
    if not arrays:
        raise ValueError(f"{who}: expected at least one array")
    n = len(arrays[0])
    for k, a in enumerate(arrays):
        if len(a) != n:
            raise ValueError(f"{who}: every array needs the same first dimension; array 0 has {n} rows, "
                             f"array {k} has {len(a)}")
    return n


class ArrayDataset(Dataset):
    """Samples are the rows of NumPy (or CuPy) arrays of equal length: ``dataset[i] = (X[i], y[i], ...)``.

    Args:
        *arrays: arrays sharing their first dimension (a single array gives single-field samples).
        transform: callable applied to the first field of each sample (e.g. images); transforms from
            :mod:`deepgrad.data.transforms` also have a ``batch`` method, which the loader's fast path uses.
        target_transform: callable applied to the second field (e.g. labels).

    Example:
        >>> import numpy as np
        >>> ds = ArrayDataset(np.zeros((10, 3), np.float32), np.arange(10))
        >>> len(ds), int(ds[2][1])
        (10, 2)
    """

    def __init__(self, *arrays, transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        self.arrays = tuple(np.asarray(a) if not hasattr(a, "__cuda_array_interface__") else a for a in arrays)
        self._n = _same_length(self.arrays, type(self).__name__)
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return self._n

    def _fields(self, fields: list):
        if self.transform is not None:
            fields[0] = self.transform(fields[0])
        if self.target_transform is not None and len(fields) > 1:
            fields[1] = self.target_transform(fields[1])
        return fields[0] if len(fields) == 1 else tuple(fields)

    def __getitem__(self, index: int):
        i = _check_index(index, self._n, type(self).__name__)
        return self._fields([a[i] for a in self.arrays])

    def get_batch(self, indices):
        """The samples at ``indices`` stacked: one fancy-index per array, transforms applied batch-wise."""
        fields = [a[_as_index_array(indices, backend.array_module(a))] for a in self.arrays]
        if self.transform is not None:
            fields[0] = apply_batch(self.transform, fields[0])
        if self.target_transform is not None and len(fields) > 1:
            fields[1] = apply_batch(self.target_transform, fields[1])
        return fields[0] if len(fields) == 1 else tuple(fields)


class TensorDataset(Dataset):
    """Samples are the rows of tensors of equal length: ``dataset[i] = (t0[i], t1[i], ...)`` as Tensors.

    NumPy arrays are accepted too and wrapped. Batches come from one fancy-index per tensor.
    """

    def __init__(self, *tensors) -> None:
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor._wrap(np.asarray(t)) for t in tensors)
        self._n = _same_length([t._data for t in self.tensors], "TensorDataset")

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int):
        i = _check_index(index, self._n, "TensorDataset")
        return tuple(Tensor._wrap(t._data[i]) for t in self.tensors)

    def get_batch(self, indices):
        return tuple(Tensor._wrap(t._data[_as_index_array(indices, backend.array_module(t._data))])
                     for t in self.tensors)


class StackDataset(Dataset):
    """Several datasets of equal length side by side: sample ``i`` is ``(a[i], b[i], ...)``, or with keyword
    arguments a dict ``{"a": a[i], ...}``."""

    def __init__(self, *args, **kwargs) -> None:
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets either positionally (tuple samples) or by keyword "
                             "(dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: expected at least one dataset")
        self.datasets = args or kwargs
        lengths = {len(d) for d in (args or kwargs.values())}
        if len(lengths) != 1:
            raise ValueError(f"StackDataset: every dataset needs the same length, got lengths {sorted(lengths)}")
        self._n = lengths.pop()

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: int):
        i = _check_index(index, self._n, "StackDataset")
        if isinstance(self.datasets, dict):
            return {k: d[i] for k, d in self.datasets.items()}
        return tuple(d[i] for d in self.datasets)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [-{n}, {n}) for a dataset of {n} samples")

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index: int):
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    @property
    def batchable(self) -> bool:
        return supports_batches(self.dataset)

    def get_batch(self, indices):
        return self.dataset.get_batch(self.indices[np.asarray(indices, dtype=np.int64)])


def _gather(parts: list, order: np.ndarray):
    """Concatenate per-dataset batches (arrays, Tensors or tuples of them) and put rows back in ``order``."""
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_gather([p[k] for p in parts], order) for k in range(len(first)))
    if isinstance(first, Tensor):
        xp = backend.array_module(first._data)
        return Tensor._wrap(xp.concatenate([p._data for p in parts])[xp.asarray(order)])
    xp = backend.array_module(first)
    return xp.concatenate(parts)[xp.asarray(order)]


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets: Sequence) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        i = _check_index(index, len(self), "ConcatDataset")
        k = bisect.bisect_right(self.cumulative_sizes, i)
        return self.datasets[k][i - (self.cumulative_sizes[k - 1] if k else 0)]

    @property
    def batchable(self) -> bool:
        return all(supports_batches(d) for d in self.datasets)

    def get_batch(self, indices):
        idx = np.asarray(indices, dtype=np.int64)
        which = np.searchsorted(self.cumulative_sizes, idx, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]])
        parts, positions = [], []
        for k in np.unique(which):
            sel = np.nonzero(which == k)[0]
            parts.append(self.datasets[k].get_batch(idx[sel] - starts[k]))
            positions.append(sel)
        return _gather(parts, np.argsort(np.concatenate(positions), kind="stable"))
