"""benchmarks/recipe_cv.py, the cross-validated recipe choice: folds never touch the test split, arguments and
errors, the report's table and choice rule, on tiny runs; and the recipe's augmentation (cli.build_augment)."""
from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import cli, data
from deepgrad.models import model_info

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.fixture(scope="module")
def cv():
    spec = importlib.util.spec_from_file_location("recipe_cv", os.path.join(ROOT, "benchmarks", "recipe_cv.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = dg.get_num_threads()
    yield module
    dg.set_num_threads(threads)  # main() sets 2 threads per run


def test_pool_is_train_plus_val_and_folds_partition_it(cv):
    X, y = cv.pool()
    Xtr, _, _ = cli.load_arrays("mnist-sample", "train")
    Xte, _, _ = cli.load_arrays("mnist-sample", "test")
    assert X.shape == (6000, 1, 28, 28) and np.array_equal(X[:5000], Xtr)
    test_rows = {r.tobytes() for r in Xte}
    assert not any(r.tobytes() in test_rows for r in X[::50])  # no test digit in the pool
    held = [cv.fold_indices(y, 3, k)[1] for k in range(3)]
    assert sorted(np.concatenate(held).tolist()) == list(range(6000))
    tr, va = cv.fold_indices(y, 3, 1)
    assert len(tr) == 4000 and len(va) == 2000 and not set(tr) & set(va)
    assert np.abs(np.bincount(y[va], minlength=10) / 2000 - np.bincount(y, minlength=10) / 6000).max() < 0.002
    with pytest.raises(ValueError, match="--fold must be in 0..2, got 3"):
        cv.fold_indices(y, 3, 3)


def test_fold_report_and_errors_on_tiny_runs(cv, tmp_path, capsys):
    out = str(tmp_path)
    for seed in (0, 1):
        for k in range(3):
            assert cv.main(["fold", "--candidate", "today", "--fold", str(k), "--seed", str(seed), "--limit", "150",
                            "--epochs", "1", "--out", out]) == 0
    r = json.load(open(os.path.join(out, "cv-today-f2-s1.json")))
    assert (r["n_train"], r["n_heldout"], r["epochs"], r["threads"]) == (100, 50, 1, 2)
    assert 0 <= r["accuracy"] <= 1 and 0 <= r["tta_accuracy"] <= 1 and r["recipe"] == cv.CANDIDATES["today"]["recipe"]
    capsys.readouterr()
    assert cv.main(["report", "--out", out]) == 0
    text = capsys.readouterr().out
    for row in ("today ", "today +TTA", "today x2 ensemble ", "today x2 ensemble +TTA", "choice (highest mean"):
        assert row in text
    folds = [json.load(open(os.path.join(out, f"cv-today-f{k}-s0.json")))["accuracy"] for k in range(3)]
    row = next(line for line in text.splitlines() if line.startswith("today   "))
    assert row.split()[1:4] == [f"{100 * a:.2f}" for a in folds]
    assert cv.main(["final", "--model", "logistic", "--epochs", "1", "--seed", "3", "--out", out]) == 0
    final = json.load(open(os.path.join(out, "final-seed3.json")))
    assert final["epochs"] == 1 and final["wall"] > 0 and 0.5 < final["test_accuracy"] <= 1
    capsys.readouterr()
    assert cv.main(["report", "--out", out]) == 0
    assert f"seed 3: {100 * final['test_accuracy']:.2f}%" in capsys.readouterr().out
    assert cv.main(["final", "--model", "logistic", "--epochs", "1", "--seed", "4", "--out", out]) == 0
    assert cv.main(["ensemble", "--seeds", "3", "4", "--out", out]) == 0
    ens = json.load(open(os.path.join(out, "final-ensemble-3-4.json")))
    second = json.load(open(os.path.join(out, "final-seed4.json")))
    assert ens["members"] == 2 and 0.5 < ens["test_accuracy"] <= 1
    assert ens["wall"] > final["wall"] + second["wall"]  # the members' training and the evaluation
    capsys.readouterr()
    assert cv.main(["report", "--out", out]) == 0
    assert f"seeds 3, 4: {100 * ens['test_accuracy']:.2f}%" in capsys.readouterr().out
    assert cv.main(["ensemble", "--seeds", "3", "9", "--out", out]) == 2
    assert "recipe_cv ensemble: error: no final run at seed 9" in capsys.readouterr().err
    assert cv.main(["fold", "--candidate", "today", "--fold", "3", "--out", out]) == 2
    assert "recipe_cv fold: error: --fold must be in 0..2, got 3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cv.main(["fold", "--candidate", "nope", "--fold", "0", "--out", out])
    with pytest.raises(SystemExit, match="--folds must be at least 2"):
        cv.main(["report", "--folds", "1", "--out", out])


def test_plan_lists_every_fold_once(cv, capsys):
    assert cv.main(["plan", "--out", "D"]) == 0
    lines = capsys.readouterr().out.splitlines()
    runs = sum(len(c["seeds"]) for c in cv.CANDIDATES.values()) * 3
    assert len(lines) == len(set(lines)) == runs and all(line.startswith("dgtest python ") for line in lines)


def test_chosen_recipe_is_the_registered_mnist_cnn_best(cv):
    info = model_info("mnist-cnn-best")
    arch, recipe, members = cv.chosen()
    assert members == 2 and "two" in info["description"]
    assert {k: v for k, v in info["recipe"].items() if k != "train_on_val"} == recipe
    assert info["recipe"]["train_on_val"]
    from deepgrad.models import MnistCNN, get_model

    got, want = get_model("mnist-cnn-best"), MnistCNN(1, 10, **arch)
    assert [tuple(p.shape) for p in got.parameters()] == [tuple(p.shape) for p in want.parameters()]
    assert repr(got) == repr(want)


def test_build_augment_shift_and_affine():
    assert cli.build_augment({"augment": False}) is None
    shift = cli.build_augment({"augment": True, "shift": 3})
    assert isinstance(shift, data.transforms.RandomShift) and shift.max_shift == 3 and shift.fill == 0
    both = cli.build_augment({"augment": True, "shift": 1, "affine": {"degrees": 10, "scale": [0.9, 1.1]}},
                             background=-0.4)
    affine, move = both.transforms
    assert isinstance(affine, data.transforms.RandomAffine) and affine.scale == (0.9, 1.1)
    assert affine.interpolation == "bilinear" and affine.fill == move.fill == -0.4 and move.max_shift == 1
    x = np.full((8, 1, 28, 28), -0.4, np.float32)
    np.testing.assert_allclose(both.batch(x), x, atol=1e-6)  # a blank image stays blank
    with pytest.raises(TypeError):
        cli.build_augment({"augment": True, "affine": {"degree": 10}})
    three = cli.build_augment({"augment": True, "affine": {"degrees": 5}, "elastic": {"alpha": 68, "sigma": 4}},
                              background=-0.4)
    affine, elastic, move = three.transforms
    assert isinstance(elastic, data.transforms.ElasticTransform) and elastic.alpha == (68.0, 68.0)
    assert elastic.sigma == (4.0, 4.0) and elastic.interpolation == "bilinear" and elastic.fill == -0.4
    np.testing.assert_allclose(three.batch(x), x, atol=1e-6)
    alone = cli.build_augment({"augment": True, "elastic": {"alpha": 10, "sigma": 2}})
    assert [type(t).__name__ for t in alone.transforms] == ["ElasticTransform", "RandomShift"]
