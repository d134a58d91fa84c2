"""Adagrad: per-coordinate step sizes from the accumulated squared gradients (Duchi, Hazan & Singer, 2011)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from .optimizer import Optimizer, check, descent_gradient, implementation


class Adagrad(Optimizer):
    r"""Adagrad with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}, \qquad
        \tilde\gamma_t = \frac{\gamma}{1 + (t - 1)\eta}\\
        s_t &= s_{t-1} + g_t^2 \quad (s_0 = \text{initial\_accumulator\_value})\\
        \theta_t &= \theta_{t-1} - \tilde\gamma_t \frac{g_t}{\sqrt{s_t} + \epsilon}

    Args:
        lr: :math:`\gamma` (default 1e-2). lr_decay: :math:`\eta` (default 0). weight_decay: :math:`\lambda`
        (default 0). initial_accumulator_value: :math:`s_0` (default 0). eps: :math:`\epsilon` (default 1e-10).
        maximize: ascend instead of descend.
        foreach, differentiable, fused: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps,
                                      initial_accumulator_value=initial_accumulator_value, maximize=maximize,
                                      **implementation("Adagrad", foreach=foreach, differentiable=differentiable,
                                                       fused=fused)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check("Adagrad", key, group[key], group[key] >= 0, ">= 0")

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(x, group["initial_accumulator_value"])
        state["step"] = t = state["step"] + 1
        g = descent_gradient(x, g, group)
        s = state["sum"]
        s += g * g
        denom = xp.sqrt(s)
        denom += group["eps"]
        x -= (group["lr"] / (1 + (t - 1) * group["lr_decay"])) * (g / denom)
