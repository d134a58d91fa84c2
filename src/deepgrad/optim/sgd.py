"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Optimizer, check, implementation


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum, as in PyTorch.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`:

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}                  \quad(\text{minus when maximize})\\
        b_t &= g_t \ (t = 1), \qquad b_t = \mu b_{t-1} + (1 - \tau) g_t \ (t > 1)\\
        g_t &\leftarrow g_t + \mu b_t \ (\text{nesterov}) \quad\text{or}\quad g_t \leftarrow b_t \ (\mu \ne 0)\\
        \theta_t &= \theta_{t-1} - \gamma g_t

    Args:
        params: parameters to optimise, or parameter-group dicts.
        lr: learning rate :math:`\gamma` (default 1e-3).
        momentum: momentum factor :math:`\mu` (default 0).
        dampening: dampening :math:`\tau` for the momentum (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: ascend the objective instead of descending it.
        foreach, fused, differentiable: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).

    Example:
        >>> import deepgrad as dg
        >>> w = dg.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = dg.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward(); opt.step()
        >>> w
        tensor([ 0.8, -1.6], requires_grad=True)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize,
                                      **implementation("SGD", foreach=foreach, differentiable=differentiable,
                                                       fused=fused)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check("SGD", "momentum", group["momentum"], group["momentum"] >= 0, ">= 0")
        check("SGD", "weight_decay", group["weight_decay"], group["weight_decay"] >= 0, ">= 0")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, p, g, state, group) -> None:
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if group["maximize"]:
            g = -g
        if wd != 0:
            g = g + wd * p._data
        if mu != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= mu
                buf += (1 - group["dampening"]) * g if group["dampening"] else g
            g = g + mu * buf if group["nesterov"] else buf
        p._data -= lr * g
