"""Pooling and unpooling layers (calls into :mod:`deepgrad.ops.pool`)."""
from __future__ import annotations

from ..ops import pool as P
from ..tensor import Tensor
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]


class _MaxPool(Module):
    fn = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride or kernel_size, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):  # noqa: A002
        return type(self).fn(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                             self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPool):
    """out(N_i, C_j, l) = max_{m < k} input(N_i, C_j, stride·l + dilation·m − padding). See :class:`MaxPool2d`."""

    fn = staticmethod(P.max_pool1d)


class MaxPool2d(_MaxPool):
    """out(N_i, C_j, h, w) = max_{m, n} input(N_i, C_j, stride·h + dilation·m − padding, stride·w + dilation·n − padding).

    Args: kernel_size; stride (default kernel_size); padding (−∞, at most half the kernel); dilation;
    return_indices (also return flat indices for :class:`MaxUnpool2d`); ceil_mode (round the output size up).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.MaxPool2d(2)(dg.arange(16.0).reshape(1, 1, 4, 4))[0, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """

    fn = staticmethod(P.max_pool2d)


class MaxPool3d(_MaxPool):
    """out(N_i, C_j, d, h, w) = max over the (kD, kH, kW) window. See :class:`MaxPool2d`."""

    fn = staticmethod(P.max_pool3d)


class _AvgPool(Module):
    n = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if self.n == 1:  # PyTorch's avg_pool1d has no divisor_override
            return P.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                self.count_include_pad)
        fn = P.avg_pool2d if self.n == 2 else P.avg_pool3d
        return fn(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                  self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPool):
    """out(N_i, C_j, l) = 1/k · Σ_{m < k} input(N_i, C_j, stride·l + m − padding). See :class:`AvgPool2d`."""

    n = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2d(_AvgPool):
    """out(N_i, C_j, h, w) = 1/(kH·kW) · Σ_{m, n} input(N_i, C_j, stride·h + m − padding, stride·w + n − padding).

    Zero padding, counted in the divisor unless ``count_include_pad=False``; ``divisor_override`` replaces it.

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.AvgPool2d(2)(dg.arange(16.0).reshape(1, 1, 4, 4))[0, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    n = 2


class AvgPool3d(_AvgPool):
    """out(N_i, C_j, d, h, w) = the mean over the (kD, kH, kW) window. See :class:`AvgPool2d`."""

    n = 3


class _Adaptive(Module):
    fn = None

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return type(self).fn(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMax(_Adaptive):
    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):  # noqa: A002
        return type(self).fn(input, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_Adaptive):
    """out(N_i, C_j, l) = mean of input over the bin [⌊l·L/L_out⌋, ⌈(l+1)·L/L_out⌉). See :class:`AdaptiveAvgPool2d`."""

    fn = staticmethod(P.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_Adaptive):
    """out(N_i, C_j, h, w) = mean of input over the adaptive bin of (h, w): any input size -> ``output_size``.

    ``AdaptiveAvgPool2d(1)`` is global average pooling (GoogLeNet, ResNet).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.AdaptiveAvgPool2d(1)(dg.ones(2, 3, 7, 5)).shape
        (2, 3, 1, 1)
    """

    fn = staticmethod(P.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_Adaptive):
    """out = mean over each adaptive (D, H, W) bin. See :class:`AdaptiveAvgPool2d`."""

    fn = staticmethod(P.adaptive_avg_pool3d)


class AdaptiveMaxPool1d(_AdaptiveMax):
    """out(N_i, C_j, l) = max over the adaptive bin of l. See :class:`AdaptiveMaxPool2d`."""

    fn = staticmethod(P.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMax):
    """out(N_i, C_j, h, w) = max of input over the adaptive bin of (h, w); ``AdaptiveMaxPool2d(1)``: global max pooling."""

    fn = staticmethod(P.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMax):
    """out = max over each adaptive (D, H, W) bin. See :class:`AdaptiveMaxPool2d`."""

    fn = staticmethod(P.adaptive_max_pool3d)


class _MaxUnpool(Module):
    n = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:  # noqa: A002
        fn = (P.max_unpool1d, P.max_unpool2d, P.max_unpool3d)[self.n - 1]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """The partial inverse of :class:`MaxPool1d`. See :class:`MaxUnpool2d`."""

    n = 1


class MaxUnpool2d(_MaxUnpool):
    """out(N_i, C_j, indices(N_i, C_j, h, w)) = input(N_i, C_j, h, w), zero elsewhere (SegNet's decoder).

    ``forward(input, indices, output_size=None)`` with ``indices`` from ``MaxPool2d(..., return_indices=True)``.
    """

    n = 2


class MaxUnpool3d(_MaxUnpool):
    """The partial inverse of :class:`MaxPool3d`. See :class:`MaxUnpool2d`."""

    n = 3
