"""Tensor constructors: ``zeros``, ``ones``, ``arange``, ``randn``, ... on any device, PyTorch-style."""
from __future__ import annotations

import numpy as np

from . import backend
from .tensor import Tensor, tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace", "eye",
           "rand", "randn", "randint", "normal", "randperm", "zeros_like", "ones_like", "full_like", "empty_like",
           "rand_like", "randn_like", "randint_like"]


def _size_arg(op: str, size: tuple, kw: dict) -> tuple:
    """The sizes given positionally, or as PyTorch's ``size=`` keyword (not both)."""
    if kw.keys() - {"size"}:
        raise TypeError(f"{op}() got unexpected keyword argument(s) {sorted(kw.keys() - {'size'})}")
    if "size" in kw:
        if size:
            raise TypeError(f"{op}(): give the sizes positionally or as size=, not both")
        return (kw["size"],)
    return size


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    shape = tuple(int(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in size {shape}")
    return shape


def _make(fn, dtype, device, requires_grad):
    dev = backend.Device(device) if device is not None else backend.CPU
    xp = backend.module_for(dev)
    if dev.type == "cuda":
        with xp.cuda.Device(dev.index):
            arr = fn(xp)
    else:
        arr = fn(xp)
    if requires_grad and arr.dtype.kind != "f":
        raise RuntimeError(f"only floating tensors can require gradients, got dtype {arr.dtype}")
    return Tensor._wrap(arr, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor` but shares memory with a NumPy array (or Tensor) when dtype and device allow."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    if isinstance(data, np.ndarray) and device in (None, "cpu") and (dtype is None or backend.as_dtype(dtype) == data.dtype):
        backend.as_dtype(data.dtype)
        return Tensor._wrap(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(a: np.ndarray) -> Tensor:
    """A tensor sharing memory with the NumPy array ``a``."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    backend.as_dtype(a.dtype)
    return Tensor._wrap(a)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    shape, dt = _shape(_size_arg("zeros", size, kw)), backend.as_dtype(dtype)
    return _make(lambda xp: xp.zeros(shape, dtype=dt), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    shape, dt = _shape(_size_arg("ones", size, kw)), backend.as_dtype(dtype)
    return _make(lambda xp: xp.ones(shape, dtype=dt), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
    shape, dt = _shape(_size_arg("empty", size, kw)), backend.as_dtype(dtype)
    return _make(lambda xp: xp.empty(shape, dtype=dt), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape = _shape((size,)) if not isinstance(size, int) else (size,)
    if dtype is None:
        dtype = backend.bool_ if isinstance(fill_value, bool) else backend.int64 if isinstance(fill_value, int) else None
    dt = backend.as_dtype(dtype)
    return _make(lambda xp: xp.full(shape, fill_value, dtype=dt), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` (inclusive) to ``end`` (exclusive) by ``step``; integers give int64."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if dtype is None:
        ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.get_default_dtype()
    dt = backend.as_dtype(dtype)
    return _make(lambda xp: xp.arange(start, end, step).astype(dt), dtype, device, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    dt = backend.as_dtype(dtype)
    return _make(lambda xp: xp.linspace(start, end, steps).astype(dt), dtype, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dt = backend.as_dtype(dtype)
    return _make(lambda xp: xp.eye(n, m, dtype=dt), dtype, device, requires_grad)


def _rng(xp, device, generator):
    gen = generator if generator is not None else backend.default_generator
    return gen.module_rng(xp, backend.Device(device) if device is not None else None)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    shape, dt = _shape(size), backend.as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"rand: expected a floating dtype, got {dt}")
    draw = np.float64 if dt == np.float16 else dt  # generators draw float32/float64 only
    return _make(lambda xp: _rng(xp, device, generator).random(shape, dtype=draw).astype(dt, copy=False),
                 dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples."""
    shape, dt = _shape(size), backend.as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"randn: expected a floating dtype, got {dt}")
    draw = np.float64 if dt == np.float16 else dt
    return _make(lambda xp: _rng(xp, device, generator).standard_normal(shape, dtype=draw).astype(dt, copy=False),
                 dtype, device, requires_grad)


def normal(mean: float = 0.0, std: float = 1.0, size=(1,), dtype=None, device=None, requires_grad: bool = False,
           generator=None) -> Tensor:
    """Normal samples with the given mean and standard deviation."""
    if std < 0:
        raise ValueError(f"normal: std must be non-negative, got {std}")
    t = randn(*_shape((size,)), dtype=dtype, device=device, generator=generator)
    t._data = t._data * std + mean
    return t.requires_grad_(requires_grad) if requires_grad else t


def randint(low, high=None, size=(1,), dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniformly from [low, high)."""
    if high is None:
        low, high = 0, low
    if high <= low:
        raise ValueError(f"randint: expected low < high, got low={low}, high={high}")
    dt = backend.as_dtype(dtype if dtype is not None else backend.int64)
    shape = _shape((size,))
    return _make(lambda xp: _rng(xp, device, generator).integers(low, high, size=shape).astype(dt), dtype, device, False)


def randperm(n: int, dtype=None, device=None, generator=None) -> Tensor:
    dt = backend.as_dtype(dtype if dtype is not None else backend.int64)
    return _make(lambda xp: _rng(xp, device, generator).permutation(n).astype(dt), dtype, device, False)


def _like(fn):
    def f(t: Tensor, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
        return fn(*t.shape, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad, **kw)

    return f


zeros_like, ones_like, empty_like, rand_like, randn_like = (_like(f) for f in (zeros, ones, empty, rand, randn))


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device, requires_grad=requires_grad)


def randint_like(t: Tensor, low, high=None, dtype=None, device=None) -> Tensor:
    return randint(low, high, size=t.shape, dtype=dtype or t.dtype, device=device or t.device)
