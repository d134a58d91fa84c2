"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step`` and checkpoints.

Every algorithm subclasses :class:`Optimizer` and writes one ``step``. The updates work on the raw backend arrays
(``p._data``, ``p.grad._data``) in place, so one body serves NumPy and CuPy and a step costs a handful of array
calls per parameter; each updated parameter's version counter is bumped, as for any in-place change.
"""
from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor


def check(name: str, what: str, value, ok: bool, expected: str) -> None:
    """Raise ``ValueError('SGD: invalid learning rate -1 (must be >= 0)')`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}: invalid {what} {value!r} (must be {expected})")


@functools.cache
def _signature_defaults(cls: type) -> dict[str, Any]:
    return {k: p.default for k, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _is_real(v) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)


def check_types(name: str, group: dict[str, Any], defaults: dict[str, Any]) -> None:
    """Refuse a hyper-parameter whose type differs from its default's kind (a number, a bool, a tuple of numbers):
    ``SGD: lr must be a number, got str '0.1'``. ``None`` defaults (optional settings) accept anything."""
    for key, default in defaults.items():
        if key not in group or default is None:
            continue
        v = group[key]
        if isinstance(default, bool):
            ok, expected = isinstance(v, bool | np.bool_), "True or False"
        elif _is_real(default):
            ok, expected = _is_real(v) or (isinstance(v, Tensor) and v.ndim == 0), "a number"
        elif isinstance(default, tuple) and all(_is_real(d) for d in default):
            ok = isinstance(v, tuple | list) and len(v) == len(default) and all(_is_real(x) for x in v)
            expected = f"a tuple of {len(default)} numbers"
        else:
            continue
        if not ok:
            raise TypeError(f"{name}: {key} must be {expected}, got {type(v).__name__} {v!r}")


def implementation(name: str, **flags) -> dict[str, Any]:
    """Check PyTorch's implementation switches that an optimiser's signature has and return them for its defaults.

    deepgrad has one implementation of each algorithm: a loop over the parameters that updates each one's backend
    array in place in a few whole-array passes. So ``foreach`` (PyTorch's multi-tensor kernels) and ``fused``
    (PyTorch's one-kernel update) select nothing and give the same results; they are kept in the parameter groups
    as PyTorch keeps them. ``fused=True`` with ``foreach=True`` is refused, as in PyTorch. ``capturable=True``
    (PyTorch's mode for CUDA-graph capture) also changes nothing, and is refused by ``step`` for a parameter that is
    not on the GPU, as PyTorch refuses it. ``differentiable=True`` (autograd through the update) is refused: the
    update runs outside the graph, on leaf parameters, where PyTorch refuses it too.
    """
    for key in ("foreach", "fused"):
        if key in flags and flags[key] is not None and not isinstance(flags[key], bool | np.bool_):
            raise TypeError(f"{name}: {key} must be None, True or False, got {flags[key]!r}")
    for key in ("capturable", "differentiable"):
        if key in flags and not isinstance(flags[key], bool | np.bool_):
            raise TypeError(f"{name}: {key} must be True or False, got {flags[key]!r}")
    if flags.get("differentiable"):
        raise ValueError(f"{name}: differentiable=True is not supported: deepgrad updates the (leaf) parameters in "
                         "place outside the autograd graph; write the update with tensor ops to differentiate it")
    if flags.get("fused") and flags.get("foreach"):
        raise RuntimeError(f"{name}: fused=True and foreach=True cannot be used together; choose one")
    return flags


def descent_gradient(x, g, group: dict[str, Any]):
    """g ← −g under ``maximize``; then the weight decay λ: the L2 term g ← g + λx, or with
    ``decoupled_weight_decay`` (AdamW's form) x ← x(1 − ηλ), applied to the array ``x`` in place.

    The preamble of every optimiser's update; returns the gradient it goes on with (``g`` itself is not changed).
    """
    if group["maximize"]:
        g = -g
    wd = group["weight_decay"]
    if wd != 0:
        if group.get("decoupled_weight_decay"):
            x *= 1 - group["lr"] * wd
        else:
            g = g + wd * x
    return g


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts, each with ``'params'`` and its hyper-parameters),
    ``defaults`` (the hyper-parameters a group gets when it does not name them) and ``state`` (a dict keyed by
    the parameter Tensor itself, holding that parameter's buffers as backend arrays).

    ``param_shaped_state``: every array in a parameter's state has that parameter's shape (checked by
    :meth:`load_state_dict`); algorithms with other buffers (L-BFGS's flat history) set it False.

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": [...], "lr": ...}`` defining parameter groups.
        defaults: the algorithm's hyper-parameters.
    """

    param_shaped_state = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, got a single "
                            "Tensor; wrap it in a list: [tensor]")
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list (did model.parameters() run out? "
                             "a generator can be consumed only once)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (e.g. a layer unfrozen during fine-tuning) with its own hyper-parameters."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameters must be Tensors, item {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: cannot optimise a non-leaf Tensor (item {i}, made by "
                                 f"{p.grad_fn.name}); optimise the leaves it was computed from")
        if len(set(params)) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same Tensor more than once")
        seen = {p for g in self.param_groups for p in g["params"]}
        if any(p in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        check_types(name, group, self._reference())
        if group.get("fused") and any(p.dtype.kind != "f" for p in params):
            raise RuntimeError(f"{name}: fused=True requires floating-point parameters, got "
                               f"{', '.join(sorted({str(p.dtype) for p in params if p.dtype.kind != 'f'}))}")
        self._validate(group)
        self.param_groups.append(group)

    def _reference(self) -> dict[str, Any]:
        """The kind each hyper-parameter must have: the constructor's own defaults (``lr: float = 1e-3``), which a
        bad argument cannot change, else the value in ``defaults``."""
        return {**self.defaults, **_signature_defaults(type(self))}

    def _validate(self, group: dict[str, Any]) -> None:
        """Check a group's hyper-parameters; subclasses raise ``ValueError`` with a sentence."""
        check(type(self).__name__, "learning rate", group["lr"], group["lr"] >= 0, ">= 0")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default, frees memory) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif getattr(p.grad._data.flags, "writeable", True):
                    p.grad.grad_fn = None
                    p.grad._data.fill(0)
                else:  # a read-only gradient (e.g. broadcast by backward) is replaced by fresh zeros
                    p.grad = Tensor._wrap(backend.array_module(p.grad._data).zeros_like(p.grad._data))

    def step(self, closure: Callable[[], Any] | None = None):
        """Apply one update to every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if group.get("capturable") and p.device.type != "cuda":
                        raise RuntimeError(f"{type(self).__name__}: capturable=True needs the parameters on the "
                                           f"GPU (as in PyTorch), got one on {p.device}; drop capturable or move "
                                           "the model to 'cuda'")
                    if p.grad is not None:
                        self._update(p, p.grad._data, self.state.setdefault(p, {}), group)
                        p._version += 1
        return loss

    def _update(self, p: Tensor, g, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update ``p._data`` in place from its gradient array ``g`` (subclasses using the default ``step``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update or step")

    @staticmethod
    def _evaluate(closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """A snapshot ``{"state": {index: {name: Tensor | number}}, "param_groups": [{..., "params": [index]}]}``.

        Parameters are replaced by their position across all groups (PyTorch's layout), so the dict can be loaded
        into an optimiser built over the same parameters of a fresh model. Buffers are copied into new Tensors.
        """
        index: dict[Tensor, int] = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                ids.append(index.setdefault(p, len(index)))
            groups.append({**{k: v for k, v in g.items() if k != "params"}, "params": ids})
        state = {index[p]: {k: _snapshot(v) for k, v in s.items()} for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and buffers saved by :meth:`state_dict` (buffers move to each parameter's device
        and floating buffers take its dtype).

        Checked first, each with a sentence, and nothing changes when a check fails: the layout, the number of
        groups and of parameters per group, the hyper-parameter names (another optimiser's state has other ones:
        SGD refuses Adam's ``betas``), their types, the parameter indices and the shapes of the buffers.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("param_groups"), list) or \
                not isinstance(state_dict.get("state"), dict):
            raise TypeError(f"{name}: expected a dict with 'state' (a dict) and 'param_groups' (a list), as made by "
                            f"state_dict(), got {_describe(state_dict)}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}: the saved state has {len(groups)} parameter group(s), this "
                             f"optimiser has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        new_groups = []
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if not isinstance(saved, dict) or not isinstance(saved.get("params"), list | tuple):
                raise TypeError(f"{name}: parameter group {i} must be a dict with a 'params' list, got "
                                f"{_describe(saved)}")
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the saved state and {len(mine['params'])} here")
            foreign = sorted(set(saved) - set(mine) - _SCHEDULER_KEYS)
            if foreign:
                raise ValueError(f"{name}: the saved state is not from a {type(self).__name__} built like this one: "
                                 f"its group {i} has hyper-parameters {', '.join(foreign)}, which "
                                 f"{type(self).__name__} does not have (its are "
                                 f"{', '.join(k for k in mine if k != 'params')})")
            hyper = {k: tuple(v) if isinstance(v, list) and isinstance(mine.get(k), tuple) else v
                     for k, v in saved.items() if k != "params"}
            check_types(name, hyper, self._reference())
            for k in saved["params"]:
                if not _is_real(k) or int(k) != k or int(k) in by_index:
                    raise ValueError(f"{name}: parameter group {i} lists an invalid or repeated index {k!r}")
            by_index.update(zip((int(k) for k in saved["params"]), mine["params"]))
            new_groups.append(hyper)
        state = {}
        for k, s in state_dict["state"].items():
            try:
                p = by_index[int(k)]
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{name}: the saved state refers to parameter {k!r}, which no group lists") from None
            if not isinstance(s, dict):
                raise TypeError(f"{name}: the state of parameter {k} must be a dict, got {_describe(s)}")
            if self.param_shaped_state:
                for n, v in s.items():
                    shape = tuple(getattr(v, "shape", ()))
                    if (isinstance(v, Tensor) or _is_array(v)) and len(shape) and shape != tuple(p.shape):
                        raise ValueError(f"{name}: buffer {n!r} of parameter {k} has shape {shape}, but the "
                                         f"parameter has shape {tuple(p.shape)}")
            state[p] = {n: _to_param_array(v, p) for n, v in s.items()}
        self.state = state
        for hyper, mine in zip(new_groups, self.param_groups):
            mine.update(hyper)


#: Keys that learning-rate schedulers add to a parameter group.
_SCHEDULER_KEYS = frozenset({"initial_lr", "swa_lr", "max_lr", "min_lr", "base_momentum", "max_momentum"})


def _describe(v) -> str:
    return f"{type(v).__name__} {v!r}"[:80]


def _is_array(v) -> bool:
    return hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, Tensor)


def _snapshot(v):
    """A state value for ``state_dict``: arrays (also inside lists, as in L-BFGS's history) copied into Tensors."""
    if isinstance(v, list):
        return [_snapshot(a) for a in v]
    return Tensor._wrap(v.copy()) if _is_array(v) else v


def _to_param_array(v, p: Tensor):
    """A saved buffer as a fresh array on ``p``'s device (floating buffers in ``p``'s dtype)."""
    if isinstance(v, list | tuple):
        return [_to_param_array(a, p) for a in v]
    if isinstance(v, Tensor):
        v = v._data
    if not _is_array(v):
        return v
    arr = backend.to_device(v, p.device)
    if arr.dtype.kind == "f" and arr.dtype != p.dtype:
        arr = arr.astype(p.dtype)
    return arr.copy() if arr is v else arr
