"""One small MNIST classifier trained with each of Adadelta (with StepLR, as PyTorch's MNIST example), Adamax,
NAdam, RAdam and ASGD, written as a PyTorch program (torchvision MNIST, DataLoader, nll_loss).

    python benchmarks/ports/optimizers_mnist.py --backend torch
    python benchmarks/ports/optimizers_mnist.py --backend deepgrad
    python benchmarks/ports/optimizers_mnist.py --backend deepgrad --fast   # the test's setting
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _mnist_files  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "ports-mnist"))
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--train-samples", type=int, default=4000)
parser.add_argument("--fast", action="store_true", help="1 epoch on 768 digits")
args = parser.parse_args()
if args.fast:
    args.epochs, args.train_samples = 1, 768

if args.backend == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    import deepgrad.nn as nn
    import deepgrad.nn.functional as F
    import deepgrad.optim as optim
    from deepgrad.optim.lr_scheduler import StepLR
    from deepgrad.utils.data import DataLoader, Subset
    from deepgrad.vision import datasets, transforms

device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
root = _mnist_files.prepare(args.root)
tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
train = Subset(datasets.MNIST(root, train=True, download=False, transform=tf), range(args.train_samples))
test = Subset(datasets.MNIST(root, train=False, download=False, transform=tf), range(1000))

OPTIMIZERS = {
    "Adadelta": lambda p: optim.Adadelta(p, lr=1.0),
    "Adamax": lambda p: optim.Adamax(p, lr=2e-3),
    "NAdam": lambda p: optim.NAdam(p, lr=2e-3),
    "RAdam": lambda p: optim.RAdam(p, lr=2e-3),
    "ASGD": lambda p: optim.ASGD(p, lr=0.05),
}
for name, make in OPTIMIZERS.items():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.LogSoftmax(dim=1))
    model = model.to(device)
    optimizer = make(model.parameters())
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    loader = DataLoader(train, batch_size=64, shuffle=True)
    losses = []
    for _ in range(args.epochs):
        model.train()
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = F.nll_loss(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in DataLoader(test, batch_size=500):
            correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
    print(f"{name}: first loss {losses[0]:.3f}, last loss {sum(losses[-5:]) / 5:.3f}, test accuracy "
          f"{correct / len(test):.3f}")
