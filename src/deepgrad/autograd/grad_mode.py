"""Switches for recording the graph: ``no_grad`` and ``enable_grad``, as context managers and decorators."""
from __future__ import annotations

import functools


class _State:
    enabled = True


state = _State()


def is_grad_enabled() -> bool:
    return state.enabled


class _GradMode:
    mode: bool

    def __enter__(self):
        self._prev = state.enabled
        state.enabled = self.mode

    def __exit__(self, *exc):
        state.enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):  # noqa: N801 - PyTorch's name
    """Inside this block (or decorated function) no graph is recorded: results have ``requires_grad=False``."""

    mode = False


class enable_grad(_GradMode):  # noqa: N801
    """Turns graph recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):  # noqa: N801
    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = state.enabled
        state.enabled = self.mode  # PyTorch semantics: takes effect on construction too

    def __enter__(self):
        pass
