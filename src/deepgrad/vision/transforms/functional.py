"""``torchvision.transforms.functional``: each operation on a PIL image (through Pillow, as torchvision does) or on
a Tensor ``(..., C, H, W)`` (on its NumPy or CuPy array), returning the kind it was given.

Tensor rules follow torchvision's: uint8 tensors stay uint8 (results rounded for resampling, truncated for colour
blends), float tensors are taken to lie in [0, 1]; grey is ``0.2989 R + 0.587 G + 0.114 B``.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from enum import Enum

import numpy as np

from ... import backend
from ...data import transforms as _data_transforms
from ...tensor import Tensor
from .._pil import is_pil_image, pil_image

__all__ = ["InterpolationMode", "to_tensor", "pil_to_tensor", "to_pil_image", "normalize", "resize", "crop",
           "center_crop", "resized_crop", "pad", "hflip", "vflip", "rotate", "affine", "rgb_to_grayscale",
           "to_grayscale", "adjust_brightness", "adjust_contrast", "adjust_saturation", "adjust_hue",
           "get_image_size", "get_dimensions", "convert_image_dtype", "gaussian_blur", "elastic_transform", "erase"]


class InterpolationMode(Enum):
    """Resampling filters, with torchvision's names."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _mode(interpolation) -> InterpolationMode:
    try:
        return InterpolationMode(interpolation.value if isinstance(interpolation, InterpolationMode)
                                 else interpolation)
    except ValueError:
        raise ValueError(f"interpolation should be an InterpolationMode or one of "
                         f"{[m.value for m in InterpolationMode]}, got {interpolation!r}") from None


def _pil_filter(mode: InterpolationMode):
    image = pil_image()
    return {InterpolationMode.NEAREST: image.NEAREST, InterpolationMode.NEAREST_EXACT: image.NEAREST,
            InterpolationMode.BILINEAR: image.BILINEAR, InterpolationMode.BICUBIC: image.BICUBIC,
            InterpolationMode.BOX: image.BOX, InterpolationMode.HAMMING: image.HAMMING,
            InterpolationMode.LANCZOS: image.LANCZOS}[mode]


def _array(img, who: str):
    if not isinstance(img, Tensor):
        raise TypeError(f"{who}: expected a PIL image or a Tensor (..., C, H, W), got {type(img).__name__}")
    a = img._data
    if a.ndim < 2:
        raise ValueError(f"{who}: expected a Tensor of at least 2 dimensions (..., H, W), got shape {tuple(a.shape)}")
    return a


def get_dimensions(img) -> list[int]:
    """``[channels, height, width]`` of a PIL image or a Tensor."""
    if is_pil_image(img):
        return [len(img.getbands()), img.height, img.width]
    a = _array(img, "get_dimensions")
    return [1 if a.ndim == 2 else int(a.shape[-3]), int(a.shape[-2]), int(a.shape[-1])]


def get_image_size(img) -> list[int]:
    """``[width, height]``, torchvision's order."""
    _, h, w = get_dimensions(img)
    return [w, h]


# ------------------------------------------------------------------------------------------------ conversions
def to_tensor(pic) -> Tensor:
    """PIL image or ``HW``/``HWC`` array -> float32 ``CHW`` Tensor, scaled to [0, 1] when the pixels are bytes."""
    if is_pil_image(pic):
        if pic.mode == "1":
            pic = pic.convert("L")
        return _data_transforms.ToTensor()(np.asarray(pic))
    if isinstance(pic, np.ndarray) or backend.is_device_array(pic):
        return _data_transforms.ToTensor()(pic)
    raise TypeError(f"to_tensor: expected a PIL image or a NumPy array (H, W[, C]), got {type(pic).__name__}")


def pil_to_tensor(pic) -> Tensor:
    """PIL image -> ``CHW`` Tensor of its own dtype (uint8 for 8-bit images), not rescaled."""
    if not is_pil_image(pic):
        raise TypeError(f"pil_to_tensor: expected a PIL image, got {type(pic).__name__}")
    a = np.asarray(pic)
    a = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
    return Tensor._wrap(np.ascontiguousarray(a))


_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def to_pil_image(pic, mode: str | None = None):
    """``CHW`` Tensor or ``HWC`` array -> PIL image. Float Tensors are multiplied by 255 and truncated to bytes
    (torchvision's rule); a one-channel float array becomes a mode ``"F"`` image."""
    image = pil_image()
    if isinstance(pic, Tensor):
        a = backend.to_device(pic._data, backend.CPU)
        if a.ndim == 2:
            a = a[None]
        if a.ndim != 3:
            raise ValueError(f"to_pil_image: expected a (C, H, W) or (H, W) Tensor, got shape {tuple(a.shape)}")
        if a.dtype.kind == "f" and mode != "F":
            a = (a * 255).astype(np.uint8)
        a = np.moveaxis(a, 0, -1)
    elif isinstance(pic, np.ndarray):
        a = pic[..., None] if pic.ndim == 2 else pic
        if a.ndim != 3:
            raise ValueError(f"to_pil_image: expected an (H, W, C) or (H, W) array, got shape {pic.shape}")
    else:
        raise TypeError(f"to_pil_image: expected a Tensor or a NumPy array, got {type(pic).__name__}")
    channels = a.shape[-1]
    if channels not in _MODES:
        raise ValueError(f"to_pil_image: expected 1 to 4 channels, got {channels} (shape {a.shape})")
    if channels == 1:
        plane = a[..., 0]
        if mode is None:
            mode = {"u": "L", "f": "F"}.get(plane.dtype.kind) if plane.dtype.itemsize in (1, 4) else None
            mode = "I;16" if plane.dtype == np.uint16 else "I" if plane.dtype == np.int32 else mode
        if mode is None:
            raise TypeError(f"to_pil_image: no image mode holds one channel of {plane.dtype}")
        dtypes = {"L": np.uint8, "F": np.float32, "I": np.int32, "I;16": np.uint16}
        return image.fromarray(plane.astype(dtypes.get(mode, plane.dtype), copy=False), mode=mode)
    if a.dtype != np.uint8:
        raise TypeError(f"to_pil_image: {channels}-channel images need uint8 pixels, got {a.dtype}")
    expected = _MODES[channels]
    if mode is not None and mode != expected and not (channels == 3 and mode in ("YCbCr", "HSV")) \
            and not (channels == 4 and mode in ("RGBX", "CMYK")):
        raise ValueError(f"to_pil_image: mode {mode!r} does not hold {channels} channels (expected {expected!r})")
    return image.fromarray(np.ascontiguousarray(a), mode=mode or expected)


def convert_image_dtype(image: Tensor, dtype=np.float32) -> Tensor:
    """Change a Tensor's pixel type, rescaling between integer ranges and [0, 1] for floats."""
    a = _array(image, "convert_image_dtype")
    dtype = backend.as_dtype(dtype)
    xp = backend.array_module(a)
    if a.dtype == dtype:
        return image
    if a.dtype.kind == "f":
        if dtype.kind == "f":
            return Tensor._wrap(a.astype(dtype))
        top = np.iinfo(dtype).max
        return Tensor._wrap(xp.clip(a * (top + 1.0 - 1e-3), 0, top).astype(dtype))
    if dtype.kind == "f":
        return Tensor._wrap((a / np.float64(np.iinfo(a.dtype).max)).astype(dtype))
    return Tensor._wrap((a.astype(np.float64) * (np.iinfo(dtype).max / np.iinfo(a.dtype).max)).astype(dtype))


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> Tensor:
    """``(x - mean[c]) / std[c]`` for each channel ``c`` of a float ``(..., C, H, W)`` Tensor (the rule of
    :class:`deepgrad.data.transforms.Normalize`, applied over every leading axis)."""
    a = _array(tensor, "normalize")
    if a.dtype.kind != "f":
        raise TypeError(f"normalize: expected a float Tensor, got {a.dtype} (use ToTensor or convert_image_dtype)")
    if a.ndim < 3:
        raise ValueError(f"normalize: expected a (..., C, H, W) Tensor, got shape {tuple(a.shape)}")
    out = _data_transforms.Normalize(mean, std).batch(a.reshape(-1, *a.shape[-3:])).reshape(a.shape)
    if not inplace:
        return Tensor._wrap(out)
    a[...] = out
    tensor._version += 1
    return tensor


# ------------------------------------------------------------------------------------------------ geometry
def _output_size(h: int, w: int, size, max_size: int | None) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        size = [int(size)]
    size = list(size)
    if len(size) == 2:
        if max_size is not None:
            raise ValueError("resize: max_size is only allowed when size is one number (the shorter edge)")
        return int(size[0]), int(size[1])
    if len(size) != 1:
        raise ValueError(f"resize: size should be an int or (h, w), got {size!r}")
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size[0], int(size[0] * long / short)
    if max_size is not None:
        if max_size <= size[0]:
            raise ValueError(f"resize: max_size = {max_size} must be larger than the requested size {size[0]}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _triangle(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def _cubic(x, a: float = -0.5):
    x = np.abs(x)
    return np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1,
                    np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))


def _resample_matrix(n_in: int, n_out: int, mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """(n_out, n_in) weights of separable resampling: output sample ``i`` is centred on input coordinate
    ``(i + 0.5) * scale``; its filter is stretched by ``scale`` when shrinking with ``antialias`` (Pillow's rule,
    which torchvision's antialiased tensor resize follows), and each row sums to 1."""
    scale = n_in / n_out
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        offset = 0.5 if mode is InterpolationMode.NEAREST_EXACT else 0.0
        src = np.minimum(np.floor((np.arange(n_out) + offset) * scale).astype(np.int64), n_in - 1)
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), src] = 1
        return m
    kernel, support = {InterpolationMode.BILINEAR: (_triangle, 1.0), InterpolationMode.BICUBIC: (_cubic, 2.0)}[mode]
    stretch = max(scale, 1.0) if antialias else 1.0
    centre = (np.arange(n_out) + 0.5) * scale
    j = np.arange(n_in)
    w = kernel((j[None, :] - centre[:, None] + 0.5) / stretch)
    w[np.abs(j[None, :] + 0.5 - centre[:, None]) >= support * stretch] = 0
    return w / w.sum(axis=1, keepdims=True)


def resize(img, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
           antialias: bool | None = True):
    """Resize to ``size``: ``(h, w)``, or one number for the shorter edge keeping the aspect ratio (the longer
    edge at most ``max_size``). Tensors support nearest, bilinear and bicubic; PIL images every Pillow filter."""
    mode = _mode(interpolation)
    _, h, w = get_dimensions(img)
    oh, ow = _output_size(h, w, size, max_size)
    if is_pil_image(img):
        return img if (oh, ow) == (h, w) else img.resize((ow, oh), _pil_filter(mode))
    a = _array(img, "resize")
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT, InterpolationMode.BILINEAR,
                    InterpolationMode.BICUBIC):
        raise ValueError(f"resize: tensors support nearest, nearest-exact, bilinear and bicubic, got {mode.value!r}")
    if (oh, ow) == (h, w):
        return img
    xp = backend.array_module(a)
    rows = xp.asarray(_resample_matrix(h, oh, mode, bool(antialias)), dtype=np.float32)
    cols = xp.asarray(_resample_matrix(w, ow, mode, bool(antialias)), dtype=np.float32)
    out = rows @ a.astype(np.float32) @ cols.T
    if a.dtype.kind in "iu":
        out = xp.clip(xp.rint(out), np.iinfo(a.dtype).min, np.iinfo(a.dtype).max)
    return Tensor._wrap(out.astype(a.dtype, copy=False))


def crop(img, top: int, left: int, height: int, width: int):
    """The ``height x width`` window at ``(top, left)``; parts outside the image are zero (as torchvision)."""
    if is_pil_image(img):
        return img.crop((left, top, left + width, top + height))
    a = _array(img, "crop")
    h, w = a.shape[-2:]
    pads = [max(0, -left), max(0, -top), max(0, left + width - w), max(0, top + height - h)]
    if any(pads):
        a = _pad_array(a, pads, 0, "constant")
        top, left = top + pads[1], left + pads[0]
    return Tensor._wrap(a[..., top: top + height, left: left + width])


def _pair(size, who: str) -> tuple[int, int]:
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{who}: size should be an int or (h, w), got {size!r}")
    return size


def center_crop(img, output_size):
    """The centred ``output_size`` window, padding with zeros first when the image is smaller."""
    th, tw = _pair(output_size, "center_crop")
    _, h, w = get_dimensions(img)
    if th > h or tw > w:
        img = pad(img, [(tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0,
                        (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0])
        _, h, w = get_dimensions(img)
        if (h, w) == (th, tw):
            return img
    return crop(img, int(round((h - th) / 2.0)), int(round((w - tw) / 2.0)), th, tw)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True):
    """:func:`crop` then :func:`resize` to ``size``."""
    return resize(crop(img, top, left, height, width), size, interpolation, antialias=antialias)


def _ltrb(padding) -> list[int]:
    if isinstance(padding, numbers.Integral):
        return [int(padding)] * 4
    p = [int(v) for v in padding]
    if len(p) == 1:
        return p * 4
    if len(p) == 2:
        return [p[0], p[1], p[0], p[1]]
    if len(p) == 4:
        return p
    raise ValueError(f"pad: padding should be an int or a sequence of 1, 2 or 4 ints, got {padding!r}")


_NP_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def _pad_array(a, ltrb: list[int], fill, padding_mode: str):
    xp = backend.array_module(a)
    left, top, right, bottom = ltrb
    widths = [(0, 0)] * (a.ndim - 2) + [(top, bottom), (left, right)]
    if padding_mode == "constant":
        return xp.pad(a, widths, mode="constant", constant_values=fill)
    return xp.pad(a, widths, mode=_NP_MODES[padding_mode])


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    """Pad each side: ``padding`` is one int (all sides), ``(left/right, top/bottom)`` or ``(left, top, right,
    bottom)``; ``padding_mode`` is ``"constant"`` (``fill``), ``"edge"``, ``"reflect"`` or ``"symmetric"``."""
    if padding_mode not in _NP_MODES:
        raise ValueError(f"pad: padding_mode should be one of {list(_NP_MODES)}, got {padding_mode!r}")
    ltrb = _ltrb(padding)
    if any(p < 0 for p in ltrb):
        raise ValueError(f"pad: negative padding {ltrb} is not supported")
    if is_pil_image(img):
        a = np.asarray(img)
        if padding_mode == "constant" and not isinstance(fill, numbers.Number):
            fill_values = np.asarray(fill, dtype=a.dtype)
            out = np.empty((a.shape[0] + ltrb[1] + ltrb[3], a.shape[1] + ltrb[0] + ltrb[2], *a.shape[2:]), a.dtype)
            out[...] = fill_values
            out[ltrb[1]: ltrb[1] + a.shape[0], ltrb[0]: ltrb[0] + a.shape[1]] = a
        else:
            hw = np.moveaxis(a, -1, 0) if a.ndim == 3 else a
            out = _pad_array(hw, ltrb, fill, padding_mode)
            out = np.moveaxis(out, 0, -1) if a.ndim == 3 else out
        result = pil_image().fromarray(np.ascontiguousarray(out), mode=img.mode)
        if img.mode == "P":
            result.putpalette(img.getpalette())
        return result
    return Tensor._wrap(_pad_array(_array(img, "pad"), ltrb, fill, padding_mode))


def hflip(img):
    """Mirror left-right."""
    if is_pil_image(img):
        return img.transpose(pil_image().Transpose.FLIP_LEFT_RIGHT)
    return Tensor._wrap(backend.array_module(img._data).ascontiguousarray(_array(img, "hflip")[..., ::-1]))


def vflip(img):
    """Mirror top-bottom."""
    if is_pil_image(img):
        return img.transpose(pil_image().Transpose.FLIP_TOP_BOTTOM)
    return Tensor._wrap(backend.array_module(img._data).ascontiguousarray(_array(img, "vflip")[..., ::-1, :]))


def _inverse_affine(center: Sequence[float], angle: float, translate: Sequence[float], scale: float,
                    shear: Sequence[float]) -> np.ndarray:
    """The 2x3 map from output to source coordinates of ``T(center + translate) R(angle) Sh(shear) S(scale)
    T(-center)`` (:func:`deepgrad.data.transforms.inverse_affine_matrix` for one image)."""
    return _data_transforms.inverse_affine_matrix(center, angle, translate, scale, shear)[0]


def _warp(img, matrix: np.ndarray, interpolation, fill, size: tuple[int, int] | None = None):
    mode = _mode(interpolation)
    if is_pil_image(img):
        image = pil_image()
        w, h = (img.width, img.height) if size is None else (size[1], size[0])
        kwargs = {} if fill is None else {"fillcolor": _pil_fill(img, fill)}
        return img.transform((w, h), image.Transform.AFFINE, tuple(matrix.reshape(-1)), _pil_filter(mode), **kwargs)
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"rotate/affine: tensors support nearest and bilinear, got {mode.value!r}")
    a = _array(img, "affine")
    fill = 0 if fill is None else _one_fill(fill, "rotate/affine")
    batch = a.reshape(-1, *a.shape[-2:])[:, None]
    out = _data_transforms.warp_affine(batch, matrix[None], mode.value, fill, size)
    return Tensor._wrap(out.reshape(*a.shape[:-2], *out.shape[-2:]))


def elastic_transform(img, displacement, interpolation=InterpolationMode.BILINEAR, fill=None):
    """Move every pixel by ``displacement`` (1, H, W, 2), torchvision's: ``[..., 0]`` along x in units of half the
    width and ``[..., 1]`` along y in units of half the height (output pixel ``(i, j)`` reads the source at
    ``(i + d_y·H/2, j + d_x·W/2)``); points outside read ``fill`` (default 0). PIL images go through byte Tensors."""
    if is_pil_image(img):
        return to_pil_image(elastic_transform(pil_to_tensor(img), displacement, interpolation, fill), img.mode)
    mode = _mode(interpolation)
    if mode not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
        raise ValueError(f"elastic_transform: tensors support nearest and bilinear, got {mode.value!r}")
    a = _array(img, "elastic_transform")
    xp = backend.array_module(a)
    h, w = a.shape[-2:]
    d = displacement._data if isinstance(displacement, Tensor) else xp.asarray(displacement)
    if tuple(d.shape) != (1, h, w, 2):
        raise ValueError(f"elastic_transform: displacement should be (1, {h}, {w}, 2) for this image, got "
                         f"{tuple(d.shape)}")
    d = xp.asarray(d, dtype=np.float32)
    rows = xp.arange(h, dtype=np.float32)[None, :, None] + d[..., 1] * (h / 2)
    cols = xp.arange(w, dtype=np.float32)[None, None, :] + d[..., 0] * (w / 2)
    planes = a.reshape(1, -1, h, w)
    out = _data_transforms.remap(planes, rows, cols, mode.value, 0 if fill is None else _one_fill(fill, "elastic_transform"))
    return Tensor._wrap(out.reshape(a.shape))


def _one_fill(fill, who: str) -> float:
    if isinstance(fill, numbers.Number):
        return fill
    if len(set(fill)) != 1:
        raise ValueError(f"{who}: a per-channel fill is supported for PIL images; for tensors give one number")
    return list(fill)[0]


def _pil_fill(img, fill):
    bands = len(img.getbands())
    if isinstance(fill, numbers.Number):
        return int(fill) if bands == 1 or img.mode in ("L", "I", "P") else tuple([int(fill)] * bands)
    fill = tuple(int(v) for v in fill)
    return fill[0] if bands == 1 else fill


def rotate(img, angle: float, interpolation=InterpolationMode.NEAREST, expand: bool = False,
           center: Sequence[float] | None = None, fill=None):
    """Rotate counter-clockwise by ``angle`` degrees about ``center`` (default the image centre, in pixel
    coordinates); with ``expand`` the output grows to hold the whole rotated image."""
    _, h, w = get_dimensions(img)
    if is_pil_image(img):
        kwargs = {} if fill is None else {"fillcolor": _pil_fill(img, fill)}
        return img.rotate(angle, _pil_filter(_mode(interpolation)), expand, center, **kwargs)
    cx, cy = (w / 2, h / 2) if center is None else (center[0] + 0.5, center[1] + 0.5)
    matrix = _inverse_affine((cx, cy), -angle, (0.0, 0.0), 1.0, (0.0, 0.0))
    size = None
    if expand:
        corners = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [-w / 2, h / 2], [w / 2, h / 2]])
        # the corners about the centre, rotated; in float32 like torchvision, so the same corners round alike
        turned = (corners @ np.linalg.inv(matrix[:, :2]).T).astype(np.float32)
        tol = np.float32(1e-4)  # a corner within 1e-4 of a whole pixel does not add a row or column
        half = np.array([w / 2, h / 2], np.float32)  # measured from the top-left corner, as Pillow does
        lo = np.floor(np.trunc((turned.min(0) + half) / tol) * tol)
        hi = np.ceil(np.trunc((turned.max(0) + half) / tol) * tol)
        ow, oh = (int(v) for v in hi - lo)
        # keep the centre in the centre of the larger canvas
        matrix[:, 2] += matrix[:, :2] @ np.array([(w - ow) / 2, (h - oh) / 2])
        size = (oh, ow)
    return _warp(img, matrix, interpolation, fill, size)


def affine(img, angle: float, translate: Sequence[int], scale: float, shear, interpolation=InterpolationMode.NEAREST,
           fill=None, center: Sequence[float] | None = None):
    """Rotate by ``angle`` degrees (clockwise, torchvision's convention for affine), scale, shear by ``shear``
    degrees (one number: along x; ``(sx, sy)``) about ``center``, then translate by ``translate`` pixels."""
    if isinstance(shear, numbers.Number):
        shear = [float(shear), 0.0]
    shear = list(shear) + [0.0] * (2 - len(shear))
    if scale <= 0:
        raise ValueError(f"affine: scale should be positive, got {scale}")
    _, h, w = get_dimensions(img)
    cx, cy = (w / 2, h / 2) if center is None else (center[0] + 0.5, center[1] + 0.5)
    matrix = _inverse_affine((cx, cy), angle, translate, scale, shear)
    return _warp(img, matrix, interpolation, fill)


# ------------------------------------------------------------------------------------------------ colour
def _float_bound(a) -> float:
    return 1.0 if a.dtype.kind == "f" else float(np.iinfo(a.dtype).max)


def _blend(a, b, ratio: float):
    xp = backend.array_module(a)
    out = xp.clip(ratio * a.astype(np.float32) + (1.0 - ratio) * b, 0, _float_bound(a))
    return out.astype(a.dtype)


def _grey(a):
    r, g, b = a[..., 0, :, :], a[..., 1, :, :], a[..., 2, :, :]
    return (0.2989 * r + 0.587 * g + 0.114 * b)[..., None, :, :]


def _rgb_channels(a, who: str) -> None:
    if a.ndim < 3 or a.shape[-3] not in (1, 3):
        raise ValueError(f"{who}: expected a (..., 1 or 3, H, W) Tensor, got shape {tuple(a.shape)}")


def rgb_to_grayscale(img, num_output_channels: int = 1):
    """Grey version (``0.2989 R + 0.587 G + 0.114 B``; Pillow's ``convert("L")`` for PIL images), with 1 or 3
    equal channels."""
    if num_output_channels not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: num_output_channels should be 1 or 3, got {num_output_channels}")
    if is_pil_image(img):
        grey = img.convert("L")
        return grey if num_output_channels == 1 else pil_image().merge("RGB", [grey, grey, grey])
    a = _array(img, "rgb_to_grayscale")
    _rgb_channels(a, "rgb_to_grayscale")
    xp = backend.array_module(a)
    g = a if a.shape[-3] == 1 else _grey(a).astype(a.dtype)
    return Tensor._wrap(xp.concatenate([g] * num_output_channels, axis=-3) if num_output_channels == 3 else g)


to_grayscale = rgb_to_grayscale


def _enhance(img, name: str, factor: float, tensor_fn):
    if factor < 0:
        raise ValueError(f"adjust_{name.lower()}: the factor should be non-negative, got {factor}")
    if is_pil_image(img):
        from PIL import ImageEnhance

        return getattr(ImageEnhance, name)(img).enhance(factor)
    a = _array(img, f"adjust_{name.lower()}")
    return Tensor._wrap(tensor_fn(a, factor))


def adjust_brightness(img, brightness_factor: float):
    """Blend with black: ``factor * x`` (0 black, 1 the original)."""
    return _enhance(img, "Brightness", brightness_factor, lambda a, f: _blend(a, 0.0, f))


def _contrast(a, f):
    _rgb_channels(a, "adjust_contrast")
    xp = backend.array_module(a)
    grey = _grey(a) if a.shape[-3] == 3 else a.astype(np.float32)
    if a.dtype.kind != "f":
        grey = xp.floor(grey)  # torchvision makes the grey image uint8 before its mean
    return _blend(a, grey.mean(axis=(-3, -2, -1), keepdims=True), f)


def adjust_contrast(img, contrast_factor: float):
    """Blend with the image's mean grey level (0 uniform grey, 1 the original)."""
    return _enhance(img, "Contrast", contrast_factor, _contrast)


def _saturation(a, f):
    _rgb_channels(a, "adjust_saturation")
    if a.shape[-3] == 1:
        return a
    grey = _grey(a)
    if a.dtype.kind != "f":
        grey = backend.array_module(a).floor(grey)
    return _blend(a, grey, f)


def adjust_saturation(img, saturation_factor: float):
    """Blend with the grey version (0 grey, 1 the original, 2 twice as saturated)."""
    return _enhance(img, "Color", saturation_factor, _saturation)


def _rgb_to_hsv(rgb, xp):
    r, g, b = rgb[..., 0, :, :], rgb[..., 1, :, :], rgb[..., 2, :, :]
    maxc, minc = rgb.max(axis=-3), rgb.min(axis=-3)
    delta = maxc - minc
    s = delta / xp.where(maxc == 0, 1, maxc)
    d = xp.where(delta == 0, 1, delta)
    rc, gc, bc = (maxc - r) / d, (maxc - g) / d, (maxc - b) / d
    h = xp.where(maxc == r, bc - gc, xp.where(maxc == g, 2.0 + rc - bc, 4.0 + gc - rc))
    h = xp.where(delta == 0, 0.0, (h / 6.0) % 1.0)
    return h, s, maxc


def _hsv_to_rgb(h, s, v, xp):
    i = xp.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = [xp.select([i == k for k in range(6)], [c[ch] for c in choices]) for ch in range(3)]
    return xp.stack(out, axis=-3)


def _hue(a, f):
    _rgb_channels(a, "adjust_hue")
    if a.shape[-3] == 1:
        return a
    xp = backend.array_module(a)
    x = a.astype(np.float32) / _float_bound(a)
    h, s, v = _rgb_to_hsv(x, xp)
    out = _hsv_to_rgb((h + f) % 1.0, s, v, xp)
    if a.dtype.kind != "f":
        return (out * _float_bound(a)).astype(a.dtype)
    return out.astype(a.dtype)


def adjust_hue(img, hue_factor: float):
    """Turn the hue by ``hue_factor`` of a full turn, in ``[-0.5, 0.5]``, through HSV."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor should lie in [-0.5, 0.5], got {hue_factor}")
    if is_pil_image(img):
        if img.mode in ("L", "1", "I", "F"):
            return img
        image = pil_image()
        h, s, v = img.convert("HSV").split()
        hue = np.asarray(h).astype(np.uint8)
        hue = (hue + np.uint8(np.int64(hue_factor * 255) % 256)).astype(np.uint8)  # wraps around, as a turn
        return image.merge("HSV", (image.fromarray(hue, "L"), s, v)).convert(img.mode)
    return Tensor._wrap(_hue(_array(img, "adjust_hue"), hue_factor))


# ------------------------------------------------------------------------------------------------ filters
def _gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    return _data_transforms.gaussian_kernel1d(size, sigma).astype(np.float32)


def gaussian_blur(img, kernel_size, sigma=None):
    """Blur with a separable Gaussian of ``kernel_size`` ``(kx, ky)`` (odd) and ``sigma`` ``(sx, sy)`` (default
    ``0.15 k + 0.35``, torchvision's), reflecting at the border. PIL images are
    blurred as byte Tensors and converted back, as torchvision does."""
    kx, ky = (kernel_size, kernel_size) if isinstance(kernel_size, numbers.Integral) else tuple(kernel_size)
    if any(k <= 0 or k % 2 == 0 for k in (kx, ky)):
        raise ValueError(f"gaussian_blur: kernel_size should be positive odd numbers, got {kernel_size!r}")
    if sigma is None:
        sx, sy = kx * 0.15 + 0.35, ky * 0.15 + 0.35
    else:
        sx, sy = (sigma, sigma) if isinstance(sigma, numbers.Number) else (tuple(sigma) * 2)[:2]
    if sx <= 0 or sy <= 0:
        raise ValueError(f"gaussian_blur: sigma should be positive, got {sigma!r}")
    if is_pil_image(img):
        return to_pil_image(gaussian_blur(pil_to_tensor(img), [kx, ky], [sx, sy]), img.mode)
    a = _array(img, "gaussian_blur")
    xp = backend.array_module(a)
    h, w = a.shape[-2:]
    x = _pad_array(a.astype(np.float32), [kx // 2, ky // 2, kx // 2, ky // 2], 0, "reflect")
    wx, wy = xp.asarray(_gaussian_kernel(kx, sx)), xp.asarray(_gaussian_kernel(ky, sy))
    rows = sum(wy[k] * x[..., k: k + h, :] for k in range(ky))
    out = sum(wx[k] * rows[..., k: k + w] for k in range(kx))
    if a.dtype.kind in "iu":
        out = xp.clip(xp.rint(out), np.iinfo(a.dtype).min, np.iinfo(a.dtype).max)
    return Tensor._wrap(out.astype(a.dtype, copy=False))


def erase(img: Tensor, i: int, j: int, h: int, w: int, v, inplace: bool = False) -> Tensor:
    """The Tensor with its ``h x w`` window at ``(i, j)`` set to ``v`` (a number or a broadcastable Tensor)."""
    a = _array(img, "erase")
    out = a if inplace else a.copy()
    out[..., i: i + h, j: j + w] = v._data if isinstance(v, Tensor) else v
    if inplace:
        img._version += 1
        return img
    return Tensor._wrap(out)
