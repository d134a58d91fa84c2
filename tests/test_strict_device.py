"""The strict test device (deepgrad.testing.strict) and the CUDA code paths it exercises without a GPU.

The first group checks that the stand-in is as strict as CuPy where porting mistakes hide; the second runs the
framework's device paths (optimisers, the model zoo, training, checkpoints, gradcheck) on every device of the
``device`` fixture: the CPU, a real GPU when present, and the strict device.
"""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import backend, nn
from deepgrad.testing import StrictArray, StrictDeviceError, strict_device
from deepgrad.testing.strict import xp


# ------------------------------------------------------------------------------------ the stand-in itself
def test_numpy_conversion_is_refused_like_cupy():
    a = xp.arange(6.0).reshape(2, 3)
    assert isinstance(a, StrictArray) and not isinstance(a, np.ndarray)
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array"):
        np.asarray(a)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array([a[0, 0], a[0, 1]])
    np.testing.assert_array_equal(a.get(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(xp.asnumpy(a), a.get())


def test_host_arrays_do_not_mix_with_device_arrays():
    a, h = xp.ones(3), np.ones(3)
    for f in (lambda: a + h, lambda: h * a, lambda: xp.concatenate([a, h]), lambda: xp.where(a > 0, h, a),
              lambda: np.add(a, h)):
        with pytest.raises(StrictDeviceError, match="numpy.ndarray met an array on the strict test device"):
            f()
    a += 1  # scalars and NumPy scalars are fine, as in CuPy
    b = a * np.float32(2)
    np.testing.assert_array_equal(b.get(), [4.0, 4.0, 4.0])
    assert xp.asarray(h).shape == (3,)  # the explicit host -> device copy
    assert a[np.array([0, 2])].shape == (2,)  # NumPy index arrays are accepted, as CuPy converts them


def test_numpy_functions_dispatch_to_the_device():
    a = xp.arange(4.0)
    r = np.concatenate([a, a])
    assert isinstance(r, StrictArray) and r.shape == (8,)
    assert isinstance(np.exp(a), StrictArray)
    assert isinstance(np.sum(a), StrictArray)


def test_scalars_come_back_as_zero_d_arrays():
    a = xp.arange(4.0)
    for r in (a[1], a.sum(), xp.max(a), a.mean()):
        assert isinstance(r, StrictArray) and r.shape == ()
    assert float(a[1]) == 1.0 and a[1].item() == 1.0
    with pytest.raises(TypeError):
        range(xp.asarray(3))  # no __index__: an implicit device -> host transfer, refused as by CuPy


def test_what_cupy_lacks_is_missing():
    for name in ("errstate", "insert", "geomspace", "nanquantile"):
        with pytest.raises(AttributeError, match=name):
            getattr(xp, name)
    with pytest.raises(AttributeError, match="ElementwiseKernel"):
        xp.ElementwiseKernel  # noqa: B018 - real kernels are not emulated
    with pytest.raises(AttributeError, match="multi_dot"):
        xp.linalg.multi_dot  # noqa: B018
    a = xp.zeros(4)
    with pytest.raises(AttributeError, match="writeable"):
        a.flags.writeable  # noqa: B018
    with pytest.raises(TypeError):
        xp.lib.stride_tricks.as_strided(a, shape=(2,), strides=(8,), writeable=False)
    with pytest.raises(AttributeError, match="resize"):
        a.resize(8)


def test_ufunc_at_only_for_scatter_ufuncs():
    a = xp.zeros(3)
    np.add.at(a, np.array([0, 0, 2]), 1.0)
    xp.maximum.at(a, np.array([1]), 5.0)
    np.testing.assert_array_equal(a.get(), [2.0, 5.0, 1.0])
    with pytest.raises(StrictDeviceError, match="ufunc.at only for"):
        np.multiply.at(a, np.array([0]), 2.0)


def test_random_generator_has_cupys_methods_only():
    g = xp.random.Generator(xp.random.XORWOW(0))
    assert isinstance(g.standard_normal((2, 2), dtype=np.float32), StrictArray)
    assert g.uniform(0, 1, size=3, dtype=np.float32).dtype == np.float32
    for name in ("normal", "choice", "permutation", "shuffle"):
        with pytest.raises(AttributeError, match=name):
            getattr(g, name)


def test_streams_hold_pending_work_until_synchronised():
    from deepgrad.testing.strict import enqueue

    class Pending:  # completes when waited for, as a collective queued on a GPU stream
        def __init__(self):
            self.done = False

        def test(self):
            return self.done

        def wait(self):
            self.done = True

    a = xp.arange(4.0)
    assert a.data.ptr == a.__cuda_array_interface__["data"][0] and a[1:].data.ptr == a.data.ptr + 8
    side, current = xp.cuda.Stream(non_blocking=True), xp.cuda.get_current_stream()
    assert current is xp.cuda.Stream.null and side.ptr != 0
    first, second = Pending(), Pending()
    enqueue(side.ptr, first)
    ev = side.record()
    enqueue(side.ptr, second)
    assert not ev.done and not side.done
    current.wait_event(ev)  # later host-side kernels must see the event's work finished
    assert first.done and not second.done and ev.done
    side.synchronize()
    assert second.done and side.done
    third = Pending()
    enqueue(side.ptr, third)
    xp.cuda.Device().synchronize()
    assert third.done
    with side:
        assert xp.cuda.get_current_stream() is side
    assert xp.cuda.get_current_stream() is current
    with pytest.raises(StrictDeviceError, match="no stream has the handle 123456"):
        enqueue(123456, Pending())


def test_strict_device_reports_cuda_and_restores_the_backend():
    before = backend.cuda_available()
    with strict_device():
        t = dg.zeros(2, device="cuda")
        assert t.is_cuda and t.device == dg.device("cuda:0") and dg.cuda.is_available()
        assert hasattr(t._data, "__cuda_array_interface__")
        with pytest.raises(RuntimeError, match="only 1 CUDA device"):
            dg.zeros(2, device="cuda:1")
        with pytest.raises(dg.ops._util.DeviceError, match="different devices"):
            t + dg.zeros(2)
    assert backend.cuda_available() == before


# ------------------------------------------------------------------------ device paths, on every device
def _cpu(t):
    return t.detach().cpu().numpy()


def test_gradcheck_runs_on_any_device(device):
    x = dg.randn(3, 4, dtype=dg.float64, device=device, requires_grad=True)
    w = dg.randn(4, 2, dtype=dg.float64, device=device, requires_grad=True)
    assert dg.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert dg.autograd.gradgradcheck(lambda a, b: (a @ b).tanh(), (x, w))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Rprop"])
def test_optimisers_step_the_same_on_every_device(device, name):
    def run(dev):
        dg.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(dev)
        kwargs = {"lr": 0.05}
        if name == "SGD":
            kwargs.update(momentum=0.9, nesterov=True, weight_decay=1e-3)
        opt = getattr(dg.optim, name)(model.parameters(), **kwargs)
        x = dg.tensor(np.linspace(-1, 1, 20 * 5).reshape(20, 5).astype(np.float32), device=dev)
        y = dg.tensor(np.arange(20) % 3, device=dev)
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        return [_cpu(p) for p in model.parameters()]

    for a, b in zip(run("cpu"), run(device)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,shape", [("lenet5", (2, 1, 32, 32)), ("mnist-cnn", (2, 1, 28, 28)),
                                        ("cifar_resnet20", (2, 3, 32, 32)), ("unet", (1, 1, 32, 32)),
                                        ("lstm_rows", (2, 1, 28, 28)), ("mlp", (2, 784))])
def test_model_zoo_forward_backward_on_every_device(device, name, shape):
    from deepgrad.models.registry import get_model

    kwargs = {"num_classes": 10} if name != "unet" else {}
    if name in ("lenet5", "mnist-cnn", "unet", "lstm_rows"):
        kwargs["in_channels"] = 1
    dg.manual_seed(0)
    try:
        cpu_model = get_model(name, **kwargs)
    except TypeError:
        kwargs.pop("in_channels", None)
        cpu_model = get_model(name, **kwargs)
    dg.manual_seed(0)
    dev_model = get_model(name, **kwargs).to(device)
    dev_model.load_state_dict(cpu_model.state_dict())
    cpu_model.train(False)
    dev_model.train(False)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out_c, out_d = cpu_model(dg.tensor(x)), dev_model(dg.tensor(x, device=device))
    assert out_d.device.type == dg.device(device).type
    np.testing.assert_allclose(_cpu(out_d), _cpu(out_c), rtol=1e-4, atol=1e-5)
    out_c.square().mean().backward()
    out_d.square().mean().backward()
    for (n, pc), pd in zip(cpu_model.named_parameters(), dev_model.parameters()):
        if pc.grad is not None:
            np.testing.assert_allclose(_cpu(pd.grad), _cpu(pc.grad), rtol=1e-3, atol=1e-5, err_msg=n)


def test_trainer_fits_on_every_device(device):
    from deepgrad.data import DataLoader, TensorDataset

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    trainer = dg.train.Trainer(model, nn.CrossEntropyLoss(), dg.optim.Adam(model.parameters(), lr=0.05),
                               device=device, progress=False)
    history = trainer.fit(loader, epochs=5)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert next(model.parameters()).device.type == dg.device(device).type


def test_checkpoints_round_trip_from_every_device(device, tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(device)
    dg.save(model.state_dict(), tmp_path / "m.safetensors")
    back = dg.load(tmp_path / "m.safetensors", map_location=device)
    for k, v in model.state_dict().items():
        assert back[k].device.type == dg.device(device).type
        np.testing.assert_array_equal(_cpu(back[k]), _cpu(v))


@pytest.mark.parametrize("op", ["index_select", "index_add", "gather", "take_along_dim", "scatter_add"])
def test_host_index_arrays_meet_device_tensors(device, op):
    # a list or NumPy index with a device tensor: moved to the device (CuPy takes no host index arrays)
    x = dg.arange(12.0, device=device).reshape(3, 4)
    idx = np.array([[0, 2, 1, 0]] * 3) if op in ("gather", "take_along_dim", "scatter_add") else [2, 0]
    if op == "index_select":
        out = dg.index_select(x, 0, idx)
    elif op == "index_add":
        out = dg.index_add(x, 0, idx, dg.ones(2, 4, device=device))
    elif op == "gather":
        out = dg.gather(x, 1, idx)
    elif op == "take_along_dim":
        out = dg.take_along_dim(x, idx, 1)
    else:
        out = dg.scatter_add(x, 1, idx, dg.ones(3, 4, device=device))
    ref = {"index_select": lambda a: a[[2, 0]], "gather": lambda a: np.take_along_axis(a, idx, 1),
           "take_along_dim": lambda a: np.take_along_axis(a, idx, 1)}
    assert out.device.type == dg.device(device).type
    if op in ref:
        np.testing.assert_array_equal(_cpu(out), ref[op](np.arange(12.0).reshape(3, 4)))
