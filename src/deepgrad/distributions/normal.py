"""The normal (Gaussian) distribution N(μ, σ²)."""
from __future__ import annotations

import math

from .. import ops
from ..creation import randn
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all


class Normal(Distribution):
    r"""N(μ, σ²): :math:`\log p(x) = -\frac{(x-\mu)^2}{2\sigma^2} - \log\sigma - \tfrac12\log 2\pi`.

    ``rsample`` is reparameterised, x = μ + σ ε with ε ~ N(0, 1), so gradients reach μ and σ (the VAE trick).
    Entropy ½ + ½ log 2π + log σ; cdf ½ (1 + erf((x − μ)/(σ√2))); icdf μ + σ√2 erf⁻¹(2p − 1), differentiable in
    p, μ and σ.

    Args:
        loc: mean μ (Tensor or number). scale: standard deviation σ > 0. validate_args: see :class:`Distribution`.

    Example:
        >>> import deepgrad as dg
        >>> d = dg.distributions.Normal(dg.tensor([0.0]), dg.tensor([1.0]))
        >>> round(d.log_prob(dg.tensor([0.0])).item(), 4)
        -0.9189
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True
    _expand_params = {"loc": 0, "scale": 0}

    def __init__(self, loc, scale, validate_args: bool | None = None) -> None:
        self.loc, self.scale = broadcast_all(loc, scale, op="Normal")
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        eps = randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - ops.log(self.scale) - 0.5 * math.log(2 * math.pi)

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + ops.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value: Tensor) -> Tensor:
        return self.loc + self.scale * ops.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + ops.log(self.scale)
