"""Datasets by name: ``get_dataset("mnist-sample", split="train")``, ``list_datasets()``, ``dataset_info(name)``.

Image datasets come ready to train on: images as float32 ``CHW`` in [0, 1] (``ToTensor`` applied, then the
``transform`` you pass), labels int64. Synthetic datasets come as float32 features with int64 labels
(classification) or float32 (n, 1) targets (regression).

Splits:

============== =========================================================================================
mnist-sample   train 5,000 / val 1,000 / test 1,000 (fixed index ranges of the bundled, pre-shuffled file);
               train+val 6,000; all 7,000
mnist,         train 55,000 (first rows of the training file) / val 5,000 (its last rows) / test 10,000;
fashion-mnist  train+val 60,000
cifar10        train 45,000 / val 5,000 / test 10,000; train+val 50,000
synthetic      train 80% / val 10% / test 10% of ``n_samples`` (a permutation fixed by ``seed``); all 100%
============== =========================================================================================
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import synthetic
from ._random import rng_for
from .cifar import CIFAR10
from .dataset import ArrayDataset, Subset
from .mnist import MNIST, MNIST_SAMPLE_SPLITS, FashionMNIST, MNISTSample
from .splits import split_sizes
from .transforms import Compose, ToTensor

__all__ = ["DatasetInfo", "get_dataset", "list_datasets", "dataset_info"]

_SYNTHETIC_SPLITS = ("train", "val", "test", "all")


@dataclass(frozen=True)
class DatasetInfo:
    """What a named dataset is: its task, splits, classes and the shape of one input."""

    name: str
    task: str
    splits: tuple[str, ...]
    num_classes: int | None
    input_shape: tuple[int, ...]
    description: str


def _image_transform(transform: Callable | None) -> Callable:
    return ToTensor() if transform is None else Compose([ToTensor(), transform])


def _real(cls, n_val: int) -> Callable:
    def load(split: str, data_dir, download: bool, transform: Callable | None = None):
        ds = cls(data_dir, train=split != "test", download=download, transform=_image_transform(transform))
        if split in ("test", "train+val"):
            return ds
        cut = len(ds) - n_val
        return Subset(ds, np.arange(cut) if split == "train" else np.arange(cut, len(ds)))
    return load


def _sample(split: str, data_dir, download: bool, transform: Callable | None = None):
    return MNISTSample(split, transform=_image_transform(transform))


def _synthetic(fn: Callable) -> Callable:
    def load(split: str, data_dir, download: bool, seed: int = 0, **kwargs):
        x, y = fn(seed=seed, **kwargs)
        if split == "all":
            return ArrayDataset(x, y)
        order = rng_for(seed, 1).permutation(len(y))
        bounds = np.cumsum([0, *split_sizes(len(y), (0.8, 0.1, 0.1))])
        k = ("train", "val", "test").index(split)
        pick = np.sort(order[bounds[k]: bounds[k + 1]])
        return ArrayDataset(x[pick], y[pick])
    return load


_SPLITS_REAL = ("train", "val", "test", "train+val")
_REGISTRY: dict[str, tuple[DatasetInfo, Callable]] = {}


def _register(info: DatasetInfo, loader: Callable) -> None:
    _REGISTRY[info.name] = (info, loader)


_register(DatasetInfo("mnist-sample", "classification", tuple(MNIST_SAMPLE_SPLITS), 10, (1, 28, 28),
                      "7,000 real MNIST digits bundled with deepgrad (offline)"), _sample)
_register(DatasetInfo("mnist", "classification", _SPLITS_REAL, 10, (1, 28, 28),
                      "MNIST handwritten digits, 60,000 + 10,000 (IDX files; download=True fetches them)"),
          _real(MNIST, 5000))
_register(DatasetInfo("fashion-mnist", "classification", _SPLITS_REAL, 10, (1, 28, 28),
                      "Fashion-MNIST clothing images, 60,000 + 10,000 (IDX files)"), _real(FashionMNIST, 5000))
_register(DatasetInfo("cifar10", "classification", _SPLITS_REAL, 10, (3, 32, 32),
                      "CIFAR-10 colour images, 50,000 + 10,000 (binary distribution)"), _real(CIFAR10, 5000))
for _name, _fn, _classes, _desc in [
    ("xor", synthetic.xor, 2, "2-D points labelled by the XOR of their coordinates' signs"),
    ("circles", synthetic.circles, 2, "2-D disc inside a ring"),
    ("gaussians", synthetic.gaussians, None, "2-D Gaussian blobs, n_classes of them (default 2)"),
    ("spirals", synthetic.spirals, None, "2-D interleaved spirals, n_classes arms (default 2)"),
    ("moons", synthetic.moons, 2, "2-D interleaved half circles"),
]:
    _register(DatasetInfo(_name, "classification", _SYNTHETIC_SPLITS, _classes, (2,), _desc), _synthetic(_fn))
_register(DatasetInfo("rosenbrock", "regression", _SYNTHETIC_SPLITS, None, (2,),
                      "Rosenbrock surface 100 (x2 - x1^2)^2 + (1 - x1)^2 sampled in a box"),
          _synthetic(synthetic.rosenbrock))
_register(DatasetInfo("sine", "regression", _SYNTHETIC_SPLITS, None, (1,), "y = sin(x) with optional noise"),
          _synthetic(synthetic.sine))
_register(DatasetInfo("image-surface", "regression", _SYNTHETIC_SPLITS, None, (2,),
                      "a greyscale image as a function I = f(x, y) of coordinates in [-1, 1]"),
          _synthetic(synthetic.image_surface))


def list_datasets() -> list[str]:
    """The names :func:`get_dataset` accepts."""
    return list(_REGISTRY)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`DatasetInfo` of a named dataset."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown dataset {name!r}; available: {', '.join(_REGISTRY)}")
    return _REGISTRY[name][0]


def get_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None, download: bool = False,
                **kwargs):
    """The dataset ``name`` (see :func:`list_datasets`), part ``split``.

    Args:
        name: e.g. ``"mnist-sample"``, ``"mnist"``, ``"cifar10"``, ``"spirals"``.
        split: ``"train"``, ``"val"``, ``"test"``, and per dataset ``"train+val"`` or ``"all"`` (module docs).
        data_dir: where the files of a real dataset are (default ``$DEEPGRAD_DATA/<name>``, else
            ``~/.cache/deepgrad/<name>``).
        download: fetch missing files (checksums verified).
        **kwargs: image datasets take ``transform`` (applied after ``ToTensor``); synthetic ones take their
            generator's arguments (``n_samples``, ``noise``, ``seed``, ``n_classes``, ...).

    Example:
        >>> ds = get_dataset("mnist-sample", split="test")
        >>> len(ds), tuple(ds[0][0].shape)
        (1000, (1, 28, 28))
    """
    info = dataset_info(name)
    if split not in info.splits:
        raise ValueError(f"dataset {name!r} has no split {split!r}; expected one of {', '.join(info.splits)}")
    return _REGISTRY[name][1](split, data_dir, download, **kwargs)
