"""RAdam: Adam with the variance of the adaptive learning rate rectified (Liu et al., 2020)."""
from __future__ import annotations

import math
from collections.abc import Iterable

from .. import backend
from .adamax import check_betas_eps_decay
from .optimizer import Optimizer, descent_gradient, implementation


class RAdam(Optimizer):
    r"""RAdam with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}
              \quad(\text{or } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda) \text{ if decoupled})\\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = m_t / (1 - \beta_1^t)\\
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}\\
        \theta_t &= \theta_{t-1} - \gamma \hat m_t\, r_t \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon}, \quad
        r_t = \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}
        \quad\text{if } \rho_t > 5, \quad\text{else}\quad \theta_t = \theta_{t-1} - \gamma \hat m_t

    Args:
        lr: :math:`\gamma` (default 1e-3). betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8). weight_decay: :math:`\lambda` (default 0).
        decoupled_weight_decay: shrink the parameter instead of adding :math:`\lambda\theta` to the gradient.
        maximize: ascend instead of descend.
        foreach, capturable, differentiable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                                      **implementation("RAdam", foreach=foreach, capturable=capturable,
                                                       differentiable=differentiable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check_betas_eps_decay("RAdam", group)

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        lr, (b1, b2) = group["lr"], group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(x)
            state["exp_avg_sq"] = xp.zeros_like(x)
        state["step"] = t = state["step"] + 1
        g = descent_gradient(x, g, group)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / bc2
        if rho_t > 5:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            x -= (lr / bc1 * rect * math.sqrt(bc2)) * (m / (xp.sqrt(v) + group["eps"]))
        else:
            x -= (lr / bc1) * m
