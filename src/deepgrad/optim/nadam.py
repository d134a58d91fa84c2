"""NAdam: Adam with Nesterov momentum and a momentum-decay schedule (Dozat, 2016)."""
from __future__ import annotations

import math
from collections.abc import Iterable

from .. import backend
from .adamax import check_betas_eps_decay
from .optimizer import Optimizer, check, descent_gradient, implementation


class NAdam(Optimizer):
    r"""NAdam with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}
              \quad(\text{or } \theta_{t-1} \leftarrow \theta_{t-1}(1 - \gamma\lambda) \text{ if decoupled})\\
        \mu_t &= \beta_1 \bigl(1 - \tfrac12\, 0.96^{t\psi}\bigr), \qquad
        \mu_{t+1} = \beta_1 \bigl(1 - \tfrac12\, 0.96^{(t+1)\psi}\bigr), \qquad \Pi_t = \prod_{i \le t} \mu_i\\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        d_t = \sqrt{v_t / (1 - \beta_2^t)} + \epsilon\\
        \theta_t &= \theta_{t-1} - \gamma \frac{1 - \mu_t}{1 - \Pi_t} \frac{g_t}{d_t}
                   - \gamma \frac{\mu_{t+1}}{1 - \Pi_t \mu_{t+1}} \frac{m_t}{d_t}

    with :math:`m_0 = v_0 = 0` and :math:`\Pi_0 = 1` (``mu_product`` in the state).

    Args:
        lr: :math:`\gamma` (default 2e-3). betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8). weight_decay: :math:`\lambda` (default 0).
        momentum_decay: :math:`\psi` (default 4e-3). decoupled_weight_decay: shrink the parameter instead of
        adding :math:`\lambda\theta` to the gradient (NAdamW). maximize: ascend instead of descend.
        foreach, capturable, differentiable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize,
                                      **implementation("NAdam", foreach=foreach, capturable=capturable,
                                                       differentiable=differentiable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check_betas_eps_decay("NAdam", group)
        check("NAdam", "momentum_decay value", group["momentum_decay"], group["momentum_decay"] >= 0, ">= 0")

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        lr, (b1, b2), psi = group["lr"], group["betas"], group["momentum_decay"]
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(x)
            state["exp_avg_sq"] = xp.zeros_like(x)
        state["step"] = t = state["step"] + 1
        g = descent_gradient(x, g, group)
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] = mu_product = state["mu_product"] * mu
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        denom = xp.sqrt(v) / math.sqrt(1 - b2 ** t) + group["eps"]
        x -= lr * (1 - mu) / (1 - mu_product) * (g / denom)
        x -= lr * mu_next / (1 - mu_product * mu_next) * (m / denom)
