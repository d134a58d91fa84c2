"""``torchvision.transforms``: the same names and arguments, on PIL images and on Tensors ``(..., C, H, W)``.

Each class is a thin callable over :mod:`deepgrad.vision.transforms.functional`; :class:`Compose`, :class:`ToTensor`,
:class:`Normalize` and :class:`Lambda` are deepgrad's own (:mod:`deepgrad.data.transforms`) with torchvision's
arguments, so they also transform whole stacks at once (``t.batch(xs)``).

Randomness: random transforms draw from deepgrad's default generator, so ``deepgrad.manual_seed`` fixes them (as
``torch.manual_seed`` fixes torchvision's); inside a :class:`~deepgrad.data.DataLoader` each batch draws from its
own generator instead, which makes worker processes and resumed runs give the same augmentations.

Example:
    >>> import numpy as np
    >>> from PIL import Image
    >>> t = Compose([Resize(16), CenterCrop(12), ToTensor(), Normalize((0.5,), (0.5,))])
    >>> tuple(t(Image.fromarray(np.zeros((20, 30), np.uint8))).shape)
    (1, 12, 12)
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from ... import backend
from ...data import transforms as _data
from ...tensor import Tensor
from ...data._random import current_rng
from . import functional
from .functional import InterpolationMode

F = functional

__all__ = ["Compose", "ToTensor", "PILToTensor", "ToPILImage", "ConvertImageDtype", "Normalize", "Resize",
           "CenterCrop", "Pad", "Lambda", "Grayscale", "RandomGrayscale", "RandomCrop", "RandomResizedCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation", "RandomAffine", "ColorJitter",
           "RandomApply", "RandomChoice", "RandomOrder", "GaussianBlur", "ElasticTransform", "RandomErasing", "InterpolationMode",
           "functional", "array_equivalent"]


def _rng() -> np.random.Generator:
    return current_rng(backend.default_generator.module_rng(np))


def array_equivalent(transform) -> bool:
    """True when ``transform`` gives the same result on an image's ``uint8`` array as on the PIL image itself,
    so a dataset may hand it arrays (and whole stacks) instead of images."""
    if transform is None:
        return True
    if isinstance(transform, _data.Compose):
        return all(array_equivalent(t) for t in transform.transforms)
    return bool(getattr(transform, "array_equivalent", False))


class _Repr:
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


Compose = _data.Compose


class ToTensor(_data.ToTensor):
    """PIL image or ``HWC`` array -> float32 ``CHW`` Tensor in [0, 1] (bytes are divided by 255)."""

    array_equivalent = True

    def __call__(self, pic):
        return F.to_tensor(pic)


class PILToTensor(_Repr):
    """PIL image -> ``CHW`` Tensor of the image's own dtype, not rescaled."""

    def __call__(self, pic):
        return F.pil_to_tensor(pic)


class ToPILImage(_Repr):
    """Tensor ``CHW`` or array ``HWC`` -> PIL image (``mode`` as Pillow's, e.g. ``"L"``, ``"RGB"``)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic):
        return F.to_pil_image(pic, self.mode)


class ConvertImageDtype(_Repr):
    """Change a Tensor image's dtype, rescaling the values (bytes <-> [0, 1])."""

    def __init__(self, dtype) -> None:
        self.dtype = dtype

    def __call__(self, image):
        return F.convert_image_dtype(image, self.dtype)


class Normalize(_data.Normalize):
    """``(x - mean[c]) / std[c]`` per channel of a float Tensor ``(..., C, H, W)``."""

    array_equivalent = True

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        super().__init__(mean, std)
        self.inplace = bool(inplace)

    def __call__(self, tensor):
        return F.normalize(tensor, self.mean, self.std, self.inplace)


class Lambda(_data.Lambda):
    """Apply a user function ``lambd`` as a transform."""

    def __init__(self, lambd: Callable) -> None:
        super().__init__(lambd)

    @property
    def lambd(self) -> Callable:
        return self.fn


class Resize(_Repr):
    """Resize to ``size`` (``(h, w)``, or one number for the shorter edge; see :func:`functional.resize`)."""

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
                 antialias: bool | None = True) -> None:
        if not isinstance(size, numbers.Integral) and (not isinstance(size, Sequence) or len(size) not in (1, 2)):
            raise TypeError(f"Resize: size should be an int or a sequence of 1 or 2 ints, got {size!r}")
        self.size, self.interpolation, self.max_size, self.antialias = size, F._mode(interpolation), max_size, antialias

    def __call__(self, img):
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)


class CenterCrop(_Repr):
    """The centred ``size`` window (zero padding first when the image is smaller)."""

    def __init__(self, size) -> None:
        self.size = F._pair(size, "CenterCrop")

    def __call__(self, img):
        return F.center_crop(img, self.size)


class Pad(_Repr):
    """Pad the sides (see :func:`functional.pad`)."""

    def __init__(self, padding, fill=0, padding_mode: str = "constant") -> None:
        F._ltrb(padding)
        if padding_mode not in F._NP_MODES:
            raise ValueError(f"Pad: padding_mode should be one of {list(F._NP_MODES)}, got {padding_mode!r}")
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode

    def __call__(self, img):
        return F.pad(img, self.padding, self.fill, self.padding_mode)


class Grayscale(_Repr):
    """Grey version of an RGB image, with ``num_output_channels`` 1 or 3."""

    def __init__(self, num_output_channels: int = 1) -> None:
        self.num_output_channels = num_output_channels

    def __call__(self, img):
        return F.rgb_to_grayscale(img, self.num_output_channels)


def _probability(p: float, who: str) -> float:
    if not 0 <= p <= 1:
        raise ValueError(f"{who}: p should lie in [0, 1], got {p}")
    return float(p)


class RandomGrayscale(_Repr):
    """Grey (with as many channels as the input) with probability ``p``."""

    def __init__(self, p: float = 0.1) -> None:
        self.p = _probability(p, "RandomGrayscale")

    def __call__(self, img):
        if _rng().random() < self.p:
            return F.rgb_to_grayscale(img, F.get_dimensions(img)[0])
        return img


class RandomHorizontalFlip(_Repr):
    """Mirror left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p, "RandomHorizontalFlip")

    def __call__(self, img):
        return F.hflip(img) if _rng().random() < self.p else img


class RandomVerticalFlip(_Repr):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(p, "RandomVerticalFlip")

    def __call__(self, img):
        return F.vflip(img) if _rng().random() < self.p else img


class RandomCrop(_Repr):
    """A random ``size`` window, after optional ``padding`` (and, with ``pad_if_needed``, enough padding to fit).

    Args:
        size: ``(h, w)`` or one int.
        padding: as :class:`Pad` (one int, 2 or 4 ints), or None.
        pad_if_needed: pad an image smaller than ``size`` (on both sides) instead of failing.
        fill, padding_mode: as :class:`Pad`.
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0, padding_mode: str = "constant") -> None:
        self.size = F._pair(size, "RandomCrop")
        if padding is not None:
            F._ltrb(padding)
        self.padding, self.pad_if_needed, self.fill, self.padding_mode = padding, pad_if_needed, fill, padding_mode

    @staticmethod
    def get_params(img, output_size) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a random window of ``output_size``."""
        _, h, w = F.get_dimensions(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: the crop size {(th, tw)} is larger than the image {(h, w)}; pass "
                             "padding= or pad_if_needed=True")
        rng = _rng()
        return int(rng.integers(0, h - th + 1)), int(rng.integers(0, w - tw + 1)), th, tw

    def __call__(self, img):
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, h, w = F.get_dimensions(img)
        th, tw = self.size
        if self.pad_if_needed and (w < tw or h < th):
            img = F.pad(img, [max(tw - w, 0), max(th - h, 0)], self.fill, self.padding_mode)
        return F.crop(img, *self.get_params(img, self.size))


class RandomResizedCrop(_Repr):
    """A random window of ``scale`` (fraction of the area) and aspect ``ratio`` (log-uniform), resized to
    ``size``: the Inception-style crop. After 10 failed draws, the centred crop of the closest allowed ratio."""

    def __init__(self, size, scale: tuple[float, float] = (0.08, 1.0), ratio: tuple[float, float] = (3 / 4, 4 / 3),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True) -> None:
        self.size = F._pair(size, "RandomResizedCrop")
        if scale[0] > scale[1] or ratio[0] > ratio[1]:
            raise ValueError(f"RandomResizedCrop: scale and ratio should be (min, max), got {scale} and {ratio}")
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.interpolation, self.antialias = F._mode(interpolation), antialias

    @staticmethod
    def get_params(img, scale, ratio) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of a random window."""
        _, height, width = F.get_dimensions(img)
        area, rng = height * width, _rng()
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(scale[0], scale[1])
            aspect = math.exp(rng.uniform(*log_ratio))
            w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
        in_ratio = width / height
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, img):
        top, left, h, w = self.get_params(img, self.scale, self.ratio)
        return F.resized_crop(img, top, left, h, w, self.size, self.interpolation, self.antialias)


def _range(value, who: str, name: str, centre: float = 0.0, bound: tuple[float, float] | None = None,
           clip_zero: bool = False):
    """``d`` -> ``(centre - d, centre + d)``; a pair is kept. None or zero width means 'not used'."""
    if value is None:
        return None
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{who}: {name} should be non-negative when one number, got {value}")
        value = (centre - value, centre + value)
        if clip_zero:
            value = (max(value[0], 0.0), value[1])
    value = (float(value[0]), float(value[1]))
    if value[0] > value[1] or (bound is not None and not bound[0] <= value[0] <= value[1] <= bound[1]):
        raise ValueError(f"{who}: {name} should be (min, max){f' within {bound}' if bound else ''}, got {value}")
    return None if value[0] == value[1] == centre else value


class RandomRotation(_Repr):
    """Rotate by an angle drawn uniformly from ``degrees`` (``d`` for ``[-d, d]``), counter-clockwise."""

    def __init__(self, degrees, interpolation=InterpolationMode.NEAREST, expand: bool = False, center=None,
                 fill=0) -> None:
        self.degrees = _range(degrees, "RandomRotation", "degrees") or (0.0, 0.0)
        self.interpolation, self.expand, self.center, self.fill = F._mode(interpolation), expand, center, fill

    @staticmethod
    def get_params(degrees) -> float:
        return float(_rng().uniform(degrees[0], degrees[1]))

    def __call__(self, img):
        return F.rotate(img, self.get_params(self.degrees), self.interpolation, self.expand, self.center, self.fill)


class RandomAffine(_Repr):
    """A random affine map: rotation from ``degrees``, translation up to ``translate = (a, b)`` of the width and
    height, scaling from ``scale = (lo, hi)``, shear from ``shear`` (degrees: one number or ``(lo, hi)`` along x;
    four numbers add a y range)."""

    def __init__(self, degrees, translate=None, scale=None, shear=None, interpolation=InterpolationMode.NEAREST,
                 fill=0, center=None) -> None:
        self.degrees = _range(degrees, "RandomAffine", "degrees") or (0.0, 0.0)
        if translate is not None and (len(translate) != 2 or not all(0 <= t <= 1 for t in translate)):
            raise ValueError(f"RandomAffine: translate should be two fractions in [0, 1], got {translate!r}")
        if scale is not None and (len(scale) != 2 or scale[0] <= 0 or scale[0] > scale[1]):
            raise ValueError(f"RandomAffine: scale should be (min, max) of positive numbers, got {scale!r}")
        if shear is not None and not isinstance(shear, numbers.Number) and len(shear) not in (2, 4):
            raise ValueError(f"RandomAffine: shear should be a number or 2 or 4 numbers, got {shear!r}")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation, self.fill, self.center = F._mode(interpolation), fill, center

    @staticmethod
    def get_params(degrees, translate, scale_ranges, shears, img_size) -> tuple[float, tuple[int, int], float,
                                                                                 tuple[float, float]]:
        """``(angle, (tx, ty), scale, (shear_x, shear_y))`` for an image of ``img_size = [width, height]``."""
        rng = _rng()
        angle = float(rng.uniform(degrees[0], degrees[1]))
        tx = ty = 0
        if translate is not None:
            tx = int(round(rng.uniform(-translate[0] * img_size[0], translate[0] * img_size[0])))
            ty = int(round(rng.uniform(-translate[1] * img_size[1], translate[1] * img_size[1])))
        scale = 1.0 if scale_ranges is None else float(rng.uniform(scale_ranges[0], scale_ranges[1]))
        shear_x = shear_y = 0.0
        if shears is not None:
            if isinstance(shears, numbers.Number):
                shears = (-shears, shears)
            shear_x = float(rng.uniform(shears[0], shears[1]))
            if len(shears) == 4:
                shear_y = float(rng.uniform(shears[2], shears[3]))
        return angle, (tx, ty), scale, (shear_x, shear_y)

    def __call__(self, img):
        angle, translate, scale, shear = self.get_params(self.degrees, self.translate, self.scale, self.shear,
                                                         F.get_image_size(img))
        return F.affine(img, angle, translate, scale, shear, self.interpolation, self.fill, self.center)


class ColorJitter(_Repr):
    """Random brightness, contrast, saturation (factors from ``[max(0, 1 - v), 1 + v]`` or a given range) and
    hue (from ``[-v, v]``, at most 0.5), applied in a random order."""

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0) -> None:
        self.brightness = _range(brightness, "ColorJitter", "brightness", 1.0, (0, math.inf), True)
        self.contrast = _range(contrast, "ColorJitter", "contrast", 1.0, (0, math.inf), True)
        self.saturation = _range(saturation, "ColorJitter", "saturation", 1.0, (0, math.inf), True)
        self.hue = _range(hue, "ColorJitter", "hue", 0.0, (-0.5, 0.5))

    @staticmethod
    def get_params(brightness, contrast, saturation, hue):
        """``(order, b, c, s, h)``: a permutation of the four adjustments and their factors (None: unused)."""
        rng = _rng()
        order = rng.permutation(4).tolist()
        draw = [None if r is None else float(rng.uniform(r[0], r[1])) for r in (brightness, contrast, saturation, hue)]
        return (order, *draw)

    def __call__(self, img):
        order, *factors = self.get_params(self.brightness, self.contrast, self.saturation, self.hue)
        adjust = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for k in order:
            if factors[k] is not None:
                img = adjust[k](img, factors[k])
        return img


class RandomApply(_Repr):
    """Apply the list of ``transforms`` (in order) with probability ``p``, else none of them."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5) -> None:
        self.transforms, self.p = list(transforms), _probability(p, "RandomApply")

    def __call__(self, img):
        if _rng().random() < self.p:
            for t in self.transforms:
                img = t(img)
        return img


class RandomChoice(_Repr):
    """Apply one of ``transforms``, picked with probabilities ``p`` (default uniform)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None) -> None:
        self.transforms = list(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(f"RandomChoice: {len(self.transforms)} transforms but {len(p)} probabilities")
        self.p = None if p is None else [float(v) / sum(p) for v in p]

    def __call__(self, img):
        return self.transforms[int(_rng().choice(len(self.transforms), p=self.p))](img)


class RandomOrder(_Repr):
    """Apply all ``transforms`` in a random order."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img):
        for k in _rng().permutation(len(self.transforms)):
            img = self.transforms[int(k)](img)
        return img


class GaussianBlur(_Repr):
    """Gaussian blur of ``kernel_size`` with a sigma drawn uniformly from ``sigma`` (one number: fixed)."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)) -> None:
        ks = (kernel_size, kernel_size) if isinstance(kernel_size, numbers.Integral) else tuple(kernel_size)
        if len(ks) != 2 or any(k <= 0 or k % 2 == 0 for k in ks):
            raise ValueError(f"GaussianBlur: kernel_size should be positive odd numbers, got {kernel_size!r}")
        sigma = (float(sigma), float(sigma)) if isinstance(sigma, numbers.Number) else tuple(map(float, sigma))
        if len(sigma) != 2 or not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f"GaussianBlur: sigma should be positive, as one number or (min, max), got {sigma!r}")
        self.kernel_size, self.sigma = ks, sigma

    @staticmethod
    def get_params(sigma_min: float, sigma_max: float) -> float:
        return float(_rng().uniform(sigma_min, sigma_max))

    def __call__(self, img):
        s = self.get_params(*self.sigma)
        return F.gaussian_blur(img, list(self.kernel_size), [s, s])


class ElasticTransform(_Repr):
    """Elastic distortion: every pixel moved by ``α/2 · G_σ * u`` pixels, ``u`` uniform in ``[−1, 1]`` per pixel
    and axis, blurred by a Gaussian of ``σ`` (:class:`deepgrad.data.transforms.ElasticTransform`, which draws a
    field per sample of a whole stack)."""

    def __init__(self, alpha=50.0, sigma=5.0, interpolation=InterpolationMode.BILINEAR, fill=0) -> None:
        checked = _data.ElasticTransform(alpha, sigma, generator=0)  # one home for the argument rules
        self.alpha, self.sigma = list(checked.alpha), list(checked.sigma)
        self.interpolation, self.fill = F._mode(interpolation), fill

    @staticmethod
    def get_params(alpha, sigma, size) -> Tensor:
        """A (1, H, W, 2) displacement for ``size = [H, W]``, in torchvision's units (half the width, half the
        height)."""
        h, w = size
        d = _data.elastic_displacement(_rng(), 1, (h, w), tuple(alpha), tuple(sigma))
        return Tensor._wrap(d * np.array([2 / w, 2 / h], np.float32))

    def __call__(self, img):
        _, h, w = F.get_dimensions(img)
        return F.elastic_transform(img, self.get_params(self.alpha, self.sigma, [h, w]), self.interpolation,
                                   self.fill)


class RandomErasing(_Repr):
    """With probability ``p``, set a random window of a Tensor image (area fraction from ``scale``, aspect from
    ``ratio``, log-uniform) to ``value``: a number, one per channel, or ``"random"`` (standard normal noise)."""

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace: bool = False) -> None:
        self.p = _probability(p, "RandomErasing")
        if scale[0] > scale[1] or ratio[0] > ratio[1] or scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be (min, max) in [0, 1] and ratio (min, max), got "
                             f"{scale} and {ratio}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value should be a number, a sequence or 'random', got {value!r}")
        self.scale, self.ratio, self.value, self.inplace = tuple(scale), tuple(ratio), value, inplace

    @staticmethod
    def get_params(img, scale, ratio, value=None):
        """``(i, j, h, w, v)``; after 10 draws that do not fit, the whole image unchanged."""
        c, height, width = F.get_dimensions(img)
        rng, area = _rng(), height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target = area * rng.uniform(scale[0], scale[1])
            aspect = math.exp(rng.uniform(*log_ratio))
            h, w = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if not (h < height and w < width):
                continue
            if value is None:
                v = rng.standard_normal((c, h, w)).astype(np.float32)
            else:
                v = np.asarray(value, dtype=np.float32).reshape(-1, 1, 1)
            return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w, v
        return 0, 0, height, width, img

    def __call__(self, img):
        if not isinstance(img, F.Tensor):
            raise TypeError(f"RandomErasing: expected a Tensor image (after ToTensor), got {type(img).__name__}")
        if _rng().random() >= self.p:
            return img
        value = None if self.value == "random" else self.value
        if value is not None and not isinstance(value, numbers.Number) and len(value) not in (1, F.get_dimensions(img)[0]):
            raise ValueError(f"RandomErasing: {len(value)} values for {F.get_dimensions(img)[0]} channels")
        i, j, h, w, v = self.get_params(img, self.scale, self.ratio, value)
        if v is img:
            return img
        a = img._data
        return F.erase(img, i, j, h, w, backend.array_module(a).asarray(v, dtype=a.dtype), self.inplace)
