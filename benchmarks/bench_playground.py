"""Speed of the playground's training side on one core: training steps and frames per second.

The issue's target: a network of 2 hidden layers x 8 neurons on 500 points trains at least 30 steps and draws at
least 10 frames (the 50 x 50 output heatmap and every neuron's, plus weights, losses and health, as the JSON sent
to the page) per second on one core. Measured three ways, each in a fresh process pinned to one core with one
BLAS thread:

- steps: ``Session.step()`` alone (one mini-batch of 10, forward, backward, optimiser update);
- frames: ``Session.frame()`` + ``json.dumps`` alone;
- live: the server's loop (train for ``FRAME_SECONDS``, then one frame), steps and frames per second together.

For context, the same training step in PyTorch (same layer sizes, batch, loss and optimiser), each side in its
own process, alternating deepgrad / PyTorch, ``--pairs`` times; every pair and the median are printed.

    python benchmarks/bench_playground.py [--pairs 5] [--seconds 2] [--optimizer sgd]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

MARK = "BENCH-RESULT "
SETTINGS = {"dataset": "circle", "points": 1000, "train_ratio": 50, "hidden": [8, 8], "activation": "tanh",
            "batch_size": 10, "features": ["x1", "x2"]}  # 500 training points (and 500 test points)


def _one_core() -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _rate(fn, seconds: float) -> float:
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - t0)


def run_deepgrad(args) -> dict:
    from deepgrad.playground.server import FRAME_SECONDS
    from deepgrad.playground.session import Session
    from deepgrad.playground.settings import validate

    session = Session(validate({**SETTINGS, "optimizer": args.optimizer}))
    steps = _rate(session.step, args.seconds)
    frames = _rate(lambda: json.dumps(session.frame()), args.seconds)
    s0, f0, t0 = session.steps, 0, time.perf_counter()
    while time.perf_counter() - t0 < args.seconds:  # the server's loop, as Connection.run does it
        end = time.perf_counter() + FRAME_SECONDS
        while time.perf_counter() < end:
            session.step()
        json.dumps(session.frame())
        f0 += 1
    dt = time.perf_counter() - t0
    return {"steps": steps, "frames": frames, "live_steps": (session.steps - s0) / dt, "live_frames": f0 / dt}


def run_pytorch(args) -> dict:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from deepgrad.playground.datasets import generate

    x, y = generate("circle", 1000, 0, 0)
    x, y = torch.tensor(x[:500]), torch.tensor(y[:500], dtype=torch.float32)[:, None]
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 1))
    opt = {"sgd": lambda p: torch.optim.SGD(p, lr=0.03), "adam": lambda p: torch.optim.Adam(p, lr=0.03)}[args.optimizer](
        model.parameters())
    rng, pos = np.random.default_rng(1), [0]
    order = [rng.permutation(500)]

    def step():
        idx = torch.from_numpy(order[0][pos[0]:pos[0] + 10])
        pos[0] += 10
        if pos[0] >= 500:
            order[0], pos[0] = rng.permutation(500), 0
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return {"steps": _rate(step, args.seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5, help="alternating deepgrad / PyTorch runs (default 5)")
    ap.add_argument("--seconds", type=float, default=2.0, help="seconds per measurement (default 2)")
    ap.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    ap.add_argument("--side", choices=["deepgrad", "pytorch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        _one_core()
        result = run_deepgrad(args) if args.side == "deepgrad" else run_pytorch(args)
        print(MARK + json.dumps(result))
        return
    try:
        import torch  # noqa: F401

        sides = ["deepgrad", "pytorch"]
    except ImportError:
        sides = ["deepgrad"]
    runs: dict = {s: [] for s in sides}
    for _ in range(args.pairs):
        for side in sides:
            cmd = [sys.executable, __file__, "--side", side, "--seconds", str(args.seconds), "--optimizer", args.optimizer]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            runs[side].append(json.loads(next(line for line in out.splitlines() if line.startswith(MARK))[len(MARK):]))
    import numpy as np

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (each run pinned to one), "
          f"numpy {np.__version__}, load average {load:.2f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"network 2 x 8 tanh, 500 training points, batch 10, {args.optimizer}; {args.seconds:g} s per figure")
    print(f"{'run':>4} {'steps/s':>9} {'frames/s':>9} {'live steps/s':>13} {'live frames/s':>14}"
          + (f" {'torch steps/s':>14} {'deepgrad/torch':>15}" if "pytorch" in runs else ""))
    for i, r in enumerate(runs["deepgrad"]):
        line = f"{i + 1:>4} {r['steps']:9.0f} {r['frames']:9.1f} {r['live_steps']:13.0f} {r['live_frames']:14.1f}"
        if "pytorch" in runs:
            t = runs["pytorch"][i]["steps"]
            line += f" {t:14.0f} {r['steps'] / t:15.2f}"
        print(line)
    med = {k: statistics.median(r[k] for r in runs["deepgrad"]) for k in runs["deepgrad"][0]}
    line = f"{'med':>4} {med['steps']:9.0f} {med['frames']:9.1f} {med['live_steps']:13.0f} {med['live_frames']:14.1f}"
    if "pytorch" in runs:
        line += (f" {statistics.median(r['steps'] for r in runs['pytorch']):14.0f}"
                 f" {statistics.median(a['steps'] / b['steps'] for a, b in zip(runs['deepgrad'], runs['pytorch'])):15.2f}")
    print(line)
    print(f"target: >= 30 steps/s and >= 10 frames/s together (live); met: "
          f"{med['live_steps'] >= 30 and med['live_frames'] >= 10}")


if __name__ == "__main__":
    main()
