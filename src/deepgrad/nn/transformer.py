"""The Transformer (Vaswani et al., 2017): encoder and decoder layers and stacks, under PyTorch's names.

An encoder layer is self-attention then a position-wise feed-forward network, each wrapped in a residual
connection and layer normalisation: x = LN(x + SA(x)); x = LN(x + FF(x)) (post-norm, the paper's), or
x = x + SA(LN(x)); x = x + FF(LN(x)) with ``norm_first`` (pre-norm, which trains more stably when deep).
A decoder layer adds cross-attention to the encoder's output (the memory) between the two.
"""
from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from ..creation import tensor
from ..tensor import Tensor
from . import functional as F
from . import init
from ._validate import positive_float, positive_int, probability
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(layer: str, activation) -> Callable:
    if callable(activation):
        return activation
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{layer}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return _ACTIVATIONS[activation]


class _Block(Module):
    """Shared parts of the encoder and decoder layers: the feed-forward network and its settings."""

    def __init__(self, layer: str, d_model: int, nhead: int, dim_feedforward: int, dropout: float, activation,
                 layer_norm_eps: float, batch_first: bool, norm_first: bool, bias: bool, norms: int, kw) -> None:
        super().__init__()
        positive_int(layer, "d_model", d_model)
        positive_int(layer, "dim_feedforward", dim_feedforward)
        probability(layer, "dropout", dropout)
        positive_float(layer, "layer_norm_eps", layer_norm_eps)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **kw)
        if norms == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = bool(norm_first)
        for i in range(1, norms + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in range(1, norms + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = _activation(layer, activation)
        self.batch_first = bool(batch_first)

    def _ff_block(self, x: Tensor, drop: Dropout) -> Tensor:
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    @staticmethod
    def _attend(attn: MultiheadAttention, x: Tensor, mem: Tensor, mask, pad, is_causal: bool, drop) -> Tensor:
        return drop(attn(x, mem, mem, attn_mask=mask, key_padding_mask=pad, need_weights=False,
                         is_causal=is_causal and mask is None)[0])


class TransformerEncoderLayer(_Block):
    """x = LN₁(x + Dropout(SelfAttn(x))); x = LN₂(x + Dropout(W₂ Dropout(act(W₁ x + b₁)) + b₂)) (or pre-norm).

    Args:
        d_model: features. nhead: attention heads. dim_feedforward: hidden width of the FFN (default 2048).
        dropout: default 0.1. activation: 'relu' (default), 'gelu' or a callable. layer_norm_eps: default 1e-5.
        batch_first: (N, L, E) instead of (L, N, E). norm_first: pre-norm. bias: in the linear and norm layers.

    Shape:
        src (L, N, E) (or batch-first); src_mask (L, S) or (N·h, L, S); src_key_padding_mask (N, S) -> like src.

    Example:
        >>> import deepgrad as dg
        >>> layer = dg.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True)
        >>> layer(dg.randn(2, 5, 16)).shape
        (2, 5, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__("TransformerEncoderLayer", d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, 2, {"device": device, "dtype": dtype})

    def forward(self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            h = self.norm1(x)
            x = x + self._attend(self.self_attn, h, h, src_mask, src_key_padding_mask, is_causal, self.dropout1)
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._attend(self.self_attn, x, x, src_mask, src_key_padding_mask, is_causal,
                                        self.dropout1))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Block):
    """x = LN₁(x + SelfAttn(x)); x = LN₂(x + CrossAttn(x, memory)); x = LN₃(x + FFN(x)) (or pre-norm).

    Its arguments are those of ``TransformerEncoderLayer``.

    Shape:
        tgt (T, N, E), memory (S, N, E) (or batch-first); tgt_mask (T, T); memory_mask (T, S);
        tgt_key_padding_mask (N, T); memory_key_padding_mask (N, S) -> like tgt.

    Example:
        >>> import deepgrad as dg
        >>> layer = dg.nn.TransformerDecoderLayer(16, 4, dim_feedforward=32)
        >>> layer(dg.randn(6, 2, 16), dg.randn(5, 2, 16)).shape
        (6, 2, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__("TransformerDecoderLayer", d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, 3, {"device": device, "dtype": dtype})

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            h = self.norm1(x)
            x = x + self._attend(self.self_attn, h, h, tgt_mask, tgt_key_padding_mask, tgt_is_causal,
                                 self.dropout1)
            x = x + self._attend(self.multihead_attn, self.norm2(x), memory, memory_mask, memory_key_padding_mask,
                                 memory_is_causal, self.dropout2)
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._attend(self.self_attn, x, x, tgt_mask, tgt_key_padding_mask, tgt_is_causal,
                                        self.dropout1))
        x = self.norm2(x + self._attend(self.multihead_attn, x, memory, memory_mask, memory_key_padding_mask,
                                        memory_is_causal, self.dropout2))
        return self.norm3(x + self._ff_block(x, self.dropout3))


def _clones(layer: Module, n: int, who: str) -> ModuleList:
    positive_int(who, "num_layers", n)
    return ModuleList([copy.deepcopy(layer) for _ in range(n)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` when given.

    Example:
        >>> import deepgrad as dg
        >>> enc = dg.nn.TransformerEncoder(dg.nn.TransformerEncoderLayer(8, 2, 16), num_layers=2)
        >>> enc(dg.randn(5, 3, 8)).shape
        (5, 3, 8)
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer``, each reading the same memory, then ``norm`` when given.

    Example:
        >>> import deepgrad as dg
        >>> dec = dg.nn.TransformerDecoder(dg.nn.TransformerDecoderLayer(8, 2, 16), num_layers=2)
        >>> dec(dg.randn(4, 3, 8), dg.randn(5, 3, 8)).shape
        (4, 3, 8)
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, tgt_key_padding_mask: Tensor | None = None,
                memory_key_padding_mask: Tensor | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """Encoder-decoder Transformer: out = Decoder(tgt, Encoder(src)), each stack ending in a LayerNorm.

    Its arguments, with their defaults, are PyTorch's ``nn.Transformer``'s: d_model (512), nhead (8),
    num_encoder_layers (6), num_decoder_layers (6), dim_feedforward (2048), dropout (0.1), activation,
    custom_encoder, custom_decoder, layer_norm_eps, batch_first, norm_first, bias. Every weight with more than one
    dimension is Xavier-uniform initialised.

    Shape:
        src (S, N, E), tgt (T, N, E) (or batch-first); masks as in the layers -> (T, N, E).

    Example:
        >>> import deepgrad as dg
        >>> model = dg.nn.Transformer(16, 2, 1, 1, 32)
        >>> tgt = dg.randn(4, 2, 16)
        >>> mask = dg.nn.Transformer.generate_square_subsequent_mask(4)
        >>> model(dg.randn(6, 2, 16), tgt, tgt_mask=mask).shape
        (4, 2, 16)
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1, activation="relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, **kw)
            self.encoder = TransformerEncoder(layer, num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                                            batch_first, norm_first, bias, **kw)
            self.decoder = TransformerDecoder(layer, num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
                memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
                tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        n_axis = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[n_axis] != tgt.shape[n_axis]:
            raise ValueError(f"Transformer: src and tgt must have the same batch size, got {tuple(src.shape)} and "
                             f"{tuple(tgt.shape)}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: src and tgt must have d_model={self.d_model} features, got "
                             f"{tuple(src.shape)} and {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """(sz, sz) float mask: 0 on and below the diagonal, −∞ above (position i sees positions ≤ i)."""
        mask = np.triu(np.full((sz, sz), -np.inf, dtype=np.float32 if dtype is None else dtype), 1)
        return tensor(mask, device=device)
