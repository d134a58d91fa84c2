"""Constructor-argument checks for layers, with errors phrased as sentences."""
from __future__ import annotations

import numbers


def positive_int(layer: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return int(value)


def probability(layer: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{layer}: {name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def positive_float(layer: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive number, got {value!r}")
    return float(value)


def reduction(layer: str, value, allowed=("mean", "sum", "none")) -> str:
    if value not in allowed:
        raise ValueError(f"{layer}: reduction must be one of {', '.join(repr(r) for r in allowed)}, got {value!r}")
    return value
