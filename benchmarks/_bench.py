"""Shared timing harness for the benchmark scripts: ours beside PyTorch's, each measured in its own process.

NumPy's OpenBLAS and PyTorch's thread pools both keep their worker threads spinning for a while after a call; timed
in one process (or interleaved), each library steals the other's cores and the ratio depends on who ran last. So
a script's ``main`` builds no model itself: it re-runs the script once per library (``--side deepgrad`` /
``--side pytorch``), each child times only its own side and reports JSON, and the parent prints the table — still
one command, one run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

MARK = "BENCH-RESULT "


def best_ms(fn, rounds: int, number: int) -> float:
    """The minimum over ``rounds`` of the mean time of ``number`` calls of ``fn``, in milliseconds."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number * 1e3)
    return best


def machine() -> str:
    import numpy as np

    try:
        import torch

        tv = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"
    except ImportError:
        tv = "torch not installed"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, "
            f"{tv}, load average {load:.2f}; each side timed in its own process")


def main(script: str, description: str, build_rows, extra_args=None) -> None:
    """``build_rows(args, side)`` returns [(name, fn or None, number[, scale])] for ``side`` ('deepgrad' or
    'pytorch'); a row's figure is milliseconds per call of ``fn`` times ``scale`` (default 1), or, with ``number``
    0, what ``fn()`` returns."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--rounds", type=int, default=7, help="timing rounds (the minimum is kept)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating (the minimum is kept)")
    ap.add_argument("--side", choices=["deepgrad", "pytorch"], help=argparse.SUPPRESS)
    for a, kw in (extra_args or {}).items():
        ap.add_argument(a, **kw)
    args = ap.parse_args()
    if args.side:
        rows = build_rows(args, args.side)
        out = {}
        for name, fn, number, *scale in rows:
            if isinstance(fn, (int, float)):  # a measured figure (e.g. memory), reported as it is
                out[name] = float(fn)
                continue
            if fn is not None and number == 0:  # a row that measures its own figure (memory, say): fn() returns it
                out[name] = fn()
                continue
            out[name] = best_ms(fn, args.rounds, number) * (scale[0] if scale else 1.0) if fn is not None else None
        print(MARK + json.dumps(out), flush=True)
        return
    print(machine(), flush=True)
    runs = {"deepgrad": [], "pytorch": []}
    for _ in range(args.repeat):  # the sides alternate, so a slow spell of a shared machine hits both
        for side in ("deepgrad", "pytorch"):
            p = subprocess.run([sys.executable, script, *sys.argv[1:], "--side", side], capture_output=True, text=True)
            lines = [ln for ln in p.stdout.splitlines() if ln.startswith(MARK)]
            if p.returncode != 0 or not lines:
                sys.stderr.write(p.stdout + p.stderr)
                raise SystemExit(f"the {side} side failed (exit {p.returncode})")
            for ln in p.stdout.splitlines():
                if not ln.startswith(MARK) and not runs[side]:
                    print(ln)
            runs[side].append(json.loads(lines[-1][len(MARK):]))
    names = list(runs["deepgrad"][0])
    width = max(len(n) for n in names) + 2
    print(f"{'benchmark':{width}s} {'deepgrad':>10s} {'pytorch':>10s} {'ratio':>7s}  ratio per pair of runs")
    for n in names:
        ours = [r[n] for r in runs["deepgrad"]]
        theirs = [r.get(n) for r in runs["pytorch"]]
        a = None if None in ours else min(ours)
        b = None if None in theirs else min(theirs)
        a_s = f"{a:10.2f}" if a is not None else f"{'-':>10s}"
        b_s = f"{b:10.2f}" if b is not None else f"{'-':>10s}"
        r_s = f"{a / b:7.2f}" if a is not None and b else f"{'-':>7s}"
        ratios = sorted(x / y for x, y in zip(ours, theirs)) if a is not None and b else []
        pairs = "  " + " ".join(f"{x / y:.2f}" for x, y in zip(ours, theirs)) if ratios else ""
        if ratios:
            pairs += f"  (median {_median(ratios):.2f}; medians {_median(ours):.2f} vs {_median(theirs):.2f})"
        print(f"{n:{width}s} {a_s} {b_s} {r_s}{pairs}", flush=True)


def _median(values) -> float:
    v = sorted(values)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2
