"""C3D (Tran et al. 2015): 3-D convolutions over short video clips, learning appearance and motion together.

Input clips of 16 RGB frames of 112×112, (N, 3, 16, 112, 112). Eight 3×3×3 convolutions (stride 1, pad 1) with
ReLU, five max-pools, two 4096-unit fully-connected layers with dropout, then the classes:

   conv1a 64 → pool1 1×2×2 → conv2a 128 → pool2 2×2×2 → conv3a, conv3b 256 → pool3 → conv4a, conv4b 512
   → pool4 → conv5a, conv5b 512 → pool5 (padded 0×1×1: 512@1×4×4) → fc6 4096 → fc7 4096 → fc8.

pool1 keeps the time axis so early layers see the motion at full frame rate. For 487 classes (Sports-1M) the
network has 79,991,015 parameters (27,655,936 in the convolutions).
"""
from __future__ import annotations

import math
from collections import OrderedDict

from .. import nn
from ..tensor import Tensor
from .registry import register_model

__all__ = ["C3D", "c3d", "c3d_small"]

# (kernel, stride, padding) of the five pools, (T, H, W)
_POOLS = [((1, 2, 2), (1, 2, 2), 0), ((2, 2, 2), (2, 2, 2), 0), ((2, 2, 2), (2, 2, 2), 0),
          ((2, 2, 2), (2, 2, 2), 0), ((2, 2, 2), (2, 2, 2), (0, 1, 1))]


def _pooled(size: tuple, kernel: tuple, stride: tuple, pad) -> tuple:
    pad = (pad,) * 3 if isinstance(pad, int) else pad
    return tuple((s + 2 * p - k) // st + 1 for s, k, st, p in zip(size, kernel, stride, pad))


class C3D(nn.Module):
    """C3D: ``features`` (conv1a ... pool5 as named modules) → ``fc6`` → ``fc7`` → ``fc8``.

    Args:
        num_classes: outputs of fc8 (487 for Sports-1M, 101 for UCF-101).
        in_channels: channels per frame (3).
        widths: channels of conv1a, conv2a, conv3*, conv4*, conv5* ((64, 128, 256, 512, 512)).
        fc: width of fc6 and fc7 (4096). dropout: after fc6 and fc7 (0.5).
        clip_size: (frames, height, width) of the input (16, 112, 112); fixes fc6's input size.

    Shape:
        input (N, in_channels, *clip_size) -> logits (N, num_classes).
    """

    def __init__(self, num_classes: int = 487, in_channels: int = 3, widths: tuple = (64, 128, 256, 512, 512),
                 fc: int = 4096, dropout: float = 0.5, clip_size: tuple = (16, 112, 112)) -> None:
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"C3D: widths must give the channels of the 5 stages, got {widths!r}")
        layers, c_in, size = [], in_channels, tuple(clip_size)
        convs_per_stage = (("1a",), ("2a",), ("3a", "3b"), ("4a", "4b"), ("5a", "5b"))
        for stage, (names, c, (k, s, p)) in enumerate(zip(convs_per_stage, widths, _POOLS), 1):
            for name in names:
                layers += [(f"conv{name}", nn.Conv3d(c_in, c, 3, padding=1)), (f"relu{name}", nn.ReLU(inplace=True))]
                c_in = c
            layers.append((f"pool{stage}", nn.MaxPool3d(k, s, p)))
            size = _pooled(size, k, s, p)
        if min(size) < 1:
            raise ValueError(f"C3D: clip_size {tuple(clip_size)} is too small for five poolings (at least 16×16×16)")
        self.features = nn.Sequential(OrderedDict(layers))
        self.fc6 = nn.Linear(c_in * math.prod(size), fc)
        self.fc7 = nn.Linear(fc, fc)
        self.fc8 = nn.Linear(fc, num_classes)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.default_input_shape = (in_channels, *clip_size)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 5:
            raise ValueError(f"C3D: expected clips of shape (N, C, T, H, W), got shape {tuple(x.shape)}")
        x = self.features(x).flatten(1)
        x = self.dropout(self.relu(self.fc6(x)))
        x = self.dropout(self.relu(self.fc7(x)))
        return self.fc8(x)


@register_model("c3d", input="video", description="C3D for 16×112×112 video clips (Tran et al. 2015)")
def c3d(num_classes: int = 487, in_channels: int = 3, dropout: float = 0.5, **_) -> C3D:
    """C3D as published: 8 conv3d (64, 128, 256², 512², 512²), 5 pools, fc6/fc7 4096, 16×112×112 clips."""
    return C3D(num_classes, in_channels, dropout=dropout)


@register_model("c3d_small", input="video", description="a narrow C3D for 16×32×32 clips (tests, demos)")
def c3d_small(num_classes: int = 10, in_channels: int = 3, clip_size: tuple = (16, 32, 32), **_) -> C3D:
    """C3D with the same 8 conv3d / 5 pool layout, 8× narrower (8, 16, 32, 64, 64), fc 128, on 16×32×32 clips."""
    return C3D(num_classes, in_channels, (8, 16, 32, 64, 64), 128, 0.5, clip_size)
