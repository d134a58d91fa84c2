"""``Distribution``: the base of every probability distribution (``torch.distributions.Distribution``).

A distribution has a ``batch_shape`` (independent, differently parameterised copies) and an ``event_shape`` (the
shape of one draw): ``sample(sample_shape)`` has shape ``sample_shape + batch_shape + event_shape`` and
``log_prob(value)`` returns one number per batch element, shape ``sample_shape + batch_shape``.
"""
from __future__ import annotations

from .. import ops
from ..autograd import no_grad
from ..backend import array_module
from ..tensor import Tensor
from . import constraints
from .utils import as_shape


class Distribution:
    """Base class. Subclasses set ``arg_constraints`` (parameter name -> constraint), ``support``, ``has_rsample``
    and implement ``rsample`` or ``sample``, ``log_prob``, ``entropy``, ``mean``, ``variance``.

    Args:
        batch_shape: shape over which parameters are batched. event_shape: shape of one draw.
        validate_args: check the parameters against ``arg_constraints`` at construction and each ``log_prob``
            value against ``support`` (default: :meth:`set_default_validate_args`, on as in PyTorch).
    """

    has_rsample = False
    has_enumerate_support = False
    arg_constraints: dict = {}
    support: constraints.Constraint | None = None
    _validate_args = True
    _expand_params: dict = {}  # parameter -> number of its trailing event axes, for expand()

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn argument validation on or off for every distribution made afterwards."""
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None) -> None:
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for name, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint) or name not in self.__dict__:
                    continue
                value = self.__dict__[name]
                if not bool(constraint.check(value).all()):
                    raise ValueError(f"{type(self).__name__}: parameter {name} ({_describe(value)}) must satisfy "
                                     f"the constraint {constraint!r}, but has invalid values:\n{value}")

    # --------------------------------------------------------------------------------------------- shapes
    @property
    def batch_shape(self) -> tuple:
        return self._batch_shape

    @property
    def event_shape(self) -> tuple:
        return self._event_shape

    def _extended_shape(self, sample_shape=()) -> tuple:
        return as_shape(sample_shape) + self._batch_shape + self._event_shape

    def expand(self, batch_shape, _instance=None) -> Distribution:
        """The same distribution with its parameters broadcast to ``batch_shape`` (no copy)."""
        batch_shape = as_shape(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for name, event_dims in self._expand_params.items():
            if name in self.__dict__:
                t = self.__dict__[name]
                new.__dict__[name] = t.expand(batch_shape + tuple(t.shape[t.ndim - event_dims:]))
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    # ------------------------------------------------------------------------------------------- sampling
    def sample(self, sample_shape=()) -> Tensor:
        """Draws of shape ``sample_shape + batch_shape + event_shape``, cut from the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """Reparameterised draws: differentiable with respect to the parameters."""
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sampler (rsample); use sample(), "
                                  "and a score-function (REINFORCE) estimator for gradients")

    def sample_n(self, n: int) -> Tensor:
        return self.sample((n,))

    # --------------------------------------------------------------------------------------- densities
    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.log_prob is not implemented")

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.cdf is not implemented")

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.icdf is not implemented")

    def entropy(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")

    def perplexity(self) -> Tensor:
        return ops.exp(self.entropy())

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no finite support to enumerate")

    # ---------------------------------------------------------------------------------------- moments
    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    @property
    def stddev(self) -> Tensor:
        return ops.sqrt(self.variance)

    # ------------------------------------------------------------------------------------- validation
    def _validate_sample(self, value) -> None:
        """Raise a ValueError unless ``value`` fits the event shape, broadcasts with the batch and lies in the
        support."""
        name = type(self).__name__
        if not isinstance(value, Tensor):
            raise ValueError(f"{name}.log_prob: the value must be a Tensor, got {type(value).__name__}")
        shape, n_event = tuple(value.shape), len(self._event_shape)
        if shape[len(shape) - n_event:] != self._event_shape or len(shape) < n_event:
            raise ValueError(f"{name}.log_prob: the value's right-most sizes {shape} must match the event shape "
                             f"{self._event_shape}")
        expected = self._batch_shape + self._event_shape
        for i, j in zip(reversed(shape), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"{name}.log_prob: a value of shape {shape} does not broadcast with batch_shape + "
                                 f"event_shape {expected}")
        support = self.support
        if support is not None and not bool(support.check(value).all()):
            raise ValueError(f"{name}.log_prob: the value ({_describe(value)}) must lie in the support {support!r} of "
                             f"{self!r}, but has values outside it:\n{value}")

    def __repr__(self) -> str:
        parts = []
        for name in self.arg_constraints:
            if name in self.__dict__:
                v = self.__dict__[name]
                parts.append(f"{name}: {v.item() if v.numel() == 1 else tuple(v.shape)}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _describe(value) -> str:
    if isinstance(value, Tensor):
        return f"Tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def _nan(shape, like: Tensor) -> Tensor:
    """A tensor of nan (moments that do not exist, as PyTorch returns them)."""
    xp = array_module(like._data)
    return Tensor._wrap(xp.full(shape, xp.nan, dtype=like.dtype))
