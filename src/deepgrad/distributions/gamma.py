"""The gamma distribution Γ(α, β) with shape α (``concentration``) and rate β."""
from __future__ import annotations

from .. import ops
from ..autograd.function import Function
from ..backend import array_module
from ..ops.special import standard_gamma_grad
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, generator_rng


class _StandardGamma(Function):
    """A draw x ~ Γ(α, 1) per element of α; backward carries the implicit reparameterisation gradient
    dx/dα = −(∂P/∂α)(α, x) / p(x; α) (see :func:`deepgrad.ops.special.standard_gamma_grad`)."""

    saves_output = True

    def __init__(self, rng):
        self.rng = rng

    def forward(self, a):
        xp = array_module(a)
        draw = self.rng.standard_gamma(a.astype("float64"))
        tiny = xp.finfo(a.dtype).tiny  # PyTorch clamps draws away from 0 so log_prob stays finite
        return xp.maximum(draw, tiny).astype(a.dtype)

    def backward(self, g):
        return (g * standard_gamma_grad(Tensor._wrap(self._out), self.inputs[0]),)


def standard_gamma(concentration: Tensor, shape: tuple) -> Tensor:
    """Draws of Γ(α, 1) of ``shape`` (α broadcast to it) from the default generator, differentiable in α by
    implicit reparameterisation (PyTorch's ``_standard_gamma``)."""
    return _StandardGamma(generator_rng(concentration))(concentration.expand(shape))


class Gamma(Distribution):
    r"""Γ(α, β): :math:`\log p(x) = \alpha\log\beta + (\alpha-1)\log x - \beta x - \log\Gamma(\alpha)` on x > 0.

    Mean α/β, variance α/β², entropy α − log β + log Γ(α) + (1 − α) ψ(α). ``rsample`` draws x = z/β with
    z ~ Γ(α, 1) from the backend's gamma generator and is reparameterised: dx/dβ = −x/β, and dz/dα comes from the
    implicit function theorem applied to the CDF, u = P(α, z) held fixed: dz/dα = −(∂P/∂α)/p(z; α) (Figurnov et
    al., 2018), as PyTorch does (PyTorch approximates that quotient; deepgrad computes it in float64 from the
    incomplete gamma function's series and continued fraction). ``sample`` is ``rsample`` without the graph.

    Args:
        concentration: α > 0. rate: β > 0. validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
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

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return standard_gamma(self.concentration, shape) / self.rate.expand(shape)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration, self.rate
        return a * ops.log(b) + (a - 1) * ops.log(value) - b * value - ops.lgamma(a)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - ops.log(self.rate) + ops.lgamma(a) + (1 - a) * ops.digamma(a)
