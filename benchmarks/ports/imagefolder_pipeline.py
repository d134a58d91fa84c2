"""An ImageFolder pipeline written as a PyTorch program: a folder of PNG files per class (drawn here with Pillow:
reddish discs versus bluish squares on noise), torchvision augmentation (RandomResizedCrop, flips, ColorJitter,
RandomRotation), a DataLoader with worker processes, a small CNN, and a grid of augmented samples.

The two import blocks below are the whole difference between the PyTorch and the deepgrad version.

    python benchmarks/ports/imagefolder_pipeline.py --backend torch
    python benchmarks/ports/imagefolder_pipeline.py --backend deepgrad --fast   # the test's setting
"""
import argparse
import os
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "ports-shapes"))
parser.add_argument("--per-class", type=int, default=120)
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--num-workers", type=int, default=2)
parser.add_argument("--fast", action="store_true", help="3 epochs on 48 images per class")
args = parser.parse_args()

if args.backend == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, random_split
    from torchvision import datasets, transforms
    from torchvision.utils import make_grid, save_image
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    import deepgrad.nn as nn
    import deepgrad.nn.functional as F
    from deepgrad.utils.data import DataLoader, random_split
    from deepgrad.vision import datasets, transforms
    from deepgrad.vision.utils import make_grid, save_image


def draw_folder(root, per_class, seed=0):
    """root/disc/*.png and root/square/*.png, 40x40 RGB."""
    rng = np.random.default_rng(seed)
    for cls in ("disc", "square"):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for k in range(per_class):
            path = os.path.join(root, cls, f"{k:04d}.png")
            if os.path.exists(path):
                continue
            img = Image.fromarray(rng.integers(0, 90, (40, 40, 3)).astype(np.uint8))
            r, (cx, cy) = rng.integers(7, 12), rng.integers(12, 28, size=2)
            warm, cool = int(rng.integers(170, 256)), int(rng.integers(40, 120))
            colour = (warm, cool, cool) if cls == "disc" else (cool, cool, warm)
            box = [cx - r, cy - r, cx + r, cy + r]
            (ImageDraw.Draw(img).ellipse if cls == "disc" else ImageDraw.Draw(img).rectangle)(box, fill=colour)
            img.save(path)


class SmallNet(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Linear(32, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def main():
    if args.fast:
        args.per_class, args.epochs = 48, 3
    root = os.path.join(args.root, str(args.per_class))
    draw_folder(root, args.per_class)
    torch.manual_seed(0)
    normalize = transforms.Normalize((0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    augment = transforms.Compose([
        transforms.RandomResizedCrop(32, scale=(0.7, 1.0)), transforms.RandomHorizontalFlip(),
        transforms.RandomVerticalFlip(), transforms.RandomRotation(15),
        transforms.ColorJitter(brightness=0.2, contrast=0.2), transforms.ToTensor(), normalize])
    plain = transforms.Compose([transforms.Resize(32), transforms.CenterCrop(32), transforms.ToTensor(), normalize])
    full = datasets.ImageFolder(root, transform=augment)
    print(f"{len(full)} images, classes {full.classes} -> {full.class_to_idx}")
    generator = torch.Generator().manual_seed(0)
    train_set, val_set = random_split(full, [0.75, 0.25], generator=generator)
    val_set.dataset = datasets.ImageFolder(root, transform=plain)
    train_loader = DataLoader(train_set, batch_size=16, shuffle=True, num_workers=args.num_workers,
                              persistent_workers=args.num_workers > 0)
    val_loader = DataLoader(val_set, batch_size=32, num_workers=args.num_workers)

    images, labels = next(iter(train_loader))
    grid = make_grid(images * 0.25 + 0.5, nrow=8, padding=2)
    out = os.path.join(args.root, f"augmented-{args.backend}.png")
    save_image(grid, out)
    print(f"batch {tuple(images.shape)}, labels {labels[:8].tolist()}, grid {tuple(grid.shape)} -> {out}")

    model = SmallNet(len(full.classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    start = time.perf_counter()
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        print(f"epoch {epoch}: train loss {total / len(train_set):.4f}, val accuracy {correct / len(val_set):.3f}")
    print(f"final val accuracy {correct / len(val_set):.3f}, {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
