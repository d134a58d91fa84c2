"""``deepgrad.cuda``: what PyTorch users look for in ``torch.cuda``."""
from __future__ import annotations

from . import backend


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
