"""Reverse-mode automatic differentiation: ``backward``, ``grad``, grad-mode switches and ``gradcheck``."""
from __future__ import annotations

from .engine import accumulate_grad, queue_callback, run_backward
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "Function",
           "gradcheck", "gradgradcheck", "GradcheckError"]


def _root_grads(outputs, grad_outputs, op):
    from ..tensor import Tensor

    grads = []
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: outputs must be Tensors, item {i} is a {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError(
                f"{op}: output {i} (shape {tuple(t.shape)}) does not require grad and has no grad_fn, so there is "
                "nothing to differentiate. Create the leaves with requires_grad=True (or call "
                ".requires_grad_()) and make sure the computation did not run under no_grad().")
        g = None if grad_outputs is None else grad_outputs[i]
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{op}: output {i} has shape {tuple(t.shape)}; a gradient can be created implicitly only for a "
                    "scalar output. Reduce it first (e.g. loss.sum() or loss.mean()) or pass gradient= a tensor "
                    "of the same shape (the vector of the vector-Jacobian product).")
            g = t.new_ones(t.shape)
        elif not isinstance(g, Tensor):
            g = t.new_tensor(g)
        if tuple(g.shape) != tuple(t.shape):
            raise RuntimeError(f"{op}: gradient for output {i} has shape {tuple(g.shape)} but the output has shape "
                               f"{tuple(t.shape)}")
        grads.append(g)
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False, inputs=None) -> None:
    """Accumulate d(tensors)/d(leaf) into the ``.grad`` of every leaf that requires grad (or of ``inputs`` only)."""
    from ..tensor import Tensor

    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is not None and isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors]
    grads = _root_grads(tensors, grad_tensors, "backward")
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for t, g in zip(inputs, run_backward(tensors, grads, retain, create_graph, targets=inputs)):
            if g is not None:
                accumulate_grad(t, g, create_graph)
        return
    run_backward(tensors, grads, retain, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False):
    """d(outputs)/d(inputs) as a tuple, without touching any ``.grad``; only paths leading to ``inputs`` are walked.

    ``inputs`` may be leaves or intermediate tensors. With ``create_graph=True`` the result is itself
    differentiable (higher-order derivatives, e.g. Hessian-vector products).
    """
    from ..tensor import Tensor

    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad; only tensors with requires_grad=True (or "
                               "results computed from them) can be differentiated against")
    if grad_outputs is not None and isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    grads = _root_grads(outputs, grad_outputs, "grad")
    retain = create_graph if retain_graph is None else retain_graph
    res = run_backward(outputs, grads, retain, create_graph, targets=inputs)
    for i, g in enumerate(res):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tuple(inputs[i].shape)}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
    if not create_graph:
        res = [None if g is None else g.detach() for g in res]
    return tuple(res)


from .function import Function  # noqa: E402
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
