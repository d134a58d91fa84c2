"""C = A·B on Intel MKL, for NumPy float32/float64 matrices (optional: ``pip install deepgrad[mkl]``).

NumPy multiplies matrices with OpenBLAS. Where Intel's ``mkl`` wheel is installed — the BLAS inside PyTorch's CPU
build — deepgrad's 2-d CPU products (:func:`deepgrad.parallel.matmul`: Linear layers, the recurrent layers' weight
products) run on MKL through its C interface instead, and a recurrent layer packs W_hh once per sequence with MKL's
packed GEMM (``cblas_?gemm_pack``, then ``cblas_?gemm_compute`` at every step) instead of having BLAS repack it
at every step. Measured on the 2-core CPU, (1024 × 256)(256 × 32) — an LSTM step's product at hidden size 256 and
batch 32: 94 µs packed, 118 µs unpacked, 150 µs on OpenBLAS; (1024 × 2048)(2048 × 321): 7.9 ms against 9–10 ms.
The results equal OpenBLAS's to float rounding (the order of the sums differs).

Threads: MKL's Intel OpenMP layer, with :func:`deepgrad.get_num_threads` threads per product (one inside a
:func:`deepgrad.parallel.parallel_for` block), its idle workers spinning for 1 ms after a product
(``kmp_set_blocktime``): OpenMP's default of 200 ms would keep them spinning on the cores that OpenBLAS and
deepgrad's own threads need next (measured: an OpenBLAS product right after a loop of MKL products took 18 ms
instead of 9). These are MKL's own settings; nothing else in the process changes.

The rule is :func:`applies`: :data:`enabled` (default True; ``DEEPGRAD_MKL=0`` in the environment makes it False;
like ``torch.backends.mkldnn.enabled``, settable at any time), ``deepgrad.backends.cpu.fast_kernels``, MKL installed
and loadable, NumPy arrays, one dtype, float32 or float64. Otherwise callers use NumPy's ``@``.
"""
from __future__ import annotations

import ctypes
import functools
import importlib.metadata
import os
import threading
import warnings

import numpy as np

__all__ = ["enabled", "available", "applies", "matmul", "Packed"]

enabled: bool = os.environ.get("DEEPGRAD_MKL", "1").strip().lower() not in ("0", "false", "no", "off")

_ROW_MAJOR, _NO_TRANS, _TRANS, _PACKED, _A_MATRIX = 101, 111, 112, 151, 161
_THREADING_INTEL = 0
_BLOCKTIME_MS = 1
_lib = None
_tls = threading.local()  # .threads: the MKL thread count last set for this thread


def _find_library():
    """The path of ``libmkl_rt.so`` from the installed ``mkl`` distribution, or None."""
    try:
        files = importlib.metadata.files("mkl") or []
    except importlib.metadata.PackageNotFoundError:
        return None
    found = sorted(str(f.locate()) for f in files if f.name.startswith("libmkl_rt.so"))
    return found[-1] if found else None


@functools.cache
def available() -> bool:
    """True when the ``mkl`` wheel is installed and its library loads (the first call loads it and sets MKL's
    threading as the module docstring says). An MKL that is installed but does not load counts as absent, with
    one warning saying so."""
    global _lib
    path = _find_library()
    if path is None:
        return False
    try:
        lib = ctypes.CDLL(path)
        _bind(lib)
        if not os.environ.get("MKL_THREADING_LAYER"):
            lib.MKL_Set_Threading_Layer(_THREADING_INTEL)
        omp = os.path.join(os.path.dirname(path), "libiomp5.so")
        if os.path.exists(omp):
            ctypes.CDLL(omp).kmp_set_blocktime(_BLOCKTIME_MS)
    except (OSError, AttributeError) as e:
        warnings.warn(f"deepgrad: the mkl package is installed but {path} does not load ({e}); products run on "
                      f"NumPy's BLAS", RuntimeWarning, stacklevel=2)
        return False
    _lib = lib
    return True


def _bind(lib) -> None:
    i, p, size = ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t
    for t, real in (("s", ctypes.c_float), ("d", ctypes.c_double)):
        f = getattr(lib, f"cblas_{t}gemm")
        f.argtypes, f.restype = [i] * 6 + [real, p, i, p, i, real, p, i], None
        f = getattr(lib, f"cblas_{t}gemm_pack_get_size")
        f.argtypes, f.restype = [i] * 4, size
        f = getattr(lib, f"cblas_{t}gemm_pack")
        f.argtypes, f.restype = [i] * 6 + [real, p, i, p], None
        f = getattr(lib, f"cblas_{t}gemm_compute")
        f.argtypes, f.restype = [i] * 6 + [p, i, p, i, real, p, i], None
    lib.MKL_Set_Threading_Layer.argtypes = [i]
    lib.MKL_Set_Num_Threads_Local.argtypes, lib.MKL_Set_Num_Threads_Local.restype = [i], i


def applies(*arrays) -> bool:
    """Whether the products of ``arrays`` run on MKL: the rule in the module docstring."""
    from . import cpu

    if not (enabled and cpu.fast_kernels):
        return False
    dt = arrays[0].dtype if arrays[0].__class__ is np.ndarray else None
    if dt not in (np.float32, np.float64):
        return False
    return all(a.__class__ is np.ndarray and a.dtype == dt for a in arrays) and available()


def _library():
    """The loaded MKL (loading it if it was not), or RuntimeError where it is not installed."""
    if _lib is None and not available():
        raise RuntimeError("deepgrad.backends.mkl: MKL is not installed (pip install deepgrad[mkl])")
    return _lib


def _set_threads() -> None:
    """Before each MKL call: MKL's thread count for the calling thread (the library is loaded here if it was not)."""
    from .. import parallel

    _library()
    n = 1 if getattr(parallel._local, "busy", False) else parallel.get_num_threads()
    if getattr(_tls, "threads", None) != n:
        _lib.MKL_Set_Num_Threads_Local(n)
        _tls.threads = n


def _operand(x):
    """(array, transpose flag, leading dimension) describing the row-major matrix x for CBLAS, copying only when its
    strides fit neither row- nor column-major."""
    item = x.itemsize
    r, c = x.shape
    s0, s1 = x.strides
    if r > 1 and c > 1:
        if s1 == item and s0 >= c * item and s0 % item == 0:
            return x, _NO_TRANS, s0 // item
        if s0 == item and s1 >= r * item and s1 % item == 0:
            return x, _TRANS, s1 // item
    x = np.ascontiguousarray(x)
    return x, _NO_TRANS, max(1, c)


def _check(name, a, b, out):
    if a.__class__ is not np.ndarray or b.__class__ is not np.ndarray or a.dtype != b.dtype \
            or a.dtype not in (np.float32, np.float64):
        got = " and ".join(f"{type(x).__name__} {getattr(x, 'dtype', None)}" for x in (a, b))
        raise ValueError(f"{name}: expected two NumPy arrays of one dtype, float32 or float64, got {got}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"{name}: expected matrices (M, K) and (K, N), got shapes {a.shape} and {b.shape}")
    want = (a.shape[0], b.shape[1])
    if out is None:
        return np.empty(want, a.dtype)
    if out.__class__ is not np.ndarray or out.shape != want or out.dtype != a.dtype or not out.flags.c_contiguous:
        got = f"{type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}"
        raise ValueError(f"{name}: out must be a C-contiguous {a.dtype} array of shape {want}, got {got}")
    return out


def matmul(a, b, out=None):
    """a @ b for 2-d NumPy arrays of one float dtype (see :func:`applies`), on MKL; into ``out`` if given (C-contiguous,
    the result's shape and dtype)."""
    out = _check("mkl.matmul", a, b, out)
    (m, k), n = a.shape, b.shape[1]
    if m == 0 or n == 0:
        return out
    if k == 0:
        out.fill(0)
        return out
    a, ta, lda = _operand(a)
    b, tb, ldb = _operand(b)
    _set_threads()
    gemm = _lib.cblas_sgemm if a.dtype == np.float32 else _lib.cblas_dgemm
    gemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0, out.ctypes.data, n)
    return out


@functools.cache
def c_functions():
    """``cblas_sgemm_compute`` with its pointers typed as integers, as a ctypes function object that Numba-compiled
    code calls directly (see ``jit_kernels.lstm_forward_halves``): a compiled loop multiplies on a :class:`Packed`
    float32 matrix (``packed.address``) without returning to Python."""
    i, p = ctypes.c_int, ctypes.c_size_t
    return ctypes.CFUNCTYPE(None, i, i, i, i, i, i, p, i, p, i, ctypes.c_float, p, i)(
        ("cblas_sgemm_compute", _library()))


class Packed:
    """A (M, K) packed once in MKL's internal layout, for many products A·B with B (K, n) — the same A at every step
    of a recurrence. ``Packed(a, n)(b, out)`` writes A·b into ``out`` (C-contiguous (M, n)) and returns it."""

    def __init__(self, a, n: int):
        if a.__class__ is not np.ndarray or a.ndim != 2 or a.dtype not in (np.float32, np.float64) \
                or n.__class__ is not int or n < 1 or 0 in a.shape:
            raise ValueError(f"mkl.Packed: expected a non-empty float32/float64 matrix and a positive int n, got "
                             f"{type(a).__name__} {getattr(a, 'shape', '')} {getattr(a, 'dtype', '')} and n={n!r}")
        t = "s" if a.dtype == np.float32 else "d"
        self.shape, self.n, self.dtype = a.shape, n, a.dtype
        m, k = a.shape
        a, ta, lda = _operand(a)
        _set_threads()
        size = getattr(_lib, f"cblas_{t}gemm_pack_get_size")(_A_MATRIX, m, n, k)
        self._buf = np.empty(-(-size // a.itemsize), a.dtype)  # MKL's packed A; kept alive with self
        getattr(_lib, f"cblas_{t}gemm_pack")(_ROW_MAJOR, _A_MATRIX, ta, m, n, k, 1.0, a.ctypes.data, lda,
                                             self._buf.ctypes.data)
        self._compute = getattr(_lib, f"cblas_{t}gemm_compute")
        self.address = self._buf.ctypes.data  # of the packed A, for compiled callers of c_functions()'s compute

    def __call__(self, b, out):
        m, k = self.shape
        if b.__class__ is not np.ndarray or b.shape != (k, self.n) or b.dtype != self.dtype \
                or not b.flags.c_contiguous:
            raise ValueError(f"mkl.Packed: expected a C-contiguous {self.dtype} array of shape {(k, self.n)}, got "
                             f"{type(b).__name__} {getattr(b, 'shape', '')} {getattr(b, 'dtype', '')}")
        if out.__class__ is not np.ndarray or out.shape != (m, self.n) or out.dtype != self.dtype \
                or not out.flags.c_contiguous:
            raise ValueError(f"mkl.Packed: out must be a C-contiguous {self.dtype} array of shape {(m, self.n)}")
        _set_threads()
        self._compute(_ROW_MAJOR, _PACKED, _NO_TRANS, m, self.n, k, self.address, k, b.ctypes.data,
                      self.n, 0.0, out.ctypes.data, self.n)
        return out
