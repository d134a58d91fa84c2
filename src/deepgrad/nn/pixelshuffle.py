"""``PixelShuffle`` and ``PixelUnshuffle``: sub-pixel convolution's rearrangement as layers."""
from __future__ import annotations

from ..tensor import Tensor
from .functional.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r), see :func:`deepgrad.nn.functional.pixel_shuffle`.

    Args:
        upscale_factor: r.

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.PixelShuffle(3)(dg.zeros(1, 9, 4, 4)).shape
        (1, 1, 12, 12)
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        if not isinstance(upscale_factor, int) or upscale_factor < 1:
            raise ValueError(f"PixelShuffle: upscale_factor must be a positive integer, got {upscale_factor!r}")
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W), see :func:`deepgrad.nn.functional.pixel_unshuffle`.

    Args:
        downscale_factor: r.
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        if not isinstance(downscale_factor, int) or downscale_factor < 1:
            raise ValueError(f"PixelUnshuffle: downscale_factor must be a positive integer, got {downscale_factor!r}")
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
