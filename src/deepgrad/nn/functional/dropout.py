"""Dropout: random zeroing during training, scaled so that the expected activation is unchanged."""
from __future__ import annotations

from ...creation import rand
from ...tensor import Tensor
from ._checks import check_float

__all__ = ["dropout", "alpha_dropout"]


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability p must be in [0, 1], got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,  # noqa: A002
            generator=None) -> Tensor:
    """Inverted dropout: y = x · m / (1 − p) with m_i ~ Bernoulli(1 − p) in training, y = x otherwise.

    Masks are drawn from deepgrad's seeded default generator (``deepgrad.manual_seed``) unless ``generator`` is
    given, so runs are reproducible.
    """
    _check_p(p, "dropout")
    check_float(input, "dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = rand(*input.shape, dtype=input.dtype, device=input.device, generator=generator)._data >= p
    return input * Tensor._wrap(keep.astype(input.dtype) * (1.0 / (1.0 - p)))


_SELU_NEG = -1.7580993408473766  # −λα of SELU: the value SELU saturates to


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False, *,  # noqa: A002
                  generator=None) -> Tensor:
    """Alpha dropout for SELU networks: dropped units are set to α' = −λα, then y = a·x' + b, with
    a = ((1 − p)(1 + p α'²))^{-1/2} and b = −a α' p, keeps zero mean and unit variance (Klambauer et al., 2017)."""
    _check_p(p, "alpha_dropout")
    check_float(input, "alpha_dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    keep = (rand(*input.shape, dtype=input.dtype, device=input.device, generator=generator)._data >= p)
    a = ((1 - p) * (1 + p * _SELU_NEG ** 2)) ** -0.5
    b = -a * _SELU_NEG * p
    keep_t = Tensor._wrap(keep.astype(input.dtype) * a)
    fill = Tensor._wrap((~keep).astype(input.dtype) * (a * _SELU_NEG) + b)
    return input * keep_t + fill
