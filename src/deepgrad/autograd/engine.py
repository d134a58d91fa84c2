"""The backward pass: walk the graph from the outputs in reverse topological order, summing gradients.

Iterative throughout (no recursion limit, linear in the size of the graph). Broadcasting is undone here, in one
place: a gradient whose shape differs from its input's is summed back to that shape (``sum_to``).
"""
from __future__ import annotations

from . import grad_mode


def _collect(roots):
    """Nodes reachable from ``roots`` with, for each, how many consumers inside the graph will send it a gradient."""
    deps: dict = {}
    stack = []
    for r in roots:
        if r not in deps:
            deps[r] = 0
            stack.append(r)
    while stack:
        node = stack.pop()
        if getattr(node, "_released", False):
            raise RuntimeError(
                f"backward: trying to go through the graph a second time, but the values {node.name} saved "
                "for backward were freed after the first pass. Pass retain_graph=True to the first "
                "backward() or autograd.grad() call if you need to go through it again."
            )
        for t in node.inputs:
            fn = t.grad_fn
            if fn is not None:
                if fn in deps:
                    deps[fn] += 1
                else:
                    deps[fn] = 1
                    stack.append(fn)
    return deps


def _useful(deps, targets):
    """Nodes from which some target can be reached (the only paths autograd.grad needs to walk)."""
    target_nodes = {id(t.grad_fn) for t in targets if t.grad_fn is not None}
    target_ids = {id(t) for t in targets}
    # reverse-topological order of the sub-graph by Kahn's algorithm on a copy of the counts
    order, counts, ready = [], dict(deps), [n for n, c in deps.items() if c == 0]
    while ready:
        node = ready.pop()
        order.append(node)
        for t in node.inputs:
            fn = t.grad_fn
            if fn is not None:
                counts[fn] -= 1
                if counts[fn] == 0:
                    ready.append(fn)
    useful = set()
    for node in reversed(order):  # inputs before consumers
        if any(id(t) in target_ids or (t.grad_fn is not None and t.grad_fn in useful) for t in node.inputs):
            useful.add(node)
        if id(node) in target_nodes:
            useful.add(node)
    return useful


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, targets=None, accumulate=True):
    """Propagate ``root_grads`` from ``roots`` (Tensors) down the graph.

    With ``accumulate`` leaves' ``.grad`` are summed into; with ``targets`` the gradients w.r.t. those tensors
    are returned instead (a list, ``None`` where a target is unreachable).
    """
    from ..ops.shape import sum_to
    from ..tensor import Tensor

    root_nodes = [r.grad_fn for r in roots]
    deps = _collect([n for n in root_nodes if n is not None])
    grads: dict = {}
    owned = set()  # nodes whose accumulated gradient is a buffer the engine made itself: safe to add into in place
    results = None
    if targets is not None:
        useful = _useful(deps, targets)
        results = {id(t): None for t in targets}
        target_nodes = {}
        for t in targets:
            if t.grad_fn is not None:
                target_nodes[t.grad_fn] = t
    for r, g in zip(roots, root_grads):
        if r.grad_fn is None:
            if targets is not None:
                if id(r) in results:
                    results[id(r)] = g if results[id(r)] is None else results[id(r)] + g
            elif r.requires_grad:
                _accumulate_leaf(r, g, create_graph)
            continue
        node = r.grad_fn
        grads[node] = g if node not in grads else grads[node] + g

    prev = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        ready = [n for n, c in deps.items() if c == 0]
        while ready:
            node = ready.pop()
            g = grads.pop(node, None)
            if g is not None:
                hooks = node.__dict__.get("_hooks")
                if hooks:
                    for h in hooks:
                        new = h(g)
                        if new is not None:
                            g = new
                if targets is not None and node in target_nodes:
                    results[id(target_nodes[node])] = g
            skip = g is None or (targets is not None and node not in useful)
            in_grads = None
            if not skip:
                if node.saves_inputs:
                    node._check_versions()
                fn0 = node.inputs[0].grad_fn if node.accumulates and not create_graph else None
                if fn0 is not None:
                    # a sparse adjoint (x[key]): add g into the input's gradient buffer instead of building a
                    # zero tensor of the input's size per consumer (unbinding a sequence would go quadratic)
                    acc = grads.get(fn0)
                    if acc is not None and fn0 not in owned:
                        acc = acc.detach().clone()
                    grads[fn0] = Tensor._wrap(node.backward_into(None if acc is None else acc._data, g._data))
                    owned.add(fn0)
                else:
                    in_grads = node.backward(g)
            inputs = node.inputs
            for i, t in enumerate(inputs):
                fn = t.grad_fn
                gi = in_grads[i] if in_grads is not None and node.needs_input_grad[i] else None
                if gi is not None:
                    if gi.shape != t.shape:
                        gi = sum_to(gi, t.shape)
                    if fn is None:
                        if targets is not None:
                            if id(t) in results:
                                results[id(t)] = gi if results[id(t)] is None else results[id(t)] + gi
                        elif t.requires_grad:
                            _accumulate_leaf(t, gi, create_graph)
                    elif fn in grads:
                        if fn in owned and gi.dtype == grads[fn].dtype:
                            grads[fn]._data += gi._data
                        else:
                            grads[fn] = grads[fn] + gi
                            if not create_graph:
                                owned.add(fn)
                    else:
                        grads[fn] = gi
                if fn is not None:
                    deps[fn] -= 1
                    if deps[fn] == 0:
                        ready.append(fn)
            if not retain_graph:
                node._release()
    finally:
        grad_mode.state.enabled = prev
    if targets is not None:
        return [results[id(t)] for t in targets]
    return None


def _accumulate_leaf(t, g, create_graph):
    if g.dtype != t.dtype:
        g = g.to(t.dtype)
    if t._hooks:
        for h in t._hooks:
            new = h(g)
            if new is not None:
                g = new
    if not create_graph:
        g = g.detach()
    t.grad = g if t.grad is None else t.grad + g
