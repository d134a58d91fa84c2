"""Resampling: ``interpolate`` (nearest, linear / bilinear / trilinear, area) in 1, 2 and 3 spatial dims.

Linear interpolation is separable: one small (out × in) matrix per spatial dim, applied with matmul, so its
gradient is the transposed matrices and comes for free. 'area' is adaptive average pooling; 'nearest' an
index_select (or, for whole-number upscaling, a repeat).
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..tensor import Tensor
from ._util import ShapeError
from .conv import ntuple
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d, along_spatial_dims

__all__ = ["interpolate"]

_ADAPTIVE_AVG = {1: adaptive_avg_pool1d, 2: adaptive_avg_pool2d, 3: adaptive_avg_pool3d}


_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}


def _linear_matrix(s: int, o: int, scale: float, align_corners: bool):
    """The (o × s) matrix of 1-d linear interpolation, PyTorch's source-coordinate rule."""
    dst = np.arange(o, dtype=np.float64)
    if align_corners:
        src = dst * ((s - 1) / (o - 1) if o > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * scale - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), s - 1)
    i1 = np.minimum(i0 + 1, s - 1)
    w1 = src - i0
    m = np.zeros((o, s))
    rows = np.arange(o)
    m[rows, i0] += 1.0 - w1  # two statements: i0 == i1 at the last pixel must add up, not overwrite
    m[rows, i1] += w1
    return m


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None
                ) -> Tensor:
    """Resample (N, C, *spatial) to ``size`` or ``scale_factor`` × the input size.

    * 'nearest': out(o) = in(min(⌊o·scale⌋, in − 1)), scale = in/out (1/scale_factor when given);
    * 'linear' / 'bilinear' / 'trilinear' (3-, 4-, 5-d input): out(o) = (1 − λ)·in(i₀) + λ·in(i₀ + 1) per dim with
      source coordinate src = o·(in − 1)/(out − 1) when ``align_corners`` (the corner pixels' centres line up) or
      src = max((o + ½)·scale − ½, 0) when not (the corners' edges line up; the default), i₀ = ⌊src⌋, λ = src − i₀;
    * 'area': adaptive average pooling to the output size.
    """
    op = "interpolate"
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ShapeError(f"{op}: expected an (N, C, *spatial) input with 1 to 3 spatial dims, got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    n = input.ndim - 2
    if mode in _LINEAR and _LINEAR[mode] != n:
        raise ShapeError(f"{op}: mode {mode!r} expects a {_LINEAR[mode] + 2}-d input, got shape {tuple(input.shape)}")
    if mode not in ("nearest", "area") and mode not in _LINEAR:
        raise ValueError(f"{op}: mode must be 'nearest', 'linear', 'bilinear', 'trilinear' or 'area', got {mode!r}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(f"{op}: align_corners applies only to the linear modes, not {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    in_size = tuple(input.shape[2:])
    if size is not None:
        out = ntuple(size, n, "size", op)
        scales = [s / o for s, o in zip(in_size, out)]
    else:
        factors = (scale_factor,) * n if isinstance(scale_factor, (int, float)) else tuple(scale_factor)
        if len(factors) != n or min(factors) <= 0:
            raise ValueError(f"{op}: scale_factor must be positive, one value or {n}, got {scale_factor!r}")
        out = tuple(int(math.floor(s * f)) for s, f in zip(in_size, factors))
        scales = [1.0 / f for f in factors]
    if min(out) < 1:
        raise ValueError(f"{op}: the output size {out} must be positive")
    if mode == "area":
        return _ADAPTIVE_AVG[n](input, out)
    if mode == "nearest":
        x = input
        for d, (s, o, sc) in enumerate(zip(in_size, out, scales)):
            src = np.minimum(np.floor(np.arange(o) * sc).astype(np.int64), s - 1)
            if o % s == 0 and np.array_equal(src, np.arange(o) // (o // s)):
                # a whole-number upscale: repeat each element (the gradient is a plain sum, no scatter)
                axis = 2 + d
                shape = tuple(x.shape)
                x = x.unsqueeze(axis + 1).expand(shape[:axis + 1] + (o // s,) + shape[axis + 1:])
                x = x.reshape(shape[:axis] + (o,) + shape[axis + 1:])
            elif o != s or not np.array_equal(src, np.arange(o)):
                x = x.index_select(2 + d, Tensor._wrap(array_module(x._data).asarray(src)))
        return x
    mats = [None if s == o and (align_corners or sc == 1.0) else _linear_matrix(s, o, sc, bool(align_corners))
            for s, o, sc in zip(in_size, out, scales)]
    return along_spatial_dims(input, mats)
