"""VGG (Simonyan & Zisserman 2014): stacks of 3×3 convolutions (stride 1, pad 1) and 2×2 max-pools, then
FC 4096 → 4096 → classes.

Two 3×3 layers see a 5×5 window and three see 7×7, with fewer weights (3·9C² vs 49C²) and more
non-linearities. Configurations A (VGG-11), B (13), D (16) and E (19), with or without batch norm after each
convolution; names, state-dict keys and shapes are torchvision's (``features.*``, ``avgpool``, ``classifier.0/3/6``).
VGG-16 has 138,357,544 parameters, VGG-16-BN 138,365,992.
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor
from .registry import register_model

__all__ = ["VGG", "make_layers", "init_cnn_", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn",
           "vgg19", "vgg19_bn"]

# channel counts per convolution, "M" a 2×2 max-pool
CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def init_cnn_(model: nn.Module, linear_std: float | None = 0.01) -> nn.Module:
    """He initialisation for a ReLU network, in place: conv weights N(0, 2/fan_out), biases 0; batch-norm γ = 1,
    β = 0; linear weights N(0, linear_std²), biases 0 (torchvision's scheme for VGG; ResNet keeps the default
    ``Linear`` init: ``linear_std=None``)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)
    return model


def make_layers(cfg: list, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    """The convolutional part of a VGG: for each int c a 3×3 conv to c channels (+ BatchNorm2d) + ReLU; for "M" a
    2×2 max-pool."""
    layers, c_in = [], in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers.append(nn.Conv2d(c_in, v, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        c_in = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """VGG: ``features`` → ``avgpool`` (adaptive, to 7×7) → ``classifier`` (FC 25088→4096, ReLU, Dropout,
    FC 4096→4096, ReLU, Dropout, FC 4096→num_classes).

    Args:
        features: the convolutional part (:func:`make_layers`), ending with 512 maps.
        num_classes: outputs (1000). init_weights: apply :func:`init_cnn_`. dropout: probability (0.5).

    Shape:
        input (N, C, H, W) with H, W ≥ 32 -> logits (N, num_classes); published input (3, 224, 224).
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5, in_channels: int = 3) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(4096, num_classes))
        self.default_input_shape = (in_channels, 224, 224)
        if init_weights:
            init_cnn_(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(cfg: str, batch_norm: bool, num_classes: int, in_channels: int, **kwargs) -> VGG:
    return VGG(make_layers(CFGS[cfg], batch_norm, in_channels), num_classes, in_channels=in_channels, **kwargs)


def _register(name: str, cfg: str, bn: bool, depth: int):
    desc = f"VGG-{depth}{' with batch norm' if bn else ''} (ImageNet, 224×224)"

    def ctor(num_classes: int = 1000, in_channels: int = 3, init_weights: bool = True, dropout: float = 0.5,
             **_) -> VGG:
        return _vgg(cfg, bn, num_classes, in_channels, init_weights=init_weights, dropout=dropout)

    ctor.__name__ = ctor.__qualname__ = name
    ctor.__doc__ = f"{desc}: configuration {cfg} of Simonyan & Zisserman, torchvision's layout."
    return register_model(name, input="image", description=desc)(ctor)


vgg11 = _register("vgg11", "A", False, 11)
vgg11_bn = _register("vgg11_bn", "A", True, 11)
vgg13 = _register("vgg13", "B", False, 13)
vgg13_bn = _register("vgg13_bn", "B", True, 13)
vgg16 = _register("vgg16", "D", False, 16)
vgg16_bn = _register("vgg16_bn", "D", True, 16)
vgg19 = _register("vgg19", "E", False, 19)
vgg19_bn = _register("vgg19_bn", "E", True, 19)
