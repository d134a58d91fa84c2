"""``deepgrad.vision``: torchvision's surface, so ``import torchvision`` ports as ``import deepgrad.vision``.

``datasets`` (ImageFolder, DatasetFolder, MNIST, FashionMNIST, CIFAR10), ``transforms`` (and
``transforms.functional``), ``utils`` (``make_grid``, ``save_image``) and ``models`` (builders with torchvision's
names). Images are PIL images (Pillow: ``pip install "deepgrad[vision]"``) or Tensors ``(..., C, H, W)``.
"""
from . import datasets, models, ops, transforms, utils

__all__ = ["datasets", "models", "ops", "transforms", "utils"]
