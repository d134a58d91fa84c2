"""The CNN model zoo: parameter counts against the published figures, output shapes, torchvision state-dict names,
weights round trips, GoogLeNet's auxiliary heads, U-Net/FCN segmentation shapes and C3D on clips.

Big ImageNet models are built one at a time for counting only (no forward passes), and deleted straight after.
"""
import gc

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import models


def n_params(m) -> int:
    return sum(p.numel() for p in m.parameters())


def count(ctor, **kw) -> int:
    m = ctor(**kw)
    n = n_params(m)
    del m
    gc.collect()
    return n


# ---------------------------------------------------------------------------------------------------------- LeNet
def test_lenet5_matches_the_lectures_table():
    net = models.lenet5()
    per_layer = {name: sum(p.numel() for p in layer.parameters()) for name, layer in net.named_children()}
    assert {k: v for k, v in per_layer.items() if v} == {"c1": 156, "c3": 2416, "c5": 48120, "f6": 10164,
                                                         "output": 850}
    assert n_params(net) == 61706
    # the activations of the table: 6@28×28, 6@14×14, 16@10×10, 16@5×5, 120, 84, 10
    shapes, x = [], dg.zeros(2, 1, 32, 32)
    for layer in net:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes[0] == (6, 28, 28) and shapes[2] == (6, 14, 14) and shapes[3] == (16, 10, 10)
    assert shapes[5] == (16, 5, 5) and shapes[6] == (120, 1, 1) and shapes[-3] == (84,) and shapes[-1] == (10,)


@pytest.mark.parametrize("name,size", [("lenet5", 32), ("lenet5_mnist", 28), ("lenet5_relu", 28)])
def test_lenet_variants_from_the_registry(name, size):
    net = models.get_model(name, num_classes=7, in_channels=3)
    assert net(dg.randn(3, 3, size, size)).shape == (3, 7)
    assert net.default_input_shape == (3, size, size)
    assert name in models.list_models()


def test_lenet_options_and_errors():
    assert isinstance(models.lenet5(activation="relu", pool="max")[1], dg.nn.ReLU)
    assert isinstance(models.lenet5(pool="max").s2, dg.nn.MaxPool2d)
    with pytest.raises(ValueError, match="LeNet5: unknown activation"):
        models.LeNet5(activation="swish")
    with pytest.raises(ValueError, match="LeNet5: unknown pool"):
        models.LeNet5(pool="median")
    features = models.lenet5()[:6]
    assert type(features) is dg.nn.Sequential and features(dg.zeros(1, 1, 32, 32)).shape == (1, 16, 5, 5)


def test_lenet_learns_a_batch():
    dg.manual_seed(0)
    net = models.lenet5_relu()
    x, y = dg.randn(16, 1, 28, 28), dg.tensor(np.arange(16) % 10)
    opt = dg.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        loss = dg.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    assert (net(x).argmax(1).numpy() == y.numpy()).all()
