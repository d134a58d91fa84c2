"""Intra-op parallelism on the CPU: the blocks of one large op run on several threads at once.

PyTorch runs its CPU kernels on ``torch.get_num_threads()`` threads; deepgrad does the same one level up, with NumPy
calls as the kernels. NumPy releases the GIL inside its copy loops, ufuncs and BLAS calls, so threads that each take
a block of samples (a convolution's column blocks, a pooling layer's planes) really run in parallel:

    dg.set_num_threads(1)    # everything on the calling thread
    dg.get_num_threads()     # default: DEEPGRAD_NUM_THREADS, else OMP_NUM_THREADS, else the CPUs this process may use

Inside those blocks BLAS is held to one thread per call (OpenBLAS, found with ctypes). Plain matrix products
(``matmul``, ``linear``) are threaded by BLAS itself, whose workers wait for the next call by spinning: that makes
back-to-back products of an MLP fast, but a worker spinning after a call takes a core from deepgrad's own threads —
by default for about 0.1 s (measured: a LeNet-5 step 50 % slower). ``import deepgrad`` therefore shortens the spin
to 2²⁰ cycles (≈ 0.4 ms) when NumPy is not loaded yet (see :mod:`deepgrad.backends.cpu`, where every process-wide
setting lives, with the thread count's default). If NumPy was imported first
and OpenBLAS kept its long spin, deepgrad never wakes BLAS's threads at all and splits large products into blocks on
its own threads instead (:func:`matmul`).

Blocked ops give the same results for every thread count: they cut their blocks from the op's shape alone, each block
writes its own part of the result, and partial sums are added in block order. Products threaded by BLAS can differ in
the last bits between thread counts, as in PyTorch.
"""
from __future__ import annotations

import ctypes
import functools
import math
import os
import threading

import numpy as np

from .backends import mkl
from .backends.cpu import default_num_threads

__all__ = ["get_num_threads", "set_num_threads", "parallel_for", "can_run_together", "run_together", "row_blocks",
           "matmul", "total", "blas_threads"]


_threads = default_num_threads()
_local = threading.local()  # .busy: this thread is running blocks of a parallel_for (no nesting)


def get_num_threads() -> int:
    """The number of threads one op may use on the CPU (see :func:`set_num_threads`)."""
    return _threads


def set_num_threads(n: int) -> None:
    """Use up to ``n`` threads per op on the CPU (``n`` = 1: everything on the calling thread), like
    ``torch.set_num_threads``. Blocked ops (convolution, pooling) give the same results for every ``n``; products
    threaded by BLAS may differ in the last bits (see the module docstring)."""
    global _threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: expected a positive int, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n}")
    _threads = n


class _Worker:
    """A daemon thread that runs one task at a time, handed over and back through two locks (one futex wake-up
    each way: about half the latency of a ThreadPoolExecutor's queue and futures)."""

    def __init__(self):
        self._go, self._done = threading.Lock(), threading.Lock()
        self._go.acquire()
        self._done.acquire()
        self._task = None
        threading.Thread(target=self._loop, name="deepgrad-worker", daemon=True).start()

    def _loop(self):
        while True:
            self._go.acquire()
            self._task()
            self._done.release()

    def start(self, task):
        self._task = task
        self._go.release()

    def join(self):
        self._done.acquire()


_workers: list = []
_pool_lock = threading.Lock()  # held while a parallel_for uses the workers


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's worker threads, and may have inherited locks held by them."""
    global _workers, _pool_lock, _blas_lock, _blas_depth
    _workers, _pool_lock, _blas_lock, _blas_depth = [], threading.Lock(), threading.Lock(), 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _as_block(errors: list, fn, *args) -> None:
    """Run ``fn(*args)`` as a block of a parallel op on this thread: marked busy (nested ops run serially, BLAS on
    one thread), its exception appended to ``errors`` for the caller to re-raise."""
    _local.busy = True
    try:
        fn(*args)
    except BaseException as e:  # noqa: BLE001 - handed to the caller, who re-raises it
        errors.append(e)
    finally:
        _local.busy = False


def parallel_for(n: int, body) -> None:
    """Call ``body(i)`` for every i in range(n), on up to :func:`get_num_threads` threads (the calling one included);
    return when all calls are done, re-raising the first exception one of them raised.

    Blocks are handed out one at a time, so uneven blocks balance themselves. Inside a block, a nested
    ``parallel_for`` runs serially, and BLAS runs on one thread (with one thread in all, too: deepgrad never wakes
    BLAS's own thread pool, whose threads would keep spinning on the cores after each call).
    """
    if n.__class__ is not int or n < 0:
        raise ValueError(f"parallel_for: expected a non-negative int number of blocks, got {n!r}")
    threads = min(_threads, n)
    if threads <= 1 or getattr(_local, "busy", False) or not _pool_lock.acquire(blocking=False):
        with blas_threads(1):
            for i in range(n):
                body(i)
        return
    try:
        while len(_workers) < threads - 1:
            _workers.append(_Worker())
        todo = iter(range(n))  # next() on a range iterator is atomic under the GIL: each block is taken once
        errors: list = []

        def blocks():
            for i in todo:
                if errors:
                    return
                body(i)

        work = functools.partial(_as_block, errors, blocks)
        with blas_threads(1):
            for w in _workers[:threads - 1]:
                w.start(work)
            work()
            for w in _workers[:threads - 1]:
                w.join()
    finally:
        _pool_lock.release()
    if errors:
        raise errors[0]


def can_run_together(n: int) -> bool:
    """Whether :func:`run_together` may run ``n`` blocks here: the op may use ``n`` threads and the caller is not
    itself inside a block."""
    return 2 <= n <= _threads and not getattr(_local, "busy", False)


def run_together(n: int, body) -> None:
    """Call ``body(i)`` for every i in range(n), all at the same time, each on its own thread (the calling one takes
    block 0) — for blocks that wait for each other, such as the halves of a recurrence that meet at every step.
    BLAS runs on one thread in each. The pool's workers run the other blocks when they are free, fresh threads
    when another op holds them. Re-raises the first exception a block raised. Check :func:`can_run_together`
    first."""
    if not can_run_together(n):
        raise ValueError(f"run_together: {n} blocks cannot run at once here (threads per op {_threads}, inside a "
                         f"block: {getattr(_local, 'busy', False)})")
    errors: list = []
    block = functools.partial(_as_block, errors, body)
    with blas_threads(1):
        if _pool_lock.acquire(blocking=False):
            try:
                while len(_workers) < n - 1:
                    _workers.append(_Worker())
                for i, w in enumerate(_workers[:n - 1], 1):
                    w.start(functools.partial(block, i))
                block(0)
                for w in _workers[:n - 1]:
                    w.join()
            finally:
                _pool_lock.release()
        else:
            others = [threading.Thread(target=block, args=(i,), daemon=True) for i in range(1, n)]
            for t in others:
                t.start()
            block(0)
            for t in others:
                t.join()
    if errors:
        raise errors[0]


BLOCK_ELEMENTS = 1 << 16  # elements per block of a multi-pass elementwise kernel (see row_blocks)


def row_blocks(rows: int, row_size: int, body, like=None) -> None:
    """Call ``body(s)`` for slices ``s`` that cut range(rows) into blocks of about :data:`BLOCK_ELEMENTS` elements
    (``row_size`` elements a row), on the op's threads (:func:`parallel_for`); one call ``body(slice(0, rows))``
    where the op is small, runs on one thread, or ``like`` is not a NumPy array (CuPy: the GPU does the splitting).

    For kernels that make several NumPy passes over rows that are independent of each other (an activation, a
    softmax, a layer norm): each block's passes then run on one thread while its arrays stay in that core's cache,
    and the blocks run two or more at a time. A block's rows are cut from the shapes alone, so the results are the
    same on any number of threads. Measured on the 2-core CPU, GELU's forward at (32, 64, 512): 4.5 ms against
    7.8 ms in one call; blocks much smaller than 2¹⁶ elements lose it again to the GIL handed between the
    threads at every NumPy call (2¹³: 15 ms)."""
    if rows.__class__ is not int or row_size.__class__ is not int or rows < 0 or row_size < 0:
        raise ValueError(f"row_blocks: expected non-negative int rows and row_size, got {rows!r} and {row_size!r}")
    per = max(1, BLOCK_ELEMENTS // max(1, row_size))
    parts = -(-rows // per)
    if parts <= 1 or _threads <= 1 or (like is not None and like.__class__ is not np.ndarray) \
            or getattr(_local, "busy", False):
        body(slice(0, rows))
        return
    parallel_for(parts, lambda i: body(slice(i * per, min(rows, (i + 1) * per))))


_MKL_MACS = 1 << 26  # multiply-adds from which a 2-d product runs on MKL when it is installed (see matmul)
_SPLIT_MACS = 1 << 23  # multiply-adds per block below which a product is not worth splitting (~0.15 ms of work)
_MAX_PARTS = 8


def matmul(a, b):
    """``a @ b`` for raw arrays, using the CPU threads.

    BLAS threads the product itself (on :func:`get_num_threads` threads) when its workers spin briefly (see the
    module docstring); inside a parallel block it runs on one thread. Otherwise a large 2-d product is cut into
    blocks of rows (or of columns, when the result is wide), a batched one into blocks of the batch, and the blocks
    run on deepgrad's threads, each as one single-threaded BLAS call; the cut depends on the shapes only.

    With the ``mkl`` extra installed, a 2-d float product of at least 2²⁶ multiply-adds runs on MKL instead
    (:mod:`deepgrad.backends.mkl`). Measured on the 2-core CPU: the GPT step of benchmarks/bench_sequence.py (products
    of 10⁸ multiply-adds) 0.92–0.94x its time on OpenBLAS; the MLP 784-256-256 step (products of 2.6·10⁷) 1.3x slower
    when its products ran on MKL too, hence the bound."""
    busy = getattr(_local, "busy", False)
    if a.__class__ is not np.ndarray or b.__class__ is not np.ndarray or a.ndim < 2 or b.ndim < 2:
        with blas_threads(1 if busy else _threads):
            return a @ b
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: {a.shape} @ {b.shape}: inner dimensions differ ({a.shape[-1]} vs {b.shape[-2]})")
    if a.ndim > 2 and b.ndim == 2 and a.flags.c_contiguous:  # a stack of rows times one matrix: one 2-d product
        return matmul(a.reshape(-1, a.shape[-1]), b).reshape(*a.shape[:-1], b.shape[-1])
    if a.ndim == b.ndim == 2 and a.shape[0] * a.shape[1] * b.shape[1] >= _MKL_MACS and mkl.applies(a, b):
        return mkl.matmul(a, b)  # MKL's threads, one inside a block (see deepgrad.backends.mkl)
    dot = np.dot if a.ndim == b.ndim == 2 else np.matmul  # dot: matmul holds the GIL around a transposed operand
    if not busy and _blas_spins_briefly():
        with blas_threads(_threads):
            return dot(a, b)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    parts = min(_MAX_PARTS, m * k * n * math.prod(batch) // _SPLIT_MACS)  # from the shapes alone (see above)
    if parts <= 1 or busy:
        with blas_threads(1):
            return dot(a, b)
    threads = parts
    out = np.empty((*batch, m, n), dtype=np.result_type(a, b))
    if not batch:
        if m >= 2 * n:  # blocks of rows: each thread packs all of b, but writes contiguous rows
            cuts = _cuts(m, threads)
            parallel_for(threads, lambda i: np.dot(a[cuts[i]], b, out=out[cuts[i]]))
        else:  # blocks of columns: each thread packs its part of b (measured the faster split for n ≳ m/2)
            cuts = _cuts(n, threads)
            parallel_for(threads, lambda i: np.matmul(a, b[:, cuts[i]], out=out[:, cuts[i]]))
    elif a.shape[:-2] == b.shape[:-2] and math.prod(batch) >= threads:
        a, b, o = a.reshape(-1, m, k), b.reshape(-1, k, n), out.reshape(-1, m, n)
        cuts = _cuts(o.shape[0], threads)
        parallel_for(threads, lambda i: np.matmul(a[cuts[i]], b[cuts[i]], out=o[cuts[i]]))
    else:  # blocks of rows, the batch dims broadcasting as they will
        cuts = _cuts(m, threads)
        parallel_for(threads, lambda i: np.matmul(a[..., cuts[i], :], b, out=out[..., cuts[i], :]))
    return out


def total(a, axis: int):
    """Σ of the 2-d array ``a`` along ``axis`` (a bias gradient over a batch), as a product with a vector of ones: a
    GEMV on BLAS's threads, measured on the 2-core CPU 4x the speed of ``a.sum(axis)`` at (1024, 2048) along axis
    1 and 2x at (2048, 512) along axis 0."""
    from .backend import array_module

    if getattr(a, "ndim", None) != 2 or axis not in (0, 1):
        raise ValueError(f"total: expected a 2-d array and axis 0 or 1, got shape {getattr(a, 'shape', type(a))} "
                         f"and axis {axis!r}")
    ones = array_module(a).ones(a.shape[axis], a.dtype)
    return matmul(a, ones) if axis == 1 else matmul(ones, a)


def _cuts(n: int, parts: int) -> list:
    return [slice(i * n // parts, (i + 1) * n // parts) for i in range(parts)]


# ------------------------------------------------------------------------------------------------ BLAS threads
_SETTERS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
            ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
            ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
            ("openblas_set_num_threads", "openblas_get_num_threads"))
_blas = None  # (set, get, path) once looked up; False where no OpenBLAS was found
_blas_timeout = 0  # OPENBLAS_THREAD_TIMEOUT as OpenBLAS read it (0: unset, its long default)
_blas_max = 1  # OpenBLAS's thread count when first looked up: never raised above
_blas_depth = 0
_blas_saved = _blas_set = 0
_blas_lock = threading.Lock()


def _find_openblas():
    """The (set, get) thread-count functions of the OpenBLAS that NumPy loaded and its path, or False (another BLAS,
    another OS)."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.rsplit("/", 1)[-1].lower()}
    except OSError:
        return False
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _SETTERS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
                return setter, getter, path
    return False


def _openblas():
    """:func:`_find_openblas`'s answer, looked up once (under ``_blas_lock``), with the thread count and the spin
    timeout that OpenBLAS started with."""
    global _blas, _blas_max, _blas_timeout
    if _blas is None:
        found = _find_openblas()
        if found:
            _blas_max = found[1]()
            try:
                fn = ctypes.CDLL(found[2]).openblas_thread_timeout
                fn.restype = ctypes.c_int
                _blas_timeout = fn()
            except (OSError, AttributeError):
                pass
        _blas = found
    return _blas


def _blas_spins_briefly() -> bool:
    """Whether OpenBLAS's idle workers spin at most 2²⁰ cycles (OPENBLAS_THREAD_TIMEOUT ≤ 20 when NumPy loaded it)."""
    if _blas is None:
        with _blas_lock:
            _openblas()
    return 0 < _blas_timeout <= 20


class blas_threads:
    """``with blas_threads(n):`` — OpenBLAS uses ``n`` threads per call inside the block, never more than it was
    configured with when deepgrad first looked (``OPENBLAS_NUM_THREADS=1`` is respected). Nestable and safe across
    threads: the first to enter sets the count, the last to leave restores it. A no-op where NumPy's BLAS is not
    OpenBLAS."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        global _blas_depth, _blas_saved, _blas_set
        with _blas_lock:
            if _openblas() and _blas_depth == 0:
                _blas_saved, _blas_set = _blas[1](), min(self.n, _blas_max)
                if _blas_saved != _blas_set:
                    _blas[0](_blas_set)
            _blas_depth += 1
        return self

    def __exit__(self, *exc):
        global _blas_depth
        with _blas_lock:
            _blas_depth -= 1
            if _blas and _blas_depth == 0 and _blas_saved != _blas_set:
                _blas[0](_blas_saved)
        return False
