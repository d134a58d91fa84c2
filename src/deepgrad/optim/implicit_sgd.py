"""Implicit (proximal) SGD for linear least squares, stable for any learning rate (Toulis & Airoldi)."""
from __future__ import annotations

from collections.abc import Iterable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from .optimizer import Optimizer, check


class ImplicitSGD(Optimizer):
    r"""Implicit stochastic gradient descent (ISGD) for a linear model :math:`\hat y = W x + b` under squared loss.

    Explicit SGD evaluates the gradient at the *old* parameters; implicit SGD evaluates it at the *new* ones:

    .. math::
        \theta_n = \theta_{n-1} - \gamma \nabla L(\theta_n), \qquad
        L(\theta) = \frac{1}{2B} \sum_{i=1}^{B} \lVert y_i - W x_i - b \rVert^2 .

    For one sample and one output (:math:`\tilde x = (x, 1)` when there is a bias) the fixed point is
    :math:`\theta_n = \theta_{n-1} + \gamma (y - \tilde x^\top\theta_n)\tilde x`, solved in closed form:

    .. math::
        \theta_n = \theta_{n-1} + \frac{\gamma}{1 + \gamma \lVert \tilde x \rVert^2}
                   \,(y - \tilde x^\top \theta_{n-1})\, \tilde x .

    For a mini-batch :math:`\tilde X \in \mathbb{R}^{B \times (d+1)}` with residuals
    :math:`R = Y - \tilde X\Theta_{n-1}` the same equation gives (push-through identity, a :math:`B\times B` solve)

    .. math::
        \Theta_n = \Theta_{n-1} + \tfrac{\gamma}{B}\tilde X^\top
                   \left(I_B + \tfrac{\gamma}{B}\tilde X \tilde X^\top\right)^{-1} R .

    Why it is stable for any ``lr``: the update is the proximal step
    :math:`\theta_n = \arg\min_\theta L(\theta) + \lVert\theta - \theta_{n-1}\rVert^2 / (2\gamma)`, so it never
    increases the loss on the current batch and cannot overshoot: for one sample the residual becomes
    :math:`r / (1 + \gamma\lVert\tilde x\rVert^2)`, shrunk towards 0 for every :math:`\gamma > 0`, whereas explicit SGD
    multiplies it by :math:`1 - \gamma\lVert\tilde x\rVert^2` and diverges once :math:`\gamma\lVert\tilde x\rVert^2 > 2`.
    A large ``lr`` only makes the step approach the exact fit of the current batch. Learning-rate schedulers work as
    usual (Toulis & Airoldi use :math:`\gamma_n = \gamma_1 n^{-\alpha}`, e.g. ``LambdaLR``).

    Args:
        params: ``[weight]`` or ``[weight, bias]`` of the linear model: weight of shape ``(d,)`` (one output) or
            ``(k, d)`` as in ``nn.Linear(d, k)``; bias of shape ``()``/``(1,)`` or ``(k,)``. Gradients are not used.
        lr: :math:`\gamma` (default 0.1).

    Example:
        >>> import deepgrad as dg
        >>> w = dg.zeros(2)
        >>> opt = dg.optim.ImplicitSGD([w], lr=100.0)   # explicit SGD would diverge at this lr
        >>> loss = opt.step(dg.tensor([1.0, 2.0]), dg.tensor(5.0))
        >>> round(float(w @ dg.tensor([1.0, 2.0])), 3)   # almost fits the sample, no overshoot
        4.99

    References:
        P. Toulis and E. M. Airoldi, "Asymptotic and finite-sample properties of estimators based on stochastic
        gradients", Annals of Statistics 45(4), 2017. P. Toulis, E. M. Airoldi and J. Rennie, "Statistical analysis
        of stochastic gradient methods for generalized linear models", ICML 2014.
    """

    def __init__(self, params: Iterable, lr: float = 0.1) -> None:
        super().__init__(params, dict(lr=lr))
        if len(self.param_groups) != 1:
            raise ValueError("ImplicitSGD: takes one parameter group: [weight] or [weight, bias]")

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError("ImplicitSGD: takes one parameter group: [weight] or [weight, bias]")
        super().add_param_group(param_group)
        params = self.param_groups[0]["params"]
        w = params[0]
        if len(params) > 2 or w.ndim not in (1, 2):
            raise ValueError(f"ImplicitSGD: expected [weight] or [weight, bias] with weight of shape (d,) or (k, d); "
                             f"got {len(params)} tensor(s), the first of shape {tuple(w.shape)}")
        k = 1 if w.ndim == 1 else w.shape[0]
        if len(params) == 2 and params[1]._data.size != k:
            raise ValueError(f"ImplicitSGD: bias of shape {tuple(params[1].shape)} does not match a weight of shape "
                             f"{tuple(w.shape)} ({k} output(s))")

    def _validate(self, group: dict) -> None:
        check("ImplicitSGD", "learning rate", group["lr"], group["lr"] > 0, "> 0")

    def step(self, x, y) -> float:  # type: ignore[override]
        """Update the parameters from inputs ``x`` (``(d,)`` or ``(B, d)``) and targets ``y`` (scalar, ``(B,)``,
        ``(k,)`` or ``(B, k)``); returns the loss :math:`L` of the batch *before* the update."""
        group = self.param_groups[0]
        w, b = group["params"][0], (group["params"][1] if len(group["params"]) == 2 else None)
        W = w._data.reshape(-1, w.shape[-1])  # (k, d)
        xp = backend.array_module(W)
        k, d = W.shape
        X = _array(x, W).reshape(-1, d)
        Y = _array(y, W).reshape(X.shape[0], k)
        B = X.shape[0]
        if b is not None:
            X = xp.concatenate([X, xp.ones((B, 1), dtype=X.dtype)], axis=1)
            theta = xp.concatenate([W.T, b._data.reshape(1, k)], axis=0)  # (d+1, k)
        else:
            theta = W.T
        R = Y - X @ theta
        c = group["lr"] / B
        if B == 1:
            delta = (c / (1.0 + c * float(X[0] @ X[0]))) * (X.T @ R)
        else:
            delta = c * (X.T @ xp.linalg.solve(xp.eye(B, dtype=X.dtype) + c * (X @ X.T), R))
        with grad_mode.no_grad():
            w._data += delta[:d].T.reshape(w.shape)
            w._version += 1
            if b is not None:
                b._data += delta[d].reshape(b.shape)
                b._version += 1
        return float((R * R).sum()) / (2 * B)


def _array(v, like):
    """``v`` (Tensor, array or number) as an array on ``like``'s device with its dtype."""
    a = v._data if isinstance(v, Tensor) else v
    xp = backend.array_module(like)
    return xp.asarray(backend.to_device(a, backend.device_of(like)) if hasattr(a, "shape") else a, dtype=like.dtype)
