"""L-BFGS: a quasi-Newton method keeping a short history of curvature pairs (Nocedal, 1980; Liu & Nocedal, 1989)."""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from .. import backend
from ..autograd import grad_mode
from .optimizer import Optimizer, check


class LBFGS(Optimizer):
    r"""Limited-memory BFGS with PyTorch's semantics; ``step(closure)`` runs up to ``max_iter`` iterations.

    The direction is :math:`d_k = -H_k \nabla f(x_k)`, where :math:`H_k` is the inverse-Hessian estimate built by the
    two-loop recursion from the last ``history_size`` pairs :math:`s_i = x_{i+1} - x_i`,
    :math:`y_i = \nabla f(x_{i+1}) - \nabla f(x_i)` (a pair is kept only when :math:`y_i^\top s_i > 10^{-10}`),
    starting from :math:`H^0 = \frac{y^\top s}{y^\top y} I`. Then :math:`x_{k+1} = x_k + t_k d_k` with
    :math:`t_k = \gamma` (:math:`\min(1, 1/\lVert g_0\rVert_1)\,\gamma` on the very first iteration), or the step
    found by a strong-Wolfe line search (Nocedal & Wright, Alg. 3.5-3.6, cubic interpolation, :math:`c_1 = 10^{-4}`,
    :math:`c_2 = 0.9`) when ``line_search_fn='strong_wolfe'``.

    Iteration stops after ``max_iter`` iterations or ``max_eval`` function evaluations, when
    :math:`\max|g| \le` ``tolerance_grad``, or when the step or the change of the loss falls below
    ``tolerance_change``. All parameters form one vector, so only one parameter group is allowed.

    Args:
        lr: :math:`\gamma` (default 1). max_iter: iterations per ``step`` (default 20). max_eval: function
        evaluations per ``step`` (default ``max_iter * 5 // 4``). tolerance_grad: default 1e-7.
        tolerance_change: default 1e-9. history_size: default 100. line_search_fn: ``None`` or ``'strong_wolfe'``.
        maximize: maximise the closure's loss (the gradients and losses are negated inside, as in PyTorch).

    Example:
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = loss_fn(model(x), y)
        ...     loss.backward()
        ...     return loss
        >>> opt.step(closure)  # doctest: +SKIP
    """

    def __init__(self, params: Iterable, lr: float = 1.0, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None, *, maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_iter * 5 // 4 if max_eval is None
                                      else max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn, maximize=maximize))
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS: does not support per-parameter options (parameter groups); pass one list")

    param_shaped_state = False  # flat search direction and history over all parameters

    def _validate(self, group: dict) -> None:
        super()._validate(group)
        check("LBFGS", "max_iter", group["max_iter"], group["max_iter"] >= 1, ">= 1")
        check("LBFGS", "history_size", group["history_size"], group["history_size"] >= 1, ">= 1")
        check("LBFGS", "line_search_fn", group["line_search_fn"], group["line_search_fn"] in (None, "strong_wolfe"),
              "None or 'strong_wolfe'")

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("LBFGS: does not support per-parameter options (parameter groups); pass one list")
        super().add_param_group(param_group)

    # flat views of all parameters / gradients as one vector
    def _flat_grad(self):
        ps = self.param_groups[0]["params"]
        xp = backend.array_module(ps[0]._data)
        g = xp.concatenate([(p.grad._data if p.grad is not None else xp.zeros_like(p._data)).reshape(-1) for p in ps])
        return -g if self.param_groups[0]["maximize"] else g

    def _loss(self, loss) -> float:
        """The closure's loss as the float the search minimises (negated when maximising)."""
        return -float(loss) if self.param_groups[0]["maximize"] else float(loss)

    def _flat_params(self):
        ps = self.param_groups[0]["params"]
        return backend.array_module(ps[0]._data).concatenate([p._data.reshape(-1) for p in ps])

    def _set_flat(self, vec) -> None:
        offset = 0
        for p in self.param_groups[0]["params"]:
            n = p._data.size
            p._data[...] = vec[offset:offset + n].reshape(p._data.shape)
            p._version += 1
            offset += n

    def _evaluate_at(self, closure, x, t: float, d):
        """Loss and flat gradient at ``x + t d`` (the parameters are left there)."""
        with grad_mode.no_grad():
            self._set_flat(x + t * d)
        loss = self._loss(self._evaluate(closure))
        return loss, self._flat_grad()

    def step(self, closure: Callable | None = None):
        """Run up to ``max_iter`` L-BFGS iterations; ``closure`` (required) re-evaluates the model and its gradients
        and returns the loss. Returns the loss from the first evaluation."""
        if closure is None:
            raise RuntimeError("LBFGS: step() needs a closure that clears the gradients, computes the loss, calls "
                               "backward() and returns the loss")
        group = self.param_groups[0]
        lr, tol_change = group["lr"], group["tolerance_change"]
        state = self.state.setdefault(group["params"][0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._evaluate(closure)
        loss = self._loss(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        xp = backend.array_module(g)
        if float(xp.abs(g).max()) <= group["tolerance_grad"]:
            return orig_loss
        d, t = state.get("d"), state.get("t")
        old_y, old_s, ro = state.get("old_dirs", []), state.get("old_stps", []), state.get("ro", [])
        h_diag, prev_g = state.get("H_diag", 1.0), state.get("prev_flat_grad")
        n_iter = 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d, old_y, old_s, ro, h_diag = -g, [], [], [], 1.0
            else:
                y, s = g - prev_g, d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_y) == group["history_size"]:
                        old_y.pop(0), old_s.pop(0), ro.pop(0)
                    old_y.append(y), old_s.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = _two_loop(-g, old_s, old_y, ro, h_diag)
            prev_g, prev_loss = g.copy(), loss
            t = min(1.0, 1.0 / float(xp.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g @ d)
            if gtd > -tol_change:  # not a descent direction
                break
            if group["line_search_fn"] == "strong_wolfe":
                x0 = self._flat_params()
                loss, g, t, ls_evals = _strong_wolfe(lambda step: self._evaluate_at(closure, x0, step, d),
                                                     t, d, loss, g, gtd, tol_change)
                with grad_mode.no_grad():
                    self._set_flat(x0 + t * d)
            else:
                with grad_mode.no_grad():
                    self._set_flat(self._flat_params() + t * d)
                ls_evals = 0
                if n_iter != group["max_iter"]:
                    loss, g, ls_evals = self._loss(self._evaluate(closure)), self._flat_grad(), 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if (n_iter == group["max_iter"] or evals >= group["max_eval"]
                    or float(xp.abs(g).max()) <= group["tolerance_grad"]
                    or float(xp.abs(d * t).max()) <= tol_change or abs(loss - prev_loss) < tol_change):
                break
        state.update(d=d, t=t, old_dirs=old_y, old_stps=old_s, ro=ro, H_diag=h_diag, prev_flat_grad=prev_g,
                     prev_loss=prev_loss)
        return orig_loss


def _two_loop(q, old_s, old_y, ro, h_diag: float):
    """The L-BFGS two-loop recursion: :math:`H_k q` from the stored pairs."""
    alphas = []
    for s, y, r in zip(reversed(old_s), reversed(old_y), reversed(ro)):
        a = float(s @ q) * r
        q = q - a * y
        alphas.append(a)
    q = q * h_diag
    for s, y, r, a in zip(old_s, old_y, ro, reversed(alphas)):
        q = q + s * (a - float(y @ q) * r)
    return q


def _cubic_min(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
               bounds: tuple[float, float] | None = None) -> float:
    """Minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to ``bounds``."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2
    d2 = math.sqrt(disc)
    if x1 <= x2:
        x = x2 - (x2 - x1) * (g2 + d2 - d1) / (g2 - g1 + 2 * d2)
    else:
        x = x1 - (x1 - x2) * (g1 + d2 - d1) / (g1 - g2 + 2 * d2)
    return min(max(x, lo), hi)


def _strong_wolfe(phi, t: float, d, f0: float, g0, gtd0: float, tol_change: float,
                  c1: float = 1e-4, c2: float = 0.9, max_ls: int = 25):
    """Line search for a step satisfying the strong Wolfe conditions; ``phi(t)`` returns (loss, flat grad).

    Returns (loss, grad, t, evaluations)."""
    xp = backend.array_module(d)
    d_norm = float(xp.abs(d).max())
    f, g = phi(t)
    gtd = float(g @ d)
    evals, it = 1, 0
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f0, g0, gtd0
    done = False
    # 1) bracketing: grow t until the interval [t_prev, t] must contain an acceptable step
    while it < max_ls:
        if f > f0 + c1 * t * gtd0 or (it > 1 and f >= f_prev):
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f, g, gtd]]
            break
        if abs(gtd) <= -c2 * gtd0:
            br, done = [[t, f, g, gtd]], True
            break
        if gtd >= 0:
            br = [[t_prev, f_prev, g_prev, gtd_prev], [t, f, g, gtd]]
            break
        t_next = _cubic_min(t_prev, f_prev, gtd_prev, t, f, gtd, bounds=(t + 0.01 * (t - t_prev), 10 * t))
        t_prev, f_prev, g_prev, gtd_prev = t, f, g, gtd
        t = t_next
        f, g = phi(t)
        gtd = float(g @ d)
        evals, it = evals + 1, it + 1
    else:
        br = [[0.0, f0, g0, gtd0], [t, f, g, gtd]]
    # 2) zoom: shrink the bracket by safeguarded cubic interpolation
    lo, hi = (0, 1) if br[0][1] <= br[-1][1] else (1, 0)
    insufficient = False
    while not done and it < max_ls:
        if abs(br[1][0] - br[0][0]) * d_norm < tol_change:
            break
        t = _cubic_min(*br[0][:2], br[0][3], *br[1][:2], br[1][3])
        a, b = min(br[0][0], br[1][0]), max(br[0][0], br[1][0])
        margin = 0.1 * (b - a)
        if min(b - t, t - a) < margin:  # too close to an end: move inside unless progress is being made
            if insufficient or t >= b or t <= a:
                t = b - margin if abs(t - b) < abs(t - a) else a + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f, g = phi(t)
        gtd = float(g @ d)
        evals, it = evals + 1, it + 1
        if f > f0 + c1 * t * gtd0 or f >= br[lo][1]:
            br[hi] = [t, f, g, gtd]
            lo, hi = (0, 1) if br[0][1] <= br[1][1] else (1, 0)
        else:
            if abs(gtd) <= -c2 * gtd0:
                done = True
            elif gtd * (br[hi][0] - br[lo][0]) >= 0:
                br[hi] = br[lo]
            br[lo] = [t, f, g, gtd]
    t, f, g, _ = br[lo]
    return f, g, t, evals
