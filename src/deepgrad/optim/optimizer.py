"""``Optimizer``: parameter groups, per-parameter state, ``zero_grad``, ``step`` and checkpoints.

Every algorithm subclasses :class:`Optimizer` and writes one ``step``. The updates work on the raw backend arrays
(``p._data``, ``p.grad._data``) in place, so one body serves NumPy and CuPy and a step costs a handful of array
calls per parameter; each updated parameter's version counter is bumped, as for any in-place change.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor


def check(name: str, what: str, value, ok: bool, expected: str) -> None:
    """Raise ``ValueError('SGD: invalid learning rate -1 (must be >= 0)')`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{name}: invalid {what} {value!r} (must be {expected})")


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts, each with ``'params'`` and its hyper-parameters),
    ``defaults`` (the hyper-parameters a group gets when it does not name them) and ``state`` (a dict keyed by
    the parameter Tensor itself, holding that parameter's buffers as backend arrays).

    Args:
        params: an iterable of Tensors, or of dicts ``{"params": [...], "lr": ...}`` defining parameter groups.
        defaults: the algorithm's hyper-parameters.
    """

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
        self._validate(group)
        self.param_groups.append(group)

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
        and floating buffers take its dtype)."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the saved state has {len(groups)} parameter group(s), this "
                             f"optimiser has {len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for i, (saved, mine) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(mine["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                                 f"parameters in the saved state and {len(mine['params'])} here")
            by_index.update(zip((int(k) for k in saved["params"]), mine["params"]))
        self.state = {}
        for k, s in state_dict["state"].items():
            p = by_index[int(k)]
            self.state[p] = {n: _to_param_array(v, p) for n, v in s.items()}
        for saved, mine in zip(groups, self.param_groups):
            mine.update({k: tuple(v) if isinstance(v, list) and isinstance(mine.get(k), tuple) else v
                         for k, v in saved.items() if k != "params"})


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
