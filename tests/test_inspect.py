"""deepgrad.tools visualisation: first-layer filters, feature maps, saliency maps, FGSM adversarial examples."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, tools


def _softmax(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _linear_model(c=2, h=4, w=4, k=3):
    net = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, k))
    return net, net[1].weight.detach().numpy().copy(), net[1].bias.detach().numpy().copy()


def test_first_layer_filters_are_the_first_conv_weights(tmp_path):
    net = dg.models.get_model("lenet5_mnist")
    f = tools.first_layer_filters(net, str(tmp_path / "filters.png"))
    np.testing.assert_array_equal(f, net.c1.weight.detach().numpy()[:, 0])
    assert f.shape == (6, 5, 5) and (tmp_path / "filters.png").stat().st_size > 0
    rgb = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    assert tools.first_layer_filters(rgb).shape == (4, 3, 3, 3)
    mlp = nn.Sequential(nn.Linear(16, 5), nn.ReLU(), nn.Linear(5, 2))
    np.testing.assert_array_equal(tools.first_layer_filters(mlp), mlp[0].weight.detach().numpy().reshape(5, 4, 4))
    with pytest.raises(ValueError, match="no Conv or Linear"):
        tools.first_layer_filters(nn.ReLU())


def test_feature_maps_match_running_the_layers_by_hand(tmp_path):
    net = dg.models.get_model("lenet5_mnist", activation="relu")
    x = np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32)
    with dg.no_grad():
        c1 = net.c1(dg.tensor(x))
        s2 = net.s2(net.act1(c1))
    got = tools.feature_maps(net, x, ["c1", "s2"])
    np.testing.assert_allclose(got["c1"], c1.numpy(), rtol=1e-6)
    np.testing.assert_allclose(got["s2"], s2.numpy(), rtol=1e-6)
    one = tools.feature_maps(net, x[0], "c3", path=str(tmp_path / "c3.png"), max_maps=4)
    assert one.shape == (1, 16, 10, 10) and (tmp_path / "c3.png").exists()
    with pytest.raises(ValueError, match="one layer"):
        tools.feature_maps(net, x, ["c1", "c3"], path=str(tmp_path / "x.png"))


def test_feature_maps_of_a_layer_not_called():
    class Skip(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(2, 2), nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match="not called"):
        tools.feature_maps(Skip(), np.zeros((1, 2), np.float32), "unused")


def test_saliency_of_a_linear_model_is_its_weight_magnitude(tmp_path):
    net, W, b = _linear_model()
    x = np.random.default_rng(1).random((3, 2, 4, 4)).astype(np.float32)
    sal = tools.saliency(net, x, target=[2, 0, 1], path=str(tmp_path / "sal.png"))
    # s_c = W_c·x + b_c, so ∂s_c/∂x = W_c and the map is max over channels of |W_c|
    want = np.abs(W[[2, 0, 1]].reshape(3, 2, 4, 4)).max(1)
    np.testing.assert_allclose(sal, want, rtol=1e-6)
    assert (tmp_path / "sal.png").exists()
    pred = (x.reshape(3, -1) @ W.T + b).argmax(1)  # default target: the predicted class
    np.testing.assert_allclose(tools.saliency(net, x), np.abs(W[pred].reshape(3, 2, 4, 4)).max(1), rtol=1e-6)
    assert net[1].weight.grad is None


def test_fgsm_steps_along_the_sign_of_the_loss_gradient():
    net, W, b = _linear_model()
    net.train()
    rng = np.random.default_rng(2)
    x = rng.uniform(0.2, 0.8, (5, 2, 4, 4)).astype(np.float32)
    y = rng.integers(0, 3, 5)
    adv = tools.fgsm(net, x, y, 0.1)
    # ∂L/∂x for mean cross-entropy of a linear model: Wᵀ(softmax(Wx + b) − onehot(y)) / N
    p = _softmax(x.reshape(5, -1) @ W.T + b)
    g = (p - np.eye(3)[y]) @ W / 5
    np.testing.assert_allclose(adv.numpy(), np.clip(x + 0.1 * np.sign(g).reshape(x.shape), 0, 1), atol=1e-6)
    assert not adv.requires_grad and net.training and net[1].weight.grad is None

    def loss(a):
        return float(dg.nn.functional.cross_entropy(net(dg.tensor(a)), dg.tensor(y)).item())

    assert loss(adv.numpy()) > loss(x)
    target = (y + 1) % 3
    toward = tools.fgsm(net, x, target, 0.1, targeted=True).numpy()
    assert (float(dg.nn.functional.cross_entropy(net(dg.tensor(toward)), dg.tensor(target)).item())
            < float(dg.nn.functional.cross_entropy(net(dg.tensor(x)), dg.tensor(target)).item()))
    np.testing.assert_array_equal(tools.fgsm(net, x, y, 0.0).numpy(), x)
    big = tools.fgsm(net, x, y, 5.0, clip=None).numpy()
    np.testing.assert_allclose(np.abs(big - x), 5.0, rtol=1e-6)
    with pytest.raises(ValueError, match="eps"):
        tools.fgsm(net, x, y, -0.1)


def test_adversarial_accuracy_falls_with_epsilon():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    X = np.clip(0.5 + (2 * y[:, None] - 1) * 0.15 + 0.05 * rng.standard_normal((200, 8)), 0, 1).astype(np.float32)
    net = nn.Linear(8, 2)
    opt = dg.optim.SGD(net.parameters(), lr=1.0)
    for _ in range(100):
        opt.zero_grad()
        dg.nn.functional.cross_entropy(net(dg.tensor(X)), dg.tensor(y)).backward()
        opt.step()
    accs = tools.adversarial_accuracy(net, X, y, [0.0, 0.05, 0.3], batch_size=64)
    with dg.no_grad():
        clean = float((net(dg.tensor(X)).argmax(1).numpy() == y).mean())
    assert accs[0] == clean > 0.95
    assert accs[0] >= accs[1] > accs[2] and accs[2] < 0.1
