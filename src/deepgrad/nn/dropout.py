"""Dropout layers (active in training mode only)."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from ._validate import probability
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"]


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
        return F.dropout(input, self.p, self.training, self.inplace)

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


class _ChannelDropout(Module):
    n = 2
    fn = None

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p, self.inplace = probability(type(self).__name__, "p", p), inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return type(self).fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_ChannelDropout):
    """Channel dropout for (N, C, L) or (C, L) inputs. See :class:`Dropout2d`."""

    fn = staticmethod(F.dropout1d)


class Dropout2d(_ChannelDropout):
    """Channel dropout: in training out(N_i, C_j) = input(N_i, C_j) · m(N_i, C_j) / (1 − p), m ~ Bernoulli(1 − p).

    Zeroes whole feature maps (neighbouring pixels are correlated, so element dropout barely regularises a conv
    layer); identity in eval mode. Input (N, C, H, W); a 3-d input is read as (N, C, L), with PyTorch's warning.

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Dropout2d(0.5).eval()(dg.ones(1, 2, 2, 2)).sum().item()
        8.0
    """

    fn = staticmethod(F.dropout2d)


class Dropout3d(_ChannelDropout):
    """Channel dropout for (N, C, D, H, W) or (C, D, H, W) inputs. See :class:`Dropout2d`."""

    fn = staticmethod(F.dropout3d)
