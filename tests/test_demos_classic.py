"""The perceptron-to-MLP demos (``deepgrad demo NAME --fast``): the lectures' numbers and the figures."""
import math
import os

import numpy as np
import pytest

from deepgrad.demos import list_demos, run_demo
from deepgrad.viz import plots

HAVE_MPL = plots.available()

NAMES = ["mcculloch-pitts", "perceptron", "exercise", "xor", "hinge-vs-softmax", "softmax-gradient",
         "universal-approximation", "rosenbrock", "surface", "mnist-mlp", "activations", "initialization",
         "optimizers", "batch-size", "regularization", "cross-validation"]


def _run(name, tmp_path, *figures):
    res = run_demo(name, out=str(tmp_path), fast=True)
    if HAVE_MPL:
        for f in figures:
            assert os.path.getsize(tmp_path / name / f) > 1000, f
    return res


def test_all_registered():
    assert set(NAMES) <= set(list_demos())


def test_mcculloch_pitts(tmp_path):
    r = _run("mcculloch-pitts", tmp_path, "mcculloch_pitts.png")
    assert r["AND"]["outputs"] == [0, 0, 0, 1] and r["OR"]["outputs"] == [0, 1, 1, 1]
    assert r["NOT"]["outputs"] == [1, 0] and r["x1 AND NOT x2"]["outputs"] == [0, 0, 1, 0]
    assert r["AND"]["weights"] == [1.0, 1.0] and r["AND"]["offset"] == -2.0


def test_perceptron(tmp_path):
    r = _run("perceptron", tmp_path, "perceptron.png")
    assert r["separable"]["converged"] and r["separable"]["accuracy"] == 1.0
    assert not r["xor"]["converged"] and r["xor"]["epochs"] == 20 and r["xor"]["accuracy"] < 1.0


def test_exercise_numbers(tmp_path):
    r = _run("exercise", tmp_path, "exercise.png")
    assert r["z"] == pytest.approx(0.0) and r["a"] == pytest.approx(0.5)
    assert r["dC/dw"] == pytest.approx([0.0, 0.125]) and r["dC/db"] == pytest.approx(0.125)
    assert r["w"] == pytest.approx([0.1, -0.2125], abs=1e-12) and r["b"] == pytest.approx(0.1875, abs=1e-12)
    assert r["autograd_agrees"]
    assert r["solved_at"] is not None and r["costs"][-1] < 0.2 * r["costs"][0]  # Q2: it converges
    assert all((h > 0.5) == bool(t) for h, t in zip(r["outputs"], [0, 1, 1, 0]))


def test_xor(tmp_path):
    r = _run("xor", tmp_path, "xor_perceptron.png", "xor_mlp.png")
    assert r["perceptron_converged"] is False and r["perceptron_accuracy"] < 0.8
    assert r["mlp_accuracy"] == 1.0 and r["mlp_corners"] == [1, 0, 0, 1]


def test_hinge_vs_softmax(tmp_path):
    r = _run("hinge-vs-softmax", tmp_path, "hinge_vs_softmax.png")
    assert np.round(r["hinge"], 2).tolist() == [2.9, 0.0, 12.9]
    assert round(r["hinge_mean"], 2) == 5.27
    assert np.round(r["cat_probs"], 2).tolist() == [0.13, 0.87, 0.0]
    assert r["cross_entropy"][0] == pytest.approx(-math.log(r["cat_probs"][0]))
    assert round(r["cross_entropy"][0], 2) == 2.04


def test_softmax_gradient(tmp_path):
    r = _run("softmax-gradient", tmp_path, "softmax_gradient.png")
    assert r["max_error_logits"] < 1e-8 and r["max_error_backprop"] < 1e-12
    assert r["shapes"]["∇Wʰ L = ∇h̃ L · xᵀ"] == [6, 4] and r["shapes"]["∇Wᵒ L = ∇ỹ L · hᵀ"] == [5, 6]


def test_universal_approximation(tmp_path):
    err = _run("universal-approximation", tmp_path, "universal_approximation.png")["max_error"]
    ns = sorted(err)
    assert all(err[a] > err[b] for a, b in zip(ns[3:], ns[4:]))  # shrinking once the knots resolve the wiggles
    assert err[ns[-1]] < 0.05 < err[1]


def test_rosenbrock(tmp_path):
    r = _run("rosenbrock", tmp_path, "rosenbrock_surface.png")
    assert r["r2"] > 0.95


def test_surface_deeper_is_better(tmp_path):
    r = _run("surface", tmp_path, "surface_fits.png")
    assert r["1 layer of 125"]["weights"] == r["2 layers of 20"]["weights"] == 501
    assert r["3 layers of 14"]["weights"] == 477
    assert r["3 layers of 15"]["weights"] == 541 and r["3 layers of 19"]["weights"] == 837   # the deck's counts
    assert r["3 layers of 19"]["mse"] < r["3 layers of 14"]["mse"]
    assert r["3 layers of 14"]["mse"] < r["2 layers of 20"]["mse"] < r["1 layer of 125"]["mse"]


def test_mnist_mlp(tmp_path):
    r = _run("mnist-mlp", tmp_path, "mnist_mlp_confusion.png", "mnist_mlp_width.png")
    assert all(a > 0.75 for a in r["test_accuracy"].values())
    assert np.array(r["confusion_matrix"]).sum() == 1000


def test_activations(tmp_path):
    r = _run("activations", tmp_path, "activations_grad_norms.png")
    assert r["sigmoid"]["first_over_last_init"] < 1e-2 < r["relu"]["first_over_last_init"]  # vanishing gradients
    assert len(r["relu"]["grad_norms_init"]) == 10
    assert 0.0 <= r["relu"]["dead_relu_max"] <= 1.0 and r["sigmoid"]["dead_relu_max"] is None
    assert r["linear_collapse_error"] < 1e-5


def test_initialization(tmp_path):
    r = _run("initialization", tmp_path, "initialization.png")
    assert r["zeros"]["final_loss"] == pytest.approx(math.log(10), abs=0.01)
    # identical in exact arithmetic; BLAS may round different rows of one GEMM differently (~1e-7 in float32)
    assert r["constant"]["hidden_unit_spread"] < 1e-5 < 1e-3 * r["xavier"]["hidden_unit_spread"]
    assert r["large"]["initial_loss"] > 10 * r["he"]["initial_loss"]
    assert r["he"]["final_loss"] < 1.0 and r["xavier"]["final_loss"] < 1.0


def test_optimizers(tmp_path):
    r = _run("optimizers", tmp_path, "optimizers_rosenbrock.png", "optimizers_mnist.png")
    d = r["rosenbrock_distance"]
    assert d["L-BFGS"] < 1e-3 and d["Barzilai-Borwein"] < 1e-3
    assert d["momentum"] < d["GD"] and d["Adam"] < d["GD"]
    assert all(v < math.log(10) for v in r["mnist_final_loss"].values())


def test_batch_size(tmp_path):
    r = _run("batch-size", tmp_path, "batch_size.png")
    k = r["kinds"]
    assert k["stochastic (B = 1)"]["updates"] > k["mini-batch (B = 32)"]["updates"] > k["batch GD (B = N)"]["updates"]
    rule = r["rule"]
    scaled = [rule["B=16, lr=0.025"], rule["B=32, lr=0.05"], rule["B=64, lr=0.1"], rule["B=128, lr=0.2"]]
    assert max(scaled) - min(scaled) < 0.1 and rule["B=128, lr=0.05"] > max(scaled) + 0.1


def test_regularization(tmp_path):
    r = _run("regularization", tmp_path, "regularization_curves.png", "bias_variance.png")
    assert r["none"]["train_accuracy"] == 1.0 and r["none"]["val_accuracy"] < 0.95  # over-fitting
    assert r["none"]["val_loss"] > r["none"]["best_val_loss"]
    assert r["dropout 0.5"]["best_val_loss"] < r["none"]["best_val_loss"]
    assert r["early stopping"]["epochs"] < 25
    bv = r["bias_variance"]
    assert bv["over-fit"]["train_mse"] < bv["good fit"]["train_mse"] < bv["under-fit"]["train_mse"]
    assert bv["good fit"]["test_mse"] < min(bv["under-fit"]["test_mse"], bv["over-fit"]["test_mse"])


def test_cross_validation(tmp_path):
    r = _run("cross-validation", tmp_path, "cross_validation.png")
    assert len(r["fold_accuracy"]) == 5 and r["std"] > 0
    assert 0.6 < r["mean"] < 1.0


def test_runs_without_matplotlib(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plots, "available", lambda: False)
    r = run_demo("hinge-vs-softmax", out=str(tmp_path), fast=True)
    assert r["figure"] is None and not list((tmp_path / "hinge-vs-softmax").iterdir())
    assert "matplotlib not installed" in capsys.readouterr().out
