"""The ``deepgrad train`` recipes end to end: held-out test accuracy and wall time of each, and the data loader's
throughput beside the training step time (so data loading is seen not to be the bottleneck).

Runs, each as ``python -m deepgrad train ... --quiet`` in a subprocess on the bundled mnist-sample (5,000 train /
1,000 val / 1,000 test digits):
  * ``deepgrad train`` (the default model, mnist-cnn; target ≥ 97% in ≤ 3 minutes),
  * ``deepgrad train --model mlp`` (target ≥ 95.5%), ``deepgrad train --model logistic`` (target ≥ 89%),
  * with ``--best``: ``deepgrad train --model mnist-cnn-best`` (train + val, 20 epochs, random affine maps and
    shifts, test-time shifts; target ≥ 98.8% in ≤ 5 minutes). Its recipe was chosen by cross-validation on train +
    val only (``benchmarks/recipe_cv.py``), so the test split is unseen by the choice.

Run: python benchmarks/recipes.py [--best] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path.insert(0, SRC)
from deepgrad import cli, data  # noqa: E402, I001 - before NumPy (see deepgrad.parallel)
import numpy as np  # noqa: E402
from deepgrad.models import model_info  # noqa: E402

TARGETS = {"mnist-cnn": 0.97, "mlp": 0.955, "logistic": 0.89, "mnist-cnn-best": 0.988}


def loader_batches_per_second(model: str) -> float:
    """Batches/s of one epoch of the training loader ``deepgrad train`` builds for ``model`` (same batch size,
    shuffling and augmentation), without any training."""
    recipe = model_info(model)["recipe"]
    X, y, _ = cli.load_arrays("mnist-sample", "train")
    if recipe.get("train_on_val"):
        Xv, yv, _ = cli.load_arrays("mnist-sample", "val")
        X, y = np.concatenate([X, Xv]), np.concatenate([y, yv])
    mean, std = X.mean(), X.std()
    augment = cli.build_augment(recipe, background=-mean / std)
    loader = data.DataLoader(data.ArrayDataset((X - mean) / std, y, transform=augment),
                             batch_size=recipe.get("batch_size", 64), shuffle=True, generator=0)
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        n = sum(1 for _ in loader)
        best = max(best, n / (time.perf_counter() - t0))
    return best


def run(model: str | None, out: str) -> dict:
    """Train with ``deepgrad train [--model MODEL]``; accuracy, wall time and mean training step time."""
    argv = [sys.executable, "-m", "deepgrad", "train", "--quiet", "--out", out] + (["--model", model] if model else [])
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[2:])} failed:\n{proc.stderr}")
    res = json.load(open(os.path.join(out, "results.json")))
    hist = json.load(open(os.path.join(out, "history.json")))["history"]
    n_train = 6000 if model_info(res["model"])["recipe"].get("train_on_val") else 5000
    steps = -(-n_train // res["batch_size"])
    return {"model": res["model"], "accuracy": res["test_accuracy"], "wall": wall, "epochs": res["epochs_run"],
            "step_ms": 1e3 * min(hist["time"]) / steps, "steps": steps}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--best", action="store_true", help="also run the best-accuracy recipe (mnist-cnn-best, slow)")
    ap.add_argument("--out", help="where the runs go (default: a temporary directory)")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="deepgrad-recipes-")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"load average {load:.2f}; runs in {out}")
    models = [None, "mlp", "logistic"] + (["mnist-cnn-best"] if args.best else [])
    print(f"{'command':40s} {'test acc':>8s} {'target':>7s} {'wall s':>7s} {'epochs':>6s} {'step ms':>8s} "
          f"{'loader b/s':>10s} {'load ms/b':>9s}")
    for m in models:
        r = run(m, os.path.join(out, m or "default"))
        bps = loader_batches_per_second(r["model"])
        cmd = "deepgrad train" + (f" --model {m}" if m else f"  ({r['model']})")
        print(f"{cmd:40s} {100 * r['accuracy']:7.2f}% {100 * TARGETS[r['model']]:6.1f}% {r['wall']:7.1f} "
              f"{r['epochs']:6d} {r['step_ms']:8.2f} {bps:10.0f} {1e3 / bps:9.2f}", flush=True)
    print("step ms: the fastest epoch's time / batches (training step incl. loading); load ms/b: loading alone")


if __name__ == "__main__":
    main()
