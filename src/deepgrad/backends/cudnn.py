"""``deepgrad.backends.cudnn``: the flags PyTorch programs set on ``torch.backends.cudnn``.

deepgrad does not use cuDNN (its GPU convolutions are im2col + GEMM through CuPy, see DESIGN.md), so
:func:`is_available` is False and the flags select nothing: a program may set ``benchmark``,
``deterministic``, ``enabled`` or ``allow_tf32`` and read them back, and deepgrad's results do not depend on
them. (deepgrad's CPU results are deterministic for a given seed and thread count; on a GPU, scatter-adds
— the gradients of indexing and embeddings — use atomics and may differ in the last bits between runs.)
"""
from __future__ import annotations

__all__ = ["is_available", "version", "benchmark", "deterministic", "enabled", "allow_tf32", "benchmark_limit"]

benchmark: bool = False
deterministic: bool = False
enabled: bool = True
allow_tf32: bool = True
benchmark_limit: int = 10


def is_available() -> bool:
    """False: deepgrad computes without cuDNN."""
    return False


def version() -> None:
    """None: no cuDNN library is loaded (PyTorch returns its version number)."""
    return None
