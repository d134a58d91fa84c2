"""Resampling as a stateless function: :func:`deepgrad.ops.resample.interpolate` (and ``upsample``, PyTorch's old
name for it)."""
from ...ops.resample import interpolate

upsample = interpolate
__all__ = ["interpolate", "upsample"]
