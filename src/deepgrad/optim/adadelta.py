"""Adadelta: steps sized by the ratio of running RMS of updates to running RMS of gradients (Zeiler, 2012)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from .optimizer import Optimizer, check, descent_gradient, implementation


class Adadelta(Optimizer):
    r"""Adadelta with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}, \qquad v_t = \rho v_{t-1} + (1 - \rho) g_t^2\\
        \Delta x_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t, \qquad
        u_t = \rho u_{t-1} + (1 - \rho) \Delta x_t^2, \qquad \theta_t = \theta_{t-1} - \gamma \Delta x_t

    with :math:`v_0 = u_0 = 0` (``square_avg`` and ``acc_delta`` in the state).

    Args:
        lr: :math:`\gamma`, a coefficient on the delta (default 1.0). rho: :math:`\rho` in [0, 1] (default 0.9).
        eps: :math:`\epsilon` (default 1e-6). weight_decay: L2 penalty :math:`\lambda` (default 0).
        maximize: ascend instead of descend.
        foreach, capturable, differentiable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).

    Example:
        >>> import deepgrad as dg
        >>> w = dg.tensor([1.0], requires_grad=True)
        >>> opt = dg.optim.Adadelta([w])
        >>> (w * w).sum().backward(); opt.step()
        >>> round(w.item(), 5)  # first step: sqrt(eps) / sqrt(0.1 g² + eps) · g with g = 2
        0.99684
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      **implementation("Adadelta", foreach=foreach, capturable=capturable,
                                                       differentiable=differentiable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check("Adadelta", "rho value", group["rho"], 0 <= group["rho"] <= 1, "in [0, 1]")
        check("Adadelta", "epsilon value", group["eps"], group["eps"] >= 0, ">= 0")
        check("Adadelta", "weight_decay value", group["weight_decay"], group["weight_decay"] >= 0, ">= 0")

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        rho, eps = group["rho"], group["eps"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(x)
            state["acc_delta"] = xp.zeros_like(x)
        state["step"] += 1
        g = descent_gradient(x, g, group)
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * (g * g)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * (delta * delta)
        x -= group["lr"] * delta
