"""Dropout layers (active in training mode only)."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from ._validate import probability
from .module import Module

__all__ = ["Dropout", "AlphaDropout"]


class Dropout(Module):
    """Inverted dropout: in training y = x · m / (1 − p), m_i ~ Bernoulli(1 − p); in eval y = x.

    Masks come from deepgrad's seeded default generator, so ``deepgrad.manual_seed(s)`` reproduces them.

    Args:
        p: probability of zeroing an element (default 0.5).

    Example:
        >>> import deepgrad as dg
        >>> drop = dg.nn.Dropout(0.5).eval()
        >>> drop(dg.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = probability("Dropout", "p", p), inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class AlphaDropout(Module):
    """Alpha dropout for SELU networks: keeps zero mean and unit variance (see ``functional.alpha_dropout``)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = probability("AlphaDropout", "p", p), inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.alpha_dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
