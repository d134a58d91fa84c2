"""Semantic segmentation: U-Net (Ronneberger et al. 2015) and an FCN head (Long, Shelhamer & Darrell 2015).

* U-Net: an encoder of [3×3 conv → (BN) → ReLU] × 2 blocks with 2×2 max-pools (channels double at each level),
  a bottleneck, and a decoder that up-samples with 2×2 stride-2 transposed convolutions (channels halve),
  concatenates the encoder map of the same resolution (skip connection) and applies another double conv; a 1×1
  conv gives per-pixel class scores. The convolutions are padded, so the output has the input's H×W (the paper's
  unpadded version shrinks 572 → 388); H and W must be divisible by 2^depth. depth 4, base width 64 and no BN is
  the paper's network (31,030,658 parameters for 1 input channel and 2 classes).
* FCN: any backbone giving a (N, C, H/s, W/s) map → :func:`fcn_head` (3×3 conv → BN → ReLU → dropout → 1×1
  classifier) → bilinear up-sampling by s back to H×W (FCN-32s for s = 32); ``fcn_resnet18`` uses ResNet-18's
  convolutional part as the backbone.
"""
from __future__ import annotations

from collections import OrderedDict

from .. import nn
from ..nn.functional import interpolate
from ..ops import cat
from ..tensor import Tensor
from .registry import register_model
from .resnet import ResNet, resnet18

__all__ = ["UNet", "DoubleConv", "FCN", "fcn_head", "unet", "fcn_resnet18"]


class DoubleConv(nn.Sequential):
    """[3×3 conv (pad 1) → BatchNorm2d (optional) → ReLU] × 2: in_channels → out_channels, same H×W."""

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True) -> None:
        layers = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


class UNet(nn.Module):
    """U-Net: encoder (``down``) → ``bottleneck`` → decoder (``up`` transposed convs + ``dec`` double convs on
    [up-sampled, skip] concatenations) → 1×1 ``head``.

    Args:
        in_channels: input channels (1). out_channels: segmentation classes, scores per pixel (2).
        depth: number of 2×2 poolings (4). base_width: channels of the first level (64); level l has
            base_width·2^l. batch_norm: BN after each conv (the paper has none).

    Shape:
        input (N, in_channels, H, W), H and W divisible by 2^depth -> scores (N, out_channels, H, W).

    Example:
        >>> import deepgrad as dg
        >>> net = UNet(1, 3, depth=2, base_width=4)
        >>> net(dg.zeros(1, 1, 16, 12)).shape
        (1, 3, 16, 12)
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 2, depth: int = 4, base_width: int = 64,
                 batch_norm: bool = True) -> None:
        super().__init__()
        if depth < 1 or base_width < 1:
            raise ValueError(f"UNet: depth and base_width must be positive, got depth={depth}, "
                             f"base_width={base_width}")
        self.depth = depth
        widths = [base_width * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([DoubleConv(c_in, c, batch_norm)
                                   for c_in, c in zip([in_channels, *widths[:depth - 1]], widths[:depth])])
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(widths[depth - 1], widths[depth], batch_norm)
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(depth))])
        self.dec = nn.ModuleList([DoubleConv(2 * widths[i], widths[i], batch_norm) for i in reversed(range(depth))])
        self.head = nn.Conv2d(base_width, out_channels, 1)
        self.default_input_shape = (in_channels, 2 ** depth * 8, 2 ** depth * 8)

    def forward(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        k = 2 ** self.depth
        if x.ndim != 4 or h % k or w % k:
            raise ValueError(f"UNet(depth={self.depth}): expected a (N, C, H, W) input with H and W divisible by "
                             f"2^{self.depth} = {k}, got shape {tuple(x.shape)}; pad or crop the images")
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips)):
            x = dec(cat([up(x), skip], 1))
        return self.head(x)


def fcn_head(in_channels: int, num_classes: int, dropout: float = 0.1) -> nn.Sequential:
    """FCN classifier head: 3×3 conv (C → C/4) → BN → ReLU → Dropout → 1×1 conv (C/4 → num_classes)."""
    inter = max(1, in_channels // 4)
    return nn.Sequential(nn.Conv2d(in_channels, inter, 3, padding=1, bias=False), nn.BatchNorm2d(inter),
                         nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Conv2d(inter, num_classes, 1))


class FCN(nn.Module):
    """Fully convolutional segmentation: y = upsample_bilinear(classifier(backbone(x)), size=(H, W)).

    Args:
        backbone: a module mapping (N, C_in, H, W) to a feature map (N, backbone_channels, h, w).
        backbone_channels: channels of that map. num_classes: classes per pixel. dropout: in the head.

    Shape: (N, C_in, H, W) -> (N, num_classes, H, W).
    """

    def __init__(self, backbone: nn.Module, backbone_channels: int, num_classes: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = fcn_head(backbone_channels, num_classes, dropout)

    def forward(self, x: Tensor) -> Tensor:
        size = tuple(x.shape[-2:])
        return interpolate(self.classifier(self.backbone(x)), size=size, mode="bilinear", align_corners=False)


def resnet_backbone(model: ResNet) -> nn.Sequential:
    """The convolutional part of a ResNet (conv1 ... layer4, output stride 32), keeping its layer names."""
    names = ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    return nn.Sequential(OrderedDict((n, getattr(model, n)) for n in names))


@register_model("unet", input="image", description="U-Net for segmentation (depth 4, base width 64, BN)")
def unet(in_channels: int = 1, out_channels: int = 2, depth: int = 4, base_width: int = 64, batch_norm: bool = True,
         num_classes: int | None = None, **_) -> UNet:
    """U-Net; ``num_classes`` is accepted as a synonym of ``out_channels`` (classes per pixel)."""
    return UNet(in_channels, num_classes or out_channels, depth, base_width, batch_norm)


@register_model("fcn_resnet18", input="image", description="FCN-32s on a ResNet-18 backbone (segmentation)")
def fcn_resnet18(num_classes: int = 21, in_channels: int = 3, **_) -> FCN:
    """FCN-32s: ResNet-18's conv1 ... layer4 (stride 32, 512 maps) → :func:`fcn_head` → ×32 bilinear up-sampling."""
    model = FCN(resnet_backbone(resnet18(in_channels=in_channels)), 512, num_classes)
    model.default_input_shape = (in_channels, 224, 224)
    return model
