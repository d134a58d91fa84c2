"""K-FAC: the factors against hand-computed activation/gradient covariances, the preconditioned step against the
explicit (A ⊗ G + λI)⁻¹ solve, im2col patches against a loop, training, errors, and the kfac demo."""
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.demos import run_demo
from deepgrad.nn import functional as F
from deepgrad.optim.kfac import KFAC, _patches
from deepgrad.viz import plots


def test_linear_factors_and_step_are_the_kronecker_solve():
    dg.manual_seed(0)
    lin = dg.nn.Linear(3, 2).double()
    opt = KFAC(lin, lr=0.1, momentum=0.0, damping=0.1, kl_clip=None)
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    w0 = np.concatenate([lin.weight.detach().numpy(), lin.bias.detach().numpy()[:, None]], 1)
    out = lin(dg.tensor(x))
    F.mse_loss(out, dg.tensor(t), reduction="mean").backward()
    grad = np.concatenate([lin.weight.grad.numpy(), lin.bias.grad.numpy()[:, None]], 1)
    opt.step()
    st = opt._stats[lin]
    a = np.concatenate([x, np.ones((5, 1))], 1)
    g = 5 * 2 * (out.detach().numpy() - t) / 10          # N · ∂(mean loss)/∂s
    np.testing.assert_allclose(st["A"], a.T @ a / 5, rtol=1e-12)
    np.testing.assert_allclose(st["G"], g.T @ g / 5, rtol=1e-12)
    # (A ⊗ G + λI) vec(V) = vec(∇), vec stacking columns
    v = np.linalg.solve(np.kron(st["A"], st["G"]) + 0.1 * np.eye(8), grad.reshape(-1, order="F")).reshape(2, 4,
                                                                                                           order="F")
    w1 = np.concatenate([lin.weight.detach().numpy(), lin.bias.detach().numpy()[:, None]], 1)
    np.testing.assert_allclose(w1, w0 - 0.1 * v, rtol=1e-9, atol=1e-12)


def test_conv_patches_match_a_loop():
    conv = dg.nn.Conv2d(2, 3, 3, stride=2, padding=1, dilation=1)
    x = np.random.default_rng(0).normal(size=(2, 2, 7, 6))
    p = _patches(x, conv)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    rows = [xp[n, :, i:i + 3, j:j + 3].reshape(-1) for n in range(2) for i in range(0, 7, 2) for j in range(0, 6, 2)]
    np.testing.assert_allclose(p, np.array(rows))
    # the patches times the flattened weight give the convolution
    out = conv(dg.tensor(x.astype(np.float32))).detach().numpy()
    w = conv.weight.detach().numpy().reshape(3, -1)
    np.testing.assert_allclose((p @ w.T + conv.bias.detach().numpy()).reshape(2, 4, 3, 3).transpose(0, 3, 1, 2), out,
                               atol=1e-5)
    dil = dg.nn.Conv2d(1, 1, 2, dilation=2)
    xd = np.arange(25.0).reshape(1, 1, 5, 5)
    np.testing.assert_allclose(_patches(xd, dil)[0], [0, 2, 10, 12])


def test_kfac_trains_a_cnn_faster_per_step_than_sgd():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].sum((1, 2)) > x[:, 0, 4:].sum((1, 2))).astype(np.int64)

    def run(make):
        dg.manual_seed(0)
        net = dg.nn.Sequential(dg.nn.Conv2d(1, 4, 3), dg.nn.ReLU(), dg.nn.Flatten(), dg.nn.Linear(4 * 36, 2))
        opt = make(net)
        for _ in range(25):
            loss = F.cross_entropy(net(dg.tensor(x)), dg.tensor(y))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return loss.item()

    kfac = run(lambda n: KFAC(n, lr=0.05, damping=0.03, factor_update_freq=1, inv_update_freq=5))
    sgd = run(lambda n: dg.optim.SGD(n.parameters(), lr=0.05, momentum=0.9))
    assert kfac < 0.5 * sgd


def test_kfac_errors():
    with pytest.raises(ValueError, match="no Linear or Conv2d"):
        KFAC(dg.nn.Sequential(dg.nn.ReLU(), dg.nn.PReLU()))
    with pytest.raises(TypeError, match="expects the model"):
        KFAC([dg.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="damping"):
        KFAC(dg.nn.Linear(2, 2), damping=0)
    lin = dg.nn.Linear(2, 2)
    opt = KFAC(lin, factor_update_freq=3)
    with dg.no_grad():
        out = lin(dg.ones(1, 2))
    lin.weight.grad = dg.ones(2, 2)
    with pytest.raises(RuntimeError, match="no activation statistics yet"):
        opt.step()
    assert out.shape == (1, 2)
    opt.remove_hooks()


def test_kfac_demo(tmp_path):
    r = run_demo("kfac", out=str(tmp_path), fast=True)
    for kind in ("mlp", "cnn"):
        k = r[kind]["KFAC"]["losses"]
        assert np.mean(k[-10:]) < np.mean(k[:10]) and r[kind]["KFAC"]["test_accuracy"] > 0.7
        assert np.mean(k[-10:]) < np.mean(r[kind]["SGD"]["losses"][-10:])
    if plots.available():
        assert os.path.getsize(tmp_path / "kfac" / "kfac.png") > 1000
