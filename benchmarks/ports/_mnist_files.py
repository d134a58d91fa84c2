"""Write the MNIST digits bundled with deepgrad as the four uncompressed IDX files that torchvision's and
deepgrad.vision's ``MNIST(root)`` read from ``root/MNIST/raw`` (NumPy and the standard library only)."""
from __future__ import annotations

import gzip
import os
import struct
from importlib import resources

import numpy as np


def _read(name: str) -> np.ndarray:
    with resources.as_file(resources.files("deepgrad.data") / "files" / name) as path, gzip.open(path) as f:
        raw = f.read()
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}I", raw[4: 4 + 4 * ndim])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _write(path: str, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape))
        f.write(np.ascontiguousarray(array, np.uint8).tobytes())


def prepare(root: str, train: int = 6000) -> str:
    """Put the sample's first ``train`` digits as the training set and the rest as the test set under
    ``root/MNIST/raw``; returns ``root``."""
    raw = os.path.join(root, "MNIST", "raw")
    if os.path.isfile(os.path.join(raw, "t10k-labels-idx1-ubyte")):
        return root
    os.makedirs(raw, exist_ok=True)
    images = _read("mnist-sample-images-idx3-ubyte.gz")
    labels = _read("mnist-sample-labels-idx1-ubyte.gz")
    for prefix, part in (("train", slice(0, train)), ("t10k", slice(train, None))):
        _write(os.path.join(raw, f"{prefix}-images-idx3-ubyte"), images[part])
        _write(os.path.join(raw, f"{prefix}-labels-idx1-ubyte"), labels[part])
    return root
