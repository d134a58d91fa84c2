"""GoogLeNet / Inception v1 (Szegedy et al. 2014).

An Inception module runs four branches side by side on the same input and concatenates their maps along the
channels: a 1×1 conv; 1×1 (reduce) → 3×3; 1×1 (reduce) → 5×5; 3×3 max-pool → 1×1 (project). The 1×1
reductions keep the cost low, and global average pooling replaces the big fully-connected layers, so the
22-layer network has ~6.6M parameters (VGG-16: 138M). Two auxiliary classifiers on inception4a and inception4d
add gradient to the middle of the network during training: loss = CE(main) + 0.3 · (CE(aux1) + CE(aux2))
(:func:`googlenet_loss`); they are skipped in eval mode.

Names and state-dict shapes are torchvision's (``conv1.conv``/``conv1.bn``, ``inception3a.branch1..4``,
``aux1.conv/fc1/fc2``, ``fc``) — including its "5×5" branch built with a 3×3 kernel, which gives the published
6,624,904 parameters (13,004,888 with the auxiliary classifiers); ``branch3_kernel=5`` builds the paper's 5×5.
"""
from __future__ import annotations

from collections import namedtuple

from .. import nn
from ..ops import cat
from ..tensor import Tensor
from .registry import register_model

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "BasicConv2d", "Inception", "InceptionAux", "googlenet",
           "googlenet_loss"]

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = "GoogLeNet's training-mode outputs: main logits, then aux2's and aux1's logits."


class BasicConv2d(nn.Module):
    """y = ReLU(BN(conv(x))), the conv without bias and the BN with ε = 10⁻³."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(self.conv(x)).relu()


class Inception(nn.Module):
    """Four parallel branches concatenated on the channels: [1×1 | 1×1→3×3 | 1×1→k×k | maxpool 3×3→1×1].

    Args: in_channels; ch1x1; ch3x3red, ch3x3; ch5x5red, ch5x5; pool_proj (channels of each branch);
    branch3_kernel (3 as torchvision, 5 as the paper).
    Shape: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, branch3_kernel: int = 3) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=branch3_kernel,
                                                 padding=branch3_kernel // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, kernel_size=1))

    def forward(self, x: Tensor) -> Tensor:
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    """Auxiliary classifier: adaptive avg-pool to 4×4 → 1×1 conv 128 → FC 1024 → ReLU → Dropout → FC classes."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d((4, 4))
        self.conv = BasicConv2d(in_channels, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(self.avgpool(x)).flatten(1)
        return self.fc2(self.dropout(self.fc1(x).relu()))


class GoogLeNet(nn.Module):
    """GoogLeNet: stem (7×7/2 conv, pool, 1×1, 3×3, pool) → inception 3a, 3b → pool → 4a-4e → pool → 5a, 5b →
    global average pool → dropout → fc.

    Args:
        num_classes: outputs (1000). in_channels: input channels (3).
        aux_logits: build the two auxiliary classifiers (returned in training mode).
        transform_input: re-normalise inputs given with ImageNet's mean/std to the (x − 0.5)/0.5 scaling of
            the original weights (torchvision's option; off by default).
        dropout: before fc (0.2). dropout_aux: inside the auxiliary classifiers (0.7).
        branch3_kernel: kernel of the "5×5" branch (3 as torchvision, 5 as the paper).
        init_weights: truncated-normal (σ = 0.01) conv/linear weights as torchvision; False keeps the defaults.

    Returns:
        in training mode with ``aux_logits``: ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``; otherwise
        the logits (N, num_classes).
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = True, transform_input: bool = False,
                 in_channels: int = 3, dropout: float = 0.2, dropout_aux: float = 0.7, branch3_kernel: int = 3,
                 init_weights: bool = True) -> None:
        super().__init__()
        if transform_input and in_channels != 3:
            raise ValueError(f"GoogLeNet: transform_input needs 3 input channels (RGB), got in_channels={in_channels}")
        self.aux_logits, self.transform_input = aux_logits, transform_input
        k = branch3_kernel
        self.conv1 = BasicConv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32, k)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64, k)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64, k)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64, k)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64, k)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64, k)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128, k)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128, k)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128, k)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes, dropout_aux)
            self.aux2 = InceptionAux(528, num_classes, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        self.default_input_shape = (in_channels, 224, 224)
        if init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, 0.0, 0.01, a=-2.0, b=2.0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def _transform_input(self, x: Tensor) -> Tensor:
        # (x·σ + μ − 0.5)/0.5 per channel: ImageNet-normalised input → the scaling the original weights expect
        mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
        return cat([x[:, c:c + 1] * (std[c] / 0.5) + (mean[c] - 0.5) / 0.5 for c in range(3)], 1)

    def forward(self, x: Tensor):
        if self.transform_input:
            x = self._transform_input(x)
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux = self.training and self.aux1 is not None
        aux1 = self.aux1(x) if aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        return GoogLeNetOutputs(logits, aux2, aux1) if aux else logits


def googlenet_loss(outputs, target: Tensor, aux_weight: float = 0.3) -> Tensor:
    """GoogLeNet's training loss: CE(logits, y) + aux_weight · (CE(aux1, y) + CE(aux2, y)), or CE(logits, y)
    when ``outputs`` is a plain logits tensor (eval mode, or no auxiliary classifiers)."""
    from ..nn.functional import cross_entropy

    if isinstance(outputs, GoogLeNetOutputs):
        loss = cross_entropy(outputs.logits, target)
        for aux in (outputs.aux_logits1, outputs.aux_logits2):
            if aux is not None:
                loss = loss + aux_weight * cross_entropy(aux, target)
        return loss
    if not isinstance(outputs, Tensor):
        raise TypeError(f"googlenet_loss: expected GoogLeNetOutputs or a logits Tensor, got {type(outputs).__name__}")
    return cross_entropy(outputs, target)


@register_model("googlenet", input="image",
                description="GoogLeNet / Inception v1 with auxiliary classifiers (ImageNet, 224×224)")
def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = True, transform_input: bool = False,
              dropout: float = 0.2, dropout_aux: float = 0.7, branch3_kernel: int = 3, init_weights: bool = True,
              **_) -> GoogLeNet:
    """GoogLeNet (Inception v1): 6,624,904 parameters, 13,004,888 with the two auxiliary classifiers."""
    return GoogLeNet(num_classes, aux_logits, transform_input, in_channels, dropout, dropout_aux, branch3_kernel,
                     init_weights)
