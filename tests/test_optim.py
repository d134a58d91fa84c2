"""Optimisers: the first two steps against the update rule written out in NumPy, Rosenbrock convergence,
hyper-parameter validation, parameter groups and state_dict round trips."""
import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import optim

A = np.array([[1.0, 2.0, 0.5], [3.0, 0.2, 1.5]])
B = np.array([[0.3, -1.0, 2.0], [-0.5, 0.1, 0.0]])
X0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]])


def grad_of(x):
    """Gradient of the test loss sum(A x^2 / 2 + B x)."""
    return A * x + B


def run_steps(cls, n=2, **kw):
    p = dg.tensor(X0.copy(), dtype=dg.float64, requires_grad=True)
    opt = cls([p], **kw)
    out = []
    for _ in range(n):
        opt.zero_grad()
        (dg.tensor(A) * p * p / 2 + dg.tensor(B) * p).sum().backward()
        opt.step()
        out.append(p.detach().numpy().copy())
    return out


def check_two(cls, kw, ref):
    got = run_steps(cls, **kw)
    want = ref(X0.copy())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_sgd_plain_and_maximize():
    lr = 0.1
    check_two(optim.SGD, dict(lr=lr), lambda x: [x1 := x - lr * grad_of(x), x1 - lr * grad_of(x1)])
    check_two(optim.SGD, dict(lr=lr, maximize=True), lambda x: [x1 := x + lr * grad_of(x), x1 + lr * grad_of(x1)])


def test_sgd_momentum_dampening_weight_decay():
    lr, mu, tau, wd = 0.1, 0.9, 0.2, 0.01

    def ref(x):
        g = grad_of(x) + wd * x
        b = g
        x1 = x - lr * b
        g = grad_of(x1) + wd * x1
        b = mu * b + (1 - tau) * g
        return [x1, x1 - lr * b]

    check_two(optim.SGD, dict(lr=lr, momentum=mu, dampening=tau, weight_decay=wd), ref)


def test_sgd_nesterov():
    lr, mu = 0.1, 0.9

    def ref(x):
        g = grad_of(x)
        b = g
        x1 = x - lr * (g + mu * b)
        g = grad_of(x1)
        b = mu * b + g
        return [x1, x1 - lr * (g + mu * b)]

    check_two(optim.SGD, dict(lr=lr, momentum=mu, nesterov=True), ref)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("cls,wd", [(optim.Adam, 0.0), (optim.Adam, 0.1), (optim.AdamW, 0.1)])
def test_adam_family(cls, wd, amsgrad):
    lr, b1, b2, eps = 0.01, 0.8, 0.9, 1e-8

    def ref(x):
        m = v = vmax = np.zeros_like(x)
        out = []
        for t in (1, 2):
            g = grad_of(x)
            if cls is optim.AdamW:
                x = x * (1 - lr * wd)
            else:
                g = g + wd * x
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            vmax = np.maximum(vmax, v)
            vhat = (vmax if amsgrad else v) / (1 - b2 ** t)
            x = x - lr * (m / (1 - b1 ** t)) / (np.sqrt(vhat) + eps)
            out.append(x)
        return out

    check_two(cls, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, amsgrad=amsgrad), ref)


def test_adagrad():
    lr, decay, s0, eps, wd = 0.5, 0.1, 0.2, 1e-10, 0.05

    def ref(x):
        s, out = s0, []
        for t in (1, 2):
            g = grad_of(x) + wd * x
            s = s + g * g
            x = x - lr / (1 + (t - 1) * decay) * g / (np.sqrt(s) + eps)
            out.append(x)
        return out

    check_two(optim.Adagrad, dict(lr=lr, lr_decay=decay, initial_accumulator_value=s0, eps=eps, weight_decay=wd),
              ref)


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_rmsprop(centered, momentum):
    lr, alpha, eps = 0.01, 0.9, 1e-8

    def ref(x):
        v = gbar = buf = np.zeros_like(x)
        out = []
        for _ in (1, 2):
            g = grad_of(x)
            v = alpha * v + (1 - alpha) * g * g
            gbar = alpha * gbar + (1 - alpha) * g
            d = np.sqrt(v - gbar ** 2 if centered else v) + eps
            if momentum:
                buf = momentum * buf + g / d
                x = x - lr * buf
            else:
                x = x - lr * g / d
            out.append(x)
        return out

    check_two(optim.RMSprop, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered), ref)


def test_rprop():
    lr, em, ep = 0.05, 0.5, 1.2
    # a loss whose gradient keeps its sign in some coordinates and flips in others between the two steps
    def ref(x):
        size, prev, out = np.full_like(x, lr), np.zeros_like(x), []
        for _ in (1, 2):
            g = grad_of(x)
            s = g * prev
            size = np.clip(size * np.where(s > 0, ep, np.where(s < 0, em, 1.0)), 1e-6, 50)
            g = np.where(s < 0, 0.0, g)
            x = x - np.sign(g) * size
            prev = g
            out.append(x)
        return out

    check_two(optim.Rprop, dict(lr=lr, etas=(em, ep)), ref)


def rosenbrock(p):
    return 100 * (p[1] - p[0] ** 2) ** 2 + (1 - p[0]) ** 2


# (optimiser, hyper-parameters, steps, tolerance on |x - (1, 1)|), all from (-1.5, 2)
ROSENBROCK = [
    (optim.SGD, dict(lr=1e-3, momentum=0.9), 3000, 1e-4),
    (optim.SGD, dict(lr=1e-3, momentum=0.9, nesterov=True), 3000, 1e-4),
    (optim.Adam, dict(lr=0.05), 3000, 1e-4),
    (optim.Adam, dict(lr=0.05, amsgrad=True), 3000, 1e-4),
    (optim.AdamW, dict(lr=0.05, weight_decay=0.0), 3000, 1e-4),
    (optim.Adagrad, dict(lr=1.5), 4000, 0.06),  # its effective step only shrinks: slow on this valley
    (optim.RMSprop, dict(lr=1e-3, momentum=0.9), 3000, 1e-3),
    (optim.Rprop, dict(lr=1e-3), 2000, 0.05),
    (optim.BarzilaiBorwein, dict(lr=1e-3), 1000, 1e-6),
]


@pytest.mark.parametrize("cls,kw,steps,tol", ROSENBROCK, ids=lambda v: getattr(v, "__name__", None))
def test_rosenbrock(cls, kw, steps, tol):
    p = dg.tensor([-1.5, 2.0], dtype=dg.float64, requires_grad=True)
    opt = cls([p], **kw)
    for _ in range(steps):
        opt.zero_grad()
        rosenbrock(p).backward()
        opt.step()
    assert np.linalg.norm(p.detach().numpy() - 1.0) < tol


@pytest.mark.parametrize("line_search,lr,steps,tol", [("strong_wolfe", 1.0, 3, 1e-4), (None, 0.1, 20, 1e-3)])
def test_lbfgs_rosenbrock(line_search, lr, steps, tol):
    p = dg.tensor([-1.5, 2.0], dtype=dg.float64, requires_grad=True)
    opt = optim.LBFGS([p], lr=lr, line_search_fn=line_search, history_size=10)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(p)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    assert np.linalg.norm(p.detach().numpy() - 1.0) < tol


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1), "SGD: invalid learning rate -1 (must be >= 0)"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "SGD: invalid momentum -0.5 (must be >= 0)"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum > 0"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Adam: invalid beta parameter at index 0 1.0 (must be in [0, 1))"),
    (lambda p: optim.AdamW(p, eps=-1e-8), "AdamW: invalid epsilon value -1e-08"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Adagrad: invalid lr_decay -1"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "RMSprop: invalid alpha -0.1"),
    (lambda p: optim.Rprop(p, etas=(1.5, 1.2)), "Rprop: invalid eta values"),
    (lambda p: optim.LBFGS(p, line_search_fn="armijo"), "LBFGS: invalid line_search_fn 'armijo'"),
    (lambda p: optim.BarzilaiBorwein(p, step_bounds=(1.0, 0.1)), "BarzilaiBorwein: invalid step_bounds"),
    (lambda p: optim.ImplicitSGD(p, lr=0), "ImplicitSGD: invalid learning rate 0 (must be > 0)"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda p: optim.SGD([{"params": p}, {"params": p}], lr=0.1), "more than one parameter group"),
])
def test_validation_messages(make, message):
    p = [dg.zeros(3, requires_grad=True)]
    with pytest.raises(ValueError) as e:
        make(p)
    assert message in str(e.value)


def test_params_must_be_leaf_tensors():
    w = dg.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="wrap it in a list"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="item 1 is a float"):
        optim.SGD([w, 1.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)


def test_param_groups_defaults_and_add_param_group():
    a, b, c = (dg.ones(2, requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    opt.add_param_group({"params": c, "lr": 0.01})
    assert opt.param_groups[2]["params"] == [c] and opt.param_groups[2]["lr"] == 0.01
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    for t in (a, b, c):
        t.sum().backward()
    opt.step()
    np.testing.assert_allclose(a.detach().numpy(), [0.9, 0.9])
    np.testing.assert_allclose(b.detach().numpy(), [0.0, 0.0])
    np.testing.assert_allclose(c.detach().numpy(), [0.99, 0.99], rtol=1e-6)


def test_zero_grad_and_params_without_grad():
    a, b = dg.ones(2, requires_grad=True), dg.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()  # b has no gradient: untouched, no state
    assert b not in opt.state and np.all(b.detach().numpy() == 1)
    opt.zero_grad(set_to_none=False)
    assert a.grad is not None and np.all(a.grad.numpy() == 0)
    opt.zero_grad()
    assert a.grad is None


def test_step_updates_in_place_and_bumps_version():
    w = dg.ones(3, requires_grad=True)
    data, version = w._data, w._version
    opt = optim.SGD([w], lr=0.5)
    w.sum().backward()
    opt.step()
    assert w._data is data and w._version == version + 1
    np.testing.assert_allclose(w.detach().numpy(), [0.5, 0.5, 0.5])


def test_closure_runs_with_grad_enabled_and_returns_loss():
    w = dg.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with dg.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 4.0 and math.isclose(w.item(), 1.0)


STATEFUL = [(optim.SGD, dict(lr=0.05, momentum=0.9)), (optim.Adam, dict(lr=0.05, amsgrad=True)),
            (optim.AdamW, dict(lr=0.05)), (optim.Adagrad, dict(lr=0.1)),
            (optim.RMSprop, dict(lr=0.01, centered=True, momentum=0.5)), (optim.Rprop, dict(lr=0.01)),
            (optim.BarzilaiBorwein, dict(lr=0.01))]


@pytest.mark.parametrize("cls,kw", STATEFUL, ids=lambda v: getattr(v, "__name__", None))
def test_state_dict_round_trip_resumes_identically(cls, kw, tmp_path):
    def loss_of(p):
        return (dg.tensor(A) * p * p / 2 + dg.tensor(B) * p).sum() + (p ** 4).sum() * 0.01

    def train(p, opt, n):
        for _ in range(n):
            opt.zero_grad()
            loss_of(p).backward()
            opt.step()

    p = dg.tensor(X0.copy(), dtype=dg.float64, requires_grad=True)
    opt = cls([p], **kw)
    train(p, opt, 3)
    path = tmp_path / "opt.safetensors"
    dg.save({"p": p.detach(), "opt": opt.state_dict()}, path)
    train(p, opt, 3)
    ck = dg.load(path)
    q = dg.tensor(ck["p"].numpy(), dtype=dg.float64, requires_grad=True)
    opt2 = cls([q], **{**kw, "lr": 123.0})  # hyper-parameters come back from the state dict too
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    train(q, opt2, 3)
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())


def test_state_dict_layout_is_pytorchs():
    a, b = dg.ones(2, requires_grad=True), dg.ones(3, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    (a.sum() + b.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert set(sd["state"]) == {0, 1} and isinstance(sd["state"][1]["momentum_buffer"], dg.Tensor)
    sd["state"][0]["momentum_buffer"]._data[:] = 99  # a snapshot: changing it leaves the optimiser alone
    assert np.all(opt.state[a]["momentum_buffer"] == 1)
    with pytest.raises(ValueError, match="this optimiser has 1"):
        optim.SGD([a, b], lr=0.1).load_state_dict(sd)


def test_adam_float32_parameters_stay_float32():
    w = dg.randn(4, 3, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w.dtype == dg.float32 and opt.state[w]["exp_avg"].dtype == dg.float32


@pytest.mark.parametrize("module", ["deepgrad.optim", "deepgrad.optim.sgd", "deepgrad.optim.implicit_sgd"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    assert doctest.testmod(importlib.import_module(module)).failed == 0


# ------------------------------------------------------------------------------------------ faults (issue 11)
def _stepped(opt_cls, **kw):
    a = dg.ones(2, 3, requires_grad=True)
    opt = opt_cls([a], lr=0.1, **kw)
    (a * a).sum().backward()
    opt.step()
    return a, opt


def test_load_state_dict_refuses_another_optimisers_state():
    """Issue 11, item 8: SGD used to take Adam's lr and betas."""
    _, adam = _stepped(optim.Adam)
    b = dg.ones(2, 3, requires_grad=True)
    sgd = optim.SGD([b], lr=0.5, momentum=0.9)
    with pytest.raises(ValueError, match="not from a SGD.*betas"):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.param_groups[0]["lr"] == 0.5 and "betas" not in sgd.param_groups[0] and sgd.state == {}
    _, other = _stepped(optim.SGD, momentum=0.9)
    with pytest.raises(ValueError, match="not from a Adam.*momentum"):
        optim.Adam([dg.ones(2, 3, requires_grad=True)], lr=0.1).load_state_dict(other.state_dict())


def test_load_state_dict_checks_shapes_layout_indices_and_types():
    _, adam = _stepped(optim.Adam)
    sd = adam.state_dict()
    c = dg.ones(3, 2, requires_grad=True)  # same size, another shape
    with pytest.raises(ValueError, match=r"buffer 'exp_avg' of parameter 0 has shape \(2, 3\).*\(3, 2\)"):
        optim.Adam([c], lr=0.1).load_state_dict(sd)
    fresh = optim.Adam([dg.ones(2, 3, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="expected a dict with 'state'"):
        fresh.load_state_dict([1, 2])
    bad = {"state": {7: sd["state"][0]}, "param_groups": sd["param_groups"]}
    with pytest.raises(ValueError, match="refers to parameter 7"):
        fresh.load_state_dict(bad)
    bad = {"state": {}, "param_groups": [{**sd["param_groups"][0], "lr": "0.1"}]}
    with pytest.raises(TypeError, match="lr must be a number, got str '0.1'"):
        fresh.load_state_dict(bad)
    bad = {"state": {}, "param_groups": [{**sd["param_groups"][0], "params": [0.5]}]}
    with pytest.raises(ValueError, match="invalid or repeated index"):
        fresh.load_state_dict(bad)
    assert fresh.state == {} and fresh.param_groups[0]["lr"] == 0.1  # nothing changed by a refused state
    fresh.load_state_dict(sd)  # the real thing still loads
    assert fresh.state[fresh.param_groups[0]["params"][0]]["step"] == 1


@pytest.mark.parametrize("make, words", [
    (lambda p: optim.SGD(p, lr="0.1"), "SGD: lr must be a number, got str '0.1'"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=None), "SGD: momentum must be a number"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov="yes"), "SGD: nesterov must be True or False"),
    (lambda p: optim.Adam(p, betas=(0.9,)), "Adam: betas must be a tuple of 2 numbers"),
    (lambda p: optim.Adam(p, eps="1e-8"), "Adam: eps must be a number"),
    (lambda p: optim.RMSprop(p, lr=[0.1]), "RMSprop: lr must be a number, got list"),
])
def test_hyper_parameters_of_the_wrong_type_are_refused_in_a_sentence(make, words):
    with pytest.raises(TypeError) as e:
        make([dg.ones(2, requires_grad=True)])
    assert str(e.value).startswith(words)
