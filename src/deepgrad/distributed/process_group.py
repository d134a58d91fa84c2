"""The process group: rank, world size and collectives on MPI (mpi4py over OpenMPI), under PyTorch's names.

``init_process_group()`` reads the rank and the world size from the MPI launcher (``mpirun -n N python train.py``);
collectives work in place on Tensors, on the CPU and on CUDA (device tensors are staged through the host, or go
through NCCL with ``backend="nccl"`` when CuPy's NCCL bindings are present). Once the group is initialised, an
uncaught exception on any rank aborts the whole job with that rank's traceback instead of leaving the other ranks
waiting in a collective forever.
"""
from __future__ import annotations

import sys
import threading

import numpy as np

from .. import backend

__all__ = ["ReduceOp", "Work", "is_available", "is_initialized", "init_process_group", "destroy_process_group",
           "get_rank", "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast", "all_gather",
           "reduce", "is_main_process"]


class ReduceOp:
    """How :func:`all_reduce` combines the ranks' values: ``SUM`` (default), ``AVG``, ``PRODUCT``, ``MIN``, ``MAX``."""

    SUM, AVG, PRODUCT, MIN, MAX = "sum", "avg", "product", "min", "max"


class _Group:
    def __init__(self, comm, backend_name: str) -> None:
        self.comm, self.backend = comm, backend_name
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.nccl = None  # a cupy.cuda.nccl.NcclCommunicator, made on first use of a device tensor


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


def init_process_group(backend: str = "mpi", init_method: str | None = None, world_size: int = -1, rank: int = -1,
                       timeout=None, **_) -> None:
    """Join the job started by the MPI launcher: every rank calls this once, before any collective.

    Args:
        backend: ``"mpi"`` (also ``"gloo"``, accepted for PyTorch programs: both run on MPI here) or ``"nccl"``
            (MPI for the group, NCCL through CuPy for CUDA tensors).
        world_size, rank: if given, must match what the launcher says (the launcher decides them).
        init_method, timeout: accepted for PyTorch programs; MPI's launcher does the rendezvous.
    """
    global _group
    if _group is not None:
        raise RuntimeError("init_process_group: the default process group is already initialised")
    if backend not in ("mpi", "gloo", "nccl"):
        raise ValueError(f"init_process_group: unknown backend {backend!r}; expected 'mpi', 'gloo' or 'nccl'")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    group = _Group(comm, backend)
    if world_size not in (-1, None) and world_size != group.size:
        raise ValueError(f"init_process_group: world_size={world_size}, but the MPI launcher started "
                         f"{group.size} process(es); run with mpirun -n {world_size}")
    if rank not in (-1, None) and rank != group.rank:
        raise ValueError(f"init_process_group: rank={rank}, but MPI says this process is rank {group.rank}")
    _abort_on_exception(comm)
    _group = group


def destroy_process_group() -> None:
    """Leave the group (MPI itself is finalised when the process exits)."""
    global _group
    g = _require("destroy_process_group")
    g.comm.Barrier()
    _group = None


def get_rank() -> int:
    """This process's rank (0 when no group is initialised, as a single process)."""
    return 0 if _group is None else _group.rank


def get_world_size() -> int:
    """The number of processes in the job (1 when no group is initialised)."""
    return 1 if _group is None else _group.size


def get_backend() -> str:
    return _require("get_backend").backend


def is_main_process() -> bool:
    """True on rank 0, the rank that writes checkpoints and logs (and in a single process)."""
    return get_rank() == 0


def barrier() -> None:
    _require("barrier").comm.Barrier()


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


def _host_buffer(t) -> tuple[np.ndarray, bool]:
    """A contiguous host array holding ``t``'s values (the tensor's own buffer when it is one) and whether it is."""
    a = t._data
    if backend.is_device_array(a):
        return np.ascontiguousarray(backend.to_numpy(a)), False
    if isinstance(a, np.ndarray) and a.flags.c_contiguous and a.flags.writeable:
        return a, True
    return np.ascontiguousarray(a), False


def _write_back(t, host: np.ndarray, own: bool) -> None:
    if own:
        return
    t._data[...] = backend.to_device(host, t.device) if t.device.type != "cpu" else host


def all_reduce(tensor, op: str = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over all ranks, in place: every rank ends with the same result (``op`` of the values)."""
    _check_tensor("all_reduce", tensor)
    g = _require("all_reduce")
    mpi_op = _mpi_op(op, "all_reduce")
    host, own = _host_buffer(tensor)
    scale = 1.0 / g.size if op == ReduceOp.AVG else None

    def finish():
        if scale is not None:
            host[...] = host * scale if host.dtype.kind == "f" else host // g.size
        _write_back(tensor, host, own)

    if async_op:
        return Work(g.comm.Iallreduce(_mpi().IN_PLACE, host, op=mpi_op), finish)
    g.comm.Allreduce(_mpi().IN_PLACE, host, op=mpi_op)
    finish()
    return None


def broadcast(tensor, src: int = 0, group=None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place."""
    _check_tensor("broadcast", tensor)
    g = _require("broadcast")
    if not 0 <= src < g.size:
        raise ValueError(f"broadcast: src={src} is not a rank of this job (ranks 0..{g.size - 1})")
    host, own = _host_buffer(tensor)
    if async_op:
        return Work(g.comm.Ibcast(host, root=src), lambda: _write_back(tensor, host, own))
    g.comm.Bcast(host, root=src)
    _write_back(tensor, host, own)
    return None


def reduce(tensor, dst: int = 0, op: str = ReduceOp.SUM, group=None, async_op: bool = False):
    """Combine ``tensor`` over all ranks into rank ``dst``'s ``tensor`` (the others keep theirs)."""
    _check_tensor("reduce", tensor)
    g = _require("reduce")
    host, own = _host_buffer(tensor)
    out = np.empty_like(host) if g.rank == dst else None
    g.comm.Reduce(host, out, op=_mpi_op(op, "reduce"), root=dst)
    if g.rank == dst:
        host[...] = out / g.size if op == ReduceOp.AVG else out
        _write_back(tensor, host, own)
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
    host, _ = _host_buffer(tensor)
    out = np.empty((g.size,) + host.shape, dtype=host.dtype)
    g.comm.Allgather(host, out)
    for t, part in zip(tensor_list, out):
        t._data[...] = backend.to_device(part, t.device) if t.device.type != "cpu" else part
    return Work(None) if async_op else None
