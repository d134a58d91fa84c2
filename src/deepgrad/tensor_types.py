"""PyTorch's legacy tensor types: ``FloatTensor``, ``DoubleTensor``, ``LongTensor``, ``IntTensor``, ``BoolTensor``...

Each is a constructor — ``FloatTensor(2, 3)`` is a zero-filled (2, 3) float32 tensor, ``LongTensor([1, 2])`` holds
those values as int64 — and a type for ``isinstance``: a CPU Tensor of that dtype is an instance, as in PyTorch.
``deepgrad.cuda.FloatTensor`` and its siblings are the same on the CUDA device (``torch.cuda.FloatTensor``): they
allocate there, so without a GPU they raise the error any CUDA allocation raises. As in PyTorch, a legacy
constructor refuses a ``device=`` of the other type. :meth:`deepgrad.Tensor.type` names these types
(``'deepgrad.FloatTensor'``, ``'deepgrad.cuda.FloatTensor'``).
"""
from __future__ import annotations

import numbers

import numpy as np

from . import backend
from .tensor import Tensor, tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
           "ByteTensor", "BoolTensor", "type_name", "dtype_of_type_name"]


class _TensorType(type):
    """The metaclass: calling the type constructs a Tensor; ``isinstance`` checks the dtype and the CPU device."""

    dtype: np.dtype
    device_type: str  # "cpu" or "cuda"

    def __call__(cls, *args, device=None) -> Tensor:
        device = backend.Device(device or cls.device_type)
        if device.type != cls.device_type:
            raise RuntimeError(f"{cls!r}: legacy constructor expects device type {cls.device_type}, "
                               f"got device {device}")
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            return tensor(args[0], dtype=cls.dtype, device=device)
        if not all(isinstance(s, numbers.Integral) and s >= 0 for s in args):
            raise TypeError(f"{cls.__name__}(*sizes) takes non-negative integer sizes or one sequence of values, "
                            f"got {args!r}")
        xp = backend.module_for(device)
        return Tensor._wrap(xp.zeros(tuple(int(s) for s in args), dtype=cls.dtype))

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device.type == cls.device_type

    def __repr__(cls) -> str:
        return f"<class 'deepgrad.{'cuda.' if cls.device_type == 'cuda' else ''}{cls.__name__}'>"


def _make(name: str, dtype, device_type: str = "cpu") -> type:
    where = "CUDA" if device_type == "cuda" else "CPU"
    return _TensorType(name, (), {"dtype": np.dtype(dtype), "device_type": device_type,
                                  "__doc__": f"A {np.dtype(dtype)} {where} tensor: ``{name}(*sizes)`` (zeros) or "
                                  f"``{name}(data)``; also an ``isinstance`` type."})


FloatTensor = _make("FloatTensor", np.float32)
DoubleTensor = _make("DoubleTensor", np.float64)
HalfTensor = _make("HalfTensor", np.float16)
LongTensor = _make("LongTensor", np.int64)
IntTensor = _make("IntTensor", np.int32)
ShortTensor = _make("ShortTensor", np.int16)
CharTensor = _make("CharTensor", np.int8)
ByteTensor = _make("ByteTensor", np.uint8)
BoolTensor = _make("BoolTensor", np.bool_)

_CPU_TYPES = (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor, ByteTensor,
              BoolTensor)
_BY_DTYPE = {t.dtype: t.__name__ for t in _CPU_TYPES}
CUDA_TYPES = {t.__name__: _make(t.__name__, t.dtype, "cuda") for t in _CPU_TYPES}  # deepgrad.cuda.FloatTensor, ...


def type_name(t: Tensor) -> str:
    """``'deepgrad.FloatTensor'`` for a float32 CPU tensor, ``'deepgrad.cuda.FloatTensor'`` on a GPU."""
    name = _BY_DTYPE.get(t.dtype)
    if name is None:
        raise TypeError(f"type(): no legacy tensor type exists for dtype {t.dtype}")
    return f"deepgrad.{'cuda.' if t.device.type == 'cuda' else ''}{name}"


def dtype_of_type_name(name: str):
    """The dtype that ``'deepgrad.FloatTensor'`` / ``'torch.cuda.LongTensor'`` / ``'FloatTensor'`` names, and
    whether it names a CUDA type."""
    parts = name.split(".")
    base, is_cuda = parts[-1], "cuda" in parts[:-1]
    for dtype, n in _BY_DTYPE.items():
        if n == base:
            return dtype, is_cuda
    raise ValueError(f"type(): unknown tensor type {name!r}; expected e.g. 'deepgrad.FloatTensor' or a dtype")
