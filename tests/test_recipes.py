"""The training recipes of ``deepgrad train``: the mnist-cnn model, recipe validity, and the train+val recipe key."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import cli
from deepgrad.models import MnistCNN, get_model, model_info

RECIPE_MODELS = ("mnist-cnn", "mnist-cnn-best", "mlp", "logistic", "linear-svm")


@pytest.mark.parametrize("name", RECIPE_MODELS)
def test_recipe_is_valid_and_builds(name):
    recipe = model_info(name)["recipe"]
    assert recipe["lr"] > 0 and recipe["epochs"] >= 1 and recipe["batch_size"] >= 1
    model, _ = cli.build_model(name, (1, 28, 28), 10)
    opt = cli.build_optimizer(recipe["optimizer"], model.parameters(), recipe["lr"], recipe)
    assert opt.param_groups[0]["lr"] == recipe["lr"]
    assert cli.build_loss(recipe.get("loss", "cross_entropy")) is not None


def test_image_recipes_augment_and_use_cosine():
    for name in ("mnist-cnn", "mnist-cnn-best", "mlp"):
        r = model_info(name)["recipe"]
        assert r["augment"] and r["shift"] >= 1 and r.get("cosine", True)
    assert model_info("mnist-cnn-best")["recipe"]["train_on_val"]
    assert not model_info("mnist-cnn")["recipe"].get("train_on_val")


def test_mnist_cnn_shapes_and_parameters():
    m = get_model("mnist-cnn")
    assert isinstance(m, MnistCNN) and m.default_input_shape == (1, 28, 28)
    assert tuple(m(dg.zeros(3, 1, 28, 28)).shape) == (3, 10)
    # conv 1->16 5x5 (no bias), BN 16, conv 16->32 5x5 (no bias), BN 32, fc 1568->128, fc 128->10
    expected = 16 * 25 + 2 * 16 + 32 * 16 * 25 + 2 * 32 + 1568 * 128 + 128 + 128 * 10 + 10
    assert sum(p.numel() for p in m.parameters()) == expected
    wide = MnistCNN(3, 5, channels=(4, 8), hidden=16, kernel_size=3, dropout=0.5, input_size=(32, 32))
    assert tuple(wide(dg.zeros(2, 3, 32, 32)).shape) == (2, 5)
    assert any(isinstance(layer, dg.nn.Dropout) for layer in wide)


@pytest.mark.parametrize("kwargs, words", [
    ({"kernel_size": 4}, "kernel_size must be odd"),
    ({"input_size": (30, 30)}, "divisible by 4"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
])
def test_mnist_cnn_errors(kwargs, words):
    with pytest.raises(ValueError, match="MnistCNN") as e:
        MnistCNN(**kwargs)
    assert words in str(e.value)


def test_mnist_cnn_trains_on_a_batch():
    dg.manual_seed(0)
    m = get_model("mnist-cnn")
    ds = dg.data.get_dataset("mnist-sample", split="train")
    x = dg.tensor(np.asarray(ds.arrays[0][:32], np.float32)[:, None] / 255.0)
    y = dg.tensor(np.asarray(ds.arrays[1][:32]))
    opt = dg.optim.Adam(m.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = dg.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


def test_train_on_val_recipe_uses_6000_digits_and_keeps_test_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(model_info("logistic")["recipe"], "train_on_val", True)
    out = str(tmp_path)
    assert cli.main(["train", "--model", "logistic", "--epochs", "1", "--batch-size", "500", "--out", out]) == 0
    captured = capsys.readouterr()
    assert "6000 train, 1000 test" in captured.err
    hist = json.load(open(os.path.join(out, "history.json")))["history"]
    assert "val_accuracy" not in hist
    res = json.load(open(os.path.join(out, "results.json")))
    assert res["checkpoint"].endswith("last.safetensors")
    assert 0.5 < res["test_accuracy"] <= 1.0
