"""Rprop: resilient backpropagation, sign-based steps with per-weight adaptive sizes (Riedmiller & Braun, 1993)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from .optimizer import Optimizer, check, implementation


class Rprop(Optimizer):
    r"""Rprop (the variant without weight backtracking, as in PyTorch).

    Each weight keeps its own step size :math:`\Delta` (starting at ``lr``). With :math:`s = g_t\,g_{t-1}`:

    .. math::
        \Delta_t &= \mathrm{clip}(\eta^+ \Delta_{t-1}) \ (s > 0), \quad
                    \mathrm{clip}(\eta^- \Delta_{t-1}) \ (s < 0), \quad \Delta_{t-1} \ (s = 0)\\
        g_t &\leftarrow 0 \ \text{where } s < 0 \quad (\text{the sign flipped: skip this update and forget } g_t)\\
        \theta_t &= \theta_{t-1} - \Delta_t \operatorname{sign}(g_t)

    where clip keeps :math:`\Delta` in ``step_sizes`` and :math:`g_0 = 0`.

    Args:
        lr: initial step size (default 1e-2). etas: :math:`(\eta^-, \eta^+)` (default (0.5, 1.2)).
        step_sizes: (minimal, maximal) step size (default (1e-6, 50)). maximize: ascend instead of descend.
        capturable, foreach, differentiable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50.0), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize,
                                      **implementation("Rprop", capturable=capturable, foreach=foreach,
                                                       differentiable=differentiable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        eta_minus, eta_plus = group["etas"]
        check("Rprop", "eta values", group["etas"], 0 < eta_minus < 1 < eta_plus, "0 < etaminus < 1 < etaplus")
        lo, hi = group["step_sizes"]
        check("Rprop", "step_sizes", group["step_sizes"], 0 <= lo <= hi, "0 <= minimal <= maximal")

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        eta_minus, eta_plus = group["etas"]
        if not state:
            state["step"] = 0
            state["prev"] = xp.zeros_like(x)
            state["step_size"] = xp.full_like(x, group["lr"])
        state["step"] += 1
        g = -g if group["maximize"] else g.copy()
        s = g * state["prev"]
        factor = xp.where(s > 0, eta_plus, xp.where(s < 0, eta_minus, 1.0)).astype(x.dtype)
        size = state["step_size"]
        size *= factor
        xp.clip(size, *group["step_sizes"], out=size)
        g[s < 0] = 0
        x -= xp.sign(g) * size
        state["prev"][...] = g
