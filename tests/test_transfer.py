"""deepgrad.tools transfer learning (freeze/unfreeze, replace_head, param_groups, extract_features) and the
knowledge-distillation loss (its values and gradcheck are in tests/registry/tools.py)."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, tools


def _lenet():
    return dg.models.get_model("lenet5_mnist", activation="relu")


def test_freeze_by_prefix_depth_and_all():
    net = _lenet()
    total = sum(p.numel() for p in net.parameters())
    assert tools.count_trainable(net) == total == 61706
    assert tools.freeze(net, "c1") == ["c1.weight", "c1.bias"]
    assert tools.count_trainable(net) == total - 156
    assert tools.freeze(net, ["c3", "output.bias"]) == ["c3.weight", "c3.bias", "output.bias"]
    assert not net.output.bias.requires_grad and net.output.weight.requires_grad
    tools.unfreeze(net)
    assert tools.count_trainable(net) == total
    # depth counts children, parameter-free ones included: c1, act1, s2, c3
    assert tools.freeze(net, depth=4) == ["c1.weight", "c1.bias", "c3.weight", "c3.bias"]
    assert tools.unfreeze(net, depth=1) == ["c1.weight", "c1.bias"]
    assert tools.count_trainable(net) == total - 2416
    assert len(tools.freeze(net)) == 10 and tools.count_trainable(net) == 0
    assert tools.freeze(net, depth=0) == []


def test_freeze_prefixes_match_whole_components_and_errors():
    net = nn.Sequential(*[nn.Linear(2, 2) for _ in range(12)])
    assert tools.freeze(net, "1") == ["1.weight", "1.bias"]  # not 10 and 11
    with pytest.raises(ValueError, match="no parameter of Sequential is named 'features'"):
        tools.freeze(net, "features")
    with pytest.raises(ValueError, match="not both"):
        tools.freeze(net, "1", depth=2)
    with pytest.raises(ValueError, match=r"depth must be an int in \[0, 12\]"):
        tools.unfreeze(net, depth=13)


def test_frozen_layers_do_not_change_in_training():
    net = _lenet()
    tools.freeze(net, depth=9)  # the convolutional feature extractor
    before = {n: p.detach().numpy().copy() for n, p in net.named_parameters()}
    opt = dg.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    x, y = dg.randn(4, 1, 28, 28), dg.tensor([0, 1, 2, 3])
    dg.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
    for n, p in net.named_parameters():
        same = np.array_equal(before[n], p.detach().numpy())
        assert same == n.startswith(("c1", "c3", "c5")), n
        assert (p.grad is None) == n.startswith(("c1", "c3", "c5")), n


def test_replace_head_keeps_the_layer_in_place():
    net = _lenet()
    new = tools.replace_head(net, 5)
    assert net.output is new and (new.in_features, new.out_features) == (84, 5)
    assert list(net._modules)[-1] == "output" and net.num_classes == 5
    assert net(dg.zeros(2, 1, 28, 28)).shape == (2, 5)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten())
            self.classifier = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4), nn.Softmax(1))

        def forward(self, x):
            return self.classifier(self.features(x))

    m = Classifier()
    assert tools.find_head(m)[0] == "classifier.2"
    tools.replace_head(m, 7)
    assert [type(c).__name__ for c in m.classifier] == ["Linear", "ReLU", "Linear", "Softmax"]
    assert m(dg.zeros(1, 1, 4, 4)).shape == (1, 7)
    tools.replace_head(m, 3, name="classifier.0", bias=False)
    assert m.classifier[0].out_features == 3 and m.classifier[0].bias is None
    with pytest.raises(ValueError, match="no in_features"):
        tools.replace_head(m, 3, name="features.0")
    with pytest.raises(ValueError, match="no Linear"):
        tools.replace_head(nn.Conv2d(1, 1, 1), 2)
    with pytest.raises(ValueError, match="num_classes"):
        tools.replace_head(m, 0)


def test_param_groups_lower_the_learning_rate_of_pretrained_layers():
    net = _lenet()
    tools.freeze(net, "c1")
    groups = tools.param_groups(net, 0.1, lr_mult=0.01)
    assert [g["name"] for g in groups] == ["pretrained", "head"]
    assert groups[0]["lr"] == pytest.approx(0.001) and groups[1]["lr"] == 0.1
    assert [id(p) for p in groups[1]["params"]] == [id(net.output.weight), id(net.output.bias)]
    assert all(p is not net.c1.weight for p in groups[0]["params"]) and len(groups[0]["params"]) == 6
    custom = tools.param_groups(net, 0.1, head=["f6", "output"], head_lr=0.5)
    assert len(custom[1]["params"]) == 4 and custom[1]["lr"] == 0.5
    opt = dg.optim.SGD(groups, lr=0.1)
    before = net.c3.weight.detach().numpy().copy(), net.output.weight.detach().numpy().copy()
    dg.nn.functional.cross_entropy(net(dg.randn(4, 1, 28, 28)), dg.tensor([0, 1, 2, 3])).backward()
    g3, go = net.c3.weight.grad.numpy().copy(), net.output.weight.grad.numpy().copy()
    opt.step()
    np.testing.assert_allclose(net.c3.weight.detach().numpy(), before[0] - 0.001 * g3, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(net.output.weight.detach().numpy(), before[1] - 0.1 * go, rtol=1e-5, atol=1e-7)
    tools.freeze(net)
    assert tools.param_groups(net, 0.1) == []


def test_extract_features_equals_the_sub_network():
    net = _lenet()
    net.train()
    X = np.random.default_rng(0).random((10, 1, 28, 28)).astype(np.float32)
    y = np.arange(10)
    loader = dg.data.DataLoader(dg.data.ArrayDataset(X, y), batch_size=4)
    feats, labels = tools.extract_features(net, loader, "f6")
    with dg.no_grad():
        want = net[:10](dg.tensor(X)).numpy()
    np.testing.assert_allclose(feats, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, y)
    maps, none = tools.extract_features(net, X, "s4", batch_size=3, flatten=False)
    assert maps.shape == (10, 16, 5, 5) and none is None
    logits, _ = tools.extract_features(net, dg.tensor(X))
    assert logits.shape == (10, 10) and net.training and net.c1.weight.grad is None
    with pytest.raises(ValueError, match="not called"):
        tools.extract_features(_Unused(), np.zeros((1, 2), np.float32), "spare")


class _Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used, self.spare = nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x):
        return self.used(x)


def test_distillation_gradient_is_t_times_the_softened_probability_gap():
    rng = np.random.default_rng(0)
    s = dg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    t = dg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    T = 3.0

    def soft(a):
        e = np.exp(a / T - (a / T).max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    tools.distillation_loss(s, t, None, T=T, alpha=1.0).backward()
    # ∂/∂s of T²·KL(p_t ‖ p_s)/N = T·(p_s − p_t)/N: the T² factor keeps the soft gradient's scale as T changes
    np.testing.assert_allclose(s.grad.numpy(), T * (soft(s.detach().numpy()) - soft(t.detach().numpy())) / 4,
                               rtol=1e-6)
    assert t.grad is None  # the teacher is a constant
    same = tools.distillation_loss(t.detach(), t.detach(), dg.tensor([0, 1, 2, 3]), alpha=1.0)
    assert abs(same.item()) < 1e-9


def test_distillation_loss_errors():
    s, t, y = dg.zeros(2, 3), dg.zeros(2, 3), dg.tensor([0, 1])
    with pytest.raises(ValueError, match="same shape"):
        tools.distillation_loss(s, dg.zeros(2, 4), y)
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        tools.distillation_loss(dg.zeros(3), dg.zeros(3), y)
    with pytest.raises(ValueError, match="temperature"):
        tools.distillation_loss(s, t, y, T=0.0)
    with pytest.raises(ValueError, match="alpha"):
        tools.distillation_loss(s, t, y, alpha=1.5)
    with pytest.raises(ValueError, match="target is needed"):
        tools.distillation_loss(s, t, None, alpha=0.5)
