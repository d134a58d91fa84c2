"""Box operations against torchvision's values, normalised cross-correlation, the classification + localisation
model and the template-matching and localization demos."""
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.demos import run_demo
from deepgrad.models.localization import ClassifierLocalizer, localization_loss
from deepgrad.tools.template import best_match, match_template
from deepgrad.vision.ops import box_area, box_iou, elementwise_box_iou, generalized_box_iou, generalized_box_iou_loss
from deepgrad.viz import plots

A = [[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 4.0, 3.0]]
B = [[1.0, 1.0, 3.0, 3.0], [5.0, 5.0, 6.0, 7.0], [0.0, 0.0, 2.0, 2.0]]


def test_boxes_match_torchvision():
    # values printed by torchvision.ops 0.29 for the same boxes
    np.testing.assert_allclose(box_iou(dg.tensor(A), dg.tensor(B)).numpy(),
                               [[1 / 7, 0, 1], [2 / 3, 0, 1 / 9]], rtol=1e-6)
    np.testing.assert_allclose(generalized_box_iou(dg.tensor(A), dg.tensor(B)).numpy(),
                               [[-0.07936507, -0.85714287, 1.0], [0.6666667, -0.73333335, -0.1388889]], rtol=1e-6)
    np.testing.assert_allclose(generalized_box_iou_loss(dg.tensor(A), dg.tensor(B[:2])).numpy(),
                               [1.079365, 1.7333333], rtol=1e-6)
    assert generalized_box_iou_loss(dg.tensor(A), dg.tensor(B[:2]), reduction="mean").item() == pytest.approx(
        (1.079365 + 1.7333333) / 2, rel=1e-6)
    assert box_area(dg.tensor(A)).tolist() == [4.0, 6.0]
    np.testing.assert_allclose(elementwise_box_iou(dg.tensor(A), dg.tensor(B[:2])).numpy(), [1 / 7, 0])
    # disjoint boxes: IoU has no gradient, GIoU does
    p = dg.tensor([[0.0, 0.0, 1.0, 1.0]], requires_grad=True)
    generalized_box_iou_loss(p, dg.tensor([[2.0, 0.0, 3.0, 1.0]])).sum().backward()
    assert p.grad.numpy()[0, 2] < 0          # moving the right edge right lowers the loss
    with pytest.raises(ValueError, match=r"box_iou: boxes must be a \(\.\.\., 4\) tensor"):
        box_iou(dg.zeros(2, 3), dg.zeros(2, 4))
    with pytest.raises(ValueError, match="reduction must be"):
        generalized_box_iou_loss(dg.tensor(A), dg.tensor(A), reduction="max")


def test_match_template():
    rng = np.random.default_rng(0)
    img = rng.random((20, 25))
    tmpl = img[7:12, 4:10].copy()
    m = match_template(dg.tensor(2.0 * img + 3.0), dg.tensor(tmpl))   # invariant to brightness and contrast
    assert m.shape == (16, 20) and best_match(m) == (7, 4) and m.numpy().max() == pytest.approx(1.0, abs=1e-6)
    assert m.numpy().min() >= -1 - 1e-6
    flat = match_template(dg.ones(6, 6), dg.tensor(tmpl[:2, :2]))
    assert np.all(flat.numpy() == 0)                 # windows without variance score 0
    batch = match_template(dg.tensor(img[None, None]), dg.tensor(tmpl))
    assert batch.shape == (1, 1, 16, 20)
    with pytest.raises(ValueError, match="larger than the image"):
        match_template(dg.zeros(3, 3), dg.zeros(4, 4))
    with pytest.raises(ValueError, match=r"image must be \(H, W\) or \(N, 1, H, W\)"):
        match_template(dg.zeros(2, 3, 8, 8), dg.zeros(2, 2))


def test_classifier_localizer():
    dg.manual_seed(0)
    m = ClassifierLocalizer(num_classes=3, image_size=16, channels=4, hidden=8)
    logits, boxes = m(dg.randn(5, 1, 16, 16))
    b = boxes.detach().numpy()
    assert logits.shape == (5, 3) and (b[:, 2] >= b[:, 0]).all() and (b[:, 3] >= b[:, 1]).all()
    loss = localization_loss(logits, boxes, dg.tensor([0, 1, 2, 0, 1]), dg.tensor(np.tile([0.2, 0.2, 0.6, 0.7], (5, 1))))
    loss.backward()
    assert m.box_head.weight.grad is not None and m.classifier.weight.grad is not None
    with pytest.raises(ValueError, match="box_loss must be"):
        localization_loss(logits, boxes, dg.tensor([0] * 5), boxes, "l2")
    with pytest.raises(ValueError, match="multiple of 8"):
        ClassifierLocalizer(image_size=30)


def test_vision_practice_demos(tmp_path):
    r = run_demo("template-matching", out=str(tmp_path), fast=True)
    assert r["found"] == r["truth"] and r["plain_found"] != r["truth"] and r["peak"] > 0.95
    r = run_demo("localization", out=str(tmp_path), fast=True)
    assert r["both"]["mean_iou"] > 0.4
    if plots.available():
        for f in ("template-matching/template_matching.png", "localization/localization.png"):
            assert os.path.getsize(tmp_path / f) > 1000
