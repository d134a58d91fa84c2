"""``MultiheadAttention``: h parallel scaled dot-product attentions over learned projections (Vaswani et al., 2017).

    head_i = softmax((Q W_qᵢ)(K W_kᵢ)ᵀ / √d + M) (V W_vᵢ),   MultiHead(Q, K, V) = [head_1 … head_h] W_oᵀ + b_o

with d = embed_dim / num_heads. Parameter names and initialisation are PyTorch's, so state dicts load unchanged.
"""
from __future__ import annotations

import math

from .. import ops
from ..backend import array_module
from ..creation import empty, zeros
from ..ops._util import ShapeError
from ..tensor import Tensor
from . import functional as F
from . import init
from ._validate import positive_int, probability
from .functional.attention import attention_bias
from .linear import Linear
from .module import Module
from .parameter import Parameter

__all__ = ["MultiheadAttention"]


def _additive(mask, what: str, dtype) -> Tensor | None:
    """PyTorch's MultiheadAttention masks: a bool True means *may not* attend (the opposite of SDPA's bool mask);
    a float mask is added to the scores."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"MultiheadAttention: {what} must be a Tensor, got {type(mask).__name__}")
    if mask.dtype.kind == "b":
        xp = array_module(mask._data)
        return Tensor._wrap(xp.where(mask._data, -xp.inf, 0.0).astype(dtype))
    if mask.dtype != dtype:
        raise TypeError(f"MultiheadAttention: a float {what} must have the query's dtype {dtype}, got {mask.dtype}")
    return mask


class MultiheadAttention(Module):
    """Multi-head attention, softmax(Q Kᵀ/√d + M) V per head, heads concatenated and projected by ``out_proj``.

    Args:
        embed_dim: E, features of the query (and of the output). num_heads: h, dividing E.
        dropout: on the attention weights in training. bias: biases of the projections (default True).
        add_bias_kv: learn one extra key and value (bias_k, bias_v) appended to the sequence.
        add_zero_attn: append a zero key and value. kdim, vdim: features of key and value (default E).
        batch_first: inputs and output (N, L, E) instead of (L, N, E).

    Shape:
        query (L, N, E), key (S, N, kdim), value (S, N, vdim) (or batch-first, or unbatched without N);
        key_padding_mask (N, S): True (bool) = ignore that key, float = added; attn_mask (L, S) or (N·h, L, S):
        True = may not attend, float = added -> (output (L, N, E), weights (N, L, S) averaged over the heads, or
        (N, h, L, S) with average_attn_weights=False, or None with need_weights=False).

    Weights:
        in_proj_weight (3E, E) (or q_proj_weight, k_proj_weight, v_proj_weight when kdim/vdim differ from E):
        Xavier-uniform; in_proj_bias (3E,): zeros; out_proj (Linear E -> E, bias zeros); bias_k, bias_v (1, 1, E):
        Xavier-normal.

    Example:
        >>> import deepgrad as dg
        >>> mha = dg.nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = dg.randn(2, 5, 16)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        ((2, 5, 16), (2, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        self.embed_dim = positive_int("MultiheadAttention", "embed_dim", embed_dim)
        self.num_heads = positive_int("MultiheadAttention", "num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.head_dim = embed_dim // num_heads
        self.dropout = probability("MultiheadAttention", "dropout", dropout)
        self.kdim = embed_dim if kdim is None else positive_int("MultiheadAttention", "kdim", kdim)
        self.vdim = embed_dim if vdim is None else positive_int("MultiheadAttention", "vdim", vdim)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first = bool(batch_first)
        self.add_zero_attn = bool(add_zero_attn)
        kw = {"dtype": dtype, "device": device}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * embed_dim, embed_dim, **kw))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = Parameter(empty(embed_dim, embed_dim, **kw))
            self.k_proj_weight = Parameter(empty(embed_dim, self.kdim, **kw))
            self.v_proj_weight = Parameter(empty(embed_dim, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, embed_dim, **kw))
            self.bias_v = Parameter(empty(1, 1, embed_dim, **kw))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        E = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            if query is key and key is value:  # self-attention: one GEMM for all three
                return F.linear(query, w, b).chunk(3, -1)
            return F.linear(query, w[:E], bq), F.linear(key, w[E:2 * E], bk), F.linear(value, w[2 * E:], bv)
        return (F.linear(query, self.q_proj_weight, bq), F.linear(key, self.k_proj_weight, bk),
                F.linear(value, self.v_proj_weight, bv))

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
        for name, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if not isinstance(t, Tensor) or t.ndim not in (2, 3) or t.shape[-1] != size:
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ShapeError(f"MultiheadAttention: expected {name} of shape (L, N, {size}) (or batch-first, or "
                                 f"unbatched (L, {size})), got {got}")
        batched = query.ndim == 3
        if not batched or not self.batch_first:  # to (N, L, E), keeping self-attention's q is k is v
            move = (lambda t: t.unsqueeze(0)) if not batched else (lambda t: t.transpose(0, 1))
            q_in = move(query)
            k_in = q_in if key is query else move(key)
            value = k_in if value is key else (q_in if value is query else move(value))
            query, key = q_in, k_in
            if not batched and key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        n, L, S, h, d = query.shape[0], query.shape[1], key.shape[1], self.num_heads, self.head_dim
        if key.shape[0] != n or value.shape[0] != n or value.shape[1] != S:
            raise ShapeError(f"MultiheadAttention: query, key and value disagree on the batch or the key length: "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)} (batch-first)")
        q, k, v = self._projections(query, key, value)
        bias = _additive(attn_mask, "attn_mask", q.dtype)
        if bias is None and is_causal:
            bias = attention_bias(None, L, S, q.dtype, q.device, is_causal=True)
        if bias is not None:
            if tuple(bias.shape) == (L, S):
                bias = bias.reshape(1, 1, L, S)
            elif tuple(bias.shape) == (n * h, L, S):
                bias = bias.reshape(n, h, L, S)
            else:
                raise ShapeError(f"MultiheadAttention: attn_mask must be ({L}, {S}) or ({n * h}, {L}, {S}), got "
                                 f"{tuple(bias.shape)}")
        pad = _additive(key_padding_mask, "key_padding_mask", q.dtype)
        if pad is not None:
            if tuple(pad.shape) != (n, S):
                raise ShapeError(f"MultiheadAttention: key_padding_mask must be ({n}, {S}), got {tuple(pad.shape)}")
            pad = pad.reshape(n, 1, 1, S)
        extra = 0
        if self.bias_k is not None:
            k = ops.cat([k, self.bias_k.expand(n, 1, self.embed_dim)], 1)
            v = ops.cat([v, self.bias_v.expand(n, 1, self.embed_dim)], 1)
            extra += 1
        if self.add_zero_attn:
            k = ops.cat([k, zeros(n, 1, self.embed_dim, dtype=k.dtype, device=k.device)], 1)
            v = ops.cat([v, zeros(n, 1, self.embed_dim, dtype=v.dtype, device=v.device)], 1)
            extra += 1
        if extra:  # the appended keys are never masked
            bias = None if bias is None else ops.pad(bias, (0, extra))
            pad = None if pad is None else ops.pad(pad, (0, extra))
        mask = bias if pad is None else (pad if bias is None else bias + pad)
        S2 = S + extra
        q = q.reshape(n, L, h, d).transpose(1, 2)
        k = k.reshape(n, S2, h, d).transpose(1, 2)
        v = v.reshape(n, S2, h, d).transpose(1, 2)
        p = self.dropout if self.training else 0.0
        weights = None
        if need_weights:
            s = ops.matmul(q, k.mT) * (1.0 / math.sqrt(d))
            if mask is not None:
                s = s + mask
            weights = ops.softmax(s, -1)
            if p > 0:
                weights = F.dropout(weights, p, training=True)
            o = ops.matmul(weights, v)
            weights = weights.mean(1) if average_attn_weights else weights
        else:
            o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        out = self.out_proj(o.transpose(1, 2).reshape(n, L, self.embed_dim))
        if not batched:
            return out[0], (None if weights is None else weights[0])
        return (out if self.batch_first else out.transpose(0, 1)), weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"

