"""Activation layers: thin modules over :mod:`deepgrad.nn.functional` (PReLU holds a learnable slope)."""
from __future__ import annotations

from ..creation import full
from ..tensor import Tensor
from . import functional as F
from ._validate import positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["Step", "Sigmoid", "Logistic", "Tanh", "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "Softplus",
           "SiLU", "Mish", "Hardtanh", "Hardsigmoid", "Softsign", "PReLU", "Softmax", "LogSoftmax"]


class Step(Module):
    """step(x) = 1 if x > 0, ``value_at_zero`` at 0, 0 if x < 0 — the perceptron's Heaviside threshold (its
    gradient is zero everywhere). The default ``value_at_zero=1.0`` is 1 for x ≥ 0; 0 gives the decks'
    "1 if x > 0, 0 otherwise".

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Step()(dg.tensor([-1.0, 0.0, 2.0])).tolist()
        [0.0, 1.0, 1.0]
        >>> dg.nn.Step(value_at_zero=0.0)(dg.tensor([-1.0, 0.0, 2.0])).tolist()
        [0.0, 0.0, 1.0]
    """

    def __init__(self, value_at_zero: float = 1.0) -> None:
        super().__init__()
        self.value_at_zero = float(value_at_zero)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.step(input, self.value_at_zero)

    def extra_repr(self) -> str:
        return "" if self.value_at_zero == 1.0 else f"value_at_zero={self.value_at_zero}"


class Sigmoid(Module):
    """σ(x) = 1 / (1 + e^{-x}).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Sigmoid()(dg.zeros(2)).tolist()
        [0.5, 0.5]
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.sigmoid(input)


class Logistic(Module):
    """The lectures' logistic function with gain k: σ_k(x) = 1 / (1 + e^{-kx}) (k = 1 is ``Sigmoid``).

    Args:
        k: the gain (steepness); larger k approaches the step function.

    Example:
        >>> import deepgrad as dg
        >>> round(dg.nn.Logistic(k=2.0)(dg.tensor([1.0])).item(), 4)
        0.8808
    """

    def __init__(self, k: float = 1.0) -> None:
        super().__init__()
        self.k = float(k)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.logistic(input, self.k)

    def extra_repr(self) -> str:
        return f"k={self.k}"


class Tanh(Module):
    """tanh(x) = (e^x − e^{-x}) / (e^x + e^{-x})."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.tanh(input)


class _Inplace(Module):
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """ReLU(x) = max(0, x). (``inplace`` is accepted for PyTorch compatibility; the result is always new.)

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.ReLU()(dg.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.relu(input)


class ReLU6(_Inplace):
    """ReLU6(x) = min(max(0, x), 6)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.relu6(input)


class SiLU(_Inplace):
    """SiLU(x) = x σ(x)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.silu(input)


class Mish(_Inplace):
    """Mish(x) = x tanh(softplus(x))."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.mish(input)


class SELU(_Inplace):
    """SELU(x) = λ (x if x > 0 else α (e^x − 1)), λ ≈ 1.0507, α ≈ 1.6733."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.selu(input)


class Hardsigmoid(_Inplace):
    """Hardsigmoid(x) = min(max(x/6 + ½, 0), 1)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.hardsigmoid(input)


class LeakyReLU(Module):
    """LeakyReLU(x) = x if x > 0 else negative_slope · x (the lectures use 0.01 and 0.1).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.LeakyReLU(0.5)(dg.tensor([-2.0, 3.0])).tolist()
        [-1.0, 3.0]
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = float(negative_slope), inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """ELU(x) = x if x > 0 else α (e^x − 1)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = float(alpha), inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    """GELU(x) = x Φ(x) (``approximate='tanh'``: ½ x (1 + tanh(√(2/π)(x + 0.044715 x³))))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


class Softplus(Module):
    """Softplus(x) = (1/β) log(1 + e^{βx}), linear (= x) where βx > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Hardtanh(x) = min(max(x, min_val), max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if min_val >= max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be below max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = float(min_val), float(max_val), inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Softsign(Module):
    """Softsign(x) = x / (1 + |x|)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softsign(input)


class PReLU(Module):
    """PReLU(x) = x if x > 0 else a · x with a learnable slope a (one, or one per channel on dim 1).

    Args:
        num_parameters: 1 or the number of channels. init: initial slope (default 0.25).

    Attributes:
        weight: (num_parameters,), filled with ``init``.
    """

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        super().__init__()
        self.num_parameters = positive_int("PReLU", "num_parameters", num_parameters)
        self.weight = Parameter(full((num_parameters,), float(init), dtype=dtype, device=device))

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class Softmax(Module):
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``dim``.

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.Softmax(dim=-1)(dg.zeros(1, 4)).tolist()
        [[0.25, 0.25, 0.25, 0.25]]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax(x)_i = x_i − log Σ_j e^{x_j} along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
