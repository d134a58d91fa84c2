"""Pooling, unpooling, interpolation, local response normalisation and channel dropout as stateless functions:
the ops of :mod:`deepgrad.ops.pool` (and ``upsample``, PyTorch's old name of ``interpolate``)."""
from ...ops.pool import *  # noqa: F401,F403
from ...ops.pool import __all__ as _ops_all
from ...ops.pool import interpolate

upsample = interpolate
__all__ = [*_ops_all, "upsample"]
