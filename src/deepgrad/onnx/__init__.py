"""``deepgrad.onnx.export``: a model's forward pass as an ONNX file, for onnxruntime and other runtimes.

Optional extra ``onnx`` (``pip install "deepgrad[onnx]"``: the ``onnx`` package writes and checks the file,
``onnxruntime`` runs it). The forward pass is traced through deepgrad's own graph (:mod:`deepgrad.onnx.trace`) and
each op is written by its emitter (:mod:`deepgrad.onnx.symbolic`). As in any tracing exporter, Python control flow
is fixed at the traced path, and values the trace computed outside autograd (a mask from ``x > 0`` used as data, a
shape-dependent constant) are stored as constants.
"""
from __future__ import annotations

import io
import os

import numpy as np

from ..autograd import grad_mode
from .trace import Graph, OnnxExportError, output_meta, topological

__all__ = ["export", "OnnxExportError", "is_onnxrt_available"]


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise OnnxExportError('deepgrad.onnx.export needs the onnx package: pip install "deepgrad[onnx]"') from None
    return onnx


def is_onnxrt_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _as_tuple(args) -> tuple:
    from ..tensor import Tensor

    if isinstance(args, Tensor):
        return (args,)
    if isinstance(args, (tuple, list)) and all(isinstance(a, Tensor) for a in args):
        return tuple(args)
    raise TypeError("onnx.export: args must be a Tensor or a tuple of Tensors (the example inputs), got "
                    f"{type(args).__name__}")


def _flat_outputs(out) -> list:
    from ..tensor import Tensor

    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat_outputs(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _flat_outputs(o)]
    raise OnnxExportError(f"onnx.export: the model returned a {type(out).__name__}; expected Tensors (alone, or in "
                          "tuples, lists or dicts)")


def _value_info(helper, name: str, shape, dtype, dynamic: dict):
    dims = [dynamic.get(i, d) for i, d in enumerate(shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), dims)


def _dynamic_for(name: str, dynamic_axes) -> dict:
    spec = (dynamic_axes or {}).get(name)
    if spec is None:
        return {}
    if isinstance(spec, dict):
        return {int(a): str(n) for a, n in spec.items()}
    return {int(a): f"{name}_dim{a}" for a in spec}


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None, opset_version: int = 17,
           export_params: bool = True, do_constant_folding: bool = True, verbose: bool = False, **_) -> None:
    """Write ``model``'s forward pass on the example ``args`` to ``f`` (a path or a binary file object) as ONNX.

    Args:
        model: an ``nn.Module`` (exported in eval mode; its mode is restored afterwards) or a function of Tensors.
        args: the example input Tensor, or a tuple of them.
        input_names, output_names: names of the graph's inputs and outputs (default ``input_0``, ``output_0``...).
        dynamic_axes: ``{name: [axis, ...]}`` or ``{name: {axis: "batch"}}``: dimensions left symbolic.
        opset_version: the ONNX opset (13 to 21).
        export_params: store the parameters as initializers (always done; ``False`` is refused).

    Raises:
        OnnxExportError: naming an op that has no ONNX mapping, or a bad argument.
    """
    onnx = _require_onnx()
    from onnx import helper

    from ..nn.module import Module
    from ..tensor import Tensor
    from .symbolic import EMITTERS

    if not 13 <= int(opset_version) <= 21:
        raise OnnxExportError(f"onnx.export: opset_version must be between 13 and 21, got {opset_version}")
    if not export_params:
        raise OnnxExportError("onnx.export: export_params=False is not supported; the parameters are always stored")
    args = _as_tuple(args)
    input_names = list(input_names or [f"input_{i}" for i in range(len(args))])
    if len(input_names) != len(args):
        raise OnnxExportError(f"onnx.export: {len(input_names)} input_names for {len(args)} inputs")
    named = {}
    if isinstance(model, Module):
        for n, t in list(model.named_parameters()) + list(model.named_buffers()):
            named.setdefault(id(t), n)
        was_training = model.training
        model.eval()
    traced = [a.detach().clone().requires_grad_(True) if a.dtype.kind == "f" else a for a in args]
    try:
        with grad_mode.enable_grad():
            out = model(*traced)
    finally:
        if isinstance(model, Module):
            model.train(was_training)
    outputs = _flat_outputs(out)
    output_names = list(output_names or [f"output_{i}" for i in range(len(outputs))])
    if len(output_names) != len(outputs):
        raise OnnxExportError(f"onnx.export: {len(output_names)} output_names for {len(outputs)} outputs")
    unknown = set(dynamic_axes or {}) - set(input_names) - set(output_names)
    if unknown:
        raise OnnxExportError(f"onnx.export: dynamic_axes names {sorted(unknown)} are neither inputs nor outputs")

    g = Graph(int(opset_version), {})
    for name, t in zip(input_names, traced):
        g.value_of[id(t)] = name
        g.value_of[id(t._data)] = name
    nodes = topological(outputs)
    meta = output_meta(nodes, outputs)
    params = {}

    def value(t, fn) -> str:
        if fn is not None:
            return g.value_of[id(fn)]
        name = g.value_of.get(id(t))
        if name is None:
            if id(t) in named:
                name = named[id(t)]
                if name not in params:
                    params[name] = g.const(t._data, name=name)
            else:
                name = g.const(t._data)
            g.value_of[id(t)] = name
        return name

    for node in nodes:
        emitter = EMITTERS.get(node.name)
        if emitter is None:
            raise OnnxExportError(f"onnx.export: the op {node.name} has no ONNX mapping yet (supported: "
                                  f"{', '.join(sorted(EMITTERS))})")
        ins = [value(t, fn) for t, fn in zip(node.inputs, node.next_functions)]
        metas = [(tuple(t.shape), t.dtype) for t in node.inputs]
        g.value_of[id(node)] = emitter(g, node, ins, metas, meta[id(node)])
    out_values = []
    for name, t in zip(output_names, outputs):
        src = value(t, t.grad_fn)
        g.node("Identity", [src], [name])
        out_values.append(_value_info(helper, name, t.shape, t.dtype, _dynamic_for(name, dynamic_axes)))
    in_values = [_value_info(helper, n, a.shape, a.dtype, _dynamic_for(n, dynamic_axes))
                 for n, a in zip(input_names, args)]
    graph = helper.make_graph(g.nodes, type(model).__name__, in_values, out_values, g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", int(opset_version))],
                              producer_name="deepgrad")
    proto.ir_version = min(proto.ir_version, 9)  # what current onnxruntime releases read
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if verbose:
        print(helper.printable_graph(graph))
    if isinstance(f, (str, os.PathLike)):
        from ..serialization import atomic_write

        atomic_write(f, lambda fh: fh.write(data))
    elif isinstance(f, io.IOBase) or hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"onnx.export: f must be a path or a binary file object, got {type(f).__name__}")


