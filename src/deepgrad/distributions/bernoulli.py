"""The Bernoulli distribution: one coin flip with P(x = 1) = p."""
from __future__ import annotations

from ..creation import rand
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution
from .utils import broadcast_all, logits_to_probs, probs_to_logits, softplus


class Bernoulli(Distribution):
    r"""Bernoulli(p), given by ``probs`` p or ``logits`` ℓ = log p − log(1 − p) (exactly one):
    :math:`\log p(x) = x\ell - \operatorname{softplus}(\ell)`, which is −BCE-with-logits and stable for any ℓ.

    Entropy softplus(ℓ) − p ℓ; mean p, variance p(1 − p). Samples are floats 0./1. (no rsample: the draw is
    discrete).

    Args:
        probs: p in [0, 1]. logits: ℓ, any real. validate_args: see :class:`Distribution`.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True
    _expand_params = {"probs": 0, "logits": 0}

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Bernoulli: give exactly one of probs or logits")
        if probs is not None:
            (self.probs,) = broadcast_all(probs, op="Bernoulli")
            param = self.probs
        else:
            (self.logits,) = broadcast_all(logits, op="Bernoulli")
            param = self.logits
        super().__init__(param.shape, (), validate_args)
        if probs is not None:
            self.logits = probs_to_logits(self.probs, is_binary=True)
        else:
            self.probs = logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self) -> tuple:
        return tuple(self.probs.shape)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        return (self.probs >= 0.5).to(self.probs.dtype).masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        p = self.probs.detach()
        u = rand(*self._extended_shape(sample_shape), dtype=p.dtype, device=p.device)
        return (u < p).to(p.dtype)

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return value * self.logits - softplus(self.logits)

    def entropy(self) -> Tensor:
        return softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The values 0. and 1., shaped (2,) + (1,)*len(batch_shape), or expanded to (2,) + batch_shape."""
        from ..tensor import tensor

        values = tensor([0.0, 1.0], dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((2,) + (1,) * len(self._batch_shape))
        return values.expand((2,) + self._batch_shape) if expand else values
