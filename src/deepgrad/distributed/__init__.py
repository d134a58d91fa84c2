"""``deepgrad.distributed``: data-parallel training on MPI (mpi4py over OpenMPI), under PyTorch's names.

Launch one process per rank with MPI's launcher (``mpirun -n 4 python train.py``, or ``mpirun -n 4 deepgrad train
...``); each calls :func:`init_process_group`, wraps its model in :class:`DistributedDataParallel` and reads its
share of the data through :class:`DistributedSampler`. Optional extra: ``pip install "deepgrad[mpi]"``; on GPUs
``pip install "deepgrad[nccl]"`` adds CuPy and NCCL, which then carries CUDA tensors in device memory
(:mod:`deepgrad.distributed.nccl`).
"""
from ..data.distributed import DistributedSampler
from .ddp import DistributedDataParallel
from .process_group import (
    ReduceOp,
    Work,
    all_gather,
    all_reduce,
    barrier,
    broadcast,
    destroy_process_group,
    get_backend,
    get_node_local_rank,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_main_process,
    reduce,
)

__all__ = ["init_process_group", "destroy_process_group", "is_available", "is_initialized", "get_rank",
           "get_world_size", "get_backend", "is_main_process", "barrier", "all_reduce", "broadcast", "all_gather",
           "reduce", "ReduceOp", "Work", "DistributedDataParallel", "DistributedSampler", "get_node_local_rank"]
