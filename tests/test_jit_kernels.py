"""The Numba kernels of deepgrad.ops.jit_kernels against the NumPy passes they replace (fast_kernels=False), on
the same inputs: forward and every gradient. (The recurrent cells' cases are in test_recurrent.py.)"""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.backends import cpu
from deepgrad.nn import functional as F
from deepgrad.ops import jit_kernels

pytest.importorskip("numba")


def _both(run):
    """run() under the compiled kernels, then under the NumPy passes: the two lists of arrays."""
    out = []
    for fast in (True, False):
        with cpu.flags(fast_kernels=fast):
            out.append([np.array(a) for a in run()])
    return out


def test_for_arrays_is_the_one_rule():
    assert jit_kernels.for_arrays(np, np.float32) is jit_kernels.compiled()
    assert jit_kernels.for_arrays(np, np.float64) is None
    assert jit_kernels.for_arrays(np, np.float64, ("float32", "float64")) is jit_kernels.compiled()
    with cpu.flags(fast_kernels=False):
        assert jit_kernels.for_arrays(np, np.float32) is None
    assert cpu.settings()["jit_kernels"][0] is True


@pytest.mark.parametrize("dtype, tol", [(dg.float32, 2e-5), (dg.float64, 1e-12)])
@pytest.mark.parametrize("shape, normalized", [((3000, 40), (40,)), ((2, 5, 3, 4), (3, 4)), ((7, 1), (1,))])
@pytest.mark.parametrize("grads", ["all", "input only", "weights only"])
def test_layer_norm(dtype, tol, shape, normalized, grads):
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal(shape) * 3 + 1, dtype=dtype, requires_grad=grads != "weights only")
    m = nn.LayerNorm(normalized, dtype=dtype)
    with dg.no_grad():
        m.weight.copy_(dg.tensor(rng.standard_normal(normalized), dtype=dtype))
        m.bias.copy_(dg.tensor(rng.standard_normal(normalized), dtype=dtype))
    m.requires_grad_(grads != "input only")
    g = dg.tensor(rng.standard_normal(shape), dtype=dtype)

    def run():
        y = m(x)
        y.backward(g)
        got = [y.detach().numpy()] + [t.grad.numpy().copy() for t in (x, m.weight, m.bias) if t.grad is not None]
        for t in (x, m.weight, m.bias):
            t.grad = None
        return got

    fast, ref = _both(run)
    assert len(fast) == len(ref) == (2 if grads == "input only" else 3 if grads == "weights only" else 4)
    for a, b in zip(fast, ref):  # ∂γ, ∂β are sums over all rows: rounding grows with their size
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("shape", [(3, 70_001), (5,), ()])
def test_gelu_tanh(shape):
    rng = np.random.default_rng(1)
    x = dg.tensor(rng.standard_normal(shape) * 4, dtype=dg.float32, requires_grad=True)
    g = dg.tensor(rng.standard_normal(shape), dtype=dg.float32)

    def run():
        y = F.gelu(x, approximate="tanh")
        y.backward(g)
        got = [y.detach().numpy(), x.grad.numpy().copy()]
        x.grad = None
        return got

    fast, ref = _both(run)
    # the gradient amplifies tanh's error (2.5e-7) by |½ − x tanh u · u′| (≈ 5 at |x| = 3) times |g|
    for a, b, tol in zip(fast, ref, (2e-6, 2e-5)):
        assert a.dtype == b.dtype == np.float32 and a.shape == shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@pytest.mark.parametrize("mask", ["causal", "none", "bool", "float row", "fully masked row"])
def test_attention_softmax(mask):
    rng = np.random.default_rng(2)
    q, k, v = (dg.tensor(rng.standard_normal((3, 2, 9, 4)) * 2, dtype=dg.float32, requires_grad=True)
               for _ in range(3))
    g = dg.tensor(rng.standard_normal((3, 2, 9, 4)), dtype=dg.float32)
    kw = {"is_causal": True} if mask == "causal" else {}
    if mask == "bool":
        kw["attn_mask"] = dg.tensor(rng.random((9, 9)) > 0.3)
    elif mask == "float row":  # (1, S): broadcast over the rows, so the NumPy passes take it
        kw["attn_mask"] = dg.tensor(rng.standard_normal((1, 9)), dtype=dg.float32)
    elif mask == "fully masked row":
        m = np.ones((9, 9), bool)
        m[4] = False
        kw["attn_mask"] = dg.tensor(m)

    def run():
        y = F.scaled_dot_product_attention(q, k, v, **kw)
        y.backward(g)
        got = [y.detach().numpy()] + [t.grad.numpy().copy() for t in (q, k, v)]
        for t in (q, k, v):
            t.grad = None
        return got

    fast, ref = _both(run)
    for a, b in zip(fast, ref):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    if mask == "fully masked row":
        assert np.isnan(fast[0][:, :, 4]).all()


@pytest.mark.parametrize("dtype", [dg.float32, dg.float64])
@pytest.mark.parametrize("opt, kw", [("Adam", {}), ("Adam", {"weight_decay": 0.1, "maximize": True}),
                                     ("AdamW", {"weight_decay": 0.1})])
def test_adam_step(dtype, opt, kw):
    """Adam's fused update against its NumPy passes: the same operations in the same order, so equal arrays."""
    rng = np.random.default_rng(3)
    start = rng.standard_normal((5, 7))
    grads = [rng.standard_normal((5, 7)) for _ in range(4)]

    def run():
        p = nn.Parameter(dg.tensor(start, dtype=dtype))
        o = getattr(dg.optim, opt)([p], lr=0.01, **kw)
        for g in grads:
            p.grad = dg.tensor(g, dtype=dtype)
            o.step()
        st = o.state[p]
        return [p.detach().numpy(), st["exp_avg"].numpy() if hasattr(st["exp_avg"], "numpy") else st["exp_avg"]]

    fast, ref = _both(run)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=4 * np.finfo(a.dtype).eps, atol=4 * np.finfo(a.dtype).eps)


def test_a_numba_that_does_not_import_means_the_numpy_passes(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    monkeypatch.setattr(jit_kernels.importlib.util, "find_spec", lambda name: object())  # ... though it is found
    with pytest.warns(RuntimeWarning, match="Numba is installed but does not import"):
        assert jit_kernels.available.__wrapped__() is False
    monkeypatch.setattr(jit_kernels, "available", lambda: False)
    assert jit_kernels.for_arrays(np, np.float32) is None
    m = nn.LSTM(3, 4)
    out, _ = m(dg.randn(5, 2, 3))
    out.sum().backward()
    assert m.weight_hh_l0.grad is not None and cpu.settings()["jit_kernels"][0] is False
