"""A name → constructor registry for the model zoo, used by ``deepgrad train --model NAME`` and ``deepgrad list``."""
from __future__ import annotations

from collections.abc import Callable

_MODELS: dict = {}


def register_model(name: str, *, description: str = "", input: str = "image", default_recipe: dict | None = None):
    """Decorator: register a model constructor under ``name``.

    ``input`` says what it eats ('image' (C, H, W), 'flat' (features), 'video', ...); ``default_recipe`` holds the
    training hyper-parameters ``deepgrad train`` uses for it (optimizer, lr, epochs, batch_size, augment, ...).
    """

    def deco(fn: Callable):
        if name in _MODELS:
            raise ValueError(f"register_model: {name!r} is already registered")
        _MODELS[name] = {"fn": fn, "description": description or (fn.__doc__ or "").strip().split("\n")[0],
                         "input": input, "recipe": dict(default_recipe or {})}
        return fn

    return deco


def list_models() -> dict:
    """{name: one-line description} of every registered model."""
    return {k: v["description"] for k, v in sorted(_MODELS.items())}


def model_info(name: str) -> dict:
    if name not in _MODELS:
        raise ValueError(f"unknown model {name!r}; valid models are: {', '.join(sorted(_MODELS))}")
    return _MODELS[name]


def get_model(name: str, **kwargs):
    """Build the registered model ``name`` with ``kwargs`` (e.g. ``num_classes=10, in_channels=1``)."""
    return model_info(name)["fn"](**kwargs)
