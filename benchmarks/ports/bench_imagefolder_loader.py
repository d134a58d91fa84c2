"""ImageFolder loading speed, torchvision's pipeline under PyTorch and under deepgrad (imports renamed only).

    python benchmarks/ports/bench_imagefolder_loader.py --backend torch|deepgrad [--workers N] [--epochs E]

400 PNG files of 64x64 RGB (written once under the temp directory), Resize(48) + RandomCrop(40) +
RandomHorizontalFlip + ToTensor + Normalize, batch 32, shuffled. Prints the seconds of the epochs alone (start-up
and the first batch excluded): run under farm-bench with its output kept to compare the two in alternation.
"""
import argparse
import os
import tempfile
import time

import numpy as np
from PIL import Image

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--workers", type=int, default=0)
parser.add_argument("--epochs", type=int, default=2)
args = parser.parse_args()

if args.backend == "torch":
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    from deepgrad.utils.data import DataLoader
    from deepgrad.vision import datasets, transforms


def folder() -> str:
    root = os.path.join(tempfile.gettempdir(), "bench-imagefolder")
    rng = np.random.default_rng(0)
    for cls in ("a", "b", "c", "d"):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for k in range(100):
            path = os.path.join(root, cls, f"{k:03d}.png")
            if not os.path.exists(path):
                Image.fromarray(rng.integers(0, 256, (64, 64, 3)).astype(np.uint8)).save(path)
    return root


def main() -> None:
    torch.manual_seed(0)
    tf = transforms.Compose([transforms.Resize(48), transforms.RandomCrop(40), transforms.RandomHorizontalFlip(),
                             transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))])
    ds = datasets.ImageFolder(folder(), transform=tf)
    loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=args.workers,
                        persistent_workers=args.workers > 0)
    next(iter(loader))  # workers started, files cached
    start, n = time.perf_counter(), 0
    for _ in range(args.epochs):
        for x, _y in loader:
            n += len(x)
    seconds = time.perf_counter() - start
    print(f"RESULT {args.backend} workers={args.workers} {n} images {seconds:.3f} s {n / seconds:.0f} images/s")


if __name__ == "__main__":
    main()
