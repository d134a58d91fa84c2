"""The one-hot categorical distribution: a categorical draw written as a one-hot vector."""
from __future__ import annotations

from ..ops import one_hot
from ..tensor import Tensor
from . import constraints
from .categorical import Categorical
from .distribution import Distribution


class OneHotCategorical(Distribution):
    r"""Categorical(p) whose values are one-hot vectors e_k of length K: :math:`\log p(e_k) = \log p_k`.

    Event shape (K,); mean p, variance p(1 − p); entropy as :class:`Categorical`. Samples are float one-hot
    vectors of the parameter's dtype.

    Args:
        probs: non-negative weights (..., K). logits: unnormalised log-weights (..., K). validate_args: see
            :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        self._categorical = Categorical(probs, logits, validate_args)
        c = self._categorical
        super().__init__(c.batch_shape, c.param_shape[-1:], validate_args=False)
        if validate_args is not None:
            self._validate_args = validate_args

    def expand(self, batch_shape, _instance=None) -> OneHotCategorical:
        new = object.__new__(OneHotCategorical)
        new.__dict__.update(self.__dict__)
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, new._categorical.batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self) -> tuple:
        return self._categorical.param_shape

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return one_hot(self._categorical.mode, self._event_shape[0]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        return one_hot(self._categorical.sample(sample_shape), self._event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        from ..creation import eye

        n = self._event_shape[0]
        values = eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self._batch_shape) + (n,))
        return values.expand((n,) + self._batch_shape + (n,)) if expand else values

    def __repr__(self) -> str:
        return f"OneHotCategorical(probs: {tuple(self.probs.shape)})"
