"""Convolution layers: ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d`` (state + a call into the conv ops)."""
from __future__ import annotations

import math

from ..creation import empty
from ..ops import conv as C
from ..ops._util import ShapeError
from ..ops.shape import pad
from ..tensor import Tensor
from . import init
from ._validate import positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    n = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                 padding_mode, output_padding=0, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.in_channels = positive_int(name, "in_channels", in_channels)
        self.out_channels = positive_int(name, "out_channels", out_channels)
        self.groups = positive_int(name, "groups", groups)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: groups={groups} must divide both in_channels={in_channels} and "
                             f"out_channels={out_channels}")
        self.kernel_size = self._pos_tuple("kernel_size", kernel_size)
        self.stride = self._pos_tuple("stride", stride)
        self.dilation = self._pos_tuple("dilation", dilation)
        if isinstance(padding, str):
            if padding not in ("valid", "same", "full") or self.transposed:
                raise ValueError(f"{name}: padding must be an int, a tuple" +
                                 ("" if self.transposed else ", 'valid', 'same' or 'full'") + f", got {padding!r}")
            self.padding = padding
        else:
            self.padding = C.ntuple(padding, self.n, "padding", name)
            if min(self.padding) < 0:
                raise ValueError(f"{name}: padding must be non-negative, got {padding!r}")
        if padding_mode not in _MODES or (self.transposed and padding_mode != "zeros"):
            allowed = "'zeros'" if self.transposed else ", ".join(repr(m) for m in _MODES)
            raise ValueError(f"{name}: padding_mode must be one of {allowed}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self.output_padding = C.ntuple(output_padding, self.n, "output_padding", name)
        if self.transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(empty(*shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _pos_tuple(self, what, v) -> tuple:
        t = C.ntuple(v, self.n, what, type(self).__name__)
        if min(t) < 1:
            raise ValueError(f"{type(self).__name__}: {what} must be positive, got {v!r}")
        return t

    def reset_parameters(self) -> None:
        # PyTorch's default: kaiming_uniform(a=√5) = U(±1/√fan_in) for the weight, and the same bound for the bias
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _label(self) -> str:
        return f"{type(self).__name__}({self.in_channels} -> {self.out_channels}, {'x'.join(map(str, self.kernel_size))})"

    def _check_input(self, x: Tensor) -> None:
        if not isinstance(x, Tensor) or x.ndim not in (self.n + 1, self.n + 2):
            raise ShapeError(f"{self._label()}: expected a {self.n + 2}-d input {C._DIMS[self.n]} or {self.n + 1}-d "
                             f"({C._DIMS[self.n][4:]}, got shape "
                             f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
        c = x.shape[-self.n - 1]
        if c != self.in_channels:
            raise ShapeError(f"{self._label()}: input has {c} channels, expected {self.in_channels} "
                             f"(input shape {tuple(x.shape)})")

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.transposed and self.output_padding != (0,) * self.n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        self._check_input(input)
        conv = (C.conv1d, C.conv2d, C.conv3d)[self.n - 1]
        padding = self.padding
        if self.padding_mode != "zeros":
            pads = C.resolve_padding(padding, input.shape[-self.n:], self.kernel_size, self.stride, self.dilation,
                                     self._label())
            widths = [w for lo_hi in reversed(pads) for w in lo_hi]
            input, padding = pad(input, widths, mode=self.padding_mode), 0
        return conv(input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """out(N_i, C_out_j) = bias(C_out_j) + Σ_k weight(C_out_j, k) ⋆ input(N_i, k) over length L. See :class:`Conv2d`."""

    n = 1


class Conv2d(_Conv):
    """out(N_i, C_out_j) = bias(C_out_j) + Σ_{k=0}^{C_in−1} weight(C_out_j, k) ⋆ input(N_i, k), ⋆ the 2-d cross-correlation.

    Args:
        in_channels, out_channels: channels of the input and output.
        kernel_size, stride, dilation: int or (h, w).
        padding: int, (h, w), 'valid', 'same' (out = ⌈in/stride⌉ for any stride) or 'full' (see
            :func:`deepgrad.nn.functional.conv2d`).
        groups: split the channels into ``groups`` independent convolutions (= in_channels: depthwise).
        bias: learn a per-output-channel bias (default True).
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = ⌊(H + 2·padding − dilation·(kH − 1) − 1)/stride⌋ + 1.

    Attributes:
        weight: (C_out, C_in/groups, kH, kW), U(−√k, √k) with k = groups/(C_in·kH·kW) (PyTorch's
            ``kaiming_uniform_(a=√5)``). bias: (C_out,), the same distribution.

    Example:
        >>> import deepgrad as dg
        >>> conv = dg.nn.Conv2d(1, 6, 5, padding=2)
        >>> conv(dg.zeros(8, 1, 28, 28)).shape
        (8, 6, 28, 28)
    """

    n = 2


class Conv3d(_Conv):
    """out(N_i, C_out_j) = bias(C_out_j) + Σ_k weight(C_out_j, k) ⋆ input(N_i, k) over (D, H, W). See :class:`Conv2d`."""

    n = 3


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device=device, dtype=dtype)
        for p, s, d in zip(self.output_padding, self.stride, self.dilation):
            if p >= s and p >= d:
                raise ValueError(f"{type(self).__name__}: output_padding {self.output_padding} must be smaller than "
                                 f"stride {self.stride} or dilation {self.dilation}")

    def forward(self, input: Tensor, output_size=None) -> Tensor:  # noqa: A002
        self._check_input(input)
        return C._conv_transpose(self.n, input, self.weight, self.bias, self.stride, self.padding,
                                 self.output_padding, self.groups, self.dilation, output_size)


class ConvTranspose1d(_ConvTranspose):
    """The transposed 1-d convolution ("deconvolution"). See :class:`ConvTranspose2d`."""

    n = 1


class ConvTranspose2d(_ConvTranspose):
    """out(N_i, C_out_j) = bias(C_out_j) + Σ_k weight(k, C_out_j) ⋆ᵀ input(N_i, k): the adjoint of Conv2d in its input.

    Each input pixel adds a weighted copy of the kernel into the output at ``stride`` spacing — the layer that
    upsamples in decoders, GAN generators and U-Nets.

    Shape: H_out = (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1 (or ``output_size`` given
    to ``forward``).

    Attributes:
        weight: (C_in, C_out/groups, kH, kW), PyTorch's default initialisation. bias: (C_out,).

    Example:
        >>> import deepgrad as dg
        >>> up = dg.nn.ConvTranspose2d(16, 8, 2, stride=2)
        >>> up(dg.zeros(1, 16, 7, 7)).shape
        (1, 8, 14, 14)
    """

    n = 2


class ConvTranspose3d(_ConvTranspose):
    """The transposed 3-d convolution ("deconvolution"). See :class:`ConvTranspose2d`."""

    n = 3
