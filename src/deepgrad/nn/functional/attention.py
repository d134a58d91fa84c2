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
from ...ops import jit_kernels
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
    (:func:`deepgrad.parallel.row_blocks`), and the softmax's passes are compiled ones
    (:mod:`deepgrad.ops.jit_kernels`) where they apply."""

    saves_inputs = (0, 1, 2)

    def __init__(self, scale: float):
        self.scale = scale
        self.jit = None  # the compiled softmax passes, where the forward finds that they apply

    @staticmethod
    def _blocked(q, k, v, bias) -> bool:
        """Whether q, k, v (and a bias) share their leading axes, so that blocks of the first one are independent
        (the arrays are sliced as they are: a head split's strided views are not copied)."""
        lead = q.shape[:-2]
        return bool(lead) and k.shape[:-2] == lead and v.shape[:-2] == lead and \
            (bias is None or bias.ndim == 2 or bias.shape[:-2] == lead)

    def forward(self, q, k, v, bias=None):
        xp = array_module(q)
        if not self._blocked(q, k, v, bias):
            self.p, out = self._scores_forward(xp, q, k, v, bias)
            return out
        p = xp.empty((*q.shape[:-1], k.shape[-2]), xp.result_type(q, k))
        out = xp.empty((*q.shape[:-1], v.shape[-1]), xp.result_type(p, v))
        whole = bias is None or (bias.ndim == 2 and bias.shape == p.shape[-2:])  # a bias the kernel indexes as is
        self.jit = jit_kernels.for_arrays(xp, p.dtype) if whole else None

        def block(r):
            b = bias if bias is None or bias.ndim == 2 else bias[r]
            self._scores_forward(xp, q[r], k[r], v[r], b, p[r], out[r])

        parallel.row_blocks(p.shape[0], p[0].size, block, p)
        self.p = p
        return out

    def _scores_forward(self, xp, q, k, v, bias, p=None, out=None):
        """(P, P V) of one block, P = softmax(Q Kᵀ · scale + bias), into ``p`` and ``out`` where given."""
        s = xp.matmul(q, k.swapaxes(-1, -2), out=p)
        if self.jit is not None:  # compiled passes before and after exp (see deepgrad.ops.jit_kernels)
            s3 = s.reshape(-1, *s.shape[-2:])
            self.jit.softmax_shift(s3, s3[0] if bias is None else bias, bias is not None, s.dtype.type(self.scale))
            xp.exp(s, out=s)
            self.jit.softmax_normalize(s3)
            return s, xp.matmul(s, v, out=out)
        s *= self.scale
        if bias is not None:
            s = s + bias if p is None else xp.add(s, bias, out=s)  # unblocked: bias may broadcast beyond s
        s -= s.max(axis=-1, keepdims=True)
        xp.exp(s, out=s)
        s /= s.sum(axis=-1, keepdims=True)
        return s, xp.matmul(s, v, out=out)

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
        qd, kd, vd = q._data, k._data, v._data
        if not self._blocked(qd, kd, vd, self.inputs[3]._data if len(need) > 3 else None):
            dq, dk, dv, dp = self._scores_backward(xp, p, go, qd, kd, vd, need)
        else:
            dq, dk, dv = (xp.empty(a.shape, a.dtype) if want else None for a, want in zip((qd, kd, vd), need))
            dp = xp.empty_like(p)

            def block(r):
                parts = self._scores_backward(xp, p[r], go[r], qd[r], kd[r], vd[r], need)
                for into, part in zip((dq, dk, dv, dp), parts):
                    if into is not None:
                        into[r] = part

            parallel.row_blocks(p.shape[0], p[0].size, block, p)
        dbias = dp if len(need) > 3 and need[3] else None
        grads = [dq, dk, dv] + ([dbias] if len(need) > 3 else [])
        return tuple(None if a is None else Tensor._wrap(a) for a in grads)

    def _scores_backward(self, xp, p, go, q, k, v, need):
        """(dQ, dK, dV, dS) of one block (dQ, dK, dV None where not needed)."""
        dv = xp.matmul(p.swapaxes(-1, -2), go) if need[2] else None
        dp = xp.matmul(go, v.swapaxes(-1, -2))
        if self.jit is not None:  # p is a block of the contiguous P here
            self.jit.softmax_backward(p.reshape(-1, *p.shape[-2:]), dp.reshape(-1, *dp.shape[-2:]))
        else:
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
