"""Run by tests/test_distributed.py under ``mpirun -n N`` (or alone): one data-parallel job, results to a file.

    python ddp_job.py MODE OUT
MODE: train (SGD steps with DistributedDataParallel over a global batch), accumulate (no_sync micro-batches),
collectives (every collective checked in place), raise (rank 1 fails while rank 0 waits in a barrier), unused.
"""
import json
import sys

import numpy as np

import deepgrad as dg
import deepgrad.distributed as dist
from deepgrad import nn

mode, out = sys.argv[1], sys.argv[2]
GLOBAL_BATCH, STEPS = 16, 8


def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((GLOBAL_BATCH * STEPS, 6)).astype(np.float32)
    y = (x @ rng.standard_normal(6) > 0).astype(np.int64)
    return x, y


def model():
    dg.manual_seed(123 + dist.get_rank())  # different on each rank: DDP must broadcast rank 0's
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))


dist.init_process_group()
rank, size = dist.get_rank(), dist.get_world_size()
result = {"rank": rank, "size": size}

if mode in ("train", "accumulate"):
    net = dist.DistributedDataParallel(model(), bucket_cap_mb=0.0005)  # tiny buckets: several in flight
    opt = dg.optim.SGD(net.parameters(), lr=0.3, momentum=0.9)
    x, y = data()
    share = GLOBAL_BATCH // size
    for s in range(STEPS):
        lo = s * GLOBAL_BATCH + rank * share
        xb, yb = dg.tensor(x[lo:lo + share]), dg.tensor(y[lo:lo + share])
        opt.zero_grad()
        if mode == "accumulate":  # two micro-batches, the first without synchronisation
            half = share // 2
            with net.no_sync():
                (nn.functional.cross_entropy(net(xb[:half]), yb[:half]) / 2).backward()
            (nn.functional.cross_entropy(net(xb[half:]), yb[half:]) / 2).backward()
        else:
            nn.functional.cross_entropy(net(xb), yb).backward()
        opt.step()
    result["weights"] = {k: v.numpy().tolist() for k, v in net.state_dict().items()}
    result["buckets"], result["overlapped"] = len(net._buckets), net.overlapped_buckets
elif mode == "collectives":
    t = dg.tensor([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t)
    result["sum"] = t.tolist()
    t = dg.tensor([float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    result["max"] = t.tolist()
    t = dg.tensor([2.0 * (rank + 1)])
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    work.wait()
    result["avg"] = t.tolist()
    b = dg.tensor([rank + 10.0, rank + 20.0])
    dist.broadcast(b, src=size - 1)
    result["broadcast"] = b.tolist()
    parts = [dg.zeros(2) for _ in range(size)]
    dist.all_gather(parts, dg.tensor([rank, rank * 2.0]))
    result["gather"] = [p.tolist() for p in parts]
    dist.barrier()
elif mode == "raise":
    if rank == 1:
        raise ValueError("boom on rank 1")
    dist.barrier()  # would wait forever for rank 1 without the abort
elif mode == "unused":
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.a(x)

    try:
        dist.DistributedDataParallel(Branchy())(dg.ones(2, 3))
    except RuntimeError as e:
        result["error"] = str(e)
    net = dist.DistributedDataParallel(Branchy(), find_unused_parameters=True)
    net(dg.ones(2, 3)).sum().backward()
    result["b_grad"] = net.module.b.weight.grad.tolist()
    result["a_grad"] = net.module.a.weight.grad.tolist()

if rank == 0:
    with open(out, "w") as f:
        json.dump(result, f)
dist.destroy_process_group()
