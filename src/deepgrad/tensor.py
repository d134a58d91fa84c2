"""``Tensor``: an array of the active backend, plus what reverse-mode differentiation needs.

A Tensor holds ``_data`` (a NumPy or CuPy array), ``requires_grad``, ``grad`` and ``grad_fn`` — the graph node
(:class:`deepgrad.autograd.Function`) that made it, or ``None`` for a leaf. Operators and methods call the ops in
:mod:`deepgrad.ops`, which record the graph as they compute.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import grad_mode


class Tensor:
    """A multi-dimensional array with automatic differentiation.

    Create one with :func:`deepgrad.tensor`, :func:`deepgrad.zeros`, :func:`deepgrad.randn`, ... Set
    ``requires_grad=True`` on the leaves you want gradients for; ``loss.backward()`` fills their ``.grad``.
    """

    __slots__ = ("_data", "grad", "grad_fn", "requires_grad", "_version", "_retains_grad", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy scalars defer to Tensor's reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad: bool = False) -> None:
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._data, self.grad, self.grad_fn = t._data, None, None
        self.requires_grad, self._version, self._retains_grad, self._hooks = t.requires_grad, 0, False, None

    @staticmethod
    def _wrap(data, requires_grad: bool = False) -> Tensor:
        """A leaf around an existing backend array (no copy)."""
        t = Tensor.__new__(Tensor)
        t._data, t.grad, t.grad_fn, t.requires_grad = data, None, None, requires_grad
        t._version, t._retains_grad, t._hooks = 0, False, None
        return t

    # ------------------------------------------------------------------------------------------ properties
    @property
    def data(self) -> Tensor:
        """The same values as a Tensor detached from the graph (assigning to it replaces the values)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        self._data = value._data if isinstance(value, Tensor) else value
        self._version += 1

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self) -> backend.Device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802
        """All axes reversed."""
        return self.permute(tuple(reversed(range(self.ndim)))) if self.ndim > 1 else self

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The last two axes swapped (a batch of transposed matrices)."""
        return self.transpose(-2, -1)

    def numel(self) -> int:
        return int(self._data.size)

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def element_size(self) -> int:
        return self.dtype.itemsize

    # ------------------------------------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (shares memory on the CPU). Refuses tensors that require grad, like PyTorch."""
        if self.requires_grad:
            raise RuntimeError("numpy(): this tensor requires grad; call .detach().numpy() to take its values")
        return backend.to_device(self._data, backend.CPU)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): only a one-element tensor converts to a Python number; this one has shape "
                             f"{tuple(self.shape)}")
        return self._data.reshape(()).item() if isinstance(self._data, np.ndarray | np.generic) else \
            backend.to_device(self._data, backend.CPU).item()

    def tolist(self):
        return np.asarray(backend.to_device(self._data, backend.CPU)).tolist()

    def __array__(self, dtype=None, copy=None):
        a = np.asarray(backend.to_device(self._data, backend.CPU))
        return a.astype(dtype) if dtype is not None else a

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.dtype.kind not in "iu" or self.numel() != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, got {self.dtype} {tuple(self.shape)}")
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                               "use .any() or .all()")
        return bool(self.item())

    def to(self, *args, dtype=None, device=None, copy: bool = False) -> Tensor:
        """A tensor on another device and/or of another dtype (``self`` if nothing changes), differentiably."""
        for a in args:
            if isinstance(a, (backend.Device,)) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
                device = a
            elif isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            else:
                dtype = a
        out = self
        if dtype is not None:
            dt = backend.as_dtype(dtype)
            if dt != self.dtype:
                out = _Cast(dt)(out)
        if device is not None:
            dev = backend.Device(device)
            if dev != out.device:
                out = _ToDevice(dev)(out)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self) -> Tensor:
        return self.to(backend.float32)

    def double(self) -> Tensor:
        return self.to(backend.float64)

    def half(self) -> Tensor:
        return self.to(backend.float16)

    def long(self) -> Tensor:
        return self.to(backend.int64)

    def int(self) -> Tensor:
        return self.to(backend.int32)

    def bool(self) -> Tensor:
        return self.to(backend.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # ------------------------------------------------------------------------------------------- autograd
    def detach(self) -> Tensor:
        """The same values (shared memory), cut from the graph."""
        return Tensor._wrap(self._data)

    def detach_(self) -> Tensor:
        self.grad_fn, self.requires_grad = None, False
        return self

    def clone(self) -> Tensor:
        """A copy of the values that stays in the graph (its gradient flows back to ``self``)."""
        return _Clone()(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_(False): only leaves can stop requiring grad; use .detach()")
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"requires_grad_: only floating tensors can require gradients, this one is {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.is_leaf:
            return
        if not self._retains_grad:
            import weakref

            ref = weakref.ref(self)

            def keep(g):
                t = ref()
                if t is not None:
                    t.grad = g.detach() if t.grad is None else t.grad + g.detach()

            self.register_hook(keep)
            self._retains_grad = True

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces the gradient."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient will reach it")
        if self.grad_fn is None:
            self._hooks = (self._hooks or []) + [hook]
            holder, name = self, "_hooks"
        else:
            hooks = self.grad_fn.__dict__.setdefault("_hooks", [])
            hooks.append(hook)
            holder, name = None, None

        class _Handle:
            def remove(_self):
                if holder is not None:
                    holder._hooks = [h for h in (getattr(holder, name) or []) if h is not hook] or None
                else:
                    hooks[:] = [h for h in hooks if h is not hook]

        return _Handle()

    def backward(self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad and add it to the leaf's ``.grad``.

        ``gradient`` is required when ``self`` is not a scalar: it is the vector in the vector-Jacobian product.
        """
        from .autograd import backward

        backward([self], None if gradient is None else [gradient], retain_graph=retain_graph,
                 create_graph=create_graph, inputs=inputs)

    # ------------------------------------------------------------------------------------------- printing
    def __repr__(self) -> str:
        arr = np.asarray(backend.to_device(self._data, backend.CPU))
        body = np.array2string(arr, separator=", ", precision=4, prefix="tensor(", threshold=200, edgeitems=3)
        extras = []
        if arr.dtype != backend.get_default_dtype() and arr.dtype != np.int64 and arr.dtype != np.bool_:
            extras.append(f"dtype={arr.dtype}")
        elif arr.size == 0:
            extras.append(f"size={tuple(arr.shape)}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __format__(self, spec: str) -> str:
        if self.numel() == 1 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __hash__(self) -> int:
        return id(self)

    # ------------------------------------------------------------------------------------- in-place helpers
    def _check_inplace(self, op: str) -> None:
        if grad_mode.state.enabled and self.requires_grad and self.grad_fn is None:
            raise RuntimeError(f"{op}: a leaf tensor that requires grad cannot be changed in place while the graph "
                               "is recorded; wrap the update in `with deepgrad.no_grad():`")

    def _set(self, data) -> Tensor:
        """Replace the values in place (same shape), bumping the version counter."""
        xp = backend.array_module(self._data)
        if isinstance(self._data, np.generic):
            self._data = np.asarray(self._data)
        xp.copyto(self._data, data, casting="unsafe")
        self._version += 1
        return self

    def __setitem__(self, key, value) -> None:
        if grad_mode.state.enabled and self.requires_grad:
            raise RuntimeError("__setitem__: cannot assign into a tensor that requires grad while the graph is "
                               "recorded; use deepgrad.where / masked_fill, or assign under deepgrad.no_grad()")
        from .ops.index import _convert_key

        v = value._data if isinstance(value, Tensor) else value
        self._data[_convert_key(key)] = v
        self._version += 1

    def _inplace(self, op: str, fn, other=None) -> Tensor:
        other_requires = isinstance(other, Tensor) and other.requires_grad
        if grad_mode.state.enabled and (self.requires_grad or other_requires):
            if self.grad_fn is None and self.requires_grad:
                self._check_inplace(op)
            raise RuntimeError(f"{op}: in-place ops on tensors in a recorded graph are not supported; write "
                               f"x = x {op} y (out of place), or run it under deepgrad.no_grad()")
        o = other._data if isinstance(other, Tensor) else other
        res = fn(self._data, o)
        if res.shape != self.shape:
            from .ops._util import ShapeError

            raise ShapeError(f"{op}: result of shape {res.shape} does not fit in place into shape {tuple(self.shape)}")
        return self._set(res)

    def add_(self, other, *, alpha=1) -> Tensor:
        return self._inplace("add_", lambda a, b: a + (b * alpha if alpha != 1 else b), other)

    def sub_(self, other, *, alpha=1) -> Tensor:
        return self._inplace("sub_", lambda a, b: a - (b * alpha if alpha != 1 else b), other)

    def mul_(self, other) -> Tensor:
        return self._inplace("mul_", lambda a, b: a * b, other)

    def div_(self, other) -> Tensor:
        return self._inplace("div_", lambda a, b: a / b, other)

    def pow_(self, other) -> Tensor:
        return self._inplace("pow_", lambda a, b: a ** b, other)

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002
        return self._inplace("clamp_", lambda a, _: backend.array_module(a).clip(a, min, max))

    def zero_(self) -> Tensor:
        return self._inplace("zero_", lambda a, _: backend.array_module(a).zeros_like(a))

    def fill_(self, value) -> Tensor:
        return self._inplace("fill_", lambda a, _: backend.array_module(a).full_like(a, value))

    def copy_(self, src) -> Tensor:
        src_data = src._data if isinstance(src, Tensor) else src
        xp = backend.array_module(self._data)
        return self._inplace("copy_", lambda a, _: xp.broadcast_to(backend.to_device(src_data, self.device), a.shape))

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
        from .creation import rand

        return self._inplace("uniform_", lambda x, _: rand(*x.shape, dtype=x.dtype, device=self.device,
                                                             generator=generator)._data * (b - a) + a)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
        from .creation import randn

        return self._inplace("normal_", lambda x, _: randn(*x.shape, dtype=x.dtype, device=self.device,
                                                             generator=generator)._data * std + mean)

    def __iadd__(self, other):
        return self.add_(other) if self._can_inplace(other) else self + other

    def __isub__(self, other):
        return self.sub_(other) if self._can_inplace(other) else self - other

    def __imul__(self, other):
        return self.mul_(other) if self._can_inplace(other) else self * other

    def __itruediv__(self, other):
        return self.div_(other) if self._can_inplace(other) else self / other

    def _can_inplace(self, other) -> bool:
        """``x += y`` works in place when no graph is involved; inside a graph it rebinds x out of place."""
        if not grad_mode.state.enabled:
            return True
        if self.requires_grad and self.grad_fn is None:
            self._check_inplace("in-place operator")
        return not (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))

    # ------------------------------------------------------------------------------------- new tensors
    def new_zeros(self, *shape) -> Tensor:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Tensor._wrap(backend.array_module(self._data).zeros(shape, dtype=self.dtype))

    def new_ones(self, *shape) -> Tensor:
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        return Tensor._wrap(backend.array_module(self._data).ones(shape, dtype=self.dtype))

    def new_full(self, shape, value) -> Tensor:
        return Tensor._wrap(backend.array_module(self._data).full(shape, value, dtype=self.dtype))

    def new_tensor(self, data) -> Tensor:
        return tensor(data, dtype=self.dtype, device=self.device)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new leaf Tensor holding a copy of ``data`` (nested lists, numbers, NumPy/CuPy arrays or a Tensor).

    Python floats become the default dtype (float32), ints int64, bools bool; arrays keep their dtype.
    """
    if isinstance(data, Tensor):
        arr = data._data.copy()
    elif isinstance(data, np.ndarray):
        arr = data.copy()
    elif backend.is_device_array(data):
        arr = data.copy()
    else:
        arr = np.array(data)
        if arr.dtype == object:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} data (ragged lists or "
                            "non-numeric values)")
        if arr.dtype.kind == "f" and dtype is None:
            arr = arr.astype(backend.get_default_dtype())
        elif arr.dtype.kind in "iu" and dtype is None:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "biuf":
            raise TypeError(f"tensor: unsupported element type {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(backend.as_dtype(dtype), copy=False)
    if device is not None:
        arr = backend.to_device(arr, backend.Device(device))
    if requires_grad and arr.dtype.kind != "f":
        raise RuntimeError(f"tensor: only floating tensors can require gradients, got dtype {arr.dtype}")
    return Tensor._wrap(arr, requires_grad)


from .autograd import function as _function  # noqa: E402
from .autograd.function import Function  # noqa: E402

_function.Tensor = Tensor


class _Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, g):
        return (g.to(self.in_dtype) if self.in_dtype.kind == "f" else None,)


class _ToDevice(Function):
    def __init__(self, device):
        self.device = device

    def forward(self, x):
        self.src = backend.device_of(x)
        return backend.to_device(x, self.device)

    def backward(self, g):
        return (g.to(self.src),)


class _Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


from . import _tensor_methods  # noqa: E402,F401 - attaches operators and op methods to Tensor
