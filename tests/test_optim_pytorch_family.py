"""Adadelta, Adamax, NAdam, RAdam and ASGD: two steps against each update rule written out in NumPy, convergence,
validation sentences and state_dict round trips (trajectories were also compared with PyTorch's: 30 steps agree
to 1e-15, NAdam and ASGD to 1e-9 where PyTorch keeps mu_product/eta in float32)."""
import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import optim
from test_optim import X0, check_two, grad_of


@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adadelta(wd):
    lr, rho, eps = 0.7, 0.8, 1e-6

    def ref(x):
        v, u, out = 0, 0, []
        for _ in range(2):
            g = grad_of(x) + wd * x
            v = rho * v + (1 - rho) * g * g
            d = np.sqrt(u + eps) / np.sqrt(v + eps) * g
            u = rho * u + (1 - rho) * d * d
            x = x - lr * d
            out.append(x)
        return out

    check_two(optim.Adadelta, dict(lr=lr, rho=rho, eps=eps, weight_decay=wd), ref)


@pytest.mark.parametrize("wd,maximize", [(0.0, False), (0.1, True)])
def test_adamax(wd, maximize):
    lr, b1, b2, eps = 0.05, 0.8, 0.99, 1e-8
    sign = -1 if maximize else 1

    def ref(x):
        m, u, out = 0, 0, []
        for t in (1, 2):
            g = sign * grad_of(x) + wd * x
            m = b1 * m + (1 - b1) * g
            u = np.maximum(b2 * u, np.abs(g) + eps)
            x = x - lr / (1 - b1 ** t) * m / u
            out.append(x)
        return out

    check_two(optim.Adamax, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, maximize=maximize), ref)


@pytest.mark.parametrize("wd,decoupled", [(0.0, False), (0.1, False), (0.1, True)])
def test_nadam(wd, decoupled):
    lr, b1, b2, eps, psi = 0.05, 0.9, 0.99, 1e-8, 0.01

    def ref(x):
        m, v, prod, out = 0, 0, 1.0, []
        for t in (1, 2):
            if decoupled:
                x = x * (1 - lr * wd)
                g = grad_of(x / (1 - lr * wd))  # the gradient was taken before the shrink
            else:
                g = grad_of(x) + wd * x
            mu, mu1 = b1 * (1 - 0.5 * 0.96 ** (t * psi)), b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
            prod *= mu
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            d = np.sqrt(v / (1 - b2 ** t)) + eps
            x = x - lr * (1 - mu) / (1 - prod) * g / d - lr * mu1 / (1 - prod * mu1) * m / d
            out.append(x)
        return out

    check_two(optim.NAdam, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, momentum_decay=psi,
                                decoupled_weight_decay=decoupled), ref)


@pytest.mark.parametrize("b2", [0.999, 0.5])  # ρ_t ≤ 5 in the first steps (plain momentum) / > 5 (rectified)
def test_radam(b2):
    lr, b1, eps, wd = 0.05, 0.9, 1e-8, 0.1

    def ref(x):
        m, v, out = 0, 0, []
        rho_inf = 2 / (1 - b2) - 1
        for t in (1, 2):
            g = grad_of(x) + wd * x
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            mhat = m / (1 - b1 ** t)
            rho = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
            if rho > 5:
                r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
                x = x - lr * mhat * r * math.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
            else:
                x = x - lr * mhat
            out.append(x)
        return out

    check_two(optim.RAdam, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), ref)


def test_asgd_and_its_average():
    lr, lambd, alpha, t0, wd = 0.1, 0.01, 0.75, 1, 0.05

    def ref(x):
        eta, mu, ax, out, axs = lr, 1.0, np.zeros_like(x), [], []
        for t in (1, 2, 3):
            g = grad_of(x) + wd * x
            x = x * (1 - lambd * eta) - eta * g
            ax = x.copy() if mu == 1 else ax + (x - ax) * mu
            eta, mu = lr / (1 + lambd * lr * t) ** alpha, 1 / max(1, t - t0)
            out.append(x)
            axs.append(ax)
        return out, axs

    p = dg.tensor(X0.copy(), dtype=dg.float64, requires_grad=True)
    opt = optim.ASGD([p], lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=wd)
    want, want_ax = ref(X0.copy())
    for w, wa in zip(want, want_ax):
        opt.zero_grad()
        (dg.tensor(np.array([[1.0, 2.0, 0.5], [3.0, 0.2, 1.5]])) * p * p / 2
         + dg.tensor(np.array([[0.3, -1.0, 2.0], [-0.5, 0.1, 0.0]])) * p).sum().backward()
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-12)
        np.testing.assert_allclose(opt.state[p]["ax"], wa, rtol=1e-12)


@pytest.mark.parametrize("cls,kw,steps", [
    (optim.Adadelta, dict(lr=1.0), 1500), (optim.Adamax, dict(lr=0.05), 800), (optim.NAdam, dict(lr=0.02), 800),
    (optim.RAdam, dict(lr=0.02), 800), (optim.ASGD, dict(lr=0.05), 800)])
def test_each_minimises_a_quadratic(cls, kw, steps):
    a = np.array([1.0, 4.0, 0.5])
    x = dg.tensor([2.0, -1.0, 3.0], dtype=dg.float64, requires_grad=True)
    opt = cls([x], **kw)
    for _ in range(steps):
        opt.zero_grad()
        (dg.tensor(a) * (x - 1.0) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(x.detach().numpy(), 1.0, atol=2e-2)


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.Adadelta(p, rho=1.5), "Adadelta: invalid rho value 1.5 (must be in [0, 1])"),
    (lambda p: optim.Adadelta(p, lr=-1), "Adadelta: invalid learning rate -1"),
    (lambda p: optim.Adamax(p, betas=(1.0, 0.9)), "Adamax: invalid beta parameter at index 0 1.0"),
    (lambda p: optim.NAdam(p, momentum_decay=-1), "NAdam: invalid momentum_decay value -1"),
    (lambda p: optim.RAdam(p, eps=-1), "RAdam: invalid epsilon value -1"),
    (lambda p: optim.ASGD(p, weight_decay=-1), "ASGD: invalid weight_decay value -1"),
])
def test_validation(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        make([dg.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("cls", [optim.Adadelta, optim.Adamax, optim.NAdam, optim.RAdam, optim.ASGD])
def test_state_dict_round_trip(cls, tmp_path):
    def make():
        p = dg.tensor(X0.copy(), dtype=dg.float64, requires_grad=True)
        return p, cls([p])

    def step(p, opt):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()

    p1, o1 = make()
    for _ in range(3):
        step(p1, o1)
    p2, o2 = make()
    p2.data = p1.detach().clone()
    dg.save(o1.state_dict(), tmp_path / "opt.safetensors")
    o2.load_state_dict(dg.load(tmp_path / "opt.safetensors"))
    step(p1, o1)
    step(p2, o2)
    np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
