"""Registry entries for scaled dot-product attention (the fused node, with additive and causal masks) against NumPy
references; float64 gradcheck and gradgradcheck. The layers built on it (MultiheadAttention, the Transformer
layers) are checked against PyTorch's outputs and gradients in tests/test_attention.py."""
import numpy as np

from deepgrad.nn.functional import scaled_dot_product_attention
from harness import case


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sdpa_ref(q, k, v, bias=None, scale=None):
    s = q @ k.swapaxes(-1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    return _softmax(s if bias is None else s + bias) @ v


case("scaled_dot_product_attention", scaled_dot_product_attention, [(2, 3, 4), (2, 5, 4), (2, 5, 3)], sdpa_ref,
     gradgrad=True)
case("scaled_dot_product_attention", lambda q, k, v, b: scaled_dot_product_attention(q, k, v, attn_mask=b, scale=0.7),
     [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), (3, 5)], lambda q, k, v, b: sdpa_ref(q, k, v, b, 0.7),
     variant="float-mask-scale")
case("scaled_dot_product_attention", lambda x: scaled_dot_product_attention(x, x, x, is_causal=True), [(2, 4, 3)],
     lambda x: sdpa_ref(x, x, x, np.triu(np.full((4, 4), -np.inf), 1)), variant="causal")
