"""Attention and Transformers: outputs and gradients equal PyTorch's for the same weights (fixture written by
tests/fixtures/make_sequence_fixtures.py; no torch import here), masks, layouts, state_dict names and errors."""
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F

FIXTURE = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "sequence_torch.npz"), allow_pickle=False)


def _load(name, module=None):
    if module is not None:
        module = module.double()
        sd = {k.split("/sd/")[1]: dg.tensor(FIXTURE[k]) for k in FIXTURE.files if k.startswith(f"{name}/sd/")}
        module.load_state_dict(sd)
    keys = sorted((k for k in FIXTURE.files if k.startswith(f"{name}/in")), key=lambda k: int(k.split("/in")[1]))
    inputs = [dg.tensor(FIXTURE[k], requires_grad=True) for k in keys]
    return module, inputs


def _compare(name, module, outs, inputs, atol=1e-9):
    sum(o.sin().sum() * (k + 1) for k, o in enumerate(outs)).backward()
    for k, o in enumerate(outs):
        np.testing.assert_allclose(o.detach().numpy(), FIXTURE[f"{name}/out{k}"], atol=atol, err_msg=f"out{k}")
    for i, x in enumerate(inputs):
        np.testing.assert_allclose(x.grad.numpy(), FIXTURE[f"{name}/gin{i}"], atol=atol, err_msg=f"input {i}")
    if module is not None:
        for k, p in module.named_parameters():
            np.testing.assert_allclose(p.grad.numpy(), FIXTURE[f"{name}/grad/{k}"], atol=atol, err_msg=k)


def test_sdpa_masks_scale_and_causal_equal_pytorchs():
    _, (q, k, v) = _load("sdpa_bool")
    _compare("sdpa_bool", None, [F.scaled_dot_product_attention(q, k, v, dg.tensor(FIXTURE["sdpa_bool/mask"]))],
             [q, k, v])
    _, (q, k, v) = _load("sdpa_float")
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=dg.tensor(FIXTURE["sdpa_float/mask"]), scale=0.3)
    _compare("sdpa_float", None, [out], [q, k, v])
    _, (x,) = _load("sdpa_causal")
    _compare("sdpa_causal", None, [F.scaled_dot_product_attention(x, x, x, is_causal=True)], [x])


def test_sdpa_fused_node_equals_composition_and_double_backward():
    from deepgrad.nn.functional.attention import _attention_reference

    q, k, v = (dg.randn(2, 3, 4, dtype=dg.float64, requires_grad=True) for _ in range(3))
    bias = dg.randn(3, 3, dtype=dg.float64)
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    ref, _ = _attention_reference(q, k, v, bias, 0.5, 0.0)
    np.testing.assert_allclose(fused.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    (gq,) = dg.autograd.grad(fused.sin().sum(), [q], create_graph=True)
    (gq2,) = dg.autograd.grad(ref.sin().sum(), [q], create_graph=True)
    np.testing.assert_allclose(gq.detach().numpy(), gq2.detach().numpy(), atol=1e-12)
    (hq,) = dg.autograd.grad((gq * gq).sum(), [k])
    (hq2,) = dg.autograd.grad((gq2 * gq2).sum(), [k])
    np.testing.assert_allclose(hq.numpy(), hq2.numpy(), atol=1e-10)


def test_sdpa_dropout_and_errors():
    q = dg.randn(2, 4, 8)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    assert not np.allclose(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=dg.zeros(4, 4), is_causal=True)
    with pytest.raises(Exception, match="same number of features"):
        F.scaled_dot_product_attention(q, dg.randn(2, 4, 5), q)
    with pytest.raises(Exception, match="same length"):
        F.scaled_dot_product_attention(q, q, dg.randn(2, 3, 8))


def test_multihead_attention_equals_pytorchs():
    m, (x,) = _load("mha_self_bf", nn.MultiheadAttention(8, 2, batch_first=True))
    out, w = m(x, x, x, key_padding_mask=dg.tensor(FIXTURE["mha_self_bf/pad"]), average_attn_weights=False)
    assert w.shape == (2, 2, 5, 5)
    _compare("mha_self_bf", m, [out, w], [x])
    m, (q, k, v) = _load("mha_kv_dims", nn.MultiheadAttention(8, 4, kdim=5, vdim=7, add_bias_kv=True,
                                                               add_zero_attn=True))
    assert {"q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v"} <= set(m.state_dict())
    out, w = m(q, k, v, attn_mask=dg.tensor(FIXTURE["mha_kv_dims/mask"]))
    assert w.shape == (3, 4, 8)
    _compare("mha_kv_dims", m, [out, w], [q, k, v])
    m, (x,) = _load("mha_nobias_noweights", nn.MultiheadAttention(8, 2, bias=False))
    out, w = m(x, x, x, need_weights=False, attn_mask=nn.Transformer.generate_square_subsequent_mask(4).double())
    assert w is None
    _compare("mha_nobias_noweights", m, [out], [x])


def test_transformer_layers_equal_pytorchs():
    causal5 = nn.Transformer.generate_square_subsequent_mask(5).double()
    pad = dg.tensor(FIXTURE["mha_self_bf/pad"])
    m, (x,) = _load("enc_layer_post_relu", nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0))
    _compare("enc_layer_post_relu", m, [m(x, src_mask=causal5)], [x])
    m, (x,) = _load("enc_layer_pre_gelu_bf", nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                                                      norm_first=True, batch_first=True))
    _compare("enc_layer_pre_gelu_bf", m, [m(x, src_key_padding_mask=pad)], [x])
    m, (t, mem) = _load("dec_layer", nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0))
    mask4 = nn.Transformer.generate_square_subsequent_mask(4).double()
    _compare("dec_layer", m, [m(t, mem, tgt_mask=mask4)], [t, mem])
    m, (s, t) = _load("transformer", nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, batch_first=True, norm_first=True))
    out = m(s, t, tgt_mask=mask4, src_key_padding_mask=pad, memory_key_padding_mask=pad)
    _compare("transformer", m, [out], [s, t])


def test_unbatched_and_layouts_agree():
    mha = nn.MultiheadAttention(8, 2)
    x = dg.randn(5, 3, 8)
    out, w = mha(x, x, x)
    out1, w1 = mha(x[:, 1], x[:, 1], x[:, 1])
    np.testing.assert_allclose(out1.detach().numpy(), out.detach().numpy()[:, 1], atol=1e-5)
    np.testing.assert_allclose(w1.detach().numpy(), w.detach().numpy()[1], atol=1e-6)
    assert np.allclose(w.detach().numpy().sum(-1), 1)


def test_mask_and_state_dict_names_and_errors():
    m = nn.Transformer.generate_square_subsequent_mask(3).numpy()
    assert m[0, 1] == -np.inf and m[1, 0] == 0 and m[2, 2] == 0
    names = set(nn.TransformerDecoderLayer(8, 2, 16).state_dict())
    assert {"self_attn.in_proj_weight", "multihead_attn.out_proj.bias", "linear1.weight", "norm3.bias"} <= names
    with pytest.raises(ValueError, match="divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu' or a callable"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(Exception, match=r"expected key of shape \(L, N, 8\)"):
        nn.MultiheadAttention(8, 2)(dg.randn(4, 2, 8), dg.randn(4, 2, 6), dg.randn(4, 2, 8))
    with pytest.raises(Exception, match="key_padding_mask must be"):
        x = dg.randn(4, 2, 8)
        nn.MultiheadAttention(8, 2)(x, x, x, key_padding_mask=dg.zeros(2, 3, dtype=dg.bool))
