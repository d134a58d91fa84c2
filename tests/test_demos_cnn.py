"""The CNN demos in fast mode: each returns the numbers it prints; these tests check them."""
import math

import numpy as np
import pytest

from deepgrad.demos import list_demos, run_demo
from deepgrad.demos.segmentation import iou, shapes

NAMES = ["convolution", "lenet", "receptive-field", "transfer", "distillation", "adversarial", "segmentation"]


def test_cnn_demos_are_registered():
    assert set(NAMES) <= set(list_demos())


def test_convolution(tmp_path):
    r = run_demo("convolution", str(tmp_path), fast=True)
    assert r["slide_box_filter_max_error"] == 0.0  # the slide's moving-average table, exactly
    d = r["corr_vs_conv_max_diff"]
    for name in ("identity", "box blur", "sharpen", "-laplacian", "gaussian σ=1"):
        assert d[name] < 1e-5, name  # symmetric kernels: correlation = convolution
    for name in ("sobel x", "sobel y", "edge (x−1)", "∂x gaussian"):
        assert d[name] > 0.1, name
    assert r["sobel_conv_is_minus_corr"]
    assert r["padding_sizes_28_k5"] == {"valid": 24, "same": 28, "full": 32}
    assert r["formula_matches_layer"]
    assert (tmp_path / "convolution" / "kernels.png").exists()


def test_receptive_field(tmp_path):
    r = run_demo("receptive-field", str(tmp_path), fast=True)
    c = r["C"]
    assert r["stack_rf"] == r["single_rf"] == 7
    assert (r["stack_params"], r["single_params"]) == (27 * c * c, 49 * c * c)
    assert r["rf_by_depth"] == [2 * n + 1 for n in range(1, len(r["rf_by_depth"]) + 1)]
    assert r["rf_by_depth_pooled"][:4] == [3, 6, 10, 16]
    assert r["lenet_rf"] == {"c1": 5, "s2": 6, "c3": 14, "s4": 16, "c5": 32}


def test_lenet(tmp_path):
    r = run_demo("lenet", str(tmp_path), fast=True)
    assert r["params"] == 61706 and r["macs"] == 416520
    assert r["last_loss"] < 0.7 * r["first_loss"]
    assert r["test_accuracy"] > 0.4  # 10 classes: chance is 0.1; fast mode trains only a few dozen steps
    assert r["c1_maps_shape"] == [1, 6, 28, 28] and r["c3_maps_shape"] == [1, 16, 10, 10]
    for f in ("filters.png", "feature_maps_c1.png", "feature_maps_c3.png", "loss.png"):
        assert (tmp_path / "lenet" / f).exists(), f


def test_adversarial(tmp_path):
    r = run_demo("adversarial", str(tmp_path), fast=True)
    acc = r["accuracy"]
    assert r["epsilons"][0] == 0.0 and acc[0] > 0.4
    assert all(a >= b - 0.02 for a, b in zip(acc, acc[1:]))  # falls with ε (up to sampling noise)
    assert acc[-1] < 0.5 * acc[0]
    assert r["max_perturbation"] == pytest.approx(0.15, abs=1e-5)
    assert r["saliency_shape"] == [8, 28, 28]


def test_transfer(tmp_path):
    r = run_demo("transfer", str(tmp_path), fast=True)
    assert r["source_accuracy"] > 0.8 and r["labels_per_class"] == [5]
    for k in ("probe_s2", "probe_s4", "probe_c5", "probe_f6", "fine_tune", "scratch"):
        assert len(r[k]) == 1 and 0.25 < r[k][0] <= 1.0, k  # 5 classes: chance is 0.2
    # the convolutional features are generic, the top layer's are specific to digits 0-4 (wide margin: ~0.38)
    assert r["probe_s4"][0] > r["probe_f6"][0] + 0.15
    # with 5 labels per class, starting from the pre-trained convolutions beats random weights (margin ~0.08)
    assert r["fine_tune"][0] > r["scratch"][0]
    assert (tmp_path / "transfer" / "transfer.png").exists()


def test_distillation(tmp_path):
    r = run_demo("distillation", str(tmp_path), fast=True)
    assert r["student_params"] == 784 * 64 + 64 + 64 * 10 + 10 < r["teacher_params"] == 61706
    assert r["teacher"] > 0.8
    for k in ("student_alone", "student_distilled", "student_soft_only"):
        assert 0.7 < r[k] < 1.0, k
    assert set(r["by_temperature"]) == {1.0, r["T"]} and r["by_temperature"][r["T"]] == r["student_distilled"]
    assert (r["T"], r["alpha"]) == (10.0, 0.9)
    assert (tmp_path / "distillation" / "distillation.png").exists()


def test_segmentation(tmp_path):
    r = run_demo("segmentation", str(tmp_path), fast=True)
    assert r["last_loss"] < 0.6 * r["first_loss"]
    assert r["pixel_accuracy"] >= r["background_fraction"] - 0.02
    assert 0 <= r["mean_iou"] <= 1 and r["iou"]["background"] > 0.8
    assert (tmp_path / "segmentation" / "segmentation.png").exists()


def test_shapes_and_iou():
    x, m = shapes(4, size=24, seed=3)
    assert x.shape == (4, 1, 24, 24) and m.shape == (4, 24, 24) and set(np.unique(m)) <= {0, 1, 2}
    assert (m > 0).any(axis=(1, 2)).all()  # every image has a shape
    np.testing.assert_array_equal(shapes(4, size=24, seed=3)[1], m)
    p = np.array([[0, 1], [1, 2]])
    t = np.array([[0, 1], [2, 2]])
    got = iou(p, t, 4)
    assert got[:3] == [1.0, 0.5, 0.5] and math.isnan(got[3])
