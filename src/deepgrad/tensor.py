"""``Tensor``: an array of the active backend, plus what reverse-mode differentiation needs.

A Tensor holds ``_data`` (a NumPy or CuPy array), ``requires_grad``, ``grad`` and ``grad_fn`` — the graph node
(:class:`deepgrad.autograd.Function`) that made it, or ``None`` for a leaf. Operators and methods call the ops in
:mod:`deepgrad.ops`, which record the graph as they compute.
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd import grad_mode
from .promotion import check_inplace_cast, scalar_for

_new = object.__new__  # a bare instance, its slots then set by Tensor._init


class Tensor:
    """A multi-dimensional array with automatic differentiation.

    Create one with :func:`deepgrad.tensor`, :func:`deepgrad.zeros`, :func:`deepgrad.randn`, ... Set
    ``requires_grad=True`` on the leaves you want gradients for; ``loss.backward()`` fills their ``.grad``.
    """

    __slots__ = ("_data", "grad", "grad_fn", "requires_grad", "_version", "_retains_grad", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy scalars defer to Tensor's reflected operators

    def __init__(self, *data, dtype=None, device=None, requires_grad: bool = False) -> None:
        """``Tensor(data)`` holds ``data`` in the default float dtype (as ``torch.Tensor``, unlike :func:`tensor`);
        ``Tensor(*sizes)`` is a zero-filled tensor of that shape; ``Tensor()`` is empty."""
        if len(data) == 1 and not isinstance(data[0], int | np.integer):
            self._init(tensor(data[0], dtype=dtype or backend.get_default_dtype(), device=device)._data, requires_grad)
            return
        from .creation import zeros

        self._init(zeros(*(data or (0,)), dtype=dtype, device=device)._data, requires_grad)

    def _init(self, data, requires_grad: bool = False) -> None:
        """Set every slot: the one place a Tensor is built around a backend array (``__init__``, ``_wrap``,
        ``Parameter`` and each op's output)."""
        if requires_grad and data.dtype.kind != "f":
            raise RuntimeError(f"tensor: only floating tensors can require gradients, got dtype {data.dtype}")
        # one statement per slot: a tuple assignment of seven costs a quarter more, on the path of every op
        self._data = data
        self.grad = None
        self.grad_fn = None
        self.requires_grad = requires_grad
        self._version = 0
        self._retains_grad = False
        self._hooks = None

    @staticmethod
    def _wrap(data, requires_grad: bool = False) -> Tensor:
        """A leaf around an existing backend array (no copy)."""
        t = _new(Tensor)
        t._init(data, requires_grad)
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

    is_xpu = False  # deepgrad runs on CPUs and CUDA GPUs only
    is_sparse = False  # a dense tensor (see deepgrad.sparse for COO tensors)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:  # noqa: N802
        """All axes reversed."""
        n = self._data.ndim
        return _ops.permute(self, tuple(range(n - 1, -1, -1))) if n > 1 else self

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The last two axes swapped (a batch of transposed matrices)."""
        return _ops.transpose(self, -2, -1)

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
                out = _ew.ToDtype(dt)(out)
        if device is not None:
            dev = backend.Device(device)
            if dev != out.device:
                out = _ew.ToDevice(dev)(out)
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

    def type(self, dtype=None) -> str | Tensor:
        """With no argument, the legacy type name (``'deepgrad.FloatTensor'``); with a dtype, a legacy type or
        its name (``'torch.DoubleTensor'``), this tensor cast to it."""
        from . import tensor_types

        if dtype is None:
            return tensor_types.type_name(self)
        if isinstance(dtype, str):
            dtype, is_cuda = tensor_types.dtype_of_type_name(dtype)
            return self.to(dtype=dtype, device="cuda" if is_cuda else "cpu")
        if isinstance(dtype, type) and hasattr(dtype, "device_type"):  # a legacy type: FloatTensor, cuda.LongTensor
            return self.to(dtype=dtype.dtype, device=dtype.device_type)
        return self.to(getattr(dtype, "dtype", dtype)) if isinstance(dtype, type) else self.to(dtype)

    def t(self) -> Tensor:
        """The transpose of a matrix; 0-d and 1-d tensors are returned as they are (``torch.t``)."""
        return _ops.t(self)

    def to_sparse(self, sparse_dim: int | None = None):
        """The nonzero entries as a sparse COO tensor (see :mod:`deepgrad.sparse`)."""
        from .sparse import to_sparse

        return to_sparse(self, sparse_dim)

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
        return _ew.Clone()(self)

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

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` after a backward pass has added this leaf's gradient into ``self.grad``.

        It fires as soon as every consumer has sent its part, while the rest of backward goes on (as PyTorch's):
        DistributedDataParallel starts a bucket's reduction there. Returns a handle with ``remove()``."""
        if self.grad_fn is not None or not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: only a leaf tensor that requires grad "
                               f"accumulates a gradient; this one is {'not a leaf' if self.grad_fn else 'not requiring grad'}")
        from .autograd.engine import register_post_accumulate_grad_hook

        return register_post_accumulate_grad_hook(self, hook)

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

    # ------------------------------------------------------------------------------------------- operators
    # The mathematics lives in deepgrad.ops; these only dispatch (``_ew`` and ``_ops`` are imported at the end of
    # this module, because the ops themselves import Tensor).
    def __add__(self, other):
        return _ew._binary(_ew.Add, "add", self, other)

    def __radd__(self, other):
        return _ew._binary(_ew.Add, "add", other, self)

    def __sub__(self, other):
        return _ew._binary(_ew.Sub, "sub", self, other)

    def __rsub__(self, other):
        return _ew._binary(_ew.Sub, "sub", other, self)

    def __mul__(self, other):
        return _ew._binary(_ew.Mul, "mul", self, other)

    def __rmul__(self, other):
        return _ew._binary(_ew.Mul, "mul", other, self)

    def __truediv__(self, other):
        return _ew.div(self, other)

    def __rtruediv__(self, other):
        return _ew.div(other, self)

    def __pow__(self, other):
        return _ew.pow(self, other)

    def __rpow__(self, other):
        return _ew.pow(*_ew._promote("pow", other, self))

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ew.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.abs(self)

    def __eq__(self, other):
        return _ew.eq(self, other)

    def __ne__(self, other):
        return _ew.ne(self, other)

    def __lt__(self, other):
        return _ew.lt(self, other)

    def __le__(self, other):
        return _ew.le(self, other)

    def __gt__(self, other):
        return _ew.gt(self, other)

    def __ge__(self, other):
        return _ew.ge(self, other)

    def __and__(self, other):
        return _ew.logical_and(self, other)

    def __or__(self, other):
        return _ew.logical_or(self, other)

    def __xor__(self, other):
        return _ew.logical_xor(self, other)

    def __invert__(self):
        return _ew.logical_not(self)

    def __getitem__(self, key):
        return _ops.getitem(self, key)

    __hash__ = object.__hash__  # identity: __eq__ is elementwise

    # ------------------------------------------------------------------------------------------ op methods
    # x.f(...) is deepgrad.f(x, ...): see the function for the formula, arguments and shapes.
    def add(self, other, *, alpha=1):
        return _ew.add(self, other, alpha=alpha)

    def sub(self, other, *, alpha=1):
        return _ew.sub(self, other, alpha=alpha)

    def mul(self, other):
        return _ew.mul(self, other)

    def div(self, other):
        return _ew.div(self, other)

    def pow(self, exponent):
        return _ew.pow(self, exponent)

    def neg(self):
        return _ew.neg(self)

    def exp(self):
        return _ew.exp(self)

    def log(self):
        return _ew.log(self)

    def log1p(self):
        return _ew.log1p(self)

    def expm1(self):
        return _ew.expm1(self)

    def sqrt(self):
        return _ew.sqrt(self)

    def rsqrt(self):
        return _ew.rsqrt(self)

    def sin(self):
        return _ew.sin(self)

    def cos(self):
        return _ew.cos(self)

    def tanh(self):
        return _ew.tanh(self)

    def sigmoid(self):
        return _ew.sigmoid(self)

    def relu(self):
        return _ew.relu(self)

    def erf(self):
        return _ew.erf(self)

    def erfinv(self):
        return _ew.erfinv(self)

    def abs(self):
        return _ew.abs(self)

    def sign(self):
        return _ew.sign(self)

    def heaviside(self, values):
        return _ew.heaviside(self, values)

    def reciprocal(self):
        return _ew.reciprocal(self)

    def square(self):
        return _ew.square(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return _ew.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    def eq(self, other):
        return _ew.eq(self, other)

    def ne(self, other):
        return _ew.ne(self, other)

    def lt(self, other):
        return _ew.lt(self, other)

    def le(self, other):
        return _ew.le(self, other)

    def gt(self, other):
        return _ew.gt(self, other)

    def ge(self, other):
        return _ew.ge(self, other)

    def logical_and(self, other):
        return _ew.logical_and(self, other)

    def logical_or(self, other):
        return _ew.logical_or(self, other)

    def logical_xor(self, other):
        return _ew.logical_xor(self, other)

    def logical_not(self):
        return _ew.logical_not(self)

    def isnan(self):
        return _ew.isnan(self)

    def isinf(self):
        return _ew.isinf(self)

    def isfinite(self):
        return _ew.isfinite(self)

    def sum(self, dim=None, keepdim: bool = False, *, dtype=None):
        return _ops.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim: bool = False):
        return _ops.mean(self, dim, keepdim)

    def prod(self, dim=None, keepdim: bool = False):
        return _ops.prod(self, dim, keepdim)

    def max(self, dim=None, keepdim: bool = False):
        return _ops.max(self, dim, keepdim)

    def min(self, dim=None, keepdim: bool = False):
        return _ops.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim: bool = False):
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim: bool = False):
        return _ops.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim: bool = False):
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False):
        return _ops.argmin(self, dim, keepdim)

    def var(self, dim=None, **kwargs):
        return _ops.var(self, dim, **kwargs)

    def std(self, dim=None, **kwargs):
        return _ops.std(self, dim, **kwargs)

    def logsumexp(self, dim=None, keepdim: bool = False):
        return _ops.logsumexp(self, dim, keepdim)

    def norm(self, p=2, dim=None, keepdim: bool = False):
        return _ops.norm(self, p, dim, keepdim)

    def cumsum(self, dim: int):
        return _ops.cumsum(self, dim)

    def all(self, dim=None, keepdim: bool = False):
        return _ops.all(self, dim, keepdim)

    def any(self, dim=None, keepdim: bool = False):
        return _ops.any(self, dim, keepdim)

    def count_nonzero(self, dim=None):
        return _ops.count_nonzero(self, dim)

    def reshape(self, *shape):
        return _ops.reshape(self, *shape)

    view = reshape

    def view_as(self, other: Tensor):
        return _ops.reshape(self, other.shape)

    reshape_as = view_as

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        return _ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes):
        return _ops.unflatten(self, dim, sizes)

    def permute(self, *dims):
        return _ops.permute(self, *dims)

    def transpose(self, dim0: int = 0, dim1: int = 1):
        return _ops.transpose(self, dim0, dim1)

    swapaxes = transpose

    def movedim(self, source: int, destination: int):
        return _ops.movedim(self, source, destination)

    def squeeze(self, dim=None):
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: int):
        return _ops.unsqueeze(self, dim)

    def expand(self, *shape):
        return _ops.expand(self, *shape)

    def expand_as(self, other: Tensor):
        return _ops.expand(self, other.shape)

    def broadcast_to(self, shape):
        return _ops.broadcast_to(self, shape)

    def sum_to(self, shape):
        return _ops.sum_to(self, shape)

    def split(self, split_size_or_sections, dim: int = 0):
        return _ops.split(self, split_size_or_sections, dim)

    def chunk(self, chunks: int, dim: int = 0):
        return _ops.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0):
        return _ops.unbind(self, dim)

    def flip(self, dims):
        return _ops.flip(self, dims)

    def roll(self, shifts, dims=None):
        return _ops.roll(self, shifts, dims)

    def repeat(self, *sizes):
        return _ops.repeat(self, *sizes)

    def tile(self, *sizes):
        return _ops.tile(self, *sizes)

    def narrow(self, dim: int, start: int, length: int):
        return _ops.narrow(self, dim, start, length)

    def contiguous(self):
        return self

    def index_select(self, dim: int, index):
        return _ops.index_select(self, dim, index)

    def gather(self, dim: int, index):
        return _ops.gather(self, dim, index)

    def take_along_dim(self, indices, dim: int):
        return _ops.take_along_dim(self, indices, dim)

    def scatter(self, dim: int, index, src):
        return _ops.scatter(self, dim, index, src)

    def scatter_add(self, dim: int, index, src):
        return _ops.scatter_add(self, dim, index, src)

    def masked_fill(self, mask, value):
        return _ops.masked_fill(self, mask, value)

    def index_add(self, dim: int, index, source):
        return _ops.index_add(self, dim, index, source)

    def matmul(self, other):
        return _ops.matmul(self, other)

    def mm(self, other):
        return _ops.mm(self, other)

    def bmm(self, other):
        return _ops.bmm(self, other)

    def dot(self, other):
        return _ops.dot(self, other)

    def softmax(self, dim: int | None = None):
        return _ops.softmax(self, dim)

    def log_softmax(self, dim: int | None = None):
        return _ops.log_softmax(self, dim)

    def tril(self, diagonal: int = 0):
        return _ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0):
        return _ops.triu(self, diagonal)

    def diag(self, diagonal: int = 0):
        return _ops.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1):
        return _ops.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1):
        return _ops.diag_embed(self, offset, dim1, dim2)

    def lgamma(self):
        return _ops.lgamma(self)

    def digamma(self):
        return _ops.digamma(self)

    def polygamma(self, n: int):
        return _ops.polygamma(n, self)

    # ------------------------------------------------------------------------------------------- in-place
    # An in-place op computes its result out of place with the ordinary op and writes it into this tensor's
    # buffer, bumping the version counter. Outside a recorded graph that is all. Inside one, the tensor's node
    # is rebased: the op is recorded with the tensor's previous state as its input, so the gradient flows through
    # it as in PyTorch. On a view of a graph tensor (basic indexing, view/reshape, permute), the write lands in
    # the view's base, so the base is rebased too, as PyTorch's CopySlices does: its new node sends the gradient
    # outside the view to the base as it was and the view's part through the op; the view is then taken afresh
    # from the new base. A value saved for backward that the write overwrites makes that backward raise, naming
    # the op that saved it. Leaves that require grad (and their views) refuse in-place changes while the graph
    # is recorded.
    def _inplace(self, op: str, compute, *args, any_dtype: bool = False) -> Tensor:
        """``self`` updated to ``compute(self, *args)`` (a Tensor of the same shape), recorded when in a graph."""
        if not grad_mode.state.enabled or not (self.requires_grad or _any_requires_grad(args)):
            return self._write(op, compute(self, *args), any_dtype)
        node = self.grad_fn
        base, views = _view_chain(op, self) if node is not None and node.is_view else (None, ())
        if (node is None and self.requires_grad) or (base is not None and base.grad_fn is None and base.requires_grad):
            through = " (here through a view of it)" if base is not None else ""
            raise RuntimeError(f"{op}: a leaf tensor that requires grad{through} "
                               "cannot be changed in place while the graph is recorded; wrap the update in "
                               "`with deepgrad.no_grad():`")
        before = Tensor._wrap(self._data, self.requires_grad)  # the tensor as it was, for the new node's input
        before.grad_fn = node
        res = compute(before, *args)
        fn = res.grad_fn
        if fn is not None and 0 in fn.saves_inputs and fn.inputs[0] is before:
            before._data = self._data.copy()  # the new node reads the old values: keep them from the write
        for owner in (self, base):
            saved = owner.grad_fn if owner is not None else None
            if saved is not None and saved.saves_output and saved._out is owner._data:
                saved._out_modified = (op, owner._version + 1)
        if base is not None:
            base_before = Tensor._wrap(base._data, base.requires_grad)
            base_before.grad_fn = base.grad_fn
        self._write(op, res, any_dtype)
        if self._data.dtype != res.dtype:
            res = res.to(self._data.dtype)
        if base is None:
            self.grad_fn, self.requires_grad = res.grad_fn, res.requires_grad
            return self
        base._version += 1
        rebased = _ops.shape.CopySlices(views)(base_before, res)
        base.grad_fn, base.requires_grad = rebased.grad_fn, True
        self.grad_fn = _ops.shape.replay_views(views, base).grad_fn
        self.requires_grad = True
        return self

    def _write(self, op: str, res: Tensor, any_dtype: bool) -> Tensor:
        """Copy ``res``'s values into this tensor's buffer (same shape, a dtype it may hold) and bump the version."""
        if res.shape != self.shape:
            from .ops._util import ShapeError

            raise ShapeError(f"{op}: the result has shape {tuple(res.shape)}, which does not fit in place into a "
                             f"tensor of shape {tuple(self.shape)} (an in-place op cannot broadcast its target)")
        if not any_dtype:
            check_inplace_cast(op, res.dtype, self._data.dtype)
        return self._set(res._data)

    def _set(self, data) -> Tensor:
        """Replace the values in place (same shape), bumping the version counter."""
        xp = backend.array_module(self._data)
        if isinstance(self._data, np.generic):
            self._data = np.asarray(self._data)
        xp.copyto(self._data, data, casting="unsafe")
        self._version += 1
        return self

    def __setitem__(self, key, value) -> None:
        """``x[key] = value``: in place, and recorded like any in-place op when ``x`` or ``value`` is in a graph."""
        if grad_mode.state.enabled and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            self._inplace("__setitem__", lambda t, v: _ops.index_put(t, key, v), value)
            return
        v = value._data if isinstance(value, Tensor) else value  # outside a graph: straight into the buffer
        if isinstance(value, Tensor):
            check_inplace_cast("__setitem__", value.dtype, self._data.dtype)
        self._data[_ops.index._convert_key(key)] = v
        self._version += 1

    def add_(self, other, *, alpha=1) -> Tensor:
        return self._inplace("add_", lambda t, o: _ew.add(t, o, alpha=alpha), other)

    def sub_(self, other, *, alpha=1) -> Tensor:
        return self._inplace("sub_", lambda t, o: _ew.sub(t, o, alpha=alpha), other)

    def mul_(self, other) -> Tensor:
        return self._inplace("mul_", _ew.mul, other)

    def div_(self, other) -> Tensor:
        return self._inplace("div_", _ew.div, other)

    def pow_(self, exponent) -> Tensor:
        return self._inplace("pow_", _ew.pow, exponent)

    def neg_(self) -> Tensor:
        return self._inplace("neg_", _ew.neg)

    def exp_(self) -> Tensor:
        return self._inplace("exp_", _ew.exp)

    def log_(self) -> Tensor:
        return self._inplace("log_", _ew.log)

    def sqrt_(self) -> Tensor:
        return self._inplace("sqrt_", _ew.sqrt)

    def abs_(self) -> Tensor:
        return self._inplace("abs_", _ew.abs)

    def relu_(self) -> Tensor:
        return self._inplace("relu_", _ew.relu)

    def sigmoid_(self) -> Tensor:
        return self._inplace("sigmoid_", _ew.sigmoid)

    def tanh_(self) -> Tensor:
        return self._inplace("tanh_", _ew.tanh)

    def clamp_(self, min=None, max=None) -> Tensor:  # noqa: A002
        return self._inplace("clamp_", lambda t: _ew.clamp(t, min, max))

    clip_ = clamp_

    def masked_fill_(self, mask, value) -> Tensor:
        return self._inplace("masked_fill_", lambda t, v: _ops.masked_fill(t, mask, v), value)

    def index_add_(self, dim: int, index, source) -> Tensor:
        return self._inplace("index_add_", lambda t, s: _ops.index_add(t, dim, index, s), source)

    def scatter_(self, dim: int, index, src) -> Tensor:
        return self._inplace("scatter_", lambda t, s: _ops.scatter(t, dim, index, s), src)

    def scatter_add_(self, dim: int, index, src) -> Tensor:
        return self._inplace("scatter_add_", lambda t, s: _ops.scatter_add(t, dim, index, s), src)

    def zero_(self) -> Tensor:
        return self._inplace("zero_", _replaced, 0)

    def fill_(self, value) -> Tensor:
        if isinstance(value, int) and self._data.dtype.kind in "iu":
            scalar_for("fill_", value, self._data.dtype)  # PyTorch refuses a number the dtype cannot hold
        return self._inplace("fill_", _replaced, value, any_dtype=True)

    def copy_(self, src) -> Tensor:
        """Copy ``src``'s values (broadcast to this shape, any dtype or device) into this tensor."""
        if isinstance(src, Tensor) and src.device != self.device:
            src = src.to(self.device)
        return self._inplace("copy_", _replaced, src, any_dtype=True)

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
        from .creation import rand

        return self._inplace("uniform_", lambda t: _replaced(t, rand(*t.shape, dtype=t.dtype, device=t.device,
                                                                   generator=generator) * (b - a) + a))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
        from .creation import randn

        return self._inplace("normal_", lambda t: _replaced(t, randn(*t.shape, dtype=t.dtype, device=t.device,
                                                                   generator=generator) * std + mean))

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

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
        try:
            arr = np.array(data)
        except ValueError:
            arr = None
        if arr is None or arr.dtype == object:
            raise TypeError(f"tensor: cannot make a tensor from this {type(data).__name__}: {_ragged(data)}")
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
    return Tensor._wrap(arr, requires_grad)


def _ragged(data) -> str:
    """Why nested sequences do not form an array: where their lengths first disagree, and the shape until there."""
    level, shape = [data], []
    while True:
        seqs = [x for x in level if isinstance(x, (list, tuple))]
        if not seqs:
            return "its entries are not numbers (expected nested lists of numbers)"
        if len(seqs) != len(level):
            return (f"at depth {len(shape)} some entries are sequences and some are numbers (shape found so far "
                    f"{tuple(shape)})")
        lengths = sorted({len(x) for x in seqs})
        if len(lengths) > 1:
            return (f"it is ragged: at depth {len(shape)} the sequences have lengths {lengths} (shape found so far "
                    f"{tuple(shape)}); every list at one depth must have the same length")
        shape.append(lengths[0])
        level = [y for x in seqs for y in x]


def _any_requires_grad(args) -> bool:
    for a in args:
        if isinstance(a, Tensor) and a.requires_grad:
            return True
    return False


def _view_chain(op: str, t: Tensor):
    """``(base, views)`` when ``t`` is a view sharing memory with a tensor of the graph: the first tensor up the
    chain of view nodes that is not itself such a view, and those nodes from it down to ``t``; else
    ``(None, ())`` (a reshape that had to copy is no view)."""
    xp = backend.array_module(t._data)
    views, src = [], t
    while src.grad_fn is not None and src.grad_fn.is_view:
        fn = src.grad_fn
        if getattr(fn, "_released", False):
            raise RuntimeError(f"{op}: this tensor is a view made by {fn.name} whose graph was freed by a backward "
                               "pass, so its base cannot be rebased; call .clone() on the view first, or pass "
                               "retain_graph=True to that backward()")
        if not xp.may_share_memory(t._data, fn.inputs[0]._data):
            break
        views.append(fn)
        src = fn.inputs[0]
    if not views:
        return None, ()
    if not getattr(t._data, "flags", None) or not t._data.flags.writeable:
        raise RuntimeError(f"{op}: this tensor is made by {views[0].name} and several of its elements share one "
                           "memory location (or it is read-only), so it cannot be changed in place; call .clone() "
                           "first")
    return src, tuple(reversed(views))


def _replaced(t: Tensor, value) -> Tensor:
    """``value`` broadcast to ``t``'s shape and dtype, recorded so that ``t`` gets a zero gradient."""
    keep = Tensor._wrap(np.zeros((), dtype=bool) if isinstance(t._data, np.ndarray | np.generic)
                        else backend.array_module(t._data).zeros((), dtype=bool))
    out = _ew.where(keep, t, value)
    return out if out.dtype == t.dtype else out.to(t.dtype)


# The ops import Tensor, so they are imported after it; the methods above look them up when called.
from . import ops as _ops  # noqa: E402
from .ops import elementwise as _ew  # noqa: E402
