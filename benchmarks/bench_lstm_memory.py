"""Peak memory of an LSTM forward + backward over long sequences, ours beside PyTorch's: one process per (library,
sequence length), the libraries alternating.

An LSTM of batch 32, input 64, hidden 256 (time-major) runs one forward and one backward of ``output.sum()`` over
L steps. Each child process imports its library, builds the layer and the input, runs the same step once on a
length-8 sequence (so both libraries' lazy initialisation — thread pools, BLAS buffers — is done), reads the peak
resident set (``ru_maxrss``, Linux: KiB), runs the L-step forward + backward, and reads the peak again: the figure is
the growth of the peak resident set during the long step, in MiB — measured the same way for both libraries, and
counting every allocator (PyTorch's tensors are invisible to ``tracemalloc``). Peak RSS counts pages touched, so
memory a library allocates and never touches would not show; both libraries write what they allocate here.

Issue 13's target: growth linear in L and at most 1.5x PyTorch's. The script prints every run, the ratio per
length, and the least-squares MiB per 1,000 steps with the largest relative deviation from that line.

Run: python benchmarks/bench_lstm_memory.py [--lengths 250 500 1000 2000] [--repeat 1]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

BATCH, INPUT, HIDDEN = 32, 64, 256
MARK = "MEMORY-RESULT "


def child(lib_name: str, steps: int) -> None:
    if lib_name == "deepgrad":
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
        import deepgrad as lib
    else:
        import torch as lib
    import numpy as np

    lib.manual_seed(0)
    lstm = lib.nn.LSTM(INPUT, HIDDEN)
    rng = np.random.default_rng(0)

    def step(length):
        x = lib.from_numpy(rng.standard_normal((length, BATCH, INPUT)).astype(np.float32)).requires_grad_()
        out, _ = lstm(x)
        out.sum().backward()

    step(8)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step(steps)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(MARK + json.dumps({"mib": (after - before) / 1024}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+", default=[250, 500, 1000, 2000])
    ap.add_argument("--repeat", type=int, default=1, help="runs of each (library, length)")
    ap.add_argument("--child", nargs=2, metavar=("LIB", "STEPS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    import platform

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; LSTM batch {BATCH}, input {INPUT}, hidden "
          f"{HIDDEN}; growth of the peak RSS during one forward + backward, one process per run", flush=True)
    results: dict = {"deepgrad": {}, "pytorch": {}}
    for length in args.lengths:
        for _ in range(args.repeat):
            for side, lib in (("deepgrad", "deepgrad"), ("pytorch", "torch")):
                p = subprocess.run([sys.executable, __file__, "--child", lib, str(length)], capture_output=True,
                                   text=True)
                lines = [ln for ln in p.stdout.splitlines() if ln.startswith(MARK)]
                if p.returncode != 0 or not lines:
                    sys.stderr.write(p.stdout + p.stderr)
                    raise SystemExit(f"the {side} run at {length} steps failed (exit {p.returncode})")
                mib = json.loads(lines[-1][len(MARK):])["mib"]
                results[side].setdefault(length, []).append(mib)
                print(f"  {side:8s} {length:5d} steps: {mib:8.1f} MiB", flush=True)
    print(f"{'steps':>6s} {'deepgrad MiB':>13s} {'pytorch MiB':>12s} {'ratio':>6s}")
    for length in args.lengths:
        a, b = min(results["deepgrad"][length]), min(results["pytorch"][length])
        print(f"{length:6d} {a:13.1f} {b:12.1f} {a / b:6.2f}")
    for side in ("deepgrad", "pytorch"):
        xs = args.lengths
        ys = [min(results[side][n]) for n in xs]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
        icpt = my - slope * mx
        dev = max(abs(y - (icpt + slope * x)) / y for x, y in zip(xs, ys))
        print(f"{side}: {slope * 1000:.1f} MiB per 1,000 steps (+ {icpt:.1f} MiB), largest deviation from the line "
              f"{dev * 100:.1f} %")


if __name__ == "__main__":
    main()
