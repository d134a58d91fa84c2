"""Dropout: random zeroing during training, scaled so that the expected activation is unchanged.

One implementation, :func:`_dropout`, serves element dropout and channel dropout (1-d, 2-d, 3-d): they differ only in
the shape of the mask, which broadcasts over the spatial dims for channel dropout. Masks come from deepgrad's seeded
default generator (``deepgrad.manual_seed``) unless a ``generator`` is given.
"""
from __future__ import annotations

import warnings

from ...creation import rand
from ...ops._util import ShapeError
from ...tensor import Tensor
from ._checks import check_float

__all__ = ["dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d"]


def _check_p(p: float, op: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability p must be in [0, 1], got {p}")


def _dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool, generator, mask_shape) -> Tensor:  # noqa: A002
    """input · m / (1 − p), m ~ Bernoulli(1 − p) of ``mask_shape`` (broadcast to the input), in training."""
    _check_p(p, op)
    check_float(input, op)
    if not training or p == 0.0:
        return input
    keep = rand(*mask_shape, dtype=input.dtype, device=input.device, generator=generator)._data >= p  # none if p = 1
    mask = Tensor._wrap(keep.astype(input.dtype) * input.dtype.type(0.0 if p == 1.0 else 1.0 / (1.0 - p)))
    return input.mul_(mask) if inplace else input * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,  # noqa: A002
            generator=None) -> Tensor:
    """Inverted dropout: y = x · m / (1 − p) with m_i ~ Bernoulli(1 − p) in training, y = x otherwise.

    ``inplace`` multiplies ``input`` itself by the mask. Masks are drawn from deepgrad's seeded default generator
    (``deepgrad.manual_seed``) unless ``generator`` is given, so runs are reproducible.
    """
    return _dropout("dropout", input, p, training, inplace, generator, tuple(input.shape))


def _channel_dropout(op: str, n: int, input: Tensor, p, training, inplace, generator) -> Tensor:  # noqa: A002
    """Dropout with one mask value per (sample, channel), shared over the n spatial dims; (C, *spatial) is taken
    as one sample."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in (n + 1, n + 2):
        raise ShapeError(f"{op}: expected a {n + 2}-d (N, C, *spatial) or {n + 1}-d (C, *spatial) input with {n} "
                         f"spatial dims, got shape {tuple(input.shape)}")
    lead = input.ndim - n  # 1 (C) or 2 (N, C)
    return _dropout(op, input, p, training, inplace, generator, tuple(input.shape[:lead]) + (1,) * n)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,  # noqa: A002
              generator=None) -> Tensor:
    """out(N_i, C_j) = input(N_i, C_j) · m(N_i, C_j) / (1 − p): whole channels of (N, C, L) or (C, L) zeroed.
    See :func:`dropout2d`."""
    return _channel_dropout("dropout1d", 1, input, p, training, inplace, generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,  # noqa: A002
              generator=None) -> Tensor:
    """out(N_i, C_j) = input(N_i, C_j) · m(N_i, C_j) / (1 − p), m ~ Bernoulli(1 − p): whole channels are zeroed.

    Inverted dropout (no rescaling at evaluation) on (N, C, H, W). A 3-d input is taken, as PyTorch takes it, as
    (N, C, L) — channel-wise 1-d dropout — with PyTorch's warning (use :func:`dropout1d` for that; PyTorch plans to
    read it as an unbatched (C, H, W) later).
    """
    if isinstance(input, Tensor) and input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior "
                      "is desired - input is interpreted as shape (N, C, L), where C is the channel dim. This behavior "
                      "will change in a future release to interpret the input as one without a batch dimension, i.e. "
                      "shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please switch to using "
                      "dropout1d instead.", stacklevel=2)
        return _channel_dropout("dropout2d", 1, input, p, training, inplace, generator)
    return _channel_dropout("dropout2d", 2, input, p, training, inplace, generator)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False, *,  # noqa: A002
              generator=None) -> Tensor:
    """Channel dropout for (N, C, D, H, W) or unbatched (C, D, H, W) inputs. See :func:`dropout2d`."""
    return _channel_dropout("dropout3d", 3, input, p, training, inplace, generator)


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
