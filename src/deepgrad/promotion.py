"""Type promotion: the dtype an op computes in, by PyTorch's rules, in one table.

Every op that combines operands asks this module; none decides a result dtype on its own.

* **Categories** rank bool < integer < floating. Two tensors promote by :func:`promote_types`: within a category
  to the wider type (uint8 with int8 gives int16, float16 with float32 gives float32); across categories to the
  higher category's type (int64 with float32 gives **float32**, not float64).
* **Participants** come in three tiers: tensors with at least one dimension, 0-d tensors, and Python numbers. A
  lower tier changes the result only when its category is higher: ``float16_tensor * 2.5`` stays float16,
  ``int64_tensor * 2.5`` gives the default float dtype (float32), ``int32_tensor + 5`` stays int32, and
  ``bool_tensor + 1`` gives int64. This is :func:`result_type`.
* **True division** and functions defined on the reals (``exp``, ``sqrt``, ...) give the default float dtype
  (:func:`float_result`) for integer or bool operands: ``int / int`` is float32.
* **In-place ops** keep the destination's dtype; the promoted result must cast to it by :func:`can_cast`
  (no float into an integer tensor, no integer into a bool tensor).
* **Integer overflow** follows PyTorch's integer semantics, which are two's-complement arithmetic modulo 2^bits:
  ``uint8(250) + 10`` is 4 and ``int8(127) + 1`` is -128, for two tensors as for a tensor and a Python int (the
  int is first taken modulo 2^bits, as PyTorch does: ``uint8 + 300`` adds 44). That is arithmetic and the
  comparisons; where PyTorch refuses a number that does not fit the tensor's dtype (``where``, ``masked_fill``,
  ``fill_``, ``pow``, ``clamp``), :func:`scalar_for` refuses it too, in a sentence.
* **matmul, linear and convolutions** do not promote: their operands must share one dtype
  (:func:`require_same_dtype`), since a silent cast would hide a float64 weight in a float32 model.

Example:
    >>> import deepgrad as dg
    >>> (dg.tensor([1, 2]) + dg.tensor([0.5, 0.5])).dtype
    dtype('float32')
"""
from __future__ import annotations

import numpy as np

from . import backend

__all__ = ["DTypeError", "promote_types", "result_type", "float_result", "can_cast", "check_inplace_cast",
           "require_same_dtype", "scalar_for"]


class DTypeError(TypeError, RuntimeError):
    """An op received operands whose dtypes it cannot combine (a TypeError, and a RuntimeError as in PyTorch)."""


_BOOL, _INT, _FLOAT = 0, 1, 2
_CATEGORY = {"b": _BOOL, "u": _INT, "i": _INT, "f": _FLOAT}
_DTYPES = [np.dtype(n) for n in ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")]


def _lattice(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's promote_types for one pair, used to build the table."""
    ca, cb = _CATEGORY[a.kind], _CATEGORY[b.kind]
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)  # within a category NumPy's lattice is PyTorch's (uint8 + int8 -> int16)


_TABLE = {(a, b): _lattice(a, b) for a in _DTYPES for b in _DTYPES}


def promote_types(a, b) -> np.dtype:
    """The smallest dtype both ``a`` and ``b`` convert to without leaving their category (PyTorch's table).

    Example:
        >>> import deepgrad as dg
        >>> dg.promote_types(dg.int64, dg.float16)
        dtype('float16')
    """
    if a is b:
        return a
    try:
        return _TABLE[a, b]
    except KeyError:
        da, db = backend.as_dtype(a), backend.as_dtype(b)
        return _TABLE[da, db]


def _weak_dtype(x) -> np.dtype:
    """The dtype a Python number takes part with: bool, int64, or the default float dtype."""
    if isinstance(x, (bool, np.bool_)):
        return backend.bool_
    if isinstance(x, (int, np.integer)):
        return backend.int64
    if isinstance(x, (float, np.floating)):
        return backend.get_default_dtype()
    raise DTypeError(f"expected a Tensor or a Python number, got {type(x).__name__}")


def _combine(higher, lower):
    """Let a lower tier's dtype in only where its category is higher (PyTorch's combine_categories)."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype an op on ``operands`` (Tensors and Python numbers) computes in, by the three-tier rule above.

    A Tensor whose data is a NumPy scalar (an operand made from a Python number) counts as a number.

    Example:
        >>> import deepgrad as dg
        >>> dg.result_type(dg.tensor([1, 2], dtype=dg.float16), 2.5)
        dtype('float16')
    """
    tiers = [None, None, None]  # dimensioned tensors, 0-d tensors, Python numbers
    for x in operands:
        data = getattr(x, "_data", None)
        if data is None:
            tier, dt = 2, _weak_dtype(x)
        elif isinstance(data, np.generic):
            tier, dt = 2, data.dtype
        else:
            tier, dt = (0 if data.ndim else 1), data.dtype
        tiers[tier] = dt if tiers[tier] is None else promote_types(tiers[tier], dt)
    return _combine(tiers[0], _combine(tiers[1], tiers[2]))


# ops whose Python-int operand PyTorch wraps modulo 2^bits into an integer tensor's dtype (the others refuse it)
_WRAPPING_OPS = frozenset({"add", "sub", "mul", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge"})


def scalar_for(op: str, x, dtype: np.dtype):
    """The Python number ``x`` as a scalar of ``dtype`` for ``op``, by PyTorch's rules for an int that does not fit
    an integer dtype: arithmetic and comparisons take it modulo 2^bits (``uint8 + 300`` adds 44), every other op
    refuses it; an int beyond the 64-bit range is always refused.

    Example:
        >>> import numpy as np
        >>> from deepgrad.promotion import scalar_for
        >>> int(scalar_for("add", 300, np.dtype("uint8"))), int(scalar_for("add", -1, np.dtype("uint8")))
        (44, 255)
    """
    if dtype.kind not in "iu" or isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        return dtype.type(x)
    info = np.iinfo(dtype)
    if info.min <= x <= info.max:
        return dtype.type(x)
    if op not in _WRAPPING_OPS or not -2 ** 63 <= x < 2 ** 64:
        raise DTypeError(f"{op}: the number {x} does not fit in a tensor of dtype {dtype} ({info.min}..{info.max}); "
                         f"convert the tensor first (e.g. .long()), or pass a value in that range")
    bits = 8 * dtype.itemsize
    x = int(x) % (1 << bits)  # two's complement: the low bits, as PyTorch's cast keeps them
    return dtype.type(x - (1 << bits) if dtype.kind == "i" and x > info.max else x)


def float_result(dtype) -> np.dtype:
    """``dtype`` if floating, else the default float dtype (true division and functions of the reals)."""
    return dtype if dtype.kind == "f" else backend.get_default_dtype()


def can_cast(from_, to) -> bool:
    """Whether an in-place op may write a ``from_`` result into a ``to`` tensor (no lower category)."""
    return _CATEGORY[from_.kind] <= _CATEGORY[to.kind]


def check_inplace_cast(op: str, result, destination) -> None:
    """Refuse an in-place op whose promoted result would lose its category in the destination."""
    if not can_cast(result, destination):
        raise DTypeError(f"{op}: the result has dtype {result}, which cannot be written in place into a tensor of "
                         f"dtype {destination}; use the out-of-place form or convert the tensor first")


def require_same_dtype(op: str, **operands) -> None:
    """Refuse floating operands of different dtypes for ops that do not promote (matmul, linear, convolutions).

    ``operands`` are named Tensors (``input=x, weight=w``); ``None`` entries are skipped.
    """
    items = [(n, t) for n, t in operands.items() if t is not None]
    first_name, first = items[0]
    for name, t in items[1:]:
        if t.dtype != first.dtype:
            raise DTypeError(f"{op}: {first_name} has dtype {first.dtype} but {name} has dtype {t.dtype}; they must "
                             f"match (this op does not promote). Convert one, e.g. {name}.to({first_name}.dtype)")
