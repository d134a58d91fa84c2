"""Ensembles of classifiers: log p̄(y | x) = log (1/K) Σ_k softmax(f_k(x))_y, the members' predicted distributions
averaged (each member trained on its own, e.g. at its own seed)."""
from __future__ import annotations

import math
from collections.abc import Sequence

from .. import nn
from ..ops.reduce import logsumexp
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["Ensemble"]


class Ensemble(nn.Module):
    """The average of ``models``' softmax, as log-probabilities: ``argmax`` of the output is the averaged vote and
    ``cross_entropy`` of it the averaged prediction's loss. A member that already returns log-probabilities (such as
    :class:`~deepgrad.train.ShiftTTA` in eval mode) is averaged the same way, since ``log_softmax`` leaves them as
    they are.

    Args:
        models: the members, each mapping the same inputs to (N, K) logits; at least one.

    Example:
        >>> import deepgrad as dg
        >>> members = [dg.nn.Linear(4, 3) for _ in range(2)]
        >>> tuple(Ensemble(members)(dg.zeros(5, 4)).shape)
        (5, 3)
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        models = list(models)
        if not models:
            raise ValueError("Ensemble: needs at least one member model, got none")
        self.members = nn.ModuleList(models)

    def forward(self, x: Tensor) -> Tensor:
        outs = [m(x).log_softmax(1) for m in self.members]
        if len({tuple(o.shape) for o in outs}) != 1:
            raise ValueError(f"Ensemble: the members' outputs differ in shape: {[tuple(o.shape) for o in outs]}")
        return logsumexp(stack(outs), 0) - math.log(len(outs))
