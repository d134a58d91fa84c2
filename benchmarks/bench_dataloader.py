"""DataLoader throughput on the bundled MNIST sample: one process, a few epochs, nothing else.

    python benchmarks/bench_dataloader.py [--path fast|per-sample] [--workers N] [--epochs E]

``fast``: an ArrayDataset with ToTensor + Normalize + RandomShift, whole batches by one fancy-index;
``per-sample``: the same arrays behind a plain Dataset (indexed sample by sample, then collated). Meant to be timed
from outside with ``farm-bench`` (e.g. this checkout against an older one, or num_workers 0 against 2).
"""
from __future__ import annotations

import argparse
import time

import deepgrad as dg
from deepgrad.data import ArrayDataset, DataLoader, Dataset, MNISTSample
from deepgrad.data import transforms as T


class PerSample(Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), int(self.labels[i])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", choices=["fast", "per-sample"], default="fast")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    sample = MNISTSample("all")
    transform = T.Compose([T.ToTensor(), T.RandomShift(2), T.Normalize((0.1307,), (0.3081,))])
    if args.path == "fast":
        ds = ArrayDataset(sample.data, sample.targets, transform=transform)
    else:
        ds = PerSample(sample.data, sample.targets, transform)
    dg.manual_seed(0)
    kwargs = {"num_workers": args.workers} if args.workers else {}
    loader = DataLoader(ds, batch_size=args.batch_size, shuffle=True, **kwargs)
    start, batches = time.perf_counter(), 0
    for _ in range(args.epochs):
        for _x, _y in loader:
            batches += 1
    seconds = time.perf_counter() - start
    print(f"{args.path} workers={args.workers}: {batches} batches in {seconds:.3f} s, {batches / seconds:.0f} batches/s")


if __name__ == "__main__":
    main()
