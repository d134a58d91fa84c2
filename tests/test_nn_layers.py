"""Layers: constructor and shape errors, default inits, dropout, batch-norm running statistics, embedding."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from deepgrad import nn


def test_linear_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match="Linear: in_features must be a positive integer, got 0"):
        nn.Linear(0, 3)
    with pytest.raises(ValueError, match="out_features must be a positive integer, got 2.5"):
        nn.Linear(3, 2.5)
    with pytest.raises(dg.ShapeError, match=r"Linear\(784 -> 256\): expected input with last dimension 784, got "
                                            r"shape \(128, 100\)"):
        nn.Linear(784, 256)(dg.zeros(128, 100))


def test_linear_default_init_bounds_and_forward():
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound  # uniform(-a, a) has std a/√3
    assert np.abs(b).max() <= bound
    x = dg.randn(7, 2, 400)
    np.testing.assert_allclose(lin(x).detach().numpy(), x.numpy() @ w.T + b, rtol=1e-5, atol=1e-5)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert list(nn.Linear(3, 2, bias=False).state_dict()) == ["weight"]


def test_dropout_scaling_seeding_and_eval():
    drop = nn.Dropout(0.25)
    x = dg.ones(1000, 100)
    dg.manual_seed(1)
    y1 = drop(x).numpy()
    dg.manual_seed(1)
    y2 = drop(x).numpy()
    np.testing.assert_array_equal(y1, y2)
    assert set(np.unique(y1)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y1 == 0).mean() - 0.25) < 0.01 and abs(y1.mean() - 1) < 0.02
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match=r"Dropout: p must be a probability in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    x = dg.ones(50, 20, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


def test_alpha_dropout_keeps_mean_and_variance():
    x = dg.randn(200000)
    y = nn.AlphaDropout(0.2)(x).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02


def _bn_reference(batches, momentum, eps=1e-5):
    rm, rv = np.zeros(batches[0].shape[1]), np.ones(batches[0].shape[1])
    for k, x in enumerate(batches, 1):
        axes = (0,) + tuple(range(2, x.ndim))
        n = x.size // x.shape[1]
        m = momentum if momentum is not None else 1 / k
        rm = (1 - m) * rm + m * x.mean(axes)
        rv = (1 - m) * rv + m * x.var(axes) * n / (n - 1)
    return rm, rv


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("cls,shape", [(nn.BatchNorm1d, (8, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                       (nn.BatchNorm2d, (4, 3, 2, 2)), (nn.BatchNorm3d, (2, 3, 2, 2, 2))])
def test_batchnorm_running_stats_match_numpy(cls, shape, momentum):
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal(shape) * (i + 1) + i for i in range(3)]
    bn = cls(3, momentum=momentum).double()
    for b in batches:
        bn(dg.tensor(b))
    rm, rv = _bn_reference(batches, momentum)
    np.testing.assert_allclose(bn.running_mean.numpy(), rm, rtol=1e-10)
    np.testing.assert_allclose(bn.running_var.numpy(), rv, rtol=1e-10)
    assert int(bn.num_batches_tracked) == 3
    bn.eval()
    x = batches[0]
    sh = (1, 3) + (1,) * (x.ndim - 2)
    want = (x - rm.reshape(sh)) / np.sqrt(rv.reshape(sh) + 1e-5)
    np.testing.assert_allclose(bn(dg.tensor(x)).detach().numpy(), want, rtol=1e-10, atol=1e-12)
    assert int(bn.num_batches_tracked) == 3  # eval does not count


def test_batchnorm_options_and_errors():
    bn = nn.BatchNorm1d(4, affine=False, track_running_stats=False)
    assert list(bn.state_dict()) == [] and bn.weight is None
    y = bn.eval()(dg.randn(16, 4)).numpy()  # no running stats: batch statistics even in eval
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    with pytest.raises(dg.ShapeError, match=r"BatchNorm2d\(3\): expected 4-D input with 3 channels on dim 1, got "
                                            r"shape \(2, 5, 4, 4\)"):
        nn.BatchNorm2d(3)(dg.zeros(2, 5, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(dg.zeros(1, 3))
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNorm1d(3, momentum=2.0)


def test_layernorm_groupnorm_modules():
    x = dg.randn(2, 4, 6)
    y = nn.LayerNorm(6)(x).detach().numpy()
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(y.std(-1), 1, atol=1e-3)
    g = nn.GroupNorm(2, 4)(x).detach().numpy().reshape(2, 2, -1)
    np.testing.assert_allclose(g.mean(-1), 0, atol=1e-5)
    with pytest.raises(ValueError, match="num_channels \\(5\\) must be divisible by num_groups \\(2\\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(dg.ShapeError, match=r"LayerNorm\(\(6,\)\): expected input with trailing shape"):
        nn.LayerNorm(6)(dg.zeros(2, 5))


def test_embedding_padding_idx_gets_no_gradient_and_from_pretrained():
    emb = nn.Embedding(5, 3, padding_idx=1)
    assert float(abs(emb.weight[1]).sum()) == 0
    idx = dg.tensor([[1, 2], [2, 4]])
    emb(idx).sum().backward()
    g = emb.weight.grad.numpy()
    np.testing.assert_array_equal(g[:, 0], [0, 0, 2, 0, 1])
    table = dg.randn(4, 2)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen(dg.tensor([3])).numpy(), table.numpy()[[3]])
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range for dim 0 of size 5"):
        emb(dg.tensor([5]))
    with pytest.raises(TypeError, match="integer tensor"):
        emb(dg.zeros(2))


def test_maxout_is_max_of_k_linear_pieces():
    m = nn.Maxout(4, 3, k=2)
    x = dg.randn(5, 4)
    z = x.numpy() @ m.weight.detach().numpy().T + m.bias.detach().numpy()
    np.testing.assert_allclose(m(x).detach().numpy(), z.reshape(5, 3, 2).max(-1), rtol=1e-5, atol=1e-6)
    assert repr(m) == "Maxout(in_features=4, out_features=3, k=2, bias=True)"


def test_activation_modules():
    x = dg.tensor([-2.0, 0.0, 3.0])
    assert nn.Step()(x).tolist() == [0.0, 1.0, 1.0]
    assert nn.Logistic(k=1.0)(x).tolist() == nn.Sigmoid()(x).tolist()
    np.testing.assert_allclose(nn.Logistic(3.0)(x).numpy(), 1 / (1 + np.exp(-3 * x.numpy())), rtol=1e-4)
    xs = dg.tensor([-2.0, 3.0], requires_grad=True)
    nn.Step()(xs).sum().backward()
    assert xs.grad.tolist() == [0.0, 0.0]  # the perceptron's step has zero gradient
    pr = nn.PReLU(3)
    assert pr(-dg.ones(2, 3, 4)).detach().numpy().max() == -0.25
    assert list(pr.state_dict()) == ["weight"]
    assert nn.Flatten()(dg.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Unflatten(1, (3, 4))(dg.zeros(2, 12)).shape == (2, 3, 4)
    assert nn.Identity(5, foo=1)(x) is x


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.integers(1, 5))
def test_linear_any_leading_shape(lead, out):
    lin = nn.Linear(3, out)
    x = dg.randn(*lead, 3)
    y = lin(x)
    assert y.shape == tuple(lead) + (out,)
    y.sum().backward()
    assert lin.weight.grad.shape == (out, 3)
    np.testing.assert_allclose(lin.bias.grad.numpy(), np.full(out, np.prod(lead)), rtol=1e-6)


def test_batch_norm_refuses_mis_shaped_or_mis_typed_parameters():
    import deepgrad.nn.functional as F

    x = dg.randn(4, 3, 5, 5)
    with pytest.raises(dg.ShapeError, match=r"batch_norm: weight must have shape \(3,\) for input \(4, 3, 5, 5\) "
                                            r"with 3 channels, got \(4,\)"):
        F.batch_norm(x, None, None, dg.ones(4), dg.zeros(3), training=True)
    with pytest.raises(TypeError, match="batch_norm: bias dtype float64 differs from input dtype float32"):
        F.batch_norm(x, None, None, dg.ones(3), dg.zeros(3, dtype=dg.float64), training=True)
