"""deepgrad.summary: the lectures' LeNet-5 and AlexNet numbers, MACs, receptive fields, totals, the CLI."""
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.tools.summary import receptive_field


def test_lenet5_matches_the_lectures_table():
    s = dg.summary(dg.models.get_model("lenet5"), (1, 32, 32))
    # (parameters, activations) per layer; the slide prints 2,496 / 10,080 / 840 for C3 / F6 / output (see docs)
    want = {"c1": (156, 4704), "s2": (0, 1176), "c3": (2416, 1600), "s4": (0, 400), "c5": (48120, 120),
            "f6": (10164, 84), "output": (850, 10)}
    for name, (params, acts) in want.items():
        assert (s[name].params, s[name].activations) == (params, acts), name
    assert s["c1"].output_shape == (1, 6, 28, 28)
    assert s.total_params == 61706 == sum(want[k][0] for k in want)
    assert s.trainable_params == 61706 and s.frozen_params == 0
    # conv MACs = k·k·C_in·C_out·H_out·W_out; Linear in·out
    assert s["c1"].macs == 5 * 5 * 1 * 6 * 28 * 28
    assert s["c3"].macs == 5 * 5 * 6 * 16 * 10 * 10
    assert s["f6"].macs == 120 * 84 and s["s2"].macs == 0
    assert s.total_flops == 2 * s.total_macs
    assert s.activation_bytes == 4 * s.total_activations
    # receptive fields: 5, 6 (pool 2), 14, 16, 32 — C5 sees the whole 32×32 image
    assert [s[n].receptive_field for n in ("c1", "s2", "c3", "s4", "c5")] == [(5, 5), (6, 6), (14, 14), (16, 16),
                                                                                (32, 32)]
    assert [s[n].jump for n in ("c1", "s2", "c3", "s4", "c5")] == [(1, 1), (2, 2), (2, 2), (4, 4), (4, 4)]
    text = str(s)
    assert "c3 (Conv2d)" in text and "2,416" in text and "61,706" in text


def test_alexnet_conv1_shape_and_macs():
    net = nn.Sequential(nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.MaxPool2d(3, 2))
    s = dg.summary(net, (3, 227, 227))
    assert s.rows[0].output_shape == (1, 96, 55, 55)
    assert s.rows[0].macs == 11 * 11 * 3 * 96 * 55 * 55 == 105_415_200
    assert s.rows[0].params == (11 * 11 * 3 + 1) * 96 == 34944
    assert s.rows[2].output_shape == (1, 96, 27, 27)
    assert s.rows[2].receptive_field == (11 + 2 * 4, 11 + 2 * 4) and s.rows[2].jump == (8, 8)


def test_three_3x3_convs_see_a_7x7_window_with_fewer_parameters():
    c = 8
    three = nn.Sequential(*[nn.Conv2d(c, c, 3, bias=False) for _ in range(3)])
    one = nn.Conv2d(c, c, 7, bias=False)
    assert receptive_field(three, (c, 16, 16)) == ((7, 7), (1, 1)) == receptive_field(one, (c, 16, 16))
    assert dg.summary(three, (c, 16, 16)).total_params == 27 * c * c
    assert dg.summary(one, (c, 16, 16)).total_params == 49 * c * c


def test_dilation_stride_and_rectangular_kernels():
    net = nn.Sequential(nn.Conv2d(1, 2, (3, 5), dilation=2), nn.Conv2d(2, 2, 3, stride=2), nn.Conv2d(2, 2, 3))
    s = dg.summary(net, (1, 20, 20))
    assert s.rows[0].receptive_field == (5, 9)
    assert s.rows[1].receptive_field == (7, 11) and s.rows[1].jump == (2, 2)
    assert s.rows[2].receptive_field == (11, 15)
    assert "5x9 (1)" in str(s)


class Residual(nn.Module):
    """conv-conv main path with a strided 1×1 shortcut computed after it, summed outside any module."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 2, 3, padding=1, stride=2)
        self.b = nn.Conv2d(2, 2, 3, padding=1)
        self.short = nn.Conv2d(1, 2, 1, stride=2)
        self.post = nn.Conv2d(2, 2, 3, padding=1)

    def forward(self, x):
        y = self.b(self.a(x))
        return self.post(y + self.short(x))


def test_branches_follow_the_graph_and_keep_the_widest_field():
    s = dg.summary(Residual(), (1, 16, 16))
    assert s["a"].receptive_field == (3, 3) and s["b"].receptive_field == (7, 7)
    assert s["short"].receptive_field == (1, 1)
    # the sum sees what its widest input sees (7), not what the layer run last (the shortcut, 1) sees
    assert s["post"].receptive_field == (7 + 2 * 2, 7 + 2 * 2)


def test_upsampling_divides_the_jump():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ConvTranspose2d(2, 2, 2, stride=2),
                        nn.Upsample(scale_factor=2), nn.AdaptiveAvgPool2d(1))
    s = dg.summary(net, (1, 9, 9))
    assert s.rows[1].receptive_field == (3, 3) and s.rows[1].jump == (1, 1)  # k = s: one input pixel each
    assert s.rows[1].macs == 2 * 2 * 2 * 2 * 4 * 4  # k·C_out·(C_in·H_in·W_in)
    assert s.rows[2].jump == (0.5, 0.5) and "(0.5)" in str(s)
    assert s.rows[3].output_shape == (1, 2, 1, 1)


def test_shared_frozen_and_unused_parameters():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin, nn.Linear(4, 2))
    net[3].weight.requires_grad = False
    s = dg.summary(net, (4,))
    assert [r.params for r in s.rows] == [20, 0, 0, 10]  # the shared layer counts once
    assert s.total_params == sum(p.numel() for p in net.parameters()) == 30
    assert s.frozen_params == 8 and s.trainable_params == 22
    assert "frozen 8" in str(s)

    class Unused(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.spare = nn.Linear(3, 2), nn.Linear(3, 5)

        def forward(self, x):
            return self.used(x)

    u = dg.summary(Unused(), (3,))
    assert u.unused_params == 20 and "20 in layers not called" in str(u)


def test_batch_size_scales_activations_and_macs_not_parameters_and_restores_training_mode():
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3), nn.Dropout(0.5), nn.Flatten(), nn.Linear(3 * 36, 5))
    net.train()
    one, four = dg.summary(net, (1, 8, 8)), dg.summary(net, (1, 8, 8), batch_size=4)
    assert four.total_params == one.total_params
    assert four.total_activations == 4 * one.total_activations and four.total_macs == 4 * one.total_macs
    assert one.rows[1].macs == 3 * 36  # normalisation: one per output element
    assert net.training and net[1].training
    assert float(net[1].running_mean.abs().sum()) == 0.0  # eval mode: no running-stat update
    d = one.as_dict()
    assert d["total_params"] == one.total_params and d["layers"][0]["receptive_field"] == [3, 3]


def test_linear_on_3d_input_counts_every_row():
    s = dg.summary(nn.Linear(6, 4), (5, 6))
    assert s.rows[0].name == "Linear" and s.rows[0].macs == 5 * 6 * 4


def test_default_input_shape_and_errors():
    net = dg.models.get_model("lenet5_mnist")
    assert dg.summary(net).input_shape == (1, 1, 28, 28)
    with pytest.raises(ValueError, match="default_input_shape"):
        dg.summary(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="input_shape must be positive"):
        dg.summary(nn.Linear(2, 2), (0, 2))
    with pytest.raises(ValueError, match="batch_size"):
        dg.summary(nn.Linear(2, 2), (2,), batch_size=0)
    with pytest.raises(TypeError, match="Module"):
        dg.summary(lambda x: x, (2,))
    with pytest.raises(KeyError, match="no layer named"):
        dg.summary(nn.Linear(2, 2), (2,))["nope"]
    with pytest.raises(ValueError, match="no convolution or pooling"):
        receptive_field(nn.Linear(2, 2), (2,))


def test_cli_summary_prints_the_table(capsys):
    from deepgrad.cli import main

    assert main(["summary", "lenet5"]) == 0
    out = capsys.readouterr().out
    assert "61,706" in out and "c1 (Conv2d)" in out and "[1, 6, 28, 28]" in out
    assert main(["summary", "lenet5_mnist"]) == 0
    assert "input [1, 1, 28, 28]" in capsys.readouterr().out
    assert main(["summary", "lenet5", "--input-shape", "1,32,32"]) == 0
    assert "input [1, 1, 32, 32]" in capsys.readouterr().out
