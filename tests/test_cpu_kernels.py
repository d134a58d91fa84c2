"""The fast CPU kernels against the reference implementations: every convolution, pooling and batch-norm registry
case runs through both paths (``deepgrad.backends.cpu.fast_kernels`` True and False), forward and backward, and
the results must agree to float rounding; the reference path is also checked against the registry's NumPy
references, and the run-time and environment switches are tested."""
import importlib
import os
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import deepgrad as dg
import registry
from deepgrad.backends import cpu
from harness import REGISTRY, make_inputs

for _m in pkgutil.iter_modules(registry.__path__):
    importlib.import_module(f"registry.{_m.name}")

FAMILY = ("conv", "conv_transpose", "correlate2d", "max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool",
          "batch_norm", "local_response_norm")
CASES = {c.id: c for c in REGISTRY if c.name.startswith(FAMILY)}


def test_the_family_is_in_the_registry():
    names = {c.name for c in CASES.values()}
    assert {"conv", "conv_transpose", "max_pool2d", "max_pool1d", "max_pool3d", "batch_norm"} <= names


def _run(c, dtype, fast: bool, seed: int = 0):
    """Outputs and input gradients (for a fixed random upstream gradient) with the chosen kernels."""
    with cpu.flags(fast_kernels=fast):
        arrays, tensors = make_inputs(c, dtype, seed=seed)
        out = c.fn(*tensors)
        outs = [out] if isinstance(out, dg.Tensor) else list(out)
        rng = np.random.default_rng(seed + 1)
        floats = [o for o in outs if o.dtype.kind == "f" and o.requires_grad]
        grads = []
        if floats:
            loss = sum((o * dg.tensor(rng.standard_normal(o.shape).astype(dtype))).sum() for o in floats)
            loss.backward()
            grads = [t.grad.numpy().copy() for t in tensors if isinstance(t, dg.Tensor) and t.requires_grad]
        return arrays, [o.detach().numpy().copy() for o in outs], grads


@pytest.mark.parametrize("c", list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_and_reference_kernels_agree(c, dtype):
    _, fast_out, fast_grads = _run(c, dtype, True)
    _, ref_out, ref_grads = _run(c, dtype, False)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    assert len(fast_out) == len(ref_out) and len(fast_grads) == len(ref_grads)
    for a, b in zip(fast_out + fast_grads, ref_out + ref_grads):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("c", [c for c in CASES.values() if c.ref is not None], ids=lambda c: c.id)
def test_reference_kernels_match_numpy_references(c):
    arrays, out, _ = _run(c, np.float64, False)
    want = c.ref(*arrays)
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    for g, w in zip(out, want):
        np.testing.assert_allclose(g, np.asarray(w), atol=max(c.ref_atol, 1e-9), rtol=1e-7)


@pytest.mark.parametrize("c", [c for c in CASES.values() if c.gradgrad], ids=lambda c: c.id)
def test_reference_kernels_pass_gradcheck(c):
    with cpu.flags(fast_kernels=False):
        _, tensors = make_inputs(c, np.float64)
        assert dg.autograd.gradcheck(c.fn, tensors, atol=c.atol, rtol=c.rtol)


def test_reference_max_pool_ties_go_to_the_first_winner_like_the_fast_kernel():
    x = dg.tensor(np.random.default_rng(0).integers(0, 3, (3, 2, 7, 8)).astype(np.float64), requires_grad=True)
    runs = []
    for fast in (True, False):
        with cpu.flags(fast_kernels=fast):
            x.grad = None
            y, idx = dg.nn.functional.max_pool2d(x, 3, 2, 1, return_indices=True)
            y.backward(dg.ones_like(y))
            runs.append((idx.numpy(), x.grad.numpy().copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_flags_restore_the_setting_and_the_report_says_what_is_set():
    assert cpu.fast_kernels
    with cpu.flags(fast_kernels=False):
        assert not cpu.fast_kernels and cpu.settings()["fast_kernels"][0] is False
    assert cpu.fast_kernels
    text = cpu.report()
    for name in ("fast_kernels", "num_threads", "short_blas_spin", "keep_freed_memory"):
        assert name in text


def _in_child(code: str, **env) -> str:
    full = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_THREAD_TIMEOUT", "DEEPGRAD_KERNELS")}
    out = subprocess.run([sys.executable, "-c", code], env={**full, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip() + out.stderr


def test_environment_switches():
    code = ("import deepgrad as dg, os; s = dg.backends.cpu.settings(); "
            "print(s['fast_kernels'][0], s['short_blas_spin'][0], os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")
    assert _in_child(code).startswith("True True 20")
    assert _in_child(code, DEEPGRAD_KERNELS="reference").startswith("False True 20")
    assert _in_child(code, DEEPGRAD_SHORT_BLAS_SPIN="0").startswith("True False None")
    assert "ignoring DEEPGRAD_KERNELS='quick'" in _in_child(code, DEEPGRAD_KERNELS="quick")


def test_blocked_batch_norm_is_thread_count_invariant(monkeypatch):
    """Batch norm's blocks are cut from the shape alone and summed in block order: with the same blocks, 1 or 3
    threads give bit-identical outputs and gradients; one block or many agree to rounding."""
    from deepgrad import parallel
    from deepgrad.ops import cpu_kernels

    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((9, 4, 5, 6)).astype(np.float32)
    g0 = rng.standard_normal(x0.shape).astype(np.float32)
    runs = []
    for threads, block in ((1, 1 << 30), (1, 1), (3, 1)):
        monkeypatch.setattr(parallel, "_threads", threads)
        monkeypatch.setattr(cpu_kernels, "POOL_BLOCK_BYTES", block)
        x = dg.tensor(x0, requires_grad=True)
        w, b = dg.ones(4, requires_grad=True), dg.zeros(4, requires_grad=True)
        y = dg.nn.functional.batch_norm(x, None, None, w, b, training=True)
        y.backward(dg.tensor(g0))
        runs.append([a.numpy().copy() for a in (y.detach(), x.grad, w.grad, b.grad)])
    for a, b in zip(runs[1], runs[2]):
        assert np.array_equal(a, b)
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
