"""Recurrent layers: PyTorch parameter names/shapes/init, output shapes in every layout, cells vs layers, states,
truncated BPTT, dropout between layers and errors (the gate equations are checked in tests/registry/recurrent.py)."""
import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn


def test_lstm_parameter_names_and_shapes_are_pytorchs():
    m = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert list(shapes) == [f"{w}_l{k}{s}" for k in range(2) for s in ("", "_reverse")
                            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_ih_l1_reverse"] == (20, 10)
    assert shapes["weight_hh_l1"] == (20, 5) and shapes["bias_hh_l0_reverse"] == (20,)
    assert [tuple(p.shape) for p in nn.GRU(3, 5, bias=False).parameters()] == [(15, 3), (15, 5)]
    assert [k for k, _ in nn.RNNCell(2, 4).named_parameters()] == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert tuple(nn.LSTMCell(2, 4).weight_ih.shape) == (16, 2) and tuple(nn.GRUCell(2, 4).weight_hh.shape) == (12, 4)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_init_is_uniform_within_one_over_sqrt_hidden(cls):
    m = cls(8, 16)
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.9 * bound
    assert abs(values.mean()) < 0.02 and values.std() == pytest.approx(bound / math.sqrt(3), rel=0.1)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layouts(cls, bidirectional):
    d = 2 if bidirectional else 1
    m = cls(3, 4, num_layers=2, bidirectional=bidirectional)
    x = dg.randn(6, 2, 3)
    out, h = m(x)
    hn = h[0] if cls is nn.LSTM else h
    assert out.shape == (6, 2, 4 * d) and hn.shape == (2 * d, 2, 4)
    # batch-first gives the same numbers transposed
    mb = cls(3, 4, num_layers=2, bidirectional=bidirectional, batch_first=True)
    mb.load_state_dict(m.state_dict())
    out_b, _ = mb(x.transpose(0, 1))
    np.testing.assert_allclose(out_b.detach().numpy().transpose(1, 0, 2), out.detach().numpy(), atol=1e-6)
    # unbatched (L, I) is the batch of one without its batch axis
    out_u, h_u = m(x[:, 0])
    np.testing.assert_allclose(out_u.detach().numpy(), out.detach().numpy()[:, 0], atol=1e-6)
    assert (h_u[0] if cls is nn.LSTM else h_u).shape == (2 * d, 4)
    # the last forward output is the forward direction's final state of the top layer
    np.testing.assert_allclose(out.detach().numpy()[-1, :, :4], hn.detach().numpy()[2 * d - d], atol=1e-6)


def test_lstm_layer_equals_unrolled_cell_with_given_state():
    layer, cell = nn.LSTM(3, 4), nn.LSTMCell(3, 4)
    for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, n).data = getattr(layer, n + "_l0").detach()
    x, h0, c0 = dg.randn(5, 2, 3), dg.randn(1, 2, 4), dg.randn(1, 2, 4)
    out, (hn, cn) = layer(x, (h0, c0))
    h, c = h0[0], c0[0]
    for t in range(5):
        h, c = cell(x[t], (h, c))
        np.testing.assert_allclose(out[t].detach().numpy(), h.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(cn[0].detach().numpy(), c.detach().numpy(), atol=1e-6)


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.GRUCell])
def test_cells_default_state_is_zeros_and_unbatched_works(cls):
    cell = cls(3, 4)
    x = dg.randn(2, 3)
    np.testing.assert_allclose(cell(x).detach().numpy(), cell(x, dg.zeros(2, 4)).detach().numpy())
    assert cell(x[0]).shape == (4,) and cell(x[0], dg.zeros(4)).shape == (4,)


def test_relu_rnn_is_nonnegative_and_differs_from_tanh():
    x = dg.randn(4, 2, 3)
    dg.manual_seed(1)
    out_r, _ = nn.RNN(3, 5, nonlinearity="relu")(x)
    assert (out_r.detach().numpy() >= 0).all()
    assert repr(nn.RNN(3, 5, nonlinearity="relu", num_layers=2)) == "RNN(3, 5, num_layers=2, nonlinearity='relu')"


def test_truncated_bptt_detach_stops_the_gradient():
    m = nn.LSTM(2, 3)
    x1, x2 = dg.randn(4, 1, 2, requires_grad=True), dg.randn(4, 1, 2)
    _, (h, c) = m(x1)
    out, _ = m(x2, (h.detach(), c.detach()))
    out.sum().backward()
    assert x1.grad is None
    out, _ = m(x2, (h, c))
    out.sum().backward()
    assert x1.grad is not None and np.abs(x1.grad.numpy()).sum() > 0


def test_dropout_between_layers_only_in_training():
    m = nn.GRU(3, 8, num_layers=2, dropout=0.5)
    x = dg.randn(4, 2, 3)
    a, _ = m(x)
    b, _ = m(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_gradient_reaches_every_parameter():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    out, (h, c) = m(dg.randn(2, 5, 3))
    (out.sum() + c.sum()).backward()
    assert all(p.grad is not None and np.abs(p.grad.numpy()).sum() > 0 for p in m.parameters())


def test_errors_name_the_layer():
    with pytest.raises(Exception, match=r"LSTM: expected input of shape \(L, N, 3\)"):
        nn.LSTM(3, 4)(dg.randn(5, 2, 7))
    with pytest.raises(Exception, match=r"GRU: expected h_0 of shape \(2, 2, 4\)"):
        nn.GRU(3, 4, bidirectional=True)(dg.randn(5, 2, 3), dg.zeros(1, 2, 4))
    with pytest.raises(TypeError, match="LSTM: hx must be a tuple"):
        nn.LSTM(3, 4)(dg.randn(5, 2, 3), dg.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="LSTMCell: hidden_size must be a positive integer"):
        nn.LSTMCell(3, 0)
    with pytest.raises(ValueError, match="GRU: dropout must be a probability"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(Exception, match=r"RNNCell: expected hx of shape \(2, 4\)"):
        nn.RNNCell(3, 4)(dg.randn(2, 3), dg.zeros(3, 4))


def test_lstm_learns_to_remember_the_first_input():
    """The last output must reproduce the sign of x_0 after 8 steps of noise: a long-range dependency."""
    dg.manual_seed(0)
    rng = np.random.default_rng(0)
    m, head = nn.LSTM(1, 8), nn.Linear(8, 1)
    opt = dg.optim.Adam(list(m.parameters()) + list(head.parameters()), lr=0.05)
    for _ in range(150):
        x = rng.normal(size=(8, 16, 1)).astype(np.float32) * 0.3
        x[0] = np.sign(rng.normal(size=(16, 1)))
        out, _ = m(dg.tensor(x))
        loss = dg.nn.functional.mse_loss(head(out[-1]), dg.tensor(x[0]))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


# ------------------------------------------------------------------------ PyTorch parity (fixture, no torch import)
FIXTURE = np.load(__import__("os").path.join(__import__("os").path.dirname(__file__), "fixtures",
                                              "sequence_torch.npz"), allow_pickle=False)


def _from_fixture(name, module):
    sd = {k.split("/sd/")[1]: dg.tensor(FIXTURE[k]) for k in FIXTURE.files if k.startswith(f"{name}/sd/")}
    module = module.double()
    module.load_state_dict(sd)
    inputs = [dg.tensor(FIXTURE[k]) for k in sorted(k for k in FIXTURE.files if k.startswith(f"{name}/in"))]
    return module, inputs


def _check_against_fixture(name, module, outs, inputs, grad_inputs):
    sum(o.sin().sum() * (k + 1) for k, o in enumerate(outs)).backward()
    for k, o in enumerate(outs):
        np.testing.assert_allclose(o.detach().numpy(), FIXTURE[f"{name}/out{k}"], atol=1e-10, err_msg=f"out{k}")
    for i in grad_inputs:
        np.testing.assert_allclose(inputs[i].grad.numpy(), FIXTURE[f"{name}/gin{i}"], atol=1e-10)
    for k, p in module.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), FIXTURE[f"{name}/grad/{k}"], atol=1e-10, err_msg=k)


@pytest.mark.parametrize("name, make, grad_inputs", [
    ("lstm_bi2_bf", lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True), (0, 1, 2)),
    ("lstm_proj", lambda: nn.LSTM(4, 6, proj_size=3), (0,)),
    ("gru_bi2", lambda: nn.GRU(4, 5, num_layers=2, bidirectional=True), (0, 1)),
    ("rnn_relu_nobias", lambda: nn.RNN(4, 5, nonlinearity="relu", bias=False), (0,)),
    ("rnn_tanh_bi", lambda: nn.RNN(4, 5, bidirectional=True, batch_first=True), (0,)),
])
def test_outputs_and_gradients_equal_pytorchs(name, make, grad_inputs):
    module, inputs = _from_fixture(name, make())
    for i in grad_inputs:
        inputs[i].requires_grad = True
    if name == "lstm_bi2_bf":
        out, (h, c) = module(inputs[0], (inputs[1], inputs[2]))
        outs = [out, h, c]
    else:
        out, h = module(*inputs)
        outs = [out, *h] if isinstance(h, tuple) else [out, h]
    _check_against_fixture(name, module, outs, inputs, grad_inputs)


def test_packed_sequences_equal_pytorchs():
    rnn_utils = nn.utils.rnn
    lengths = FIXTURE["packed_lstm/lengths"]
    for name, make in (("packed_lstm", lambda: nn.LSTM(4, 3, bidirectional=True)),
                       ("packed_gru", lambda: nn.GRU(4, 3, num_layers=2))):
        module, (x,) = _from_fixture(name, make())
        x.requires_grad = True
        p = rnn_utils.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, h = module(p)
        assert isinstance(out, rnn_utils.PackedSequence)
        if name == "packed_lstm":
            outs = [rnn_utils.pad_packed_sequence(out)[0], h[0], h[1], out.data]
        else:
            outs = [rnn_utils.pad_packed_sequence(out, batch_first=True)[0], h]
        _check_against_fixture(name, module, outs, [x], (0,))


def test_pack_pad_roundtrip_and_helpers():
    rnn_utils = nn.utils.rnn
    seqs = [dg.randn(4, 2), dg.randn(2, 2), dg.randn(3, 2)]
    padded = rnn_utils.pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    assert padded.shape == (3, 4, 2) and (padded.numpy()[1, 2:] == -1).all()
    packed = rnn_utils.pack_sequence(seqs, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1] and packed.data.shape == (9, 2)
    back, lengths = rnn_utils.pad_packed_sequence(packed, batch_first=True, total_length=6)
    assert back.shape == (3, 6, 2) and lengths.tolist() == [4, 2, 3]
    for s, u in zip(seqs, rnn_utils.unpack_sequence(packed)):
        np.testing.assert_array_equal(s.numpy(), u.numpy())
    with pytest.raises(ValueError, match="sorted in decreasing order"):
        rnn_utils.pack_padded_sequence(dg.randn(4, 3, 2), [2, 4, 1])
    with pytest.raises(ValueError, match="exceeds the 4 steps"):
        rnn_utils.pack_padded_sequence(dg.randn(4, 2, 2), [5, 1])


@pytest.mark.parametrize("mode, cls", [("LSTM", nn.LSTM), ("GRU", nn.GRU), ("RNN_TANH", nn.RNN)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_fused_layer_equals_the_unrolled_reference(mode, cls, batch_first, packed):
    """The fused kernel (several row blocks: batch 20) against the step-by-step composition of the cell equations."""
    from deepgrad.nn.recurrent import multi_layer_rnn

    n = 20
    m = cls(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first).double()
    x = dg.randn(*((n, 5, 3) if batch_first else (5, n, 3)), dtype=dg.float64, requires_grad=True)
    weights = [getattr(m, k) for k in m._flat_weights_names]
    h0 = dg.randn(4, n, 4, dtype=dg.float64, requires_grad=True)
    c0 = dg.randn(4, n, 4, dtype=dg.float64, requires_grad=True)
    hx = (h0, c0) if mode == "LSTM" else h0
    lengths = np.resize([5, 3, 1, 4], n) if packed else None
    results = []
    for fused in (True, False):
        out, h = multi_layer_rnn(mode, x, hx, weights, 2, True, batch_first, 0.0, False, True, lengths=lengths,
                                 fused=fused)
        hs = list(h) if mode == "LSTM" else [h]
        (out.sin().sum() + sum((s * s).sum() for s in hs)).backward()
        leaves = [x, h0] + ([c0] if mode == "LSTM" else []) + weights
        results.append([out.detach().numpy()] + [t.grad.numpy().copy() for t in leaves])
        for t in leaves:
            t.grad = None
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_double_backward_through_the_fused_layer():
    """create_graph=True: the fused node's backward differentiates the unrolled reference, so grad-of-grad works."""
    m = nn.GRU(2, 3).double()
    x = dg.randn(4, 2, 2, dtype=dg.float64, requires_grad=True)
    out, _ = m(x)
    (gx,) = dg.autograd.grad(out.sum(), [x], create_graph=True)
    (gx * gx).sum().backward()
    w = m.weight_hh_l0.grad.numpy().copy()
    from deepgrad.nn.recurrent import multi_layer_rnn

    m.zero_grad()
    weights = [getattr(m, k) for k in m._flat_weights_names]
    out, _ = multi_layer_rnn("GRU", x, dg.zeros(1, 2, 3, dtype=dg.float64), weights, fused=False)
    (gx,) = dg.autograd.grad(out.sum(), [x], create_graph=True)
    (gx * gx).sum().backward()
    np.testing.assert_allclose(w, m.weight_hh_l0.grad.numpy(), atol=1e-12)


def test_proj_size_names_flatten_parameters_and_errors():
    m = nn.LSTM(3, 6, proj_size=2, num_layers=2)
    shapes = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    assert shapes["weight_hr_l0"] == (2, 6) and shapes["weight_hh_l1"] == (24, 2) and shapes["weight_ih_l1"] == (24, 2)
    m.flatten_parameters()
    out, (h, c) = m(dg.randn(5, 4, 3))
    assert out.shape == (5, 4, 2) and h.shape == (2, 4, 2) and c.shape == (2, 4, 6)
    assert len(m.all_weights) == 2 and len(m.all_weights[0]) == 5
    with pytest.raises(ValueError, match="proj_size must be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size is only supported by LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(TypeError, match="expected input as a Tensor or a PackedSequence"):
        nn.GRU(3, 4)([1, 2, 3])


@pytest.mark.parametrize("mode, cls, kw", [
    ("LSTM", nn.LSTM, {}), ("LSTM", nn.LSTM, {"proj_size": 3}), ("GRU", nn.GRU, {}), ("GRU", nn.GRU, {"bias": False}),
])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("packed", [False, True])
def test_compiled_cells_equal_the_numpy_passes(mode, cls, kw, batch_first, packed):
    """float32 on the CPU: the Numba kernels of jit_kernels against the NumPy passes (fast_kernels=False),
    forward and every gradient, bidirectional and stacked, batch 20 (several row blocks for the GRU)."""
    pytest.importorskip("numba")
    from deepgrad.backends import cpu
    from deepgrad.ops import recurrence

    n = 20
    m = cls(3, 5, num_layers=2, bidirectional=True, batch_first=batch_first, **kw)
    x = dg.randn(*((n, 6, 3) if batch_first else (6, n, 3)), requires_grad=True)
    lengths = np.resize([6, 3, 1, 4], n).tolist() if packed else None
    results = []
    for fast in (True, False):
        with cpu.flags(fast_kernels=fast):
            assert (recurrence._cells(np, np.dtype(np.float32)) is recurrence._NUMPY_CELLS) == (not fast)
            inp = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False) \
                if packed else x
            out, h = m(inp)
            if packed:
                out = nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first)[0]
            hs = list(h) if mode == "LSTM" else [h]
            (out.sin().sum() + sum((s * s).sum() for s in hs)).backward()
        results.append([out.detach().numpy()] + [s.detach().numpy() for s in hs] + [x.grad.numpy().copy()]
                       + [p.grad.numpy().copy() for p in m.parameters()])
        x.grad = None
        m.zero_grad()
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)


def test_compiled_tanh_is_float32_accurate_and_keeps_nan():
    pytest.importorskip("numba")
    from deepgrad.ops import jit_kernels

    k = jit_kernels.compiled()
    x = np.concatenate([np.linspace(-12, 12, 200_001), [0.0, -0.0, 1e-30, np.inf, -np.inf, np.nan]]).astype(np.float32)
    out = np.empty_like(x)
    k.tanh_into(x, out)
    want = np.tanh(x.astype(np.float64))
    finite = np.isfinite(x)
    assert np.abs(out[finite] - want[finite]).max() < 4e-7
    assert out[-3] == 1 and out[-2] == -1 and np.isnan(out[-1])
    assert (out[np.abs(x) > 7.91] == np.sign(x[np.abs(x) > 7.91])).all()
    assert out.dtype == np.float32
    # a NaN in the input reaches the LSTM's outputs instead of being clamped away
    a = np.full((8, 2), np.nan, np.float32)
    c, c1, tc, r = (np.zeros((2, 2), np.float32) for _ in range(4))
    k.lstm_forward(a, np.zeros_like(a), c, c1, tc, r)
    assert np.isnan(r).all()
