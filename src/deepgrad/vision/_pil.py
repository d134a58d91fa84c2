"""Pillow, imported on first use, with the sentence that names the extra when it is missing."""
from __future__ import annotations


def pil_image():
    """The ``PIL.Image`` module."""
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow is installed wherever the tests run
        raise ImportError('deepgrad.vision needs Pillow for images: pip install "deepgrad[vision]"') from exc
    return Image


def is_pil_image(x) -> bool:
    """True for a ``PIL.Image.Image`` (without importing Pillow when nobody has)."""
    import sys

    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(x, module.Image)
