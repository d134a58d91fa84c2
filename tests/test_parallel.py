"""deepgrad.parallel: the CPU thread pool, split matrix products, BLAS thread control; and the malloc setting."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import parallel


@pytest.fixture
def threads(monkeypatch):
    """Run a test with n threads: threads(n); restored afterwards."""
    def use(n):
        monkeypatch.setattr(parallel, "_threads", n)
    return use


def test_set_and_get_num_threads():
    old = dg.get_num_threads()
    try:
        dg.set_num_threads(3)
        assert dg.get_num_threads() == 3 == parallel.get_num_threads()
    finally:
        dg.set_num_threads(old)
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int, got 0"):
        dg.set_num_threads(0)
    with pytest.raises(TypeError, match="set_num_threads: expected a positive int, got float 2.0"):
        dg.set_num_threads(2.0)
    with pytest.raises(TypeError):
        dg.set_num_threads(True)


def test_default_thread_count_reads_the_environment():
    code = "import deepgrad as dg; print(dg.get_num_threads())"
    for env, want in (({"DEEPGRAD_NUM_THREADS": "3", "OMP_NUM_THREADS": "5"}, "3"), ({"OMP_NUM_THREADS": "5,2"}, "5")):
        full = {k: v for k, v in os.environ.items() if k not in ("DEEPGRAD_NUM_THREADS", "OMP_NUM_THREADS")}
        out = subprocess.run([sys.executable, "-c", code], env={**full, **env}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == want


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_parallel_for_runs_every_block_once(threads, n_threads):
    threads(n_threads)
    seen, names = [], set()
    lock = threading.Lock()

    def body(i):
        with lock:
            seen.append(i)
            names.add(threading.current_thread().name)

    parallel.parallel_for(50, body)
    assert sorted(seen) == list(range(50))
    assert len(names) <= n_threads


def test_parallel_for_reraises_and_stays_usable(threads):
    threads(2)

    def body(i):
        if i == 7:
            raise KeyError("block 7")

    with pytest.raises(KeyError, match="block 7"):
        parallel.parallel_for(20, body)
    done = []
    parallel.parallel_for(4, done.append)
    assert sorted(done) == [0, 1, 2, 3]


def test_nested_parallel_for_runs_serially(threads):
    threads(2)
    out = np.zeros((4, 4))

    def outer(i):
        parallel.parallel_for(4, lambda j: out.__setitem__((i, j), i * 4 + j))

    parallel.parallel_for(4, outer)
    assert np.array_equal(out, np.arange(16).reshape(4, 4))


def test_concurrent_callers_both_finish(threads):
    """A second thread that finds the pool busy runs its blocks itself."""
    threads(2)
    results = {}

    def caller(name):
        acc = []
        parallel.parallel_for(200, lambda i: acc.append(i))
        results[name] = sorted(acc)

    ts = [threading.Thread(target=caller, args=(k,)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(v == list(range(200)) for v in results.values()) and len(results) == 3


def test_blas_threads_limits_and_restores():
    found = parallel._find_openblas()
    if not found:
        pytest.skip("NumPy's BLAS is not OpenBLAS")
    _, get, _ = found
    before = get()
    with parallel.blas_threads(1):
        assert get() == 1
        with parallel.blas_threads(1):
            assert get() == 1
        assert get() == 1
    assert get() == before


@pytest.mark.parametrize("shapes", [((64, 30), (30, 8)),      # tall: blocks of rows
                                    ((8, 30), (30, 64)),      # wide: blocks of columns
                                    ((6, 9, 5), (6, 5, 7)),   # batched: blocks of the batch
                                    ((9, 5), (3, 5, 7)),      # broadcast batch: blocks of rows
                                    ((1, 9, 5), (3, 5, 7))])
def test_split_matmul_matches_numpy(threads, monkeypatch, shapes):
    threads(3)
    monkeypatch.setattr(parallel, "_SPLIT_MACS", 1)
    monkeypatch.setattr(parallel, "_blas_spins_briefly", lambda: False)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    got = parallel.matmul(a, b)
    np.testing.assert_allclose(got, a @ b, rtol=1e-5, atol=1e-5)
    assert got.dtype == np.float32 and got.shape == (a @ b).shape
    # a transposed (F-ordered) operand, as in x @ W.T
    wt = np.ascontiguousarray(b.swapaxes(-1, -2)).swapaxes(-1, -2)
    np.testing.assert_allclose(parallel.matmul(a, wt), a @ b, rtol=1e-5, atol=1e-5)


def test_split_matmul_is_bit_identical_across_thread_counts(threads, monkeypatch):
    monkeypatch.setattr(parallel, "_SPLIT_MACS", 1)
    monkeypatch.setattr(parallel, "_blas_spins_briefly", lambda: False)
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((40, 50)), rng.standard_normal((50, 30))
    threads(1)
    one = parallel.matmul(a, b)
    threads(3)
    assert np.array_equal(parallel.matmul(a, b), one)  # the same cut, whichever thread computes each block
    assert np.array_equal(parallel.matmul(a[0], b), a[0] @ b)  # 1-d operands: NumPy's rules


def test_layers_train_the_same_on_one_or_several_threads(threads, monkeypatch):
    """With products split on deepgrad's threads (BLAS's own threading may differ in the last bits)."""
    monkeypatch.setattr(parallel, "_SPLIT_MACS", 1)
    monkeypatch.setattr(parallel, "_blas_spins_briefly", lambda: False)
    losses = []
    for n in (1, 2):
        threads(n)
        dg.manual_seed(0)
        model = dg.nn.Sequential(dg.nn.Conv2d(1, 4, 3, padding=1), dg.nn.ReLU(), dg.nn.MaxPool2d(2), dg.nn.Flatten(),
                                 dg.nn.Linear(4 * 4 * 4, 10))
        opt = dg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        x, y = dg.randn(16, 1, 8, 8), dg.randint(0, 10, (16,))
        run = []
        for _ in range(5):
            opt.zero_grad()
            loss = dg.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            run.append(loss.item())
        losses.append(run)
    assert losses[0] == losses[1]


def test_blas_threaded_products_where_blas_spins_briefly(threads, monkeypatch):
    monkeypatch.setattr(parallel, "_blas_spins_briefly", lambda: True)
    threads(2)
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((30, 20)), rng.standard_normal((20, 10))
    np.testing.assert_allclose(parallel.matmul(a, b), a @ b, rtol=1e-12)
    found = parallel._find_openblas()
    if found:
        before = found[1]()
        parallel.matmul(a, b)
        assert found[1]() == before


def test_import_shortens_openblas_spin_only_before_numpy():
    code = "import {}; import deepgrad, os; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    first = subprocess.run([sys.executable, "-c", code.format("sys")], env=env, capture_output=True, text=True, check=True)
    late = subprocess.run([sys.executable, "-c", code.format("numpy")], env=env, capture_output=True, text=True,
                          check=True)
    assert first.stdout.strip() == "20" and late.stdout.strip() == "None"


def test_malloc_keeps_freed_memory_unless_told_not_to():
    code = "import deepgrad as dg; print(dg.backends.cpu.settings()['keep_freed_memory'][0])"
    import platform

    expected = str(platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DEEPGRAD_KEEP_FREED_MEMORY": "0"})
    assert on.stdout.strip() == expected and off.stdout.strip() == "False"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_pool_works_in_a_forked_child(threads):
    """The child gets fresh workers instead of waiting forever on threads that were not forked with it."""
    threads(2)
    parallel.parallel_for(4, lambda i: None)  # the parent's workers exist now
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if a parallel_for completes (within 20 s)
        import signal

        signal.alarm(20)
        code = 1
        try:
            out = []
            parallel.parallel_for(8, out.append)
            code = 0 if sorted(out) == list(range(8)) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


def test_blas_threads_never_raises_the_configured_count():
    code = ("import deepgrad, numpy as np; from deepgrad import parallel as p\n"
            "f = p._find_openblas()\n"
            "if f:\n"
            "    with p.blas_threads(4): print(f[1]())\n"
            "else: print(1)")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1"


def test_blas_count_restored_when_threads_leave_in_any_order():
    code = ("import deepgrad, numpy as np; from deepgrad import parallel as p\n"
            "f = p._find_openblas()\n"
            "if not f or f[1]() < 2: print('skip'); raise SystemExit\n"
            "before = f[1](); a, b = p.blas_threads(1), p.blas_threads(1)\n"
            "a.__enter__(); b.__enter__(); a.__exit__(None, None, None); mid = f[1]()\n"
            "b.__exit__(None, None, None); print(mid, f[1]() == before)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "OPENBLAS_NUM_THREADS": "2"},
                         capture_output=True, text=True, check=True).stdout.strip()
    if out == "skip":
        pytest.skip("needs OpenBLAS with 2 threads")
    assert out == "1 True"  # held at 1 while one thread is still inside, restored when the last one leaves


def test_bad_arguments_are_refused_in_one_sentence():
    with pytest.raises(ValueError, match="parallel_for: expected a non-negative int number of blocks, got 2.5"):
        parallel.parallel_for(2.5, lambda i: None)
    with pytest.raises(ValueError, match=r"matmul: \(3, 4\) @ \(5, 6\): inner dimensions differ \(4 vs 5\)"):
        parallel.matmul(np.zeros((3, 4)), np.zeros((5, 6)))
    code = "import warnings, deepgrad as dg; print(dg.get_num_threads() >= 1)"
    out = subprocess.run([sys.executable, "-W", "always", "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DEEPGRAD_NUM_THREADS": "many"})
    assert "ignoring DEEPGRAD_NUM_THREADS='many'; expected a positive integer" in out.stderr



@pytest.mark.parametrize("rows, row_size", [(0, 4), (1, 1), (5, 1 << 17), ((1 << 16) * 3 + 7, 1), (1000, 300)])
def test_row_blocks_cover_every_row_once_in_blocks_of_the_shape(threads, rows, row_size):
    threads(2)
    seen, lock = [], threading.Lock()

    def body(r):
        with lock:
            seen.append((r.start, r.stop))

    parallel.row_blocks(rows, row_size, body, np.empty(1))
    spans = sorted(seen)
    assert spans[0][0] == 0 and spans[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    per = max(1, parallel.BLOCK_ELEMENTS // row_size)
    assert all(stop - start == per for start, stop in spans[:-1])  # cut from the shape alone
    threads(1)
    seen.clear()
    parallel.row_blocks(rows, row_size, body, np.empty(1))
    assert seen == [(0, rows)]  # one thread: one call


def test_row_blocked_kernels_equal_on_one_and_two_threads(threads):
    """GELU, layer norm and fused attention at sizes of several blocks: the same bits on 1 and 2 threads."""
    import deepgrad.nn.functional as F

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 64, 512)).astype(np.float32)
    w, b = rng.standard_normal(512).astype(np.float32), rng.standard_normal(512).astype(np.float32)
    q, k, v = (rng.standard_normal((8, 4, 64, 32)).astype(np.float32) for _ in range(3))

    def run():
        leaves = [dg.tensor(a, requires_grad=True) for a in (x, w, b, q, k, v)]
        X, W, B, Q, K, V = leaves
        outs = [F.gelu(X, approximate="tanh"), F.layer_norm(X, (512,), W, B),
                F.scaled_dot_product_attention(Q, K, V, is_causal=True)]
        sum((o * o).sum() for o in outs).backward()
        return [o.detach().numpy() for o in outs] + [t.grad.numpy() for t in leaves]

    threads(1)
    one = run()
    threads(2)
    two = run()
    for a, c in zip(one, two):
        np.testing.assert_array_equal(a, c)


def test_row_blocks_refuses_bad_sizes_in_one_sentence():
    for rows, size in ((-1, 4), (3.0, 4), (3, -2)):
        with pytest.raises(ValueError, match=r"^row_blocks: expected non-negative int rows and row_size, got "):
            parallel.row_blocks(rows, size, lambda r: None)


def test_row_blocked_kernels_match_numpy_formulas_over_several_blocks(threads):
    """At sizes of several blocks, on 2 threads: GELU, layer norm and causal attention equal their NumPy formulas."""
    import deepgrad.nn.functional as F

    threads(2)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 64, 512))
    w, b = rng.standard_normal(512), rng.standard_normal(512)
    q, k, v = (rng.standard_normal((8, 4, 64, 16)) for _ in range(3))
    c = np.sqrt(2 / np.pi)
    gelu = 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(F.gelu(dg.tensor(x), approximate="tanh").numpy(), gelu, rtol=1e-12, atol=1e-12)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    ln = (x - mu) / np.sqrt(var + 1e-5) * w + b
    got = F.layer_norm(dg.tensor(x), (512,), dg.tensor(w), dg.tensor(b)).numpy()
    np.testing.assert_allclose(got, ln, rtol=1e-10, atol=1e-10)
    s = q @ k.swapaxes(-1, -2) / 4.0 + np.triu(np.full((64, 64), -np.inf), 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    got = F.scaled_dot_product_attention(dg.tensor(q), dg.tensor(k), dg.tensor(v), is_causal=True).numpy()
    np.testing.assert_allclose(got, p @ v, rtol=1e-10, atol=1e-12)


def test_total_sums_one_axis_and_rejects_other_shapes():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_allclose(parallel.total(a, 0), a.sum(0))
    np.testing.assert_allclose(parallel.total(a, 1), a.sum(1))
    for bad, axis in ((a[0], 0), (a, 2), (a, -1)):
        with pytest.raises(ValueError, match="total: expected a 2-d array and axis 0 or 1"):
            parallel.total(bad, axis)


def test_run_together_runs_every_block_at_the_same_time(threads):
    threads(3)
    meet = threading.Barrier(3, timeout=20)  # broken (BrokenBarrierError) unless all three blocks run at once
    seen = []
    parallel.run_together(3, lambda i: seen.append((i, meet.wait())))
    assert sorted(i for i, _ in seen) == [0, 1, 2]
    meet.reset()
    with parallel._pool_lock:  # another op holds the pool: fresh threads run the other blocks
        parallel.run_together(3, lambda i: meet.wait())


def test_run_together_refuses_what_cannot_run_at_once_and_reraises(threads):
    threads(2)
    assert parallel.can_run_together(2) and not parallel.can_run_together(3) and not parallel.can_run_together(1)
    with pytest.raises(ValueError, match="run_together: 3 blocks cannot run at once here"):
        parallel.run_together(3, lambda i: None)
    inside = []
    parallel.parallel_for(2, lambda i: inside.append(parallel.can_run_together(2)))
    assert inside == [False, False]  # inside a block: no

    def body(i):
        if i == 1:
            raise KeyError("block 1")

    with pytest.raises(KeyError, match="block 1"):
        parallel.run_together(2, body)
    parallel.run_together(2, lambda i: None)  # still usable
