"""A TensorBoard ``GraphDef`` from deepgrad's autograd graph: run the model once, walk the recorded nodes.

Every op the forward pass records (a :class:`~deepgrad.autograd.function.Function`) becomes a node named by the
module it ran in (``Net/Sequential[body]/Linear[0]/MatMul_3``, PyTorch's scoping), with its output shape; the
model's parameters and inputs are leaf nodes. The walk is iterative, from the outputs back along
``next_functions``, as backward walks the graph.
"""
from __future__ import annotations

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

from ...autograd import grad_mode
from ...tensor import Tensor
from ...tools.summary import tensors_in


def _shape_attr(shape) -> dict:
    dims = [TensorShapeProto.Dim(size=int(s)) for s in shape]
    return {"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=[TensorShapeProto(dim=dims)]))}


def trace_graph(model, inputs: tuple) -> GraphDef:
    """Run ``model(*inputs)`` with autograd recording and return its graph as a GraphDef."""
    root = type(model).__name__
    scopes = {model: root}
    for name, m in model.named_modules():
        if name:
            parent = scopes[model.get_submodule(name.rpartition(".")[0]) if "." in name else model]
            scopes[m] = f"{parent}/{type(m).__name__}[{name.rpartition('.')[2]}]"
    params: dict[int, str] = {}  # by id: a Tensor's == is elementwise
    for m, scope in scopes.items():
        for pname, p in m.named_parameters(recurse=False):
            params.setdefault(id(p), f"{scope}/{pname}")
    leaves = [t.detach().requires_grad_() if isinstance(t, Tensor) and t.dtype.kind == "f" else t for t in inputs]
    input_names = {id(t): f"input/input.{i}" for i, t in enumerate(leaves) if isinstance(t, Tensor)}
    node_scope: dict = {}
    entered: dict = {}

    def pre(module, args):
        entered[module] = {t.grad_fn for t in tensors_in(args) if t.grad_fn is not None}

    def post(module, args, out):
        # the nodes between this module's inputs and its outputs ran inside it (unless a submodule claimed them)
        stop, stack, seen = entered.pop(module, set()), [t.grad_fn for t in tensors_in(out) if t.grad_fn], set()
        while stack:
            fn = stack.pop()
            if fn is None or fn in seen or fn in stop:
                continue
            seen.add(fn)
            node_scope.setdefault(fn, scopes[module])
            stack.extend(fn.next_functions)

    handles = []
    for m in scopes:
        handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]
    try:
        with grad_mode.enable_grad():
            outputs = tensors_in(model(*leaves))
    finally:
        for h in handles:
            h.remove()
    return _graph_def(outputs, node_scope, params, input_names, root)


def _graph_def(outputs, node_scope, params, input_names, root) -> GraphDef:
    names: dict = {}
    nodes: list[NodeDef] = []
    shapes: dict = {}
    order, stack, seen = [], [t.grad_fn for t in outputs if t.grad_fn is not None], set()
    while stack:  # every recorded node reachable from the outputs
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        order.append(fn)
        for src, t in zip(fn.next_functions, fn.inputs):
            if src is not None:
                shapes[src] = tuple(t.shape)
                stack.append(src)
    for t in outputs:
        shapes[t.grad_fn] = tuple(t.shape)
    counts: dict = {}
    for fn in reversed(order):  # inputs before the ops that use them, so numbering follows the forward pass
        scope = node_scope.get(fn, root)
        k = counts[(scope, fn.name)] = counts.get((scope, fn.name), -1) + 1
        names[fn] = f"{scope}/{fn.name}_{k}"
    leaf_nodes: dict = {}

    def leaf(t: Tensor) -> str | None:
        name = params.get(id(t)) or input_names.get(id(t))
        if name is not None and name not in leaf_nodes:
            op = "Parameter" if id(t) in params else "IO Node"
            leaf_nodes[name] = NodeDef(name=name, op=op, attr=_shape_attr(t.shape))
        return name

    for fn in reversed(order):
        sources = [names[src] if src is not None else leaf(t) for src, t in zip(fn.next_functions, fn.inputs)]
        nodes.append(NodeDef(name=names[fn], op=fn.name, input=[s for s in sources if s is not None],
                             attr=_shape_attr(shapes.get(fn, ()))))
    for i, t in enumerate(outputs):
        if t.grad_fn is not None:
            nodes.append(NodeDef(name=f"output/output.{i}", op="IO Node", input=[names[t.grad_fn]],
                                 attr=_shape_attr(t.shape)))
    return GraphDef(node=list(leaf_nodes.values()) + nodes, versions=VersionDef(producer=22))
