"""Numerical checks of analytical gradients by central differences, in float64."""
from __future__ import annotations

import numpy as np

from .. import backend


class GradcheckError(AssertionError):
    """An analytical gradient disagrees with its finite-difference estimate."""


def _as_list(x):
    from ..tensor import Tensor

    return [x] if isinstance(x, Tensor) else list(x)


def _numerical_jacobian(fn, inputs, i, eps):
    """J[k, j] = ∂ out_k / ∂ inputs[i]_j by (f(x + eps e_j) - f(x - eps e_j)) / 2 eps."""
    x = inputs[i]
    flat = x._data.reshape(-1)  # a view: perturb in place
    cols = []
    for j in range(flat.size):  # with the graph recorded: gradgradcheck differentiates inside fn
        orig = flat[j].item()
        flat[j] = orig + eps
        plus = np.concatenate([backend.to_numpy(o._data).astype(np.float64).ravel() for o in _as_list(fn(*inputs))])
        flat[j] = orig - eps
        minus = np.concatenate([backend.to_numpy(o._data).astype(np.float64).ravel() for o in _as_list(fn(*inputs))])
        flat[j] = orig
        cols.append((plus - minus) / (2 * eps))
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def _analytical_jacobian(fn, inputs, diff_idx):
    from ..tensor import Tensor
    from . import grad as autograd_grad

    outs = _as_list(fn(*inputs))
    sizes = [o.numel() for o in outs]
    total = sum(sizes)
    jac = {i: np.zeros((total, inputs[i].numel())) for i in diff_idx}
    row = 0
    for o in outs:
        if not o.requires_grad:
            row += o.numel()
            continue
        for k in range(o.numel()):
            seed = np.zeros(o.numel())
            seed[k] = 1.0
            gs = autograd_grad([o], [inputs[i] for i in diff_idx],
                               grad_outputs=[Tensor._wrap(backend.to_device(seed.reshape(o.shape).astype(o.dtype), o.device))],
                               retain_graph=True, allow_unused=True)
            for i, g in zip(diff_idx, gs):
                if g is not None:
                    if tuple(g.shape) != tuple(inputs[i].shape):
                        raise GradcheckError(f"gradcheck: gradient for input {i} has shape {tuple(g.shape)}, "
                                             f"expected {tuple(inputs[i].shape)}")
                    jac[i][row + k] = backend.to_numpy(g._data).astype(np.float64).ravel()
        row += o.numel()
    return jac


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare the autograd Jacobian of ``fn(*inputs)`` with central finite differences.

    Every floating input with ``requires_grad`` is checked; they should be float64. Returns True, or raises
    :class:`GradcheckError` naming the input and the worst entry.
    """
    inputs = _as_list(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    if not diff_idx:
        raise ValueError("gradcheck: no input has requires_grad=True")
    for i in diff_idx:
        if inputs[i].dtype != np.float64:
            import warnings

            warnings.warn(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 for a meaningful check", stacklevel=2)
    analytical = _analytical_jacobian(fn, inputs, diff_idx)
    for i in diff_idx:
        num = _numerical_jacobian(fn, inputs, i, eps)
        ana = analytical[i]
        if num.shape != ana.shape:
            raise GradcheckError(f"gradcheck: Jacobian shapes differ for input {i}: {ana.shape} vs {num.shape}")
        bad = ~np.isclose(ana, num, rtol=rtol, atol=atol, equal_nan=True)
        if bad.any():
            k, j = np.argwhere(bad)[0]
            msg = (f"gradcheck: input {i} (shape {tuple(inputs[i].shape)}): analytical and numerical Jacobians differ "
                   f"at output element {k}, input element {j}: analytical {ana[k, j]:.8g} vs numerical "
                   f"{num[k, j]:.8g} ({int(bad.sum())} of {bad.size} entries off; atol={atol}, rtol={rtol})")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Gradcheck of the gradient: checks second derivatives through ``create_graph=True``."""
    from ..tensor import Tensor
    from . import grad as autograd_grad

    inputs = _as_list(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if getattr(t, "requires_grad", False)]
    outs = _as_list(fn(*inputs))
    rng = np.random.default_rng(0)
    if grad_outputs is None:
        grad_outputs = [Tensor._wrap(backend.to_device(rng.standard_normal(o.shape).astype(o.dtype), o.device))
                        for o in outs]
    grad_outputs = _as_list(grad_outputs)

    def first_grads(*xs):
        os_ = _as_list(fn(*xs))
        gs = autograd_grad(os_, [xs[i] for i in diff_idx], grad_outputs=grad_outputs, create_graph=True,
                           allow_unused=True)
        return [g for g in gs if g is not None and g.requires_grad]

    if not first_grads(*inputs):
        return True  # the function is linear in every input: its second derivatives are zero
    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
