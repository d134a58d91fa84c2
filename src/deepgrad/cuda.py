"""``deepgrad.cuda``: what PyTorch users look for in ``torch.cuda``, the legacy ``FloatTensor``-style types on the
CUDA device included (see :mod:`deepgrad.tensor_types`)."""
from __future__ import annotations

from . import backend
from .tensor_types import CUDA_TYPES

FloatTensor = CUDA_TYPES["FloatTensor"]
DoubleTensor = CUDA_TYPES["DoubleTensor"]
HalfTensor = CUDA_TYPES["HalfTensor"]
LongTensor = CUDA_TYPES["LongTensor"]
IntTensor = CUDA_TYPES["IntTensor"]
ShortTensor = CUDA_TYPES["ShortTensor"]
CharTensor = CUDA_TYPES["CharTensor"]
ByteTensor = CUDA_TYPES["ByteTensor"]
BoolTensor = CUDA_TYPES["BoolTensor"]


def is_available() -> bool:
    """True when CuPy is installed and at least one NVIDIA GPU is visible."""
    return backend.cuda_available()


def device_count() -> int:
    return backend.cuda_device_count()


def synchronize() -> None:
    """Wait for every queued GPU kernel to finish (for honest timings)."""
    if backend.cupy is not None:
        backend.cupy.cuda.Device().synchronize()


def manual_seed(seed: int) -> None:
    backend.manual_seed(seed)
