"""Argument checks shared by the functional ops (errors name the op and what it got)."""
from __future__ import annotations

from ...ops._util import ShapeError
from ...tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def check_tensor(x, op: str, what: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")


def check_float(x: Tensor, op: str, what: str = "input") -> None:
    check_tensor(x, op, what)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, got dtype {x.dtype}; convert it with .float()")


def check_reduction(reduction: str, op: str, allowed=_REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {', '.join(repr(r) for r in allowed)}, got {reduction!r}")


def check_same_shape(input: Tensor, target: Tensor, op: str) -> None:  # noqa: A002
    """Elementwise losses need ``target.shape == input.shape``: broadcasting (N,1) against (N,) would silently
    compare every input with every target."""
    check_float(input, op)
    check_tensor(target, op, "target")
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}; "
                         "losses do not broadcast (an (N, 1) target against an (N,) input would compare every pair). "
                         "Reshape one of them, e.g. target.reshape(input.shape) or input.squeeze(-1).")


def reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
