"""Small networks for 32×32 images (CIFAR-10/100; 28×28 digits work too), trainable from the CLI.

* ``cifar_resnet{20,32,44,56,110}`` — He et al. 2016 §4.2: a 3×3 conv to 16 maps, then three stages of n basic
  blocks with 16, 32, 64 maps on 32×32, 16×16, 8×8 (the first block of stages 2 and 3 has stride 2), global
  average pooling and a linear layer: 6n + 2 weighted layers. Shortcuts are option A, as in the paper's CIFAR
  experiments: the identity, and where the shape changes, the input sub-sampled by 2 with the new channels
  zero-padded — no parameters (``shortcut='B'`` uses a 1×1 conv + BN projection instead). Parameters with option A
  for 10 classes: 0.27M (ResNet-20), 0.46M (32), 0.66M (44), 0.85M (56), 1.7M (110), as in the paper's Table 6.
* ``cifar_vgg`` — VGG-style: [3×3 conv → BN → ReLU] blocks with 2×2 max-pools between stages
  (64, 128, 256, 512, 512 channels for depth 11 or 16), global average pooling and one linear layer.
"""
from __future__ import annotations

from .. import nn
from ..ops import pad
from ..tensor import Tensor
from .registry import register_model
from .vgg import init_cnn_

__all__ = ["CifarResNet", "CifarBasicBlock", "CifarVGG", "cifar_resnet20", "cifar_resnet32", "cifar_resnet44",
           "cifar_resnet56", "cifar_resnet110", "cifar_vgg"]


class _PadShortcut(nn.Module):
    """Option A shortcut: x[:, :, ::s, ::s] with (out − in) zero channels added, half before and half after."""

    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.stride, self.extra = stride, planes - in_planes

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, ::self.stride, ::self.stride]
        before = self.extra // 2
        return pad(x, (0, 0, 0, 0, before, self.extra - before))


class CifarBasicBlock(nn.Module):
    """y = ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x)), shortcut 'A' (zero-padding) or 'B' (1×1 conv)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: str = "A") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        if stride == 1 and in_planes == planes:
            self.shortcut = None
        elif shortcut == "A":
            self.shortcut = _PadShortcut(in_planes, planes, stride)
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.shortcut is None else self.shortcut(x)))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32×32 inputs: conv1 3×3 (16) → BN → ReLU → layer1..3 (n blocks each, 16/32/64 maps) →
    global average pool → fc.

    Args:
        depth: 6n + 2 (20, 32, 44, 56, 110, ...). num_classes: outputs (10). in_channels: 3.
        shortcut: 'A' (parameter-free zero-padding, the paper's CIFAR choice) or 'B' (1×1 conv + BN projections).

    Shape:
        input (N, in_channels, H, W) (32×32 as published; any H, W ≥ 8) -> logits (N, num_classes).
    """

    def __init__(self, depth: int = 20, num_classes: int = 10, in_channels: int = 3, shortcut: str = "A") -> None:
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n ≥ 1 (20, 32, 44, 56, 110), got {depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"CifarResNet: shortcut must be 'A' (zero-padding) or 'B' (projection), got {shortcut!r}")
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        stages, c_in = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = [CifarBasicBlock(c_in, planes, stride, shortcut)]
            blocks += [CifarBasicBlock(planes, planes, 1, shortcut) for _ in range(n - 1)]
            stages.append(nn.Sequential(*blocks))
            c_in = planes
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        self.default_input_shape = (in_channels, 32, 32)
        init_cnn_(self, linear_std=None)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


_VGG_CFGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
}


class CifarVGG(nn.Module):
    """VGG-style network for small images: ``features`` ([3×3 conv → BN → ReLU] stages, 2×2 max-pools between) →
    global average pool → ``classifier`` (dropout → linear).

    Args:
        depth: 11 (VGG-11's 8 convolutions) or 16 (VGG-16's 13).
        num_classes: outputs (10). in_channels: 3. width: channels of the first stage (64), doubled per stage up
        to 8·width. dropout: before the classifier (0.0).

    Shape:
        input (N, in_channels, H, W), H, W ≥ 16 -> logits (N, num_classes).
    """

    def __init__(self, depth: int = 11, num_classes: int = 10, in_channels: int = 3, width: int = 64,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if depth not in _VGG_CFGS:
            raise ValueError(f"CifarVGG: depth must be one of {sorted(_VGG_CFGS)}, got {depth}")
        layers, c_in = [], in_channels
        for v in _VGG_CFGS[depth]:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
                continue
            c = v * width // 64
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c_in, num_classes))
        self.default_input_shape = (in_channels, 32, 32)
        init_cnn_(self, linear_std=None)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


_RECIPE = {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "epochs": 30,
           "batch_size": 128, "augment": True, "shift": 4, "loss": "cross_entropy"}


def _register_resnet(depth: int):
    def ctor(num_classes: int = 10, in_channels: int = 3, shortcut: str = "A", **_) -> CifarResNet:
        return CifarResNet(depth, num_classes, in_channels, shortcut)

    name = f"cifar_resnet{depth}"
    ctor.__name__ = ctor.__qualname__ = name
    ctor.__doc__ = f"ResNet-{depth} for 32×32 images (He et al. 2016 §4.2, n = {(depth - 2) // 6}, option A)."
    return register_model(name, input="image", description=f"ResNet-{depth} for CIFAR (32×32), option-A shortcuts",
                          default_recipe=_RECIPE)(ctor)


cifar_resnet20 = _register_resnet(20)
cifar_resnet32 = _register_resnet(32)
cifar_resnet44 = _register_resnet(44)
cifar_resnet56 = _register_resnet(56)
cifar_resnet110 = _register_resnet(110)


@register_model("cifar_vgg", input="image", description="VGG-11-style CNN with BN for 32×32 images",
                default_recipe={**_RECIPE, "lr": 0.05})
def cifar_vgg(num_classes: int = 10, in_channels: int = 3, depth: int = 11, width: int = 64, dropout: float = 0.0,
              **_) -> CifarVGG:
    """VGG-style network for 32×32 images (VGG-11's or VGG-16's conv stack with BN, global average pooling)."""
    return CifarVGG(depth, num_classes, in_channels, width, dropout)
