"""Constraints: the sets a distribution's parameters and samples live in (``torch.distributions.constraints``).

A constraint's ``check(value)`` returns a bool Tensor over the batch (the last ``event_dim`` axes are reduced:
a simplex is a property of a whole vector). Checks read values only, so they work on raw arrays.
"""
from __future__ import annotations

from ..backend import array_module
from ..tensor import Tensor

__all__ = ["Constraint", "real", "real_vector", "positive", "nonnegative", "greater_than", "greater_than_eq",
           "less_than", "interval", "half_open_interval", "unit_interval", "boolean", "integer_interval",
           "nonnegative_integer", "positive_integer", "simplex", "one_hot", "lower_triangular", "lower_cholesky",
           "positive_definite", "independent", "dependent", "is_dependent"]


def _arr(v):
    return v._data if isinstance(v, Tensor) else v


class Constraint:
    """A set of values. ``is_discrete`` marks integer-valued sets, ``event_dim`` how many trailing axes one point of
    the set spans."""

    is_discrete = False
    event_dim = 0

    def check(self, value: Tensor) -> Tensor:
        a = _arr(value)
        ok = self._check(array_module(a), a)
        for _ in range(self.event_dim - getattr(self, "_reduced", 0)):
            ok = ok.all(axis=-1)
        return Tensor._wrap(array_module(a).asarray(ok))

    def _check(self, xp, a):
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def _check(self, xp, a):
        return a == a  # everything but nan


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, xp, a):
        return a > _arr(self.lower_bound)

    def __repr__(self) -> str:
        return f"{type(self).__name__.lstrip('_')}(lower_bound={self.lower_bound})"


class _GreaterThanEq(_GreaterThan):
    def _check(self, xp, a):
        return a >= _arr(self.lower_bound)


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def _check(self, xp, a):
        return a < _arr(self.upper_bound)

    def __repr__(self) -> str:
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, xp, a):
        return (a >= _arr(self.lower_bound)) & (a <= _arr(self.upper_bound))

    def __repr__(self) -> str:
        return f"{type(self).__name__.lstrip('_')}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    def _check(self, xp, a):
        return (a >= _arr(self.lower_bound)) & (a < _arr(self.upper_bound))


class _Boolean(Constraint):
    is_discrete = True

    def _check(self, xp, a):
        return (a == 0) | (a == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def _check(self, xp, a):
        return (a % 1 == 0) & (a >= _arr(self.lower_bound)) & (a <= _arr(self.upper_bound))

    def __repr__(self) -> str:
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def _check(self, xp, a):
        return (a % 1 == 0) & (a >= self.lower_bound)

    def __repr__(self) -> str:
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Simplex(Constraint):
    """Vectors of non-negative entries that sum to 1 (to 1e-6)."""

    event_dim = 1
    _reduced = 1

    def _check(self, xp, a):
        return (a >= 0).all(axis=-1) & (xp.abs(a.sum(axis=-1) - 1) < 1e-6)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1
    _reduced = 1

    def _check(self, xp, a):
        return ((a == 0) | (a == 1)).all(axis=-1) & (a.sum(axis=-1) == 1)


class _LowerTriangular(Constraint):
    event_dim = 2
    _reduced = 2

    def _check(self, xp, a):
        return (xp.tril(a) == a).all(axis=(-2, -1))


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal."""

    event_dim = 2
    _reduced = 2

    def _check(self, xp, a):
        diag = xp.diagonal(a, 0, -2, -1)
        return (xp.tril(a) == a).all(axis=(-2, -1)) & (diag > 0).all(axis=-1)


class _PositiveDefinite(Constraint):
    """Symmetric matrices with positive eigenvalues."""

    event_dim = 2
    _reduced = 2

    def _check(self, xp, a):
        sym = xp.abs(a - xp.swapaxes(a, -1, -2)).max(axis=(-2, -1)) <= 1e-6 * (1 + xp.abs(a).max(axis=(-2, -1)))
        return sym & (xp.linalg.eigvalsh(a) > 0).all(axis=-1)


class _Independent(Constraint):
    """``base`` applied pointwise, with the last ``reinterpreted_batch_ndims`` axes counted as one event."""

    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int):
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value: Tensor) -> Tensor:
        ok = self.base.check(value)._data
        for _ in range(self.reinterpreted_batch_ndims):
            ok = ok.all(axis=-1)
        return Tensor._wrap(array_module(ok).asarray(ok))

    def __repr__(self) -> str:
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


class _Dependent(Constraint):
    """A placeholder for a set that depends on other parameters (e.g. Uniform's ``low`` < ``high``); it cannot be
    checked on its own, so argument validation skips it and the distribution checks the relation itself."""

    def __init__(self, is_discrete: bool = False, event_dim: int = 0):
        self.is_discrete, self.event_dim = is_discrete, event_dim

    def check(self, value):
        raise ValueError("a dependent constraint cannot be checked on its own; the distribution checks it")


def is_dependent(constraint: Constraint) -> bool:
    return isinstance(constraint, _Dependent)


real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThanEq(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
nonnegative_integer = _IntegerGreaterThan(0)
positive_integer = _IntegerGreaterThan(1)
simplex = _Simplex()
one_hot = _OneHot()
lower_triangular = _LowerTriangular()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
dependent = _Dependent()
greater_than = _GreaterThan
greater_than_eq = _GreaterThanEq
less_than = _LessThan
interval = _Interval
half_open_interval = _HalfOpenInterval
integer_interval = _IntegerInterval
independent = _Independent
