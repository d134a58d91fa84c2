"""The backward pass: walk the graph from the outputs in reverse topological order, summing gradients.

Iterative throughout (no recursion limit, linear in the size of the graph). Broadcasting is undone here, in one
place: a gradient whose shape differs from its input's is summed back to that shape (``sum_to``). Edges are the
``next_functions`` each node captured when it was recorded, so an in-place op that later rebases a tensor on a
new node leaves earlier consumers pointing where they were.

A leaf's gradient is summed over all its consumers first; then its hooks run once, on the total, and the result
is added to ``.grad`` (``backward``) or returned (``autograd.grad`` and ``backward(inputs=...)``). The same
routine, :func:`leaf_gradient`, serves all three. A leaf with a post-accumulate-grad hook (DDP's buckets, an
optimiser stepping inside backward) is finished as soon as its last consumer has sent its part, during the walk,
so that work can overlap the rest of backward; callbacks queued with :func:`queue_callback` run at the very end.
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
        for fn in node.next_functions:
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
        for fn in node.next_functions:
            if fn is not None:
                counts[fn] -= 1
                if counts[fn] == 0:
                    ready.append(fn)
    useful = set()
    for node in reversed(order):  # inputs before consumers
        if id(node) in target_nodes or any(
                (fn is None and id(t) in target_ids) or (fn is not None and fn in useful)
                for t, fn in zip(node.inputs, node.next_functions)):
            useful.add(node)
    return useful


class _Walk:
    """The state of one backward pass: gradients summed per node and per leaf, and what to return."""

    def __init__(self, targets, create_graph):
        from ..ops.shape import sum_to  # the ops import this package: looked up once per pass

        self.sum_to = sum_to
        self.create_graph = create_graph
        self.grads: dict = {}
        self.owned: set = set()  # nodes whose gradient is a buffer the engine made itself: safe to add into
        self.leaves: dict = {}  # id(leaf) -> [leaf, summed gradient]
        self.targets = targets
        self.target_ids = None if targets is None else {id(t) for t in targets}
        self.node_results: dict = {}  # id(target) -> gradient, for targets made by a node
        self.eager: dict = {}  # id(leaf with post-accumulate hooks) -> consumers still to send a gradient

    def to_node(self, fn, g) -> None:
        """Add ``g`` into the gradient bound for node ``fn``."""
        grads = self.grads
        if fn not in grads:
            grads[fn] = g
        elif fn in self.owned and g.dtype == grads[fn].dtype:
            grads[fn]._data += g._data
        else:
            grads[fn] = grads[fn] + g
            if not self.create_graph:
                self.owned.add(fn)

    def to_leaf(self, t, g) -> None:
        """Add ``g`` into the gradient bound for leaf ``t`` (only leaves that are wanted)."""
        if (t.requires_grad if self.target_ids is None else id(t) in self.target_ids):
            entry = self.leaves.get(id(t))
            if entry is None:
                entry = self.leaves[id(t)] = [t, g]
            else:
                entry[1] = entry[1] + g
            if id(t) in self.eager:
                self.eager[id(t)] -= 1
                if self.eager[id(t)] == 0:  # complete: accumulate now, while the walk goes on
                    del self.leaves[id(t)]
                    accumulate_grad(t, leaf_gradient(t, entry[1]), self.create_graph)
                    for hook in list(_post_accumulate_hooks[id(t)][1]):
                        hook(t)

    def sparse_into(self, node, g) -> None:
        """A sparse adjoint (x[key]): add g into the input's buffer instead of building a zero tensor of the
        input's size per consumer (unbinding a sequence would otherwise go quadratic)."""
        from ..tensor import Tensor

        fn0 = node.next_functions[0]
        acc = self.grads.get(fn0)
        if acc is not None and fn0 not in self.owned:
            acc = acc.detach().clone()
        self.grads[fn0] = Tensor._wrap(node.backward_into(None if acc is None else acc._data, g._data))
        self.owned.add(fn0)


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, targets=None):
    """Propagate ``root_grads`` from ``roots`` (Tensors) down the graph.

    Without ``targets`` every leaf that requires grad has its gradient added to ``.grad``; with ``targets`` the
    gradients with respect to those tensors are returned instead (a list, ``None`` where one is unreachable).
    """
    walk = _Walk(targets, create_graph)
    deps = _collect([r.grad_fn for r in roots if r.grad_fn is not None])
    useful = _useful(deps, targets) if targets is not None else None
    if _post_accumulate_hooks and targets is None:
        walk.eager = _eager_counts(deps, roots)
    for r, g in zip(roots, root_grads):
        if r.grad_fn is None:
            walk.to_leaf(r, g)
        else:
            walk.to_node(r.grad_fn, g)
    prev = grad_mode.state.enabled
    grad_mode.state.enabled = create_graph
    try:
        ready = [n for n, c in deps.items() if c == 0]
        while ready:
            node = ready.pop()
            g = walk.grads.pop(node, None)
            if g is not None and (useful is None or node in useful):
                _backward_node(walk, node, g)
            for fn in node.next_functions:
                if fn is not None:
                    deps[fn] -= 1
                    if deps[fn] == 0:
                        ready.append(fn)
            if not retain_graph:
                node._release()
        leaf_grads = {k: leaf_gradient(t, g) for k, (t, g) in walk.leaves.items()}
    finally:
        grad_mode.state.enabled = prev
    if targets is None:
        for t, _ in walk.leaves.values():
            accumulate_grad(t, leaf_grads[id(t)], create_graph)
            if id(t) in _post_accumulate_hooks:  # a consumer that sent nothing left it incomplete during the walk
                for hook in list(_post_accumulate_hooks[id(t)][1]):
                    hook(t)
        _run_queued_callbacks()
        return None
    found = {**walk.node_results, **leaf_grads}
    return [found.get(id(t)) for t in targets]


def _backward_node(walk: _Walk, node, g) -> None:
    """Run one node's hooks and backward, and route the input gradients to their nodes or leaves."""
    hooks = node.__dict__.get("_hooks")
    if hooks:
        g = run_hooks(hooks, g, f"the output of {node.name}")
    if walk.target_ids is not None:
        for t in walk.targets:
            if t.grad_fn is node:
                walk.node_results[id(t)] = g
    if node.saves_inputs or node._out_modified is not None:
        node._check_versions()
    if node.accumulates and not walk.create_graph and node.next_functions[0] is not None:
        walk.sparse_into(node, g)
        return
    in_grads = node.backward(g)
    needs, grads = node.needs_input_grad, walk.grads
    for i, fn in enumerate(node.next_functions):
        gi = in_grads[i]
        if gi is None or not needs[i]:
            continue
        t = node.inputs[i]
        if gi._data.shape != t._data.shape:
            gi = walk.sum_to(gi, t.shape)
        if fn is None:
            walk.to_leaf(t, gi)
        elif fn not in grads:  # the first gradient to reach fn (to_node, inlined on the common path)
            grads[fn] = gi
        else:
            walk.to_node(fn, gi)


def run_hooks(hooks, g, owner: str):
    """Call each hook on the gradient; a returned Tensor replaces it and must match it in shape, dtype and device."""
    from ..tensor import Tensor

    for h in hooks:
        new = h(g)
        if new is None:
            continue
        if not isinstance(new, Tensor):
            raise TypeError(f"hook {getattr(h, '__name__', h)!r} registered on {owner} returned a "
                            f"{type(new).__name__}; a hook must return None or a Tensor")
        if new.shape != g.shape or new.dtype != g.dtype or new.device != g.device:
            raise RuntimeError(f"hook {getattr(h, '__name__', h)!r} registered on {owner} returned a Tensor of shape "
                               f"{tuple(new.shape)}, dtype {new.dtype} on {new.device}, but the gradient it replaces "
                               f"has shape {tuple(g.shape)}, dtype {g.dtype} on {g.device}")
        g = new
    return g


def leaf_gradient(t, g):
    """A leaf's total gradient in its dtype, after the hooks registered on it."""
    if g._data.dtype != t._data.dtype:
        g = g.to(t._data.dtype)
    if t._hooks:
        g = run_hooks(t._hooks, g, f"a leaf tensor of shape {tuple(t.shape)}")
    return g


def accumulate_grad(t, g, create_graph: bool) -> None:
    """Add ``g`` into ``t.grad`` (detached unless a graph of the backward pass was asked for)."""
    if not create_graph:
        g = g.detach()
    t.grad = g if t.grad is None else t.grad + g


# id(leaf) -> (weak reference to it, [hook(leaf)]): hooks called right after the leaf's .grad is accumulated
_post_accumulate_hooks: dict = {}
_queued: list = []


def register_post_accumulate_grad_hook(t, hook):
    """``Tensor.register_post_accumulate_grad_hook``: call ``hook(t)`` once ``t.grad`` holds this backward's sum."""
    import weakref

    key = id(t)
    if key not in _post_accumulate_hooks:
        _post_accumulate_hooks[key] = (weakref.ref(t, lambda _: _post_accumulate_hooks.pop(key, None)), [])
    hooks = _post_accumulate_hooks[key][1]
    hooks.append(hook)

    class _Handle:
        def remove(self) -> None:
            if hook in hooks:
                hooks.remove(hook)
            if not hooks:
                _post_accumulate_hooks.pop(key, None)

    return _Handle()


def _eager_counts(deps, roots) -> dict:
    """For each leaf with post-accumulate hooks in this graph, how many edges will bring it a gradient."""
    counts: dict = {}
    for node in deps:
        for t, fn in zip(node.inputs, node.next_functions):
            if fn is None and id(t) in _post_accumulate_hooks:
                counts[id(t)] = counts.get(id(t), 0) + 1
    for r in roots:
        if r.grad_fn is None and id(r) in _post_accumulate_hooks:
            counts[id(r)] = counts.get(id(r), 0) + 1
    return counts


def queue_callback(fn) -> None:
    """Run ``fn()`` once when the backward pass now running has finished (DDP waits for its reductions there)."""
    _queued.append(fn)


def _run_queued_callbacks() -> None:
    while _queued:
        _queued.pop(0)()
