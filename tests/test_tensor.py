"""Tensor construction, conversion, dtypes, devices and printing."""
import numpy as np
import pytest

import deepgrad as dg


def test_default_dtypes_follow_pytorch():
    assert dg.tensor([1.0, 2.0]).dtype == dg.float32
    assert dg.tensor([1, 2]).dtype == dg.int64
    assert dg.tensor([True]).dtype == dg.bool_
    assert dg.tensor(np.zeros(2)).dtype == dg.float64  # arrays keep their dtype
    assert (dg.ones(2) * 2).dtype == dg.float32  # Python scalars do not promote
    assert (dg.ones(2, dtype=dg.int64) * 2.5).dtype == dg.float32
    assert (dg.arange(3) / 2).dtype.kind == "f"


def test_constructors():
    assert dg.zeros(2, 3).shape == (2, 3) and dg.ones((2, 3)).numpy().sum() == 6
    assert dg.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert dg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert dg.arange(0, 1, 0.25).dtype == dg.float32
    np.testing.assert_allclose(dg.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    assert dg.eye(3).numpy().trace() == 3
    assert dg.empty(4).shape == (4,)
    r = dg.randint(0, 10, (100,))
    assert r.dtype == dg.int64 and 0 <= r.numpy().min() and r.numpy().max() < 10
    n = dg.normal(2.0, 0.5, size=(20000,))
    assert abs(n.numpy().mean() - 2.0) < 0.02 and abs(n.numpy().std() - 0.5) < 0.02
    x = dg.randn(2, 3)
    assert dg.zeros_like(x).shape == x.shape and dg.ones_like(x).dtype == x.dtype
    assert dg.rand_like(x).numpy().max() < 1 and dg.full_like(x, 3).numpy().min() == 3
    a = np.arange(3.0)
    t = dg.from_numpy(a)
    a[0] = 9
    assert t[0].item() == 9  # shares memory
    assert dg.as_tensor(a) is not None and dg.as_tensor(a)._data is a


def test_manual_seed_reproduces():
    dg.manual_seed(123)
    a = dg.randn(5).numpy()
    dg.manual_seed(123)
    np.testing.assert_array_equal(a, dg.randn(5).numpy())


def test_item_tolist_numpy_and_conversions():
    x = dg.tensor([[1.5, 2.0]])
    assert x[0, 1].item() == 2.0 and x.tolist() == [[1.5, 2.0]]
    assert x.numel() == 2 and x.size() == (1, 2) and x.size(1) == 2 and x.ndim == 2
    assert x.double().dtype == dg.float64 and x.long().dtype == dg.int64 and x.float().dtype == dg.float32
    assert x.to(dg.float16).dtype == dg.float16 and x.cpu().device == "cpu"
    with pytest.raises(ValueError, match="one-element"):
        x.item()
    w = dg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        w.numpy()
    assert w.detach().numpy().sum() == 2 and w.is_leaf and not (w * 2).is_leaf


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating"):
        dg.tensor([1, 2], requires_grad=True)


def test_repr_is_readable():
    assert repr(dg.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(dg.ones(2, requires_grad=True))
    assert "grad_fn=<MulBackward>" in repr(dg.ones(2, requires_grad=True) * 2)
    assert "dtype=float64" in repr(dg.ones(2, dtype=dg.float64))


def test_setitem_and_inplace_bump_version():
    x = dg.zeros(3)
    x[1] = 5.0
    x += 1
    assert x.tolist() == [1.0, 6.0, 1.0] and x._version == 2
    w = dg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        w[0] = 1.0


def test_indexing_and_comparisons():
    x = dg.arange(12).reshape(3, 4)
    assert x[1].tolist() == [4, 5, 6, 7]
    assert x[:, 1:3].shape == (3, 2)
    assert x[x > 8].tolist() == [9, 10, 11]
    assert (x == 3).sum().item() == 1
    assert dg.where(x > 5, x, dg.zeros_like(x)).sum().item() == sum(range(6, 12))
    assert x.max().item() == 11 and x.argmax().item() == 11
    v, i = x.float().max(dim=1)
    assert v.tolist() == [3.0, 7.0, 11.0] and i.tolist() == [3, 3, 3]


def test_cuda_unavailable_is_clear():
    if dg.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        dg.zeros(2, device="cuda")


def test_device_spec_errors():
    with pytest.raises(ValueError, match="unknown device"):
        dg.zeros(2, device="tpu")


def test_one_hot_and_split_stack():
    oh = dg.one_hot(dg.tensor([0, 2, 1]), 3)
    assert oh.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    a, b = dg.arange(6).split(3)
    assert dg.stack([a, b]).shape == (2, 3) and dg.cat([a, b]).tolist() == list(range(6))
    with pytest.raises(ValueError, match="cat: along dim 0"):
        dg.cat([dg.zeros(2, 3), dg.zeros(2, 4)])


def test_cross_device_op_raises_naming_both_devices():
    if not dg.cuda.is_available():
        pytest.skip("CUDA not available (CuPy not installed or no GPU)")
    with pytest.raises(RuntimeError, match="cpu.*cuda:0|cuda:0.*cpu"):
        dg.zeros(2) + dg.zeros(2, device="cuda")


def test_cuda_roundtrip_and_backward(device):
    x = dg.randn(4, 3, device=device, requires_grad=True)
    w = dg.randn(3, 2, device=device, requires_grad=True)
    loss = (x @ w).relu().sum()
    loss.backward()
    assert x.grad.device == device and w.grad.shape == (3, 2)
    ref = (x.detach().cpu().numpy() @ w.detach().cpu().numpy()).clip(0).sum()
    np.testing.assert_allclose(loss.item(), ref, rtol=1e-5)


def test_ragged_list_names_itself_and_the_shape_found():
    with pytest.raises(TypeError, match=r"tensor: .* ragged: at depth 1 the sequences have lengths \[2, 3\] "
                                        r"\(shape found so far \(2,\)\)"):
        dg.tensor([[1, 2], [3, 4, 5]])
    with pytest.raises(TypeError, match=r"at depth 1 some entries are sequences and some are numbers"):
        dg.tensor([[1, 2], 3])


def test_tensor_methods_live_in_the_class():
    for name in ("__add__", "relu", "sum", "add_", "relu_", "__setitem__", "masked_fill_"):
        assert name in vars(dg.Tensor), name
