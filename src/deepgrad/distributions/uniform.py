"""The continuous uniform distribution U(low, high)."""
from __future__ import annotations

from .. import ops
from ..creation import rand
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class Uniform(Distribution):
    r"""U(a, b) on the half-open interval [a, b): :math:`\log p(x) = -\log(b - a)` inside, −∞ outside.

    ``rsample`` is reparameterised, x = a + (b − a) u with u ~ U(0, 1). Mean (a + b)/2, variance (b − a)²/12,
    entropy log(b − a), cdf clamp((x − a)/(b − a), 0, 1).

    Args:
        low: a. high: b > a (checked when validate_args). validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"low": constraints.dependent, "high": constraints.dependent}
    has_rsample = True
    _expand_params = {"low": 0, "high": 0}

    def __init__(self, low, high, validate_args: bool | None = None) -> None:
        self.low, self.high = broadcast_all(low, high, op="Uniform")
        super().__init__(self.low.shape, (), validate_args)
        if self._validate_args and not bool((self.low < self.high).all()):
            raise ValueError(f"Uniform: low must be less than high everywhere, got low={self.low} and "
                             f"high={self.high}")

    @property
    def support(self) -> constraints.Constraint:
        return constraints.half_open_interval(self.low, self.high)

    @property
    def mean(self) -> Tensor:
        return (self.low + self.high) / 2

    @property
    def mode(self) -> Tensor:
        return self.mean * float("nan")

    @property
    def variance(self) -> Tensor:
        w = self.high - self.low
        return w * w / 12

    def rsample(self, sample_shape=()) -> Tensor:
        u = rand(*self._extended_shape(sample_shape), dtype=self.low.dtype, device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        inside = (value >= self.low) & (value < self.high)
        return ops.where(inside, -ops.log(self.high - self.low), float("-inf"))

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ops.clamp((value - self.low) / (self.high - self.low), 0.0, 1.0)

    def icdf(self, value: Tensor) -> Tensor:
        return self.low + value * (self.high - self.low)

    def entropy(self) -> Tensor:
        return ops.log(self.high - self.low)
