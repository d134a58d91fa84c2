"""Weight penalties over a set of parameters, to add to a loss: ``loss + λ · l2_penalty(model.parameters())``."""
from __future__ import annotations

from collections.abc import Iterable

from ... import ops
from ...tensor import Tensor

__all__ = ["l1_penalty", "l2_penalty", "elastic_net_penalty"]


def _params(params, op: str) -> list[Tensor]:
    ps = [params] if isinstance(params, Tensor) else list(params)
    if not ps:
        raise ValueError(f"{op}: got no parameters (an exhausted generator? pass list(model.parameters()))")
    return ps


def l1_penalty(params: Iterable[Tensor] | Tensor) -> Tensor:
    """R₁(W) = Σ_k |W_k| over every element of every tensor in ``params`` (encourages sparse weights)."""
    return sum(ops.abs(p).sum() for p in _params(params, "l1_penalty"))


def l2_penalty(params: Iterable[Tensor] | Tensor) -> Tensor:
    """R₂(W) = Σ_k W_k² over every element of every tensor in ``params`` (weight decay: ∂(λR₂)/∂W = 2λW).

    No factor ½; write ``0.5 * lam * l2_penalty(...)`` for the lectures' ½λ‖W‖² convention.
    """
    return sum((p * p).sum() for p in _params(params, "l2_penalty"))


def elastic_net_penalty(params: Iterable[Tensor] | Tensor, l1_ratio: float = 0.5) -> Tensor:
    """R(W) = ρ Σ|W_k| + (1 − ρ) Σ W_k², ρ = ``l1_ratio`` ∈ [0, 1] (ρ = 1: L1 only, ρ = 0: L2 only)."""
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"elastic_net_penalty: l1_ratio must be in [0, 1], got {l1_ratio}")
    ps = _params(params, "elastic_net_penalty")
    return l1_penalty(ps) * l1_ratio + l2_penalty(ps) * (1.0 - l1_ratio)
