"""Image grids and image files, as ``torchvision.utils``: :func:`make_grid` and :func:`save_image` (Pillow)."""
from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._pil import pil_image

__all__ = ["make_grid", "save_image"]


def _as_batch(tensor) -> np.ndarray:
    if isinstance(tensor, Sequence) and not isinstance(tensor, Tensor | np.ndarray):
        if len(tensor) == 0:
            raise ValueError("make_grid: got an empty list of images")
        arrays = [t._data if isinstance(t, Tensor) else np.asarray(t) for t in tensor]
        xp = backend.array_module(arrays[0])
        a = xp.stack(arrays)
    else:
        a = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if a.ndim == 2:  # one HW image
        a = a[None]
    if a.ndim == 3:  # one CHW image
        a = a[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), (C, H, W) or (H, W), got shape {tuple(a.shape)}")
    if a.shape[1] == 1:  # grey -> three equal channels, as torchvision
        a = backend.array_module(a).concatenate([a, a, a], axis=1)
    return a


def _rescale(a, value_range: tuple[float, float] | None):
    xp = backend.array_module(a)
    low, high = (float(a.min()), float(a.max())) if value_range is None else map(float, value_range)
    return (xp.clip(a, low, high) - low) / max(high - low, 1e-5)


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images into one image: ``nrow`` per row, ``padding`` pixels of ``pad_value`` around each.

    With ``normalize`` the values are clipped to ``value_range`` (default: the batch's min and max, or each
    image's own with ``scale_each``) and mapped to [0, 1] by ``(x - low) / max(high - low, 1e-5)``.

    Args:
        tensor: ``(B, C, H, W)`` Tensor or array, a list of ``(C, H, W)`` images, or one image.
        nrow: images per row of the grid (the number of rows is ``ceil(B / nrow)``).
        padding: pixels between images and around the border.
        normalize, value_range, scale_each: as above.
        pad_value: the value of the padding pixels.

    Shape:
        ``(3, rows * (H + padding) + padding, cols * (W + padding) + padding)`` where ``cols = min(nrow, B)``;
        one-channel images become three equal channels; a batch of one image is returned without padding.

    Example:
        >>> import deepgrad as dg
        >>> tuple(make_grid(dg.zeros(10, 1, 4, 4), nrow=5, padding=1).shape)
        (3, 11, 26)
    """
    if not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"make_grid: nrow should be a positive integer, got {nrow!r}")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"make_grid: padding should be a non-negative integer, got {padding!r}")
    if value_range is not None and (len(value_range) != 2 or value_range[0] > value_range[1]):
        raise ValueError(f"make_grid: value_range should be (low, high) with low <= high, got {value_range!r}")
    a = _as_batch(tensor)
    xp = backend.array_module(a)
    if normalize:
        a = a.astype(np.float32) if a.dtype.kind != "f" else a
        a = xp.stack([_rescale(x, value_range) for x in a]) if scale_each else _rescale(a, value_range)
    if a.shape[0] == 1:
        return Tensor._wrap(xp.ascontiguousarray(a[0]))
    n, c, h, w = a.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    # every cell is an image with `padding` pixels above and to its left; one more strip closes the bottom/right
    cells = xp.full((rows * cols, c, h + padding, w + padding), pad_value, dtype=a.dtype)
    cells[:n, :, padding:, padding:] = a
    grid = cells.reshape(rows, cols, c, h + padding, w + padding).transpose(2, 0, 3, 1, 4)
    grid = grid.reshape(c, rows * (h + padding), cols * (w + padding))
    out = xp.full((c, grid.shape[1] + padding, grid.shape[2] + padding), pad_value, dtype=a.dtype)
    out[:, : grid.shape[1], : grid.shape[2]] = grid
    return Tensor._wrap(out)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:  # noqa: A002 - torchvision's name
    """Write a Tensor (or a batch, tiled by :func:`make_grid` with ``**kwargs``) as an image file.

    Values in [0, 1] map to bytes by ``floor(255 x + 0.5)``, clipped to [0, 255]. ``fp`` is a path (written
    atomically: a temporary file in the same directory, then renamed) or a binary file object; ``format``
    (e.g. ``"png"``) is needed for a file object and otherwise taken from the file name.

    Example:
        >>> import deepgrad as dg, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "grid.png")
        >>> save_image(dg.rand(4, 1, 8, 8), path, nrow=2)
        >>> os.path.getsize(path) > 0
        True
    """
    grid = make_grid(tensor, **kwargs)._data
    grid = backend.to_device(grid, backend.CPU)
    if grid.ndim != 3 or grid.shape[0] not in (1, 3, 4):
        raise ValueError(f"save_image: expected 1, 3 or 4 channels to write, got an image of shape {grid.shape}")
    pixels = np.clip(np.floor(grid.astype(np.float32) * 255 + 0.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)
    image = pil_image().fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    if not isinstance(fp, str | os.PathLike):
        image.save(fp, format=format)
        return
    path = os.fspath(fp)
    folder = os.path.dirname(os.path.abspath(path))
    ext = os.path.splitext(path)[1]
    fmt = format or (pil_image().registered_extensions().get(ext.lower()) if ext else None)
    if fmt is None:
        raise ValueError(f"save_image: cannot tell the image format of {path!r}; give it an extension such as "
                         ".png or pass format=")
    fd, tmp = tempfile.mkstemp(prefix=".save_image.", suffix=ext, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            image.save(f, format=fmt)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
