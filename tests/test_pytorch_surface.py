"""The small pieces of PyTorch's surface that ported programs use: legacy tensor types, Tensor(*shape), type(),
t(), where with scalars, empty(size=...), accelerator, backends.cudnn flags, DataParallel on one device."""
import numpy as np
import pytest

import deepgrad as dg


def test_legacy_tensor_types_construct_and_check_instances():
    assert dg.FloatTensor(2, 3).shape == (2, 3) and dg.FloatTensor(2, 3).dtype == np.float32
    assert dg.FloatTensor((2, 3)).tolist() == [2.0, 3.0]  # a sequence is data, as in PyTorch
    assert dg.LongTensor([1, 2]).dtype == np.int64 and dg.LongTensor([1, 2]).tolist() == [1, 2]
    assert dg.DoubleTensor([1.5]).dtype == np.float64 and dg.IntTensor([3]).dtype == np.int32
    assert dg.BoolTensor([True, False]).dtype == np.bool_
    assert isinstance(dg.zeros(2), dg.FloatTensor) and not isinstance(dg.zeros(2), dg.LongTensor)
    assert isinstance(dg.tensor([1]), dg.LongTensor) and isinstance(dg.zeros(1, dtype=dg.float64), dg.DoubleTensor)
    assert not isinstance(np.zeros(2, dtype=np.float32), dg.FloatTensor)
    with pytest.raises(TypeError, match="FloatTensor"):
        dg.FloatTensor(2, -1)


def test_cuda_legacy_types_allocate_on_the_cuda_device():
    from deepgrad.testing import strict_device

    names = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
             "ByteTensor", "BoolTensor"]
    torch = pytest.importorskip("torch")
    assert sorted(n for n in dir(torch.cuda) if n.endswith("Tensor") and n != "BFloat16Tensor") == sorted(names)
    for name in names:
        cuda_type, cpu_type = getattr(dg.cuda, name), getattr(dg, name)
        assert cuda_type.dtype == cpu_type.dtype and repr(cuda_type) == f"<class 'deepgrad.cuda.{name}'>"
    if not dg.cuda.is_available():
        with pytest.raises(RuntimeError) as legacy:
            dg.cuda.FloatTensor(2, 3)
        with pytest.raises(RuntimeError) as plain:
            dg.zeros(2, 3, device="cuda")
        assert str(legacy.value) == str(plain.value) and "CUDA is not available" in str(legacy.value)
    with strict_device():
        z = dg.cuda.FloatTensor(2, 3)
        assert z.is_cuda and z.shape == (2, 3) and z.dtype == np.float32 and z.cpu().tolist() == [[0.0] * 3] * 2
        v = dg.cuda.LongTensor([4, 5])
        assert v.is_cuda and v.dtype == np.int64 and v.cpu().tolist() == [4, 5] and v.type() == "deepgrad.cuda.LongTensor"
        assert isinstance(v, dg.cuda.LongTensor) and not isinstance(v, dg.LongTensor)
        assert not isinstance(dg.tensor([1]), dg.cuda.LongTensor)
        assert dg.cuda.DoubleTensor([[1.5]]).device == dg.device("cuda:0")
        assert dg.zeros(2).type(dg.cuda.DoubleTensor).is_cuda and dg.zeros(2).type("torch.cuda.IntTensor").is_cuda
        assert dg.cuda.BoolTensor(1).dtype == np.bool_ and dg.cuda.ByteTensor(2).dtype == np.uint8
        with pytest.raises(RuntimeError, match="legacy constructor expects device type cpu, got device cuda:0"):
            dg.FloatTensor(2, device="cuda")
        with pytest.raises(TypeError, match="FloatTensor"):
            dg.cuda.FloatTensor(2, -1)
    with pytest.raises(RuntimeError, match="legacy constructor expects device type cuda, got device cpu"):
        dg.cuda.FloatTensor(2, device="cpu")


def test_tensor_constructor_like_pytorch():
    assert dg.Tensor(2, 3).shape == (2, 3) and dg.Tensor(2, 3).dtype == np.float32
    assert dg.Tensor([1, 2]).dtype == np.float32 and dg.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert dg.Tensor().shape == (0,)
    assert dg.Tensor(np.array([1, 2], dtype=np.int32)).dtype == np.float32
    assert dg.empty(size=(2, 3)).shape == (2, 3) and dg.zeros(size=(4,)).shape == (4,)
    assert dg.ones(size=[2]).tolist() == [1.0, 1.0]


def test_type_names_and_casts():
    x = dg.zeros(2)
    assert x.type() == "deepgrad.FloatTensor" and dg.tensor([1]).type() == "deepgrad.LongTensor"
    assert x.type(dg.float64).dtype == np.float64
    assert x.type("torch.DoubleTensor").dtype == np.float64 and x.type("deepgrad.LongTensor").dtype == np.int64
    assert x.type(dg.IntTensor).dtype == np.int32
    assert x.is_cuda is False and x.is_xpu is False and x.is_sparse is False
    with pytest.raises(ValueError, match="unknown tensor type"):
        x.type("torch.QuantumTensor")


def test_t_transposes_matrices_only():
    a = dg.arange(6.0).reshape(2, 3)
    assert a.t().shape == (3, 2) and a.t().tolist() == a.numpy().T.tolist()
    assert dg.ones(3).t().shape == (3,) and dg.t(a).shape == (3, 2)
    with pytest.raises(ValueError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
        dg.ones(2, 2, 2).t()


def test_where_with_two_scalars():
    c = dg.tensor([True, False, True])
    w = dg.where(c, 1.0, 0.0)
    assert w.dtype == np.float32 and w.tolist() == [1.0, 0.0, 1.0]
    assert dg.where(c, 2, 0).dtype == np.int64 and dg.where(c, 2, 0.5).tolist() == [2.0, 0.5, 2.0]


def test_accelerator_agrees_with_cuda():
    from deepgrad.testing import strict_device

    assert dg.accelerator.is_available() == dg.cuda.is_available()
    if not dg.cuda.is_available():
        assert dg.accelerator.current_accelerator() is None and dg.accelerator.device_count() == 0
    device = dg.accelerator.current_accelerator().type if dg.accelerator.is_available() else "cpu"
    assert dg.ones(1, device=device).device.type == device
    with strict_device():
        acc = dg.accelerator.current_accelerator()
        assert dg.accelerator.is_available() and acc.type == "cuda" and dg.accelerator.device_count() == 1
        assert dg.ones(1, device=acc).device.type == "cuda"
        with pytest.raises(ValueError, match="device 3 does not exist"):
            dg.accelerator.set_device_index(3)


def test_cudnn_flags_are_accepted_and_read_back():
    cudnn = dg.backends.cudnn
    saved = cudnn.benchmark, cudnn.deterministic
    try:
        cudnn.benchmark, cudnn.deterministic = True, True
        assert dg.backends.cudnn.benchmark and dg.backends.cudnn.deterministic and cudnn.enabled
    finally:
        cudnn.benchmark, cudnn.deterministic = saved
    assert cudnn.is_available() is False and cudnn.version() is None


def test_data_parallel_runs_on_one_device():
    net = dg.nn.Linear(3, 2)
    dp = dg.nn.DataParallel(net)
    x = dg.randn(4, 3)
    np.testing.assert_array_equal(dp(x).detach().numpy(), net(x).detach().numpy())
    assert list(dp.state_dict()) == ["module.weight", "module.bias"] and dp.module is net
    np.testing.assert_array_equal(dg.nn.parallel.data_parallel(net, x).detach().numpy(), net(x).detach().numpy())
    with pytest.raises(NotImplementedError, match="asks for 2 devices"):
        dg.nn.DataParallel(net, device_ids=[0, 1])
    dp(x).sum().backward()
    assert net.weight.grad is not None


def test_data_parallel_moves_inputs_and_checks_the_module_device():
    from deepgrad.testing import strict_device

    with strict_device():
        net = dg.nn.Linear(3, 2)
        with pytest.raises(RuntimeError, match="must have its parameters and buffers on cuda:0"):
            dg.nn.DataParallel(net, device_ids=[0])(dg.ones(1, 3))
        net.to("cuda")
        out = dg.nn.DataParallel(net, device_ids=[0], output_device="cpu")(dg.ones(2, 3))
        assert out.device.type == "cpu"
