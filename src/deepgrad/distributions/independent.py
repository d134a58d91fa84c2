"""``Independent``: reinterpret batch axes of a distribution as event axes."""
from __future__ import annotations

from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import sum_rightmost


class Independent(Distribution):
    r"""The product of ``base``'s batch elements over its last ``n = reinterpreted_batch_ndims`` batch axes:
    :math:`\log p(x) = \sum_{\text{last } n \text{ axes}} \log p_{\text{base}}(x)`, and the entropy sums likewise.

    The typical use: ``Independent(Normal(mu, sigma), 1)`` is a diagonal Gaussian over vectors, whose
    ``log_prob`` returns one number per vector instead of one per coordinate.

    Args:
        base_distribution: the distribution to reinterpret. reinterpreted_batch_ndims: n, at most
            ``len(base.batch_shape)``. validate_args: see :class:`Distribution`.
    """

    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        if not isinstance(base_distribution, Distribution):
            raise TypeError(f"Independent: base_distribution must be a Distribution, got "
                            f"{type(base_distribution).__name__}")
        n, batch = reinterpreted_batch_ndims, base_distribution.batch_shape
        if not isinstance(n, int) or not 0 <= n <= len(batch):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be an integer in 0..{len(batch)} (the "
                             f"base distribution's batch_shape is {batch}), got {n!r}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        cut = len(batch) - n
        super().__init__(batch[:cut], batch[cut:] + base_distribution.event_shape, validate_args)

    def expand(self, batch_shape, _instance=None) -> Independent:
        batch_shape = tuple(batch_shape)
        n = self.reinterpreted_batch_ndims
        base = self.base_dist.expand(batch_shape + self._event_shape[:n])
        new = Independent(base, n, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def has_rsample(self) -> bool:
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self) -> bool:
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @property
    def support(self) -> constraints.Constraint:
        s = self.base_dist.support
        return s if self.reinterpreted_batch_ndims == 0 else constraints.independent(s, self.reinterpreted_batch_ndims)

    @property
    def mean(self) -> Tensor:
        return self.base_dist.mean

    @property
    def mode(self) -> Tensor:
        return self.base_dist.mode

    @property
    def variance(self) -> Tensor:
        return self.base_dist.variance

    def sample(self, sample_shape=()) -> Tensor:
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value: Tensor) -> Tensor:
        return sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self) -> Tensor:
        return sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        if self.reinterpreted_batch_ndims:
            raise NotImplementedError("Independent: enumerating the support over reinterpreted axes is not supported")
        return self.base_dist.enumerate_support(expand)

    def __repr__(self) -> str:
        return f"Independent({self.base_dist!r}, {self.reinterpreted_batch_ndims})"
