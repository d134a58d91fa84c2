"""Synthetic datasets: TensorFlow-Playground-style 2-D classification and small regression problems.

Every function returns ``(X, y)`` NumPy arrays and is deterministic for a given ``seed``: features are float32;
classification labels are int64 of shape (n,); regression targets are float32 of shape (n, 1), so that
``mse_loss(model(X), y)`` works with a one-output model. Classes are balanced (sizes differ by at most one) and the
rows come in random order. Wrap them with :class:`~deepgrad.data.ArrayDataset` for a DataLoader.
"""
from __future__ import annotations

import numpy as np

from ._random import rng_for

__all__ = ["xor", "circles", "gaussians", "spirals", "moons", "rosenbrock", "sine", "image_surface",
           "surface_image"]

Arrays = tuple[np.ndarray, np.ndarray]


def _check(n_samples: int, noise: float, n_classes: int = 2) -> None:
    if not isinstance(n_samples, int | np.integer) or n_samples <= 0:
        raise ValueError(f"n_samples should be a positive integer, got {n_samples!r}")
    if noise < 0:
        raise ValueError(f"noise must be non-negative, got {noise}")
    if not isinstance(n_classes, int | np.integer) or n_classes < 1:
        raise ValueError(f"n_classes should be a positive integer, got {n_classes!r}")


def _balanced_labels(n: int, n_classes: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) % n_classes


def _finish(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, noise: float) -> Arrays:
    x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order]


def xor(n_samples: int = 400, noise: float = 0.0, seed: int = 0) -> Arrays:
    """Points in [-1, 1]^2, label 1 where x1 and x2 have the same sign (the XOR of their signs), 0 otherwise.

    Points keep a 0.02 margin from the axes, where the label flips. Noise (Gaussian, std ``noise``) moves the
    points after labelling, as in the TensorFlow Playground.
    """
    _check(n_samples, noise)
    rng = rng_for(seed)
    y = _balanced_labels(n_samples, 2)
    s1 = rng.choice([-1.0, 1.0], size=n_samples)
    s2 = np.where(y == 1, s1, -s1)
    x = rng.uniform(0.02, 1.0, size=(n_samples, 2)) * np.stack([s1, s2], axis=1)
    return _finish(x, y, rng, noise)


def circles(n_samples: int = 400, noise: float = 0.0, seed: int = 0, factor: float = 0.5) -> Arrays:
    """Class 0 inside radius ``factor``, class 1 on a ring between radius 0.7 and 1."""
    _check(n_samples, noise)
    rng = rng_for(seed)
    y = _balanced_labels(n_samples, 2)
    r = np.where(y == 0, rng.uniform(0, factor, n_samples), rng.uniform(0.7, 1.0, n_samples))
    a = rng.uniform(0, 2 * np.pi, n_samples)
    return _finish(np.stack([r * np.cos(a), r * np.sin(a)], axis=1), y, rng, noise)


def gaussians(n_samples: int = 400, n_classes: int = 2, noise: float = 0.15, seed: int = 0) -> Arrays:
    """``n_classes`` isotropic Gaussian blobs (std ``noise``) centred evenly on the circle of radius 0.7."""
    _check(n_samples, noise, n_classes)
    rng = rng_for(seed)
    y = _balanced_labels(n_samples, n_classes)
    angle = 2 * np.pi * y / n_classes + np.pi / 4
    centres = 0.7 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish(centres, y, rng, noise)


def spirals(n_samples: int = 400, n_classes: int = 2, noise: float = 0.0, seed: int = 0, turns: float = 1.0) -> Arrays:
    """``n_classes`` interleaved spiral arms from the centre outwards, each making ``turns`` turns."""
    _check(n_samples, noise, n_classes)
    rng = rng_for(seed)
    y = _balanced_labels(n_samples, n_classes)
    t = rng.uniform(0.05, 1.0, n_samples)
    a = 2 * np.pi * (turns * t + y / n_classes)
    return _finish(np.stack([t * np.cos(a), t * np.sin(a)], axis=1), y, rng, noise)


def moons(n_samples: int = 400, noise: float = 0.0, seed: int = 0) -> Arrays:
    """Two interleaved half circles (class 0 the upper one), scaled and centred to lie in about [-1, 1]^2."""
    _check(n_samples, noise)
    rng = rng_for(seed)
    y = _balanced_labels(n_samples, 2)
    a = rng.uniform(0, np.pi, n_samples)
    x = np.where(y[:, None] == 0, np.stack([np.cos(a), np.sin(a)], 1), np.stack([1 - np.cos(a), 0.5 - np.sin(a)], 1))
    x = (x - np.array([0.5, 0.25])) / 1.5
    return _finish(x, y, rng, noise)


def rosenbrock(n_samples: int = 1024, noise: float = 0.0, seed: int = 0, grid: bool = False,
               low: tuple[float, float] = (-2.0, -1.0), high: tuple[float, float] = (2.0, 3.0)) -> Arrays:
    """Samples of the Rosenbrock surface ``f(x1, x2) = 100 (x2 - x1^2)^2 + (1 - x1)^2`` in the box [low, high].

    Points are uniform in the box, or with ``grid=True`` a ``k x k`` grid (``k = round(sqrt(n_samples))``, in
    row-major order). ``noise`` adds Gaussian noise of that std to the targets.
    """
    _check(n_samples, noise)
    rng = rng_for(seed)
    lo, hi = np.asarray(low, np.float64), np.asarray(high, np.float64)
    if grid:
        k = max(int(round(np.sqrt(n_samples))), 2)
        g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], k), np.linspace(lo[1], hi[1], k), indexing="xy")
        x = np.stack([g1.ravel(), g2.ravel()], axis=1)
    else:
        x = rng.uniform(lo, hi, size=(n_samples, 2))
    f = 100 * (x[:, 1] - x[:, 0] ** 2) ** 2 + (1 - x[:, 0]) ** 2
    f = f + noise * rng.standard_normal(f.shape)
    return x.astype(np.float32), f[:, None].astype(np.float32)


def sine(n_samples: int = 256, noise: float = 0.0, seed: int = 0, low: float = -np.pi, high: float = np.pi,
         frequency: float = 1.0) -> Arrays:
    """``y = sin(frequency * x) + noise * N(0, 1)`` for x uniform in [low, high]; X (n, 1), y (n, 1)."""
    _check(n_samples, noise)
    rng = rng_for(seed)
    x = np.sort(rng.uniform(low, high, n_samples))
    y = np.sin(frequency * x) + noise * rng.standard_normal(n_samples)
    return x[:, None].astype(np.float32), y[:, None].astype(np.float32)


def surface_image(size: int = 64) -> np.ndarray:
    """A deterministic greyscale test image (size, size) float32 in [0, 1]: blobs, rings and a sharp edge.

    Row 0 is the top (y = +1); column 0 the left (x = -1).
    """
    if not isinstance(size, int) or size < 2:
        raise ValueError(f"size should be an integer of at least 2, got {size!r}")
    c = np.linspace(-1, 1, size)
    x, y = np.meshgrid(c, -c, indexing="xy")
    blobs = (np.exp(-((x + 0.45) ** 2 + (y - 0.4) ** 2) / 0.04) + 0.7 * np.exp(-((x - 0.5) ** 2 + (y + 0.45) ** 2)
                                                                                  / 0.02))
    r = np.hypot(x - 0.35, y - 0.35)
    rings = 0.5 * (1 + np.cos(18 * r)) * np.exp(-r / 0.35)
    edge = (y < -0.6 * x - 0.35).astype(np.float64)
    img = 0.15 + 0.45 * blobs + 0.35 * rings + 0.4 * edge
    return ((img - img.min()) / (img.max() - img.min())).astype(np.float32)


def image_surface(size: int = 64, image: np.ndarray | None = None, n_samples: int | None = None, noise: float = 0.0,
                  seed: int = 0) -> Arrays:
    """An image used as a function ``I = f(x, y)``: X the pixel coordinates in [-1, 1]^2 (n, 2), y the
    intensities in [0, 1] (n, 1).

    Args:
        size: side of the default image (:func:`surface_image`).
        image: a 2-D array to use instead (scaled to [0, 1] when it is uint8).
        n_samples: draw this many pixels at random (default: every pixel, row-major).
        noise: Gaussian noise std added to the intensities.
    """
    img = surface_image(size) if image is None else np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"image_surface: expected a 2-D greyscale image, got shape {img.shape}")
    img = img.astype(np.float64) / (255.0 if img.dtype == np.uint8 else 1.0)
    h, w = img.shape
    x, y = np.meshgrid(np.linspace(-1, 1, w), np.linspace(1, -1, h), indexing="xy")
    coords, values = np.stack([x.ravel(), y.ravel()], axis=1), img.ravel()
    rng = rng_for(seed)
    if n_samples is not None:
        _check(n_samples, noise)
        pick = rng.choice(values.size, size=n_samples, replace=n_samples > values.size)
        coords, values = coords[pick], values[pick]
    values = values + noise * rng.standard_normal(values.shape)
    return coords.astype(np.float32), values[:, None].astype(np.float32)
