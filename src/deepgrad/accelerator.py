"""``deepgrad.accelerator``: which accelerator a program should use (``torch.accelerator``).

deepgrad's one accelerator is CUDA through CuPy, so this agrees with :mod:`deepgrad.cuda` everywhere:

>>> import deepgrad as dg
>>> device = dg.accelerator.current_accelerator().type if dg.accelerator.is_available() else "cpu"
>>> device in ("cpu", "cuda")
True
"""
from __future__ import annotations

from . import backend, cuda
from .backend import Device

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "set_device_index",
           "synchronize"]


def is_available() -> bool:
    """True when an accelerator (a GPU seen by CuPy) can run deepgrad's tensors."""
    return cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator as a ``deepgrad.device`` (``.type == 'cuda'``), or ``None`` when there is none.

    As in PyTorch, ``None`` is returned without a GPU; with ``check_available=True`` too (the flag exists for
    PyTorch's build-time vs run-time distinction, which does not arise here).
    """
    if not is_available():
        return None
    return Device(f"cuda:{current_device_index()}")


def device_count() -> int:
    """How many accelerator devices are visible (0 without a GPU)."""
    return cuda.device_count() if is_available() else 0


def current_device_index() -> int:
    """The index of the GPU that new CUDA tensors go to."""
    if not is_available():
        raise RuntimeError("accelerator.current_device_index: no accelerator is available (CuPy sees no GPU)")
    return int(backend.cupy.cuda.Device().id)


def set_device_index(device: int | Device) -> None:
    """Make ``device`` (an index or a ``cuda:N`` device) the GPU that new CUDA tensors go to."""
    if not is_available():
        raise RuntimeError("accelerator.set_device_index: no accelerator is available (CuPy sees no GPU)")
    index = device.index if isinstance(device, Device) else int(device)
    if not 0 <= (index or 0) < device_count():
        raise ValueError(f"accelerator.set_device_index: device {index} does not exist ({device_count()} visible)")
    backend.cupy.cuda.Device(index or 0).use()


def synchronize(device: int | Device | None = None) -> None:
    """Wait for every queued kernel on the accelerator to finish (nothing to wait for without one)."""
    if is_available():
        cuda.synchronize()
