"""Normalisation layers: ``BatchNorm1d/2d/3d`` (running statistics), ``LayerNorm``, ``GroupNorm``,
``LocalResponseNorm``."""
from __future__ import annotations

import numbers

from .. import backend
from ..creation import ones, tensor, zeros
from ..ops._util import ShapeError
from ..tensor import Tensor
from . import functional as F
from ._validate import positive_float, positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm", "GroupNorm", "LocalResponseNorm"]


class _BatchNorm(Module):
    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(name, "num_features", num_features)
        self.eps = positive_float(name, "eps", eps)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None (cumulative average), got {momentum!r}")
        self.momentum, self.affine, self.track_running_stats = momentum, affine, track_running_stats
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_features, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dtype, device=device))
            self.register_buffer("running_var", ones(num_features, dtype=dtype, device=device))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=backend.int64, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._set(0.0)
            self.running_var._set(1.0)
            self.num_batches_tracked._set(0)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim not in self._dims or input.shape[1] != self.num_features:
            dims = " or ".join(f"{d}-D" for d in self._dims)
            raise ShapeError(f"{type(self).__name__}({self.num_features}): expected {dims} input with "
                             f"{self.num_features} channels on dim 1, got shape {tuple(input.shape)}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._set(self.num_batches_tracked._data + 1)
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / int(self.num_batches_tracked._data)
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or self.running_mean is None, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


_BN_DOC = """Batch normalisation over a {n}: y = (x − E[x]) / √(Var[x] + ε) · γ + β, per channel (dim 1).

    In training the statistics of the batch are used (biased variance) and the running estimates are updated:
    r ← (1 − momentum) · r + momentum · s (unbiased variance for ``running_var``; ``momentum=None`` gives the
    cumulative average). In eval mode the running estimates are used.

    Args:
        num_features: C. eps: added to the variance (1e-5). momentum: 0.1, or None for a cumulative average.
        affine: learn γ and β (default True). track_running_stats: keep running estimates (default True).

    Shape:
        input {shape} -> same shape.

    Attributes:
        weight γ (C,) initialised to 1, bias β (C,) to 0; buffers running_mean (zeros), running_var (ones),
        num_batches_tracked (int64 0).

    Example:
        >>> import deepgrad as dg
        >>> bn = dg.nn.{cls}(3)
        >>> bn
        {cls}(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
    """


class BatchNorm1d(_BatchNorm):
    __doc__ = _BN_DOC.format(n="batch of vectors or sequences", shape="(N, C) or (N, C, L)", cls="BatchNorm1d")
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    __doc__ = _BN_DOC.format(n="batch of images", shape="(N, C, H, W)", cls="BatchNorm2d")
    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    __doc__ = _BN_DOC.format(n="batch of volumes", shape="(N, C, D, H, W)", cls="BatchNorm3d")
    _dims = (5,)


class LayerNorm(Module):
    """y = (x − E[x]) / √(Var[x] + ε) · γ + β, statistics over the trailing ``normalized_shape`` of each sample.

    Args:
        normalized_shape: int or tuple, the trailing dims to normalise. eps: 1e-5.
        elementwise_affine: learn γ (ones) and β (zeros) of shape ``normalized_shape``. bias: learn β (True).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.LayerNorm(8)
        LayerNorm((8,), eps=1e-05, elementwise_affine=True)
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
        for s in shape:
            positive_int("LayerNorm", "each entry of normalized_shape", s)
        self.normalized_shape = tuple(int(s) for s in shape)
        self.eps = positive_float("LayerNorm", "eps", eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(ones(*self.normalized_shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(zeros(*self.normalized_shape, dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        k = len(self.normalized_shape)
        if tuple(input.shape[-k:]) != self.normalized_shape or input.ndim < k:
            raise ShapeError(f"LayerNorm({self.normalized_shape}): expected input with trailing shape "
                             f"{self.normalized_shape}, got shape {tuple(input.shape)}")
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """y = (x − E[x]) / √(Var[x] + ε) · γ + β, statistics per sample over groups of C/G channels (and space).

    Args:
        num_groups: G, must divide num_channels.
        num_channels: C.
        eps: added to the variance (default 1e-5).
        affine: learn per-channel γ (ones) and β (zeros).

    Shape:
        input (N, C, *) -> same shape.

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.GroupNorm(2, 4)(dg.randn(3, 4, 5)).shape
        (3, 4, 5)
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.num_groups = positive_int("GroupNorm", "num_groups", num_groups)
        self.num_channels = positive_int("GroupNorm", "num_channels", num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.eps = positive_float("GroupNorm", "eps", eps)
        self.affine = affine
        if affine:
            self.weight = Parameter(ones(num_channels, dtype=dtype, device=device))
            self.bias = Parameter(zeros(num_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm({self.num_groups}, {self.num_channels}): expected input (N, "
                             f"{self.num_channels}, *), got shape {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class LocalResponseNorm(Module):
    """b(N_i, c) = a(N_i, c) / (k + α/n · Σ_{c' near c} a(N_i, c')²)^β over n = ``size`` neighbouring channels (AlexNet).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.LocalResponseNorm(5)(dg.ones(1, 8, 2, 2)).shape
        (1, 8, 2, 2)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = positive_int("LocalResponseNorm", "size", size)
        self.alpha, self.beta = float(alpha), float(beta)
        self.k = positive_float("LocalResponseNorm", "k", k)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
