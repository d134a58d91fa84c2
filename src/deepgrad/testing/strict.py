"""The strict test device: NumPy underneath, CuPy's restrictions on top.

CI has no GPU, so deepgrad's CUDA code paths would never run there. :func:`strict_device` installs this module as
the CUDA backend for the duration of a ``with`` block: ``device="cuda"`` then computes with NumPy, but through an
array type that behaves like ``cupy.ndarray`` where porting mistakes hide:

- :class:`StrictArray` is not a ``numpy.ndarray``; ``numpy.asarray`` on it raises ``TypeError`` as on a CuPy array
  (use ``.get()`` or ``asnumpy``), and NumPy arrays are refused as operands of its arithmetic and its functions
  (host/device mixing), though they may index it, as in CuPy;
- indexing one element and reductions give 0-d arrays, never NumPy scalars; there is no ``__index__``;
- the module offers only what CuPy 14 offers: no ``errstate``, ``insert``, ``geomspace``...; ``ufunc.at`` only for
  the scatter ufuncs (add, subtract, maximum, minimum); ``lib.stride_tricks.as_strided(x, shape, strides)`` has no
  ``writeable`` argument and ``flags`` has no ``writeable``; ``random.Generator`` has CuPy's short list of
  methods (no ``normal``, ``choice`` or ``permutation``);
- arrays report the device ``cuda:0`` (``.device.id == 0``) and carry ``__cuda_array_interface__`` and a
  ``data.ptr`` (the address of their buffer, as CuPy's ``MemoryPointer``);
- ``cuda.Stream``, ``cuda.Event`` and ``cuda.get_current_stream`` exist. Kernels run at once (NumPy), so a stream
  only holds work that a stand-in library attaches to it with :func:`enqueue` (the tests' NCCL stand-in does):
  that work is complete only after the stream, an event recorded after it, or the device is synchronised, or a
  stream waits for such an event, as on a GPU, so code that reads a result without that wait reads stale data.

The lists of what CuPy lacks were read off CuPy 14.2 (``dir(cupy)`` against ``dir(numpy)``). Real kernels
(``ElementwiseKernel``, ``RawKernel``, ``fuse``) are not emulated: asking for one raises ``AttributeError`` naming it.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import types
import weakref
from collections.abc import Iterator

import numpy as np

# numpy names that CuPy 14 does not have (dir(numpy) - dir(cupy), public names).
_MISSING = frozenset("""
False_ ScalarType True_ asmatrix block bmat busday_count busday_offset busdaycalendar bytes_ char character
clongdouble complex256 core ctypeslib datetime64 datetime_as_string datetime_data dtypes einsum_path emath errstate
f2py flexible float128 frompyfunc fromregex geomspace get_include getbufsize geterr geterrcall histogram_bin_edges
info insert is_busday isnat little_endian longdouble ma matrix matvec memmap nanpercentile nanquantile ndenumerate
nditer nested_iters object_ polyder polydiv polyint rec recarray record sctypeDict setbufsize seterr seterrcall
show_runtime spacing str_ strings test timedelta64 typecodes unstack vecdot vecmat void testing
""".split())
_MISSING_LINALG = frozenset("diagonal matrix_norm multi_dot outer svdvals tensordot trace vecdot vector_norm".split())
_ARRAY_METHODS_MISSING = frozenset("ctypes getfield resize setfield setflags to_device".split())
_GENERATOR_METHODS = ("beta", "binomial", "chisquare", "dirichlet", "exponential", "f", "gamma", "geometric",
                      "hypergeometric", "integers", "logseries", "poisson", "power", "random",
                      "standard_exponential", "standard_gamma", "standard_normal", "uniform")
_SCATTER_UFUNCS = frozenset(("add", "subtract", "maximum", "minimum"))
_TRANSFERS = frozenset(("asarray", "array", "asanyarray"))  # host -> device copies, allowed as in CuPy


class StrictDeviceError(TypeError):
    """A NumPy array met a device array, or a NumPy-only feature was used on the strict device."""


def _refuse_host(where: str):
    raise StrictDeviceError(f"{where}: a numpy.ndarray met an array on the strict test device (a stand-in for "
                            "CuPy): move it with xp.asarray(...) first, as CuPy requires")


def _unwrap(x, where: str):
    """Device arrays -> their NumPy buffer; NumPy arrays refused; containers walked."""
    if type(x) is StrictArray:
        return x._a
    if isinstance(x, np.ndarray):
        _refuse_host(where)
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    return x


def _unwrap_index(k):
    """Indices may be NumPy arrays (CuPy converts them), device arrays or Python objects."""
    if type(k) is StrictArray:
        return k._a
    if isinstance(k, tuple):
        return tuple(_unwrap_index(v) for v in k)
    if isinstance(k, list):
        return [_unwrap_index(v) for v in k]
    return k


def _wrap(r):
    """NumPy results -> device arrays; NumPy scalars become 0-d arrays, as CuPy returns them."""
    if isinstance(r, np.ndarray):
        return StrictArray._of(r)
    if isinstance(r, np.generic):
        return StrictArray._of(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(v) for v in r)
    if isinstance(r, list):
        return [_wrap(v) for v in r]
    return r


class _Device:
    """``cupy.cuda.Device`` for the one strict device: a context manager with ``id`` and ``synchronize``."""

    def __init__(self, device: int | None = 0) -> None:
        index = 0 if device is None else int(device)
        if index != 0:
            raise RuntimeError(f"strict test device: cuda:{index} does not exist (there is one device, cuda:0)")
        self.id = 0

    def __enter__(self) -> _Device:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def use(self) -> None:
        return None

    def synchronize(self) -> None:
        for stream in list(_Stream._live.values()):
            stream.synchronize()

    def __eq__(self, other) -> bool:
        return isinstance(other, _Device) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("strict", self.id))

    def __repr__(self) -> str:
        return "<CUDA Device 0 (strict test device)>"


class _MemoryPointer:
    """``cupy.cuda.MemoryPointer``: the address of an array's first element (``ptr``) on device 0."""

    __slots__ = ("ptr",)
    device_id = 0

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


class _Stream:
    """``cupy.cuda.Stream`` on the strict device: a queue of the pending work attached by :func:`enqueue`.

    The NumPy kernels of the strict device finish before they return, so ordering among them needs nothing;
    what a stream holds is work that completes later (a collective of a stand-in communicator), each item an
    object with ``test() -> bool`` (finished?) and ``wait()`` (finish it).
    """

    _ptrs = itertools.count(1)
    _live: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
    null: _Stream

    def __init__(self, null: bool = False, non_blocking: bool = False, ptds: bool = False, priority=None) -> None:
        self.ptr = 0 if null else next(_Stream._ptrs)
        self.device_id = -1 if null else 0
        self._work: list = []
        _Stream._live[self.ptr] = self

    def _add(self, work) -> None:
        self._work = [w for w in self._work if not w.test()] + [work]

    def record(self, event: _Event | None = None) -> _Event:
        event = _Event() if event is None else event
        event.record(self)
        return event

    def wait_event(self, event: _Event) -> None:
        # later work on this stream runs on the host at once, so the event's work must be finished now
        event.synchronize()

    def synchronize(self) -> None:
        for w in self._work:
            w.wait()
        self._work = []

    @property
    def done(self) -> bool:
        return all(w.test() for w in self._work)

    def use(self) -> _Stream:
        _current[-1] = self
        return self

    def __enter__(self) -> _Stream:
        _current.append(self)
        return self

    def __exit__(self, *exc) -> None:
        _current.pop()

    def __repr__(self) -> str:
        return f"<Stream {self.ptr} (strict test device)>"


class _Event:
    """``cupy.cuda.Event``: marks the work queued on a stream so far; ``done`` and ``synchronize`` ask about it."""

    def __init__(self, block: bool = False, disable_timing: bool = False, interprocess: bool = False) -> None:
        self._work: list = []

    def record(self, stream: _Stream | None = None) -> None:
        self._work = list((_Stream.null if stream is None else stream)._work)  # CuPy: the null stream by default

    def synchronize(self) -> None:
        for w in self._work:
            w.wait()

    @property
    def done(self) -> bool:
        return all(w.test() for w in self._work)


_Stream.null = _Stream(null=True)
_current: list = [_Stream.null]


def enqueue(stream_ptr: int, work) -> None:
    """Attach ``work`` (``test() -> bool``, ``wait()``) to the strict stream whose ``ptr`` is ``stream_ptr``.

    For stand-ins of libraries that take a raw stream handle, as NCCL's calls do.
    """
    stream = _Stream._live.get(stream_ptr)
    if stream is None:
        raise StrictDeviceError(f"strict test device: no stream has the handle {stream_ptr}")
    stream._add(work)


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a: np.ndarray) -> None:
        self.c_contiguous, self.f_contiguous = a.flags.c_contiguous, a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, key: str) -> bool:
        return getattr(self, {"C_CONTIGUOUS": "c_contiguous", "F_CONTIGUOUS": "f_contiguous",
                              "OWNDATA": "owndata"}.get(key, key.lower()))


def _binary(ufunc_name: str, reflected: bool = False):
    def op(self, other):
        if isinstance(other, np.ndarray):
            _refuse_host(f"operator {ufunc_name}")
        if type(other) is not StrictArray and not isinstance(other, (int, float, complex, bool, np.generic)):
            return NotImplemented
        o = other._a if type(other) is StrictArray else other
        f = getattr(np, ufunc_name)
        return _wrap(f(o, self._a) if reflected else f(self._a, o))

    return op


def _inplace(ufunc_name: str):
    def op(self, other):
        if isinstance(other, np.ndarray):
            _refuse_host(f"in-place operator {ufunc_name}")
        o = other._a if type(other) is StrictArray else other
        getattr(np, ufunc_name)(self._a, o, out=self._a)
        return self

    return op


class StrictArray:
    """A device array of the strict test device (see the module docstring): a NumPy buffer behind CuPy's rules."""

    __slots__ = ("_a",)
    __array_priority__ = 100.0
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order: str = "C") -> None:
        if memptr is not None or strides is not None:
            raise StrictDeviceError("strict test device: ndarray(shape, dtype, memptr, strides) with a memory "
                                    "pointer is not emulated; use lib.stride_tricks.as_strided")
        self._a = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, a: np.ndarray) -> StrictArray:
        s = object.__new__(cls)
        s._a = a
        return s

    # ---- what CuPy refuses
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (strict test device, as CuPy). "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __getattr__(self, name: str):
        if name in _ARRAY_METHODS_MISSING or name.startswith("__"):
            raise AttributeError(f"'cupy.ndarray' (strict test device) has no attribute {name!r}")
        attr = getattr(self._a, name)
        if callable(attr):
            @functools.wraps(attr)
            def method(*args, **kwargs):
                return _wrap(attr(*_unwrap(args, f"ndarray.{name}"),
                                  **{k: _unwrap(v, f"ndarray.{name}") for k, v in kwargs.items()}))

            return method
        return _wrap(attr)

    # ---- attributes with CuPy's types
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    T = property(lambda self: StrictArray._of(self._a.T))
    mT = property(lambda self: StrictArray._of(np.swapaxes(self._a, -1, -2)))
    real = property(lambda self: StrictArray._of(self._a.real))
    imag = property(lambda self: StrictArray._of(self._a.imag))
    flags = property(lambda self: _Flags(self._a))
    device = property(lambda self: _Device(0))
    base = property(lambda self: None if self._a.base is None else StrictArray._of(np.asarray(self._a.base)))

    @property
    def data(self) -> _MemoryPointer:
        return _MemoryPointer(self._a.__array_interface__["data"][0])

    @property
    def __cuda_array_interface__(self) -> dict:
        return {"shape": self._a.shape, "typestr": self._a.dtype.str, "strides": self._a.strides,
                "data": (self._a.__array_interface__["data"][0], False), "version": 3}

    def get(self, stream=None, order: str = "C", out=None) -> np.ndarray:
        """The device -> host copy: a new ``numpy.ndarray``."""
        r = np.array(self._a, order=order)
        if out is not None:
            out[...] = r
            return out
        return r

    def set(self, arr, stream=None) -> None:
        """The host -> device copy into this array."""
        self._a[...] = arr

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def scatter_add(self, slices, value) -> None:
        np.add.at(self._a, _unwrap_index(slices), _unwrap(value, "ndarray.scatter_add"))

    # ---- Python protocols
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[StrictArray]:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (StrictArray._of(np.asarray(self._a[i])) for i in range(len(self._a)))

    def __bool__(self) -> bool:
        return bool(self._a)

    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __complex__(self) -> complex:
        return complex(self._a)

    def __repr__(self) -> str:
        return np.array_repr(self._a).replace("array(", "array(", 1)[:-1] + ", device='cuda:0 (strict)')"

    __str__ = __repr__

    def __copy__(self) -> StrictArray:
        return StrictArray._of(self._a.copy())

    def __deepcopy__(self, memo) -> StrictArray:
        return StrictArray._of(self._a.copy())

    def __reduce__(self):
        return (StrictArray._of, (self._a,))

    def __getitem__(self, key) -> StrictArray:
        r = self._a[_unwrap_index(key)]
        return StrictArray._of(r if isinstance(r, np.ndarray) else np.asarray(r))

    def __setitem__(self, key, value) -> None:
        self._a[_unwrap_index(key)] = value._a if type(value) is StrictArray else value

    # ---- NumPy's protocols dispatch to this module, as CuPy's do
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return getattr(_ufunc(ufunc.__name__), method)(*inputs, **kwargs)

    def __array_function__(self, func, types_, args, kwargs):
        name = func.__name__
        if name in _MISSING or not hasattr(np, name):
            return NotImplemented
        return getattr(xp, name)(*args, **kwargs)

    # ---- operators
    __add__, __radd__ = _binary("add"), _binary("add", True)
    __sub__, __rsub__ = _binary("subtract"), _binary("subtract", True)
    __mul__, __rmul__ = _binary("multiply"), _binary("multiply", True)
    __truediv__, __rtruediv__ = _binary("true_divide"), _binary("true_divide", True)
    __floordiv__, __rfloordiv__ = _binary("floor_divide"), _binary("floor_divide", True)
    __mod__, __rmod__ = _binary("remainder"), _binary("remainder", True)
    __pow__, __rpow__ = _binary("power"), _binary("power", True)
    __matmul__, __rmatmul__ = _binary("matmul"), _binary("matmul", True)
    __and__, __rand__ = _binary("bitwise_and"), _binary("bitwise_and", True)
    __or__, __ror__ = _binary("bitwise_or"), _binary("bitwise_or", True)
    __xor__, __rxor__ = _binary("bitwise_xor"), _binary("bitwise_xor", True)
    __lshift__, __rlshift__ = _binary("left_shift"), _binary("left_shift", True)
    __rshift__, __rrshift__ = _binary("right_shift"), _binary("right_shift", True)
    __eq__, __ne__ = _binary("equal"), _binary("not_equal")
    __lt__, __le__ = _binary("less"), _binary("less_equal")
    __gt__, __ge__ = _binary("greater"), _binary("greater_equal")
    __iadd__, __isub__, __imul__ = _inplace("add"), _inplace("subtract"), _inplace("multiply")
    __itruediv__, __ifloordiv__ = _inplace("true_divide"), _inplace("floor_divide")
    __imod__, __ipow__ = _inplace("remainder"), _inplace("power")
    __iand__, __ior__, __ixor__ = _inplace("bitwise_and"), _inplace("bitwise_or"), _inplace("bitwise_xor")

    def __neg__(self) -> StrictArray:
        return StrictArray._of(-self._a)

    def __pos__(self) -> StrictArray:
        return StrictArray._of(+self._a)

    def __abs__(self) -> StrictArray:
        return StrictArray._of(abs(self._a))

    def __invert__(self) -> StrictArray:
        return StrictArray._of(~self._a)


def _function(name: str, fn):
    """A module function: device arrays in, device arrays out; NumPy arrays refused except by the transfers."""
    transfer = name in _TRANSFERS

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if transfer:
            args = tuple(a._a if type(a) is StrictArray else _unwrap_index(a) for a in args)
        else:
            args = _unwrap(args, f"xp.{name}")
        kwargs = {k: _unwrap(v, f"xp.{name}") for k, v in kwargs.items()}
        r = fn(*args, **kwargs)
        if transfer and not isinstance(r, np.ndarray):
            r = np.asarray(r)
        return _wrap(r)

    return call


class _Ufunc:
    """A NumPy ufunc behind CuPy's surface: call, reduce, accumulate, outer; ``at`` only for scatter ufuncs."""

    def __init__(self, uf) -> None:
        self._uf, self.__name__ = uf, uf.__name__
        self.nin, self.nout, self.nargs = uf.nin, uf.nout, uf.nargs

    def __call__(self, *args, **kwargs):
        return _wrap(self._uf(*_unwrap(args, f"xp.{self.__name__}"),
                              **{k: _unwrap(v, f"xp.{self.__name__}") for k, v in kwargs.items()}))

    def _method(self, method: str, *args, **kwargs):
        return _wrap(getattr(self._uf, method)(*_unwrap(args, f"xp.{self.__name__}.{method}"),
                                               **{k: _unwrap(v, f"xp.{self.__name__}") for k, v in kwargs.items()}))

    def reduce(self, *args, **kwargs):
        return self._method("reduce", *args, **kwargs)

    def accumulate(self, *args, **kwargs):
        return self._method("accumulate", *args, **kwargs)

    def outer(self, *args, **kwargs):
        return self._method("outer", *args, **kwargs)

    def reduceat(self, *args, **kwargs):
        return self._method("reduceat", *args, **kwargs)

    def at(self, a, indices, b=None) -> None:
        if self.__name__ not in _SCATTER_UFUNCS:
            raise StrictDeviceError(f"xp.{self.__name__}.at: CuPy supports ufunc.at only for "
                                    f"{sorted(_SCATTER_UFUNCS)}")
        args = (b,) if b is not None else ()
        self._uf.at(_unwrap(a, "ufunc.at"), _unwrap_index(indices), *_unwrap(args, "ufunc.at"))


@functools.cache
def _ufunc(name: str) -> _Ufunc:
    return _Ufunc(getattr(np, name))


class _Generator:
    """``cupy.random.Generator``: only the methods CuPy has, each returning device arrays."""

    def __init__(self, bit_generator) -> None:
        self._g = np.random.Generator(bit_generator)

    def __getattr__(self, name: str):
        if name not in _GENERATOR_METHODS:
            raise AttributeError(f"'cupy.random.Generator' (strict test device) has no method {name!r}; CuPy's "
                                 f"Generator offers {', '.join(_GENERATOR_METHODS)}")
        f = getattr(self._g, name)

        def draw(*args, dtype=None, **kwargs):
            args = tuple(_unwrap(a, f"cupy.random.Generator.{name}") if type(a) is StrictArray else a for a in args)
            if dtype is not None and name not in ("integers", "standard_normal", "random", "standard_exponential",
                                                  "standard_gamma"):
                return _wrap(np.asarray(f(*args, **kwargs)).astype(dtype))
            return _wrap(f(*args, **kwargs) if dtype is None else f(*args, dtype=dtype, **kwargs))

        return draw


def _bit_generator(seed=None):
    return np.random.PCG64(seed)


def _as_strided(x, shape=None, strides=None) -> StrictArray:
    """``cupy.lib.stride_tricks.as_strided``: no ``subok`` and no ``writeable`` (CuPy's views are always writable)."""
    return StrictArray._of(np.lib.stride_tricks.as_strided(_unwrap(x, "as_strided"), shape=shape, strides=strides))


def _asnumpy(a, stream=None, order: str = "C", out=None) -> np.ndarray:
    if type(a) is StrictArray:
        return a.get(order=order, out=out)
    return np.asarray(a, order=order)


def _get_array_module(*args):
    return xp if any(type(a) is StrictArray for a in args) else np


class _Namespace(types.ModuleType):
    """A CuPy (sub)module built on a NumPy one: its public names, with CuPy's gaps."""

    def __init__(self, name: str, base, missing=frozenset(), extra=None) -> None:
        super().__init__(name)
        self._base, self._missing, self._extra = base, missing, dict(extra or {})

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in self._extra:
            value = self._extra[name]
        elif name in self._missing or not hasattr(self._base, name):
            raise AttributeError(f"module {self.__name__!r} (strict test device: CuPy 14's surface) has no "
                                 f"attribute {name!r}")
        else:
            value = getattr(self._base, name)
            if isinstance(value, np.ufunc):
                value = _ufunc(name)
            elif isinstance(value, (types.FunctionType, types.BuiltinFunctionType)) or (
                    callable(value) and not isinstance(value, type)):
                value = _function(name, value)
        setattr(self, name, value)
        return value


_random = _Namespace("cupy.random", np.random, frozenset(
    "MT19937 PCG64 PCG64DXSM Philox SFC64 SeedSequence bit_generator get_bit_generator get_state mtrand "
    "set_bit_generator set_state test".split()), extra={
    "Generator": _Generator, "XORWOW": _bit_generator, "Philox4x3210": _bit_generator, "MRG32k3a": _bit_generator,
    "default_rng": lambda seed=None: _Generator(_bit_generator(seed)),
})
_cuda = _Namespace("cupy.cuda", types.SimpleNamespace(), extra={
    "Device": _Device,
    "Stream": _Stream,
    "Event": _Event,
    "get_current_stream": lambda device_id=-1: _current[-1],
    "runtime": types.SimpleNamespace(getDeviceCount=lambda: 1),
    "get_device_id": lambda: 0,
})
_stride_tricks = types.SimpleNamespace(as_strided=_as_strided,
                                       sliding_window_view=_function("sliding_window_view",
                                                                     np.lib.stride_tricks.sliding_window_view))

xp = _Namespace("cupy", np, _MISSING, extra={
    "ndarray": StrictArray,
    "asnumpy": _asnumpy,
    "get_array_module": _get_array_module,
    "cuda": _cuda,
    "random": _random,
    "linalg": _Namespace("cupy.linalg", np.linalg, _MISSING_LINALG),
    "fft": _Namespace("cupy.fft", np.fft),
    "lib": types.SimpleNamespace(stride_tricks=_stride_tricks),
    "newaxis": None,
})
"""The strict module, standing where ``cupy`` would."""


def _erf(x):
    import math

    a = _unwrap(x, "cupyx.scipy.special.erf")
    try:
        from scipy.special import erf
    except ImportError:
        return _wrap(np.vectorize(math.erf, otypes=[a.dtype])(a))
    return _wrap(erf(a).astype(a.dtype, copy=False))


def _erfinv(y):
    from ..ops.elementwise import _erfinv_array

    return _wrap(_erfinv_array(_unwrap(y, "cupyx.scipy.special.erfinv")))


def _scatter_add(a, slices, value) -> None:
    np.add.at(_unwrap(a, "cupyx.scatter_add"), _unwrap_index(slices), _unwrap(value, "cupyx.scatter_add"))


xpx = types.SimpleNamespace(scatter_add=_scatter_add,
                            scipy=types.SimpleNamespace(special=types.SimpleNamespace(erf=_erf, erfinv=_erfinv)))
"""The strict twin of ``cupyx`` (the parts deepgrad uses)."""


@contextlib.contextmanager
def strict_device():
    """Within the block, ``"cuda"`` is the strict test device (NumPy with CuPy's restrictions).

    Example:
        >>> import deepgrad as dg
        >>> from deepgrad.testing import strict_device
        >>> with strict_device():
        ...     x = dg.ones(3, device="cuda", requires_grad=True)
        ...     (x * 2).sum().backward()
        ...     print(x.grad.device, x.grad.cpu().tolist())
        cuda:0 [2.0, 2.0, 2.0]
    """
    from .. import backend

    previous = backend.set_gpu_module(xp, xpx, 1)
    try:
        yield xp
    finally:
        backend.set_gpu_module(*previous)


__all__ = ["StrictArray", "StrictDeviceError", "enqueue", "strict_device", "xp", "xpx"]
