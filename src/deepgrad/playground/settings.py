"""The playground's settings and their bounds, checked on the server for every message from the page.

A page (or anyone who can reach the port) sends a JSON object; :func:`validate` turns it into a
:class:`Settings` or raises :class:`SettingsError` naming the field, what it got and what it accepts, which the
page shows beside the control. The bounds keep one connection's work small: at most 6 hidden layers of 8
neurons, 2,000 points, batch size up to the training set.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

from . import datasets
from .features import FEATURES

__all__ = ["Settings", "SettingsError", "validate", "LIVE_FIELDS", "BOUNDS"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
REGULARIZATIONS = ("none", "l1", "l2")
OPTIMIZERS = ("sgd", "momentum", "adam", "bb")
INITS = ("zeros", "constant", "large", "xavier", "he")
MAX_LAYERS, MAX_NEURONS = 6, 8

# (smallest, largest) of each number
BOUNDS = {"points": (50, 2000), "noise": (0, 50), "train_ratio": (10, 90), "batch_size": (1, 2000),
          "classes": (2, datasets.MAX_CLASSES), "lr": (1e-5, 10.0), "reg_rate": (0.0, 10.0), "seed": (0, 2**31 - 1)}
# fields that change a running network in place; any other change rebuilds it
LIVE_FIELDS = ("lr", "regularization", "reg_rate", "batch_size")


class SettingsError(ValueError):
    """A setting out of its bounds; ``field`` names it for the page."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that defines a playground run (the page keeps the same fields in its URL)."""

    dataset: str = "circle"
    classes: int = 2
    formula: str = "3*sin(x)"
    points: int = 500
    noise: int = 0
    train_ratio: int = 50
    batch_size: int = 10
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    lr: float = 0.03
    regularization: str = "none"
    reg_rate: float = 0.0
    optimizer: str = "sgd"
    init: str = "xavier"
    seed: int = 0

    @property
    def n_train(self) -> int:
        return max(1, round(self.points * self.train_ratio / 100))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["features"], d["hidden"] = list(self.features), list(self.hidden)
        return d


_NAMES = {"dataset": "data set", "classes": "number of classes", "formula": "function f(x)", "points": "number of points",
          "noise": "noise", "train_ratio": "ratio of training data", "batch_size": "batch size", "features": "features",
          "hidden": "hidden layers", "activation": "activation", "lr": "learning rate",
          "regularization": "regularisation", "reg_rate": "regularisation rate", "optimizer": "optimiser",
          "init": "initialisation", "seed": "seed"}


def _number(field: str, value: Any, integer: bool) -> float:
    lo, hi = BOUNDS[field]
    name = _NAMES[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SettingsError(field, f"the {name} should be a number, got {value!r}")
    if not math.isfinite(value):
        raise SettingsError(field, f"the {name} should be a finite number, got {value!r}")
    if integer and value != int(value):
        raise SettingsError(field, f"the {name} should be a whole number, got {value!r}")
    if not lo <= value <= hi:
        raise SettingsError(field, f"the {name} {value:g} is out of range: it should be between {lo:g} and {hi:g}")
    return int(value) if integer else float(value)


def _choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(field, f"the {_NAMES[field]} {value!r} is unknown; choose one of {', '.join(choices)}")
    return value


def validate(raw: Any, custom_points: int | None = None) -> Settings:
    """:class:`Settings` from a JSON object (missing fields take their defaults); ``custom_points`` is the size
    of the uploaded data set, if any. Raises :class:`SettingsError` for the first field at fault."""
    if not isinstance(raw, dict):
        raise SettingsError("settings", f"settings should be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_NAMES))
    if unknown:
        raise SettingsError(unknown[0], f"unknown setting {unknown[0]!r}; the settings are {', '.join(_NAMES)}")
    base = Settings()
    get = lambda k: raw.get(k, getattr(base, k))
    kw: dict[str, Any] = {}
    kw["dataset"] = _choice("dataset", get("dataset"), datasets.DATASETS)
    for field in ("points", "noise", "train_ratio", "batch_size", "classes", "seed"):
        kw[field] = _number(field, get(field), integer=True)
    for field in ("lr", "reg_rate"):
        kw[field] = _number(field, get(field), integer=False)
    kw["activation"] = _choice("activation", get("activation"), ACTIVATIONS)
    kw["regularization"] = _choice("regularization", get("regularization"), REGULARIZATIONS)
    kw["optimizer"] = _choice("optimizer", get("optimizer"), OPTIMIZERS)
    kw["init"] = _choice("init", get("init"), INITS)

    features = get("features")
    if not isinstance(features, list | tuple) or not features:
        raise SettingsError("features", f"choose at least one input feature (got {features!r})")
    for f in features:
        _choice("features", f, tuple(FEATURES))
    if len(set(features)) != len(features):
        raise SettingsError("features", f"each feature may be chosen once, got {list(features)}")
    kw["features"] = tuple(f for f in FEATURES if f in features)  # the page's order

    hidden = get("hidden")
    if not isinstance(hidden, list | tuple) or len(hidden) > MAX_LAYERS:
        raise SettingsError("hidden", f"the hidden layers should be a list of at most {MAX_LAYERS} sizes, got {hidden!r}")
    for h in hidden:
        if isinstance(h, bool) or not isinstance(h, int) or not 1 <= h <= MAX_NEURONS:
            raise SettingsError("hidden", f"a hidden layer has 1 to {MAX_NEURONS} neurons, got {h!r}")
    kw["hidden"] = tuple(hidden)

    formula = get("formula")
    if not isinstance(formula, str):
        raise SettingsError("formula", f"the function f(x) should be text, got {formula!r}")
    try:
        datasets.parse_function(formula)
    except datasets.DataError as e:
        raise SettingsError("formula", str(e)) from None
    kw["formula"] = formula

    if kw["dataset"] == "custom":
        if custom_points is None:
            raise SettingsError("dataset", "the custom data set needs points: upload or paste a CSV first")
        kw["points"] = custom_points
    s = Settings(**kw)
    if s.batch_size > s.n_train:
        raise SettingsError("batch_size", f"the batch size {s.batch_size} is larger than the {s.n_train} training "
                                          f"points; choose at most {s.n_train}")
    return s
