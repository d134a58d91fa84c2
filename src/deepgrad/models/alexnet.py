"""AlexNet (Krizhevsky et al. 2012) and ZFNet (Zeiler & Fergus 2013).

* ``alexnet_lecture``: the network as the lectures draw it, on one "GPU" (no grouped convolutions):
  [227×227×3] → CONV1 96 11×11/4 → [55×55×96] → POOL1 3×3/2 → NORM1 → CONV2 256 5×5 pad 2 → POOL2 → NORM2
  → CONV3 384 3×3 → CONV4 384 3×3 → CONV5 256 3×3 → POOL3 → [6×6×256] → FC6 4096 → FC7 4096 → FC8 1000,
  NORM = local response normalisation b = a / (k + α/n Σ a²)^β (n = 5, α = 1e-4, β = 0.75, k = 2);
  62,378,344 parameters.
* ``alexnet``: torchvision's single-tower variant (64, 192, 384, 256, 256 filters, no LRN): 61,100,840 parameters,
  the same state-dict names and shapes (``features.*``, ``classifier.1/4/6``), so its weights load unchanged.
* ``zfnet``: AlexNet with CONV1 7×7/2 (and CONV2 5×5/2) for a finer first layer, per Zeiler & Fergus Fig. 3
  (224×224 input → 110 → 55 → 26 → 13 → 6).

All three end with an adaptive average pool to 6×6, so other input sizes (≥ 63 pixels) work too.
"""
from __future__ import annotations

from .. import nn
from ..tensor import Tensor
from .registry import register_model

__all__ = ["AlexNet", "alexnet", "alexnet_lecture", "zfnet"]


class AlexNet(nn.Module):
    """AlexNet-style network: ``features`` (convolutions) → ``avgpool`` (adaptive, to 6×6) → ``classifier``
    (Dropout → FC → ReLU → Dropout → FC → ReLU → FC).

    Build it with :func:`alexnet` (torchvision's), :func:`alexnet_lecture` or :func:`zfnet`.

    Args:
        features: the convolutional part, ending with ``last_channels`` maps.
        last_channels: channels of the last feature map (256 for AlexNet).
        num_classes: outputs of FC8 (1000). dropout: probability before FC6 and FC7 (0.5).

    Shape:
        input (N, C, H, W) -> logits (N, num_classes); ``default_input_shape`` is the published input size.
    """

    def __init__(self, features: nn.Module, last_channels: int = 256, num_classes: int = 1000,
                 dropout: float = 0.5, default_input_shape: tuple = (3, 224, 224)) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(last_channels * 36, 4096), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes))
        self.default_input_shape = default_input_shape

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _lrn() -> nn.LocalResponseNorm:
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)


@register_model("alexnet", input="image", description="AlexNet, torchvision's variant (224×224), 61.1M parameters")
def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, **_) -> AlexNet:
    """torchvision's AlexNet: 64-192-384-256-256 filters, no LRN; 61,100,840 parameters for 1000 classes."""
    features = nn.Sequential(
        nn.Conv2d(in_channels, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
    return AlexNet(features, 256, num_classes, dropout, (in_channels, 224, 224))


@register_model("alexnet_lecture", input="image",
                description="AlexNet as in the lectures (227×227, 96 11×11/4 first filters, LRN), 62.4M parameters")
def alexnet_lecture(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5, **_) -> AlexNet:
    """The lectures' AlexNet: CONV1 96 11×11/4 → POOL → NORM → CONV2 256 5×5 → POOL → NORM → 384, 384, 256
    3×3 → POOL → FC 4096, 4096, 1000; 62,378,344 parameters."""
    features = nn.Sequential(
        nn.Conv2d(in_channels, 96, 11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2), _lrn(),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2), _lrn(),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
    return AlexNet(features, 256, num_classes, dropout, (in_channels, 227, 227))


@register_model("zfnet", input="image", description="ZFNet (Zeiler & Fergus 2013): AlexNet with a 7×7/2 first layer")
def zfnet(num_classes: int = 1000, in_channels: int = 3, widths: tuple = (384, 384, 256), dropout: float = 0.5,
          **_) -> AlexNet:
    """ZFNet: CONV1 96 7×7/2 → POOL 3×3/2 → NORM → CONV2 256 5×5/2 → POOL → NORM → CONV3-5 (``widths``) 3×3 → POOL
    → FC 4096, 4096. ``widths=(512, 1024, 512)`` gives the wider CONV3-5 of the lectures' slide."""
    c3, c4, c5 = widths
    features = nn.Sequential(
        nn.Conv2d(in_channels, 96, 7, stride=2, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, padding=1),
        _lrn(),
        nn.Conv2d(96, 256, 5, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, padding=1), _lrn(),
        nn.Conv2d(256, c3, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2))
    return AlexNet(features, c5, num_classes, dropout, (in_channels, 224, 224))
