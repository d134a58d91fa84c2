"""Test-time shifts (deepgrad.train.ShiftTTA): values against a NumPy reference, training-mode passthrough, errors,
and the ``tta`` recipe key of ``deepgrad train`` / ``deepgrad evaluate``."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import cli
from deepgrad.models import MnistCNN, model_info
from deepgrad.train import ShiftTTA
from deepgrad.train.tta import ONE_PIXEL_SHIFTS


def _moved(x, dy, dx, fill):
    out = np.full_like(x, fill)
    h, w = x.shape[-2:]
    for i in range(h):
        for j in range(w):
            if 0 <= i - dy < h and 0 <= j - dx < w:
                out[..., i, j] = x[..., i - dy, j - dx]
    return out


def test_shifted_moves_down_right_and_fills():
    x = dg.tensor(np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 1, 4, 5))
    tta = ShiftTTA(dg.nn.Identity(), shifts=[(0, 0), (2, -1)], fill=-7.0)
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1), (2, -1), (0, 0)):
        np.testing.assert_array_equal(tta.shifted(x, dy, dx).numpy(), _moved(x.numpy(), dy, dx, -7.0))


def test_shift_tta_is_the_log_of_the_mean_softmax_in_eval_and_the_model_in_training():
    dg.manual_seed(0)
    model = MnistCNN(channels=(4, 8), hidden=16)
    tta = ShiftTTA(model, fill=-0.4)
    x = dg.randn(3, 1, 28, 28)
    with dg.no_grad():
        tta.eval()
        assert not model.training
        out = tta(x).numpy()
        views = [model(dg.tensor(_moved(x.numpy(), dy, dx, -0.4))).numpy() for dy, dx in ONE_PIXEL_SHIFTS]
    probs = [np.exp(v - v.max(1, keepdims=True)) for v in views]
    ref = np.log(np.mean([p / p.sum(1, keepdims=True) for p in probs], 0))
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(np.exp(out).sum(1), 1.0, rtol=1e-5)
    tta.train()
    assert model.training
    dg.manual_seed(1)
    a = tta(x)
    dg.manual_seed(1)
    np.testing.assert_array_equal(a.detach().numpy(), model(x).detach().numpy())
    assert [n for n, _ in tta.named_parameters()] == ["model." + n for n, _ in model.named_parameters()]


def test_shift_tta_errors():
    with pytest.raises(ValueError, match="ShiftTTA: shifts must name at least one"):
        ShiftTTA(dg.nn.Identity(), shifts=[])
    with pytest.raises(ValueError, match=r"ShiftTTA: expected \(N, C, H, W\) images, got shape \(3, 4\)"):
        ShiftTTA(dg.nn.Identity()).eval()(dg.zeros(3, 4))


def test_train_recipe_tta_scores_test_with_shifts_and_evaluate_agrees(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(model_info("logistic")["recipe"], "tta", True)
    out = str(tmp_path)
    assert cli.main(["train", "--model", "logistic", "--epochs", "1", "--batch-size", "500", "--out", out]) == 0
    assert "with test-time shifts" in capsys.readouterr().out
    res = json.load(open(os.path.join(out, "results.json")))
    assert res["tta"]["shifts"] == [list(s) for s in ONE_PIXEL_SHIFTS]
    assert res["tta"]["fill"] == pytest.approx(-res["normalize"]["mean"] / res["normalize"]["std"])
    assert 0.5 < res["test_accuracy"] <= 1 and 0.5 < res["test_accuracy_without_tta"] <= 1
    assert cli.main(["evaluate", res["checkpoint"], "--json"]) == 0
    ev = json.loads(capsys.readouterr().out)
    assert ev["test_time_shifts"] and ev["accuracy"] == pytest.approx(res["test_accuracy"])
