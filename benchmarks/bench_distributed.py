"""The cost of data parallelism on MPI: a training step alone, and under DistributedDataParallel on 2 ranks.

Each rank trains the same MLP (784-512-512-10, SGD with momentum) on a local batch of 64; the DDP run reduces
about 0.67 M gradients per step (2.6 MB) in buckets during backward. Printed per run: the step time, and the time
DDP spent in MPI (starting and waiting for the reductions) per step. The runs alternate (1 rank, 2 ranks, ...).

    python benchmarks/bench_distributed.py [--pairs 5] [--steps 30]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

MARK = "DDP-BENCH "


def worker(steps: int, ddp: bool) -> dict:
    import numpy as np

    import deepgrad as dg
    import deepgrad.distributed as dist
    from deepgrad import nn

    if ddp:
        dist.init_process_group()
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    net = dist.DistributedDataParallel(model) if ddp else model
    opt = dg.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(dist.get_rank())
    x = dg.tensor(rng.standard_normal((64, 784)).astype(np.float32))
    y = dg.tensor(rng.integers(0, 10, 64))
    times, comm = [], []
    for i in range(steps + 5):
        t0 = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
        if i >= 5:
            times.append(time.perf_counter() - t0)
            comm.append(net.comm_seconds if ddp else 0.0)
    r = {"step_ms": statistics.median(times) * 1e3, "comm_ms": statistics.median(comm) * 1e3,
         "ranks": dist.get_world_size()}
    if ddp:
        dist.destroy_process_group()
    return r


def run(ranks: int, steps: int) -> dict:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl_vader_single_copy_mechanism="none", OPENBLAS_NUM_THREADS="1", DEEPGRAD_NUM_THREADS="1",
               PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    cmd = [sys.executable, __file__, "--worker", "--steps", str(steps)]
    if ranks > 1:
        cmd = [shutil.which("mpirun"), "--oversubscribe", "-n", str(ranks), *cmd, "--ddp"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600).stdout
    return json.loads(next(ln for ln in out.splitlines() if ln.startswith(MARK))[len(MARK):])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ddp", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        r = worker(args.steps, args.ddp)
        if r["ranks"] == 1 or int(os.environ.get("OMPI_COMM_WORLD_RANK", "0")) == 0:
            print(MARK + json.dumps(r), flush=True)
        return
    print(f"machine: {os.cpu_count()} cores; one BLAS thread per rank; local batch 64; {args.steps} steps per run")
    singles, doubles = [], []
    for i in range(args.pairs):
        a, b = run(1, args.steps), run(2, args.steps)
        singles.append(a)
        doubles.append(b)
        print(f"pair {i + 1}: 1 rank {a['step_ms']:.2f} ms/step | 2 ranks (DDP) {b['step_ms']:.2f} ms/step, "
              f"of which MPI {b['comm_ms']:.2f} ms | ratio {b['step_ms'] / a['step_ms']:.2f}", flush=True)
    s = statistics.median(x["step_ms"] for x in singles)
    d = statistics.median(x["step_ms"] for x in doubles)
    c = statistics.median(x["comm_ms"] for x in doubles)
    print(f"median: 1 rank {s:.2f} ms/step, 2 ranks {d:.2f} ms/step (MPI {c:.2f} ms, overhead {d - s:+.2f} ms); "
          f"2 ranks process {2 * 64 / d * 1e3:.0f} samples/s against {64 / s * 1e3:.0f}")


if __name__ == "__main__":
    main()
