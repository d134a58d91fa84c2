"""The process group: rank, world size and collectives on MPI (mpi4py over OpenMPI), under PyTorch's names.

``init_process_group()`` reads the rank and the world size from the MPI launcher (``mpirun -n N python train.py``);
collectives work in place on Tensors, on the CPU and on CUDA. CUDA tensors go through NCCL (CuPy's
``cupy.cuda.nccl``, see :mod:`deepgrad.distributed.nccl`) in device memory when it is available, by default or with
``backend="nccl"``; with ``backend="mpi"``, or without NCCL, they are staged through the host. Once the group is
initialised, an uncaught exception on any rank aborts the whole job with that rank's traceback instead of leaving
the other ranks waiting in a collective forever.
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

from .. import backend
from . import nccl as _nccl

__all__ = ["ReduceOp", "Work", "is_available", "is_initialized", "init_process_group", "destroy_process_group",
           "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast", "all_gather",
           "reduce", "is_main_process", "get_node_local_rank"]


class ReduceOp:
    """How :func:`all_reduce` combines the ranks' values: ``SUM`` (default), ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``."""

    SUM, AVG, PRODUCT, MIN, MAX = "sum", "avg", "product", "min", "max"


class _Group:
    def __init__(self, comm, backend_name: str) -> None:
        self.comm, self.backend = comm, backend_name
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        # the NcclGroup of this rank's GPU: made by init for "nccl", on the first CUDA tensor for "auto"
        self.nccl: _nccl.NcclGroup | None = None
        self.auto_nccl = backend_name == "auto" and _nccl.nccl_module() is not None


_group: _Group | None = None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError('deepgrad.distributed needs mpi4py and an MPI library: pip install "deepgrad[mpi]" '
                           "(and OpenMPI, e.g. apt-get install openmpi-bin libopenmpi-dev)") from None
    return MPI


def is_available() -> bool:
    """True when mpi4py can be imported (an MPI library is installed)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return _group is not None


def _require(op: str) -> _Group:
    if _group is None:
        raise RuntimeError(f"{op}: the default process group is not initialised; call "
                           "deepgrad.distributed.init_process_group() first")
    return _group


def _abort_on_exception(comm) -> None:
    """An uncaught exception on one rank aborts every rank (MPI_Abort) after printing the traceback."""
    previous = sys.excepthook

    def hook(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.flush()
        if kind is not KeyboardInterrupt or comm.Get_size() > 1:
            comm.Abort(1)

    sys.excepthook = hook
    previous_thread = threading.excepthook

    def thread_hook(args):
        previous_thread(args)
        sys.stderr.flush()
        comm.Abort(1)

    threading.excepthook = thread_hook


def _launcher_local_rank() -> int | None:
    """This rank's index among the ranks on its machine, as the launcher's variable says; None without one."""
    for name in ("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID"):
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return None


def _local_rank(comm) -> int:
    """This rank's index among the ranks on its machine: the launcher's variable, else MPI's shared-memory split."""
    local = _launcher_local_rank()
    return comm.Split_type(_mpi().COMM_TYPE_SHARED).Get_rank() if local is None else local


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among those on its machine (PyTorch's ``get_node_local_rank``).

    Read from the launcher (``LOCAL_RANK``, ``OMPI_COMM_WORLD_LOCAL_RANK`` or ``MPI_LOCALRANKID``); in an
    initialised group without such a variable, from MPI's shared-memory split; else ``fallback_rank``.
    Under ``mpirun``, GPU ``get_node_local_rank() % cuda.device_count()`` is this rank's own.
    """
    local = _launcher_local_rank()
    if local is not None:
        return local
    if _group is not None:
        return _local_rank(_group.comm)
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError("get_node_local_rank: no launcher variable (LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK) is set "
                       "and no process group is initialised; start the job with mpirun or pass fallback_rank=")


def _rank_device(comm) -> int:
    """The GPU of this rank: its local rank, modulo the GPUs it sees (a launcher may show each rank only its own)."""
    return _local_rank(comm) % max(1, backend.cuda_device_count())


def init_process_group(backend: str | None = None, init_method: str | None = None, world_size: int = -1,
                       rank: int = -1, timeout=None, **_) -> None:
    """Join the job started by the MPI launcher: every rank calls this once, before any collective.

    Args:
        backend: ``None`` (or ``"auto"``): MPI for CPU tensors, and NCCL for CUDA tensors when CuPy's NCCL is
            available (its communicator is made at the first collective on a CUDA tensor, on that tensor's GPU),
            else MPI through the host. ``"nccl"``: NCCL for every collective, which then takes CUDA tensors only;
            the communicator is made now on GPU ``local_rank % device_count`` (``LOCAL_RANK`` or
            ``OMPI_COMM_WORLD_LOCAL_RANK``). ``"mpi"`` (or ``"gloo"``, accepted for PyTorch programs): MPI alone.
            MPI starts the group and hands NCCL its unique id in every case.
        world_size, rank: if given, must match what the launcher says (the launcher decides them).
        init_method, timeout: accepted for PyTorch programs; MPI's launcher does the rendezvous.
    """
    global _group
    if _group is not None:
        raise RuntimeError("init_process_group: the default process group is already initialised")
    backend = "auto" if backend is None else backend
    if backend not in ("mpi", "gloo", "nccl", "auto"):
        raise ValueError(f"init_process_group: unknown backend {backend!r}; expected None, 'mpi', 'gloo' or 'nccl'")
    if backend == "nccl" and _nccl.nccl_module() is None:
        raise RuntimeError(f"init_process_group: backend 'nccl' needs CuPy with its NCCL library and a GPU, but "
                           f"{_nccl.unavailable_reason()}; install them with pip install 'deepgrad[nccl]', or use "
                           "backend='mpi' (CUDA tensors then travel through the host)")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    group = _Group(comm, backend)
    if world_size not in (-1, None) and world_size != group.size:
        raise ValueError(f"init_process_group: world_size={world_size}, but the MPI launcher started "
                         f"{group.size} process(es); run with mpirun -n {world_size}")
    if rank not in (-1, None) and rank != group.rank:
        raise ValueError(f"init_process_group: rank={rank}, but MPI says this process is rank {group.rank}")
    _abort_on_exception(comm)
    if backend == "nccl":
        group.nccl = _nccl.NcclGroup(comm, _rank_device(comm))
    _group = group


def destroy_process_group() -> None:
    """Leave the group (MPI itself is finalised when the process exits)."""
    global _group
    g = _require("destroy_process_group")
    if g.nccl is not None:
        g.nccl.destroy()
    g.comm.Barrier()
    _group = None


def get_rank() -> int:
    """This process's rank (0 when no group is initialised, as a single process)."""
    return 0 if _group is None else _group.rank


def get_world_size() -> int:
    """The number of processes in the job (1 when no group is initialised)."""
    return 1 if _group is None else _group.size


def get_backend() -> str:
    """``"nccl"``, ``"mpi"``/``"gloo"`` as asked; for the default, ``"cpu:mpi,cuda:nccl"`` or ``"mpi"`` without NCCL."""
    g = _require("get_backend")
    if g.backend == "auto":
        return "cpu:mpi,cuda:nccl" if g.auto_nccl else "mpi"
    return g.backend


def is_main_process() -> bool:
    """True on rank 0, the rank that writes checkpoints and logs (and in a single process)."""
    return get_rank() == 0


def barrier() -> None:
    """Wait until every rank is here (and, with NCCL, until this rank's queued NCCL calls have finished)."""
    g = _require("barrier")
    if g.nccl is not None:
        g.nccl.synchronize()
    g.comm.Barrier()


class Work:
    """A started collective (``async_op=True``): :meth:`wait` completes it and writes the result in place."""

    def __init__(self, request, finish=None) -> None:
        self._request, self._finish, self._done = request, finish, False

    def is_completed(self) -> bool:
        if not self._done and (self._request is None or self._request.Test()):
            self.wait()
        return self._done

    def wait(self) -> bool:
        if not self._done:
            if self._request is not None:
                self._request.Wait()
            if self._finish is not None:
                self._finish()
            self._done = True
        return True


def _check_tensor(op: str, t) -> None:
    from ..tensor import Tensor

    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(t).__name__}")


def _mpi_op(op: str, name: str):
    MPI = _mpi()
    table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MIN: MPI.MIN,
             ReduceOp.MAX: MPI.MAX}
    if op not in table:
        raise ValueError(f"{name}: unknown op {op!r}; expected a deepgrad.distributed.ReduceOp")
    return table[op]


def _nccl_for(g: _Group, t, name: str):
    """The NcclGroup that carries a collective on tensor ``t``, or ``None`` when MPI does."""
    if g.backend == "nccl":
        if t.device.type != "cuda":
            raise ValueError(f"{name}: backend 'nccl' carries CUDA tensors only, got a tensor on {t.device}; move "
                             f"it to cuda:{g.nccl.device} (this rank's GPU), or use init_process_group(backend='mpi')")
    elif not (g.auto_nccl and t.device.type == "cuda"):
        return None
    elif g.nccl is None:  # the default backend's first CUDA collective: every rank makes its communicator now
        g.nccl = _nccl.NcclGroup(g.comm, t.device.index)
    if t.device.index != g.nccl.device:
        raise ValueError(f"{name}: this rank's NCCL communicator is on cuda:{g.nccl.device}, got a tensor on "
                         f"{t.device}; keep each rank's tensors on its own GPU")
    return g.nccl


def _mean_in_place(a, n: int) -> None:
    """The sum ``a`` of ``n`` ranks' values becomes their mean (floor division for integers, as PyTorch's MPI)."""
    if a.dtype.kind == "f":
        a *= 1.0 / n
    else:
        a //= n


def _device_buffer(t):
    """A contiguous device array holding ``t``'s values (its own buffer when it is one) and whether it is."""
    a = t._data
    if a.flags.c_contiguous:
        return a, True
    with backend.cupy.cuda.Device(t.device.index):
        return backend.cupy.ascontiguousarray(a), False


def _complete(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


def _host_buffer(t) -> tuple[np.ndarray, bool]:
    """A contiguous host array holding ``t``'s values (the tensor's own buffer when it is one) and whether it is."""
    a = t._data
    if backend.is_device_array(a):
        return np.ascontiguousarray(backend.to_numpy(a)), False
    if isinstance(a, np.ndarray) and a.flags.c_contiguous and a.flags.writeable:
        return a, True
    return np.ascontiguousarray(a), False


def _write_back(t, buf, own: bool) -> None:
    """Copy ``buf`` into ``t`` unless it is ``t``'s own buffer (host buffers go back to the tensor's device)."""
    if own:
        return
    t._data[...] = buf if backend.is_device_array(buf) or t.device.type == "cpu" else backend.to_device(buf, t.device)


def all_reduce(tensor, op: str = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over all ranks, in place: every rank ends with the same result (``op`` of the values)."""
    _check_tensor("all_reduce", tensor)
    g = _require("all_reduce")
    nccl = _nccl_for(g, tensor, "all_reduce")
    buf, own = _device_buffer(tensor) if nccl is not None else _host_buffer(tensor)

    def finish():
        if op == ReduceOp.AVG:
            _mean_in_place(buf, g.size)
        _write_back(tensor, buf, own)

    if nccl is not None:
        return _complete(nccl.all_reduce(buf, op, finish=finish), async_op)
    mpi_op = _mpi_op(op, "all_reduce")
    if async_op:
        return Work(g.comm.Iallreduce(_mpi().IN_PLACE, buf, op=mpi_op), finish)
    g.comm.Allreduce(_mpi().IN_PLACE, buf, op=mpi_op)
    finish()
    return None


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place."""
    _check_tensor("broadcast", tensor)
    g = _require("broadcast")
    if not 0 <= src < g.size:
        raise ValueError(f"broadcast: src={src} is not a rank of this job (ranks 0..{g.size - 1})")
    nccl = _nccl_for(g, tensor, "broadcast")
    buf, own = _device_buffer(tensor) if nccl is not None else _host_buffer(tensor)
    if nccl is not None:
        return _complete(nccl.broadcast(buf, src, finish=lambda: _write_back(tensor, buf, own)), async_op)
    if async_op:
        return Work(g.comm.Ibcast(buf, root=src), lambda: _write_back(tensor, buf, own))
    g.comm.Bcast(buf, root=src)
    _write_back(tensor, buf, own)
    return None


def reduce(tensor, dst: int = 0, op: str = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (the others keep theirs)."""
    _check_tensor("reduce", tensor)
    g = _require("reduce")
    nccl = _nccl_for(g, tensor, "reduce")
    buf, own = _device_buffer(tensor) if nccl is not None else _host_buffer(tensor)

    def finish():
        if g.rank == dst:
            if op == ReduceOp.AVG:
                _mean_in_place(buf, g.size)
            _write_back(tensor, buf, own)

    if nccl is not None:
        return _complete(nccl.reduce(buf, op, dst, finish=finish), async_op)
    out = np.empty_like(buf) if g.rank == dst else None
    g.comm.Reduce(buf, out, op=_mpi_op(op, "reduce"), root=dst)
    if g.rank == dst:
        buf[...] = out
    finish()
    return Work(None) if async_op else None


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[r]`` with rank ``r``'s ``tensor`` on every rank (all of one shape and dtype)."""
    _check_tensor("all_gather", tensor)
    g = _require("all_gather")
    if not isinstance(tensor_list, list) or len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list must be a list of {g.size} tensors (one per rank), got "
                         f"{type(tensor_list).__name__} of length {len(tensor_list) if hasattr(tensor_list, '__len__') else '?'}")
    for i, t in enumerate(tensor_list):
        _check_tensor("all_gather", t)
        if tuple(t.shape) != tuple(tensor.shape) or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{i}] is {tuple(t.shape)} {t.dtype}, expected "
                             f"{tuple(tensor.shape)} {tensor.dtype} like the tensor sent")
    nccl = _nccl_for(g, tensor, "all_gather")
    if nccl is not None:
        for t in tensor_list:
            _nccl_for(g, t, "all_gather")
        send, _ = _device_buffer(tensor)
        with backend.cupy.cuda.Device(nccl.device):
            out = backend.cupy.empty((g.size,) + send.shape, dtype=send.dtype)

        def finish():
            for t, part in zip(tensor_list, out):
                t._data[...] = part

        return _complete(nccl.all_gather(out, send, finish=finish), async_op)
    host, _ = _host_buffer(tensor)
    out = np.empty((g.size,) + host.shape, dtype=host.dtype)
    g.comm.Allgather(host, out)
    for t, part in zip(tensor_list, out):
        t._data[...] = backend.to_device(part, t.device) if t.device.type != "cpu" else part
    return Work(None) if async_op else None
