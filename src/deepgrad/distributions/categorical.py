"""The categorical distribution over K classes {0, ..., K−1}."""
from __future__ import annotations

import numpy as np

from .. import ops
from ..backend import array_module
from ..tensor import Tensor
from . import constraints
from .distribution import Distribution, _nan
from .utils import generator_rng, probs_to_logits


class Categorical(Distribution):
    r"""Categorical(p) over {0, …, K−1}, given by ``probs`` (normalised along the last axis) or ``logits``
    (normalised as ℓ − logsumexp ℓ), exactly one: :math:`\log p(k) = \ell_k`, entropy :math:`-\sum_k p_k \ell_k`.

    The last axis of the parameter indexes the classes; the ones before it are the batch. Samples are int64
    class indices drawn by inverting the cumulative probabilities; ``log_prob`` takes such indices. Mean and
    variance do not exist for a label and are nan, as in PyTorch.

    Args:
        probs: non-negative weights (..., K). logits: unnormalised log-weights (..., K). validate_args: see
            :class:`Distribution`.

    Example:
        >>> import deepgrad as dg
        >>> d = dg.distributions.Categorical(probs=dg.tensor([0.25, 0.75]))
        >>> round(d.log_prob(dg.tensor(1)).exp().item(), 2)
        0.75
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True
    _expand_params = {"probs": 1, "logits": 1}

    def __init__(self, probs=None, logits=None, validate_args: bool | None = None) -> None:
        name = type(self).__name__
        if (probs is None) == (logits is None):
            raise ValueError(f"{name}: give exactly one of probs or logits")
        param = probs if probs is not None else logits
        if not isinstance(param, Tensor) or param.ndim < 1:
            raise ValueError(f"{name}: {'probs' if probs is not None else 'logits'} must be a Tensor with at least "
                             f"one dimension (the classes), got {param if not isinstance(param, Tensor) else param.shape}")
        if probs is not None:
            if self._validate_args if validate_args is None else validate_args:
                if not bool((probs >= 0).all()):  # normalising first would hide a sign mistake
                    raise ValueError(f"{name}: probs must be non-negative, got\n{probs}")
            self.probs = probs / probs.sum(-1, keepdim=True)
        else:
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], (), validate_args)
        if probs is not None:
            self.logits = probs_to_logits(self.probs)
        else:
            self.probs = ops.softmax(self.logits, -1)

    @property
    def param_shape(self) -> tuple:
        return tuple(self.probs.shape)

    @property
    def support(self) -> constraints.Constraint:
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self) -> Tensor:
        return _nan(self._batch_shape, self.probs)

    @property
    def variance(self) -> Tensor:
        return _nan(self._batch_shape, self.probs)

    @property
    def mode(self) -> Tensor:
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()) -> Tensor:
        p = self.probs.detach()._data
        xp = array_module(p)
        cdf = xp.cumsum(p, axis=-1)
        shape = self._extended_shape(sample_shape)
        u = generator_rng(self.probs).random(shape + (1,)).astype(p.dtype) * cdf[..., -1:]
        idx = (cdf <= u).sum(axis=-1)  # the first class whose cumulative probability exceeds u
        return Tensor._wrap(xp.minimum(idx, self._num_events - 1).astype(np.int64))

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), self._batch_shape)
        logits = self.logits.expand(shape + (self._num_events,))
        return logits.gather(-1, value.expand(shape).unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> Tensor:
        logits = ops.clamp(self.logits, min=float(np.finfo(self.logits.dtype).min))
        return -(self.probs * logits).sum(-1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The classes 0..K−1 shaped (K,) + (1,)*len(batch_shape), or expanded to (K,) + batch_shape."""
        from ..creation import arange

        values = arange(self._num_events, device=self.probs.device).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((self._num_events,) + self._batch_shape) if expand else values
