"""Convolution-family benchmarks, ours beside PyTorch's in one run: CNN training steps and their peak memory.

(a) conv2d forward + backward (input, weight and bias gradients): input (64, 64, 32, 32), 3×3 kernel, 64 -> 64
    channels, padding 1, float32;
(b) LeNet-5 training step from nn layers (conv 1->6 5×5 pad 2, ReLU, max-pool 2, conv 6->16 5×5, ReLU, max-pool 2,
    400-120-84-10), batch 128 on 28×28, cross-entropy, SGD momentum 0.9;
(c) the batch-norm CNN: four conv3×3-BN-ReLU blocks (32, 32, 64, 64 channels), a 2×2 max-pool after the second and
    the fourth, a linear layer 64·7·7 -> 10; batch 64 on 28×28, SGD momentum 0.9;
(d) ResNet-20 for CIFAR (option-A shortcuts, He et al. 2016), batch 64 on 3×32×32, SGD momentum 0.9;
(e) the peak memory of (d): the largest resident set during three steps, above the resident set once the model and
    the batch are built (MiB; Linux: /proc/self/clear_refs resets the high-water mark).

Both sides start from the same weights. Each library is timed in its own process, the two alternating (--repeat
pairs, default 5); a figure is the minimum over --rounds rounds, and every pair's ratio is printed with their median.
``--reference`` runs our side on the reference kernels (``deepgrad.backends.cpu.fast_kernels = False``).
``--profile`` prints cProfile's view of our ResNet-20 step instead of timing.

Run: python benchmarks/bench_conv.py [--rounds 5] [--repeat 5] [--reference] [--only lenet,bn,resnet,mem,conv]
"""
from __future__ import annotations

import gc
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))
import _bench  # noqa: E402, I001 - deepgrad is imported before NumPy, so that OpenBLAS's idle workers spin briefly

import deepgrad as dg  # noqa: E402  (see deepgrad.backends.cpu)
import numpy as np  # noqa: E402

try:
    import torch
except ImportError:
    torch = None


def conv_step(lib):
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal((64, 64, 32, 32)).astype(np.float32)).requires_grad_()
    w = lib.from_numpy((rng.standard_normal((64, 64, 3, 3)) * 0.05).astype(np.float32)).requires_grad_()
    b = lib.from_numpy(np.zeros(64, np.float32)).requires_grad_()

    def step():
        x.grad = w.grad = b.grad = None
        lib.nn.functional.conv2d(x, w, b, padding=1).sum().backward()

    return step


def lenet(lib):
    n = lib.nn
    return n.Sequential(n.Conv2d(1, 6, 5, padding=2), n.ReLU(), n.MaxPool2d(2), n.Conv2d(6, 16, 5), n.ReLU(),
                        n.MaxPool2d(2), n.Flatten(), n.Linear(400, 120), n.ReLU(), n.Linear(120, 84), n.ReLU(),
                        n.Linear(84, 10))


def bn_cnn(lib):
    n = lib.nn

    def block(cin, cout):
        return [n.Conv2d(cin, cout, 3, padding=1, bias=False), n.BatchNorm2d(cout), n.ReLU()]

    return n.Sequential(*block(1, 32), *block(32, 32), n.MaxPool2d(2), *block(32, 64), *block(64, 64),
                        n.MaxPool2d(2), n.Flatten(), n.Linear(64 * 7 * 7, 10))


def torch_resnet20():
    """ResNet-20 with option-A shortcuts in PyTorch, layer for layer deepgrad.models.cifar_resnet20."""
    n, F = torch.nn, torch.nn.functional

    class Block(n.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = n.Conv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
            self.bn1 = n.BatchNorm2d(planes)
            self.conv2 = n.Conv2d(planes, planes, 3, padding=1, bias=False)
            self.bn2 = n.BatchNorm2d(planes)
            self.stride, self.extra = stride, planes - cin

        def forward(self, x):
            out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            if self.stride != 1 or self.extra:
                x = x[:, :, ::self.stride, ::self.stride]
                x = F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
            return F.relu(out + x)

    class ResNet(n.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = n.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn1 = n.BatchNorm2d(16)
            layers, cin = [], 16
            for planes, stride in ((16, 1), (32, 2), (64, 2)):
                layers.append(n.Sequential(Block(cin, planes, stride), Block(planes, planes, 1),
                                           Block(planes, planes, 1)))
                cin = planes
            self.layer1, self.layer2, self.layer3 = layers
            self.fc = n.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(x.mean((2, 3)))

    return ResNet()


def build(name: str, side: str):
    lib = dg if side == "deepgrad" else torch
    if name == "lenet":
        return lib, lenet(lib), (128, 1, 28, 28)
    if name == "bn":
        return lib, bn_cnn(lib), (64, 1, 28, 28)
    return lib, (dg.models.cifar_resnet20() if side == "deepgrad" else torch_resnet20()), (64, 3, 32, 32)


def same_weights(name: str, model) -> None:
    """Copy deepgrad's initial parameters (built with seed 0) into the PyTorch model, in order."""
    dg.manual_seed(0)
    ours = build(name, "deepgrad")[1]
    with torch.no_grad():
        for p, q in zip(ours.parameters(), model.parameters()):
            q.copy_(torch.from_numpy(p.detach().numpy().copy()))


def train_step(name: str, side: str):
    dg.manual_seed(0)
    lib, model, shape = build(name, side)
    if side == "pytorch":
        same_weights(name, model)
    rng = np.random.default_rng(0)
    x = lib.from_numpy(rng.standard_normal(shape).astype(np.float32))
    t = lib.from_numpy(rng.integers(0, 10, shape[0]))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.functional.cross_entropy

    def step():
        loss = loss_fn(model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def peak_mib(make_step):
    """The high-water mark of the resident set during three steps, above the resident set before them (MiB)."""
    def measure():
        step = make_step()
        gc.collect()
        base = _status_kib("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current resident set
        for _ in range(3):
            step()
        return (_status_kib("VmHWM") - base) / 1024

    return measure


def build_rows(args, side):
    only = set(args.only.split(","))
    if side == "pytorch" and torch is None:
        return [("no torch", None, 1)]
    if side == "deepgrad" and args.reference:
        dg.backends.cpu.fast_kernels = False
    if side == "pytorch":
        torch.manual_seed(0)
    if side == "deepgrad" and args.profile:
        import cProfile
        import pstats

        step = train_step("resnet", side)
        step()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(5):
            step()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    rows = []
    if "mem" in only:  # first, in a process that has run nothing else yet
        rows.append(("ResNet-20 step peak memory above model + batch (MiB)", peak_mib(lambda: train_step("resnet", side)),
                     0))
    if "conv" in only:
        rows.append(("conv2d 64x64x32x32, 3x3, 64->64, fwd+bwd (ms)", conv_step(dg if side == "deepgrad" else torch), 3))
    if "lenet" in only:
        rows.append(("LeNet-5 step, batch 128, SGD momentum (ms)", train_step("lenet", side), 5))
    if "bn" in only:
        rows.append(("BN CNN 32/32/64/64 step, batch 64 (ms)", train_step("bn", side), 3))
    if "resnet" in only:
        rows.append(("ResNet-20 CIFAR step, batch 64 (ms)", train_step("resnet", side), 2))
    return rows


if __name__ == "__main__":
    _bench.main(__file__, __doc__.splitlines()[0], build_rows,
                {"--reference": {"action": "store_true", "help": "run our side on the reference kernels"},
                 "--profile": {"action": "store_true", "help": "cProfile our ResNet-20 step (5 steps)"},
                 "--only": {"default": "mem,conv,lenet,bn,resnet", "help": "comma-separated rows to run"}})
