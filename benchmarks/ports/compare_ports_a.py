"""Run the distribution/sparse/optimizer ports under PyTorch and under deepgrad and print their results side by side.

Each program draws its own random numbers (weights, dropout, sampled actions), so the two runs are not expected to
agree digit for digit; what is compared is that losses fall alike and the final figures are of the same size.

    python benchmarks/ports/compare_ports_a.py          # full runs (a few minutes on 2 cores)
    python benchmarks/ports/compare_ports_a.py --fast   # the tests' settings
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PORTS = ["reinforce_cartpole.py", "vae_normal_kl.py", "gcn_sparse.py", "optimizers_mnist.py"]

parser = argparse.ArgumentParser()
parser.add_argument("--fast", action="store_true")
args = parser.parse_args()

for script in PORTS:
    print(f"== {script}")
    for backend in ("torch", "deepgrad"):
        start = time.perf_counter()
        cmd = [sys.executable, os.path.join(HERE, script), "--backend", backend] + (["--fast"] if args.fast else [])
        proc = subprocess.run(cmd, capture_output=True, text=True)
        took = time.perf_counter() - start
        if proc.returncode:
            print(f"  {backend:8s} FAILED\n{proc.stderr[-2000:]}")
            continue
        last = [line for line in proc.stdout.splitlines() if line.strip()]
        summary = [line for line in last if "first" in line] or last[-1:]
        for line in summary:
            print(f"  {backend:8s} {took:6.1f} s  {line}")
