"""Gradient clipping and flat parameter vectors."""
from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ... import backend
from ...autograd import grad_mode
from ...tensor import Tensor


def _as_list(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    r"""Rescale the gradients in place so that their joint norm is at most ``max_norm``.

    The total norm is that of all gradients concatenated into one vector,
    :math:`\lVert g \rVert_p = (\sum_i \lVert g_i \rVert_p^p)^{1/p}` (the largest :math:`|g|` for ``norm_type=inf``).
    Every gradient is multiplied by :math:`\min(1, \text{max\_norm} / (\lVert g \rVert_p + 10^{-6}))`.

    Returns:
        The total norm *before* clipping, as a 0-d Tensor (0 when no parameter has a gradient).

    Raises:
        RuntimeError: when ``error_if_nonfinite`` and the total norm is nan or inf.
    """
    params = [p for p in _as_list(parameters) if p.grad is not None]
    grads = [p.grad._data for p in params]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor._wrap(np.zeros((), dtype=backend.get_default_dtype()))
    xp = backend.array_module(grads[0])
    if norm_type == math.inf:
        total = xp.max(xp.stack([xp.abs(g).max() for g in grads]))
    else:
        per = xp.stack([xp.linalg.norm(g.ravel(), ord=norm_type) for g in grads])
        total = xp.linalg.norm(per, ord=norm_type)
    total_f = float(total)
    if error_if_nonfinite and not math.isfinite(total_f):
        raise RuntimeError(f"clip_grad_norm_: the total {norm_type}-norm of the gradients is {total_f}, so they cannot "
                           "be clipped; set error_if_nonfinite=False to scale them anyway")
    coef = min(1.0, max_norm / (total_f + 1e-6))
    if coef < 1.0:
        for p in params:
            _scale_grad(p, coef)
    return Tensor._wrap(xp.asarray(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            g = p.grad._data
            clipped = backend.array_module(g).clip(g, -clip_value, clip_value)
            _replace_grad(p, clipped)


def _writable(a) -> bool:
    return getattr(a.flags, "writeable", True)  # CuPy arrays are always writable


def _replace_grad(p: Tensor, values) -> None:
    """Put ``values`` into ``p.grad`` in place, or as a new array when the gradient is a read-only view."""
    if _writable(p.grad._data):
        p.grad._data[...] = values
    else:
        p.grad._data = values


def _scale_grad(p: Tensor, coef: float) -> None:
    _replace_grad(p, p.grad._data * coef)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated into one vector (differentiable, in the order given)."""
    from ... import cat

    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters' values (in place, no graph)."""
    if not isinstance(vec, Tensor) or vec.ndim != 1:
        raise TypeError(f"vector_to_parameters: expected a 1-D Tensor, got "
                        f"{type(vec).__name__ if not isinstance(vec, Tensor) else f'shape {tuple(vec.shape)}'}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector_to_parameters: the vector has {vec.numel()} elements, the parameters {total}")
    offset = 0
    with grad_mode.no_grad():
        for p in params:
            n = p.numel()
            p._set(backend.to_device(vec._data[offset:offset + n], p.device).reshape(p.shape))
            offset += n
