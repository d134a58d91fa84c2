"""``deepgrad.nn.parallel``: PyTorch's single-process data parallelism, on one device.

``DataParallel`` and ``data_parallel`` split a batch over several GPUs in PyTorch. deepgrad runs them on one
device — the first of ``device_ids``, the current GPU, or the CPU when there is none — so programs written for
them run unchanged with the same results; asking for several devices raises and points to
``deepgrad.distributed`` (DistributedDataParallel), which is how deepgrad trains on many devices.
"""
from __future__ import annotations

import warnings
from typing import Any

from ... import backend, cuda
from ...tensor import Tensor
from ..module import Module

__all__ = ["DataParallel", "data_parallel"]


def _device_of(ids, name: str) -> backend.Device:
    """The one device to run on: the single entry of ``ids``, else the current GPU, else the CPU."""
    if ids is None:
        if not cuda.is_available():
            return backend.Device("cpu")
        if cuda.device_count() > 1:
            warnings.warn(f"{name}: deepgrad runs data parallelism on one device (cuda:0 here, of "
                          f"{cuda.device_count()}); use deepgrad.distributed for several", stacklevel=3)
        return backend.Device("cuda:0")
    ids = list(ids)
    if len(ids) > 1:
        raise NotImplementedError(f"{name}: device_ids={ids} asks for {len(ids)} devices; deepgrad's DataParallel "
                                  "runs on one device. Train on several with deepgrad.distributed's "
                                  "DistributedDataParallel (one process per device)")
    if not ids:
        return backend.Device("cpu")
    d = ids[0]
    return backend.Device(d if isinstance(d, backend.Device | str) else f"cuda:{int(d)}")


def _move(obj, device: backend.Device):
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple | list):
        return type(obj)(_move(v, device) for v in obj)
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    return obj


def _check_module_device(module: Module, device: backend.Device, name: str) -> None:
    for where, t in list(module.named_parameters()) + list(module.named_buffers()):
        if t.device != device:
            raise RuntimeError(f"{name}: the module must have its parameters and buffers on {device} (device_ids[0]) "
                               f"but {where} is on {t.device}; call module.to({str(device)!r}) first")


class DataParallel(Module):
    """Wraps ``module`` as PyTorch's ``nn.DataParallel`` does, running it on one device (see the module notes).

    Inputs are moved to that device; outputs go to ``output_device`` (default: the same device). The wrapped
    module is ``self.module``, so ``state_dict()`` names carry PyTorch's ``module.`` prefix.

    Args:
        module: the model. device_ids: at most one device (index or name). output_device: where outputs go.
        dim: the batch dimension (accepted; there is nothing to split on one device).

    Example:
        >>> import deepgrad as dg
        >>> net = dg.nn.DataParallel(dg.nn.Linear(3, 2))
        >>> net(dg.ones(4, 3)).shape, list(net.state_dict())[0]
        ((4, 2), 'module.weight')
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel: expected a Module to wrap, got {type(module).__name__}")
        self.module = module
        self.device_ids = None if device_ids is None else list(device_ids)
        self.dim = dim
        self.src_device = _device_of(device_ids, "DataParallel")
        self.output_device = self.src_device if output_device is None else _device_of([output_device], "DataParallel")

    def forward(self, *inputs: Any, **kwargs: Any):
        _check_module_device(self.module, self.src_device, "DataParallel")
        out = self.module(*_move(inputs, self.src_device), **_move(kwargs, self.src_device))
        return _move(out, self.output_device)


def data_parallel(module: Module, inputs, device_ids=None, output_device=None, dim: int = 0,
                  module_kwargs: dict | None = None):
    """``module(*inputs, **module_kwargs)`` on one device, as PyTorch's ``nn.parallel.data_parallel`` (see the
    module notes); outputs go to ``output_device`` (default: that device)."""
    device = _device_of(device_ids, "data_parallel")
    out_device = device if output_device is None else _device_of([output_device], "data_parallel")
    _check_module_device(module, device, "data_parallel")
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    out = module(*_move(inputs, device), **_move(module_kwargs or {}, device))
    return _move(out, out_device)
