"""NCCL through CuPy (``cupy.cuda.nccl``): collectives on CUDA tensors in device memory, with no host copy.

MPI does the rendezvous: rank 0 draws NCCL's unique id, MPI broadcasts it, and every rank creates its
``NcclCommunicator(world_size, unique_id, rank)`` on its GPU. Each collective is queued on the communicator's own
non-blocking stream, after an event recorded on the caller's current stream (so it reads finished buffers);
an event recorded after it completes the returned :class:`~deepgrad.distributed.Work`: ``wait()`` makes the
current stream wait for that event (the host does not block, as in PyTorch), then finishes on that stream what
NCCL leaves to do (the division of ``AVG``, the copy back into a non-contiguous tensor). NCCL calls take raw
pointers, element counts, NCCL's dtype and operator codes and a stream handle.

The module is found through :func:`nccl_module`, the one seam: CuPy's ``cupy.cuda.nccl`` when CuPy is the CUDA
backend and its NCCL library loads, or the stand-in installed with :func:`set_nccl_module` (the tests run the
backend on the strict test device with an NCCL stand-in over MPI).
"""
from __future__ import annotations

import sys

import numpy as np

from .. import backend

__all__ = ["nccl_module", "set_nccl_module", "unavailable_reason", "NcclGroup"]

_standin = None


def set_nccl_module(module):
    """Use ``module`` (the API of ``cupy.cuda.nccl``) for NCCL, or CuPy's again with ``None``; returns the previous.

    For tests without a GPU, with :func:`deepgrad.testing.strict_device`; a user never needs it.
    """
    global _standin
    previous, _standin = _standin, module
    return previous


def _cupy_nccl():
    """(CuPy's nccl module or None, why not)."""
    xp = backend.cupy
    if xp is None:
        return None, "CuPy is not installed or sees no GPU"
    if sys.modules.get("cupy") is not xp:  # the strict test device, which has no NCCL of its own
        return None, "the CUDA backend is not CuPy (the strict test device) and no NCCL stand-in is installed"
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        return None, f"cupy.cuda.nccl cannot be imported ({e})"
    if not getattr(nccl, "available", False):
        return None, "CuPy could not load the NCCL library (cupy.cuda.nccl.available is False)"
    return nccl, None


def nccl_module():
    """The NCCL module in use: the stand-in set by :func:`set_nccl_module`, else CuPy's, else ``None``."""
    return _standin if _standin is not None else _cupy_nccl()[0]


def unavailable_reason() -> str:
    """Why :func:`nccl_module` is ``None``, in words (empty when NCCL is available)."""
    return "" if nccl_module() is not None else _cupy_nccl()[1]


# deepgrad dtype -> the name of NCCL's dtype code. NCCL has no int16 and no bool: bool travels as uint8, and its
# SUM and PRODUCT become MAX and MIN (logical or, logical and), as in PyTorch's NCCL backend.
_DTYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64", "int8": "NCCL_INT8",
           "uint8": "NCCL_UINT8", "int32": "NCCL_INT32", "uint32": "NCCL_UINT32", "int64": "NCCL_INT64",
           "uint64": "NCCL_UINT64", "bool": "NCCL_UINT8"}
# deepgrad.distributed.ReduceOp -> NCCL's operator; AVG is a SUM divided afterwards (also for integers)
_OPS = {"sum": "NCCL_SUM", "avg": "NCCL_SUM", "product": "NCCL_PROD", "min": "NCCL_MIN", "max": "NCCL_MAX"}
_BOOL_OPS = {"sum": "NCCL_MAX", "product": "NCCL_MIN", "min": "NCCL_MIN", "max": "NCCL_MAX"}


def nccl_dtype(nccl, dtype, op_name: str) -> int:
    """NCCL's code for ``dtype``; a sentence naming the collective when NCCL has none."""
    name = np.dtype(dtype).name
    if name not in _DTYPES:
        raise TypeError(f"{op_name}: backend 'nccl' cannot carry {name} tensors (NCCL has no such type); "
                        f"expected one of {', '.join(sorted(_DTYPES))}")
    return getattr(nccl, _DTYPES[name])


def nccl_op(nccl, op: str, dtype, op_name: str) -> int:
    table = _OPS
    if np.dtype(dtype) == np.bool_:
        if op == "avg":
            raise TypeError(f"{op_name}: ReduceOp.AVG is not defined for bool tensors")
        table = _BOOL_OPS
    if op not in table:
        raise ValueError(f"{op_name}: unknown op {op!r}; expected a deepgrad.distributed.ReduceOp")
    return getattr(nccl, table[op])


class _StreamEvent:
    """The completion of queued NCCL work, as the request a :class:`Work` waits for."""

    __slots__ = ("event", "device", "keep")

    def __init__(self, event, device: int, keep: tuple) -> None:
        self.event, self.device, self.keep = event, device, keep  # keep: the buffers NCCL is using

    def Test(self) -> bool:  # noqa: N802 - the name of an MPI request's method, which Work calls
        return bool(self.event.done)

    def Wait(self) -> None:  # noqa: N802
        xp = backend.cupy
        with xp.cuda.Device(self.device):
            xp.cuda.get_current_stream().wait_event(self.event)
        self.keep = ()  # later work on the current stream (a reuse of the memory) runs after the event


class NcclGroup:
    """One NCCL communicator over the ranks of an MPI communicator, on one GPU, with its own stream."""

    def __init__(self, mpi_comm, device: int, nccl=None) -> None:
        nccl = nccl_module() if nccl is None else nccl
        rank, size = mpi_comm.Get_rank(), mpi_comm.Get_size()
        unique_id = nccl.get_unique_id() if rank == 0 else None
        unique_id = mpi_comm.bcast(unique_id, root=0)
        xp = backend.cupy
        self.nccl, self.device, self.rank, self.size = nccl, device, rank, size
        with xp.cuda.Device(device):
            try:
                self.comm = nccl.NcclCommunicator(size, unique_id, rank)
            except Exception as e:  # noqa: BLE001 - NCCL's own error, put in context
                raise RuntimeError(f"init_process_group: NCCL could not create the communicator of rank {rank} of "
                                   f"{size} on cuda:{device} ({e}); NCCL needs a GPU of its own for each rank on a "
                                   "machine, so start at most as many ranks per machine as it has GPUs") from e
            self.stream = xp.cuda.Stream(non_blocking=True)

    def _launch(self, buffers: tuple, call, finish=None):
        """Queue ``call(stream_ptr)`` on the NCCL stream after the current stream's work; a Work for its end."""
        from .process_group import Work

        xp = backend.cupy
        with xp.cuda.Device(self.device):
            self.stream.wait_event(xp.cuda.get_current_stream().record())
            call(self.stream.ptr)
            done = self.stream.record()
        return Work(_StreamEvent(done, self.device, buffers), finish)

    @staticmethod
    def _ptr(a) -> int:
        return a.data.ptr

    def all_reduce(self, buf, op: str, op_name: str = "all_reduce", finish=None):
        """Reduce the contiguous device array ``buf`` in place over the ranks (``AVG``: sum, divided by finish)."""
        dt, code = nccl_dtype(self.nccl, buf.dtype, op_name), nccl_op(self.nccl, op, buf.dtype, op_name)
        p = self._ptr(buf)
        return self._launch((buf,), lambda s: self.comm.allReduce(p, p, buf.size, dt, code, s), finish)

    def broadcast(self, buf, root: int, finish=None):
        dt, p = nccl_dtype(self.nccl, buf.dtype, "broadcast"), self._ptr(buf)
        return self._launch((buf,), lambda s: self.comm.bcast(p, buf.size, dt, root, s), finish)

    def reduce(self, buf, op: str, root: int, finish=None):
        """Reduce ``buf`` into rank ``root``'s ``buf`` (in place; NCCL leaves the other ranks' buffers alone)."""
        dt, code = nccl_dtype(self.nccl, buf.dtype, "reduce"), nccl_op(self.nccl, op, buf.dtype, "reduce")
        p = self._ptr(buf)
        return self._launch((buf,), lambda s: self.comm.reduce(p, p, buf.size, dt, code, root, s), finish)

    def all_gather(self, out, buf, finish=None):
        """``out[r]`` = rank ``r``'s ``buf``, for ``out`` of shape ``(world_size,) + buf.shape`` (contiguous)."""
        dt = nccl_dtype(self.nccl, buf.dtype, "all_gather")
        src, dst = self._ptr(buf), self._ptr(out)
        return self._launch((buf, out), lambda s: self.comm.allGather(src, dst, buf.size, dt, s), finish)

    def synchronize(self) -> None:
        """Block the host until every queued NCCL call of this rank has finished."""
        with backend.cupy.cuda.Device(self.device):
            self.stream.synchronize()

    def destroy(self) -> None:
        self.synchronize()
        self.comm.destroy()
