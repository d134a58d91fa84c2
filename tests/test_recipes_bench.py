"""benchmarks/recipes.py: its ensemble step (deepgrad evaluate of the best recipe's members) and its arguments."""
from __future__ import annotations

import importlib.util
import json
import os
import sys

import pytest

from deepgrad import cli

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.fixture(scope="module")
def recipes():
    spec = importlib.util.spec_from_file_location("recipes", os.path.join(ROOT, "benchmarks", "recipes.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_evaluate_scores_checkpoints_together(recipes, tmp_path, capsys):
    out = str(tmp_path / "logistic")
    assert cli.main(["train", "--model", "logistic", "--epochs", "1", "--quiet", "--out", out]) == 0
    res = json.load(open(os.path.join(out, "results.json")))
    capsys.readouterr()
    alone = recipes.evaluate([res["checkpoint"]])
    twice = recipes.evaluate([res["checkpoint"], res["checkpoint"]])
    assert twice["members"] == 2 and twice["wall"] > 0
    assert alone["accuracy"] == pytest.approx(res["test_accuracy"])
    assert twice["accuracy"] == pytest.approx(alone["accuracy"])  # a model's ensemble with itself is itself
    with pytest.raises(RuntimeError, match="deepgrad evaluate failed"):
        recipes.evaluate([str(tmp_path / "missing.safetensors")])


def test_unseen_needs_best(recipes, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["recipes.py", "--unseen", "somewhere"])
    with pytest.raises(SystemExit, match="--unseen needs --best"):
        recipes.main()
