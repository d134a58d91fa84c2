"""Turning samples into batches: ``default_collate`` stacks a list of samples, ``default_convert`` wraps arrays
that are already stacked (the fast path) into Tensors. Both follow the same rules, so the two paths agree:

* Tensors are stacked as they are; NumPy arrays and NumPy scalars become Tensors of their own dtype;
* Python ``int`` -> int64, ``float`` -> the default float dtype (float32), ``bool`` -> bool;
* integer fields that are one number per sample (labels) -> int64, whatever their stored width;
* tuples, lists and dicts are collated field by field; strings are kept as a list.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_SUPPORTED = {"float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"}


def _wrap(a) -> Tensor:
    if a.dtype.kind in "iu" and (a.ndim == 1 or str(a.dtype) not in _SUPPORTED):
        a = a.astype(np.int64)
    return Tensor._wrap(a)


def default_convert(batch):
    """Wrap an already-stacked batch (an array, a Tensor, or a tuple/list/dict of them) into Tensors."""
    if isinstance(batch, Tensor):
        return batch
    if isinstance(batch, np.ndarray) or hasattr(batch, "__cuda_array_interface__"):
        return _wrap(batch) if batch.dtype.kind in "biuf" else batch
    if isinstance(batch, Mapping):
        return {k: default_convert(v) for k, v in batch.items()}
    if isinstance(batch, tuple | list):
        return type(batch)(default_convert(v) for v in batch)
    return batch


def default_collate(samples: Sequence):
    """Stack a list of samples into a batch of Tensors (see the module docstring for the rules).

    Example:
        >>> import numpy as np
        >>> x, y = default_collate([(np.zeros(3, np.float32), 1), (np.ones(3, np.float32), 0)])
        >>> x.shape, y.dtype
        ((2, 3), dtype('int64'))
    """
    if len(samples) == 0:
        raise ValueError("default_collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, Tensor):
        xp = backend.array_module(first._data)
        return Tensor._wrap(xp.stack([s._data for s in samples]))
    if isinstance(first, np.ndarray | np.generic) and first.dtype.kind in "biuf":
        return _wrap(np.stack([np.asarray(s) for s in samples]))
    if hasattr(first, "__cuda_array_interface__"):
        xp = backend.array_module(first)
        return _wrap(xp.stack(list(samples)))
    if isinstance(first, bool):
        return Tensor._wrap(np.array(samples, dtype=np.bool_))
    if isinstance(first, int):
        return Tensor._wrap(np.array(samples, dtype=np.int64))
    if isinstance(first, float):
        return Tensor._wrap(np.array(samples, dtype=backend.get_default_dtype()))
    if isinstance(first, str | bytes):
        return list(samples)
    if isinstance(first, Mapping):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, tuple | list):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: every sample needs the same number of fields")
        fields = [default_collate([s[k] for s in samples]) for k in range(len(first))]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}; expected Tensors, "
                    "NumPy arrays, numbers, strings, or tuples/lists/dicts of them (or pass collate_fn=)")
