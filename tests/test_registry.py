"""Generic tests run over every registry entry (see harness.py)."""
import importlib
import pkgutil

import numpy as np
import pytest

import deepgrad as dg
import registry
from harness import REGISTRY, make_inputs

for _m in pkgutil.iter_modules(registry.__path__):
    importlib.import_module(f"registry.{_m.name}")

CASES = {c.id: c for c in REGISTRY}
REF = [c for c in CASES.values() if c.ref is not None]
GRAD = [c for c in CASES.values() if c.grad]
GRADGRAD = [c for c in CASES.values() if c.gradgrad]


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _outputs(out):
    return [out] if isinstance(out, dg.Tensor) else list(out)


@pytest.mark.parametrize("c", REF, ids=[c.id for c in REF])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_numpy_reference(c, dtype):
    arrays, tensors = make_inputs(c, dtype)
    got = _outputs(c.fn(*tensors))
    want = c.ref(*[a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays])
    want = [want] if not isinstance(want, (list, tuple)) else want
    tol = c.ref_atol if dtype == np.float64 else max(c.ref_atol, 2e-4)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert tuple(g.shape) == w.shape, f"{c.id}: shape {tuple(g.shape)} vs reference {w.shape}"
        if w.dtype.kind == "f":
            assert g.dtype == dtype, f"{c.id}: dtype {g.dtype}, expected {np.dtype(dtype)}"
        np.testing.assert_allclose(_np(g), w, rtol=tol * 10, atol=tol, err_msg=c.id)


@pytest.mark.parametrize("c", GRAD, ids=[c.id for c in GRAD])
def test_gradcheck_float64(c):
    _, tensors = make_inputs(c)
    assert any(t.requires_grad for t in tensors), f"{c.id}: no differentiable input"
    assert dg.autograd.gradcheck(c.fn, tensors, atol=c.atol, rtol=c.rtol)


@pytest.mark.parametrize("c", GRADGRAD, ids=[c.id for c in GRADGRAD])
def test_gradgradcheck_float64(c):
    _, tensors = make_inputs(c)
    assert dg.autograd.gradgradcheck(c.fn, tensors, atol=c.atol, rtol=c.rtol)


@pytest.mark.parametrize("c", list(CASES.values()), ids=list(CASES))
def test_cuda_matches_cpu(c, gpu):
    _, cpu_in = make_inputs(c, np.float64, "cpu")
    _, gpu_in = make_inputs(c, np.float64, gpu)
    cpu_out, gpu_out = _outputs(c.fn(*cpu_in)), _outputs(c.fn(*gpu_in))
    for a, b in zip(cpu_out, gpu_out):
        assert b.device.type == "cuda"
        np.testing.assert_allclose(_np(b), _np(a), rtol=1e-6, atol=1e-8, err_msg=c.id)
    if c.grad:
        for outs in (cpu_out, gpu_out):
            sum(o.float().sum() if o.dtype.kind != "f" else o.sum() for o in outs if o.requires_grad).backward()
        for a, b in zip(cpu_in, gpu_in):
            if a.requires_grad and a.grad is not None:
                np.testing.assert_allclose(_np(b.grad), _np(a.grad), rtol=1e-6, atol=1e-8, err_msg=c.id)
