"""The layer test, run over every nn layer in the registry, and every registered error input (see harness.py)."""
import importlib
import inspect
import pkgutil
import re

import numpy as np
import pytest

import deepgrad as dg
import registry
from deepgrad import nn
from harness import ERRORS, LAYERS, build_layer

for _m in pkgutil.iter_modules(registry.__path__):
    importlib.import_module(f"registry.{_m.name}")

CASES = {c.id: c for c in LAYERS}
CONTAINERS = {"Module", "ModuleDict", "ModuleList", "ParameterList", "Sequential", "RNNBase", "RNNCellBase"}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _flat(out):
    """The Tensors of a layer's output, nested tuples flattened in order (None entries dropped)."""
    if isinstance(out, tuple):
        return [t for o in out for t in _flat(o)]
    return [] if out is None else [out]


def _np(t):
    return np.asarray(t.detach().numpy())


def test_every_nn_layer_is_registered():
    layers = {n for n, o in vars(nn).items() if inspect.isclass(o) and issubclass(o, nn.Module)} - CONTAINERS
    missing = sorted(layers - set(CASES))
    assert not missing, f"nn layers without a registry entry (tests/registry/README.md says how to add one): {missing}"


@pytest.mark.parametrize("c", [c for c in CASES.values() if c.ref is not None],
                         ids=[i for i, c in CASES.items() if c.ref is not None])
def test_layer_forward_matches_reference(c):
    """A reference that returns a tuple is checked against every output (an LSTM's (out, (h_n, c_n)) flattened);
    one that returns an array, against the first."""
    m, params, arrays, tensors = build_layer(c)
    want = c.ref(params, *arrays)
    got = _flat(m(*tensors)) if isinstance(want, tuple) else [_first(m(*tensors))]
    want = [np.asarray(w) for w in (want if isinstance(want, tuple) else (want,))]
    assert len(got) == len(want), f"{c.id}: {len(got)} outputs vs {len(want)} in the reference"
    for i, (g, w) in enumerate(zip(got, want)):
        assert tuple(g.shape) == w.shape, f"{c.id}: output {i} has shape {tuple(g.shape)}, the reference {w.shape}"
        np.testing.assert_allclose(_np(g), w, rtol=1e-6, atol=1e-8, err_msg=f"{c.id}: output {i}")


def test_every_layer_has_a_forward_reference():
    missing = sorted(i for i, c in CASES.items() if c.ref is None)
    assert not missing, f"layers registered without a forward reference (an independent computation): {missing}"


@pytest.mark.parametrize("c", [c for c in CASES.values() if c.grad], ids=[i for i, c in CASES.items() if c.grad])
def test_layer_gradcheck_inputs_and_parameters_float64(c):
    m, _, _, tensors = build_layer(c)
    params = [p for p in m.parameters() if p.requires_grad]
    n = len(tensors)
    wrt = [t for t in tensors if t.requires_grad] + params
    assert wrt, f"{c.id}: nothing to differentiate"

    def f(*args):
        return _first(m(*args[:n]))

    assert dg.autograd.gradcheck(f, tensors + params, atol=c.atol, rtol=c.rtol)


@pytest.mark.parametrize("c", list(CASES.values()), ids=list(CASES))
def test_layer_state_dict_round_trip_and_repr(c):
    m, _, _, tensors = build_layer(c, seed=0)
    other = build_layer(c, seed=1)[0]
    other.load_state_dict(m.state_dict())
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(_np(other.state_dict()[k]), _np(v), err_msg=f"{c.id}: {k}")
    np.testing.assert_allclose(_np(_first(other(*tensors))), _np(_first(m(*tensors))), err_msg=c.id)
    text = repr(m)
    assert text.startswith(type(m).__name__ + "("), f"{c.id}: repr {text!r}"


@pytest.mark.parametrize("c", [c for c in CASES.values() if c.train_differs],
                         ids=[i for i, c in CASES.items() if c.train_differs])
def test_layer_train_and_eval_differ(c):
    m, _, _, tensors = build_layer(c)
    x = tensors[0].detach() * 3.0 + 1.0
    before = {k: _np(v).copy() for k, v in m.state_dict().items()}
    eval_out = _np(m(x))
    np.testing.assert_allclose(_np(m(x)), eval_out, err_msg=f"{c.id}: eval mode is not deterministic")
    m.train()
    assert m.training
    train_out = _np(m(x))
    after = {k: _np(v) for k, v in m.state_dict().items()}
    changed_state = any(not np.array_equal(before[k], after[k]) for k in before)
    assert changed_state or not np.allclose(train_out, eval_out), f"{c.id}: train() changes nothing"
    m.eval()
    assert not m.training


@pytest.mark.parametrize("e", ERRORS, ids=[f"{e.name}-{i}" for i, e in enumerate(ERRORS)])
def test_error_inputs_raise_one_clear_sentence(e):
    with pytest.raises(e.exc) as info:
        e.call()
    message = str(info.value)
    assert re.search(e.match, message), f"{e.name}: {message!r} does not match {e.match!r}"
    assert e.name.lower() in message.lower(), f"{e.name}: the message does not name the op or layer: {message!r}"
