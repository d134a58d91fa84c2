"""Barzilai-Borwein gradient descent: a step size from the last two iterates and gradients."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .. import backend
from ..autograd import grad_mode
from .optimizer import Optimizer, check


class BarzilaiBorwein(Optimizer):
    r"""Gradient descent with the Barzilai-Borwein step size (Barzilai & Borwein, 1988), as in lecture 003.

    .. math::
        x_{n+1} = x_n - \gamma_n \nabla F(x_n), \qquad
        \gamma_n = \frac{\lvert \Delta x^\top \Delta g \rvert}{\lVert \Delta g \rVert^2}, \quad
        \Delta x = x_n - x_{n-1}, \ \Delta g = \nabla F(x_n) - \nabla F(x_{n-1}),

    with :math:`\gamma_0 =` ``lr``. :math:`\gamma_n` is the scalar :math:`\gamma` that best solves the secant equation
    :math:`\gamma\,\Delta g \approx \Delta x` in least squares: a one-number quasi-Newton estimate of the inverse
    curvature along the last move. The dot products run over *all* parameters of a group, which are treated as one
    vector :math:`x` (each group gets its own :math:`\gamma_n`). The method is not monotone (the loss may rise on
    some steps) but converges R-linearly on strictly convex quadratics, typically far faster than a fixed step.

    Safeguards: when :math:`\lVert\Delta g\rVert = 0` (the gradient did not change: the parameters did not move,
    or the objective is linear along the move) or the ratio is not finite, the step falls back to ``lr``; and
    :math:`\gamma_n` is clipped to ``step_bounds``. BB needs full-batch (deterministic) gradients: with mini-batch
    noise :math:`\Delta g` mixes curvature with sampling noise and the step size becomes erratic.

    The step used last is kept in each parameter's state as ``'step_size'``.

    Args:
        params: parameters to optimise, or parameter-group dicts.
        lr: the first step size :math:`\gamma_0` and the fallback (default 1e-3).
        step_bounds: (smallest, largest) allowed :math:`\gamma_n` (default (1e-10, 1e10)).

    References:
        J. Barzilai and J. M. Borwein, "Two-point step size gradient methods", IMA Journal of Numerical Analysis
        8(1), 141-148, 1988. M. Raydan, "The Barzilai and Borwein gradient method for the large scale unconstrained
        minimization problem", SIAM J. Optim. 7(1), 1997.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, step_bounds: tuple[float, float] = (1e-10, 1e10)) -> None:
        super().__init__(params, dict(lr=lr, step_bounds=tuple(step_bounds)))

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        lo, hi = group["step_bounds"]
        check("BarzilaiBorwein", "step_bounds", group["step_bounds"], 0 <= lo <= hi, "0 <= smallest <= largest")

    def step(self, closure: Callable | None = None):
        """One BB step for every group, from the gradients now in ``.grad``; returns ``closure()``'s loss if given."""
        loss = self._evaluate(closure)
        with grad_mode.no_grad():
            for group in self.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                if params:
                    self._group_step(group, params)
        return loss

    def _group_step(self, group: dict, params: list) -> None:
        states = [self.state.setdefault(p, {}) for p in params]
        gamma = group["lr"]
        if all("prev_param" in s for s in states):
            xp = backend.array_module(params[0]._data)
            sy = yy = 0.0
            for p, s in zip(params, states):
                dx = (p._data - s["prev_param"]).ravel()
                dg = (p.grad._data - s["prev_grad"]).ravel()
                sy = sy + xp.dot(dx, dg)
                yy = yy + xp.dot(dg, dg)
            sy, yy = float(sy), float(yy)
            if yy > 0 and math.isfinite(sy / yy):
                lo, hi = group["step_bounds"]
                gamma = min(max(abs(sy) / yy, lo), hi)
        for p, s in zip(params, states):
            g = p.grad._data
            if "prev_param" in s:
                s["prev_param"][...] = p._data
                s["prev_grad"][...] = g
            else:
                s["prev_param"], s["prev_grad"] = p._data.copy(), g.copy()
            s["step_size"] = gamma
            p._data -= gamma * g
            p._version += 1
