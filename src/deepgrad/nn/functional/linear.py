"""Affine maps: ``linear`` (a fused primitive: one graph node for x Wᵀ + b) and ``bilinear``."""
from __future__ import annotations

from ... import ops, parallel
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops._util import ShapeError
from ...promotion import require_same_dtype
from ...tensor import Tensor
from ._checks import check_float

__all__ = ["linear", "bilinear"]


class _Linear(Function):
    """y = x Wᵀ + b over the last axis of x; ∂x = g W, ∂W = gᵀ x, ∂b = Σ g (leading axes flattened)."""

    saves_inputs = (0, 1)

    def forward(self, x, w, b=None):
        y = parallel.matmul(x, w.T)
        if b is not None:
            y += b
        return y

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = g @ w if need[0] else None
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gw = g2.mT @ (x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x) if need[1] else None
        if len(need) == 3:
            return gx, gw, (self._bias_grad(g2) if need[2] else None)
        return gx, gw

    @staticmethod
    def _bias_grad(g2: Tensor) -> Tensor:
        """Σ g over the rows: a GEMV with ones (parallel.total) unless a graph of the backward is being built."""
        if grad_mode.state.enabled or g2.dtype.kind != "f":
            return g2.sum(0)
        return Tensor._wrap(parallel.total(g2._data, 0))


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """y = x Wᵀ + b.

    Args:
        input: (*, in_features). weight: (out_features, in_features). bias: (out_features,) or None.

    Returns:
        (*, out_features).
    """
    if input.ndim == 0 or weight.ndim != 2 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(f"linear: input shape {tuple(input.shape)} does not fit weight shape {tuple(weight.shape)}; "
                         f"expected input with last dimension {weight.shape[-1] if weight.ndim else '?'}")
    require_same_dtype("linear", input=input, weight=weight, bias=bias)
    if bias is None:
        return _Linear()(input, weight)
    return _Linear()(input, weight, bias)


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x₁ᵀ A_k x₂ + b_k.

    Args:
        input1: (*, in1_features). input2: (*, in2_features). weight: (out_features, in1_features, in2_features).
        bias: (out_features,) or None.
    """
    check_float(input1, "bilinear", "input1")
    if input1.shape[:-1] != input2.shape[:-1] or input1.shape[-1] != weight.shape[1] \
            or input2.shape[-1] != weight.shape[2]:
        raise ShapeError(f"bilinear: inputs of shapes {tuple(input1.shape)} and {tuple(input2.shape)} do not fit "
                         f"weight shape {tuple(weight.shape)} (expected (*, {weight.shape[1]}) and (*, {weight.shape[2]}))")
    y = ops.einsum("...i,kij,...j->...k", input1, weight, input2)
    return y if bias is None else y + bias
