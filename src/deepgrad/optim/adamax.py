"""Adamax: Adam with the infinity norm in place of the second moment (Kingma & Ba, 2015, section 7)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from .optimizer import Optimizer, check, descent_gradient, implementation


class Adamax(Optimizer):
    r"""Adamax with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}, \qquad m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t\\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon), \qquad
        \theta_t = \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \frac{m_t}{u_t}

    with :math:`m_0 = u_0 = 0` (``exp_avg`` and ``exp_inf`` in the state).

    Args:
        lr: :math:`\gamma` (default 2e-3). betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8). weight_decay: L2 penalty :math:`\lambda` (default 0).
        maximize: ascend instead of descend.
        foreach, differentiable, capturable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      maximize=maximize,
                                      **implementation("Adamax", foreach=foreach, differentiable=differentiable,
                                                       capturable=capturable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check_betas_eps_decay("Adamax", group)

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        b1, b2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(x)
            state["exp_inf"] = xp.zeros_like(x)
        state["step"] = t = state["step"] + 1
        g = descent_gradient(x, g, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m *= b1
        m += (1 - b1) * g
        u *= b2
        xp.maximum(u, xp.abs(g) + group["eps"], out=u)
        x -= group["lr"] / (1 - b1 ** t) * (m / u)


def check_betas_eps_decay(name: str, group: dict) -> None:
    """The checks Adam's relatives share: eps >= 0, each beta in [0, 1), weight_decay >= 0."""
    check(name, "epsilon value", group["eps"], group["eps"] >= 0, ">= 0")
    b1, b2 = group["betas"]
    check(name, "beta parameter at index 0", b1, 0 <= b1 < 1, "in [0, 1)")
    check(name, "beta parameter at index 1", b2, 0 <= b2 < 1, "in [0, 1)")
    check(name, "weight_decay value", group["weight_decay"], group["weight_decay"] >= 0, ">= 0")
