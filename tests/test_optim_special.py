"""The optimisers from the lectures that no major framework ships (Barzilai-Borwein, implicit SGD), L-BFGS details
and weight averaging."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import optim
from deepgrad.optim.swa_utils import AveragedModel, get_ema_avg_fn


def test_barzilai_borwein_first_two_steps_by_hand():
    A = np.array([2.0, 5.0, 1.0])
    x0 = np.array([1.0, -1.0, 2.0])
    w, v = dg.tensor(x0[:2], dtype=dg.float64, requires_grad=True), dg.tensor(x0[2:], dtype=dg.float64,
                                                                            requires_grad=True)
    opt = optim.BarzilaiBorwein([w, v], lr=0.1)

    def step():
        opt.zero_grad()
        x = dg.cat([w, v])
        (dg.tensor(A) * x * x / 2).sum().backward()
        opt.step()
        return np.concatenate([w.detach().numpy(), v.detach().numpy()])

    x1 = step()
    np.testing.assert_allclose(x1, x0 - 0.1 * A * x0)  # first step uses lr
    x2 = step()
    dx, dg_ = x1 - x0, A * x1 - A * x0  # one step size for the whole group (both tensors)
    gamma = abs(dx @ dg_) / (dg_ @ dg_)
    np.testing.assert_allclose(x2, x1 - gamma * A * x1)
    assert opt.state[w]["step_size"] == pytest.approx(gamma)


def test_barzilai_borwein_falls_back_to_lr_when_gradient_does_not_change():
    w = dg.tensor([1.0, 2.0], dtype=dg.float64, requires_grad=True)
    opt = optim.BarzilaiBorwein([w], lr=0.5)
    for _ in range(3):  # a linear loss: the gradient is constant, so ||dg|| = 0
        opt.zero_grad()
        (w * dg.tensor([1.0, -1.0])).sum().backward()
        opt.step()
        assert opt.state[w]["step_size"] == 0.5
    np.testing.assert_allclose(w.detach().numpy(), [-0.5, 3.5])


def test_barzilai_borwein_solves_ill_conditioned_quadratic_fast():
    rng = np.random.default_rng(0)
    d = np.logspace(0, 3, 50)  # condition number 1000
    x = dg.tensor(rng.standard_normal(50), dtype=dg.float64, requires_grad=True)
    opt = optim.BarzilaiBorwein([x], lr=1e-3)
    for _ in range(600):  # fixed-step GD (lr <= 1e-3 for stability) needs ~ 1e4 steps for 1e-8
        opt.zero_grad()
        (dg.tensor(d) * x * x).sum().backward()
        opt.step()
    assert np.abs(x.detach().numpy()).max() < 1e-8


def test_implicit_sgd_single_sample_closed_form():
    w, b = dg.tensor([0.5, -1.0, 2.0], dtype=dg.float64), dg.tensor(0.3, dtype=dg.float64)
    opt = optim.ImplicitSGD([w, b], lr=0.7)
    x, y = np.array([1.0, 2.0, -1.0]), 4.0
    th = np.array([0.5, -1.0, 2.0, 0.3])
    xt = np.append(x, 1.0)
    loss = opt.step(dg.tensor(x, dtype=dg.float64), y)
    r = y - xt @ th
    assert loss == pytest.approx(r * r / 2)
    th1 = th + 0.7 / (1 + 0.7 * xt @ xt) * r * xt
    np.testing.assert_allclose(np.append(w.numpy(), b.numpy()), th1)
    # it is the implicit equation theta_n = theta_{n-1} + lr (y - x^T theta_n) x
    np.testing.assert_allclose(th1, th + 0.7 * (y - xt @ th1) * xt)
    opt.step(dg.tensor(x, dtype=dg.float64), y)  # second step from th1
    r1 = y - xt @ th1
    np.testing.assert_allclose(np.append(w.numpy(), b.numpy()), th1 + 0.7 / (1 + 0.7 * xt @ xt) * r1 * xt)


def test_implicit_sgd_minibatch_solves_the_implicit_equation():
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))
    W0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    W, b = dg.tensor(W0), dg.tensor(b0)  # like nn.Linear(4, 3): weight (out, in)
    optim.ImplicitSGD([W, b], lr=5.0).step(dg.tensor(X), dg.tensor(Y))
    th0, th1 = np.vstack([W0.T, b0]), np.vstack([W.numpy().T, b.numpy()])
    Xt = np.hstack([X, np.ones((8, 1))])
    np.testing.assert_allclose(th1, th0 + 5.0 / 8 * Xt.T @ (Y - Xt @ th1), atol=1e-10)


def test_implicit_sgd_is_stable_where_explicit_sgd_diverges():
    rng = np.random.default_rng(2)
    true_w = np.array([2.0, -3.0, 0.5])
    X = rng.standard_normal((400, 3)) * 3
    Y = X @ true_w + 1.0 + 0.01 * rng.standard_normal(400)
    lr = 10.0  # lr * ||x||^2 is about 270: explicit SGD blows up at once
    w_imp, b_imp = dg.zeros(3, dtype=dg.float64), dg.zeros(1, dtype=dg.float64)
    w_exp = dg.zeros(3, dtype=dg.float64, requires_grad=True)
    b_exp = dg.zeros(1, dtype=dg.float64, requires_grad=True)
    isgd = optim.ImplicitSGD([w_imp, b_imp], lr=lr)
    sgd = optim.SGD([w_exp, b_exp], lr=lr)
    sched = optim.lr_scheduler.LambdaLR(isgd, lambda n: 1 / (1 + n) ** 0.6)  # Toulis & Airoldi's decay
    for i in range(400):
        x, y = dg.tensor(X[i]), dg.tensor(Y[i])
        isgd.step(x, y)
        sched.step()
        if i < 5:
            sgd.zero_grad()
            (((w_exp * x).sum() + b_exp - y) ** 2 / 2).sum().backward()
            sgd.step()
    np.testing.assert_allclose(w_imp.numpy(), true_w, atol=0.05)
    assert b_imp.item() == pytest.approx(1.0, abs=0.05)
    assert np.abs(w_exp.detach().numpy()).max() > 1e6


def test_implicit_sgd_shape_errors():
    with pytest.raises(ValueError, match="bias of shape"):
        optim.ImplicitSGD([dg.zeros(3, 4), dg.zeros(2)])
    with pytest.raises(ValueError, match=r"\[weight\] or \[weight, bias\]"):
        optim.ImplicitSGD([dg.zeros(3, 4, 5)])


def test_lbfgs_requires_closure_and_one_group():
    w = dg.zeros(2, requires_grad=True)
    opt = optim.LBFGS([w])
    with pytest.raises(RuntimeError, match="needs a closure"):
        opt.step()
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [dg.zeros(1, requires_grad=True)]}])


def test_lbfgs_state_dict_resume(tmp_path):
    def make():
        p = dg.tensor([-1.5, 2.0], dtype=dg.float64, requires_grad=True)
        opt = optim.LBFGS([p], lr=0.5, max_iter=4, history_size=3)

        def closure():
            opt.zero_grad()
            loss = 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2
            loss.backward()
            return loss

        return p, opt, closure

    p, opt, closure = make()
    for _ in range(3):
        opt.step(closure)
    dg.save({"p": p.detach(), "opt": opt.state_dict()}, tmp_path / "lbfgs.safetensors")
    for _ in range(2):
        opt.step(closure)
    q, opt2, closure2 = make()
    ck = dg.load(tmp_path / "lbfgs.safetensors")
    q._set(ck["p"]._data)
    opt2.load_state_dict(ck["opt"])
    for _ in range(2):
        opt2.step(closure2)
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())


class TinyModel:
    """The part of the Module protocol AveragedModel relies on."""

    def __init__(self):
        self.w = dg.zeros(2, requires_grad=True)
        self.running = dg.zeros(1)

    def parameters(self):
        return iter([self.w])

    def buffers(self):
        return iter([self.running])

    def state_dict(self):
        return {"w": self.w.detach(), "running": self.running}

    def load_state_dict(self, sd):
        with dg.no_grad():
            self.w._set(sd["w"]._data)
            self.running._set(sd["running"]._data)

    def __call__(self, x):
        return x * self.w


def test_averaged_model_swa_and_ema():
    m = TinyModel()
    swa, ema = AveragedModel(m), AveragedModel(m, avg_fn=get_ema_avg_fn(0.5), use_buffers=True)
    values = [1.0, 2.0, 6.0]
    for v in values:
        with dg.no_grad():
            m.w._set(np.full(2, v, np.float32))
            m.running._set(np.full(1, 10 * v, np.float32))
        swa.update_parameters(m)
        ema.update_parameters(m)
    np.testing.assert_allclose(swa.module.w.detach().numpy(), [3.0, 3.0])  # mean of 1, 2, 6
    np.testing.assert_allclose(swa.module.running.numpy(), [60.0])  # buffers copied
    np.testing.assert_allclose(ema.module.w.detach().numpy(), [3.75, 3.75])  # 0.5 (0.5 * 1 + 0.5 * 2) + 0.5 * 6
    np.testing.assert_allclose(ema.module.running.numpy(), [37.5])  # averaged too
    assert swa.module.w is not m.w and swa.n_averaged == 3
    np.testing.assert_allclose(swa(dg.ones(2)).detach().numpy(), [3.0, 3.0])
    sd = swa.state_dict()
    assert set(sd) == {"module.w", "module.running", "n_averaged"}
    other = AveragedModel(TinyModel())
    other.load_state_dict(sd)
    assert other.n_averaged == 3
    np.testing.assert_allclose(other.module.w.detach().numpy(), [3.0, 3.0])
