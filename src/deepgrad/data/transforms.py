"""Transforms: callables that preprocess or augment one sample, each with a ``batch`` twin for a whole stack.

Layout rules:

* :class:`ToTensor` takes NumPy/CuPy images as ``uint8`` ``HW`` or ``HWC`` (``batch``: ``NHW`` or ``NHWC``) and
  returns a float32 :class:`~deepgrad.Tensor` in ``CHW`` (``NCHW``), scaled to [0, 1] when the input is uint8.
* The geometric transforms (:class:`RandomCrop`, :class:`RandomShift`, :class:`RandomHorizontalFlip`,
  :class:`RandomRotation`, :class:`RandomAffine`, :class:`ElasticTransform`) act on the last two axes, so they take
  ``HW`` or ``CHW`` samples (``NHW``/``NCHW`` batches), as arrays or Tensors, and return the same kind they were
  given.
* :class:`Normalize` takes ``C...`` samples (``NC...`` batches), e.g. after ``ToTensor``.

``t(x)`` transforms one sample; ``t.batch(xs)`` transforms a stack along the first axis with independent random
draws per sample, vectorised (no Python loop), on the CPU or the GPU. Random transforms draw from their own NumPy
generator, seeded from deepgrad's (``deepgrad.manual_seed`` fixes it); inside a
:class:`~deepgrad.data.DataLoader` they draw from a per-batch generator instead, so a resumed run sees the same
augmentations.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._random import SeedLike, current_rng, resolve_seed, rng_for

__all__ = ["Transform", "Compose", "ToTensor", "Normalize", "RandomCrop", "RandomShift", "RandomHorizontalFlip",
           "RandomRotation", "RandomAffine", "ElasticTransform", "Lambda", "apply_batch", "rotate", "warp_affine",
           "remap", "blur_planes", "gaussian_kernel1d", "elastic_displacement", "inverse_affine_matrix"]


def _unwrap(x):
    if isinstance(x, Tensor):
        return x._data, True
    return (x if hasattr(x, "__cuda_array_interface__") else np.asarray(x)), False


def apply_batch(fn: Callable, xs):
    """``fn`` applied to each sample of the stack ``xs``: ``fn.batch(xs)`` when it has one, else a loop + stack."""
    if hasattr(fn, "batch"):
        return fn.batch(xs)
    outs = [fn(x) for x in xs]
    if outs and isinstance(outs[0], Tensor):
        xp = backend.array_module(outs[0]._data)
        return Tensor._wrap(xp.stack([o._data for o in outs]))
    return np.stack([np.asarray(o) for o in outs]) if outs else xs


class Transform:
    """Base class: subclasses define ``_forward(a)`` on a batch array (first axis = samples)."""

    def _forward(self, a):
        raise NotImplementedError(f"{type(self).__name__} must define _forward")

    def __call__(self, x):
        a, was_tensor = _unwrap(x)
        out = self._forward(a[None])[0]
        return Tensor._wrap(out) if was_tensor else out

    def batch(self, xs):
        a, was_tensor = _unwrap(xs)
        out = self._forward(a)
        return Tensor._wrap(out) if was_tensor else out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class _RandomTransform(Transform):
    def __init__(self, generator: SeedLike) -> None:
        self._rng = rng_for(resolve_seed(generator))

    @property
    def rng(self) -> np.random.Generator:
        return current_rng(self._rng)


class Compose:
    """Apply ``transforms`` one after another.

    Example:
        >>> import numpy as np
        >>> t = Compose([ToTensor(), Normalize((0.5,), (0.5,))])
        >>> t(np.full((2, 2), 255, np.uint8)).tolist()
        [[[1.0, 1.0], [1.0, 1.0]]]
    """

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def batch(self, xs):
        for t in self.transforms:
            xs = apply_batch(t, xs)
        return xs

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToTensor:
    """uint8 ``HW``/``HWC`` image -> float32 ``CHW`` Tensor in [0, 1] (``batch``: ``NHW``/``NHWC`` -> ``NCHW``).

    Float inputs are only moved to ``CHW`` and cast, not rescaled.
    """

    def _convert(self, a, batched: bool):
        xp = backend.array_module(a)
        base = 1 if batched else 0
        if a.ndim == base + 2:
            a = a[..., None, :, :]
        elif a.ndim == base + 3:
            a = xp.moveaxis(a, -1, -3)
        else:
            want = "NHW or NHWC" if batched else "HW or HWC"
            raise ValueError(f"ToTensor: expected an image of layout {want}, got shape {tuple(a.shape)}")
        scale = a.dtype == np.uint8
        a = xp.ascontiguousarray(a, dtype=np.float32)
        return Tensor._wrap(a * np.float32(1 / 255) if scale else a)

    def __call__(self, x) -> Tensor:
        return self._convert(_unwrap(x)[0], batched=False)

    def batch(self, xs) -> Tensor:
        return self._convert(_unwrap(xs)[0], batched=True)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel ``c`` (first axis of a sample), e.g. MNIST's (0.1307,), (0.3081,)."""

    def __init__(self, mean: Sequence[float] | float, std: Sequence[float] | float) -> None:
        self.mean = tuple(np.atleast_1d(np.asarray(mean, dtype=np.float64)).tolist())
        self.std = tuple(np.atleast_1d(np.asarray(std, dtype=np.float64)).tolist())
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"Normalize: std must be positive, got {self.std}")

    def _forward(self, a):
        xp = backend.array_module(a)
        c = a.shape[1] if a.ndim > 1 else 1
        if len(self.mean) not in (1, c):
            raise ValueError(f"Normalize: {len(self.mean)} means for {c} channels (input shape {tuple(a.shape[1:])})")
        shape = (1, len(self.mean)) + (1,) * (a.ndim - 2)
        dtype = a.dtype if a.dtype.kind == "f" else np.float32
        mean = xp.asarray(self.mean, dtype=dtype).reshape(shape)
        std = xp.asarray(self.std, dtype=dtype).reshape(shape)
        return (a.astype(dtype, copy=False) - mean) / std


def _check_image(a, who: str) -> None:
    if a.ndim < 3:
        raise ValueError(f"{who}: expected an HW or CHW image (NHW/NCHW batch), got shape {tuple(a.shape[1:])}")


def _gather(planes, index):
    """``planes`` (N, L, P) at per-sample flat pixel indices ``index`` (N, K) -> (N, L, K), as one flat take."""
    xp = backend.array_module(planes)
    n, l, p = planes.shape
    return xp.take(planes.reshape(-1), index[:, None, :] + xp.arange(0, n * l * p, p).reshape(n, l, 1))


def _crop(a, rng: np.random.Generator, size: tuple[int, int], padding: int, fill: float):
    """Per-sample random ``size`` windows of ``a`` (N, ..., H, W) padded by ``padding`` with ``fill``."""
    xp = backend.array_module(a)
    n, lead, (h, w) = a.shape[0], a.shape[1:-2], size
    if padding:
        a = xp.pad(a, [(0, 0)] * (a.ndim - 2) + [(padding, padding)] * 2, constant_values=fill)
    hp, wp = a.shape[-2:]
    if h > hp or w > wp:
        raise ValueError(f"crop size {size} is larger than the padded image {(hp, wp)}")
    a = xp.ascontiguousarray(a.reshape(n, -1, hp, wp))
    s = a.strides  # a read-only view of every window; the fancy index copies only the chosen ones
    windows = xp.lib.stride_tricks.as_strided(a, (n, a.shape[1], hp - h + 1, wp - w + 1, h, w), s + s[2:])
    oy = xp.asarray(rng.integers(0, hp - h + 1, size=n))
    ox = xp.asarray(rng.integers(0, wp - w + 1, size=n))
    return windows[xp.arange(n), :, oy, ox].reshape((n, *lead, h, w))


class RandomCrop(_RandomTransform):
    """A random ``size`` window of the image, after padding each side by ``padding`` pixels of ``fill``.

    Args:
        size: output ``(h, w)`` or one int for a square.
        padding: pixels added on every side before cropping (e.g. 4 for CIFAR-10's classic augmentation).
        fill: value of the padding.
        generator: seed source (see :func:`deepgrad.data.DataLoader`).
    """

    def __init__(self, size: int | tuple[int, int], padding: int = 0, fill: float = 0,
                 generator: SeedLike = None) -> None:
        super().__init__(generator)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"RandomCrop: size should be a positive int or (h, w), got {size!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding}")
        self.padding, self.fill = int(padding), fill

    def _forward(self, a):
        _check_image(a, "RandomCrop")
        return _crop(a, self.rng, self.size, self.padding, self.fill)


class RandomShift(_RandomTransform):
    """Translate the image by a random whole number of pixels in ``[-max_shift, max_shift]`` along each axis,
    filling the uncovered border with ``fill`` (the image keeps its size)."""

    def __init__(self, max_shift: int = 2, fill: float = 0, generator: SeedLike = None) -> None:
        super().__init__(generator)
        if not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift should be a non-negative integer, got {max_shift!r}")
        self.max_shift, self.fill = max_shift, fill

    def _forward(self, a):
        _check_image(a, "RandomShift")
        return _crop(a, self.rng, tuple(a.shape[-2:]), self.max_shift, self.fill)


class RandomHorizontalFlip(_RandomTransform):
    """Mirror the image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator: SeedLike = None) -> None:
        super().__init__(generator)
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p}")
        self.p = float(p)

    def _forward(self, a):
        _check_image(a, "RandomHorizontalFlip")
        xp = backend.array_module(a)
        flip = xp.asarray(self.rng.random(a.shape[0]) < self.p).reshape((-1,) + (1,) * (a.ndim - 1))
        return xp.where(flip, a[..., ::-1], a)


class RandomRotation(_RandomTransform):
    """Rotate the image about its centre by an angle drawn uniformly from ``degrees`` (counter-clockwise for
    positive angles), resampling with ``"bilinear"`` or ``"nearest"`` interpolation; corners are ``fill``.

    Args:
        degrees: ``d`` for ``[-d, d]``, or ``(low, high)``.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill: value outside the source image.
    """

    def __init__(self, degrees: float | tuple[float, float], interpolation: str = "bilinear", fill: float = 0,
                 generator: SeedLike = None) -> None:
        super().__init__(generator)
        if degrees is None:
            raise ValueError("RandomRotation: degrees is required, a number d for [-d, d] or (low, high)")
        self.degrees = _range_of(degrees, "RandomRotation", "degrees")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomRotation: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.interpolation, self.fill = interpolation, fill

    def _forward(self, a):
        _check_image(a, "RandomRotation")
        angles = self.rng.uniform(self.degrees[0], self.degrees[1], size=a.shape[0])
        return rotate(a, angles, self.interpolation, self.fill)


def rotate(a, degrees, interpolation: str = "bilinear", fill: float = 0):
    """Rotate each image of the batch ``a`` (N, ..., H, W) counter-clockwise by ``degrees[n]`` about its centre."""
    theta = np.deg2rad(np.asarray(degrees, dtype=np.float64)).reshape(-1)
    h, w = a.shape[-2:]
    cos, sin = np.cos(theta), np.sin(theta)
    cx, cy = w / 2, h / 2
    # output (x, y) -> source: rotated about the centre (y points down, so this turns the picture anticlockwise)
    inverse = np.stack([np.stack([cos, -sin, cx - cos * cx + sin * cy], -1),
                        np.stack([sin, cos, cy - sin * cx - cos * cy], -1)], 1)
    return warp_affine(a, inverse, interpolation, fill)


def warp_affine(a, inverse, interpolation: str = "bilinear", fill: float = 0, size: tuple[int, int] | None = None):
    """Resample each image of ``a`` (N, ..., H, W) through the affine map ``inverse[n]`` (N, 2, 3).

    Output pixel ``(i, j)`` takes the source value at ``inverse @ (j + 0.5, i + 0.5, 1)``, in coordinates where
    pixel ``(r, c)`` covers ``[c, c + 1) x [r, r + 1)`` (Pillow's and ``grid_sample(align_corners=False)``'s),
    by ``"bilinear"`` or ``"nearest"`` interpolation; points outside the source read ``fill``. ``size`` is the
    output ``(H, W)`` (default: the input's).
    """
    xp = backend.array_module(a)
    n, (h, w) = a.shape[0], a.shape[-2:]
    oh, ow = size or (h, w)
    m = xp.asarray(np.asarray(inverse, dtype=np.float64).reshape(-1, 2, 3), dtype=np.float32)
    if m.shape[0] == 1 and n > 1:
        m = xp.broadcast_to(m, (n, 2, 3))
    x = (xp.arange(ow, dtype=np.float32) + 0.5)[None, None, :]
    y = (xp.arange(oh, dtype=np.float32) + 0.5)[None, :, None]
    col = m[:, 0, 0, None, None] * x + m[:, 0, 1, None, None] * y + m[:, 0, 2, None, None] - 0.5
    row = m[:, 1, 0, None, None] * x + m[:, 1, 1, None, None] * y + m[:, 1, 2, None, None] - 0.5
    return remap(a, row, col, interpolation, fill)


def remap(a, row, col, interpolation: str = "bilinear", fill: float = 0):
    """Resample each image of ``a`` (N, ..., H, W) at source points: output pixel ``(i, j)`` of image ``n`` takes
    the value at ``(row[n, i, j], col[n, i, j])`` (N, OH, OW), in pixel coordinates where pixel ``(r, c)``'s centre
    is the point ``(r, c)``, by ``"bilinear"`` or ``"nearest"`` interpolation; points outside read ``fill``.
    Integer images are rounded and clipped back to their dtype."""
    xp = backend.array_module(a)
    n, (h, w) = a.shape[0], a.shape[-2:]
    if row.shape != col.shape or row.ndim != 3 or row.shape[0] != n:
        raise ValueError(f"remap: row and col should both be (N, OH, OW) with N = {n} images, got "
                         f"{tuple(row.shape)} and {tuple(col.shape)}")
    oh, ow = row.shape[1:]
    # clipping to one pixel outside keeps far points on fill
    src_i = xp.clip(row, -1, h).reshape(n, oh * ow)
    src_j = xp.clip(col, -1, w).reshape(n, oh * ow)
    wp = w + 3  # padded by 1 before and 2 after, so (i0 + 1, j0 + 1) of a clipped coordinate stays inside
    planes = xp.pad(a.reshape(n, -1, h, w).astype(np.float32), [(0, 0), (0, 0), (1, 2), (1, 2)],
                    constant_values=fill).reshape(n, -1, (h + 3) * wp)
    if interpolation == "nearest":
        i, j = xp.rint(src_i).astype(np.int64), xp.rint(src_j).astype(np.int64)  # ties to even, as grid_sample
        out = _gather(planes, (i + 1) * wp + j + 1)
    else:
        i0, j0 = xp.floor(src_i), xp.floor(src_j)
        di, dj = (src_i - i0)[:, None], (src_j - j0)[:, None]
        k = (i0.astype(np.int64) + 1) * wp + j0.astype(np.int64) + 1
        top = (1 - dj) * _gather(planes, k) + dj * _gather(planes, k + 1)
        bottom = (1 - dj) * _gather(planes, k + wp) + dj * _gather(planes, k + wp + 1)
        out = (1 - di) * top + di * bottom
    out = out.reshape((*a.shape[:-2], oh, ow))
    if a.dtype.kind in "iub":
        out = xp.rint(out)
        if a.dtype.kind != "b":
            out = xp.clip(out, np.iinfo(a.dtype).min, np.iinfo(a.dtype).max)
    return out.astype(a.dtype, copy=False)


def gaussian_kernel1d(size: int, sigma: float) -> np.ndarray:
    """``g[k] ∝ exp(−x_k² / 2σ²)`` at ``x_k = k − (size − 1)/2``, summing to 1 (torchvision's blur kernel)."""
    x = np.linspace(-(size - 1) / 2, (size - 1) / 2, size)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    return g / g.sum()


def blur_planes(f, size: int, sigma: float):
    """``G_σ * f``: the separable Gaussian blur (``size`` taps, odd) of every plane of ``f`` (..., H, W), each
    border reflected (without repeating the edge pixel)."""
    xp = backend.array_module(f)
    g = xp.asarray(gaussian_kernel1d(size, sigma), dtype=f.dtype)
    r = size // 2
    h, w = f.shape[-2:]
    lead = [(0, 0)] * (f.ndim - 2)
    x = xp.pad(f, lead + [(r, r), (0, 0)], mode="reflect")
    f = sum(g[k] * x[..., k:k + h, :] for k in range(size))
    x = xp.pad(f, lead + [(0, 0), (r, r)], mode="reflect")
    return sum(g[k] * x[..., k:k + w] for k in range(size))


class ElasticTransform(_RandomTransform):
    """Elastic distortion (Simard, Steinkraus and Platt 2003), a new random field per sample: output pixel ``x``
    reads the source at ``x + d(x)`` with ``d = (α/2)·(G_σ * u)``, ``u`` uniform in ``[−1, 1]`` per pixel and axis,
    blurred by a Gaussian of ``σ`` pixels (``int(8σ + 1)`` taps, made odd, reflected at the border).

    ``alpha`` and ``sigma`` mean what they mean in torchvision's ``ElasticTransform`` (its displacement, ``α/W ·
    G_σ * u`` in grid units of half the width, is the same ``α/2 · G_σ * u`` pixels); Simard's setting for digits,
    a ``34 · G_4 * u`` pixel field, is ``ElasticTransform(alpha=68, sigma=4)``.

    Args:
        alpha: strength, one number or ``(α_x, α_y)``; 0 for none.
        sigma: smoothness in pixels, one number or ``(σ_x, σ_y)``; 0 leaves the field unblurred.
        interpolation: ``"bilinear"`` (default) or ``"nearest"``.
        fill: value read outside the source image.
        generator: seed source (see :func:`deepgrad.data.DataLoader`).

    Example:
        >>> t = ElasticTransform(alpha=68.0, sigma=4.0, generator=0)
        >>> t.batch(np.zeros((4, 1, 28, 28), np.float32)).shape
        (4, 1, 28, 28)
    """

    def __init__(self, alpha=50.0, sigma=5.0, interpolation: str = "bilinear", fill: float = 0,
                 generator: SeedLike = None) -> None:
        super().__init__(generator)
        self.alpha = _pair_of(alpha, "alpha")
        self.sigma = _pair_of(sigma, "sigma")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"ElasticTransform: interpolation must be 'bilinear' or 'nearest', got "
                             f"{interpolation!r}")
        self.interpolation, self.fill = interpolation, fill

    def get_params(self, n: int, size: tuple[int, int]) -> np.ndarray:
        """The ``n`` samples' displacements ``(n, H, W, 2)`` in pixels (:func:`elastic_displacement`)."""
        return elastic_displacement(self.rng, n, size, self.alpha, self.sigma)

    def _forward(self, a):
        _check_image(a, "ElasticTransform")
        xp = backend.array_module(a)
        n, (h, w) = a.shape[0], a.shape[-2:]
        d = xp.asarray(self.get_params(n, (h, w)))
        rows = xp.arange(h, dtype=np.float32)[None, :, None] + d[..., 1]
        cols = xp.arange(w, dtype=np.float32)[None, None, :] + d[..., 0]
        return remap(a, rows, cols, self.interpolation, self.fill)


def elastic_displacement(rng: np.random.Generator, n: int, size: tuple[int, int], alpha: tuple[float, float],
                         sigma: tuple[float, float]) -> np.ndarray:
    """``n`` random fields ``(α/2)·(G_σ * u)`` of :class:`ElasticTransform` as ``(n, H, W, 2)`` float32 pixels,
    ``[..., 0]`` along x (columns) and ``[..., 1]`` along y (rows), for images of ``size = (H, W)``."""
    u = rng.uniform(-1, 1, size=(n, 2, *size)).astype(np.float32)
    for axis, (a, s) in enumerate(zip(alpha, sigma)):
        if s > 0:
            taps = int(8 * s + 1)
            u[:, axis] = blur_planes(u[:, axis], taps + 1 - taps % 2, s)
        u[:, axis] *= a / 2
    return np.moveaxis(u, 1, -1)


def _pair_of(value, name: str) -> tuple[float, float]:
    """ElasticTransform's ``alpha``/``sigma``: one non-negative number or two, as a pair of floats."""
    number = (lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    pair = (value, value) if number(value) else tuple(value) if isinstance(value, list | tuple) else ()
    if len(pair) != 2 or not all(number(v) and v >= 0 for v in pair):
        raise ValueError(f"ElasticTransform: {name} should be a non-negative number or two, got {value!r}")
    return float(pair[0]), float(pair[1])


def _range_of(value, who: str, name: str) -> tuple[float, float] | None:
    """``None``, ``d`` (for ``[-d, d]``, ``d >= 0``) or ``(low, high)`` with ``low <= high``, as floats."""
    if value is None:
        return None
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{who}: {name} must be non-negative when one number, got {value}")
        return (-float(value), float(value))
    if len(value) != 2:
        raise ValueError(f"{who}: {name} should be one number or (low, high), got {tuple(value)!r}")
    low, high = (float(v) for v in value)
    if low > high:
        raise ValueError(f"{who}: {name} should be (low, high) with low <= high, got {tuple(value)!r}")
    return low, high


def inverse_affine_matrix(center, angle, translate, scale, shear):
    """The (N, 2, 3) maps from output to source coordinates of ``T(c + t) R(θ) Sh(φx, φy) S(s) T(-c)``, one per
    sample: ``θ`` clockwise in degrees (torchvision's ``affine`` convention), ``t = (tx, ty)`` pixels, ``s`` the
    scale, ``φ`` the shear angles in degrees. With ``a = cos(θ − φy)/cos φy``, ``b = −cos(θ − φy) tan φx/cos φy −
    sin θ``, ``c = sin(θ − φy)/cos φy``, ``d = −sin(θ − φy) tan φx/cos φy + cos θ``, ``R Sh = [[a, b], [c, d]]``
    has determinant 1, so the inverse linear part is its adjugate over ``s``.

    Args:
        center: ``(cx, cy)`` in pixel coordinates (``(w/2, h/2)`` is the image centre).
        angle, scale: numbers or (N,) arrays.
        translate: ``(tx, ty)``, each a number or an (N,) array.
        shear: ``(φx, φy)``, each a number or an (N,) array.
    """
    rot = np.deg2rad(np.asarray(angle, np.float64))
    sx, sy = (np.deg2rad(np.asarray(v, np.float64)) for v in shear)
    tx, ty = (np.asarray(v, np.float64) for v in translate)
    s = np.asarray(scale, np.float64)
    rot, sx, sy, tx, ty, s = (v.reshape(-1) for v in np.broadcast_arrays(rot, sx, sy, tx, ty, s))
    if np.any(s <= 0):
        raise ValueError(f"inverse_affine_matrix: scale must be positive, got {s[s <= 0][0]}")
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    inv = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], 1) / s[:, None, None]  # (N, 2, 2)
    cx, cy = center
    moved = np.stack([cx + tx, cy + ty], -1)  # where the centre goes
    shift = np.array([cx, cy]) - np.einsum("nij,nj->ni", inv, moved)
    return np.concatenate([inv, shift[:, :, None]], axis=2)


class RandomAffine(_RandomTransform):
    """A random affine map per sample about the image centre: output pixel ``x`` reads the source at
    ``A⁻¹(x − c − t) + c`` with ``A = R(θ) Sh(φx, φy) s`` (see :func:`inverse_affine_matrix`), the parameters
    drawn as torchvision's ``RandomAffine`` draws them, but independently for every sample of a batch.

    Args:
        degrees: rotation angle range ``d`` (for ``[-d, d]``) or ``(low, high)``; clockwise for positive angles.
        translate: ``(a, b)``: horizontal shift drawn from ``[-a w, a w]`` and vertical from ``[-b h, b h]``,
            rounded to whole pixels; ``None`` for none.
        scale: ``(low, high)`` scale range, ``None`` for 1.
        shear: x-shear range in degrees (``d`` or ``(low, high)``), or four numbers adding a y range.
        interpolation: ``"nearest"`` (default, as torchvision) or ``"bilinear"``.
        fill: value outside the source image.

    Example:
        >>> t = RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=10, generator=0)
        >>> t.batch(np.zeros((4, 1, 28, 28), np.float32)).shape
        (4, 1, 28, 28)
    """

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation: str = "nearest",
                 fill: float = 0, generator: SeedLike = None) -> None:
        super().__init__(generator)
        if degrees is None:
            raise ValueError("RandomAffine: degrees is required (0 for no rotation)")
        self.degrees = _range_of(degrees, "RandomAffine", "degrees")
        if translate is not None and (len(translate) != 2 or not all(0 <= t <= 1 for t in translate)):
            raise ValueError(f"RandomAffine: translate should be two fractions in [0, 1], got {translate!r}")
        if scale is not None and (len(scale) != 2 or not 0 < scale[0] <= scale[1]):
            raise ValueError(f"RandomAffine: scale should be (low, high) with 0 < low <= high, got {scale!r}")
        if shear is not None and not isinstance(shear, int | float) and len(shear) == 4:
            self.shear = (_range_of(shear[:2], "RandomAffine", "shear"), _range_of(shear[2:], "RandomAffine", "shear"))
        elif shear is None or isinstance(shear, int | float) or len(shear) == 2:
            self.shear = (_range_of(shear, "RandomAffine", "shear"), None)
        else:
            raise ValueError(f"RandomAffine: shear should be a number or 2 or 4 numbers, got {shear!r}")
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(f"RandomAffine: interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
        self.translate = None if translate is None else (float(translate[0]), float(translate[1]))
        self.scale = None if scale is None else (float(scale[0]), float(scale[1]))
        self.interpolation, self.fill = interpolation, fill

    def get_params(self, n: int, size: tuple[int, int]) -> dict:
        """The ``n`` samples' ``angle``, ``translate`` (tx, ty), ``scale`` and ``shear`` (φx, φy) arrays for images
        of ``size = (h, w)``."""
        rng, (h, w) = self.rng, size
        angle = rng.uniform(*self.degrees, size=n)
        tx = ty = np.zeros(n)
        if self.translate is not None:
            tx = np.rint(rng.uniform(-self.translate[0] * w, self.translate[0] * w, size=n))
            ty = np.rint(rng.uniform(-self.translate[1] * h, self.translate[1] * h, size=n))
        scale = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        shx, shy = (np.zeros(n) if r is None else rng.uniform(*r, size=n) for r in self.shear)
        return {"angle": angle, "translate": (tx, ty), "scale": scale, "shear": (shx, shy)}

    def _forward(self, a):
        _check_image(a, "RandomAffine")
        h, w = a.shape[-2:]
        inverse = inverse_affine_matrix((w / 2, h / 2), **self.get_params(a.shape[0], (h, w)))
        return warp_affine(a, inverse, self.interpolation, self.fill)


class Lambda:
    """Wrap a function as a transform. With ``batched=True`` the function also takes whole stacks as they are
    (e.g. ``Lambda(lambda x: x.reshape(len(x), -1), batched=True)`` must then handle both), otherwise ``batch``
    loops over the samples."""

    def __init__(self, fn: Callable, batched: bool = False) -> None:
        if not callable(fn):
            raise TypeError(f"Lambda: expected a callable, got {type(fn).__name__}")
        self.fn, self.batched = fn, batched

    def __call__(self, x):
        return self.fn(x)

    def batch(self, xs):
        if self.batched:
            return self.fn(xs)
        return apply_batch(self.fn, xs)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.fn, '__name__', repr(self.fn))})"


