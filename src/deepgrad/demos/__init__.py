"""The lectures' experiments as one-command demos: ``deepgrad demo NAME`` (``deepgrad demo`` lists them).

A demo is a function ``run(out: str, fast: bool) -> dict`` registered with :func:`demo`; it prints the lecture's
numbers, writes its figures (PNG) into ``out`` and returns the numbers (the tests assert them, with ``fast=True``
for small settings). Demo modules live in this package and are imported by :func:`_load_all`.
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable

_DEMOS: dict = {}


def demo(name: str, description: str):
    """Decorator registering ``fn(out, fast) -> dict`` as the demo ``name``."""

    def deco(fn: Callable):
        if name in _DEMOS:
            raise ValueError(f"demo {name!r} is registered twice")
        _DEMOS[name] = (fn, description)
        return fn

    return deco


def _load_all() -> None:
    for m in pkgutil.iter_modules(__path__):
        if not m.name.startswith("_"):
            importlib.import_module(f"{__name__}.{m.name}")


def list_demos() -> dict:
    """{name: one-line description}."""
    _load_all()
    return {k: v[1] for k, v in sorted(_DEMOS.items())}


def run_demo(name: str, out: str = os.path.join("runs", "demos"), fast: bool = False) -> dict:
    """Run demo ``name``, writing its figures under ``out/name``; returns its numbers."""
    _load_all()
    if name not in _DEMOS:
        raise KeyError(f"unknown demo {name!r}; available demos: {', '.join(sorted(_DEMOS))}")
    target = os.path.join(out, name)
    os.makedirs(target, exist_ok=True)
    return _DEMOS[name][0](target, fast)
