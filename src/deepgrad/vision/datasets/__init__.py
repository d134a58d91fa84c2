"""``torchvision.datasets``: image folders and the MNIST family and CIFAR-10, with torchvision's constructors."""
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .mnist import CIFAR10, MNIST, FashionMNIST

__all__ = ["DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader", "MNIST",
           "FashionMNIST", "CIFAR10"]
