"""Adam and AdamW: adaptive moment estimation (Kingma & Ba, 2015; Loshchilov & Hutter, 2019)."""
from __future__ import annotations

import math
from collections.abc import Iterable

from .. import backend
from ..ops import jit_kernels
from .optimizer import Optimizer, check, descent_gradient, implementation


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), optionally AMSGrad, with PyTorch's semantics.

    .. math::
        g_t &\leftarrow \pm g_t + \lambda \theta_{t-1}\\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2\\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ (\text{amsgrad}) \quad\text{else}\quad \hat v_t = v_t\\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}\,
                    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    with :math:`m_0 = v_0 = 0`.

    Args:
        lr: :math:`\gamma` (default 1e-3). betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8). weight_decay: L2 penalty :math:`\lambda` added to the gradient
        (default 0; see :class:`AdamW` for decoupled decay). amsgrad: use the running maximum of :math:`v_t`.
        maximize: ascend instead of descend. decoupled_weight_decay: shrink the parameter by
        :math:`1 - \gamma\lambda` instead of adding :math:`\lambda\theta` to the gradient (then Adam is AdamW).
        foreach, capturable, differentiable, fused: PyTorch's implementation switches; see
        :func:`~deepgrad.optim.optimizer.implementation` (same results).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                                      **implementation(type(self).__name__, foreach=foreach, capturable=capturable,
                                                       differentiable=differentiable, fused=fused)))

    def _validate(self, group: dict) -> None:
        name = type(self).__name__
        super()._validate(group)
        check(name, "epsilon value", group["eps"], group["eps"] >= 0, ">= 0")
        b1, b2 = group["betas"]
        check(name, "beta parameter at index 0", b1, 0 <= b1 < 1, "in [0, 1)")
        check(name, "beta parameter at index 1", b2, 0 <= b2 < 1, "in [0, 1)")
        check(name, "weight_decay value", group["weight_decay"], group["weight_decay"] >= 0, ">= 0")

    def _update(self, p, g, state, group) -> None:
        lr, (b1, b2), eps = group["lr"], group["betas"], group["eps"]
        x = p._data
        xp = backend.array_module(x)
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(x)
            state["exp_avg_sq"] = xp.zeros_like(x)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(x)
        g = descent_gradient(x, g, group)
        state["step"] = t = state["step"] + 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        jit = None if group["amsgrad"] else jit_kernels.for_arrays(xp, x.dtype, ("float32", "float64"))
        if jit is not None and x.flags.c_contiguous and m.flags.c_contiguous and v.flags.c_contiguous \
                and g.dtype == x.dtype and g.shape == x.shape:
            jit.adam_step(x.reshape(-1), xp.ascontiguousarray(g).reshape(-1), m.reshape(-1), v.reshape(-1), b1, b2,
                          t, lr, eps)  # the same passes as below, fused (see deepgrad.ops.jit_kernels)
            return
        tmp = xp.multiply(g, 1 - b1)  # one scratch array for the whole update: 8 passes over the parameter, not 13
        m *= b1
        m += tmp
        xp.multiply(g, g, out=tmp)
        tmp *= 1 - b2
        v *= b2
        v += tmp
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        denom = xp.sqrt(v, out=tmp)
        denom *= 1 / math.sqrt(1 - b2 ** t)
        denom += eps
        xp.divide(m, denom, out=denom)
        denom *= lr / (1 - b1 ** t)
        x -= denom


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's ``AdamW``.

    The parameter first shrinks, :math:`\theta \leftarrow \theta (1 - \gamma\lambda)`, then takes the
    :class:`Adam` step computed from the raw gradient. Default ``weight_decay`` is 1e-2.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)
