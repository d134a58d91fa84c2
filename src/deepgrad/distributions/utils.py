"""Helpers shared by the distributions: broadcasting parameters, probabilities <-> logits, shapes."""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend, ops
from ..tensor import Tensor, tensor


def as_shape(sample_shape) -> tuple:
    """``sample_shape`` as a tuple of ints (PyTorch takes a ``torch.Size``; an int or list works here too)."""
    if isinstance(sample_shape, numbers.Integral):
        return (int(sample_shape),)
    return tuple(int(s) for s in sample_shape)


def broadcast_all(*values, op: str) -> list[Tensor]:
    """Tensors and numbers broadcast to one shape; numbers take the dtype and device of the first Tensor (or the
    default dtype), so ``Normal(0.0, scale_tensor)`` lives where ``scale_tensor`` does."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    out = []
    for v in values:
        if isinstance(v, Tensor):
            out.append(v)
        elif isinstance(v, numbers.Real):
            dtype = like.dtype if like is not None and like.dtype.kind == "f" else backend.get_default_dtype()
            out.append(tensor(float(v), dtype=dtype, device=None if like is None else like.device))
        else:
            raise TypeError(f"{op}: parameters must be Tensors or numbers, got {type(v).__name__}")
    try:
        shape = np.broadcast_shapes(*(v.shape for v in out))
    except ValueError:
        raise ValueError(f"{op}: parameter shapes {[tuple(v.shape) for v in out]} do not broadcast together") from None
    return [v if tuple(v.shape) == shape else v.expand(shape) for v in out]


def clamp_probs(probs: Tensor) -> Tensor:
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(eps, 1 - eps)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """log p (categorical) or log p − log(1 − p) (binary), with p clamped to [eps, 1 − eps]."""
    p = clamp_probs(probs)
    return ops.log(p) - ops.log1p(-p) if is_binary else ops.log(p)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """σ(logits) (binary) or softmax over the last axis."""
    return ops.sigmoid(logits) if is_binary else ops.softmax(logits, -1)


def softplus(x: Tensor) -> Tensor:
    """log(1 + eˣ), computed without overflow (its derivative is σ(x) everywhere, also at 0)."""
    from ..nn.functional import softplus as _softplus

    return _softplus(x)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    """Sum over the last ``dim`` axes."""
    return value if dim == 0 else value.sum(tuple(range(-dim, 0)))


def lbeta(a: Tensor, b: Tensor) -> Tensor:
    """log B(a, b) = log Γ(a) + log Γ(b) − log Γ(a + b)."""
    return ops.lgamma(a) + ops.lgamma(b) - ops.lgamma(a + b)


def generator_rng(like: Tensor):
    """The default generator's stream for ``like``'s device (``deepgrad.manual_seed`` makes draws reproducible)."""
    return backend.default_generator.module_rng(backend.array_module(like._data), like.device)
