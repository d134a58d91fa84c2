"""Run by tests/test_distributed.py under ``mpirun -n N`` (or alone): one data-parallel job, results to a file.

    python ddp_job.py MODE OUT [BACKEND]
MODE: train (SGD steps with DistributedDataParallel over a global batch), accumulate (no_sync micro-batches),
collectives (every collective checked in place), raise (rank 1 fails while rank 0 waits in a barrier), unused,
errors (misuses of backend 'nccl', each error's text).
With BACKEND (nccl, auto or mpi) the job runs on the strict test device ("cuda") with nccl_standin.py installed
where deepgrad looks for cupy.cuda.nccl, and train/accumulate run with device -> host copies refused. With
BACKEND:gpu (nccl:gpu) it runs on the real GPU of rank r (cuda:r) with CuPy's NCCL (benchmarks/gpu/session.sh).
"""
import contextlib
import json
import sys

import numpy as np

import deepgrad as dg
import deepgrad.distributed as dist
from deepgrad import nn

mode, out = sys.argv[1], sys.argv[2]
BACKEND, _, WHERE = (sys.argv[3] if len(sys.argv) > 3 else "").partition(":")
BACKEND = BACKEND or None
STANDIN = BACKEND is not None and WHERE != "gpu"
GLOBAL_BATCH, STEPS = 16, 8
DEVICE = "cuda" if BACKEND else "cpu"
if STANDIN:
    import nccl_standin

    from deepgrad.distributed import nccl
    from deepgrad.testing import strict_device

    STRICT = strict_device()
    STRICT.__enter__()  # for the whole job
    nccl.set_nccl_module(nccl_standin)


@contextlib.contextmanager
def host_copies_refused():
    """Reading a strict device array into host memory (``get``, hence ``asnumpy``, ``.cpu()``; ``tolist``) raises."""
    if not STANDIN:
        yield
        return
    from deepgrad.testing.strict import StrictArray

    saved = StrictArray.get, StrictArray.tolist

    def refuse(self, *args, **kwargs):
        raise AssertionError("a device array was copied to the host")

    StrictArray.get = StrictArray.tolist = refuse
    try:
        yield
    finally:
        StrictArray.get, StrictArray.tolist = saved


def data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((GLOBAL_BATCH * STEPS, 6)).astype(np.float32)
    y = (x @ rng.standard_normal(6) > 0).astype(np.int64)
    return x, y


def model():
    dg.manual_seed(123 + dist.get_rank())  # different on each rank: DDP must broadcast rank 0's
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))


dist.init_process_group(backend=BACKEND)
rank, size = dist.get_rank(), dist.get_world_size()
if WHERE == "gpu":
    DEVICE = f"cuda:{rank}" if dg.cuda.device_count() > 1 else "cuda"
result = {"rank": rank, "size": size, "backend": dist.get_backend()}


def on(values, **kwargs):
    return dg.tensor(values, device=DEVICE, **kwargs)


if mode in ("train", "accumulate"):
    x, y = data()
    share = GLOBAL_BATCH // size
    try:
        with host_copies_refused():
            net = dist.DistributedDataParallel(model().to(DEVICE), bucket_cap_mb=0.0005)  # several buckets in flight
            opt = dg.optim.SGD(net.parameters(), lr=0.3, momentum=0.9)
            for s in range(STEPS):
                lo = s * GLOBAL_BATCH + rank * share
                xb, yb = on(x[lo:lo + share]), on(y[lo:lo + share])
                opt.zero_grad()
                if mode == "accumulate":  # two micro-batches, the first without synchronisation
                    half = share // 2
                    with net.no_sync():
                        (nn.functional.cross_entropy(net(xb[:half]), yb[:half]) / 2).backward()
                    (nn.functional.cross_entropy(net(xb[half:]), yb[half:]) / 2).backward()
                else:
                    nn.functional.cross_entropy(net(xb), yb).backward()
                opt.step()
        result["weights"] = {k: v.cpu().numpy().tolist() for k, v in net.state_dict().items()}
        result["buckets"], result["overlapped"] = len(net._buckets), net.overlapped_buckets
        result["devices"] = sorted({str(p.grad.device) for p in net.parameters()})
    except AssertionError as e:
        result["error"] = str(e)
elif mode == "collectives":
    t = on([1.0, 2.0]) * (rank + 1)
    dist.all_reduce(t)
    result["sum"] = t.tolist()
    t = on([float(rank)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    result["max"] = t.tolist()
    t = on([2.0 * (rank + 1)])
    work = dist.all_reduce(t, op=dist.ReduceOp.AVG, async_op=True)
    result["before_wait"] = t.tolist()
    work.wait()
    result["avg"] = t.tolist()
    b = on([rank + 10.0, rank + 20.0])
    dist.broadcast(b, src=size - 1)
    result["broadcast"] = b.tolist()
    parts = [dg.zeros(2, device=DEVICE) for _ in range(size)]
    dist.all_gather(parts, on([rank, rank * 2.0]))
    result["gather"] = [p.tolist() for p in parts]
    r = on([[1.0, 2.0], [3.0, 4.0]]).t() * (rank + 1)  # a non-contiguous tensor goes through a contiguous copy
    dist.reduce(r, dst=0, op=dist.ReduceOp.SUM)
    result["reduce"] = r.tolist()
    if BACKEND in ("nccl", "auto"):  # each dtype's NCCL code, and the sums it gives
        result["dtypes"] = {}
        for name in ("float16", "float32", "float64", "int8", "uint8", "int32", "int64", "bool"):
            t = on([rank + 1, 0, 1], dtype=getattr(dg, name))
            dist.all_reduce(t)
            call = nccl_standin.calls[-1] if STANDIN else (None, None, None)
            result["dtypes"][name] = {"datatype": call[1], "op": call[2], "sum": t.tolist()}
    dist.barrier()
elif mode == "errors":
    def error_of(f):
        try:
            f()
        except (TypeError, ValueError, RuntimeError) as e:
            return f"{type(e).__name__}: {e}"
        return None

    result["cpu_tensor"] = error_of(lambda: dist.all_reduce(dg.ones(2)))
    result["cpu_model"] = error_of(lambda: dist.DistributedDataParallel(nn.Linear(2, 2)))
    result["int16"] = error_of(lambda: dist.all_reduce(dg.ones(2, dtype=dg.int16, device=DEVICE)))
    result["bool_avg"] = error_of(lambda: dist.all_reduce(on([True]), op=dist.ReduceOp.AVG))
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
