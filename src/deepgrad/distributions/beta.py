"""The beta distribution Beta(α, β) on [0, 1]."""
from __future__ import annotations

from .. import ops
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .gamma import standard_gamma
from .utils import broadcast_all, lbeta


class Beta(Distribution):
    r"""Beta(α, β) with α = ``concentration1``, β = ``concentration0``:
    :math:`\log p(x) = (\alpha-1)\log x + (\beta-1)\log(1-x) - \log B(\alpha, \beta)`.

    Mean α/(α+β), variance αβ/((α+β)²(α+β+1)), entropy
    log B(α, β) − (α−1)ψ(α) − (β−1)ψ(β) + (α+β−2)ψ(α+β). ``rsample`` draws X/(X+Y) with X ~ Γ(α), Y ~ Γ(β), each
    reparameterised implicitly (see :class:`~deepgrad.distributions.Gamma`), so gradients reach α and β. PyTorch
    reparameterises the same draw through the beta CDF instead (its Dirichlet gradient); the two per-draw gradients
    differ but have the same expectation, the gradient of the expected value.

    Args:
        concentration1: α > 0. concentration0: β > 0. validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True
    _expand_params = {"concentration1": 0, "concentration0": 0}

    def __init__(self, concentration1, concentration0, validate_args: bool | None = None) -> None:
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0, op="Beta")
        super().__init__(self.concentration1.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return (a - 1) / (a + b - 2)

    @property
    def variance(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total * total * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        x = standard_gamma(self.concentration1, shape)
        y = standard_gamma(self.concentration0, shape)
        return x / (x + y)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        return (a - 1) * ops.log(value) + (b - 1) * ops.log1p(-value) - lbeta(a, b)

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        return (lbeta(a, b) - (a - 1) * ops.digamma(a) - (b - 1) * ops.digamma(b)
                + (a + b - 2) * ops.digamma(a + b))
