"""The NCCL backend on a real GPU (CI has none: there it runs only through tests/dist_scripts/nccl_standin.py).

NCCL refuses two ranks on one GPU (NCCL >= 2.5: "Duplicate GPU detected", ncclInvalidUsage), so on a machine with
one GPU this runs 1 rank: every collective on CUDA tensors through CuPy's NCCL, checked against the values the
ranks' inputs give, and DistributedDataParallel's training, which must end with the weights of a plain CPU process
on the same batches. With 2 GPUs or more and OpenMPI's mpirun it also runs 2 ranks, one GPU each.

    python benchmarks/gpu/nccl_check.py [--jobs DIR]
Prints one PASS/FAIL line per check and exits non-zero when one fails; the jobs' JSON results go to DIR (default:
a temporary folder, so that they do not crowd the few files a device session brings back).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
JOB = os.path.join(ROOT, "tests", "dist_scripts", "ddp_job.py")


def job(mode: str, out_dir: str, ranks: int, backend: str | None) -> tuple[subprocess.CompletedProcess, dict | None]:
    out = os.path.join(out_dir, f"nccl-{mode}-{ranks}-{backend or 'cpu'}.json".replace(":", "-"))
    cmd = [sys.executable, JOB, mode, out] + ([backend] if backend else [])
    if ranks > 1:
        cmd = [shutil.which("mpirun"), "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), *cmd]
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"), OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    return proc, (json.load(open(out)) if os.path.exists(out) else None)


def expected_collectives(n: int) -> dict:
    """What ddp_job.py's collectives give on rank 0 of n ranks (rank r contributes values made from r)."""
    tri = n * (n + 1) // 2
    return {"sum": [1.0 * tri, 2.0 * tri], "max": [n - 1.0], "avg": [n + 1.0], "broadcast": [n + 9.0, n + 19.0],
            "gather": [[float(r), 2.0 * r] for r in range(n)], "reduce": [[1.0 * tri, 3.0 * tri], [2.0 * tri, 4.0 * tri]],
            "dtype_sums": {name: ([True, False, True] if name == "bool" else [tri, 0, n])
                           for name in ("float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool")}}


def check(ranks: int, out_dir: str) -> list[tuple[str, bool, str]]:
    results = []
    proc, r = job("collectives", out_dir, ranks, "nccl:gpu")
    if r is None:
        return [(f"collectives, {ranks} rank(s)", False, proc.stderr[-2000:])]
    want = expected_collectives(ranks)
    got = {k: r[k] for k in want if k != "dtype_sums"}
    got["dtype_sums"] = {k: v["sum"] for k, v in r["dtypes"].items()}
    results.append((f"collectives on CUDA tensors through NCCL, {ranks} rank(s), backend {r['backend']}",
                    got == want, "" if got == want else f"got {got}, expected {want}"))
    _, ref = job("train", out_dir, 1, None)
    proc, two = job("train", out_dir, ranks, "nccl:gpu")
    if two is None or "weights" not in two:
        return results + [(f"DDP training, {ranks} rank(s)", False, proc.stderr[-2000:])]
    gap = max(float(np.abs(np.array(two["weights"][k]) - np.array(ref["weights"][k])).max()) for k in ref["weights"])
    ok = gap <= 1e-4 and two["devices"][0].startswith("cuda")  # cuBLAS and OpenBLAS sum in other orders
    results.append((f"DDP on {ranks} rank(s) through NCCL ends with one CPU process's weights (largest gap {gap:.1e}, "
                    f"gradients on {two['devices']}, {two['buckets']} buckets)", ok, ""))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", default=None, help="folder for the jobs' results")
    args = ap.parse_args()
    out = args.jobs or tempfile.mkdtemp(prefix="deepgrad-nccl-")
    os.makedirs(out, exist_ok=True)
    import deepgrad as dg
    from deepgrad.distributed import nccl

    print(f"GPUs: {dg.cuda.device_count()}; NCCL: {'available' if nccl.nccl_module() else nccl.unavailable_reason()}")
    results = check(1, out)
    if dg.cuda.device_count() >= 2 and shutil.which("mpirun"):
        results += check(2, out)
    else:
        print("2 ranks: skipped (NCCL needs a GPU per rank; this machine has "
              f"{dg.cuda.device_count()}, mpirun {'found' if shutil.which('mpirun') else 'missing'})")
    for name, ok, detail in results:
        print(("PASS " if ok else "FAIL ") + name + (f"\n    {detail}" if detail else ""))
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
