"""deepgrad.backends.mkl (the optional MKL products) against NumPy's ``@``: every operand layout, both dtypes, the
packed products of the recurrent layers, the one rule that chooses, the thread count inside blocks, and errors."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, parallel
from deepgrad.backends import cpu, mkl

pytestmark = pytest.mark.skipif(not mkl.available(), reason="the mkl extra is not installed")
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _layouts(x, rng):
    """x as C-contiguous, Fortran-ordered, a transposed copy's transpose, a row-strided slice of a wider array and a
    column-strided view (the one layout CBLAS cannot take: copied)."""
    wide = np.zeros((x.shape[0], x.shape[1] + 3), x.dtype)
    wide[:, 1:x.shape[1] + 1] = x
    every_other = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
    every_other[:, ::2] = x
    return [x, np.asfortranarray(x), x.T.copy().T, wide[:, 1:x.shape[1] + 1], every_other[:, ::2]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n", [(7, 5, 3), (1, 4, 6), (6, 4, 1), (64, 1, 9), (33, 70, 65)])
def test_matmul_equals_numpy_for_every_layout(dtype, m, k, n):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)).astype(dtype), rng.standard_normal((k, n)).astype(dtype)
    want = a.astype(np.float64) @ b.astype(np.float64)
    for x in _layouts(a, rng):
        for y in _layouts(b, rng):
            got = mkl.matmul(x, y)
            assert got.dtype == dtype and got.shape == (m, n) and got.flags.c_contiguous
            np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * k)


def test_matmul_into_out_and_empty_sizes():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((3, 5)).astype(np.float32)
    out = np.full((4, 5), np.nan, np.float32)
    assert mkl.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-6)
    zero_k = mkl.matmul(np.ones((4, 0), np.float32), np.ones((0, 5), np.float32), out=out)
    assert zero_k is out and not out.any()
    assert mkl.matmul(np.ones((0, 3)), np.ones((3, 2))).shape == (0, 2)


def test_matmul_errors_name_the_function_and_what_it_got():
    a = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="mkl.matmul: expected two NumPy arrays of one dtype, float32 or float64, "
                                         "got ndarray float32 and ndarray float64"):
        mkl.matmul(a, np.ones((3, 2)))
    with pytest.raises(ValueError, match="got list None and ndarray float32"):
        mkl.matmul([[1.0]], a)
    with pytest.raises(ValueError, match="got ndarray int64 and ndarray int64"):
        mkl.matmul(np.ones((2, 2), np.int64), np.ones((2, 2), np.int64))
    with pytest.raises(ValueError, match=r"mkl.matmul: expected matrices \(M, K\) and \(K, N\), got shapes \(4, 3\) "
                                         r"and \(4, 3\)"):
        mkl.matmul(a, a)
    with pytest.raises(ValueError, match="mkl.matmul: out must be a C-contiguous float32 array of shape \\(4, 4\\)"):
        mkl.matmul(a, a.T, out=np.empty((4, 4), np.float64))
    with pytest.raises(ValueError, match="out must be a C-contiguous"):
        mkl.matmul(a, a.T, out=np.empty((4, 4), np.float32, order="F"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_packed_product_equals_numpy_at_every_call(dtype):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((48, 20)).astype(dtype)
    for a in (w, np.asfortranarray(w)):
        p = mkl.Packed(a, 6)
        out = np.empty((48, 6), dtype)
        for _ in range(3):  # the same packed A for every product, a new b each time
            b = rng.standard_normal((20, 6)).astype(dtype)
            assert p(b, out) is out
            np.testing.assert_allclose(out, w @ b, rtol=TOL[dtype], atol=TOL[dtype] * 20)


def test_packed_errors():
    with pytest.raises(ValueError, match="mkl.Packed: expected a non-empty float32/float64 matrix and a positive int n"):
        mkl.Packed(np.ones((3, 2), np.int64), 4)
    with pytest.raises(ValueError, match="n=0"):
        mkl.Packed(np.ones((3, 2), np.float32), 0)
    p = mkl.Packed(np.ones((3, 2), np.float32), 4)
    with pytest.raises(ValueError, match=r"mkl.Packed: expected a C-contiguous float32 array of shape \(2, 4\), got "
                                         r"ndarray \(4, 2\)"):
        p(np.ones((4, 2), np.float32), np.empty((3, 4), np.float32))
    with pytest.raises(ValueError, match=r"out must be a C-contiguous float32 array of shape \(3, 4\)"):
        p(np.ones((2, 4), np.float32), np.empty((4, 3), np.float32))


def test_applies_is_the_one_rule(monkeypatch):
    f32, f64 = np.ones((2, 2), np.float32), np.ones((2, 2))
    assert mkl.applies(f32, f32) and mkl.applies(f64)
    assert not mkl.applies(f32, f64)  # one dtype for all operands
    assert not mkl.applies(np.ones((2, 2), np.int32)) and not mkl.applies(np.ones((2, 2), np.float16))
    assert not mkl.applies([[1.0]])
    with cpu.flags(fast_kernels=False):
        assert not mkl.applies(f32)
        assert cpu.settings()["mkl_gemm"][0] is False
    assert cpu.settings()["mkl_gemm"][0] is True
    monkeypatch.setattr(mkl, "enabled", False)
    assert not mkl.applies(f32) and cpu.settings()["mkl_gemm"][0] is False
    assert "enabled is False" in cpu.settings()["mkl_gemm"][1]


def test_mkl_switched_off_from_the_environment():
    code = ("import deepgrad as dg; from deepgrad.backends import mkl; "
            "print(mkl.enabled, dg.backends.cpu.settings()['mkl_gemm'][0])")
    for value, want in (("0", "False False"), ("1", "True True")):
        env = dict(os.environ, DEEPGRAD_MKL=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.split() == want.split()


def test_parallel_matmul_runs_on_mkl_with_one_thread_inside_a_block(monkeypatch):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((600, 512)).astype(np.float32), rng.standard_normal((512, 256)).astype(np.float32)
    calls, threads = [], []
    real = mkl.matmul
    monkeypatch.setattr(mkl, "matmul", lambda x, y, out=None: calls.append(1) or real(x, y, out))
    np.testing.assert_allclose(parallel.matmul(a, b), a @ b, rtol=1e-5, atol=1e-3)
    assert calls and mkl._tls.threads == parallel.get_num_threads()
    small = parallel.matmul(a[:100], b)  # below parallel._MKL_MACS multiply-adds: NumPy's BLAS
    assert len(calls) == 1 and 100 * 512 * 256 < parallel._MKL_MACS <= 600 * 512 * 256
    np.testing.assert_allclose(small, a[:100] @ b, rtol=1e-5, atol=1e-3)
    results = [None, None]

    def block(i):
        results[i] = parallel.matmul(a, b)
        threads.append(mkl._tls.threads)

    parallel.parallel_for(2, block)
    assert threads == [1, 1]
    for r in results:
        np.testing.assert_allclose(r, a @ b, rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(parallel.matmul(a.astype(int), b.astype(int)), a.astype(int) @ b.astype(int))


@pytest.mark.parametrize("kw", [{}, {"proj_size": 3}, {"bidirectional": True, "num_layers": 2}])
def test_lstm_on_mkl_equals_the_numpy_blas_path(monkeypatch, kw):
    """float64, where the packed step products and the weight products run on MKL: the same outputs and gradients
    as with MKL switched off (NumPy's BLAS), to float64 rounding."""
    dg.manual_seed(0)
    m = nn.LSTM(5, 6, batch_first=True, dtype=dg.float64, **kw)
    x = dg.randn(4, 7, 5, dtype=dg.float64, requires_grad=True)

    def run():
        out, (h, c) = m(x)
        (out.sum() + h.square().sum() + c.sum()).backward()
        got = [out.detach().numpy().copy(), x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in m.parameters()]
        x.grad = None
        m.zero_grad()
        return got

    calls = []
    real = mkl.Packed.__call__
    monkeypatch.setattr(mkl.Packed, "__call__", lambda self, b, out: calls.append(1) or real(self, b, out))
    fast = run()
    assert len(calls) >= 2 * 7  # every step of the forward and of the backward
    monkeypatch.setattr(mkl, "applies", lambda *arrays: False)
    ref = run()
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_an_mkl_that_does_not_load_counts_as_absent(monkeypatch, tmp_path):
    bogus = tmp_path / "libmkl_rt.so.3"
    bogus.write_bytes(b"not a library")
    monkeypatch.setattr(mkl, "_find_library", lambda: str(bogus))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning, match="the mkl package is installed but .*libmkl_rt.so.3 does not load"):
            mkl.available.__wrapped__()
    monkeypatch.setattr(mkl, "_find_library", lambda: None)
    assert mkl.available.__wrapped__() is False


def _lstm_run(kw, split, monkeypatch, backward_split=True, H=64):
    """Outputs and every gradient of an LSTM (float32, hidden H) with the recurrence split over two threads or not."""
    from deepgrad.ops import recurrence

    with monkeypatch.context() as mp:
        if not split:
            mp.setattr(recurrence.LSTMLayer, "_halves", staticmethod(lambda *args: 1))
        if not backward_split:  # the forward split, the backward on one thread over both parts of the units
            answers = iter([True, True])  # the forward asks, then run_together; the backward is told no
            mp.setattr(recurrence.LSTMLayer, "_backward_halves",
                       lambda *a: pytest.fail("the backward should not split here"))
            mp.setattr(recurrence.parallel, "can_run_together", lambda n: next(answers, False))
        dg.manual_seed(0)
        m = nn.LSTM(7, H, **kw)
        x = dg.randn(*((5, 9, 7) if kw.get("batch_first") else (9, 5, 7)), requires_grad=True)
        out, (h, c) = m(x)
        (out.square().sum() + h.sum() + c.square().sum()).backward()
        return [out.detach().numpy(), h.detach().numpy(), c.detach().numpy(), x.grad.numpy()] + \
            [p.grad.numpy() for p in m.parameters()]


def _count_forward_splits(monkeypatch) -> list:
    """Two threads for ops; a list that gets an entry each time an LSTM layer's forward runs split in two."""
    pytest.importorskip("numba")
    from deepgrad.ops import recurrence

    monkeypatch.setattr(parallel, "_threads", 2)
    calls = []
    real = recurrence.LSTMLayer._forward_halves
    monkeypatch.setattr(recurrence.LSTMLayer, "_forward_halves", staticmethod(lambda *a: calls.append(1) or real(*a)))
    return calls


def _assert_float32_equal(got, want):
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5 * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("kw", [{}, {"batch_first": True}, {"bidirectional": True, "num_layers": 2}, {"bias": False}])
def test_lstm_split_over_two_threads_equals_one_thread(monkeypatch, kw):
    """float32, H = 64: the recurrence as two halves of the units on two threads (jit_kernels.lstm_forward_halves,
    lstm_backward_halves) against the one-thread loop, outputs and every gradient to float32 rounding."""
    calls = _count_forward_splits(monkeypatch)
    split = _lstm_run(kw, True, monkeypatch)
    assert calls, "the split path did not run"
    _assert_float32_equal(split, _lstm_run(kw, False, monkeypatch))


def test_lstm_split_forward_with_a_one_thread_backward(monkeypatch):
    """A forward split in two whose backward cannot take two threads runs the one-thread loop over both parts of the
    units (the gate rows are laid out per half): the same gradients."""
    calls = _count_forward_splits(monkeypatch)
    split = _lstm_run({}, True, monkeypatch, backward_split=False)
    assert calls == [1]
    _assert_float32_equal(split, _lstm_run({}, False, monkeypatch))


def test_split_halves_give_up_when_the_other_never_comes():
    """One half alone (its partner never runs): it waits `limit` pauses, marks flags[2] and returns; the layer
    then raises instead of returning unfinished results."""
    pytest.importorskip("numba")
    from deepgrad.ops import jit_kernels, recurrence

    k, (compute, pause) = jit_kernels.compiled(), jit_kernels.spin_calls()
    H, N, L = 64, 4, 3
    w = np.ones((4 * H, H), np.float32)
    packed = mkl.Packed(w[:2 * H], N)
    gates, hs = np.zeros((L, 4 * H, N), np.float32), np.zeros((L, H, N), np.float32)
    flags = np.zeros(3, np.int64)
    k.lstm_forward_halves(0, np.arange(L), compute, pause, packed.address, gates, np.empty((2 * H, N), np.float32),
                          hs, hs.copy(), hs.copy(), np.zeros((H, N), np.float32), np.zeros((H, N), np.float32),
                          flags, 1000)
    assert flags.tolist() == [1, 0, 1]  # finished its first step, then gave up
    with pytest.raises(RuntimeError, match="one half of the split recurrence waited too long"):
        recurrence._check_met(flags)
