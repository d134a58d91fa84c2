"""The Dirichlet distribution Dir(α) on the probability simplex."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .gamma import standard_gamma


class Dirichlet(Distribution):
    r"""Dir(α) over vectors x with :math:`x_k > 0`, :math:`\sum_k x_k = 1`:
    :math:`\log p(x) = \sum_k (\alpha_k - 1)\log x_k + \log\Gamma(\alpha_0) - \sum_k \log\Gamma(\alpha_k)`,
    :math:`\alpha_0 = \sum_k \alpha_k`.

    Event shape (K,); mean α/α₀, variance α(α₀ − α)/(α₀²(α₀ + 1)), mode max(α − 1, 0) normalised (the corner
    of the largest αₖ when every αₖ < 1; PyTorch's argmax there runs over 0/0 and takes the first corner),
    entropy :math:`\sum_k \log\Gamma(\alpha_k) - \log\Gamma(\alpha_0) + (\alpha_0 - K)\psi(\alpha_0) -
    \sum_k (\alpha_k - 1)\psi(\alpha_k)`. ``rsample`` normalises independent gammas, x = z/Σz with
    zₖ ~ Γ(αₖ, 1) reparameterised implicitly (see :class:`~deepgrad.distributions.Gamma`); PyTorch differentiates
    the same draw through each marginal's beta CDF instead, a per-draw gradient that differs but has the same
    expectation.

    Args:
        concentration: α > 0, shape (..., K). validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True
    _expand_params = {"concentration": 1}

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if not isinstance(concentration, Tensor) or concentration.ndim < 1:
            raise ValueError("Dirichlet: concentration must be a Tensor with at least one dimension (..., K), got "
                             f"{concentration!r}")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        a = self.concentration
        excess = ops.clamp(a - 1, min=0.0)
        interior = excess / ops.clamp(excess.sum(-1, keepdim=True), min=float(np.finfo(a.dtype).tiny))
        corner = ops.one_hot(a.argmax(-1), a.shape[-1]).to(a.dtype)
        return ops.where((a < 1).all(-1, keepdim=True), corner, interior)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        total = a.sum(-1, keepdim=True)
        return a * (total - a) / (total * total * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        z = standard_gamma(self.concentration, self._extended_shape(sample_shape))
        return z / z.sum(-1, keepdim=True)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return ((a - 1) * ops.log(value)).sum(-1) + ops.lgamma(a.sum(-1)) - ops.lgamma(a).sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k, total = a.shape[-1], a.sum(-1)
        return (ops.lgamma(a).sum(-1) - ops.lgamma(total) + (total - k) * ops.digamma(total)
                - ((a - 1) * ops.digamma(a)).sum(-1))
