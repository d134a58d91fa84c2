"""The CNN model zoo: parameter counts against the published figures, output shapes, torchvision state-dict names,
weights round trips, GoogLeNet's auxiliary heads, U-Net/FCN segmentation shapes and C3D on clips.

Big ImageNet models are built one at a time for counting only (no forward passes), and deleted straight after.
"""
import gc

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import models
from deepgrad.serialization import load_safetensors, save_safetensors


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
    x, y = dg.randn(8, 1, 28, 28), dg.tensor(np.arange(8))
    opt = dg.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(15):
        opt.zero_grad()
        loss = dg.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    assert (net(x).argmax(1).numpy() == y.numpy()).all()


# ---------------------------------------------------------------------------------------- ImageNet parameter counts
# Published figures (torchvision's model cards, the lectures, He et al.). Built without the second He-init pass
# (init_weights=False) since only the shapes matter here. AlexNet (61,100,840), the lectures' AlexNet (62,378,344)
# and VGG-16 (138,357,544) / VGG-16-BN (138,365,992) are counted in the layout tests below, which build them anyway
# (VGG-16 as VGG-16-BN's classifier + the plain conv stack, sparing a second 0.55 GB model).
@pytest.mark.parametrize("name,kw,expected", [
    ("googlenet", {"init_weights": False}, 13_004_888),
    ("googlenet", {"init_weights": False, "aux_logits": False}, 6_624_904),
    ("resnet18", {"init_weights": False}, 11_689_512),
    ("resnet50", {"init_weights": False}, 25_557_032),
    ("resnet152", {"init_weights": False}, 60_192_808),
    # ResNet-50 + Σ over its 16 blocks of the SE layers (2C²/16 + C + C/16): 25,557,032 + 2,530,992
    ("se_resnet50", {"init_weights": False}, 28_088_024),
])
def test_published_parameter_counts(name, kw, expected):
    assert count(models.get_model, name=name, **kw) == expected


def test_smaller_family_members_by_layer_arithmetic():
    # VGG-11's conv stack = VGG-16's minus conv layers 64→64, 128→128, 256→256 and two 512→512 (3×3, with bias);
    # the classifiers are the same, so only the (small) conv stacks are built here
    conv = lambda c_in, c: 9 * c_in * c + c  # noqa: E731
    a, d = (n_params(models.vgg.make_layers(models.vgg.CFGS[k])) for k in "AD")
    assert d - a == conv(64, 64) + conv(128, 128) + conv(256, 256) + 2 * conv(512, 512)
    assert d == 14_714_688  # VGG-16's convolutions; + the classifier's 123,642,856 = 138,357,544
    # SE-ResNet-18: ResNet-18 + SE(C) = 2·C·C/16 + C/16 + C on two blocks of each width 64, 128, 256, 512
    se = sum(2 * (2 * c * c // 16 + c // 16 + c) for c in (64, 128, 256, 512))
    assert count(models.se_resnet18, init_weights=False) == 11_689_512 + se
    # ZFNet: AlexNet-lecture's layers with a 7×7 first conv and a 5×5/2 second conv of the same widths
    assert count(models.zfnet) == 62_378_344 - (11 * 11 - 7 * 7) * 3 * 96


# ---------------------------------------------------------------------------------------- torchvision's layouts
def _keys_and_shapes(model) -> dict:
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_resnet_state_dict_names_match_torchvision():
    sd = _keys_and_shapes(models.resnet18(init_weights=False))
    expected = {"conv1.weight": (64, 3, 7, 7), "bn1.running_var": (64,), "layer1.0.conv1.weight": (64, 64, 3, 3),
                "layer2.0.downsample.0.weight": (128, 64, 1, 1), "layer2.0.downsample.1.running_mean": (128,),
                "layer4.1.bn2.bias": (512,), "fc.weight": (1000, 512), "fc.bias": (1000,),
                "layer3.0.downsample.1.num_batches_tracked": ()}
    assert {k: sd.get(k) for k in expected} == expected
    assert "layer1.0.downsample.0.weight" not in sd and len(sd) == 122  # torchvision resnet18: 122 entries
    sd = _keys_and_shapes(models.resnet50(init_weights=False))
    assert sd["layer1.0.conv3.weight"] == (256, 64, 1, 1) and sd["layer1.0.downsample.0.weight"] == (256, 64, 1, 1)
    assert sd["layer2.0.conv2.weight"] == (128, 128, 3, 3) and sd["fc.weight"] == (1000, 2048)
    assert len(sd) == 320  # torchvision resnet50: 320 entries


def test_alexnet_state_dict_names_match_torchvision():
    net = models.alexnet()
    assert n_params(net) == 61_100_840
    sd = _keys_and_shapes(net)
    del net
    assert list(sd) == [f"features.{i}.{p}" for i in (0, 3, 6, 8, 10) for p in ("weight", "bias")] + \
        [f"classifier.{i}.{p}" for i in (1, 4, 6) for p in ("weight", "bias")]
    assert sd["features.0.weight"] == (64, 3, 11, 11) and sd["classifier.1.weight"] == (4096, 9216)


def test_vgg_state_dict_names_match_torchvision():
    vgg = models.vgg16_bn(init_weights=False)
    assert n_params(vgg) == 138_365_992
    plain = models.vgg.make_layers(models.vgg.CFGS["D"], batch_norm=False)
    assert n_params(plain) + n_params(vgg.avgpool) + n_params(vgg.classifier) == 138_357_544
    assert [type(m) for m in plain] == [type(m) for m in vgg.features if not isinstance(m, dg.nn.BatchNorm2d)]
    sd = _keys_and_shapes(vgg)
    assert sd["features.0.weight"] == (64, 3, 3, 3) and sd["features.1.running_mean"] == (64,)
    assert sd["features.40.weight"] == (512, 512, 3, 3) and sd["features.41.running_var"] == (512,)
    assert sd["classifier.0.weight"] == (4096, 25088) and sd["classifier.6.bias"] == (1000,)
    assert sum(k.endswith("num_batches_tracked") for k in sd) == 13 and len(sd) == 13 * 7 + 6
    vgg.eval()
    with dg.no_grad():  # the adaptive pool lets a 32×32 image through the 224×224 network
        assert vgg(dg.randn(1, 3, 32, 32)).shape == (1, 1000)


def test_googlenet_state_dict_names_match_torchvision():
    sd = _keys_and_shapes(models.googlenet(init_weights=False))
    for key, shape in {"conv1.conv.weight": (64, 3, 7, 7), "conv1.bn.running_var": (64,),
                       "inception3a.branch1.conv.weight": (64, 192, 1, 1),
                       "inception3a.branch2.1.conv.weight": (128, 96, 3, 3),
                       "inception3a.branch3.1.conv.weight": (32, 16, 3, 3),
                       "inception3a.branch4.1.conv.weight": (32, 192, 1, 1),
                       "inception5b.branch2.0.bn.bias": (192,), "aux1.conv.conv.weight": (128, 512, 1, 1),
                       "aux1.fc1.weight": (1024, 2048), "aux1.fc2.weight": (1000, 1024),
                       "aux2.conv.conv.weight": (128, 528, 1, 1), "fc.weight": (1000, 1024)}.items():
        assert sd[key] == shape, key
    assert not any(k.startswith("aux") for k in models.googlenet(aux_logits=False, init_weights=False).state_dict())


# ------------------------------------------------------------------------------------------------- output shapes
@pytest.mark.parametrize("name,shape", [("resnet18", (3, 64, 64)), ("se_resnet18", (3, 64, 64)),
                                        ("resnet50", (3, 64, 64)),
                                        ("cifar_resnet20", (3, 32, 32)), ("cifar_vgg", (3, 32, 32))])
def test_classifier_output_shapes(name, shape):
    dg.manual_seed(0)
    net = models.get_model(name, num_classes=5, in_channels=shape[0])
    net.eval()
    with dg.no_grad():
        y = net(dg.randn(1, *shape))
    assert y.shape == (1, 5) and np.isfinite(y.numpy()).all()
    if name.startswith("cifar"):
        assert "cifar" in models.model_info(name)["description"].lower() or "32×32" in models.list_models()[name]
        assert models.model_info(name)["recipe"]["optimizer"] == "sgd"
    else:
        assert net.default_input_shape == (3, 224, 224)


def test_lecture_alexnet_feature_map_sizes():
    net = models.alexnet_lecture()
    assert net.default_input_shape == (3, 227, 227) and n_params(net) == 62_378_344
    sizes = []
    x = dg.zeros(1, 3, 227, 227)
    with dg.no_grad():
        for layer in net.features:
            x = layer(x)
            if isinstance(layer, (dg.nn.Conv2d, dg.nn.MaxPool2d)):
                sizes.append(tuple(x.shape[1:]))
    assert sizes == [(96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13),
                     (256, 13, 13), (256, 6, 6)]
    assert sum(isinstance(m, dg.nn.LocalResponseNorm) for m in net.features) == 2


def test_googlenet_aux_outputs_in_train_and_eval():
    dg.manual_seed(0)
    net = models.googlenet(num_classes=4)
    x, y = dg.randn(2, 3, 64, 64), dg.tensor([1, 3])
    out = net(x)
    assert isinstance(out, models.GoogLeNetOutputs) and out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert [o.shape for o in out] == [(2, 4)] * 3
    ce = dg.nn.functional.cross_entropy
    loss = models.googlenet_loss(out, y)
    expected = ce(out.logits, y) + 0.3 * ce(out.aux_logits1, y) + 0.3 * ce(out.aux_logits2, y)
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-6)
    loss.backward()
    assert net.aux1.fc2.weight.grad is not None and net.aux2.conv.conv.weight.grad is not None
    net.eval()
    logits = net(x)
    assert isinstance(logits, dg.Tensor) and logits.shape == (2, 4)
    np.testing.assert_allclose(models.googlenet_loss(logits, y).item(), ce(logits, y).item(), rtol=1e-6)
    with pytest.raises(TypeError, match="googlenet_loss"):
        models.googlenet_loss([logits], y)
    plain = models.googlenet(num_classes=4, aux_logits=False)
    assert plain(x).shape == (2, 4) and plain.aux1 is None


# ------------------------------------------------------------------------------------------ weights round trip
def test_weights_round_trip_through_safetensors(tmp_path):
    dg.manual_seed(0)
    src = models.cifar_resnet20(num_classes=3)
    x = dg.randn(2, 3, 32, 32)
    src.train()
    src(x)  # moves the running statistics away from their initial values
    src.eval()
    path = tmp_path / "resnet20.safetensors"
    save_safetensors(src.state_dict(), path)
    dst = models.cifar_resnet20(num_classes=3)
    dst.load_state_dict(load_safetensors(path))
    dst.eval()
    with dg.no_grad():
        np.testing.assert_array_equal(src(x).numpy(), dst(x).numpy())
    assert np.abs(dst.layer1[0].bn1.running_mean.numpy()).sum() > 0


# ------------------------------------------------------------------------------------------------- segmentation
def test_unet_keeps_the_input_size_and_counts_like_the_paper():
    dg.manual_seed(0)
    net = models.unet(in_channels=3, out_channels=4, depth=3, base_width=8)
    x = dg.randn(2, 3, 24, 40)
    y = net(x)
    assert y.shape == (2, 4, 24, 40)
    y.sum().backward()
    assert net.down[0][0].weight.grad is not None
    with pytest.raises(ValueError, match="divisible by 2"):
        net(dg.randn(1, 3, 20, 40))
    # the paper's network (no BN, depth 4, width 64, 1 → 2 channels), layer by layer
    conv3, up = (lambda a, b: 9 * a * b + b), (lambda a, b: 4 * a * b + b)
    w = [64, 128, 256, 512, 1024]
    expected = sum(conv3(a, b) + conv3(b, b) for a, b in zip([1, *w[:4]], w))  # encoder + bottleneck
    expected += sum(up(w[i + 1], w[i]) + conv3(2 * w[i], w[i]) + conv3(w[i], w[i]) for i in range(4))
    expected += 64 * 2 + 2
    assert count(models.UNet, in_channels=1, out_channels=2, batch_norm=False) == expected == 31_030_658


def test_fcn_segments_at_input_resolution():
    dg.manual_seed(0)
    net = models.fcn_resnet18(num_classes=3)
    net.eval()
    with dg.no_grad():
        y = net(dg.randn(1, 3, 64, 64))
    assert y.shape == (1, 3, 64, 64)
    assert "backbone.layer4.1.conv2.weight" in net.state_dict() and "classifier.4.weight" in net.state_dict()
    head = models.fcn_head(16, 5)
    assert head(dg.randn(1, 16, 4, 4)).shape == (1, 5, 4, 4)
    custom = models.FCN(dg.nn.Sequential(dg.nn.Conv2d(1, 8, 3, stride=4, padding=1)), 8, 2)
    assert custom(dg.randn(1, 1, 16, 12)).shape == (1, 2, 16, 12)


# ---------------------------------------------------------------------------------------------------------- C3D
def test_c3d_small_forward_and_c3d_layout():
    dg.manual_seed(0)
    net = models.c3d_small(num_classes=6)
    y = net(dg.randn(2, 3, 16, 32, 32))
    assert y.shape == (2, 6)
    y.sum().backward()
    convs = [m for m in net.features if isinstance(m, dg.nn.Conv3d)]
    pools = [m for m in net.features if isinstance(m, dg.nn.MaxPool3d)]
    assert len(convs) == 8 and len(pools) == 5 and convs[0].weight.grad is not None
    with pytest.raises(ValueError, match="C3D: expected clips"):
        net(dg.randn(2, 3, 32, 32))
    full = models.c3d(num_classes=101)
    assert full.default_input_shape == (3, 16, 112, 112)
    assert full.fc6.weight.shape == (4096, 512 * 1 * 4 * 4) and full.fc7.weight.shape == (4096, 4096)
    assert n_params(full) == 27_655_936 + (8192 + 1) * 4096 + 4097 * 4096 + 4097 * 101
    del full


# ----------------------------------------------------------------------------------------------------- CIFAR nets
@pytest.mark.parametrize("depth,millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85), (110, 1.7)])
def test_cifar_resnet_counts_match_he_et_al(depth, millions):
    n = count(models.CifarResNet, depth=depth)
    assert round(n / 1e6, 2 if depth < 110 else 1) == millions


def test_cifar_resnet_shortcuts():
    a, b = models.cifar_resnet20(), models.cifar_resnet20(shortcut="B")
    # option A is parameter-free; B adds a 1×1 conv + BN on the two down-sampling blocks
    assert n_params(b) - n_params(a) == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    block = a.layer2[0]
    x = dg.randn(1, 16, 8, 8)
    sc = block.shortcut(x).numpy()
    assert sc.shape == (1, 32, 4, 4)
    np.testing.assert_array_equal(sc[:, 8:24], x.numpy()[:, :, ::2, ::2])
    assert not sc[:, :8].any() and not sc[:, 24:].any()
    with pytest.raises(ValueError, match="6n \\+ 2"):
        models.CifarResNet(21)
    with pytest.raises(ValueError, match="shortcut"):
        models.CifarResNet(20, shortcut="C")
    assert models.cifar_resnet56().layer3[8].conv2.weight.shape == (64, 64, 3, 3)
