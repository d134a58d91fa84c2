"""The gamma distribution Γ(α, β) with shape α (``concentration``) and rate β."""
from __future__ import annotations

from .. import ops
from ..backend import array_module
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, generator_rng


def standard_gamma(concentration: Tensor, shape: tuple) -> Tensor:
    """Draws of Γ(α, 1) of ``shape`` (α broadcast to it), from the default generator; not differentiable."""
    a = concentration.detach()._data
    xp = array_module(a)
    draw = generator_rng(concentration).standard_gamma(xp.broadcast_to(a, shape).astype("float64"))
    tiny = xp.finfo(a.dtype).tiny  # PyTorch clamps draws away from 0 so log_prob stays finite
    return Tensor._wrap(xp.maximum(draw, tiny).astype(a.dtype))


class Gamma(Distribution):
    r"""Γ(α, β): :math:`\log p(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x - \log\Gamma(\alpha)` on x > 0.

    Mean α/β, variance α/β², entropy α − log β + log Γ(α) + (1 − α) ψ(α). ``sample`` draws with the backend's
    gamma generator; there is no ``rsample`` (PyTorch's implicit reparameterisation is not implemented).

    Args:
        concentration: α > 0. rate: β > 0. validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    _expand_params = {"concentration": 0, "rate": 0}

    def __init__(self, concentration, rate, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate, op="Gamma")
        super().__init__(self.concentration.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ops.clamp((self.concentration - 1) / self.rate, min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / (self.rate * self.rate)

    def sample(self, sample_shape=()) -> Tensor:
        return standard_gamma(self.concentration, self._extended_shape(sample_shape)) / self.rate.detach()

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return a * ops.log(b) + (a - 1) * ops.log(value) - b * value - ops.lgamma(a)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - ops.log(self.rate) + ops.lgamma(a) + (1 - a) * ops.digamma(a)
