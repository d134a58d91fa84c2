"""Test-time augmentation by shifts: log p(y | x) = log (1/|S|) Σ_{(dy, dx) ∈ S} softmax(f(τ_{dy,dx} x))_y, where
τ_{dy,dx} moves the image ``dy`` rows down and ``dx`` columns right (the uncovered border takes ``fill``)."""
from __future__ import annotations

import math
from collections.abc import Sequence

from .. import nn
from ..ops.reduce import logsumexp
from ..ops.shape import pad, stack
from ..tensor import Tensor

__all__ = ["ShiftTTA", "ONE_PIXEL_SHIFTS"]

#: the image itself and its four one-pixel moves (down, up, right, left)
ONE_PIXEL_SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


class ShiftTTA(nn.Module):
    """Wraps an image classifier ``model``: in eval mode its output is the log of the softmax averaged over the
    shifted copies of the input, ``log (1/|S|) Σ_s softmax(model(τ_s x))`` (so ``argmax`` is the averaged vote and
    ``cross_entropy`` of it is the averaged prediction's loss); in training mode it is ``model(x)`` unchanged.

    Args:
        model: maps (N, C, H, W) images to (N, K) logits.
        shifts: ``(dy, dx)`` whole-pixel moves, at least one.
        fill: the value of uncovered pixels (the normalised background).

    Example:
        >>> import deepgrad as dg
        >>> tta = ShiftTTA(dg.nn.Sequential(dg.nn.Flatten(), dg.nn.Linear(16, 3))).eval()
        >>> tuple(tta(dg.zeros(2, 1, 4, 4)).shape)
        (2, 3)
    """

    def __init__(self, model: nn.Module, shifts: Sequence[tuple[int, int]] = ONE_PIXEL_SHIFTS,
                 fill: float = 0.0) -> None:
        super().__init__()
        shifts = tuple((int(dy), int(dx)) for dy, dx in shifts)
        if not shifts:
            raise ValueError("ShiftTTA: shifts must name at least one (dy, dx) move, got none")
        self.model, self.shifts, self.fill = model, shifts, float(fill)
        self.margin = max(max(abs(dy), abs(dx)) for dy, dx in shifts)

    def _padded(self, x: Tensor) -> Tensor:
        if x.ndim < 3:
            raise ValueError(f"ShiftTTA: expected (N, C, H, W) images, got shape {tuple(x.shape)}")
        m = self.margin
        return pad(x, (m, m, m, m), value=self.fill) if m else x

    def _window(self, padded: Tensor, dy: int, dx: int, h: int, w: int) -> Tensor:
        m = self.margin
        return padded[..., m - dy: m - dy + h, m - dx: m - dx + w]

    def shifted(self, x: Tensor, dy: int, dx: int) -> Tensor:
        """``x`` (..., H, W) moved ``dy`` rows down and ``dx`` columns right, the border set to ``fill``."""
        return self._window(self._padded(x), dy, dx, *x.shape[-2:])

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            return self.model(x)
        padded, (h, w) = self._padded(x), x.shape[-2:]  # padded once, every shift a window of it
        views = [self.model(self._window(padded, dy, dx, h, w)).log_softmax(1) for dy, dx in self.shifts]
        return logsumexp(stack(views), 0) - math.log(len(views))
