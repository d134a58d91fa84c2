"""What each deepgrad op is in ONNX: one emitter per graph-node class, registered by the class's name.

An emitter ``fn(g, node, ins, metas, out)`` receives the graph being built, the traced node (its attributes: a
convolution's geometry, a reduction's axes, ...), the ONNX names of its inputs, their ``(shape, dtype)`` and its
output's ``(shape, dtype)``; it appends ONNX nodes and returns the name of the value it computed.
"""
from __future__ import annotations

import math

import numpy as np

from .trace import OnnxExportError

EMITTERS: dict = {}
_INT_MAX, _INT_MIN = 2**63 - 1, -(2**63)


def emits(*names):
    def deco(fn):
        for n in names:
            EMITTERS[n] = fn
        return fn

    return deco


def _cast_to(g, name: str, have, want) -> str:
    """``name`` cast to dtype ``want`` when it is not already (ONNX arithmetic takes one dtype per node)."""
    if np.dtype(have) == np.dtype(want):
        return name
    from onnx import helper

    return g.node("Cast", [name], to=helper.np_dtype_to_tensor_dtype(np.dtype(want)))


def _reduce(g, op: str, x: str, axes, keepdims: bool, ndim: int) -> str:
    """A reduction over ``axes`` (None: all), with the axes as an input or an attribute as the opset wants."""
    axes = list(range(ndim)) if axes is None else [a % ndim for a in (axes if isinstance(axes, (tuple, list))
                                                                    else (axes,))]
    as_input = op == "ReduceSum" and g.opset >= 13 or g.opset >= 18
    if as_input:
        return g.node(op, [x, g.ints(axes)], keepdims=int(keepdims))
    return g.node(op, [x], axes=axes, keepdims=int(keepdims))


# ------------------------------------------------------------------------------------------- elementwise
_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow", "Maximum": "Max",
           "Minimum": "Min"}
_UNARY = {"Neg": "Neg", "Abs": "Abs", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Sin": "Sin", "Cos": "Cos",
          "Tanh": "Tanh", "Sigmoid": "Sigmoid", "ReLU": "Relu", "Erf": "Erf", "Clone": "Identity",
          "ToDevice": "Identity"}


@emits(*_BINARY)
def _binary(g, node, ins, metas, out):
    want = out[1]
    a, b = (_cast_to(g, n, m[1], want) for n, m in zip(ins, metas))
    if node.name == "Pow":  # ONNX's Pow takes an exponent of any numeric type
        b = ins[1]
    return g.node(_BINARY[node.name], [a, b])


@emits(*_UNARY)
def _unary(g, node, ins, metas, out):
    return g.node(_UNARY[node.name], [_cast_to(g, ins[0], metas[0][1], out[1])])


@emits("Log1p")
def _log1p(g, node, ins, metas, out):
    return g.node("Log", [g.node("Add", [ins[0], g.const(1, out[1])])])


@emits("Expm1")
def _expm1(g, node, ins, metas, out):
    return g.node("Sub", [g.node("Exp", [ins[0]]), g.const(1, out[1])])


@emits("ToDtype")
def _to_dtype(g, node, ins, metas, out):
    return _cast_to(g, ins[0], metas[0][1], out[1]) if np.dtype(metas[0][1]) != np.dtype(out[1]) else \
        g.node("Identity", [ins[0]])


@emits("PowScalar")
def _pow_scalar(g, node, ins, metas, out):
    return g.node("Pow", [ins[0], g.const(node.c, out[1])])


@emits("Clamp")
def _clamp(g, node, ins, metas, out):
    lo = "" if node.lo is None else g.const(node.lo, out[1])
    hi = "" if node.hi is None else g.const(node.hi, out[1])
    return g.node("Clip", [ins[0], lo, hi])


@emits("Where")
def _where(g, node, ins, metas, out):
    a, b = (_cast_to(g, n, m[1], out[1]) for n, m in zip(ins, metas))
    return g.node("Where", [g.array(node.cond), a, b])


@emits("_Heaviside")
def _heaviside(g, node, ins, metas, out):
    dt = out[1]
    zero = g.const(0, metas[0][1])
    pos = g.node("Greater", [ins[0], zero])
    at0 = g.node("Equal", [ins[0], zero])
    v = g.const(node.value, dt) if np.ndim(node.value) == 0 else g.array(node.value)
    return g.node("Where", [pos, g.const(1, dt), g.node("Where", [at0, v, g.const(0, dt)])])


# ----------------------------------------------------------------------------------------- linear algebra
@emits("MatMul")
def _matmul(g, node, ins, metas, out):
    return g.node("MatMul", ins)


@emits("_Linear")
def _linear(g, node, ins, metas, out):
    if len(metas[0][0]) == 2:
        return g.node("Gemm", ins, transB=1)
    y = g.node("MatMul", [ins[0], g.node("Transpose", [ins[1]], perm=[1, 0])])
    return g.node("Add", [y, ins[2]]) if len(ins) > 2 else y


@emits("Einsum")
def _einsum(g, node, ins, metas, out):
    return g.node("Einsum", ins, equation=",".join(node.ins) + "->" + node.out)


@emits("Softmax", "LogSoftmax")
def _softmax(g, node, ins, metas, out):
    return g.node(node.name, ins, axis=int(node.axis))


# ------------------------------------------------------------------------------------------- reductions
@emits("Sum")
def _sum(g, node, ins, metas, out):
    return _reduce(g, "ReduceSum", ins[0], node.axes, node.keepdim, len(metas[0][0]))


@emits("MaxMin")
def _maxmin(g, node, ins, metas, out):
    return _reduce(g, "ReduceMax" if node.is_max else "ReduceMin", ins[0], node.axes, node.keepdim,
                   len(metas[0][0]))


@emits("Prod")
def _prod(g, node, ins, metas, out):
    return _reduce(g, "ReduceProd", ins[0], node.axis, node.keepdim, len(metas[0][0]))


@emits("CumSum")
def _cumsum(g, node, ins, metas, out):
    return g.node("CumSum", [ins[0], g.const(np.int64(node.axis))])


@emits("SumTo")
def _sum_to(g, node, ins, metas, out):
    shape_in, shape = metas[0][0], tuple(node.shape)
    lead = len(shape_in) - len(shape)
    axes = list(range(lead)) + [lead + i for i, s in enumerate(shape) if s == 1 and shape_in[lead + i] != 1]
    y = _reduce(g, "ReduceSum", ins[0], axes, True, len(shape_in)) if axes else ins[0]
    return g.node("Reshape", [y, g.ints(shape)])


@emits("_Normalize")
def _normalize(g, node, ins, metas, out):
    """x̂ = (x − μ) / √(σ² + ε) over ``axes``, composed (LayerNormalization would want a scale input)."""
    nd = len(metas[0][0])
    mean = _reduce(g, "ReduceMean", ins[0], node.axes, True, nd)
    xc = g.node("Sub", [ins[0], mean])
    var = _reduce(g, "ReduceMean", g.node("Mul", [xc, xc]), node.axes, True, nd)
    return g.node("Div", [xc, g.node("Sqrt", [g.node("Add", [var, g.const(node.eps, out[1])])])])


@emits("_LayerNorm")
def _layer_norm(g, node, ins, metas, out):
    """x̂ γ + β, x̂ normalised over the last k axes (the fused layer norm), composed as :func:`_normalize`."""
    nd = len(metas[0][0])
    axes = list(range(nd - node.k, nd))
    mean = _reduce(g, "ReduceMean", ins[0], axes, True, nd)
    xc = g.node("Sub", [ins[0], mean])
    var = _reduce(g, "ReduceMean", g.node("Mul", [xc, xc]), axes, True, nd)
    y = g.node("Div", [xc, g.node("Sqrt", [g.node("Add", [var, g.const(node.eps, out[1])])])])
    return g.node("Add", [g.node("Mul", [y, ins[1]]), ins[2]])


@emits("_GeluTanh")
def _gelu_tanh(g, node, ins, metas, out):
    """½ x (1 + tanh(√(2/π)(x + 0.044715 x³))), composed from Mul, Add and Tanh."""
    x, dt = ins[0], out[1]
    from ..nn.functional.activation import _GELU_A, _GELU_C

    cube = g.node("Mul", [g.node("Mul", [x, x]), x])
    inner = g.node("Mul", [g.node("Add", [x, g.node("Mul", [cube, g.const(_GELU_A, dt)])]), g.const(_GELU_C, dt)])
    y = g.node("Mul", [x, g.node("Add", [g.node("Tanh", [inner]), g.const(1.0, dt)])])
    return g.node("Mul", [y, g.const(0.5, dt)])


@emits("_BatchNorm")
def _batch_norm_batch_stats(g, node, ins, metas, out):
    """Batch statistics (a batch norm without running statistics): normalise over (N, *spatial), then γ, β."""
    nd = len(metas[0][0])
    axes = [0] + list(range(2, nd))
    mean = _reduce(g, "ReduceMean", ins[0], axes, True, nd)
    xc = g.node("Sub", [ins[0], mean])
    var = _reduce(g, "ReduceMean", g.node("Mul", [xc, xc]), axes, True, nd)
    y = g.node("Div", [xc, g.node("Sqrt", [g.node("Add", [var, g.const(node.eps, out[1])])])])
    shape = g.ints([1, -1] + [1] * (nd - 2))
    for extra, op in zip(ins[1:], ("Mul", "Add")):
        y = g.node(op, [y, g.node("Reshape", [extra, shape])])
    return y


# ------------------------------------------------------------------------------------------------- shape
def _copy_leading(in_shape, target) -> list:
    """The Reshape target, with dims equal to the input's at the same leading position written as 0 (copy), so a
    batch (or sequence) dimension exported as dynamic stays dynamic."""
    t = list(target)
    for i, (a, b) in enumerate(zip(in_shape, t)):
        if a != b:
            break
        t[i] = 0
    return t


@emits("Reshape")
def _reshape(g, node, ins, metas, out):
    return g.node("Reshape", [ins[0], g.ints(_copy_leading(metas[0][0], out[0]))])


@emits("Permute")
def _permute(g, node, ins, metas, out):
    return g.node("Transpose", ins, perm=[int(a) for a in node.axes])


@emits("Expand")
def _expand(g, node, ins, metas, out):
    in_shape, target = metas[0][0], list(out[0])
    lead = len(target) - len(in_shape)
    shape = [1 if i >= lead and in_shape[i - lead] == s else s for i, s in enumerate(target)]
    return g.node("Expand", [ins[0], g.ints(shape)])


@emits("Cat")
def _cat(g, node, ins, metas, out):
    return g.node("Concat", [_cast_to(g, n, m[1], out[1]) for n, m in zip(ins, metas)], axis=int(node.axis))


@emits("Flip")
def _flip(g, node, ins, metas, out):
    axes = [int(a) for a in node.axes]
    n = len(axes)
    return g.node("Slice", [ins[0], g.ints([-1] * n), g.ints([_INT_MIN] * n), g.ints(axes), g.ints([-1] * n)])


@emits("PadConstant")
def _pad(g, node, ins, metas, out):
    widths = [tuple(w) for w in node.widths]
    pads = [w[0] for w in widths] + [w[1] for w in widths]
    return g.node("Pad", [ins[0], g.ints(pads), g.const(node.value, out[1])], mode="constant")


@emits("GetItem")
def _getitem(g, node, ins, metas, out):
    """Basic indexing (ints, slices, None, ...) by Slice + Squeeze + Unsqueeze; one index array by Gather."""
    shape = metas[0][0]
    key = node.key if isinstance(node.key, tuple) else (node.key,)
    arrays = [i for i, k in enumerate(key) if isinstance(k, (np.ndarray, list)) or hasattr(k, "__cuda_array_interface__")]
    n_real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in [k for k in key if not isinstance(k, (np.ndarray, list))]:
        e = next(i for i, k in enumerate(key) if k is Ellipsis)
        key = key[:e] + (slice(None),) * (len(shape) - n_real) + key[e + 1:]
    if arrays:
        if len(arrays) > 1 or any(not (isinstance(k, slice) and k == slice(None)) for i, k in enumerate(key)
                                  if i not in arrays):
            raise OnnxExportError("onnx.export: GetItem with advanced indices other than one index array among "
                                  "full slices has no ONNX mapping here")
        idx = np.asarray(key[arrays[0]])
        if idx.dtype == bool:
            raise OnnxExportError("onnx.export: boolean-mask indexing (x[mask]) has data-dependent shape; use "
                                  "deepgrad.where instead")
        return g.node("Gather", [ins[0], g.array(idx)], axis=arrays[0])
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    dim = 0
    out_pos = 0
    for k in key:
        if k is None:
            unsqueeze.append(out_pos)
            out_pos += 1
            continue
        if isinstance(k, (int, np.integer)):
            i = int(k) % shape[dim]
            starts.append(i)
            ends.append(i + 1)
            axes.append(dim)
            steps.append(1)
            squeeze.append(dim)
        elif isinstance(k, slice):
            if k != slice(None):
                start, stop, step = k.indices(shape[dim])
                if step < 0 and stop < 0:
                    stop = _INT_MIN
                starts.append(start)
                ends.append(stop)
                axes.append(dim)
                steps.append(step)
            out_pos += 1
        else:
            raise OnnxExportError(f"onnx.export: GetItem key element {k!r} has no ONNX mapping")
        dim += 1
    y = ins[0]
    if axes:
        y = g.node("Slice", [y, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)])
    if squeeze:
        y = g.node("Squeeze", [y, g.ints(squeeze)])
    if unsqueeze:
        y = g.node("Unsqueeze", [y, g.ints(unsqueeze)])
    return y if y != ins[0] else g.node("Identity", [y])


@emits("IndexSelect")
def _index_select(g, node, ins, metas, out):
    return g.node("Gather", [ins[0], g.array(node.idx)], axis=int(node.axis))


@emits("Gather")
def _gather(g, node, ins, metas, out):
    return g.node("GatherElements", [ins[0], g.array(node.idx)], axis=int(node.axis))


@emits("_Embedding")
def _embedding(g, node, ins, metas, out):
    return g.node("Gather", [ins[0], g.array(node.idx)], axis=0)


# ----------------------------------------------------------------------------------- convolution, pooling
def _pads(geometry) -> list:
    return [lo for lo, _ in geometry.pads] + [hi for _, hi in geometry.pads]


def _ceil_mode(geometry) -> int:
    """1 when the geometry's output size came from rounding up (``ceil_mode=True``)."""
    floor = tuple((s + lo + hi - d * (k - 1) - 1) // st + 1 for s, k, st, d, (lo, hi)
                  in zip(geometry.size, geometry.kernel, geometry.stride, geometry.dilation, geometry.pads))
    return int(tuple(geometry.out) != floor)


@emits("ConvNd")
def _conv(g, node, ins, metas, out):
    geo = node.g
    return g.node("Conv", ins, kernel_shape=list(geo.kernel), strides=list(geo.stride), dilations=list(geo.dilation),
                  pads=_pads(geo), group=int(geo.groups))


@emits("ConvInputGrad")
def _conv_transpose(g, node, ins, metas, out):
    """The adjoint of a convolution (a transposed convolution) computes an input of shape ``node.x_shape``."""
    geo = node.g
    size = tuple(node.x_shape[2:])
    natural = tuple(st * (o - 1) + d * (k - 1) + 1 - lo - hi for o, k, st, d, (lo, hi)
                    in zip(geo.out, geo.kernel, geo.stride, geo.dilation, geo.pads))
    return g.node("ConvTranspose", ins, kernel_shape=list(geo.kernel), strides=list(geo.stride),
                  dilations=list(geo.dilation), pads=_pads(geo), group=int(geo.groups),
                  output_padding=[s - n for s, n in zip(size, natural)])


@emits("MaxPool")
def _max_pool(g, node, ins, metas, out):
    geo = node.g
    return g.node("MaxPool", ins, kernel_shape=list(geo.kernel), strides=list(geo.stride), pads=_pads(geo),
                  dilations=list(geo.dilation), ceil_mode=_ceil_mode(geo))


@emits("WindowSum")
def _window_sum(g, node, ins, metas, out):
    """Σ over each window = AveragePool (zero padding counted) × the window's size."""
    geo = node.g
    if any(d != 1 for d in geo.dilation):
        raise OnnxExportError("onnx.export: a dilated window sum (average pooling) has no ONNX mapping")
    avg = g.node("AveragePool", ins, kernel_shape=list(geo.kernel), strides=list(geo.stride), pads=_pads(geo),
                 count_include_pad=1, ceil_mode=_ceil_mode(geo))
    return g.node("Mul", [avg, g.const(math.prod(geo.kernel), out[1])])


# -------------------------------------------------------------------------------------------- recurrences
# PyTorch stacks the gates of its weights as LSTM (i, f, g, o) and GRU (r, z, n); ONNX wants (i, o, f, c) and
# (z, r, h): the permutation below reorders the stacked blocks inside the graph, so the initializers keep their
# state_dict names and layout.
_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2), "RNN_TANH": (0,), "RNN_RELU": (0,)}


def _gates(g, w: str, order, hidden: int) -> str:
    """Rows of the stacked gate blocks of ``w`` in ONNX's order, with a leading direction axis of 1."""
    if len(order) > 1:
        blocks = [g.node("Slice", [w, g.ints([k * hidden]), g.ints([(k + 1) * hidden]), g.ints([0])]) for k in order]
        w = g.node("Concat", blocks, axis=0)
    return g.node("Unsqueeze", [w, g.ints([0])])


@emits("LSTMLayer", "GRULayer", "RNNLayer")
def _recurrent(g, node, ins, metas, out):
    """One fused layer as ONNX's LSTM / GRU / RNN op; its flat output [output | h_n | c_n] rebuilt by Concat."""
    mode = node.mode
    if node.has_proj:
        raise OnnxExportError("onnx.export: an LSTM with proj_size has no ONNX mapping (ONNX's LSTM has no "
                              "projection)")
    names = ["x", "h0"] + (["c0"] if mode == "LSTM" else []) + ["w_ih", "w_hh"] + (["b_ih", "b_hh"] if node.has_bias
                                                                                  else [])
    v = dict(zip(names, ins))
    shapes = dict(zip(names, (m[0] for m in metas)))
    hidden = shapes["h0"][-1]
    order = _GATE_ORDER[mode]
    x = g.node("Transpose", [v["x"]], perm=[1, 0, 2]) if node.batch_first else v["x"]
    w, r = _gates(g, v["w_ih"], order, hidden), _gates(g, v["w_hh"], order, hidden)
    b = ""
    if node.has_bias:
        b = g.node("Concat", [_gates(g, v["b_ih"], order, hidden), _gates(g, v["b_hh"], order, hidden)], axis=1)
    seq_lens = "" if node.lengths is None else g.const(np.asarray(node.lengths, dtype=np.int32))
    h0 = g.node("Unsqueeze", [v["h0"], g.ints([0])])
    inputs = [x, w, r, b, seq_lens, h0]
    attrs = {"hidden_size": int(hidden), "direction": "reverse" if node.reverse else "forward"}
    if mode == "LSTM":
        inputs.append(g.node("Unsqueeze", [v["c0"], g.ints([0])]))
        op, outs = "LSTM", [g.fresh("y"), g.fresh("y_h"), g.fresh("y_c")]
    elif mode == "GRU":
        op, outs = "GRU", [g.fresh("y"), g.fresh("y_h")]
        attrs["linear_before_reset"] = 1  # PyTorch's GRU: r * (W_hn h + b_hn)
    else:
        op, outs = "RNN", [g.fresh("y"), g.fresh("y_h")]
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"]
    while inputs and inputs[-1] == "":
        inputs.pop()
    g.node(op, inputs, outs, **attrs)
    y = g.node("Squeeze", [outs[0], g.ints([1])])  # (L, 1, N, H) -> (L, N, H)
    if node.batch_first:
        y = g.node("Transpose", [y], perm=[1, 0, 2])
    flat = g.ints([-1])
    parts = [g.node("Reshape", [y, flat])] + [g.node("Reshape", [o, flat]) for o in outs[1:]]
    return g.node("Concat", parts, axis=0)


@emits("_SDPA")
def _sdpa(g, node, ins, metas, out):
    """softmax(Q Kᵀ · scale + bias) V (the fused attention node); the bias (masks) is an input or a constant."""
    nd = len(metas[1][0])
    perm = list(range(nd - 2)) + [nd - 1, nd - 2]
    s = g.node("MatMul", [ins[0], g.node("Transpose", [ins[1]], perm=perm)])
    s = g.node("Mul", [s, g.const(node.scale, out[1])])
    if len(ins) > 3:
        s = g.node("Add", [s, _cast_to(g, ins[3], metas[3][1], out[1])])
    return g.node("MatMul", [g.node("Softmax", [s], axis=-1), ins[2]])
