"""Training steps on a GPU, deepgrad (CuPy) beside PyTorch eager fp32 with TF32 off, each in its own process.

Every workload is written once, in PyTorch idiom, against a module ``T`` that is either ``torch`` or ``deepgrad``
(the porting rule: only the import differs). The parent alternates the two libraries (A B A B ...) for ``--pairs``
pairs per workload and prints every pair's ratio and the median; ``--json`` keeps the figures.

    python benchmarks/gpu/bench_gpu.py                    # every workload on cuda
    python benchmarks/gpu/bench_gpu.py --device strict    # deepgrad alone on the strict test device (a dry run)
    python benchmarks/gpu/bench_gpu.py --profile resnet18 # cProfile of deepgrad's step, top functions
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MARK = "GPU-BENCH "
WORKLOADS = ("mlp", "lenet", "char_lstm", "resnet18", "gpt")


def _lib(name: str):
    if name == "torch":
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return torch
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src"))
    import deepgrad

    return deepgrad


def _sync(T, device: str) -> None:
    if device != "cpu":
        T.cuda.synchronize()


def build(T, workload: str, device: str):
    """(model, optimizer, step) for ``workload``; ``step()`` runs one forward, backward and update."""
    nn, F = T.nn, T.nn.functional
    if workload == "mlp":
        model = nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10))
        x, y = T.randn(512, 784, device=device), T.randint(0, 10, (512,), device=device)
        opt = T.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    elif workload == "lenet":
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(),
                              nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
        x, y = T.randn(128, 1, 28, 28, device=device), T.randint(0, 10, (128,), device=device)
        opt = T.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    elif workload == "char_lstm":
        class CharLSTM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb, self.lstm, self.head = nn.Embedding(65, 64), nn.LSTM(64, 256, batch_first=True), nn.Linear(256, 65)

            def forward(self, idx):
                h, _ = self.lstm(self.emb(idx))
                return self.head(h)

        model = CharLSTM()
        x, y = T.randint(0, 65, (32, 64), device=device), T.randint(0, 65, (32, 64), device=device)
        opt = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    elif workload == "resnet18":
        if T.__name__ == "torch":
            import torchvision

            model = torchvision.models.resnet18(num_classes=10)
        else:
            model = T.models.resnet18(num_classes=10)
        x, y = T.randn(256, 3, 32, 32, device=device), T.randint(0, 10, (256,), device=device)
        opt = T.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    elif workload == "gpt":
        class GPT(nn.Module):
            def __init__(self, vocab=65, width=128, heads=4, layers=4, context=64):
                super().__init__()
                self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(context, width)
                layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True,
                                                   norm_first=True)
                self.blocks = nn.TransformerEncoder(layer, layers)
                self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)
                self.context = context

            def forward(self, idx):
                t = idx.shape[1]
                h = self.tok(idx) + self.pos(T.arange(t, device=idx.device))
                mask = nn.Transformer.generate_square_subsequent_mask(t, device=idx.device)
                return self.head(self.norm(self.blocks(h, mask=mask, is_causal=True)))

        model = GPT()
        x, y = T.randint(0, 65, (32, 64), device=device), T.randint(0, 65, (32, 64), device=device)
        opt = T.optim.AdamW(model.parameters(), lr=3e-4)
    else:
        raise SystemExit(f"bench_gpu: unknown workload {workload!r}; choose from {', '.join(WORKLOADS)}")
    model = model.to(device)
    if workload in ("mlp", "lenet", "resnet18"):
        x = x.to(device)

    def step():
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()

    return model, opt, step


def worker(lib: str, workload: str, device: str, steps: int) -> dict:
    T = _lib(lib)
    dev = device
    if device == "strict":
        from deepgrad.testing import strict_device

        ctx = strict_device()
        ctx.__enter__()
        dev = "cuda"
    T.manual_seed(0)
    _, _, step = build(T, workload, dev)
    for _ in range(3):
        step()
    _sync(T, dev)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        _sync(T, dev)
        times.append((time.perf_counter() - t0) * 1e3)
    r = {"lib": lib, "workload": workload, "ms": statistics.median(times), "min_ms": min(times)}
    if lib == "torch" and dev != "cpu":
        r["peak_mib"] = T.cuda.max_memory_allocated() / 2**20
    elif lib == "deepgrad" and dev == "cuda" and device != "strict":
        r["pool_mib"] = T.backend.cupy.get_default_memory_pool().total_bytes() / 2**20
    return r


def _run_child(lib: str, workload: str, device: str, steps: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", lib, "--workload", workload, "--device", device,
           "--steps", str(steps)]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"lib": lib, "workload": workload, "error": f"timed out after {timeout:.0f} s"}
    for line in p.stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])
    tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
    return {"lib": lib, "workload": workload, "error": " | ".join(tail)}


def profile(workload: str, device: str, steps: int) -> None:
    import cProfile
    import pstats

    T = _lib("deepgrad")
    _, _, step = build(T, workload, "cuda" if device == "strict" else device)
    step()
    _sync(T, device)
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(steps):
        step()
    _sync(T, device)
    pr.disable()
    pstats.Stats(pr).sort_stats("cumulative").print_stats(35)
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="cuda, or strict (deepgrad only, a dry run without a GPU)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=120, help="seconds per child process")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--profile", help="profile deepgrad's step of this workload instead")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(MARK + json.dumps(worker(args.worker, args.workload, args.device, args.steps)), flush=True)
        return
    if args.profile:
        profile(args.profile, args.device, args.steps)
        return
    libs = ("deepgrad",) if args.device == "strict" else ("deepgrad", "torch")
    results = {}
    for w in args.workloads.split(","):
        pairs = []
        for i in range(args.pairs):
            order = libs if i % 2 == 0 else libs[::-1]
            got = {lib: _run_child(lib, w, args.device, args.steps, args.timeout) for lib in order}
            pairs.append(got)
            if any("error" in g for g in got.values()):
                break
        results[w] = pairs
        errors = [g["error"] for p in pairs for g in p.values() if "error" in g]
        if errors:
            print(f"{w:10s} error: {errors[0]}", flush=True)
            continue
        dg_ms = [p["deepgrad"]["ms"] for p in pairs]
        if len(libs) == 1:
            print(f"{w:10s} deepgrad {statistics.median(dg_ms):8.2f} ms/step (strict device, dry run)", flush=True)
            continue
        ratios = [p["deepgrad"]["ms"] / p["torch"]["ms"] for p in pairs]
        th_ms = [p["torch"]["ms"] for p in pairs]
        print(f"{w:10s} deepgrad {statistics.median(dg_ms):8.2f} ms  torch {statistics.median(th_ms):8.2f} ms  "
              f"ratio median {statistics.median(ratios):.2f}  pairs {' '.join(f'{r:.2f}' for r in ratios)}",
              flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
