"""Pooling beyond the registry: indices and unpooling, ceil mode, adaptive sizes, upsampling, channel dropout,
local response norm, layers and error messages."""
import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn as nn
import deepgrad.nn.functional as F


def test_max_pool_indices_follow_pytorch_convention_and_unpool():
    x = dg.tensor([[[[1.0, 2.0, 0.0, 5.0], [3.0, 4.0, 6.0, 1.0], [0.0, 0.0, 1.0, 1.0], [9.0, 0.0, 2.0, 0.5]]]])
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert y.tolist() == [[[[4.0, 6.0], [9.0, 2.0]]]]
    assert idx.tolist() == [[[[5, 6], [12, 14]]]] and idx.dtype == dg.int64
    up = F.max_unpool2d(y, idx, 2)
    assert up.tolist() == [[[[0, 0, 0, 0], [0, 4.0, 6.0, 0], [0, 0, 0, 0], [9.0, 0, 2.0, 0]]]]
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    z = dg.randn(2, 3, 7, 7)
    out, ind = pool(z)
    assert unpool(out, ind, output_size=z.shape).shape == (2, 3, 7, 7)
    with pytest.raises(IndexError, match="pass output_size"):
        unpool(out, ind + 40)


def test_max_pool_gradient_goes_to_the_maximum_once_per_window():
    x = dg.tensor([[[[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    assert x.grad.tolist() == [[[[0, 0, 0], [0, 4.0, 0], [0, 0, 0]]]]


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1), dict(kernel_size=2, stride=3),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool_backward_paths_agree_with_ties(monkeypatch, kw):
    """backward() scatters to the winners block by block, on several threads; the differentiable path (taken with
    create_graph) goes through the winners' indices. Both give the first winner of a tie the whole gradient."""
    from deepgrad import parallel
    from deepgrad.ops import cpu_kernels

    monkeypatch.setattr(cpu_kernels, "POOL_BLOCK_BYTES", 1)
    monkeypatch.setattr(parallel, "_threads", 3)
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.integers(0, 3, (5, 2, 7, 8)).astype(np.float64), requires_grad=True)  # many ties
    g = dg.tensor(rng.standard_normal(F.max_pool2d(x, **kw).shape))
    F.max_pool2d(x, **kw).backward(g)
    fast = x.grad.numpy().copy()
    (slow,) = dg.autograd.grad(F.max_pool2d(x, **kw), x, g, create_graph=True)
    np.testing.assert_array_equal(fast, slow.detach().numpy())
    _, idx = F.max_pool2d(x, return_indices=True, **kw)  # each window's gradient lands on its index
    want = np.zeros(x.shape).reshape(5, 2, -1)
    np.add.at(want, (np.arange(5)[:, None, None], np.arange(2)[None, :, None], idx.numpy().reshape(5, 2, -1)),
              g.numpy().reshape(5, 2, -1))
    np.testing.assert_allclose(fast, want.reshape(x.shape), atol=1e-12)


@pytest.mark.parametrize("size,k,s,p,ceil,want", [(7, 2, 2, 0, False, 3), (7, 2, 2, 0, True, 4), (6, 3, 2, 1, True, 4),
                                                  (5, 3, 2, 1, True, 3), (32, 3, 2, 0, True, 16)])
def test_pool_output_size(size, k, s, p, ceil, want):
    assert F.pool_output_size(size, k, s, p, 1, ceil) == want
    assert F.max_pool2d(dg.zeros(1, 1, size, size), k, s, p, ceil_mode=ceil).shape[-1] == want
    assert F.avg_pool2d(dg.zeros(1, 1, size, size), k, s, p, ceil_mode=ceil).shape[-1] == want


def test_adaptive_pools_any_input_size():
    for h, w in [(7, 7), (13, 9), (224, 224)]:
        assert nn.AdaptiveAvgPool2d((6, 6))(dg.zeros(1, 2, h, w)).shape == (1, 2, 6, 6)
    x = dg.randn(2, 3, 5, 7)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy()[..., 0, 0], x.numpy().mean((2, 3)), rtol=1e-5)
    np.testing.assert_allclose(F.adaptive_max_pool2d(x, 1).numpy()[..., 0, 0], x.numpy().max((2, 3)))
    assert F.adaptive_avg_pool2d(x, (None, 2)).shape == (2, 3, 5, 2)


def test_upsample_modes():
    x = dg.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert nn.Upsample(scale_factor=2)(x)[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    y = nn.Upsample(size=3, mode="bilinear", align_corners=True)(x)[0, 0].numpy()
    np.testing.assert_allclose(y, [[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]])
    y = nn.UpsamplingBilinear2d(scale_factor=2)(x)
    assert y[0, 0, 0, 0].item() == 1.0 and y[0, 0, -1, -1].item() == 4.0
    assert F.interpolate(dg.zeros(1, 1, 4, 6), scale_factor=0.5, mode="area").shape == (1, 1, 2, 3)
    with pytest.raises(dg.ShapeError, match="mode 'bilinear' expects a 4-d input"):
        F.interpolate(dg.zeros(1, 1, 4), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        F.interpolate(x)


def test_dropout2d_drops_whole_channels_and_is_seeded():
    layer = nn.Dropout2d(0.5)
    dg.manual_seed(3)
    a = layer(dg.ones(8, 16, 4, 4)).numpy()
    per_channel = a.reshape(8, 16, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # a channel is kept or dropped whole
    assert 0.3 < (per_channel[..., 0] > 0).mean() < 0.7
    dg.manual_seed(3)
    np.testing.assert_array_equal(layer(dg.ones(8, 16, 4, 4)).numpy(), a)
    layer.eval()
    np.testing.assert_array_equal(layer(dg.ones(2, 3, 2, 2)).numpy(), 1.0)
    with pytest.raises(ValueError, match="Dropout2d: p must be a probability"):
        nn.Dropout2d(1.5)


def test_channel_dropout_shapes_generator_and_pytorch_warning_on_3d():
    """dropout1d/2d/3d share F.dropout's implementation: a generator makes masks reproducible; a 3-d input to
    dropout2d is read as (N, C, L), one mask value per (sample, channel), with PyTorch's warning."""
    x = dg.ones(6, 5, 7)
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d .* interpreted as shape \\(N, C, L\\)"):
        y = nn.Dropout2d(0.5)(x).numpy()
    assert (y.min(-1) == y.max(-1)).all() and 0 < (y[..., 0] > 0).sum() < 30  # per (n, c): the (N, C, L) rule
    a = F.dropout1d(x, 0.5, generator=dg.Generator(4)).numpy()
    np.testing.assert_array_equal(a, F.dropout1d(x, 0.5, generator=dg.Generator(4)).numpy())
    assert not np.array_equal(a, F.dropout1d(x, 0.5, generator=dg.Generator(5)).numpy())
    b = nn.Dropout1d(0.5)(x).numpy()
    assert (b.min(-1) == b.max(-1)).all() and set(np.unique(b)) <= {0.0, 2.0}
    z = F.dropout3d(dg.ones(2, 3, 2, 2, 2), 0.5, generator=dg.Generator(1)).numpy().reshape(2, 3, -1)
    assert (z.min(-1) == z.max(-1)).all()
    assert F.dropout2d(dg.ones(2, 3, 4, 4), 1.0, training=False).sum().item() == 96.0  # identity in eval
    assert F.dropout(dg.ones(100), 1.0).sum().item() == 0.0
    with pytest.raises(dg.ShapeError, match=r"dropout3d: expected a 5-d \(N, C, \*spatial\) or 4-d"):
        F.dropout3d(dg.ones(2, 3), 0.5)
    with pytest.raises(ValueError, match="dropout2d: dropout probability p must be in"):
        F.dropout2d(dg.ones(1, 2, 2, 2), 2.0)


def test_local_response_norm_layer():
    x = dg.ones(1, 5, 1, 1)
    y = nn.LocalResponseNorm(3, alpha=3.0, beta=1.0, k=1.0)(x).numpy().ravel()
    # interior channels see 3 ones: 1 / (1 + 3/3·3); edge channels see 2
    np.testing.assert_allclose(y, [1 / 3, 1 / 4, 1 / 4, 1 / 4, 1 / 3])


def test_pool_errors():
    with pytest.raises(dg.ShapeError, match=r"max_pool2d: expected a 4-d input \(N, C, H, W\) or 3-d"):
        F.max_pool2d(dg.zeros(4, 4), 2)
    with pytest.raises(ValueError, match="padding .* must be at most half"):
        F.max_pool2d(dg.zeros(1, 1, 4, 4), 2, padding=2)
    with pytest.raises(dg.ShapeError, match="does not fit the input"):
        F.avg_pool2d(dg.zeros(1, 1, 2, 2), 3)
    assert F.max_pool1d(dg.zeros(3, 8), 2).shape == (3, 4)  # unbatched
    assert "kernel_size=2" in repr(nn.MaxPool2d(2))
