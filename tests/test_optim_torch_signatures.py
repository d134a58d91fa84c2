"""deepgrad's optimisers against torch.optim's: the same constructor signatures (names, kinds, defaults), the same
parameter-group keys, and PyTorch's implementation switches (foreach, fused, capturable, differentiable) accepted or
refused as documented in deepgrad.optim.optimizer.implementation."""
import inspect

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import optim

torch = pytest.importorskip("torch")

SHARED = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Rprop", "Adadelta", "Adamax", "NAdam", "RAdam",
          "ASGD", "LBFGS"]
STEPPED = SHARED[1:-1]  # the ones driven by step() without a closure


def _shape(cls):
    return [(p.name, p.kind, p.default) for p in inspect.signature(cls.__init__).parameters.values()]


def test_every_optimiser_deepgrad_shares_with_torch_is_listed():
    ours = {n for n in optim.__all__ if isinstance(getattr(optim, n), type)}
    theirs = {n for n in dir(torch.optim) if isinstance(getattr(torch.optim, n), type)
              and issubclass(getattr(torch.optim, n), torch.optim.Optimizer)}
    assert ours & theirs == set(SHARED)


@pytest.mark.parametrize("name", SHARED)
def test_constructor_signature_matches_torch(name):
    assert _shape(getattr(optim, name)) == _shape(getattr(torch.optim, name))


@pytest.mark.parametrize("name", STEPPED + ["LBFGS"])
def test_parameter_group_keys_match_torch(name):
    ours = getattr(optim, name)([dg.ones(2, requires_grad=True)]).param_groups[0]
    theirs = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)]).param_groups[0]
    assert set(ours) == set(theirs)


def _run(lib, name, steps=6, **kw):
    w0 = np.array([1.5, -0.5, 2.0, 0.25])
    if lib == "torch":
        w = torch.tensor(w0, requires_grad=True)
        opt = getattr(torch.optim, name)([w], **kw)
    else:
        w = dg.tensor(w0, requires_grad=True)
        opt = getattr(optim, name)([w], **kw)
    for _ in range(steps):
        opt.zero_grad()
        loss = (w * w * w * w).sum() + (w * w).sum() * 0.5
        loss.backward()
        opt.step()
    return w.detach().numpy().copy()


def _switches(name):
    params = inspect.signature(getattr(optim, name).__init__).parameters
    out = [{}]
    if "foreach" in params:
        out += [dict(foreach=True), dict(foreach=False)]
    if "fused" in params:
        out += [dict(fused=True), dict(fused=False, foreach=True)]
    return out


@pytest.mark.parametrize("name", STEPPED)
def test_foreach_and_fused_select_nothing_and_agree_with_torch(name):
    kw = dict(lr=0.01) if name != "Adadelta" else {}
    base = _run("deepgrad", name, **kw)
    for flags in _switches(name):
        assert np.array_equal(_run("deepgrad", name, **kw, **flags), base), flags  # the same numbers, bit for bit
        # torch's fused and multi-tensor kernels round differently from its loop: agreement, not identity
        np.testing.assert_allclose(_run("torch", name, **kw, **flags), base, rtol=1e-6, atol=1e-9,
                                   err_msg=f"{name} {flags}")


def test_what_torch_refuses_is_refused():
    w = dg.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'fused'"):
        optim.RMSprop([w], fused=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'fused'"):
        torch.optim.RMSprop([torch.ones(2, requires_grad=True)], fused=True)
    with pytest.raises(RuntimeError, match="Adam: fused=True and foreach=True cannot be used together"):
        optim.Adam([w], fused=True, foreach=True)
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        torch.optim.Adam([torch.ones(2, requires_grad=True)], fused=True, foreach=True)
    with pytest.raises(TypeError, match="SGD: foreach must be None, True or False, got 'yes'"):
        optim.SGD([w], foreach="yes")
    with pytest.raises(TypeError, match="fused"):
        optim.SGD([w], fused=1)
    with pytest.raises(RuntimeError, match="SGD: fused=True requires floating-point parameters, got int64"):
        optim.SGD([dg.tensor([1, 2])], fused=True)


@pytest.mark.parametrize("name", [n for n in STEPPED if "differentiable" in inspect.signature(
    getattr(optim, n).__init__).parameters])
def test_differentiable_is_refused_in_a_sentence(name):
    with pytest.raises(ValueError, match=f"{name}: differentiable=True is not supported"):
        getattr(optim, name)([dg.ones(2, requires_grad=True)], differentiable=True)
    w = torch.ones(2, requires_grad=True)  # torch refuses it too for leaf parameters, at the first step
    opt = getattr(torch.optim, name)([w], differentiable=True)
    w.grad = torch.ones(2)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        opt.step()


@pytest.mark.parametrize("name", [n for n in STEPPED if "capturable" in inspect.signature(
    getattr(optim, n).__init__).parameters])
def test_capturable_needs_the_gpu_as_in_torch(name):
    from deepgrad.testing import strict_device

    kw = dict(lr=0.01) if name != "Adadelta" else {}
    w = dg.ones(2, requires_grad=True)
    opt = getattr(optim, name)([w], capturable=True, **kw)
    (w * w).sum().backward()
    with pytest.raises(RuntimeError, match=f"{name}: capturable=True needs the parameters on the GPU"):
        opt.step()
    t = torch.ones(2, requires_grad=True)
    topt = getattr(torch.optim, name)([t], capturable=True, **kw)
    (t * t).sum().backward()
    with pytest.raises(AssertionError, match="capturable=True"):
        topt.step()
    expected = _run("deepgrad", name, steps=3, **kw)
    with strict_device():
        w = dg.tensor([1.5, -0.5, 2.0, 0.25], dtype=dg.float64, device="cuda", requires_grad=True)
        opt = getattr(optim, name)([w], capturable=True, **kw)
        for _ in range(3):
            opt.zero_grad()
            ((w * w * w * w).sum() + (w * w).sum() * 0.5).backward()
            opt.step()
        np.testing.assert_allclose(w.detach().cpu().numpy(), expected, rtol=1e-12)


def test_adam_decoupled_weight_decay_is_adamw():
    a = _run("deepgrad", "Adam", lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)
    assert np.array_equal(a, _run("deepgrad", "AdamW", lr=0.05, weight_decay=0.1))
    np.testing.assert_allclose(a, _run("torch", "Adam", lr=0.05, weight_decay=0.1, decoupled_weight_decay=True),
                               rtol=1e-12)
    assert not np.array_equal(a, _run("deepgrad", "Adam", lr=0.05, weight_decay=0.1))


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_maximize_matches_torch(line_search):
    def run(lib):
        mod = torch if lib == "torch" else dg
        w = mod.tensor([1.0, -0.3, 0.6], dtype=mod.float64, requires_grad=True)
        opt = (torch.optim if lib == "torch" else optim).LBFGS([w], lr=0.5, max_iter=8, maximize=True,
                                                                line_search_fn=line_search)

        def closure():
            opt.zero_grad()
            loss = -((w - 2.0) ** 2).sum() - (w ** 4).sum() * 0.1  # concave: a maximum to climb to
            loss.backward()
            return loss

        first = opt.step(closure)
        return float(first.detach()), w.detach().numpy().copy()

    (f_dg, w_dg), (f_t, w_t) = run("deepgrad"), run("torch")
    assert f_dg == pytest.approx(f_t, rel=1e-12)
    np.testing.assert_allclose(w_dg, w_t, rtol=1e-9, atol=1e-12)
    assert not np.allclose(w_dg, [1.0, -0.3, 0.6])
