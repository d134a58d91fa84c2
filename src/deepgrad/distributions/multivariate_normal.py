"""The multivariate normal distribution N(μ, Σ) over vectors of length k."""
from __future__ import annotations

import math

import numpy as np

from .. import ops
from ..creation import randn
from ..ops.factorization import cholesky, cholesky_inverse, solve_triangular
from ..ops.matrix import diagonal
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution


def batch_mahalanobis(scale_tril: Tensor, diff: Tensor) -> Tensor:
    """‖L⁻¹ d‖² = dᵀ Σ⁻¹ d for Σ = L Lᵀ, over the batch (L's batch axes broadcast against d's)."""
    z = solve_triangular(scale_tril, diff.unsqueeze(-1), upper=False).squeeze(-1)
    return (z * z).sum(-1)


def half_log_det(scale_tril: Tensor) -> Tensor:
    """½ log det Σ = Σᵢ log Lᵢᵢ."""
    return ops.log(diagonal(scale_tril, 0, -2, -1)).sum(-1)


class MultivariateNormal(Distribution):
    r"""N(μ, Σ) over ℝᵏ, with Σ given by exactly one of ``covariance_matrix`` Σ, ``precision_matrix`` Σ⁻¹ or
    ``scale_tril`` L (lower triangular, positive diagonal, Σ = L Lᵀ). Everything is computed from L:

    .. math::
        \log p(x) = -\tfrac12\bigl(k \log 2\pi + \lVert L^{-1}(x-\mu)\rVert^2\bigr) - \sum_i \log L_{ii},
        \qquad H = \tfrac k2 (1 + \log 2\pi) + \sum_i \log L_{ii}

    ``rsample`` is reparameterised, x = μ + L ε with ε ~ N(0, I). Σ is factorised with :func:`cholesky`
    (Σ⁻¹ is first inverted through its own Cholesky factor), so gradients reach every parameter.

    Args:
        loc: μ (..., k). covariance_matrix, precision_matrix: (..., k, k) symmetric positive-definite.
        scale_tril: (..., k, k). validate_args: see :class:`Distribution`.

    Example:
        >>> import deepgrad as dg
        >>> d = dg.distributions.MultivariateNormal(dg.zeros(2), scale_tril=dg.eye(2))
        >>> round(d.log_prob(dg.zeros(2)).item(), 4)
        -1.8379
    """

    arg_constraints = {"loc": constraints.real_vector, "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite, "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True
    _expand_params = {"loc": 1}

    def __init__(self, loc: Tensor, covariance_matrix: Tensor | None = None, precision_matrix: Tensor | None = None,
                 scale_tril: Tensor | None = None, validate_args: bool | None = None) -> None:
        given = {k: v for k, v in (("covariance_matrix", covariance_matrix), ("precision_matrix", precision_matrix),
                                   ("scale_tril", scale_tril)) if v is not None}
        if len(given) != 1:
            raise ValueError("MultivariateNormal: give exactly one of covariance_matrix, precision_matrix or "
                             f"scale_tril, got {sorted(given) or 'none'}")
        (name, matrix), = given.items()
        if not isinstance(loc, Tensor) or loc.ndim < 1:
            raise ValueError(f"MultivariateNormal: loc must be a Tensor with at least one dimension, got {loc!r}")
        if not isinstance(matrix, Tensor) or matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
            raise ValueError(f"MultivariateNormal: {name} must be a batch of square matrices (..., k, k), got "
                             f"{getattr(matrix, 'shape', type(matrix).__name__)}")
        if matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: loc has k = {loc.shape[-1]} but {name} is "
                             f"{matrix.shape[-2]}x{matrix.shape[-1]}")
        try:
            batch = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(matrix.shape[:-2]))
        except ValueError:
            raise ValueError(f"MultivariateNormal: the batch shapes of loc {tuple(loc.shape)} and {name} "
                             f"{tuple(matrix.shape)} do not broadcast") from None
        self.loc = loc.expand(batch + loc.shape[-1:])
        self.__dict__[name] = matrix  # the given form, kept as given (validated below)
        super().__init__(batch, loc.shape[-1:], validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = matrix
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(matrix)
        else:
            self._unbroadcasted_scale_tril = cholesky(cholesky_inverse(cholesky(matrix)))

    def _full(self, m: Tensor) -> Tensor:
        return m.expand(self._batch_shape + self._event_shape + self._event_shape)

    def expand(self, batch_shape, _instance=None) -> MultivariateNormal:
        new = super().expand(batch_shape)
        for name in ("covariance_matrix", "precision_matrix", "scale_tril"):
            if name in new.__dict__:
                new.__dict__[name] = new._full(new.__dict__[name])
        return new

    @property
    def scale_tril(self) -> Tensor:
        return self._full(self._unbroadcasted_scale_tril)

    @property
    def covariance_matrix(self) -> Tensor:
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return self._full(L @ L.mT)

    @property
    def precision_matrix(self) -> Tensor:
        return self._full(cholesky_inverse(self._unbroadcasted_scale_tril))

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        L = self._unbroadcasted_scale_tril  # noqa: N806
        return (L * L).sum(-1).expand(self._batch_shape + self._event_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        eps = randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self._unbroadcasted_scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        L = self._unbroadcasted_scale_tril  # noqa: N806
        k = self._event_shape[0]
        m = batch_mahalanobis(L, value - self.loc)
        return -0.5 * (k * math.log(2 * math.pi) + m) - half_log_det(L)

    def entropy(self) -> Tensor:
        k = self._event_shape[0]
        h = 0.5 * k * (1.0 + math.log(2 * math.pi)) + half_log_det(self._unbroadcasted_scale_tril)
        return h.expand(self._batch_shape) if tuple(h.shape) != self._batch_shape else h
