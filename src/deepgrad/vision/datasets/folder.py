"""``ImageFolder`` and ``DatasetFolder``: one sub-directory per class, as ``torchvision.datasets``."""
from __future__ import annotations

import os
from collections.abc import Callable

from ...data import Dataset
from .._pil import pil_image

__all__ = ["DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader", "find_classes",
           "make_dataset", "has_file_allowed_extension"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """True when ``filename`` ends with one of ``extensions`` (case-insensitive)."""
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def pil_loader(path: str):
    """Open ``path`` with Pillow and return it as an RGB image (read fully, file closed)."""
    with open(path, "rb") as f:
        image = pil_image().open(f)
        return image.convert("RGB")


default_loader = pil_loader


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """The sorted sub-directory names of ``directory`` and their indices."""
    try:
        classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    except FileNotFoundError:
        raise FileNotFoundError(f"ImageFolder: the directory {os.fspath(directory)!r} does not exist") from None
    if not classes:
        raise FileNotFoundError(f"ImageFolder: no class folders in {os.fspath(directory)!r}; expected one "
                                "sub-directory per class (root/cat/001.png, root/dog/002.png, ...)")
    return classes, {name: k for k, name in enumerate(classes)}


def make_dataset(directory: str | os.PathLike, class_to_idx: dict[str, int],
                 extensions: str | tuple[str, ...] | None = None, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False) -> list[tuple[str, int]]:
    """``(path, class index)`` of every accepted file under each class folder, in sorted order."""
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("DatasetFolder: give exactly one of extensions= and is_valid_file=")
    accept = is_valid_file or (lambda path: has_file_allowed_extension(path, extensions))
    directory = os.path.expanduser(os.fspath(directory))
    samples, empty = [], []
    for name in sorted(class_to_idx):
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            continue
        found = 0
        for root, _, files in sorted(os.walk(folder, followlinks=True)):
            for fname in sorted(files):
                path = os.path.join(root, fname)
                if accept(path):
                    samples.append((path, class_to_idx[name]))
                    found += 1
        if not found:
            empty.append(name)
    if empty and not allow_empty:
        accepted = f"extensions {', '.join(extensions) if not isinstance(extensions, str) else extensions}" \
            if extensions is not None else "is_valid_file"
        raise FileNotFoundError(f"DatasetFolder: no valid file for the classes {', '.join(empty)} in {directory} "
                                f"(accepted: {accepted}); pass allow_empty=True to keep empty classes")
    return samples


class DatasetFolder(Dataset):
    """Samples ``(loader(path), class index)`` from ``root/<class>/.../<file>``, classes in sorted order.

    Args:
        root: the directory with one sub-directory per class.
        loader: reads one file into a sample.
        extensions: accepted file endings (exclusive with ``is_valid_file``).
        transform, target_transform: applied to the sample and to the class index.
        is_valid_file: a predicate on paths deciding which files are samples.
        allow_empty: keep classes without any file instead of raising.

    Attributes: ``classes``, ``class_to_idx``, ``samples`` (list of ``(path, index)``), ``targets``.
    """

    def __init__(self, root: str | os.PathLike, loader: Callable, extensions: tuple[str, ...] | None = None,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 is_valid_file: Callable[[str], bool] | None = None, allow_empty: bool = False) -> None:
        self.root = os.fspath(root)
        self.loader, self.extensions = loader, extensions
        self.transform, self.target_transform = transform, target_transform
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = self.make_dataset(self.root, self.class_to_idx, extensions, is_valid_file, allow_empty)
        self.targets = [target for _, target in self.samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory) -> tuple[list[str], dict[str, int]]:
        return find_classes(directory)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={self.root!r}, samples={len(self)}, classes={len(self.classes)})"


class ImageFolder(DatasetFolder):
    """A :class:`DatasetFolder` of images (``IMG_EXTENSIONS``) read as RGB PIL images.

    Example:
        >>> import os, tempfile, numpy as np
        >>> from PIL import Image
        >>> root = tempfile.mkdtemp()
        >>> for name in ("cat", "dog"):
        ...     os.mkdir(os.path.join(root, name))
        ...     Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(os.path.join(root, name, "a.png"))
        >>> ds = ImageFolder(root)
        >>> ds.classes, ds[1][1], ds[1][0].size
        (['cat', 'dog'], 1, (4, 4))
    """

    def __init__(self, root: str | os.PathLike, transform: Callable | None = None,
                 target_transform: Callable | None = None, loader: Callable = default_loader,
                 is_valid_file: Callable[[str], bool] | None = None, allow_empty: bool = False) -> None:
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform,
                         target_transform, is_valid_file, allow_empty)
        self.imgs = self.samples
