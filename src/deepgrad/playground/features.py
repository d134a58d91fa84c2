"""The playground's input features: functions of the point ``(x1, x2)`` fed to the network's first layer.

The seven of the TensorFlow Playground: ``x1``, ``x2``, ``x1^2``, ``x2^2``, ``x1*x2``, ``sin(x1)``, ``sin(x2)``.
This module needs only NumPy, so an exported playground script can import it.
"""
from __future__ import annotations

import numpy as np

__all__ = ["FEATURES", "feature_matrix"]

FEATURES = {
    "x1": lambda x: x[:, 0],
    "x2": lambda x: x[:, 1],
    "x1sq": lambda x: x[:, 0] ** 2,
    "x2sq": lambda x: x[:, 1] ** 2,
    "x1x2": lambda x: x[:, 0] * x[:, 1],
    "sinx1": lambda x: np.sin(x[:, 0]),
    "sinx2": lambda x: np.sin(x[:, 1]),
}


def feature_matrix(points: np.ndarray, names: list[str]) -> np.ndarray:
    """The (n, len(names)) float32 matrix of the named features of ``points`` (n, 2).

    Example:
        >>> feature_matrix(np.array([[2.0, 3.0]]), ["x1", "x1x2"]).tolist()
        [[2.0, 6.0]]
    """
    points = np.asarray(points, np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"feature_matrix: expected points of shape (n, 2), got {points.shape}")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"feature_matrix: unknown feature {unknown[0]!r}; choose from {', '.join(FEATURES)}")
    return np.stack([FEATURES[n](points) for n in names], axis=1).astype(np.float32)
