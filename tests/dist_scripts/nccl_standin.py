"""A stand-in for ``cupy.cuda.nccl`` over MPI, for the strict test device: the tests' NCCL, since CI has no GPU.

It keeps the documented API that deepgrad's NCCL backend calls (CuPy 14's names, argument orders and constant
values): ``get_unique_id()`` gives 128 signed bytes as a tuple; ``NcclCommunicator(ndev, commId, rank)`` is
collective over the processes that pass the same id, one rank each; ``allReduce(sendbuf, recvbuf, count,
datatype, op, stream)``, ``reduce(..., op, root, stream)``, ``bcast(buff, count, datatype, root, stream)`` and
``allGather(sendbuf, recvbuf, count, datatype, stream)`` take raw device pointers, element counts, NCCL's dtype and
operator codes and a stream handle, and return at once. As on a GPU the result is not there yet: the call reads
its send buffer, starts a non-blocking MPI collective into scratch memory and attaches it to the strict stream
(``deepgrad.testing.strict.enqueue``); the receive buffer is written only when that work completes, when the
stream or an event recorded after the call is synchronised or waited for. Code that reads a result without
that wait sees the old values. float16 travels over MPI as float32 (OpenMPI has no 16-bit float type). Every
call is logged in ``calls`` as (name, datatype, op, count).
Not emulated: group calls, send/recv, reduceScatter, ``NCCL_AVG``, BFLOAT16 (deepgrad uses none of them).
"""
import ctypes
import os

import numpy as np
from mpi4py import MPI

from deepgrad.testing import strict

available = True
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN = 0, 1, 2, 3
(NCCL_INT8, NCCL_UINT8, NCCL_INT32, NCCL_UINT32, NCCL_INT64, NCCL_UINT64, NCCL_FLOAT16, NCCL_FLOAT32,
 NCCL_FLOAT64) = range(9)
_TYPES = {NCCL_INT8: np.int8, NCCL_UINT8: np.uint8, NCCL_INT32: np.int32, NCCL_UINT32: np.uint32,
          NCCL_INT64: np.int64, NCCL_UINT64: np.uint64, NCCL_FLOAT16: np.float16, NCCL_FLOAT32: np.float32,
          NCCL_FLOAT64: np.float64}
# what travels over MPI: OpenMPI has no 16-bit float, so float16 values travel (and are reduced) as float32
_WIRE = {NCCL_FLOAT16: np.float32}
_OPS = {NCCL_SUM: MPI.SUM, NCCL_PROD: MPI.PROD, NCCL_MAX: MPI.MAX, NCCL_MIN: MPI.MIN}
calls: list = []


class NcclError(RuntimeError):
    pass


def get_unique_id() -> tuple:
    return tuple(int(b) for b in np.frombuffer(os.urandom(128), dtype=np.int8))


def _view(ptr: int, count: int, datatype: int) -> np.ndarray:
    """The ``count`` elements at device address ``ptr`` (strict device memory is host memory)."""
    if datatype not in _TYPES:
        raise NcclError(f"NCCL_ERROR_INVALID_ARGUMENT: invalid datatype {datatype}")
    dtype = np.dtype(_TYPES[datatype])
    if count == 0:
        return np.empty(0, dtype)
    return np.frombuffer((ctypes.c_byte * (count * dtype.itemsize)).from_address(ptr), dtype=dtype)


def _sent(ptr: int, count: int, datatype: int) -> np.ndarray:
    """A copy of the send buffer, as it is when the call runs, in the type that travels."""
    return _view(ptr, count, datatype).astype(_WIRE.get(datatype, _TYPES[datatype]))


def _scratch(count: int, datatype: int) -> np.ndarray:
    return np.empty(count, _WIRE.get(datatype, _TYPES[datatype]))


def _into(ptr: int, count: int, datatype: int, scratch: np.ndarray):
    """What completes a call: its result written into the receive buffer at ``ptr``."""
    def land() -> None:
        _view(ptr, count, datatype)[...] = scratch

    return land


class _Pending:
    """A started MPI collective whose result lands in the receive buffer when it completes."""

    def __init__(self, request, land, buffers: tuple) -> None:
        # buffers: the send copy and the scratch memory MPI works in, alive until the collective is complete
        self.request, self.land, self.buffers, self.finished = request, land, buffers, False

    def test(self) -> bool:
        if not self.finished and self.request.Test():
            self._end()
        return self.finished

    def wait(self) -> None:
        if not self.finished:
            self.request.Wait()
            self._end()

    def _end(self) -> None:
        self.finished = True
        self.land()
        self.buffers = ()


class NcclCommunicator:
    def __init__(self, ndev: int, commId: tuple, rank: int) -> None:
        if len(commId) != 128:
            raise NcclError("NCCL_ERROR_INVALID_ARGUMENT: the unique id has 128 bytes")
        world = MPI.COMM_WORLD
        seen = world.allgather((tuple(commId), ndev, rank))
        if {s[0] for s in seen} != {tuple(commId)} or sorted(s[2] for s in seen) != list(range(ndev)) \
                or ndev != world.Get_size():
            raise NcclError(f"NCCL_ERROR_INVALID_USAGE: ranks disagree on the communicator: {seen}")
        self._comm, self._rank, self._ndev = world.Split(0, rank), rank, ndev

    def rank_id(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._ndev

    def device_id(self) -> int:
        return 0

    def _queue(self, stream: int, request, land, *buffers) -> None:
        strict.enqueue(stream, _Pending(request, land, buffers))

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream) -> None:  # noqa: N802 - NCCL's name
        calls.append(("allReduce", datatype, op, count))
        send, scratch = _sent(sendbuf, count, datatype), _scratch(count, datatype)
        self._queue(stream, self._comm.Iallreduce(send, scratch, op=_OPS[op]), _into(recvbuf, count, datatype, scratch),
                    send, scratch)

    def reduce(self, sendbuf, recvbuf, count, datatype, op, root, stream) -> None:
        calls.append(("reduce", datatype, op, count))
        send = _sent(sendbuf, count, datatype)
        scratch = _scratch(count, datatype) if self._rank == root else None
        land = _into(recvbuf, count, datatype, scratch) if scratch is not None else (lambda: None)  # root only
        self._queue(stream, self._comm.Ireduce(send, scratch, op=_OPS[op], root=root), land, send, scratch)

    def bcast(self, buff, count, datatype, root, stream) -> None:
        calls.append(("bcast", datatype, None, count))
        scratch = _sent(buff, count, datatype)
        self._queue(stream, self._comm.Ibcast(scratch, root=root), _into(buff, count, datatype, scratch), scratch)

    def allGather(self, sendbuf, recvbuf, count, datatype, stream) -> None:  # noqa: N802
        calls.append(("allGather", datatype, None, count))
        send, scratch = _sent(sendbuf, count, datatype), _scratch(count * self._ndev, datatype)
        self._queue(stream, self._comm.Iallgather(send, scratch), _into(recvbuf, count * self._ndev, datatype, scratch),
                    send, scratch)

    def destroy(self) -> None:
        if self._comm is not None:
            self._comm.Free()
            self._comm = None
