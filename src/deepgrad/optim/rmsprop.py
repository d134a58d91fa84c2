"""RMSprop: gradient steps scaled by a running root mean square of the gradients (Hinton, 2012)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from .optimizer import Optimizer, check, descent_gradient, implementation


class RMSprop(Optimizer):
    r"""RMSprop, optionally centred and with momentum, with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}, \qquad v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2\\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \ (\text{centered, } \bar g_t = \alpha \bar g_{t-1}
               + (1 - \alpha) g_t) \quad\text{else}\quad d_t = \sqrt{v_t} + \epsilon\\
        b_t &= \mu b_{t-1} + g_t / d_t, \quad \theta_t = \theta_{t-1} - \gamma b_t \quad (\mu > 0)
              \quad\text{else}\quad \theta_t = \theta_{t-1} - \gamma g_t / d_t

    with all buffers starting at 0.

    Args:
        lr: :math:`\gamma` (default 1e-2). alpha: smoothing :math:`\alpha` (default 0.99). eps: :math:`\epsilon`
        (default 1e-8). weight_decay: :math:`\lambda` (default 0). momentum: :math:`\mu` (default 0).
        centered: normalise by the estimated variance instead of the second moment. maximize: ascend.
        capturable, foreach, differentiable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize,
                                      **implementation("RMSprop", capturable=capturable, foreach=foreach,
                                                       differentiable=differentiable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        for key in ("eps", "momentum", "weight_decay", "alpha"):
            check("RMSprop", key, group[key], group[key] >= 0, ">= 0")

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        alpha, mu = group["alpha"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(x)
            if mu > 0:
                state["momentum_buffer"] = xp.zeros_like(x)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(x)
        state["step"] += 1
        g = descent_gradient(x, g, group)
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (1 - alpha) * g
            denom = xp.sqrt(v - ga * ga)
        else:
            denom = xp.sqrt(v)
        denom += group["eps"]
        if mu > 0:
            buf = state["momentum_buffer"]
            buf *= mu
            buf += g / denom
            x -= group["lr"] * buf
        else:
            x -= group["lr"] * (g / denom)
