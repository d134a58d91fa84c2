"""The CPU backend's switches, and the process-wide tuning that ``import deepgrad`` applies — all of it in one place.

Kernels:

* ``fast_kernels`` (default True; ``DEEPGRAD_KERNELS=reference`` in the environment makes it False): convolutions,
  max pooling and training-mode batch norm run the tuned kernels of :mod:`deepgrad.ops.cpu_kernels`; False runs the
  plain reference implementations beside the mathematics in :mod:`deepgrad.ops.conv`, :mod:`deepgrad.ops.pool` and
  :mod:`deepgrad.nn.functional.normalization` (same results to float rounding, slower, written to be read). Set it
  at any time (``deepgrad.backends.cpu.fast_kernels = False``) or for a block (``with cpu.flags(fast_kernels=False):``).
  With Numba installed (``pip install deepgrad[jit]``) it also switches on the compiled kernels of
  :mod:`deepgrad.ops.jit_kernels` (the LSTM and GRU cells, layer norm, GELU, attention's softmax, Adam) in place
  of their NumPy passes, and with Intel's MKL installed (``pip install deepgrad[mkl]``) the 2-d products and the
  recurrent layers' step products of :mod:`deepgrad.backends.mkl` in place of NumPy's BLAS.

Process-wide tuning, each setting applied once by ``import deepgrad`` (:func:`apply_process_tuning`), each with an
environment variable that turns it off, and :func:`report` saying what is set and why:

* **OpenBLAS's idle spin** — ``OPENBLAS_THREAD_TIMEOUT=20`` (2²⁰ cycles, ≈ 0.4 ms, instead of ≈ 0.1 s), only if
  NumPy is not loaded yet and the variable is unset. BLAS threads that keep spinning after a product take the cores
  that deepgrad's own block threads need next: measured on the 2-core CPU, a LeNet-5 training step 50 % slower
  without it. Off: ``DEEPGRAD_SHORT_BLAS_SPIN=0`` (or set ``OPENBLAS_THREAD_TIMEOUT`` yourself).
* **glibc malloc keeps freed memory** — ``M_MMAP_THRESHOLD`` 32 MiB (glibc's maximum) and ``M_TRIM_THRESHOLD`` 1 GiB.
  A training step allocates the same large buffers every time; by default glibc returns each buffer of a few MiB to
  the kernel when freed, so the next step faults every page in again, zero-filled: about 1,300 page faults and 15 %
  of a LeNet-5 step on the 2-core CPU. With the settings freed buffers are reused from the heap, still warm in cache
  (what PyTorch's caching allocator does for GPU memory); the process keeps its peak heap size. Linux/glibc only.
  Off: ``DEEPGRAD_KEEP_FREED_MEMORY=0``.
* **Numba's vector width** — applied when deepgrad first imports Numba (the first compiled kernel), not at import:
  on a CPU with AVX-512, LLVM's tuning for Intel's server cores keeps loops in 256-bit vectors; deepgrad sets
  ``numba.config.CPU_FEATURES`` to the host's features plus ``-prefer-256-bit``, so that its kernels run 16 float32
  lanes at a time. Only if the environment sets neither ``NUMBA_CPU_NAME`` nor ``NUMBA_CPU_FEATURES`` and nothing in
  the process has compiled with Numba yet; it then holds for every Numba function compiled later in the process
  (Numba caches code per feature set). Measured on the 2-core CPU: the LSTM cell's step 77 → 42 µs forward and
  67 → 25 µs backward at (H, N) = (256, 32). Off: ``DEEPGRAD_NUMBA_WIDE_VECTORS=0``.
* **Threads per op** — ``DEEPGRAD_NUM_THREADS``, else ``OMP_NUM_THREADS``, else the CPUs this process may use
  (:func:`deepgrad.set_num_threads` changes it later). Convolution and pooling blocks run on that many threads.
"""
from __future__ import annotations

import contextlib
import os
import sys

__all__ = ["fast_kernels", "flags", "apply_process_tuning", "settings", "report", "default_num_threads"]

_OFF = ("0", "false", "no", "off")


def _env_off(name: str) -> bool:
    return os.environ.get(name, "1").strip().lower() in _OFF


def _kernels_from_env() -> bool:
    value = os.environ.get("DEEPGRAD_KERNELS", "fast").strip().lower()
    if value in ("fast", ""):
        return True
    if value == "reference":
        return False
    import warnings

    warnings.warn(f"deepgrad: ignoring DEEPGRAD_KERNELS={value!r}; expected 'fast' or 'reference'", stacklevel=2)
    return True


fast_kernels: bool = _kernels_from_env()


@contextlib.contextmanager
def flags(fast_kernels: bool = True):
    """``with deepgrad.backends.cpu.flags(fast_kernels=False):`` runs the reference kernels inside the block."""
    module = sys.modules[__name__]
    saved = module.fast_kernels
    module.fast_kernels = bool(fast_kernels)
    try:
        yield
    finally:
        module.fast_kernels = saved


def default_num_threads() -> int:
    """Threads per op: ``DEEPGRAD_NUM_THREADS``, else ``OMP_NUM_THREADS`` (its first level), else the CPUs this
    process may use; an unusable value is warned about and skipped."""
    for var in ("DEEPGRAD_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()  # OMP_NUM_THREADS may list nested levels: "4,2"
        if value.isdigit() and int(value) >= 1:
            return int(value)
        if value:
            import warnings

            warnings.warn(f"deepgrad: ignoring {var}={os.environ[var]!r}; expected a positive integer", stacklevel=3)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


_applied: dict = {}  # setting -> (value, why), filled by apply_process_tuning


def _short_blas_spin() -> tuple:
    if _env_off("DEEPGRAD_SHORT_BLAS_SPIN"):
        return False, "off: DEEPGRAD_SHORT_BLAS_SPIN=0"
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return False, f"left as set: OPENBLAS_THREAD_TIMEOUT={os.environ['OPENBLAS_THREAD_TIMEOUT']}"
    if "numpy" in sys.modules:
        return False, "not set: NumPy (and OpenBLAS) was loaded before deepgrad"
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = "20"
    return True, "OPENBLAS_THREAD_TIMEOUT=20: idle BLAS threads spin ≈ 0.4 ms, not ≈ 0.1 s"


def _keep_freed_memory() -> tuple:
    import ctypes
    import platform

    if _env_off("DEEPGRAD_KEEP_FREED_MEMORY"):
        return False, "off: DEEPGRAD_KEEP_FREED_MEMORY=0"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False, "not glibc"
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False, "mallopt not found"
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))
    return ok, ("M_MMAP_THRESHOLD=32 MiB, M_TRIM_THRESHOLD=1 GiB: freed buffers are reused, not faulted in again"
                if ok else "mallopt refused")


def numba_wide_vectors(numba) -> tuple:
    """Ask LLVM for 512-bit vectors in the Numba just imported (see the module docstring); (applied, why), also
    recorded in :func:`settings` as ``numba_wide_vectors``."""
    _applied["numba_wide_vectors"] = result = _numba_wide_vectors(numba)
    return result


def _numba_wide_vectors(numba) -> tuple:
    if _env_off("DEEPGRAD_NUMBA_WIDE_VECTORS"):
        return False, "off: DEEPGRAD_NUMBA_WIDE_VECTORS=0"
    for name in ("NUMBA_CPU_NAME", "NUMBA_CPU_FEATURES"):
        if os.environ.get(name):
            return False, f"left as set: {name}={os.environ[name]}"
    from numba.core import registry

    if "_toplevel_target_context" in vars(registry.cpu_target):
        return False, "not set: Numba had compiled code before deepgrad's first kernel"
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if not features.get("avx512f", False):
        return False, "not set: the CPU has no AVX-512"
    numba.config.CPU_FEATURES = features.flatten() + ",-prefer-256-bit"
    return True, "numba.config.CPU_FEATURES = the host's + -prefer-256-bit: compiled loops use 512-bit vectors"


def apply_process_tuning() -> None:
    """Apply the process-wide settings above (once; ``import deepgrad`` calls it before NumPy loads)."""
    if _applied:
        return
    _applied["short_blas_spin"] = _short_blas_spin()
    _applied["keep_freed_memory"] = _keep_freed_memory()


def settings() -> dict:
    """What is set: {name: (value, why)} for ``fast_kernels``, ``jit_kernels``, ``mkl_gemm``, ``num_threads``,
    ``short_blas_spin``, ``keep_freed_memory`` and, once deepgrad has imported Numba, ``numba_wide_vectors``."""
    from .. import parallel
    from ..ops import jit_kernels
    from . import mkl

    out = {"fast_kernels": (fast_kernels, "ops.cpu_kernels" if fast_kernels else
                            "reference kernels (DEEPGRAD_KERNELS=reference or set at run time)"),
           "jit_kernels": (fast_kernels and jit_kernels.available(),
                           "LSTM/GRU cells, layer norm, GELU, attention softmax, Adam compiled by Numba "
                           "(ops.jit_kernels)"
                           if jit_kernels.available() else "Numba is not installed: NumPy passes (pip install "
                           "deepgrad[jit])"),
           "mkl_gemm": (fast_kernels and mkl.enabled and mkl.available(),
                        "NumPy's BLAS: deepgrad.backends.mkl.enabled is False (DEEPGRAD_MKL=0 or set at run time)"
                        if not mkl.enabled else
                        "2-d products and the recurrent layers' step products on Intel MKL (backends.mkl)"
                        if mkl.available() else "MKL is not installed: NumPy's BLAS (pip install deepgrad[mkl])"),
           "num_threads": (parallel.get_num_threads(), "threads per op (DEEPGRAD_NUM_THREADS, OMP_NUM_THREADS, "
                                                      "the CPUs available, or set_num_threads)")}
    out.update(_applied)
    return out


def report() -> str:
    """The settings as lines ``name = value  (why)``."""
    return "\n".join(f"{k} = {v}  ({why})" for k, (v, why) in settings().items())
