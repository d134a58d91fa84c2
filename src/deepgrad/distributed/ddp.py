"""``DistributedDataParallel``: data-parallel training, gradients averaged over the ranks during backward.

Each rank runs the same model on its own share of the batch. At construction rank 0's parameters and buffers are
broadcast, so every rank starts equal. In backward, each parameter's post-accumulate-grad hook fires as soon as
its gradient is complete (the engine finishes such leaves during the walk); when every parameter of a bucket
(about ``bucket_cap_mb`` of gradients, in reverse registration order, the order backward produces them) is
complete, the bucket is copied into one flat buffer and its sum over the ranks is started with a non-blocking
``MPI_Iallreduce`` (CPU gradients, or CUDA ones staged through the host), or with NCCL's ``allReduce`` on the
NCCL stream in device memory (CUDA gradients under NCCL), so communication overlaps the rest of backward. When
backward ends, the remaining buckets are started, all are waited for, and each parameter's ``.grad`` becomes the
mean over the ranks:

    grad_p = (1 / world_size) * sum_r grad_p^(r)

With a loss that averages over each rank's batch of B/world_size samples, that is the gradient of the mean over the
whole batch of B, so N ranks follow the same trajectory as one process with batch B (up to float summation order).
Inside ``no_sync()`` gradients only accumulate locally; the next synchronised backward averages the accumulated sum.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.engine import queue_callback
from ..nn.module import Module
from . import process_group as pg

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("params", "pending", "flat", "work", "offsets")

    def __init__(self, params: list) -> None:
        self.params = params
        self.offsets = np.cumsum([0] + [p.numel() for p in params]).tolist()
        self.pending = 0
        self.flat = None
        self.work = None  # the started reduction of flat (a process_group.Work)


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training on every rank of the initialised process group.

    Args:
        module: the model (already on its device).
        device_ids, output_device, dim: accepted for PyTorch programs (one device per process).
        broadcast_buffers: copy rank 0's buffers (batch-norm running statistics) to every rank at each forward.
        bucket_cap_mb: the size of a gradient bucket, in MiB.
        find_unused_parameters: allow parameters that a forward pass does not use (their gradient is taken as
            zero); without it such a parameter is an error, as in PyTorch.

    Attributes:
        module: the wrapped model (``state_dict`` names gain the prefix ``module.``, as in PyTorch).
        comm_seconds: time spent starting and waiting for reductions in the last synchronised backward.
        overlapped_buckets: how many buckets of the last synchronised backward started before backward ended.

    Example (each rank runs this under ``mpirun -n 2``):
        >>> import deepgrad as dg, deepgrad.distributed as dist   # doctest: +SKIP
        >>> dist.init_process_group()                              # doctest: +SKIP
        >>> model = dist.DistributedDataParallel(dg.nn.Linear(4, 2)) # doctest: +SKIP
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, bucket_cap_mb: float = 25.0, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False, **_) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb}")
        self._group = pg._require("DistributedDataParallel")
        self.module = module
        self.broadcast_buffers, self.find_unused_parameters = broadcast_buffers, find_unused_parameters
        params = [p for p in module.parameters() if p.requires_grad]
        for p in params[:1]:  # backend "nccl" refuses a model on the CPU here, in words naming DDP
            pg._nccl_for(self._group, p, "DistributedDataParallel")
        self._buckets, self._bucket_of = self._make_buckets(params, bucket_cap_mb * 2**20)
        self._sync, self._armed, self._finalized, self._queued = True, False, True, False
        self.comm_seconds, self.overlapped_buckets = 0.0, 0
        for p in module.parameters():
            pg.broadcast(p.detach(), 0)
        self._broadcast_buffers()
        for p in params:
            p.register_post_accumulate_grad_hook(self._ready)

    @staticmethod
    def _make_buckets(params: list, cap_bytes: float):
        buckets, current, size = [], [], 0
        for p in reversed(params):  # backward produces the last layers' gradients first
            if current and (size + p.numel() * p.element_size() > cap_bytes or p.dtype != current[0].dtype
                            or p.device != current[0].device):
                buckets.append(_Bucket(current))
                current, size = [], 0
            current.append(p)
            size += p.numel() * p.element_size()
        if current:
            buckets.append(_Bucket(current))
        return buckets, {id(p): b for b in buckets for p in b.params}

    def _broadcast_buffers(self) -> None:
        if self.broadcast_buffers and self._group.size > 1:
            for b in self.module.buffers():
                pg.broadcast(b, 0)

    # -------------------------------------------------------------------------------------------- forward
    def forward(self, *args, **kwargs):
        if not self._finalized:
            raise RuntimeError("DistributedDataParallel: the previous synchronised forward's backward did not "
                               "finish its gradient reduction; call backward() on a loss of every forward, or "
                               "run forwards whose backward you skip under no_grad() or no_sync()")
        self._broadcast_buffers()
        out = self.module(*args, **kwargs)
        if self._sync and grad_mode.is_grad_enabled():
            self._prepare(out)
        return out

    def _prepare(self, out) -> None:
        """Arm the buckets for the backward of ``out``: find the parameters its graph uses."""
        from ..tensor import Tensor

        used: set = set()
        roots = [t.grad_fn for t in _tensors(out) if isinstance(t, Tensor) and t.grad_fn is not None]
        seen, stack = set(roots), list(roots)
        while stack:
            node = stack.pop()
            for t, fn in zip(node.inputs, node.next_functions):
                if fn is None:
                    used.add(id(t))
                elif fn not in seen:
                    seen.add(fn)
                    stack.append(fn)
        unused = [p for b in self._buckets for p in b.params if id(p) not in used]
        if unused and not self.find_unused_parameters:
            names = {id(p): n for n, p in self.module.named_parameters()}
            raise RuntimeError(f"DistributedDataParallel: {len(unused)} parameter(s) received no gradient from "
                               f"this forward ({', '.join(names.get(id(p), '?') for p in unused[:5])}); pass "
                               "find_unused_parameters=True if the model uses them only sometimes")
        for b in self._buckets:
            b.pending = sum(1 for p in b.params if id(p) in used)
            b.flat, b.work = None, None
        self._armed, self._finalized = True, False
        self.comm_seconds, self.overlapped_buckets = 0.0, 0

    # ------------------------------------------------------------------------------------------- backward
    def _ready(self, p) -> None:
        """Post-accumulate hook: ``p.grad`` is complete; start its bucket's reduction once the bucket is."""
        if not self._armed:
            return
        if not self._queued:
            self._queued = True
            queue_callback(self._finish)
        bucket = self._bucket_of[id(p)]
        bucket.pending -= 1
        if bucket.pending == 0:
            self._start(bucket)
            self.overlapped_buckets += 1

    def _start(self, bucket: _Bucket) -> None:
        t0 = time.perf_counter()
        nccl = pg._nccl_for(self._group, bucket.params[0], "DistributedDataParallel")
        if nccl is None:
            parts = [backend.to_numpy(p.grad._data).ravel() if p.grad is not None else np.zeros(p.numel(), p.dtype)
                     for p in bucket.params]
            bucket.flat = np.concatenate(parts)
            bucket.work = pg.Work(self._group.comm.Iallreduce(pg._mpi().IN_PLACE, bucket.flat, op=pg._mpi().SUM))
        else:  # the flat bucket stays in device memory, concatenated on the current stream
            xp = backend.cupy
            with xp.cuda.Device(nccl.device):
                bucket.flat = xp.concatenate([p.grad._data.ravel() if p.grad is not None else
                                              xp.zeros(p.numel(), p.dtype) for p in bucket.params])
            bucket.work = nccl.all_reduce(bucket.flat, pg.ReduceOp.SUM, "DistributedDataParallel")
        self.comm_seconds += time.perf_counter() - t0

    def _finish(self) -> None:
        """End of backward: start what is left, wait for every reduction, write the means into ``.grad``."""
        t0 = time.perf_counter()
        self._queued = False
        for b in self._buckets:
            if b.work is None:  # a bucket holding unused parameters
                self._start(b)
        from ..tensor import Tensor

        scale = 1.0 / self._group.size
        for b in self._buckets:
            b.work.wait()  # NCCL: the current stream waits for the reduction; the slicing below is queued after it
            for p, lo, hi in zip(b.params, b.offsets[:-1], b.offsets[1:]):
                mean = (b.flat[lo:hi] * scale).reshape(p.shape).astype(p.dtype, copy=False)
                p.grad = Tensor._wrap(backend.to_device(mean, p.device))  # no copy when it is there already
            b.flat, b.work = None, None
        self._armed, self._finalized = False, True
        self.comm_seconds += time.perf_counter() - t0

    @contextlib.contextmanager
    def no_sync(self):
        """Within the block, backward only accumulates gradients locally (gradient accumulation)."""
        previous = self._sync
        self._sync = False
        try:
            yield
        finally:
            self._sync = previous


def _tensors(out):
    if isinstance(out, (list, tuple)):
        for o in out:
            yield from _tensors(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors(o)
    else:
        yield out
