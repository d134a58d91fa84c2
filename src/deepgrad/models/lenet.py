"""LeNet-5 (LeCun et al. 1998): the first convolutional network of the lectures.

   input 1@32×32 → C1 6@5×5 → 6@28×28 → S2 2×2 subsampling → 6@14×14 → C3 16@5×5 → 16@10×10 → S4 → 16@5×5
   → C5 120@5×5 (a 1×1 output: a fully-connected layer over the 400 values) → F6 84 → output 10.

Parameters (weights + biases), the lectures' table with its two slips fixed (C3 connects every S2 map:
(5·5·6 + 1)·16 = 2,416, and F6/output count their biases):

=====  ========================  =======
layer  count                     #par
=====  ========================  =======
C1     (5·5·1 + 1)·6             156
C3     (5·5·6 + 1)·16            2,416
C5     (5·5·16 + 1)·120          48,120
F6     (120 + 1)·84              10,164
out    (84 + 1)·10               850
total                            61,706
=====  ========================  =======

The S layers are parameter-free average (or max) pooling, as in the lectures' table (LeCun's original scaled
them with a trainable coefficient and bias).
"""
from __future__ import annotations

from collections import OrderedDict

from .. import nn
from .registry import register_model

__all__ = ["LeNet5", "lenet5", "lenet5_mnist", "lenet5_relu"]

_ACT = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
_POOL = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(nn.Sequential):
    """LeNet-5: C1 conv 6@5×5 → S2 pool → C3 conv 16@5×5 → S4 pool → C5 conv 120@5×5 → F6 84 → output.

    Args:
        num_classes: size of the output layer (10).
        in_channels: input channels (1 for grey-scale digits, 3 for colour images).
        activation: 'tanh' (the original), 'relu' or 'sigmoid', after C1, C3, C5 and F6.
        pool: 'avg' (the original subsampling) or 'max'.
        padding: zero padding of C1: 0 for 32×32 inputs (the lectures' LeNet), 2 for 28×28 MNIST digits.

    Shape:
        input (N, in_channels, 32 − 2·padding, 32 − 2·padding) -> logits (N, num_classes).

    The layers are named after the paper (``model.c1``, ``model.s2``, ..., ``model.output``), and indexable
    (``model[0]`` is C1).

    Example:
        >>> import deepgrad as dg
        >>> net = LeNet5()
        >>> net(dg.zeros(2, 1, 32, 32)).shape
        (2, 10)
        >>> sum(p.numel() for p in net.parameters())
        61706
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", pool: str = "avg",
                 padding: int = 0) -> None:
        if activation not in _ACT:
            raise ValueError(f"LeNet5: unknown activation {activation!r}; expected one of {sorted(_ACT)}")
        if pool not in _POOL:
            raise ValueError(f"LeNet5: unknown pool {pool!r}; expected one of {sorted(_POOL)}")
        act, sub = _ACT[activation], _POOL[pool]
        super().__init__(OrderedDict([
            ("c1", nn.Conv2d(in_channels, 6, 5, padding=padding)), ("act1", act()), ("s2", sub(2)),
            ("c3", nn.Conv2d(6, 16, 5)), ("act3", act()), ("s4", sub(2)),
            ("c5", nn.Conv2d(16, 120, 5)), ("act5", act()), ("flatten", nn.Flatten()),
            ("f6", nn.Linear(120, 84)), ("act6", act()),
            ("output", nn.Linear(84, num_classes)),
        ]))
        self.num_classes, self.in_channels = num_classes, in_channels
        self.default_input_shape = (in_channels, 32 - 2 * padding, 32 - 2 * padding)

    def __getitem__(self, idx):
        # a slice (e.g. the feature extractor ``net[:9]``) is a plain Sequential: LeNet5's constructor takes sizes
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)


_RECIPE = {"optimizer": "adam", "lr": 1e-3, "epochs": 10, "batch_size": 64, "loss": "cross_entropy"}


@register_model("lenet5", input="image", description="LeNet-5 (tanh, avg-pool) for 32×32 inputs, 61,706 parameters",
                default_recipe=_RECIPE)
def lenet5(num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", pool: str = "avg",
           padding: int = 0, **_) -> LeNet5:
    """LeNet-5 as in the lectures: 32×32 input, tanh, average-pool subsampling."""
    return LeNet5(num_classes, in_channels, activation, pool, padding)


@register_model("lenet5_mnist", input="image",
                description="LeNet-5 for 28×28 digits (C1 padded by 2), tanh, avg-pool",
                default_recipe=_RECIPE)
def lenet5_mnist(num_classes: int = 10, in_channels: int = 1, activation: str = "tanh", pool: str = "avg",
                 **_) -> LeNet5:
    """LeNet-5 for 28×28 MNIST digits: C1 pads by 2, so the maps keep the 32×32 sizes from C1 on."""
    return LeNet5(num_classes, in_channels, activation, pool, padding=2)


@register_model("lenet5_relu", input="image",
                description="modern LeNet-5 for 28×28 digits: ReLU and max-pooling",
                default_recipe=_RECIPE)
def lenet5_relu(num_classes: int = 10, in_channels: int = 1, **_) -> LeNet5:
    """LeNet-5 with today's choices, ReLU and 2×2 max-pooling, for 28×28 inputs (C1 padded by 2)."""
    return LeNet5(num_classes, in_channels, "relu", "max", padding=2)
