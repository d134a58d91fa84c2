"""``torchvision.models``: the architectures of :mod:`deepgrad.models` under torchvision's builder names and
arguments (``weights=None``, ``progress``, ``num_classes=``, ...), with torchvision's ``state_dict`` names.

Pretrained weights are not available: deepgrad never downloads them (no network at build time, and torchvision's
files are pickles). ``weights=`` other than None raises, saying so; load your own with ``load_state_dict``.

Example:
    >>> from deepgrad.vision import models
    >>> net = models.resnet18(weights=None, num_classes=10)
    >>> net.fc.out_features
    10
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from ... import models as _models
from ...nn import Module

__all__ = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "googlenet", "ResNet", "VGG", "AlexNet",
           "GoogLeNet", "GoogLeNetOutputs", "BasicBlock", "Bottleneck", "list_models", "get_model"]

ResNet, VGG, AlexNet, GoogLeNet = _models.ResNet, _models.VGG, _models.AlexNet, _models.GoogLeNet
GoogLeNetOutputs, BasicBlock, Bottleneck = _models.GoogLeNetOutputs, _models.BasicBlock, _models.Bottleneck


def _torchvision_builder(name: str, build: Callable[..., Module]) -> Callable[..., Module]:
    accepted = {p.name for p in inspect.signature(build).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}

    def builder(*, weights=None, progress: bool = True, **kwargs) -> Module:
        if weights is not None or kwargs.pop("pretrained", False):
            raise RuntimeError(
                f"{name}: pretrained weights ({weights!r}) are not available in deepgrad: it downloads nothing and "
                "does not read torchvision's pickled weight files. Build the model with weights=None and load your "
                "own state_dict (deepgrad.load of a safetensors file) with model.load_state_dict")
        unknown = sorted(set(kwargs) - accepted)
        if unknown:
            raise TypeError(f"{name}() got unexpected keyword arguments {unknown}; it accepts {sorted(accepted)}")
        return build(**kwargs)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (f"torchvision's ``{name}(weights=None, progress=True, **kwargs)``: {build.__doc__ or name} "
                       f"Keyword arguments: {', '.join(sorted(accepted))}.")
    return builder


_NAMES = ("alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
          "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "googlenet")
_BUILDERS = {name: _torchvision_builder(name, getattr(_models, name)) for name in _NAMES}
globals().update(_BUILDERS)


def list_models() -> list[str]:
    """The builder names available here."""
    return sorted(_BUILDERS)


def get_model(name: str, **config) -> Module:
    """Build model ``name`` with ``config`` (as ``torchvision.models.get_model``)."""
    if name not in _BUILDERS:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(list_models())}")
    return _BUILDERS[name](**config)
