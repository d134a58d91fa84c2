"""Sub-pixel rearrangements: ``pixel_shuffle`` and its inverse ``pixel_unshuffle`` (Shi et al., 2016).

Pure reshapes and one permutation, so the gradient is the inverse rearrangement of the incoming gradient.
"""
from __future__ import annotations

from ...ops._util import ShapeError
from ...tensor import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(op: str, x, r) -> None:
    if not isinstance(r, int) or isinstance(r, bool) or r < 1:
        raise ValueError(f"{op}: the factor must be a positive integer, got {r!r}")
    if not isinstance(x, Tensor) or x.ndim < 3:
        raise ShapeError(f"{op}: expected a tensor (*, C, H, W) with at least 3 dimensions, got "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C·r², H, W) → (*, C, H·r, W·r): out[..., c, h·r + i, w·r + j] = x[..., c·r² + i·r + j, h, w].

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.functional.pixel_shuffle(dg.arange(4.0).reshape(1, 4, 1, 1), 2).tolist()
        [[[[0.0, 1.0], [2.0, 3.0]]]]
    """
    r = upscale_factor
    _check("pixel_shuffle", input, r)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: the channel count {c} must be divisible by upscale_factor² = {r * r}")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :func:`pixel_shuffle`."""
    r = downscale_factor
    _check("pixel_unshuffle", input, r)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: height {h} and width {w} must be divisible by downscale_factor {r}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
