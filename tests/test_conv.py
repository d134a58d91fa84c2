"""Convolution beyond the registry: output sizes, padding modes, correlation vs convolution, the kernel library,
error messages, layers, and random configurations against the naive reference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
import deepgrad.nn as nn
import deepgrad.nn.functional as F
from deepgrad.nn import kernels
from registry.conv import conv_ref, conv_transpose_ref


def t64(a, grad=False):
    return dg.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


@pytest.mark.parametrize("size,k,s,p,d", [(28, 5, 1, 0, 1), (32, 3, 1, 1, 1), (227, 11, 4, 0, 1), (7, 3, 2, 1, 1),
                                          (10, 3, 3, 2, 2)])
def test_output_size_formula(size, k, s, p, d):
    want = (size + 2 * p - d * (k - 1) - 1) // s + 1
    assert F.conv_output_size(size, k, s, p, d) == want
    y = F.conv2d(dg.zeros(1, 1, size, size), dg.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    assert y.shape == (1, 1, want, want)
    back = F.conv_transpose2d(y, dg.zeros(1, 1, k, k), stride=s, padding=p, dilation=d)
    assert back.shape[-1] == F.conv_transpose_output_size(want, k, s, p, 0, d) <= size


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("size", [7, 8, 9])
def test_same_padding_any_stride(stride, size):
    y = F.conv2d(dg.randn(1, 2, size, size + 1), dg.randn(3, 2, 4, 3), stride=stride, padding="same")
    assert y.shape[2:] == (-(-size // stride), -(-(size + 1) // stride))


def test_full_padding_and_unbatched_input():
    x, w = dg.randn(2, 5, 6), dg.randn(4, 2, 3, 2)
    y = F.conv2d(x, w, padding="full")
    assert y.shape == (4, 7, 7)
    np.testing.assert_allclose(y.numpy(), F.conv2d(x.unsqueeze(0), w, padding=((2, 2), (1, 1)))[0].numpy())


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")])
def test_padding_modes(mode, np_mode):
    layer = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode).double()
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6))
    want = conv_ref(np.pad(x, [(0, 0), (0, 0), (1, 1), (2, 2)], mode=np_mode), layer.weight.detach().numpy(),
                    layer.bias.detach().numpy())
    np.testing.assert_allclose(layer(t64(x)).detach().numpy(), want, atol=1e-10)


def test_conv_transpose_is_adjoint_of_conv():
    x, w, g = dg.randn(2, 3, 7, 6, dtype=dg.float64), dg.randn(4, 3, 3, 3, dtype=dg.float64), None
    y = F.conv2d(x, w, stride=2, padding=1)
    g = dg.randn(*y.shape, dtype=dg.float64)
    back = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=0)
    assert back.shape == (2, 3, 7, 5) or back.shape[2:] <= x.shape[2:]
    back = F.conv_transpose2d(g, w, stride=2, padding=1, output_padding=(0, 1))
    assert back.shape == x.shape
    np.testing.assert_allclose(float((y * g).sum()), float((x * back).sum()), rtol=1e-10)


def test_second_derivative_of_conv_weight_and_input():
    x, w = dg.randn(1, 2, 5, 5, dtype=dg.float64, requires_grad=True), dg.randn(3, 2, 3, 3, dtype=dg.float64,
                                                                                 requires_grad=True)
    assert dg.autograd.gradgradcheck(lambda a, b: F.conv2d(a, b, stride=2, padding="same").tanh(), [x, w])


# ------------------------------------------------------------------------------------------ correlation / convolution
LECTURE = {"identity": kernels.identity, "blur": kernels.box_blur, "sharpen": kernels.sharpen,
           "edge": kernels.edge_difference, "sobel_x": kernels.sobel_x, "laplacian": kernels.laplacian}


@pytest.mark.parametrize("name", list(LECTURE))
@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_correlate_vs_convolve(name, mode):
    img = np.random.default_rng(1).standard_normal((6, 7))
    k = LECTURE[name](dtype=dg.float64)
    kn = k.numpy()
    pad = {"valid": 0, "same": 1, "full": 2}[mode]
    corr = conv_ref(img[None, None], kn[None, None], pads=pad)[0, 0]
    conv = conv_ref(img[None, None], kn[::-1, ::-1].copy()[None, None], pads=pad)[0, 0]
    np.testing.assert_allclose(F.correlate2d(t64(img), k, mode).numpy(), corr, atol=1e-12)
    np.testing.assert_allclose(F.convolve2d(t64(img), k, mode).numpy(), conv, atol=1e-12)
    symmetric = np.allclose(kn, kn[::-1, ::-1])
    assert np.allclose(corr, conv) == symmetric or name == "identity"


def test_convolution_is_commutative_correlation_is_not():
    a = np.random.default_rng(2).standard_normal((4, 4))
    b = kernels.sobel_x(dtype=dg.float64)
    ab = F.convolve2d(t64(a), b, "full").numpy()
    ba = F.convolve2d(b, t64(a), "full").numpy()
    np.testing.assert_allclose(ab, ba, atol=1e-12)
    assert not np.allclose(F.correlate2d(t64(a), b, "full").numpy(), F.correlate2d(b, t64(a), "full").numpy())


def test_batched_filtering_and_kernel_library():
    imgs = dg.randn(2, 3, 8, 8, dtype=dg.float64)
    assert F.correlate2d(imgs, kernels.gaussian(5, 1.0, dtype=dg.float64), "same").shape == (2, 3, 8, 8)
    np.testing.assert_allclose(F.correlate2d(imgs, kernels.identity(), "same").numpy(), imgs.numpy())
    g = kernels.gaussian(7, 1.5).numpy()
    assert g.shape == (7, 7) and abs(g.sum() - 1) < 1e-6 and np.allclose(g, g.T)
    ramp = t64(np.tile(np.arange(15.0), (15, 1)))  # f(y, x) = x
    dx = F.convolve2d(ramp, kernels.gaussian_derivative(1, 0, 1.0, 7, dtype=dg.float64)).numpy()
    np.testing.assert_allclose(dx, 1.0, rtol=0.02)  # the derivative of a ramp is its slope
    d2 = kernels.gaussian_derivative(2, 0, 1.0, 9).numpy()
    np.testing.assert_allclose(d2, kernels.gaussian_derivative(0, 2, 1.0, 9).numpy().T)
    assert kernels.laplacian().numpy().sum() == 0 and kernels.sharpen().numpy().sum() == 1
    np.testing.assert_array_equal(kernels.sobel_y().numpy(), kernels.sobel_x().numpy().T)
    np.testing.assert_array_equal(kernels.prewitt_x().numpy(), [[-1, 0, 1]] * 3)
    with pytest.raises(ValueError, match="order_x must be 0, 1, 2 or 3"):
        kernels.gaussian_derivative(4, 0)


# ------------------------------------------------------------------------------------------ errors
def test_error_messages():
    with pytest.raises(dg.ShapeError, match=r"conv2d: expected a 4-d input \(N, C, H, W\) or 3-d \(C, H, W\), "
                                            r"got shape \(28, 28\)"):
        F.conv2d(dg.zeros(28, 28), dg.zeros(16, 1, 5, 5))
    with pytest.raises(dg.ShapeError, match=r"Conv2d\(3 -> 16, 5x5\): input has 1 channels, expected 3"):
        nn.Conv2d(3, 16, 5)(dg.zeros(2, 1, 28, 28))
    with pytest.raises(dg.ShapeError, match="conv2d: kernel 5x5 is larger than the padded input 4x4"):
        F.conv2d(dg.zeros(1, 1, 4, 4), dg.zeros(1, 1, 5, 5))
    with pytest.raises(dg.ShapeError, match=r"dilated to 5x5"):
        F.conv2d(dg.zeros(1, 1, 4, 4), dg.zeros(1, 1, 3, 3), dilation=2)
    with pytest.raises(ValueError, match="groups=2 must divide both in_channels=3"):
        nn.Conv2d(3, 16, 3, groups=2)
    with pytest.raises(ValueError, match="groups=3 must divide out_channels=4"):
        F.conv2d(dg.zeros(1, 3, 5, 5), dg.zeros(4, 1, 3, 3), groups=3)
    with pytest.raises(dg.ShapeError, match=r"has 4 channels but weight \(4, 1, 3, 3\) expects 2"):
        F.conv2d(dg.zeros(1, 4, 5, 5), dg.zeros(4, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be positive"):
        nn.Conv2d(1, 1, 0)
    with pytest.raises(ValueError, match="Conv1d: out_channels must be a positive integer"):
        nn.Conv1d(1, -2, 3)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding must be an int, a tuple, 'valid', 'same' or 'full'"):
        F.conv1d(dg.zeros(1, 1, 5), dg.zeros(1, 1, 3), padding="half")
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(dg.ShapeError, match=r"bias must have shape \(4,\)"):
        F.conv2d(dg.zeros(1, 1, 5, 5), dg.zeros(4, 1, 3, 3), dg.zeros(3))


# ------------------------------------------------------------------------------------------ layers
def test_conv_layers_match_pytorch_layout_and_init():
    layer = nn.Conv2d(3, 8, (5, 3), groups=1)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == (8, 3, 5, 3) and layer.bias.shape == (8,)
    bound = 1 / np.sqrt(3 * 5 * 3)
    assert np.abs(layer.weight.detach().numpy()).max() <= bound and np.abs(layer.bias.detach().numpy()).max() <= bound
    assert np.abs(layer.weight.detach().numpy()).max() > 0.8 * bound
    up = nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2, bias=False)
    assert up.weight.shape == (4, 3, 3, 3) and up.bias is None
    assert up(dg.zeros(1, 4, 5, 5)).shape == (1, 6, 11, 11)
    assert up(dg.zeros(1, 4, 5, 5), output_size=(12, 12)).shape == (1, 6, 12, 12)
    assert nn.Conv3d(2, 4, 3, padding="same")(dg.zeros(1, 2, 4, 5, 6)).shape == (1, 4, 4, 5, 6)
    assert nn.Conv1d(2, 4, 3, stride=2, padding="same", padding_mode="reflect")(dg.zeros(2, 9)).shape == (4, 5)
    assert "padding_mode='circular'" in repr(nn.Conv2d(1, 2, 3, padding=1, padding_mode="circular"))


def test_conv_layer_trains():
    dg.manual_seed(0)
    layer = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    x = dg.randn(4, 1, 8, 8)
    target = F.correlate2d(x, kernels.sobel_x(), "same")
    for _ in range(300):
        loss = ((layer(x) - target) ** 2).mean()
        layer.weight.grad = None
        loss.backward()
        with dg.no_grad():
            layer.weight -= 0.5 * layer.weight.grad
    np.testing.assert_allclose(layer.weight.detach().numpy()[0, 0], kernels.sobel_x().numpy(), atol=0.05)


# ------------------------------------------------------------------------------------------ random configurations
@settings(max_examples=40, deadline=None)
@given(nd=st.integers(1, 3), n=st.integers(1, 2), groups=st.integers(1, 2), cin_g=st.integers(1, 2),
       cout_g=st.integers(1, 2), data=st.data())
def test_random_configs_match_reference(nd, n, groups, cin_g, cout_g, data):
    k = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    s = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    d = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    p = tuple(data.draw(st.integers(0, 2)) for _ in range(nd))
    size = tuple(data.draw(st.integers(dd * (kk - 1) + 1, 6)) for kk, dd in zip(k, d))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, cin_g * groups) + size)
    w = rng.standard_normal((cout_g * groups, cin_g) + k)
    fn = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    got = fn(t64(x), t64(w), stride=s, padding=p, dilation=d, groups=groups).numpy()
    np.testing.assert_allclose(got, conv_ref(x, w, None, s, [(v, v) for v in p], d, groups), atol=1e-10)
    # the transposed convolution against its own reference
    wt = rng.standard_normal((cin_g * groups, cout_g) + k)
    tfn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
    pt = tuple(min(v, dd * (kk - 1)) // 2 for v, kk, dd in zip(p, k, d))
    got = tfn(t64(x), t64(wt), stride=s, padding=pt, groups=groups, dilation=d).numpy()
    np.testing.assert_allclose(got, conv_transpose_ref(x, wt, None, s, pt, 0, groups, d), atol=1e-10)


# ------------------------------------------------------------------------------------------ blocks and threads
BLOCK_CASES = [  # (input, weight, kwargs): wide stride-1 columns, narrow ones, stride 2, groups, dilation, 1-d, 3-d
    ((5, 3, 9, 8), (4, 3, 3, 3), dict(padding=1)),
    ((5, 2, 9, 9), (3, 2, 5, 5), {}),
    ((5, 3, 9, 8), (4, 3, 3, 2), dict(stride=2, padding=1)),
    ((5, 4, 7, 7), (6, 2, 3, 3), dict(groups=2, padding="same")),
    ((5, 2, 9, 9), (3, 2, 3, 3), dict(dilation=(2, 1), padding=(2, 1))),
    ((5, 3, 11), (4, 3, 3), dict(padding=2)),
    ((5, 2, 4, 5, 4), (3, 2, 2, 3, 2), dict(stride=(1, 2, 1), padding=1)),
]


def _conv_and_grads(xs, ws, kw, seed=0):
    rng = np.random.default_rng(seed)
    x, w, b = t64(rng.standard_normal(xs), True), t64(rng.standard_normal(ws), True), t64(rng.standard_normal(ws[0]), True)
    y = (F.conv1d, F.conv2d, F.conv3d)[len(xs) - 3](x, w, b, **kw)
    g = rng.standard_normal(y.shape)
    y.backward(t64(g))
    return [a.detach().numpy().copy() for a in (y, x.grad, w.grad, b.grad)]


@pytest.mark.parametrize("xs,ws,kw", BLOCK_CASES)
def test_blocks_and_threads_do_not_change_results(monkeypatch, xs, ws, kw):
    """One sample per block on three threads gives what one block of the whole batch gives on one thread; the
    values themselves are checked against the naive reference."""
    from deepgrad import parallel
    from deepgrad.ops import conv, cpu_kernels

    monkeypatch.setattr(cpu_kernels, "CONV_BLOCK_BYTES", 1 << 40)
    monkeypatch.setattr(cpu_kernels, "CONV_BACKWARD_BLOCK_BYTES", 1 << 40)
    monkeypatch.setattr(parallel, "_threads", 1)
    whole = _conv_and_grads(xs, ws, kw)
    monkeypatch.setattr(cpu_kernels, "CONV_BLOCK_BYTES", 1)
    monkeypatch.setattr(cpu_kernels, "CONV_BACKWARD_BLOCK_BYTES", 1)
    monkeypatch.setattr(parallel, "_threads", 3)
    blocks = _conv_and_grads(xs, ws, kw)
    for a, b in zip(whole, blocks):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12)
    rng = np.random.default_rng(0)
    x, w, bias = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    nd = len(xs) - 2
    stride, dil = kw.get("stride", 1), kw.get("dilation", 1)
    pads = conv.resolve_padding(kw.get("padding", 0), xs[2:], ws[2:], conv.ntuple(stride, nd, "s", "t"),
                                conv.ntuple(dil, nd, "d", "t"), "test")
    np.testing.assert_allclose(blocks[0], conv_ref(x, w, bias, stride, pads, dil, kw.get("groups", 1)), atol=1e-10)


def test_thread_count_gives_bit_identical_float32_results(monkeypatch):
    from deepgrad import parallel
    from deepgrad.ops import cpu_kernels

    monkeypatch.setattr(cpu_kernels, "CONV_BLOCK_BYTES", 1 << 12)  # many blocks, handed out in whatever order threads take them
    monkeypatch.setattr(cpu_kernels, "CONV_BACKWARD_BLOCK_BYTES", 1 << 12)
    rng = np.random.default_rng(1)
    x = dg.tensor(rng.standard_normal((16, 3, 12, 12)).astype(np.float32), requires_grad=True)
    w = dg.tensor(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), requires_grad=True)
    runs = []
    for threads in (1, 2, 4):
        monkeypatch.setattr(parallel, "_threads", threads)
        x.grad = w.grad = None
        y = F.conv2d(x, w, padding=1)
        (y * y).sum().backward()
        runs.append([y.detach().numpy().copy(), x.grad.numpy().copy(), w.grad.numpy().copy()])
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert np.array_equal(a, b)


def test_forward_and_backward_hold_at_most_a_block_of_columns(monkeypatch):
    """Columns are built block by block, in the forward and again in the backward: the peak memory of a training
    pass (output, incoming gradient and input gradient, 0.5 MB each, included) stays far below the 5.3 MB column
    buffer that a whole-batch im2col would need."""
    import tracemalloc

    from deepgrad.ops import cpu_kernels

    monkeypatch.setattr(cpu_kernels, "CONV_BLOCK_BYTES", 1 << 18)
    monkeypatch.setattr(cpu_kernels, "CONV_BACKWARD_BLOCK_BYTES", 1 << 18)
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal((64, 8, 16, 16)).astype(np.float32), requires_grad=True)
    w = dg.tensor(rng.standard_normal((8, 8, 3, 3)).astype(np.float32), requires_grad=True)
    full_columns = 8 * 9 * 64 * 16 * 18 * 4
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        y = F.conv2d(x, w, padding=1)
        y.backward(dg.ones_like(y))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert x.grad.shape == x.shape
    assert peak < full_columns / 2, f"peak {peak} bytes vs whole-batch columns {full_columns}"
