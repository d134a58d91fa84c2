"""Tracing a forward pass into an ONNX graph: deepgrad's own graph is the trace.

Running the model once on the example inputs (made to require grad) records every op as a graph node, exactly as
for backward. Walking those nodes from the outputs in topological order and asking each op's emitter
(:mod:`deepgrad.onnx.symbolic`) for the ONNX nodes that compute it gives the exported graph; the model's parameters
and buffers become initializers under their ``state_dict`` names, other tensors the trace met become constants.
"""
from __future__ import annotations

import numpy as np

from .. import backend


class OnnxExportError(RuntimeError):
    """The model uses something ONNX export cannot express."""


class Graph:
    """The ONNX graph being built: nodes, initializers, and names for every traced value."""

    def __init__(self, opset: int, dynamic: dict) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.opset, self.dynamic = opset, dynamic  # dynamic: {id(leaf or node): {axis: name}}
        self.nodes, self.initializers, self._names = [], [], {}
        self._count = 0
        self.value_of: dict = {}  # id(node) or id(leaf tensor) or id(array) -> value name

    def fresh(self, hint: str = "v") -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def node(self, op: str, inputs: list, outputs: list | None = None, **attrs) -> str:
        outputs = outputs or [self.fresh(op.lower())]
        self.nodes.append(self.helper.make_node(op, inputs, outputs, name=f"{op}_{len(self.nodes)}", **attrs))
        return outputs[0]

    def const(self, value, dtype=None, name: str | None = None) -> str:
        a = np.asarray(backend.to_numpy(value) if backend.is_device_array(value) else value)
        if dtype is not None:
            a = a.astype(dtype)
        name = name or self.fresh("const")
        self.initializers.append(self.numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name

    def array(self, a) -> str:
        """The value of array ``a`` (an op's index or mask attribute): a graph input when ``a`` is an input's
        data, else a constant."""
        return self.value_of.get(id(a)) or self.const(a)

    def ints(self, values) -> str:
        return self.const(np.asarray(list(values), dtype=np.int64))


def topological(outputs) -> list:
    """The graph nodes behind ``outputs``, producers before consumers (iterative depth-first post-order)."""
    order, state = [], {}
    stack = [(t.grad_fn, False) for t in outputs if t.grad_fn is not None]
    while stack:
        node, done = stack.pop()
        if done:
            if state.get(node) != 2:
                state[node] = 2
                order.append(node)
            continue
        if state.get(node):
            continue
        state[node] = 1
        stack.append((node, True))
        for fn in node.next_functions:
            if fn is not None and not state.get(fn):
                stack.append((fn, False))
    return order


def output_meta(nodes, outputs) -> dict:
    """id(node) -> (shape, dtype) of the value it produced, read off its consumers' inputs and the outputs."""
    meta = {}
    for node in nodes:
        for t, fn in zip(node.inputs, node.next_functions):
            if fn is not None:
                meta[id(fn)] = (tuple(t.shape), t.dtype)
    for t in outputs:
        if t.grad_fn is not None:
            meta[id(t.grad_fn)] = (tuple(t.shape), t.dtype)
    return meta
