"""A library of classic 2-d image kernels, as (kH, kW) Tensors to use with ``correlate2d`` / ``convolve2d`` or to
initialise a ``Conv2d``'s weight.

The derivative kernels are written for correlation (what ``conv2d`` computes): ``correlate2d(img, sobel_x())``
is large where intensity increases to the right. With ``convolve2d`` they flip sign.

>>> import deepgrad as dg
>>> from deepgrad.nn import kernels
>>> img = dg.zeros(5, 5); img[:, 3:] = 1.0
>>> dg.nn.functional.correlate2d(img, kernels.sobel_x())[1].tolist()
[0.0, 4.0, 4.0]
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import as_dtype
from ..tensor import Tensor, tensor

__all__ = ["identity", "box_blur", "sharpen", "laplacian", "edge_difference", "prewitt_x", "prewitt_y", "sobel_x",
           "sobel_y", "gaussian", "gaussian_derivative"]


def _t(a, dtype, device) -> Tensor:
    return tensor(np.asarray(a, dtype=np.float64), dtype=as_dtype(dtype), device=device)


def identity(size: int = 3, dtype=None, device=None) -> Tensor:
    """δ: a single 1 in the centre of a size × size kernel (odd size); filtering returns the image unchanged."""
    if size < 1 or size % 2 == 0:
        raise ValueError(f"identity: size must be a positive odd int, got {size}")
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return _t(k, dtype, device)


def box_blur(size: int = 3, normalize: bool = True, dtype=None, device=None) -> Tensor:
    """1/size² everywhere (the lectures' "blur" with ``normalize=False``: all ones): the local mean."""
    if size < 1:
        raise ValueError(f"box_blur: size must be positive, got {size}")
    return _t(np.full((size, size), 1.0 / size ** 2 if normalize else 1.0), dtype, device)


def laplacian(diagonal: bool = False, dtype=None, device=None) -> Tensor:
    """∇²f ≈ f(x+1) + f(x−1) + f(y+1) + f(y−1) − 4f: [[0, 1, 0], [1, −4, 1], [0, 1, 0]] (8-neighbour with ``diagonal``).

    Zero on flat and linear regions, large at edges and spots. The lectures' "sharpen" matrix
    [[0, −1, 0], [−1, 4, −1], [0, −1, 0]] is ``-laplacian()``, the high-pass part that :func:`sharpen` adds back.
    """
    k = np.ones((3, 3)) if diagonal else np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    k[1, 1] = -(k.sum() - k[1, 1])
    return _t(k, dtype, device)


def sharpen(amount: float = 1.0, dtype=None, device=None) -> Tensor:
    """δ − amount·∇²: the image plus its high-pass detail ([[0, −1, 0], [−1, 5, −1], [0, −1, 0]] for amount 1)."""
    return _t(identity()._data.astype(np.float64) - amount * laplacian()._data.astype(np.float64), dtype, device)


def edge_difference(dtype=None, device=None) -> Tensor:
    """f(x) − f(x − 1): the lectures' minimal edge detector [[0, 0, 0], [−1, 1, 0], [0, 0, 0]]."""
    return _t([[0.0, 0.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype, device)


def prewitt_x(dtype=None, device=None) -> Tensor:
    """∂/∂x by central differences averaged over three rows: [[−1, 0, 1]] × 3."""
    return _t([[-1.0, 0.0, 1.0]] * 3, dtype, device)


def prewitt_y(dtype=None, device=None) -> Tensor:
    """∂/∂y (rows increase downwards): the transpose of :func:`prewitt_x`."""
    return _t(np.array([[-1.0, 0.0, 1.0]] * 3).T, dtype, device)


def sobel_x(dtype=None, device=None) -> Tensor:
    """∂/∂x by central differences smoothed [1, 2, 1] across rows: [[−1, 0, 1], [−2, 0, 2], [−1, 0, 1]]."""
    return _t(np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]), dtype, device)


def sobel_y(dtype=None, device=None) -> Tensor:
    """∂/∂y: the transpose of :func:`sobel_x`."""
    return _t(np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0]), dtype, device)


def _gauss_1d(order: int, sigma: float, size: int) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    g /= g.sum()
    if order == 0:
        return g
    if order == 1:
        return -x / sigma ** 2 * g
    if order == 2:
        return (x ** 2 / sigma ** 4 - 1 / sigma ** 2) * g
    return (3 * x / sigma ** 4 - x ** 3 / sigma ** 6) * g


def gaussian_derivative(order_x: int = 0, order_y: int = 0, sigma: float = 1.0, size: int | None = None,
                        dtype=None, device=None) -> Tensor:
    """k(y, x) = ∂^order_y/∂y^order_y ∂^order_x/∂x^order_x G_σ(y, x), G_σ the Gaussian, sampled on a size × size grid.

    Separable: the outer product of 1-d factors g_σ (normalised to sum 1), g′ = −x/σ²·g, g″ = (x²/σ⁴ − 1/σ²)·g,
    g‴ = (3x/σ⁴ − x³/σ⁶)·g (the lecture's d/dx³), each order in 0..3. ``size`` defaults to 2⌈3σ⌉ + 1
    (2⌈5σ⌉ + 1 with an order 3). Convolving (true convolution) an image with it gives the smoothed
    image's derivative; ``gaussian_derivative(2, 0) + gaussian_derivative(0, 2)`` is the Laplacian of Gaussian.
    """
    for name, o in (("order_x", order_x), ("order_y", order_y)):
        if o not in (0, 1, 2, 3):
            raise ValueError(f"gaussian_derivative: {name} must be 0, 1, 2 or 3, got {o!r}")
    if sigma <= 0:
        raise ValueError(f"gaussian_derivative: sigma must be positive, got {sigma}")
    reach = 5 if 3 in (order_x, order_y) else 3   # x³·g carries weight beyond 3σ: truncating there costs 12 %
    size = 2 * math.ceil(reach * sigma) + 1 if size is None else int(size)
    if size < 1:
        raise ValueError(f"gaussian_derivative: size must be positive, got {size}")
    return _t(np.outer(_gauss_1d(order_y, sigma, size), _gauss_1d(order_x, sigma, size)), dtype, device)


def gaussian(size: int | None = None, sigma: float = 1.0, dtype=None, device=None) -> Tensor:
    """G(y, x) ∝ exp(−(x² + y²) / (2σ²)) on a size × size grid centred on the kernel, normalised to sum 1 (blur)."""
    return gaussian_derivative(0, 0, sigma, size, dtype, device)
