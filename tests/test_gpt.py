"""GPT and the encoder-decoder Transformer: shapes, weight tying, causality, generation, learning, errors."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad.models import GPT, Seq2SeqTransformer
from deepgrad.nn import functional as F


def test_gpt_shapes_tying_and_state_dict():
    m = GPT(11, context=8, n_layer=2, n_head=2, n_embd=16)
    assert m(dg.tensor([[1, 2, 3]])).shape == (1, 3, 11)
    assert m.head.weight is m.wte.weight
    names = list(m.state_dict())
    assert "blocks.1.attn.c_attn.weight" in names and "blocks.0.mlp.0.weight" in names and "ln_f.bias" in names
    untied = GPT(11, context=8, n_layer=1, n_head=2, n_embd=16, tie_weights=False)
    assert untied.head.weight is not untied.wte.weight
    assert sum(p.numel() for p in untied.parameters()) == sum(p.numel() for p in GPT(
        11, context=8, n_layer=1, n_head=2, n_embd=16).parameters()) + 11 * 16


def test_gpt_is_causal():
    m = GPT(7, context=6, n_layer=2, n_head=2, n_embd=8, dropout=0.0)
    a = m(dg.tensor([[1, 2, 3, 4, 5]])).detach().numpy()
    b = m(dg.tensor([[1, 2, 3, 6, 0]])).detach().numpy()
    np.testing.assert_allclose(a[0, :3], b[0, :3], atol=1e-6)
    assert not np.allclose(a[0, 3], b[0, 3])


def test_generate_respects_top_k_temperature_and_context():
    m = GPT(9, context=4, n_layer=1, n_head=1, n_embd=8)
    out = m.generate(dg.tensor([[1, 2, 3]]), max_new_tokens=6, top_k=1, seed=0).numpy()
    greedy = m.generate([1, 2, 3], max_new_tokens=6, temperature=0, seed=1).numpy()
    assert out.shape == (1, 9) and (out[0, :3] == [1, 2, 3]).all()
    np.testing.assert_array_equal(out, greedy)  # top-1 sampling is greedy decoding
    assert m.training
    with pytest.raises(ValueError, match="top_k must be in"):
        m.generate([1], 2, top_k=0)
    with pytest.raises(ValueError, match="longer than the context"):
        m(dg.tensor([[1, 2, 3, 4, 5]]))
    with pytest.raises(ValueError, match="n_head"):
        GPT(5, n_embd=10, n_head=3)


def test_gpt_learns_a_periodic_sequence():
    dg.manual_seed(0)
    m = GPT(5, context=8, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    opt = dg.optim.AdamW(m.parameters(), lr=1e-2)
    seq = np.tile([0, 1, 2, 3, 4], 4)
    x, y = dg.tensor(seq[None, :8].repeat(4, 0)), dg.tensor(seq[1:9][None].repeat(4, 0).reshape(-1))
    for _ in range(60):
        loss = F.cross_entropy(m(x).reshape(-1, 5), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1
    assert m.generate([0, 1], 5, temperature=0).numpy()[0].tolist() == [0, 1, 2, 3, 4, 0, 1]


def test_seq2seq_shapes_decode_and_attention_maps():
    m = Seq2SeqTransformer(6, 7, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=2, dropout=0.0)
    src, tgt = dg.tensor([[1, 2, 3, 4]]), dg.tensor([[0, 5, 6]])
    assert m(src, tgt).shape == (1, 3, 7)
    assert m.greedy_decode(src, 5, bos=0).shape == (1, 5)
    maps = m.cross_attention(src, tgt)
    assert len(maps) == 2 and maps[0].shape == (1, 3, 4)
    np.testing.assert_allclose(maps[1].sum(-1), 1, atol=1e-5)
