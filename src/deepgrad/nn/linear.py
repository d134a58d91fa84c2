"""Affine layers: ``Identity``, ``Linear``, ``Bilinear``, ``Maxout``."""
from __future__ import annotations

import math

from ..creation import empty
from ..ops._util import ShapeError
from ..tensor import Tensor
from . import functional as F
from . import init
from ._validate import positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["Identity", "Linear", "Bilinear", "Maxout"]


class Identity(Module):
    """y = x (a placeholder; constructor arguments are accepted and ignored).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Identity()(dg.ones(2)).tolist()
        [1.0, 1.0]
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return input


def _param(*shape, dtype=None, device=None) -> Parameter:
    return Parameter(empty(*shape, dtype=dtype, device=device))


class Linear(Module):
    """y = x Wᵀ + b.

    Args:
        in_features: size of each input sample. out_features: size of each output sample.
        bias: learn an additive bias (default True).
        device, dtype: where and of what type the parameters are created (default CPU, float32).

    Shape:
        input (*, in_features) -> output (*, out_features).

    Attributes:
        weight: (out_features, in_features), initialised U(−1/√in_features, 1/√in_features) (PyTorch's
            ``kaiming_uniform_(a=√5)``). bias: (out_features,), U(−1/√in_features, 1/√in_features).

    Example:
        >>> import deepgrad as dg
        >>> fc = dg.nn.Linear(784, 256)
        >>> fc
        Linear(in_features=784, out_features=256, bias=True)
        >>> fc(dg.zeros(128, 784)).shape
        (128, 256)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = positive_int("Linear", "in_features", in_features)
        self.out_features = positive_int("Linear", "out_features", out_features)
        self.weight = _param(out_features, in_features, dtype=dtype, device=device)
        if bias:
            self.bias = _param(out_features, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        shape = input.shape
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"Linear({self.in_features} -> {self.out_features}): expected input with last dimension "
                             f"{self.in_features}, got shape {tuple(shape)}")
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y_k = x₁ᵀ A_k x₂ + b_k.

    Args:
        in1_features, in2_features: sizes of the two inputs. out_features: output size. bias: default True.

    Shape:
        input1 (*, in1_features), input2 (*, in2_features) -> (*, out_features).

    Attributes:
        weight: (out_features, in1_features, in2_features) and bias (out_features,), both U(−1/√in1, 1/√in1).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Bilinear(3, 4, 2)(dg.ones(5, 3), dg.ones(5, 4)).shape
        (5, 2)
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in1_features = positive_int("Bilinear", "in1_features", in1_features)
        self.in2_features = positive_int("Bilinear", "in2_features", in2_features)
        self.out_features = positive_int("Bilinear", "out_features", out_features)
        self.weight = _param(out_features, in1_features, in2_features, dtype=dtype, device=device)
        if bias:
            self.bias = _param(out_features, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        if input1.shape[-1:] != (self.in1_features,) or input2.shape[-1:] != (self.in2_features,):
            raise ShapeError(f"Bilinear({self.in1_features}, {self.in2_features} -> {self.out_features}): expected "
                             f"inputs with last dimensions {self.in1_features} and {self.in2_features}, got shapes "
                             f"{tuple(input1.shape)} and {tuple(input2.shape)}")
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Maxout(Module):
    """Maxout unit (Goodfellow et al., 2013): y_j = max_{i=1..k} (w_{ij}ᵀ x + b_{ij}), a learned piecewise-linear
    convex activation with k linear pieces per output. No PyTorch equivalent.

    Args:
        in_features: input size. out_features: number of maxout units. k: pieces per unit (≥ 1).
        bias: default True.

    Shape:
        input (*, in_features) -> output (*, out_features).

    Attributes:
        weight: (out_features · k, in_features), row j·k + i is piece i of unit j; bias (out_features · k,).
        Initialised like ``Linear(in_features, out_features · k)``: U(−1/√in_features, 1/√in_features).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Maxout(4, 3, k=2)(dg.ones(5, 4)).shape
        (5, 3)
    """

    def __init__(self, in_features: int, out_features: int, k: int = 2, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.in_features = positive_int("Maxout", "in_features", in_features)
        self.out_features = positive_int("Maxout", "out_features", out_features)
        self.k = positive_int("Maxout", "k", k)
        self.weight = _param(out_features * k, in_features, dtype=dtype, device=device)
        if bias:
            self.bias = _param(out_features * k, dtype=dtype, device=device)
        else:
            self.register_parameter("bias", None)
        bound = 1 / math.sqrt(in_features)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if not input.shape or input.shape[-1] != self.in_features:
            raise ShapeError(f"Maxout({self.in_features} -> {self.out_features}, k={self.k}): expected input with "
                             f"last dimension {self.in_features}, got shape {tuple(input.shape)}")
        z = F.linear(input, self.weight, self.bias)
        return z.reshape(tuple(input.shape[:-1]) + (self.out_features, self.k)).amax(-1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, k={self.k}, " \
               f"bias={self.bias is not None}"


