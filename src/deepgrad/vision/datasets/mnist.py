"""MNIST, Fashion-MNIST and CIFAR-10 with torchvision's constructors, on the readers of :mod:`deepgrad.data`.

Samples are ``(PIL image, int)`` as in torchvision. When the transform only converts and normalises
(``ToTensor``, ``Normalize``, composed), the DataLoader takes whole batches from the arrays instead (the same
values, without a PIL image per sample).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ... import data as _data
from ...data.dataset import _check_index
from ...tensor import Tensor
from .._pil import pil_image
from ..transforms import array_equivalent

__all__ = ["MNIST", "FashionMNIST", "CIFAR10"]


def _array(value, dtype) -> np.ndarray:
    a = value._data if isinstance(value, Tensor) else np.asarray(value)
    return np.asarray(a, dtype=dtype)


class _ImageArrays:
    """The torchvision side of an :class:`~deepgrad.data.ArrayDataset` of uint8 images and int labels."""

    _pil_mode: str

    def __getitem__(self, index: int):
        i = _check_index(index, len(self), type(self).__name__)
        image = pil_image().fromarray(self.arrays[0][i], mode=self._pil_mode)
        target = int(self.arrays[1][i])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    @property
    def batchable(self) -> bool:
        """Whole batches straight from the arrays, when that gives what the PIL path gives."""
        return self.transform is not None and array_equivalent(self.transform) and self.target_transform is None

    def _set_arrays(self, images, labels) -> None:
        # data and targets are assigned one after the other (torchvision's subsetting idiom): the length is data's
        self.arrays, self._n = (images, labels), len(images)

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.classes)}


class MNIST(_ImageArrays, _data.MNIST):
    """MNIST as ``torchvision.datasets.MNIST``: files in ``root/MNIST/raw`` (or directly in ``root``).

    Args:
        root: the dataset root; ``download=True`` fetches the four IDX files (MD5-checked) into
            ``root/<ClassName>/raw``.
        train: the 60,000 training digits, else the 10,000 test digits.
        transform, target_transform: applied to the PIL image (mode ``"L"``) and to the int label.

    Attributes:
        data: uint8 Tensor (N, 28, 28). targets: int64 Tensor (N,). Both may be assigned (e.g. a subset).
    """

    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]
    _pil_mode = "L"

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        root = Path(root).expanduser()
        raw = root / type(self).__name__ / "raw"
        folder = raw if download or raw.is_dir() or not self._has_files(root, train) else root
        super().__init__(folder, train=train, download=download, transform=transform,
                         target_transform=target_transform)
        self.root = root

    @staticmethod
    def _has_files(folder: Path, train: bool) -> bool:
        stem = "train-images-idx3-ubyte" if train else "t10k-images-idx3-ubyte"
        return (folder / stem).is_file() or (folder / f"{stem}.gz").is_file()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    @property
    def data(self) -> Tensor:
        return Tensor._wrap(self.arrays[0])

    @data.setter
    def data(self, value) -> None:
        self._set_arrays(_array(value, np.uint8), self.arrays[1])

    @property
    def targets(self) -> Tensor:
        return Tensor._wrap(self.arrays[1])

    @targets.setter
    def targets(self, value) -> None:
        self._set_arrays(self.arrays[0], _array(value, np.int64))

    def __repr__(self) -> str:
        return f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n    Root location: {self.root}"


class FashionMNIST(MNIST):
    """Fashion-MNIST with :class:`MNIST`'s interface (files in ``root/FashionMNIST/raw``)."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
    name, mirrors, md5 = _data.FashionMNIST.name, _data.FashionMNIST.mirrors, _data.FashionMNIST.md5


class CIFAR10(_ImageArrays, _data.CIFAR10):
    """CIFAR-10 as ``torchvision.datasets.CIFAR10``, read from the *binary* distribution (never unpickled).

    Args:
        root: holds ``cifar-10-batches-bin/`` (or its ``.bin`` files, or ``cifar-10-binary.tar.gz``);
            ``download=True`` fetches the binary archive (MD5-checked) there.
        train, transform, target_transform: as :class:`MNIST`; images are RGB PIL images.

    Attributes:
        data: uint8 NumPy array (N, 32, 32, 3). targets: list of ints (as torchvision).
    """

    _pil_mode = "RGB"

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable | None = None,
                 target_transform: Callable | None = None, download: bool = False) -> None:
        root = Path(root).expanduser()
        try:
            super().__init__(root, train=train, download=download, transform=transform,
                             target_transform=target_transform)
        except FileNotFoundError:
            if (root / "cifar-10-batches-py").is_dir():
                raise FileNotFoundError(
                    f"CIFAR10: {root} holds the pickled Python version (cifar-10-batches-py), which deepgrad never "
                    "unpickles (unpickling can run code). Use the binary version: download=True fetches "
                    "cifar-10-binary.tar.gz, or put its cifar-10-batches-bin folder in root") from None
            raise
        self.root = root
        self._targets = self.arrays[1].tolist()

    @property
    def data(self) -> np.ndarray:
        return self.arrays[0]

    @data.setter
    def data(self, value) -> None:
        self._set_arrays(_array(value, np.uint8), self.arrays[1])

    @property
    def targets(self) -> list[int]:
        return self._targets

    @targets.setter
    def targets(self, value) -> None:
        labels = _array(value, np.int64)
        self._set_arrays(self.arrays[0], labels)
        self._targets = labels.tolist()
