"""Residual networks (He et al. 2015) and squeeze-and-excitation ResNets (Hu et al. 2017).

A residual block learns the change F(x) and adds the input back: y = ReLU(F(x) + shortcut(x)), so the identity
is easy to represent and gradients flow through the shortcut unchanged. ``BasicBlock`` (ResNet-18/34) has
F = 3×3 conv → BN → ReLU → 3×3 conv → BN; ``Bottleneck`` (ResNet-50/101/152) has F = 1×1 (reduce) → 3×3 → 1×1
(expand ×4), each followed by BN. When the shape changes the shortcut is a 1×1 conv + BN (``downsample``).

Layout, names and state-dict shapes are torchvision's (conv1/bn1/relu/maxpool/layer1..4/avgpool/fc,
``downsample.0/.1``, the stride on the 3×3 conv of a bottleneck — "ResNet v1.5"), so its weights load unchanged.
Parameters: ResNet-18 11,689,512; ResNet-34 21,797,672; ResNet-50 25,557,032; ResNet-101 44,549,160;
ResNet-152 60,192,808.

SE blocks rescale the residual branch's channels before the addition: s = σ(W₂ ReLU(W₁ avgpool(F(x)))),
F(x) ← s ⊙ F(x), with W₁: C → C/16 and W₂: C/16 → C (``se_resnet50``: 28,088,024 parameters).
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor
from .registry import register_model
from .vgg import init_cnn_

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "SqueezeExcitation", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "se_resnet18", "se_resnet50"]


class SqueezeExcitation(nn.Module):
    """Channel attention: x · σ(fc2(ReLU(fc1(avgpool(x))))), fc1: C → C/r and fc2: C/r → C as 1×1 convolutions.

    Args: channels: C. reduction: r (16).
    Shape: (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc2(self.relu(self.fc1(self.avgpool(x)))).sigmoid()


def _downsample(inplanes: int, outplanes: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, stride=stride, bias=False), nn.BatchNorm2d(outplanes))


class BasicBlock(nn.Module):
    """y = ReLU(BN(conv3×3(ReLU(BN(conv3×3(x))))) + shortcut(x)); the first conv carries the stride.

    Args: inplanes, planes (output channels), stride, downsample (the shortcut when the shape changes, else the
    identity), se_reduction (add a :class:`SqueezeExcitation` with this reduction; None for none).
    """

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 se_reduction: int | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcitation(planes, se_reduction) if se_reduction else None
        self.downsample = downsample
        self.stride = stride

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """y = ReLU(BN(conv1×1↑(ReLU(BN(conv3×3(ReLU(BN(conv1×1↓(x))))))) + shortcut(x)), 4× expansion; the 3×3 conv
    carries the stride. Args as :class:`BasicBlock`, plus ``groups``/``base_width`` (ResNeXt widths)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 se_reduction: int | None = None, groups: int = 1, base_width: int = 64) -> None:
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.se = SqueezeExcitation(planes * self.expansion, se_reduction) if se_reduction else None
        self.downsample = downsample
        self.stride = stride

    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet for ImageNet: conv1 7×7/2 (64) → BN → ReLU → maxpool 3×3/2 → layer1..4 (64, 128, 256, 512 planes;
    strides 1, 2, 2, 2) → global average pool → fc.

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`. layers: blocks per stage, e.g. [2, 2, 2, 2].
        num_classes: outputs (1000). in_channels: input channels (3).
        zero_init_residual: start each block's last BN at γ = 0, so every block begins as the identity.
        se_reduction: add squeeze-and-excitation with this reduction to every block (SE-ResNet); None for none.
        init_weights: He-initialise the convolutions (torchvision's scheme); False keeps the layer defaults.

    Shape:
        input (N, C, H, W) with H, W ≥ 32 -> logits (N, num_classes); published input (3, 224, 224).
    """

    def __init__(self, block: type, layers: list, num_classes: int = 1000, in_channels: int = 3,
                 zero_init_residual: bool = False, se_reduction: int | None = None, groups: int = 1,
                 width_per_group: int = 64, init_weights: bool = True) -> None:
        super().__init__()
        if block not in (BasicBlock, Bottleneck):
            raise ValueError(f"ResNet: block must be BasicBlock or Bottleneck, got {block!r}")
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give the number of blocks of the 4 stages, got {layers!r}")
        self._block, self._se, self._extra = block, se_reduction, {}
        if block is Bottleneck:
            self._extra = {"groups": groups, "base_width": width_per_group}
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        self.default_input_shape = (in_channels, 224, 224)
        if init_weights:
            init_cnn_(self, linear_std=None)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.last_bn().weight)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        out = planes * self._block.expansion
        downsample = _downsample(self.inplanes, out, stride) if stride != 1 or self.inplanes != out else None
        layers = [self._block(self.inplanes, planes, stride, downsample, self._se, **self._extra)]
        self.inplanes = out
        layers += [self._block(out, planes, se_reduction=self._se, **self._extra) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


_SPECS = {
    "resnet18": (BasicBlock, [2, 2, 2, 2], None, "ResNet-18 (ImageNet, 224×224), 11.7M parameters"),
    "resnet34": (BasicBlock, [3, 4, 6, 3], None, "ResNet-34 (ImageNet, 224×224), 21.8M parameters"),
    "resnet50": (Bottleneck, [3, 4, 6, 3], None, "ResNet-50 (ImageNet, 224×224), 25.6M parameters"),
    "resnet101": (Bottleneck, [3, 4, 23, 3], None, "ResNet-101 (ImageNet, 224×224), 44.5M parameters"),
    "resnet152": (Bottleneck, [3, 8, 36, 3], None, "ResNet-152 (ImageNet, 224×224), 60.2M parameters"),
    "se_resnet18": (BasicBlock, [2, 2, 2, 2], 16, "SE-ResNet-18: ResNet-18 with squeeze-and-excitation (r = 16)"),
    "se_resnet50": (Bottleneck, [3, 4, 6, 3], 16, "SE-ResNet-50: ResNet-50 with squeeze-and-excitation, 28.1M"),
}


def _register(name: str):
    block, layers, se, desc = _SPECS[name]

    def ctor(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False,
             init_weights: bool = True, **_) -> ResNet:
        return ResNet(block, layers, num_classes, in_channels, zero_init_residual, se, init_weights=init_weights)

    ctor.__name__ = ctor.__qualname__ = name
    ctor.__doc__ = f"{desc}: {block.__name__} × {layers}."
    return register_model(name, input="image", description=desc)(ctor)


resnet18 = _register("resnet18")
resnet34 = _register("resnet34")
resnet50 = _register("resnet50")
resnet101 = _register("resnet101")
resnet152 = _register("resnet152")
se_resnet18 = _register("se_resnet18")
se_resnet50 = _register("se_resnet50")
