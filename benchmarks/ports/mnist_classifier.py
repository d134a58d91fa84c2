"""An MNIST classifier written as a PyTorch program: torchvision datasets and transforms, a DataLoader with two
worker processes, a small CNN, Adam with a StepLR schedule, and save_image of the first test batch.

The two import blocks below are the whole difference between the PyTorch and the deepgrad version.

    python benchmarks/ports/mnist_classifier.py --backend torch
    python benchmarks/ports/mnist_classifier.py --backend deepgrad
    python benchmarks/ports/mnist_classifier.py --backend deepgrad --fast   # the test's setting
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _mnist_files  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "ports-mnist"))
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--batch-size", type=int, default=64)
parser.add_argument("--train-samples", type=int, default=6000)
parser.add_argument("--num-workers", type=int, default=2)
parser.add_argument("--out", default=None, help="where save_image writes the first test batch")
parser.add_argument("--fast", action="store_true", help="1 epoch on 1,024 digits")
args = parser.parse_args()

if args.backend == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms
    from torchvision.utils import save_image
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    import deepgrad.nn as nn
    import deepgrad.nn.functional as F
    import deepgrad.optim as optim
    from deepgrad.optim.lr_scheduler import StepLR
    from deepgrad.utils.data import DataLoader, Subset
    from deepgrad.vision import datasets, transforms
    from deepgrad.vision.utils import save_image


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 5 * 5, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.dropout(torch.flatten(x, 1))
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def train(model, loader, optimizer, epoch):
    model.train()
    losses = []
    for batch_idx, (data, target) in enumerate(loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % 20 == 0:
            print(f"epoch {epoch} [{batch_idx * len(data)}/{len(loader.dataset)}] loss {loss.item():.4f}")
    return losses


def test(model, loader):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            output = model(data)
            loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    n = len(loader.dataset)
    print(f"test: average loss {loss / n:.4f}, accuracy {correct}/{n} ({100.0 * correct / n:.1f}%)")
    return correct / n


def main():
    if args.fast:
        args.epochs, args.train_samples = 1, 1024
    torch.manual_seed(1)
    _mnist_files.prepare(args.root)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train_set = datasets.MNIST(args.root, train=True, download=False, transform=transform)
    test_set = datasets.MNIST(args.root, train=False, transform=transform)
    train_set = Subset(train_set, range(min(args.train_samples, len(train_set))))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.num_workers)
    test_loader = DataLoader(test_set, batch_size=1000, num_workers=args.num_workers)

    model = Net()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    start = time.perf_counter()
    losses = []
    for epoch in range(1, args.epochs + 1):
        losses += train(model, train_loader, optimizer, epoch)
        accuracy = test(model, test_loader)
        scheduler.step()
    images, _ = next(iter(test_loader))
    out = args.out or os.path.join(args.root, f"first-test-batch-{args.backend}.png")
    save_image(images[:64] * 0.3081 + 0.1307, out, nrow=8)
    print(f"first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}, accuracy {accuracy:.4f}, "
          f"{time.perf_counter() - start:.1f} s, image {out}")


if __name__ == "__main__":
    main()
