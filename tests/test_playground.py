"""The playground's training side, without a server: data sets, features, settings, sessions, presets, export."""
import base64
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from deepgrad import optim
from deepgrad.playground import datasets
from deepgrad.playground.export import CHECKPOINT, SCRIPT, export_zip
from deepgrad.playground.features import feature_matrix
from deepgrad.playground.presets import PRESETS
from deepgrad.playground.session import GRID, Session
from deepgrad.playground.settings import Settings, SettingsError, validate

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "src"))


# ------------------------------------------------------------------------------------------------ data sets
@pytest.mark.parametrize("name", [n for n in datasets.DATASETS if n != "custom"])
def test_datasets_shapes_domain_and_determinism(name):
    x, y = datasets.generate(name, 300, noise=10, seed=3, classes=3)
    assert x.shape == (300, 2) and x.dtype == np.float32 and len(y) == 300
    assert np.abs(x).max() < 8  # the [-6, 6] square, plus noise
    if name in datasets.REGRESSION:
        assert y.dtype == np.float32 and y.min() >= -1 and y.max() <= 1 and y.std() > 0.05
    else:
        assert y.dtype == np.int64 and len(np.unique(y)) == (3 if name in datasets.MULTICLASS else 2)
    x2, y2 = datasets.generate(name, 300, noise=10, seed=3, classes=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, datasets.generate(name, 300, noise=10, seed=4, classes=3)[0])


def test_plane_is_the_linear_surface():
    x, y = datasets.plane(200, noise=0, seed=0)
    np.testing.assert_allclose(y, (x[:, 0] + x[:, 1]) / 12, atol=1e-6)


def test_function_split_labels_by_the_formula():
    x, y = datasets.function_split(400, "x**2/3 - 3", noise=0, seed=1)
    np.testing.assert_array_equal(y, (x[:, 1] > x[:, 0].astype(np.float64) ** 2 / 3 - 3).astype(np.int64))
    with pytest.raises(datasets.DataError, match="every point in class"):
        datasets.function_split(100, "100", seed=0)
    with pytest.raises(datasets.DataError, match="not finite"):
        datasets.function_split(100, "1/(x-x)", seed=0)


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('true')", "not allowed"),
    ("x.real", "not allowed"),
    ("open(x)", "not allowed"),
    ("y + 1", "not allowed"),
    ("sin(x, 2)", "one argument"),
    ("3 *", "not a formula"),
    ("", "empty"),
    ("x" * 200, "at most"),
])
def test_parse_function_refuses_anything_but_arithmetic(text, message):
    with pytest.raises(datasets.DataError, match=message):
        datasets.parse_function(text)


def test_parse_function_evaluates_without_big_integers():
    f = datasets.parse_function("9**9**9**9 + sin(pi*x) - abs(x)")  # floats: overflows to inf at once
    assert np.isinf(f(np.array([0.5]))).all()
    np.testing.assert_allclose(datasets.parse_function("3*sin(x)")(np.array([0.0, np.pi / 2])), [0.0, 3.0], atol=1e-12)


def test_parse_csv_classification_regression_and_errors():
    rows = "\n".join(f"{i},{-i},{i % 3}" for i in range(20))
    x, y, task = datasets.parse_csv("x1,x2,label\n" + rows)
    assert task == "classification" and set(y.tolist()) == {0, 1, 2} and np.abs(x).max() == pytest.approx(6)
    x, y, task = datasets.parse_csv("\n".join(f"{i},{i},{i * 0.5 + 0.25}" for i in range(20)))
    assert task == "regression" and y.min() == -1 and y.max() == 1
    with pytest.raises(datasets.DataError, match="line 3: expected 3 values"):
        datasets.parse_csv("1,2,0\n2,3,1\n4,5\n")
    with pytest.raises(datasets.DataError, match="line 2: .* is not three numbers"):
        datasets.parse_csv("1,2,0\na,b,c\n")
    with pytest.raises(datasets.DataError, match="finite"):
        datasets.parse_csv("1,2,0\nnan,1,1\n")
    with pytest.raises(datasets.DataError, match="at least 10"):
        datasets.parse_csv("1,2,0\n2,1,1\n")
    with pytest.raises(datasets.DataError, match="larger than 256 kB"):
        datasets.parse_csv("1,2,0\n" * 100_000)
    with pytest.raises(datasets.DataError, match="more than 2000 points"):
        datasets.parse_csv("1,2,0\n" * 2001)
    with pytest.raises(datasets.DataError, match="all one class"):
        datasets.parse_csv("1,2,0\n" * 20)


def test_feature_matrix():
    f = feature_matrix(np.array([[2.0, 3.0], [-1.0, 0.5]]), ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"])
    np.testing.assert_allclose(f[0], [2, 3, 4, 9, 6, np.sin(2), np.sin(3)], rtol=1e-6)
    with pytest.raises(ValueError, match="unknown feature 'x3'"):
        feature_matrix(np.zeros((1, 2)), ["x3"])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        feature_matrix(np.zeros((3,)), ["x1"])


# ------------------------------------------------------------------------------------------------ settings
@pytest.mark.parametrize("raw, field, message", [
    ({"hidden": [4] * 7}, "hidden", "at most 6"),
    ({"hidden": [9]}, "hidden", "1 to 8 neurons"),
    ({"hidden": [0]}, "hidden", "1 to 8 neurons"),
    ({"hidden": [True]}, "hidden", "1 to 8 neurons"),
    ({"points": 5000}, "points", "between 50 and 2000"),
    ({"batch_size": 300}, "batch_size", "larger than the 250 training points"),
    ({"lr": 50}, "lr", "learning rate 50 is out of range"),
    ({"lr": 0}, "lr", "out of range"),
    ({"lr": "abc"}, "lr", "should be a number"),
    ({"lr": float("nan")}, "lr", "finite"),
    ({"noise": 2.5}, "noise", "whole number"),
    ({"reg_rate": -1}, "reg_rate", "out of range"),
    ({"classes": 9}, "classes", "between 2 and 6"),
    ({"features": []}, "features", "at least one"),
    ({"features": ["x1", "x1"]}, "features", "once"),
    ({"features": ["x3"]}, "features", "unknown"),
    ({"dataset": "moons"}, "dataset", "unknown"),
    ({"dataset": "custom"}, "dataset", "upload"),
    ({"activation": "gelu"}, "activation", "relu, tanh, sigmoid, linear"),
    ({"optimizer": "lbfgs"}, "optimizer", "unknown"),
    ({"init": "orthogonal"}, "init", "unknown"),
    ({"formula": "os.system"}, "formula", "not allowed"),
    ({"colour": 1}, "colour", "unknown setting"),
])
def test_validate_bounds(raw, field, message):
    with pytest.raises(SettingsError, match=message) as info:
        validate(raw)
    assert info.value.field == field


def test_validate_defaults_and_order():
    s = validate({"features": ["x2", "x1"], "hidden": []})
    assert s.features == ("x1", "x2") and s.hidden == () and s.n_train == 250
    assert validate({}) == Settings()
    assert validate({"dataset": "custom"}, custom_points=120).points == 120
    with pytest.raises(SettingsError, match="not a JSON object|should be a JSON object"):
        validate([1, 2])


# ------------------------------------------------------------------------------------------------ sessions
def _trained(steps=300, **kw):
    s = Session(validate(kw))
    for _ in range(steps):
        s.step()
    return s


def test_frame_carries_every_heatmap_and_weight():
    s = _trained(50, hidden=[8, 8], activation="relu")
    f = s.frame()
    assert len(base64.b64decode(f["output"])) == 2 * GRID * GRID
    assert len(base64.b64decode(f["neurons"])) == 16 * GRID * GRID
    assert [np.shape(w) for w in f["weights"]] == [(8, 2), (8, 8), (1, 8)]
    assert f["steps"] == 50 and f["epoch"] == 2 and f["train_loss"] > 0
    assert len(f["health"]["neurons"]) == 2 and len(f["health"]["neurons"][0]) == 8
    d = s.describe()
    assert len(d["train"]["x"]) == 250 and len(d["test"]["y"]) == 250 and d["task"] == "classification"


def test_binary_output_map_is_a_probability_pair():
    s = _trained(10)
    maps = np.frombuffer(base64.b64decode(s.frame()["output"]), np.uint8).reshape(2, -1).astype(int)
    assert np.abs(maps[0] + maps[1] - 255).max() <= 1


def test_multiclass_softmax_output_per_class():
    s = _trained(600, dataset="gauss", classes=4, hidden=[], lr=0.03, optimizer="adam")
    f = s.frame()
    assert s.n_classes == 4 and f["output_maps"] == 4 and s.model.output.out_features == 4
    maps = np.frombuffer(base64.b64decode(f["output"]), np.uint8).reshape(4, -1) / 255
    np.testing.assert_allclose(maps.sum(0), 1, atol=0.02)
    assert len(set(maps.argmax(0).tolist())) == 4  # every class owns part of the square
    assert f["test_loss"] < 0.2


def test_regression_session():
    s = _trained(400, dataset="plane", hidden=[], lr=0.003)
    assert s.task == "regression" and s.frame()["output_maps"] == 1 and s.losses()[1] < 0.01


def test_step_counts_epochs_and_run_epoch():
    s = Session(validate({"batch_size": 100}))  # 250 training points: batches 100, 100, 50
    for _ in range(3):
        s.step()
    assert (s.steps, s.epoch) == (3, 1)
    s.run_epoch()
    assert (s.steps, s.epoch) == (6, 2)


@pytest.mark.parametrize("name, cls", [("sgd", optim.SGD), ("momentum", optim.SGD), ("adam", optim.Adam),
                                       ("bb", optim.BarzilaiBorwein)])
def test_optimizer_choice(name, cls):
    s = Session(validate({"optimizer": name}))
    assert type(s.optimizer) is cls
    assert s.optimizer.param_groups[0].get("momentum", 0) == (0.9 if name == "momentum" else 0)


def test_bb_full_batch_learns_circle():
    s = _trained(300, optimizer="bb", batch_size=250, features=["x1sq", "x2sq"], hidden=[], lr=0.01)
    assert s.losses()[1] < 0.3


def test_inits():
    zeros = Session(validate({"init": "zeros"}))
    assert all(np.all(m.weight.detach().numpy() == 0) for m in zeros.model if hasattr(m, "weight"))
    const = _trained(100, init="constant", hidden=[4])
    w = const.model.hidden1.weight.detach().numpy()
    np.testing.assert_allclose(w, w[:1].repeat(4, 0), atol=1e-6)  # symmetry: the units of a layer stay identical
    large = Session(validate({"init": "large", "hidden": [8, 8]})).model.hidden2.weight.detach().numpy()
    xavier = Session(validate({"init": "xavier", "hidden": [8, 8]})).model.hidden2.weight.detach().numpy()
    he = Session(validate({"init": "he", "hidden": [8, 8]})).model.hidden2.weight.detach().numpy()
    assert large.std() > he.std() > xavier.std() > 0.2


def test_regularisation_shrinks_weights():
    plain = _trained(400, hidden=[8], lr=0.03)
    l2 = _trained(400, hidden=[8], lr=0.03, regularization="l2", reg_rate=0.1)
    l1 = _trained(400, hidden=[8], lr=0.03, regularization="l1", reg_rate=0.05)
    norm = lambda s: sum(float(np.abs(m.weight.detach().numpy()).sum()) for m in s.model if hasattr(m, "weight"))
    assert norm(l2) < 0.8 * norm(plain) and norm(l1) < 0.8 * norm(plain)


def test_live_update_keeps_weights_and_changes_lr():
    s = _trained(20)
    w = s.model.hidden1.weight.detach().numpy().copy()
    s.update(validate({"lr": 0.3}))
    assert s.optimizer.param_groups[0]["lr"] == 0.3
    np.testing.assert_array_equal(s.model.hidden1.weight.detach().numpy(), w)


def test_health_flags_dead_relu_and_saturation():
    s = Session(validate({"activation": "relu", "hidden": [4]}))
    s.model.hidden1.bias.data[...] = -100.0  # every unit silent on every point
    h = s.frame()["health"]
    assert all(n["dead"] and n["active"] == 0 and n["flag"] == "dead" for n in h["neurons"][0])
    assert any("dying ReLU" in f for f in h["flags"])  # deepgrad's health report says so too
    s = Session(validate({"activation": "tanh", "hidden": [4, 4]}))
    s.model.hidden1.bias.data[[0, 1]] = 5.0  # tanh(5 + small) is flat: saturated on (nearly) every point
    s.model.hidden1.weight.data[[0, 1]] = 0.01
    h = s.frame()["health"]
    assert [n["flag"] for n in h["neurons"][0]][:2] == ["saturated", "saturated"]
    assert all(n["saturated"] > 0.9 for n in h["neurons"][0] if n["flag"] == "saturated")
    alive = Session(validate({"activation": "relu", "hidden": [4], "init": "he"})).frame()["health"]["neurons"][0]
    assert all(n["grad"] > 0 for n in alive if not n["dead"])


@pytest.mark.parametrize("preset", PRESETS, ids=[p["name"] for p in PRESETS])
def test_presets_reach_a_low_test_loss(preset):
    s = Session(validate(preset["settings"]))
    for _ in range(1500):
        s.step()
    limit = 0.05 if s.task == "regression" else 0.25
    assert s.losses()[1] < limit, preset["name"]
    assert preset["why"].endswith(".")


# ------------------------------------------------------------------------------------------------ export
@pytest.mark.parametrize("kw", [{}, {"dataset": "gauss", "classes": 3}, {"dataset": "plane"}])
def test_export_script_rebuilds_the_network(tmp_path, kw):
    s = _trained(200, hidden=[8, 4], **kw)
    with zipfile.ZipFile(io.BytesIO(export_zip(s))) as z:
        assert sorted(z.namelist()) == sorted([CHECKPOINT, SCRIPT])
        z.extractall(tmp_path)
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run([sys.executable, SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"test loss {s.losses()[1]:.4f}" in out.stdout
    assert sorted(os.listdir(tmp_path)) == sorted([CHECKPOINT, SCRIPT])
