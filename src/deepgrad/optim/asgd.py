"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky, 1992; Bottou's schedule)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from .optimizer import Optimizer, check, descent_gradient, implementation


class ASGD(Optimizer):
    r"""Averaged SGD with PyTorch's semantics; the running average of the iterates is ``state["ax"]``.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}, \qquad
        \theta_t = \theta_{t-1}(1 - \lambda_d \eta_t) - \eta_t g_t\\
        \bar\theta_t &= \bar\theta_{t-1} + \mu_t (\theta_t - \bar\theta_{t-1})
              \quad (\bar\theta_t = \theta_t \text{ while } \mu_t = 1)\\
        \eta_{t+1} &= \frac{\gamma}{(1 + \lambda_d \gamma t)^\alpha}, \qquad \mu_{t+1} = \frac{1}{\max(1, t - t_0)}

    with :math:`\eta_1 = \gamma`, :math:`\mu_1 = 1`. Averaging starts after :math:`t_0` steps.

    Args:
        lr: :math:`\gamma` (default 1e-2). lambd: decay term :math:`\lambda_d` (default 1e-4). alpha: power
        :math:`\alpha` of the step-size schedule (default 0.75). t0: step at which averaging starts (default 1e6).
        weight_decay: L2 penalty :math:`\lambda` (default 0). maximize: ascend instead of descend.
        foreach, differentiable, capturable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0.0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                                      maximize=maximize,
                                      **implementation("ASGD", foreach=foreach, differentiable=differentiable,
                                                       capturable=capturable)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check("ASGD", "weight_decay value", group["weight_decay"], group["weight_decay"] >= 0, ">= 0")

    def _update(self, p, g, state, group) -> None:
        x = p._data
        xp = backend.array_module(x)
        lr, lambd, alpha = group["lr"], group["lambd"], group["alpha"]
        if not state:
            state["step"] = 0
            state["eta"] = float(lr)
            state["mu"] = 1.0
            state["ax"] = xp.zeros_like(x)
        state["step"] = t = state["step"] + 1
        g = descent_gradient(x, g, group)
        eta = state["eta"]
        x *= 1 - lambd * eta
        x -= eta * g
        ax = state["ax"]
        if state["mu"] != 1:
            ax += (x - ax) * state["mu"]
        else:
            ax[...] = x
        state["eta"] = lr / (1 + lambd * lr * t) ** alpha
        state["mu"] = 1 / max(1, t - group["t0"])
