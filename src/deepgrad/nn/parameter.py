"""``Parameter``: a Tensor that a Module registers as one of its learnable weights."""
from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and is registered by :class:`Module` when assigned to it.

    It shares memory with ``data`` (no copy). Args: ``data`` (Tensor), ``requires_grad`` (default True).

    Example:
        >>> import deepgrad as dg
        >>> w = dg.nn.Parameter(dg.zeros(2, 3))
        >>> w.requires_grad, w.shape
        (True, (2, 3))
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        from ..creation import empty

        if data is None:
            data = empty(0)
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor, got {type(data).__name__}; wrap it with deepgrad.tensor()")
        if requires_grad and data.dtype.kind != "f":
            raise RuntimeError(f"Parameter: only floating tensors can require gradients, got dtype {data.dtype}")
        self._init(data._data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
