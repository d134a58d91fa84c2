"""Module mechanics: registration, naming, state_dict (PyTorch's names), hooks, modes, devices, repr."""
from collections import OrderedDict

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU())
        self.head = nn.Linear(8, 3)
        self.register_buffer("scale", dg.ones(1))
        self.register_buffer("cache", dg.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.features(x)) * self.scale


def test_state_dict_names_match_pytorch():
    # the names torch.nn produces for the same architecture
    want = ["scale", "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
            "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked", "head.weight",
            "head.bias"]
    assert list(Net().state_dict()) == want
    assert [n for n, _ in Net().named_parameters()] == [k for k in want if "running" not in k
                                                         and "num_batches" not in k and k != "scale"]
    assert [n for n, _ in Net().named_buffers()] == ["scale", "cache", "features.1.running_mean",
                                                      "features.1.running_var", "features.1.num_batches_tracked"]
    assert [n for n, _ in Net().named_modules()] == ["", "features", "features.0", "features.1", "features.2", "head"]
    assert Net().state_dict()["features.1.num_batches_tracked"].dtype == dg.int64


def test_load_state_dict_roundtrip_in_place():
    a, b = Net(), Net()
    w = b.head.weight
    b.load_state_dict(a.state_dict())
    assert b.head.weight is w  # values copied in place; optimisers holding the Parameter stay valid
    for (k, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(x.numpy(), y.numpy(), err_msg=k)


def test_load_state_dict_reports_all_problems_at_once():
    sd = Net().state_dict()
    del sd["head.bias"]
    sd["extra.weight"] = dg.zeros(1)
    sd["head.weight"] = dg.zeros(5, 8)
    with pytest.raises(RuntimeError) as e:
        Net().load_state_dict(sd)
    msg = str(e.value)
    assert 'Missing key(s) in state_dict: "head.bias"' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight"' in msg
    assert "size mismatch for head.weight: copying a param with shape (5, 8)" in msg
    assert "(3, 8)" in msg


def test_load_state_dict_non_strict():
    sd = Net().state_dict()
    del sd["head.bias"]
    sd["foo"] = dg.zeros(1)
    res = Net().load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["foo"]


def test_parameter_is_tensor_that_requires_grad_and_shares_memory():
    t = dg.zeros(3)
    p = nn.Parameter(t)
    assert isinstance(p, dg.Tensor) and p.requires_grad and p.is_leaf
    assert p._data is t._data
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_shared_parameter_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_attribute_assignment_and_deletion():
    m = nn.Module()
    m.w = nn.Parameter(dg.ones(2))
    m.sub = nn.Linear(2, 2)
    m.plain = 3
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and m.plain == 3
    m.w = None
    assert m.w is None and list(m.parameters()) == list(m.sub.parameters())
    with pytest.raises(TypeError, match="Parameter or None"):
        m.w = dg.ones(2)
    del m.sub
    assert not hasattr(m, "sub") and list(m.children()) == []
    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first"):
        class Bad(nn.Module):
            def __init__(self):
                self.x = nn.Linear(1, 1)
        Bad()


def test_get_submodule_and_parameter():
    n = Net()
    assert n.get_submodule("features.1") is n.features[1]
    assert n.get_parameter("head.weight") is n.head.weight
    with pytest.raises(AttributeError, match="no submodule 'nope'"):
        n.get_submodule("features.nope")


def test_train_eval_and_apply():
    n = Net().eval()
    assert not any(m.training for m in n.modules())
    n.train()
    assert all(m.training for m in n.modules())
    seen = []
    n.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "BatchNorm1d", "ReLU", "Sequential", "Linear", "Net"]


def test_zero_grad_and_requires_grad():
    n = Net()
    n(dg.randn(5, 4)).sum().backward()
    assert all(p.grad is not None for p in n.parameters())
    n.zero_grad(set_to_none=False)
    assert all(float(abs(p.grad).sum()) == 0 for p in n.parameters())
    n.zero_grad()
    assert all(p.grad is None for p in n.parameters())
    n.requires_grad_(False)
    assert not any(p.requires_grad for p in n.parameters())


def test_to_dtype_keeps_parameter_identity():
    n = Net()
    params = list(n.parameters())
    n.to(dg.float64)
    assert [id(p) for p in n.parameters()] == [id(p) for p in params]
    assert all(p.dtype == dg.float64 for p in params)
    assert n.features[1].num_batches_tracked.dtype == dg.int64  # integer buffers keep their dtype
    assert n(dg.randn(2, 4, dtype=dg.float64)).dtype == dg.float64


def test_forward_hooks_and_removal():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(out.shape) or out + 1)
    out = lin(dg.ones(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), np.broadcast_to(lin.bias.detach().numpy() + 1, (3, 2)))
    assert calls == [(3, 2)]
    h1.remove()
    h2.remove()
    assert not lin._forward_pre_hooks and not lin._forward_hooks
    np.testing.assert_allclose(lin(dg.ones(1, 2)).detach().numpy(),
                               dg.nn.functional.linear(dg.ones(1, 2), lin.weight, lin.bias).detach().numpy())


def test_repr_matches_pytorch_form():
    net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.2, inplace=False)\n"
        "  (3): Linear(in_features=256, out_features=10, bias=True)\n"
        ")")
    assert repr(Net()).startswith("Net(\n  (features): Sequential(\n    (0): Linear(in_features=4, out_features=8")
    assert repr(nn.BatchNorm2d(16)) == "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(nn.LayerNorm(8)) == "LayerNorm((8,), eps=1e-05, elementwise_affine=True)"
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
    assert repr(nn.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_sequential_indexing_slicing_append():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"] and sub[0] is b
    s.append(nn.Sigmoid())
    assert len(s) == 4 and s(dg.zeros(5, 2)).shape == (5, 1)
    od = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert list(od.state_dict()) == ["fc.weight", "fc.bias"] and od.fc is a
    with pytest.raises(IndexError):
        s[7]


def test_module_list_dict_parameter_list():
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2)])
    ml.append(nn.Linear(2, 1))
    ml.insert(0, nn.Identity())
    assert len(ml) == 4 and isinstance(ml[0], nn.Identity)
    assert [n for n, _ in ml.named_parameters()][:2] == ["1.weight", "1.bias"]
    md = nn.ModuleDict({"a": nn.Linear(1, 1)})
    md["b"] = nn.ReLU()
    assert list(md) == ["a", "b"] and "a" in md and list(md.state_dict()) == ["a.weight", "a.bias"]
    pl = nn.ParameterList([dg.zeros(2), nn.Parameter(dg.ones(3))])
    assert len(pl) == 2 and all(isinstance(p, nn.Parameter) for p in pl)
    assert list(pl.state_dict()) == ["0", "1"]


def test_call_without_hooks_is_forward():
    lin = nn.Linear(3, 2)
    x = dg.randn(4, 3)
    np.testing.assert_array_equal(lin(x).detach().numpy(), lin.forward(x).detach().numpy())


def test_deepcopy_gives_independent_parameters():
    import copy

    n = Net()
    m = copy.deepcopy(n)
    assert isinstance(m.head.weight, nn.Parameter) and m.head.weight is not n.head.weight
    assert m.head.weight is m._modules["head"]._parameters["weight"]
    assert list(m.state_dict()) == list(n.state_dict())
