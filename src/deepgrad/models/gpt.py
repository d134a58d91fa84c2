"""Transformers for sequences: a decoder-only language model (``GPT``) and a small encoder-decoder
(``Seq2SeqTransformer``).

``GPT`` (Radford et al., 2018) predicts p(x_{t+1} | x_{≤t}) with pre-norm blocks
x = x + CausalSelfAttention(LN(x)); x = x + MLP(LN(x)), on token plus learned position embeddings, and a head that
shares its weight with the token embedding (weight tying, Press & Wolf, 2017). ``Seq2SeqTransformer`` wraps
``nn.Transformer`` with embeddings, sinusoidal positions and an output layer, and decodes greedily.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import arange, tensor
from ..nn import functional as F
from ..tensor import Tensor
from .registry import register_model

__all__ = ["GPT", "GPTBlock", "CausalSelfAttention", "Seq2SeqTransformer", "gpt_char_small"]


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t attends to positions ≤ t only:
    [q k v] = x W_attnᵀ + b, y = softmax(q kᵀ/√d + causal) v per head, out = y W_projᵀ + b."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd ({n_embd}) must be divisible by n_head ({n_head})")
        self.n_head, self.n_embd, self.dropout = n_head, n_embd, dropout
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        n, t, e = x.shape
        h = self.n_head
        q, k, v = (a.reshape(n, t, h, e // h).transpose(1, 2) for a in self.c_attn(x).chunk(3, -1))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(n, t, e)))


class GPTBlock(nn.Module):
    """x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)), mlp = Linear(E, 4E) → GELU → Linear(4E, E) → Dropout, with
    GPT-2's tanh approximation of GELU (exact erf needs SciPy to be fast)."""

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, bias=bias)
        self.attn = CausalSelfAttention(n_embd, n_head, dropout, bias)
        self.ln_2 = nn.LayerNorm(n_embd, bias=bias)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, bias=bias), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * n_embd, n_embd, bias=bias), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """Decoder-only Transformer language model: logits = LN(blocks(E_tok[x] + E_pos[t])) E_tokᵀ (tied head).

    Args:
        vocab_size: number of symbols. context: the longest sequence it reads (default 64).
        n_layer: blocks (default 4). n_head: heads (default 4). n_embd: width (default 128).
        dropout: on embeddings, attention weights and residual branches (default 0.1).
        tie_weights: share the head's weight with the token embedding (default True). bias: in Linear/LayerNorm.

    Shape:
        input (N, T) integer symbols, T ≤ context -> logits (N, T, vocab_size).

    Example:
        >>> import deepgrad as dg
        >>> m = dg.models.GPT(10, context=8, n_layer=1, n_head=2, n_embd=16)
        >>> m(dg.tensor([[1, 2, 3]])).shape
        (1, 3, 10)
        >>> m.generate(dg.tensor([[1, 2]]), max_new_tokens=4, top_k=3, seed=0).shape
        (1, 6)
    """

    def __init__(self, vocab_size: int, context: int = 64, n_layer: int = 4, n_head: int = 4, n_embd: int = 128,
                 dropout: float = 0.1, tie_weights: bool = True, bias: bool = True) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("context", context), ("n_layer", n_layer),
                            ("n_head", n_head), ("n_embd", n_embd)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"GPT: {name} must be a positive integer, got {value!r}")
        self.vocab_size, self.context = vocab_size, context
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(context, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([GPTBlock(n_embd, n_head, dropout, bias) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd, bias=bias)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        # GPT-2's initialisation: N(0, 0.02), residual projections scaled by 1/√(2·n_layer), zero biases
        for name, p in self.named_parameters():
            if p.ndim == 2:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("c_proj.weight") or ".mlp.2." in name else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias") and "ln" not in name:
                nn.init.zeros_(p)
        if tie_weights:
            self.head.weight = self.wte.weight

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        if input.ndim != 2:
            raise ValueError(f"GPT: expected input of shape (N, T) of symbols, got {tuple(input.shape)}")
        t = input.shape[1]
        if t > self.context:
            raise ValueError(f"GPT: a sequence of {t} symbols is longer than the context of {self.context}")
        x = self.drop(self.wte(input) + self.wpe(arange(t, device=input.device)))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))

    def generate(self, prompt, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 seed: int | None = None) -> Tensor:
        """Extend ``prompt`` (N, T) (or a list of symbols) by ``max_new_tokens`` symbols, each drawn from
        softmax(logits / temperature) over the last ``context`` symbols, restricted to the ``top_k`` most likely
        when given; temperature 0 takes the most likely symbol. Returns (N, T + max_new_tokens)."""
        idx = np.asarray(prompt.numpy() if isinstance(prompt, Tensor) else prompt, dtype=np.int64)
        if idx.ndim == 1:
            idx = idx[None]
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"GPT.generate: prompt must hold at least one symbol per row, got shape {idx.shape}")
        if top_k is not None and not 1 <= top_k <= self.vocab_size:
            raise ValueError(f"GPT.generate: top_k must be in [1, {self.vocab_size}], got {top_k}")
        rng = np.random.default_rng(seed)
        was = self.training
        self.eval()
        with no_grad():
            for _ in range(max_new_tokens):
                z = self(tensor(idx[:, -self.context:])).numpy()[:, -1].astype(np.float64)
                idx = np.concatenate([idx, _sample(z, temperature, top_k, rng)[:, None]], 1)
        self.train(was)
        return tensor(idx)


def _sample(z: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator) -> np.ndarray:
    if temperature <= 0:
        return z.argmax(-1)
    z = z / temperature
    if top_k is not None:
        kth = np.sort(z, -1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.array([rng.choice(len(row), p=row) for row in p])


def sinusoidal_positions(length: int, d_model: int) -> np.ndarray:
    """PE(t, 2i) = sin(t / 10000^{2i/d}), PE(t, 2i+1) = cos(t / 10000^{2i/d}) (Vaswani et al., 2017)."""
    t = np.arange(length)[:, None]
    freq = np.exp(-math.log(10000.0) * np.arange(0, d_model, 2) / d_model)
    pe = np.zeros((length, d_model), np.float32)
    pe[:, 0::2] = np.sin(t * freq)
    pe[:, 1::2] = np.cos(t * freq)[:, :d_model // 2]
    return pe


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer for sequence-to-sequence tasks (copying, reversing, translating):
    logits = W Decoder(E_tgt[y]·√d + PE, Encoder(E_src[x]·√d + PE)), batch-first, pre-norm.

    Args:
        src_vocab, tgt_vocab: vocabulary sizes. d_model (64), nhead (4), num_encoder_layers (2),
        num_decoder_layers (2), dim_feedforward (128), dropout (0.1), max_len (positions, default 128).

    Shape:
        src (N, S), tgt (N, T) symbols -> logits (N, T, tgt_vocab); the decoder sees tgt causally.

    Example:
        >>> import deepgrad as dg
        >>> m = dg.models.Seq2SeqTransformer(5, 5, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1)
        >>> m(dg.tensor([[1, 2, 3]]), dg.tensor([[0, 3]])).shape
        (1, 2, 5)
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 64, nhead: int = 4,
                 num_encoder_layers: int = 2, num_decoder_layers: int = 2, dim_feedforward: int = 128,
                 dropout: float = 0.1, max_len: int = 128) -> None:
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(src_vocab, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model)
        self.transformer = nn.Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                          dropout, batch_first=True, norm_first=True)
        self.generator = nn.Linear(d_model, tgt_vocab)
        self.register_buffer("pe", tensor(sinusoidal_positions(max_len, d_model)))

    def _embed(self, emb: nn.Embedding, x: Tensor) -> Tensor:
        return emb(x) * math.sqrt(self.d_model) + self.pe[:x.shape[1]]

    def encode(self, src: Tensor) -> Tensor:
        return self.transformer.encoder(self._embed(self.src_embed, src))

    def decode(self, tgt: Tensor, memory: Tensor) -> Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1]).to(memory.dtype)
        return self.generator(self.transformer.decoder(self._embed(self.tgt_embed, tgt), memory, tgt_mask=mask))

    def forward(self, src: Tensor, tgt: Tensor) -> Tensor:
        return self.decode(tgt, self.encode(src))

    def greedy_decode(self, src: Tensor, length: int, bos: int) -> Tensor:
        """Start every row from ``bos`` and append the most likely symbol ``length`` times: (N, length)."""
        was = self.training
        self.eval()
        with no_grad():
            memory = self.encode(src)
            ys = np.full((src.shape[0], 1), bos, np.int64)
            for _ in range(length):
                nxt = self.decode(tensor(ys), memory).numpy()[:, -1].argmax(-1)
                ys = np.concatenate([ys, nxt[:, None]], 1)
        self.train(was)
        return tensor(ys[:, 1:])

    def cross_attention(self, src: Tensor, tgt: Tensor) -> list[np.ndarray]:
        """The decoder's attention weights over the source, one (N, T, S) array per decoder layer (averaged over
        heads): where each output position looks in the input."""
        was = self.training
        self.eval()
        maps = []
        with no_grad():
            memory = self.encode(src)
            x = self._embed(self.tgt_embed, tgt)
            mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1]).to(memory.dtype)
            for layer in self.transformer.decoder.layers:  # the pre-norm layer's steps, keeping the weights
                h = layer.norm1(x)
                x = x + layer.self_attn(h, h, h, attn_mask=mask, need_weights=False)[0]
                out, w = layer.multihead_attn(layer.norm2(x), memory, memory)
                maps.append(w.numpy())
                x = x + out
                x = x + layer._ff_block(layer.norm3(x), layer.dropout3)
        self.train(was)
        return maps


@register_model("gpt_char_small", description="character-level GPT: 4 layers, 4 heads, width 128, context 64",
                input="tokens")
def gpt_char_small(vocab_size: int = 65, context: int = 64) -> GPT:
    return GPT(vocab_size, context=context, n_layer=4, n_head=4, n_embd=128, dropout=0.1)

