"""CIFAR-10 from its *binary* distribution (``cifar-10-binary.tar.gz``), never the pickled one.

Each ``.bin`` file is a run of 3,073-byte records: one label byte (0-9), then 1,024 red, 1,024 green and 1,024
blue pixel bytes of a 32x32 image in row-major order.
"""
from __future__ import annotations

import os
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import numpy as np

from .dataset import ArrayDataset
from .download import data_root, download_file, file_digest

__all__ = ["CIFAR10", "read_cifar_binary", "extract_cifar", "CIFAR_RECORD_BYTES"]

CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32
_ARCHIVE = "cifar-10-binary.tar.gz"
_ARCHIVE_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
_FOLDER = "cifar-10-batches-bin"
_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST = ("test_batch.bin",)


def read_cifar_binary(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``(images (N, 32, 32, 3) uint8 HWC, labels (N,) int64)`` from one CIFAR-10 binary batch file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % CIFAR_RECORD_BYTES:
        raise ValueError(f"{os.fspath(path)}: a CIFAR-10 binary file holds whole records of {CIFAR_RECORD_BYTES} "
                         f"bytes (10,000 records = {10000 * CIFAR_RECORD_BYTES} bytes), but this one has {raw.size} "
                         "bytes: truncated or not a CIFAR-10 .bin file")
    records = raw.reshape(-1, CIFAR_RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{os.fspath(path)}: label byte {int(labels.max())} is outside 0..9; not a CIFAR-10 file")
    images = np.ascontiguousarray(records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, labels


def _safe_member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"refusing to extract {name!r}: it points outside the target directory")
    member = tar.getmember(name)
    if not member.isfile():
        raise ValueError(f"refusing to extract {name!r}: not a regular file (links and devices are never extracted)")
    return member


def extract_cifar(archive: str | os.PathLike, dest: str | os.PathLike) -> None:
    """Extract only the six ``.bin`` batch files of ``archive`` into ``dest``, each via a temporary file.

    Member names are fixed (``cifar-10-batches-bin/<file>``) and must be regular files, so a crafted archive
    cannot write outside ``dest`` (no path traversal, no links).
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:gz") as tar:
        for fname in _TRAIN + _TEST:
            target = dest / fname
            if target.exists():
                continue
            source = tar.extractfile(_safe_member(tar, f"{_FOLDER}/{fname}"))
            fd, tmp = tempfile.mkstemp(prefix=f".{fname}.", suffix=".part", dir=dest)
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)


class CIFAR10(ArrayDataset):
    """CIFAR-10: 50,000 training / 10,000 test colour images 32x32, ten classes.

    Args:
        root: directory with the ``.bin`` files (directly or in ``cifar-10-batches-bin/``) or with
            ``cifar-10-binary.tar.gz``; default ``$DEEPGRAD_DATA/cifar10``, else ``~/.cache/deepgrad/cifar10``.
        train: the five training batches (else ``test_batch.bin``).
        download: fetch the archive when nothing is there (MD5-checked), then extract the batch files.
        transform, target_transform: applied to images / labels.

    Samples are ``(image uint8 (32, 32, 3) HWC, label int64)``; ``ToTensor`` makes the image float32 CHW.
    """

    name = "cifar10"
    url = "https://www.cs.toronto.edu/~kriz/" + _ARCHIVE
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True, download: bool = False,
                 transform: Callable | None = None, target_transform: Callable | None = None) -> None:
        self.root, self.train = data_root(self.name, root), bool(train)
        files = _TRAIN if train else _TEST
        folder = self._folder(files)
        if folder is None:
            archive = self.root / _ARCHIVE
            if not archive.is_file() and download:
                download_file([self.url], archive, _ARCHIVE_MD5)
            if not archive.is_file():
                raise FileNotFoundError(
                    f"CIFAR10: {', '.join(files)} not found in {self.root} or {self.root / _FOLDER}, and no "
                    f"{_ARCHIVE} there to extract. Pass download=True to fetch the binary archive, or put it "
                    "(or its .bin files) there, or set DEEPGRAD_DATA; for an offline run use --dataset mnist-sample")
            digest = file_digest(archive, "md5")
            if digest != _ARCHIVE_MD5:
                raise ValueError(f"CIFAR10: {archive} has MD5 {digest}, not the published {_ARCHIVE_MD5}; it is left "
                                 "untouched: replace it with the original archive")
            folder = self.root / _FOLDER
            extract_cifar(archive, folder)
        parts = [read_cifar_binary(folder / f) for f in files]
        super().__init__(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                         transform=transform, target_transform=target_transform)

    def _folder(self, files: tuple[str, ...]) -> Path | None:
        for folder in (self.root / _FOLDER, self.root):
            if all((folder / f).is_file() for f in files):
                return folder
        return None

    @property
    def data(self) -> np.ndarray:
        """All images, (N, 32, 32, 3) uint8."""
        return self.arrays[0]

    @property
    def targets(self) -> np.ndarray:
        """All labels, (N,) int64."""
        return self.arrays[1]
