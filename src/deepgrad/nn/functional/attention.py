"""Scaled dot-product attention: softmax(Q Kᵀ · scale + M) V (Vaswani et al., 2017), as ``F.scaled_dot_product_attention``.

The mathematics is :func:`_attention_reference` (matmul, softmax, dropout, matmul: four graph nodes). Without
dropout the same result comes from one fused node, ``_SDPA``, whose backward is written out from the saved
attention weights P:

    dV = Pᵀ dO,   dP = dO Vᵀ,   dS = P ⊙ (dP − Σ_j dP ⊙ P),   dQ = dS K · scale,   dK = dSᵀ Q · scale

and which differentiates the reference when a graph of the backward pass is requested (``create_graph=True``).
"""
from __future__ import annotations

import math

from ... import ops, parallel
from ...autograd import grad_mode
from ...autograd.function import Function
from ...backend import array_module
from ...creation import tensor
from ...ops._util import ShapeError
from ...tensor import Tensor
from .dropout import dropout

__all__ = ["scaled_dot_product_attention", "attention_bias"]


def attention_bias(attn_mask, L: int, S: int, dtype, device, is_causal: bool = False,
                   op: str = "scaled_dot_product_attention") -> Tensor | None:
    """The additive form of a mask: a bool mask (True = may attend) becomes 0 / −∞, a float mask is kept;
    ``is_causal`` gives the lower-triangular (L, S) mask. None when there is nothing to add."""
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
        import numpy as np

        return tensor(np.triu(np.full((L, S), -np.inf, dtype=dtype), 1), device=device)
    if attn_mask is None:
        return None
    if not isinstance(attn_mask, Tensor):
        raise TypeError(f"{op}: attn_mask must be a Tensor, got {type(attn_mask).__name__}")
    if attn_mask.dtype.kind == "b":
        xp = array_module(attn_mask._data)
        return Tensor._wrap(xp.where(attn_mask._data, 0.0, -xp.inf).astype(dtype))
    if attn_mask.dtype != dtype:
        raise TypeError(f"{op}: a float attn_mask must have the query's dtype {dtype}, got {attn_mask.dtype}")
    return attn_mask


def _attention_reference(q: Tensor, k: Tensor, v: Tensor, bias: Tensor | None, scale: float, dropout_p: float,
                         training: bool = True) -> tuple[Tensor, Tensor]:
    """(softmax(Q Kᵀ · scale + bias) (then dropout) V, the attention weights)."""
    s = ops.matmul(q, k.mT) * scale
    if bias is not None:
        s = s + bias
    p = ops.softmax(s, -1)
    if dropout_p > 0 and training:
        p = dropout(p, dropout_p, training=True)
    return ops.matmul(p, v), p


class _SDPA(Function):
    """One node for softmax(Q Kᵀ · scale + bias) V; saves P (…, L, S). The batch and head axes are independent:
    where q, k, v share them, both passes run in blocks of them on the op's threads
    (:func:`deepgrad.parallel.row_blocks`; measured on the 2-core CPU, a GPT step's attention 1.7x faster)."""

    saves_inputs = (0, 1, 2)

    def __init__(self, scale: float):
        self.scale = scale

    def _batch(self, q, k, v, bias):
        """(q, k, v, bias) with the leading axes flattened into one, or None where they differ (broadcasting)."""
        lead = q.shape[:-2]
        if k.shape[:-2] != lead or v.shape[:-2] != lead or (bias is not None and bias.shape[:-2] not in ((), lead)):
            return None
        b3 = None if bias is None else bias if bias.ndim == 2 else bias.reshape(-1, *bias.shape[-2:])
        return (q.reshape(-1, *q.shape[-2:]), k.reshape(-1, *k.shape[-2:]), v.reshape(-1, *v.shape[-2:]), b3)

    def forward(self, q, k, v, bias=None):
        xp = array_module(q)
        flat = self._batch(q, k, v, bias)
        if flat is None:
            s = xp.matmul(q, k.swapaxes(-1, -2))
            s *= self.scale
            if bias is not None:
                s = s + bias
            self.p = self._softmax(xp, s)
            return xp.matmul(self.p, v)
        q3, k3, v3, b3 = flat
        p = xp.empty((q3.shape[0], q3.shape[1], k3.shape[1]), xp.result_type(q, k))
        out = xp.empty((q3.shape[0], q3.shape[1], v3.shape[2]), xp.result_type(p, v))

        def block(r):
            s = p[r]
            xp.matmul(q3[r], k3[r].swapaxes(-1, -2), out=s)
            s *= self.scale
            if b3 is not None:
                s += b3 if b3.ndim == 2 else b3[r]
            self._softmax(xp, s)
            xp.matmul(s, v3[r], out=out[r])

        parallel.row_blocks(p.shape[0], p[0].size, block, p)
        self.p = p.reshape(*q.shape[:-1], k.shape[-2])
        return out.reshape(*q.shape[:-1], v.shape[-1])

    @staticmethod
    def _softmax(xp, s):
        s -= s.max(axis=-1, keepdims=True)
        xp.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        return s

    def backward(self, g):
        q, k, v = self.inputs[:3]
        if grad_mode.state.enabled:  # create_graph: differentiate the composition instead
            from ...autograd import grad as autograd_grad

            bias = self.inputs[3] if len(self.inputs) > 3 else None
            out, _ = _attention_reference(q, k, v, bias, self.scale, 0.0)
            wanted = [t for t, need in zip(self.inputs, self.needs_input_grad) if need]
            got = iter(autograd_grad([out], wanted, [g], create_graph=True, allow_unused=True))
            return tuple(next(got) if need else None for need in self.needs_input_grad)
        xp = array_module(g._data)
        p, go = self.p, g._data
        need = self.needs_input_grad
        flat = self._batch(q._data, k._data, v._data, self.inputs[3]._data if len(need) > 3 else None)
        if flat is None:
            dq, dk, dv, dp = self._scores_backward(xp, p, go, q._data, k._data, v._data, need)
        else:
            q3, k3, v3, _ = flat
            p3, go3 = p.reshape(-1, *p.shape[-2:]), xp.ascontiguousarray(go).reshape(-1, *go.shape[-2:])
            dq, dk, dv = (xp.empty_like(a) if want else None for a, want in zip((q3, k3, v3), need))
            dp = xp.empty_like(p3)

            def block(r):
                parts = self._scores_backward(xp, p3[r], go3[r], q3[r], k3[r], v3[r], need)
                for into, part in zip((dq, dk, dv, dp), parts):
                    if into is not None:
                        into[r] = part

            parallel.row_blocks(p3.shape[0], p3[0].size, block, p3)
            dq, dk, dv = (None if a is None else a.reshape(t.shape) for a, t in zip((dq, dk, dv), (q, k, v)))
            dp = dp.reshape(p.shape)
        dbias = dp if len(need) > 3 and need[3] else None
        grads = [dq, dk, dv] + ([dbias] if len(need) > 3 else [])
        return tuple(None if a is None else Tensor._wrap(a) for a in grads)

    def _scores_backward(self, xp, p, go, q, k, v, need):
        """(dQ, dK, dV, dS) of one block (dQ, dK, dV None where not needed)."""
        dv = xp.matmul(p.swapaxes(-1, -2), go) if need[2] else None
        dp = xp.matmul(go, v.swapaxes(-1, -2))
        dp -= (dp * p).sum(axis=-1, keepdims=True)
        dp *= p  # dS, the gradient of the scores (before the scale)
        dq = xp.matmul(dp, k) * self.scale if need[0] else None
        dk = xp.matmul(dp.swapaxes(-1, -2), q) * self.scale if need[1] else None
        return dq, dk, dv, dp


def _check(q: Tensor, k: Tensor, v: Tensor) -> None:
    op = "scaled_dot_product_attention"
    for name, t in (("query", q), ("key", k), ("value", v)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise ShapeError(f"{op}: {name} needs at least 2 dimensions (…, length, features), got shape "
                             f"{tuple(t.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"{op}: query and key must have the same number of features, got {tuple(q.shape)} and "
                         f"{tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"{op}: key and value must have the same length, got {tuple(k.shape)} and "
                         f"{tuple(v.shape)}")
    if not (q.dtype == k.dtype == v.dtype) or q.dtype.kind != "f":
        raise TypeError(f"{op}: query, key and value must share one floating dtype, got {q.dtype}, {k.dtype}, "
                        f"{v.dtype}")


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V, scale = 1/√E by default.

    Args:
        query: (…, L, E). key: (…, S, E). value: (…, S, Ev); leading dims broadcast.
        attn_mask: bool (True = may attend) or float (added to the scores), broadcastable to (…, L, S).
        dropout_p: dropout on the attention weights (applied whenever > 0, as in PyTorch: pass 0.0 in eval).
        is_causal: query i attends to keys j ≤ i only (no attn_mask then). scale: instead of 1/√E.
        enable_gqa: accepted for PyTorch's signature; grouped heads must already be broadcastable.

    Returns:
        (…, L, Ev).

    Example:
        >>> import deepgrad as dg
        >>> q = dg.randn(2, 4, 5, 8)
        >>> dg.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 5, 8)
    """
    _check(query, key, value)
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1), got {dropout_p}")
    L, S = query.shape[-2], key.shape[-2]
    bias = attention_bias(attn_mask, L, S, query.dtype, query.device, is_causal)
    if bias is not None and bias.ndim > 0 and (bias.shape[-2:] != (L, S) and bias.shape[-1] not in (1, S)):
        raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(bias.shape)} does not "
                         f"broadcast to ({L}, {S})")
    sc = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if dropout_p > 0:
        return _attention_reference(query, key, value, bias, sc, dropout_p)[0]
    return _SDPA(sc)(query, key, value) if bias is None else _SDPA(sc)(query, key, value, bias)
