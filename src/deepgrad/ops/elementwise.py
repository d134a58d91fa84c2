"""Elementwise primitives: arithmetic with NumPy broadcasting and the usual unary functions.

Backward formulas return gradients in the broadcast shape; the engine sums them back to each input's shape.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..backend import array_module, device_of, to_device
from ..promotion import float_result, result_type, scalar_for
from ..tensor import Tensor, _new
from ._util import DeviceError, describe

_host = (np.ndarray, np.generic)  # host arrays and weak scalars: operands that always share a device

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos",
    "tanh", "sigmoid", "relu", "erf", "erfinv", "abs", "sign", "reciprocal", "clamp", "clip", "maximum", "minimum",
    "where",    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan",
    "isinf", "isfinite", "square", "heaviside",
]


def _check_devices(op: str, a, b) -> None:
    da, db = a._data, b._data
    if da.__class__ is db.__class__:
        if da.__class__ is np.ndarray or getattr(da, "device", None) == getattr(db, "device", None):
            return
    elif isinstance(da, (np.ndarray, np.generic)) and isinstance(db, (np.ndarray, np.generic)):
        return
    elif isinstance(da, np.generic) or isinstance(db, np.generic):
        return  # a weak scalar operand meets any device
    raise DeviceError(f"{op}: operands are on different devices: {describe(a)} and {describe(b)}; "
                      "move one with .to(device)")


def _number(op: str, x, like: Tensor):
    """A Python number ``x`` meeting the tensor ``like``: both at their result type, ``x`` as a weak 0-d operand."""
    kind = like._data.dtype.kind
    if x.__class__ is float and kind == "f":  # the common cases, decided without the table
        return like, Tensor._wrap(like._data.dtype.type(x))
    if x.__class__ is int and kind in "fiu":
        return like, Tensor._wrap(scalar_for(op, x, like._data.dtype))
    if isinstance(x, (numbers.Real, np.bool_)):
        dt = result_type(like, x)
        if like._data.dtype is not dt:
            like = like.to(dt)
        return like, Tensor._wrap(scalar_for(op, x, dt))
    if isinstance(x, (np.ndarray, list, tuple)) or backend.is_device_array(x):
        from ..tensor import tensor

        return _promote(op, like, tensor(x, device=like.device))
    raise TypeError(f"{op}: expected a Tensor or a number as the other operand of {describe(like)}, "
                    f"got {type(x).__name__}")


def _promote(op: str, a, b):
    """``a`` and ``b`` as Tensors of their result type (:mod:`deepgrad.promotion`), checked to share a device."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            return _number(op, b, a)
        _check_devices(op, a, b)
        if a._data.dtype is b._data.dtype:
            return a, b
        dt = result_type(a, b)
        return _at(a, dt), _at(b, dt)
    if isinstance(b, Tensor):
        b, a = _number(op, a, b)
        return a, b
    raise TypeError(f"{op}: expected at least one Tensor operand, got {type(a).__name__} and {type(b).__name__}")


def _at(x: Tensor, dt) -> Tensor:
    """``x`` for an op that computes in ``dt``: converted, unless it is a bool or integer tensor that the backend
    itself promotes to ``dt`` (a ReLU mask times a float32 gradient): no copy is made of it then, and no gradient
    is lost, since such a tensor never requires one."""
    have = x._data.dtype
    if have is dt or (have.kind in "biu" and np.promote_types(have, dt) is dt):
        return x
    return x.to(dt)


def _binary(cls, op, a, b):
    """``cls`` applied to ``a`` and ``b`` at their result type. The common cases are decided here without the
    table (a float tensor with a Python float, either way round; two NumPy tensors of one dtype): they are most of
    the ops of a training step."""
    if b.__class__ is float:
        if isinstance(a, Tensor) and a._data.dtype.kind == "f":
            w = _new(Tensor)
            w._init(a._data.dtype.type(b))
            return cls()(a, w)
    elif a.__class__ is float:
        if isinstance(b, Tensor) and b._data.dtype.kind == "f":
            w = _new(Tensor)
            w._init(b._data.dtype.type(a))
            return cls()(w, b)
    elif isinstance(a, Tensor) and isinstance(b, Tensor):
        da, db = a._data, b._data
        if isinstance(da, _host) and isinstance(db, _host):
            ta, tb = da.dtype, db.dtype  # one dtype, or a float with a bool mask: the result is the float's dtype
            if ta is tb or (tb.kind == "b" and ta.kind == "f") or (ta.kind == "b" and tb.kind == "f"):
                return cls()(a, b)
    a, b = _promote(op, a, b)
    return cls()(a, b)


# --------------------------------------------------------------------------------------------- arithmetic
class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    saves_inputs = (0, 1)

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = g / b if na else None
        gb = -g * a / (b * b) if nb else None
        return ga, gb


class Pow(Function):
    """a ** b for two tensors: ∂/∂a = b a^(b-1), ∂/∂b = a^b log a."""

    saves_inputs = (0, 1)
    saves_output = True

    def forward(self, a, b):
        return a ** b

    def backward(self, g):
        a, b = self.inputs
        na, nb = self.needs_input_grad
        ga = g * b * a ** (b - 1) if na else None
        # a may be a weak Python-scalar base (2 ** x), which lives on the host: its log joins g's device
        gb = g * self.output() * log(where(a > 0, a, 1.0)).to(g.device) if nb else None
        return ga, gb


class PowScalar(Function):
    """x ** c for a constant c: ∂/∂x = c x^(c-1)."""

    saves_inputs = (0,)

    def __init__(self, c):
        self.c = c

    def forward(self, x):
        c = self.c
        if c == 2:
            return x * x
        return x ** c

    def backward(self, g):
        x, = self.inputs
        c = self.c
        if c == 2:
            return (g * (x * 2.0),)
        return (g * (c * x ** (c - 1)),)


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return (-g,)


def add(a, b, *, alpha=1):
    """a + b (with NumPy broadcasting); ``alpha`` scales b."""
    if alpha != 1:
        b = b * alpha
    return _binary(Add, "add", a, b)


def sub(a, b, *, alpha=1):
    """a - b (with NumPy broadcasting); ``alpha`` scales b."""
    if alpha != 1:
        b = b * alpha
    return _binary(Sub, "sub", a, b)


def mul(a, b):
    """a · b elementwise (with NumPy broadcasting)."""
    return _binary(Mul, "mul", a, b)


def div(a, b):
    """a / b elementwise (true division: integer or bool operands give the default float dtype)."""
    if isinstance(a, Tensor) != isinstance(b, Tensor):  # a number meets an integer tensor: divide in floats
        t = a if isinstance(a, Tensor) else b
        if t._data.dtype.kind != "f" and isinstance(b if t is a else a, numbers.Real):
            t = t.to(backend.get_default_dtype())
            a, b = (t, b) if isinstance(a, Tensor) else (a, t)
    a, b = _promote("div", a, b)
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        dt = float_result(a._data.dtype)
        a, b = a.to(dt), b.to(dt)
    return Div()(a, b)


def pow(a, b):  # noqa: A001 - PyTorch's name
    """a ** b. A constant exponent takes a cheaper path (∂/∂a = b a^(b-1))."""
    if isinstance(a, Tensor) and not isinstance(b, Tensor):
        if isinstance(b, (int, float)) and not isinstance(b, bool):
            dt = result_type(a, b)
            scalar_for("pow", b, dt)  # an integer tensor refuses an exponent its dtype cannot hold, as PyTorch's
            return PowScalar(b)(a if a._data.dtype is dt else a.to(dt))
    return _binary(Pow, "pow", a, b)


def neg(x: Tensor) -> Tensor:
    """-x."""
    return Neg()(x)


def square(x: Tensor) -> Tensor:
    """x²."""
    return PowScalar(2)(x)


def reciprocal(x: Tensor) -> Tensor:
    """1 / x."""
    return PowScalar(-1)(x.to(float_result(x.dtype)))


def rsqrt(x: Tensor) -> Tensor:
    """1 / √x."""
    return PowScalar(-0.5)(x)


# ------------------------------------------------------------------------------------ copies and casts
class ToDtype(Function):
    """x converted to ``dtype``; the gradient is converted back (none reaches an integer input)."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (g.to(self.in_dtype) if self.in_dtype.kind == "f" else None,)


class ToDevice(Function):
    """x moved to ``device``; the gradient moves back."""

    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.src = device_of(x)
        return to_device(x, self.device)

    def backward(self, g):
        return (g.to(self.src),)


class Clone(Function):
    """A copy of x that stays in the graph."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


# ------------------------------------------------------------------------------------------------ unary
class Exp(Function):
    saves_output = True

    def forward(self, x):
        return array_module(x).exp(x)

    def backward(self, g):
        return (g * self.output(),)


class Log(Function):
    saves_inputs = (0,)

    def forward(self, x):
        return array_module(x).log(x)

    def backward(self, g):
        return (g / self.inputs[0],)


class Log1p(Function):
    saves_inputs = (0,)

    def forward(self, x):
        return array_module(x).log1p(x)

    def backward(self, g):
        return (g / (self.inputs[0] + 1.0),)


class Expm1(Function):
    saves_output = True

    def forward(self, x):
        return array_module(x).expm1(x)

    def backward(self, g):
        return (g * (self.output() + 1.0),)


class Sqrt(Function):
    saves_output = True

    def forward(self, x):
        return array_module(x).sqrt(x)

    def backward(self, g):
        return (g / (2.0 * self.output()),)


class Sin(Function):
    saves_inputs = (0,)

    def forward(self, x):
        return array_module(x).sin(x)

    def backward(self, g):
        return (g * cos(self.inputs[0]),)


class Cos(Function):
    saves_inputs = (0,)

    def forward(self, x):
        return array_module(x).cos(x)

    def backward(self, g):
        return (-g * sin(self.inputs[0]),)


class TanhFn(Function):
    """tanh x; ∂/∂x = 1 - tanh² x."""

    saves_output = True

    def forward(self, x):
        return array_module(x).tanh(x)

    def backward(self, g):
        y = self.output()
        return (g * (1.0 - y * y),)


class SigmoidFn(Function):
    """σ(x) = 1 / (1 + e^{-x}), computed without overflow; ∂/∂x = σ(x)(1 - σ(x))."""

    saves_output = True

    def forward(self, x):
        xp = array_module(x)
        # 0.5 * (1 + tanh(x/2)) is σ(x) and never overflows
        return (xp.tanh(x * 0.5) + 1) * 0.5

    def backward(self, g):
        y = self.output()
        return (g * (y * (1.0 - y)),)


class ReLUFn(Function):
    """max(0, x); the gradient at 0 is taken as 0."""

    saves_output = True

    def forward(self, x):
        return array_module(x).maximum(x, 0)

    def backward(self, g):
        return (g * Tensor._wrap(self._out > 0),)


def _erf_array(x):
    xp = array_module(x)
    if xp is np:
        try:
            from scipy.special import erf as _erf
        except ImportError:  # exact, slower: the standard library's erf, elementwise
            return np.vectorize(math.erf, otypes=[x.dtype])(x)
        return _erf(x).astype(x.dtype, copy=False)
    return backend.gpu_extras().scipy.special.erf(x)


class Erf(Function):
    """erf x = 2/√π ∫₀ˣ e^{-t²} dt; ∂/∂x = 2/√π e^{-x²}."""

    saves_inputs = (0,)

    def forward(self, x):
        return _erf_array(x)

    def backward(self, g):
        x = self.inputs[0]
        return (g * (2.0 / math.sqrt(math.pi)) * exp(-(x * x)),)


def _erfinv_array(y):
    xp = array_module(y)
    if xp is not np:
        return backend.gpu_extras().scipy.special.erfinv(y)
    try:
        from scipy.special import erfinv as _erfinv
    except ImportError:
        return _erfinv_newton(y)
    return _erfinv(y).astype(y.dtype, copy=False)


def _erfinv_newton(y_in):
    """erf⁻¹ without SciPy: Winitzki's closed form (relative error < 2e-3) polished by Halley steps on erf x − y,
    x ← x − f / (f' − f f''/(2f')) with f' = 2/√π e^(−x²), f'' = −2x f'; each step triples the correct digits."""
    y = y_in.astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        log1m = np.log1p(-y * y)
        k = 0.147
        first = 2 / (math.pi * k) + log1m / 2
        x = np.sign(y) * np.sqrt(np.sqrt(first * first - log1m / k) - first)
        inside = np.abs(y) < 1
        for _ in range(3):
            xi = np.where(inside, x, 0.0)
            f = _erf_array(xi) - np.where(inside, y, 0.0)
            fp = 2 / math.sqrt(math.pi) * np.exp(-xi * xi)
            x = np.where(inside, xi - f / (fp + xi * f), x)  # f'' / (2 f') = −x
    x = np.where(np.abs(y) == 1, np.copysign(np.inf, y), np.where(np.abs(y) > 1, np.nan, x))
    return x.astype(y_in.dtype, copy=False)


class Erfinv(Function):
    """erf⁻¹ y, the x with erf x = y on (−1, 1) (±∞ at ±1); ∂/∂y = √π/2 e^{x²}."""

    saves_output = True

    def forward(self, y):
        return _erfinv_array(y)

    def backward(self, g):
        x = self.output()
        return (g * (math.sqrt(math.pi) / 2) * exp(x * x),)


class Abs(Function):
    """|x|; the gradient at 0 is taken as 0."""

    saves_inputs = (0,)

    def forward(self, x):
        return array_module(x).abs(x)

    def backward(self, g):
        return (g * sign(self.inputs[0]),)


class Clamp(Function):
    """min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi."""

    saves_inputs = (0,)

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        return array_module(x).clip(x, self.lo, self.hi)

    def backward(self, g):
        x = self.inputs[0]._data
        mask = np.True_
        if self.lo is not None:
            mask = mask & (x >= self.lo)
        if self.hi is not None:
            mask = mask & (x <= self.hi)
        return (g * Tensor._wrap(mask),)


class Maximum(Function):
    """max(a, b) elementwise; at ties the gradient is split equally (the tie rule of every max: see ``MaxMin``)."""

    saves_inputs = (0, 1)

    def forward(self, a, b):
        return array_module(a).maximum(a, b)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        xp = array_module(a if isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) else b)
        wa = (a > b) + 0.5 * (a == b)
        wa = Tensor._wrap(xp.asarray(wa, dtype=g.dtype))
        return g * wa, g * (1.0 - wa)


class Minimum(Function):
    """min(a, b) elementwise; at ties the gradient is split equally (the tie rule of every min: see ``MaxMin``)."""

    saves_inputs = (0, 1)

    def forward(self, a, b):
        return array_module(a).minimum(a, b)

    def backward(self, g):
        a, b = self.inputs[0]._data, self.inputs[1]._data
        xp = array_module(a if isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) else b)
        wa = (a < b) + 0.5 * (a == b)
        wa = Tensor._wrap(xp.asarray(wa, dtype=g.dtype))
        return g * wa, g * (1.0 - wa)


class Where(Function):
    """cond ? a : b; the gradient goes to a where cond holds and to b elsewhere."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return array_module(self.cond).where(self.cond, a, b)

    def backward(self, g):
        zero = g.new_zeros(())
        c = Tensor._wrap(self.cond)
        na, nb = self.needs_input_grad
        return (where(c, g, zero) if na else None), (where(c, zero, g) if nb else None)


def _unary(cls):
    name = cls.__name__.removesuffix("Fn").lower()

    def fn(x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
        if x.dtype.kind != "f":
            x = x.to(float_result(x.dtype))
        return cls()(x)

    fn.__name__ = name
    fn.__doc__ = cls.__doc__ or f"{fn.__name__}(x), elementwise."
    return fn


exp, log, log1p, expm1, sqrt, sin, cos, tanh, sigmoid, erf, erfinv = (
    _unary(c) for c in (Exp, Log, Log1p, Expm1, Sqrt, Sin, Cos, TanhFn, SigmoidFn, Erf, Erfinv)
)


def relu(x: Tensor) -> Tensor:
    """max(0, x)."""
    return ReLUFn()(x)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    """|x|."""
    return Abs()(x)


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of x (not differentiable: its gradient is zero)."""
    return Tensor._wrap(array_module(x._data).sign(x._data))


def heaviside(input: Tensor, values) -> Tensor:  # noqa: A002
    """H(x) = 0 if x < 0, ``values`` if x = 0, 1 if x > 0 (torch.heaviside): ``values`` is a Tensor of the input's
    dtype broadcast against it (a number is accepted too). The gradient is zero in x and flows to ``values`` where
    x = 0."""
    if not isinstance(input, Tensor):
        raise TypeError(f"heaviside: input must be a Tensor, got {type(input).__name__}")
    if isinstance(values, Tensor):
        if values.dtype != input.dtype:
            raise TypeError(f"heaviside: values must have the input's dtype {input.dtype}, got {values.dtype} "
                            f"(as torch.heaviside)")
    elif isinstance(values, (int, float)) and not isinstance(values, bool):
        values = input.new_full((), float(values))
    else:
        raise TypeError(f"heaviside: values must be a Tensor or a number, got {type(values).__name__}")
    zero, one = input.new_zeros(()), input.new_full((), 1.0)
    return where(gt(input, 0), one, where(eq(input, 0), values, zero)).expand(
        np.broadcast_shapes(tuple(input.shape), tuple(values.shape)))


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """min(max(x, min), max); either bound may be None, a number or a Tensor."""
    if min is None and max is None:
        raise ValueError("clamp: at least one of min and max must be given")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if min is not None:
            x = maximum(x, min)
        if max is not None:
            x = minimum(x, max)
        return x
    return Clamp(min, max)(x)


clip = clamp


def maximum(a, b) -> Tensor:
    """Elementwise max(a, b) with broadcasting."""
    return _binary(Maximum, "maximum", a, b)


def minimum(a, b) -> Tensor:
    """Elementwise min(a, b) with broadcasting."""
    return _binary(Minimum, "minimum", a, b)


def where(condition, a, b) -> Tensor:
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (all three broadcast together)."""
    cond = condition._data if isinstance(condition, Tensor) else condition
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        if not isinstance(condition, Tensor):
            raise TypeError("where: condition must be a bool Tensor when a and b are both numbers")
        # two numbers: a float if either is one (the default dtype), else int64, on the condition's device
        kind = backend.get_default_dtype() if isinstance(a, float) or isinstance(b, float) else backend.int64
        a = Tensor._wrap(array_module(cond).asarray(a, dtype=kind))
    a, b = _promote("where", a, b)
    if getattr(cond, "dtype", None) != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {getattr(cond, 'dtype', type(cond).__name__)}")
    return Where(cond)(a, b)


# ------------------------------------------------------------------------------- comparisons and logic
def _compare(name, fn):
    def op(a, b) -> Tensor:
        a, b = _promote(name, a, b)
        y = fn(a._data, b._data)
        return Tensor._wrap(np.asarray(y) if isinstance(y, np.generic) else y)

    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (a bool Tensor, not differentiable)."
    return op


eq = _compare("eq", lambda a, b: a == b)
ne = _compare("ne", lambda a, b: a != b)
lt = _compare("lt", lambda a, b: a < b)
le = _compare("le", lambda a, b: a <= b)
gt = _compare("gt", lambda a, b: a > b)
ge = _compare("ge", lambda a, b: a >= b)
logical_and = _compare("logical_and", lambda a, b: array_module(a).logical_and(a, b))
logical_or = _compare("logical_or", lambda a, b: array_module(a).logical_or(a, b))
logical_xor = _compare("logical_xor", lambda a, b: array_module(a).logical_xor(a, b))


def logical_not(x: Tensor) -> Tensor:
    return Tensor._wrap(array_module(x._data).logical_not(x._data))


def isnan(x: Tensor) -> Tensor:
    return Tensor._wrap(array_module(x._data).isnan(x._data))


def isinf(x: Tensor) -> Tensor:
    return Tensor._wrap(array_module(x._data).isinf(x._data))


def isfinite(x: Tensor) -> Tensor:
    return Tensor._wrap(array_module(x._data).isfinite(x._data))
