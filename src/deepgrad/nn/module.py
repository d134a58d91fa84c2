"""``Module``: the base class of every layer, holding parameters, buffers and submodules by name."""
from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["Module", "RemovableHandle"]

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook (also usable as a context manager)."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _addindent(text: str, n: int) -> str:
    lines = text.split("\n")
    return lines[0] if len(lines) == 1 else lines[0] + "\n" + "\n".join(" " * n + ln for ln in lines[1:])


class Module:
    """Base class of all layers: subclass it, assign parameters and submodules in ``__init__``, write ``forward``.

    Assigning a :class:`Parameter` or a ``Module`` to an attribute registers it (in insertion order), so
    ``parameters()``, ``state_dict()``, ``to()``, ``train()``/``eval()`` and ``repr`` find it. Registered names are
    also kept in the instance ``__dict__``, so reading ``self.weight`` is a plain attribute lookup.

    Example:
        >>> import deepgrad as dg
        >>> class TwoLayer(dg.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc1 = dg.nn.Linear(4, 8)
        ...         self.fc2 = dg.nn.Linear(8, 2)
        ...     def forward(self, x):
        ...         return self.fc2(self.fc1(x).relu())
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool

    def __new__(cls, *args, **kwargs):
        # The constructor's arguments, so that deepgrad.save(module) can store a whole Module without pickle
        # (class import path + these arguments + state_dict). Subclasses need not know about it.
        obj = super().__new__(cls)
        obj.__dict__["_init_args"] = (args, kwargs)
        return obj

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent_buffers"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define forward(self, ...) in the subclass")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        for hook in list(self._forward_pre_hooks.values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    # ------------------------------------------------------------------------------------- registration
    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called; call "
                                 "super().__init__() first in your __init__")
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        # re-assigning an existing name keeps its place (Sequential order, state_dict order), as in PyTorch
        if isinstance(value, Parameter):
            if name not in params:
                self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            if name not in modules:
                self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} of "
                                f"{type(self).__name__} (a Parameter or None is required)")
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} of "
                                f"{type(self).__name__} (a Module or None is required)")
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} of "
                                f"{type(self).__name__} (a Tensor or None is required)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        d[name] = value

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        self.__dict__.pop(name, None)

    def _forget(self, name: str) -> None:
        d = self.__dict__
        for key in ("_parameters", "_modules", "_buffers"):
            d[key].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (a Parameter, or None for an absent optional one) under ``name``."""
        self._check_name(name, "register_parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a Tensor that is state but not learnable (e.g. running statistics); it moves with ``to()`` and,
        when ``persistent``, appears in ``state_dict()``."""
        self._check_name(name, "register_buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, got {type(tensor).__name__}")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (same as ``setattr(self, name, module)``)."""
        self._check_name(name, "add_module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self._forget(name)
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    def _check_name(self, name, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{what}: call super().__init__() before registering anything")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"{what}: the name must be a non-empty string without '.', got {name!r}")
        if hasattr(type(self), name):
            raise KeyError(f"{what}: attribute {name!r} already exists on {type(self).__name__}")

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` ('' is ``self``), e.g. ``'encoder.0'``."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            child = mod._modules.get(part)
            if child is None:
                raise AttributeError(f"get_submodule: {type(mod).__name__} has no submodule {part!r} "
                                     f"(looking for {target!r})")
            mod = child
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``, e.g. ``'fc1.weight'``."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"get_parameter: {type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._buffers or mod._buffers[name] is None:
            raise AttributeError(f"get_buffer: {type(mod).__name__} has no buffer {name!r}")
        return mod._buffers[name]

    # ---------------------------------------------------------------------------------------- iteration
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(dotted name, module)`` for ``self`` and every descendant, depth first, each module once."""
        memo = set() if memo is None else memo
        if remove_duplicate and self in memo:
            return
        memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self) -> Iterator[Module]:
        for _, m in self.named_children():
            yield m

    def _named_members(self, attr: str, prefix: str, recurse: bool, remove_duplicate: bool = True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, v in getattr(mod, attr).items():
                if v is None or (remove_duplicate and v in seen):
                    continue
                seen.add(v)
                yield mod_prefix + ("." if mod_prefix else "") + name, v

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted name, Parameter)``; a parameter shared by two modules is yielded once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) on this module and descendants."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {mode!r}")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (same as ``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None by default, or to zeros)."""
        for p in self.parameters():
            if p.grad is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = p.grad.new_zeros(p.grad.shape)

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn(m)`` on every descendant and then on ``self`` (e.g. to initialise weights)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------------------------------- devices
    def to(self, *args, device=None, dtype=None) -> Module:
        """Move parameters and buffers to ``device`` and/or cast floating ones to ``dtype``, in place.

        Parameters keep their identity (optimisers holding them stay valid); integer buffers keep their dtype.
        """
        for a in args:
            if isinstance(a, backend.Device) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
                device = a
            else:
                dtype = a
        dev = None if device is None else backend.Device(device)
        dt = None if dtype is None else backend.as_dtype(dtype)
        if dt is not None and dt.kind != "f":
            raise TypeError(f"Module.to: dtype must be floating, got {dt}")

        def convert(t: Tensor) -> None:
            a = t._data
            if dt is not None and a.dtype.kind == "f" and a.dtype != dt:
                a = a.astype(dt)
            if dev is not None:
                a = backend.to_device(a, dev)
            if a is not t._data:
                t._data = a
                t._version += 1

        for m in self.modules():
            for p in m._parameters.values():
                if p is not None:
                    convert(p)
                    if p.grad is not None:
                        convert(p.grad)
            for b in m._buffers.values():
                if b is not None:
                    convert(b)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device: int | None = None) -> Module:
        return self.to("cuda" if device is None else f"cuda:{device}")

    def float(self) -> Module:
        return self.to(dtype=backend.float32)

    def double(self) -> Module:
        return self.to(dtype=backend.float64)

    # ------------------------------------------------------------------------------------------- state
    def state_dict(self, destination: OrderedDict | None = None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer by dotted name (PyTorch's names).

        Values share memory with the module's tensors and are detached unless ``keep_vars``.
        """
        out = OrderedDict() if destination is None else destination
        for mod_prefix, mod in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            p = mod_prefix + "." if mod_prefix else ""
            for name, t in mod._parameters.items():
                if t is not None:
                    out[p + name] = t if keep_vars else t.detach()
            for name, t in mod._buffers.items():
                if t is not None and name not in mod._non_persistent_buffers:
                    out[p + name] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` into this module's parameters and buffers (in place, no new tensors).

        With ``strict`` every key must match; all missing keys, unexpected keys and shape mismatches are reported
        together in one ``RuntimeError``. Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, t in own.items():
            if k in state_dict:
                v = state_dict[k]
                shape = tuple(v.shape) if hasattr(v, "shape") else ()
                if shape != tuple(t.shape):
                    mismatched.append(f"size mismatch for {k}: copying a param with shape {shape} from checkpoint, "
                                      f"the shape in current model is {tuple(t.shape)}.")
        errors = []
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        errors.extend(mismatched)
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with grad_mode.no_grad():
            for k, t in own.items():
                if k in state_dict:
                    v = state_dict[k]
                    a = v._data if isinstance(v, Tensor) else v
                    t._set(backend.to_device(a, t.device) if not isinstance(a, (int, float)) else a)
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------------------------------- hooks
    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, args)`` before ``forward``; a returned value (tuple or single) replaces ``args``."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after ``forward``; a returned value replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----------------------------------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's ``repr`` (its constructor arguments)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(m), 2) for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            return self._get_name() + "()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
