"""Normalisation layers' functions: ``batch_norm``, ``layer_norm``, ``group_norm``, ``local_response_norm``.

The textbook form of the first three: standardise over some axes with one primitive, :class:`_Normalize`
(x̂ = (x − μ) / √(σ² + ε) with a hand-written backward), then apply the per-channel affine map by composition.
Training-mode batch norm runs instead as one fused node, :class:`_BatchNorm`, on the kernels of
:mod:`deepgrad.ops.cpu_kernels`, unless ``deepgrad.backends.cpu.fast_kernels`` is False (same results to float
rounding).
"""
from __future__ import annotations

from ... import parallel
from ...autograd import grad_mode
from ...autograd.function import Function
from ...backend import array_module
from ...backends import cpu as _cpu
from ...ops import cpu_kernels as K
from ...ops import jit_kernels
from ...ops._util import ShapeError
from ...ops.conv import Geometry
from ...ops.pool import WindowSum
from ...tensor import Tensor
from ._checks import check_float

__all__ = ["batch_norm", "layer_norm", "group_norm", "local_response_norm"]


class _Normalize(Function):
    """x̂ = (x − μ) / √(σ² + ε), μ and σ² (biased) over ``axes``.

    ∂x = (1/√(σ² + ε)) · (g − mean(g) − x̂ · mean(g x̂)), means over ``axes``. The batch statistics are kept in
    ``self.mean`` / ``self.var`` for running averages.
    """

    saves_inputs = (0,)
    saves_output = True

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x):
        xp = array_module(x)
        mean = x.mean(axis=self.axes, keepdims=True)
        xc = x - mean
        var = xp.mean(xc * xc, axis=self.axes, keepdims=True)
        self.mean, self.var = mean, var
        self.invstd = 1.0 / xp.sqrt(var + self.eps)
        xc *= self.invstd
        return xc

    def backward(self, g):
        xhat = self.output()
        if grad_mode.state.enabled:  # a graph of the backward pass is wanted: the scale must depend on x too
            invstd = (self.inputs[0].var(self.axes, correction=0, keepdim=True) + self.eps).rsqrt()
        else:
            invstd = Tensor._wrap(self.invstd)
        return (_standardize_grad(g, xhat, invstd, self.axes),)


def _standardize_grad(g: Tensor, xhat: Tensor, scale: Tensor, axes) -> Tensor:
    """∂x of x̂ = (x − μ)/σ over ``axes`` for an incoming g, times ``scale`` (1/σ, or γ/σ for batch norm), in
    Tensor ops: scale · (g − mean(g) − x̂ · mean(g x̂))."""
    return scale * (g - g.mean(axes, keepdim=True) - xhat * (g * xhat).mean(axes, keepdim=True))


class _BatchNorm(Function):
    """y = γ x̂ + β, x̂ = (x − μ_c) / √(σ²_c + ε), with μ_c and σ²_c (biased) over (N, *spatial) of channel c.

    One node for the whole training-mode layer (:func:`deepgrad.ops.cpu_kernels.batch_norm_forward` and
    ``batch_norm_backward``: about half the passes over the activation of the composed normalisation and affine
    map). ``self.mean`` / ``self.var`` hold the batch statistics for the running averages.
    """

    def __init__(self, eps: float, weighted: bool):
        self.eps = eps
        self.saves_inputs = (0, 1) if weighted else (0,)  # backward reads x (x̂ is recomputed from it) and γ

    def forward(self, x, w=None, b=None):
        y, self.mean, self.var, self.invstd = K.batch_norm_forward(x, w, b, self.eps)
        return y

    def backward(self, g):
        x, w = self.inputs[0], self.inputs[1] if len(self.inputs) > 1 else None
        need = self.needs_input_grad
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (-1,) + (1,) * (x.ndim - 2)
        if grad_mode.state.enabled:  # create_graph: the same formulas with x̂ and 1/σ as functions of x
            invstd = (x.var(axes, correction=0, keepdim=True) + self.eps).rsqrt()
            xhat = (x - x.mean(axes, keepdim=True)) * invstd
            gx = None
            if need[0]:
                gx = _standardize_grad(g, xhat, invstd if w is None else invstd * w.reshape(shape), axes)
            gw = (g * xhat).sum(axes) if len(need) > 1 and need[1] else None
            gb = g.sum(axes) if len(need) > 2 and need[2] else None
            return gx, gw, gb
        dx, dw, db = K.batch_norm_backward(g._data, x._data, self.mean, self.invstd, None if w is None else w._data,
                                           need[0])
        return (None if dx is None else Tensor._wrap(dx), Tensor._wrap(dw) if len(need) > 1 and need[1] else None,
                Tensor._wrap(db) if len(need) > 2 and need[2] else None)


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None, shape) -> Tensor:
    if weight is not None:
        y = y * (weight.reshape(shape) if weight.shape != shape else weight)
    if bias is not None:
        y = y + (bias.reshape(shape) if bias.shape != shape else bias)
    return y


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x − E[x]) / √(Var[x] + ε) · γ + β per channel (dim 1), statistics over (N, *spatial).

    In training (or without running statistics) the batch's mean and biased variance are used, and the running
    estimates, if given, are updated in place: r ← (1 − momentum) r + momentum · s, with the unbiased variance for
    ``running_var`` (the modules turn ``momentum=None`` into a cumulative average). In evaluation
    ``running_mean``/``running_var`` are used.

    Shape: input (N, C) or (N, C, *); running stats, weight, bias (C,).
    """
    check_float(input, "batch_norm")
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    shape = (c,) + (1,) * (input.ndim - 2)
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and tuple(t.shape) != (c,):
            raise ShapeError(f"batch_norm: {name} must have shape ({c},) for input {tuple(input.shape)} with {c} "
                             f"channels, got {tuple(t.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"batch_norm: {name} dtype {t.dtype} differs from input dtype {input.dtype}; convert "
                            f"the input with .to({t.dtype}) or the module with .to(dtype)")
    if training or running_mean is None:
        count = input.numel() // c
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(input.shape)}")
        if _cpu.fast_kernels:
            op = _BatchNorm(eps, weight is not None)
            if weight is not None and bias is not None:
                y = op(input, weight, bias)
            elif weight is not None:
                y = op(input, weight)
            else:
                y = _affine(op(input), None, bias, shape)
        else:  # the textbook form: standardise over (N, *spatial), then γ x̂ + β
            op = _Normalize((0,) + tuple(range(2, input.ndim)), eps)
            y = _affine(op(input), weight, bias, shape)
        if training and running_mean is not None:
            m = momentum
            mean, var = op.mean.reshape(c), op.var.reshape(c) * (count / (count - 1))
            rm, rv = running_mean._data, running_var._data
            running_mean._set(rm * (1 - m) + mean.astype(rm.dtype) * m)
            running_var._set(rv * (1 - m) + var.astype(rv.dtype) * m)
        return y
    scale = (running_var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        scale = scale * weight.reshape(shape)
    y = (input - running_mean.reshape(shape)) * scale
    return y if bias is None else y + bias.reshape(shape)


_JIT_DTYPES = ("float32", "float64")  # layer norm's compiled kernels (deepgrad.ops.jit_kernels)


class _LayerNorm(Function):
    """y = x̂ γ + β, x̂ = (x − μ) / √(σ² + ε) over the last k axes: :class:`_Normalize` and the affine map as one node
    on raw arrays (fewer passes and temporaries, no graph nodes between); saves x̂ and 1/σ (μ and 1/σ with the
    compiled kernels of :mod:`deepgrad.ops.jit_kernels`, which recompute x̂). Backward:
    ∂γ = Σ g x̂, ∂β = Σ g (over the leading axes), ∂x = (1/σ)(ĝ − mean(ĝ) − x̂ mean(ĝ x̂)), ĝ = g γ; when a graph of
    the backward pass is requested it differentiates the composition (:class:`_Normalize`, then γ, β). Rows are
    independent: both passes run in blocks of rows on the op's threads (:func:`deepgrad.parallel.row_blocks`)."""

    saves_inputs = (0, 1, 2)

    def __init__(self, k: int, eps: float):
        self.k, self.eps = k, eps

    def forward(self, x, w, b):
        xp = array_module(x)
        d = w.size
        x2 = xp.ascontiguousarray(x).reshape(-1, d)
        w1, b1 = w.reshape(d), b.reshape(d)
        rows = x2.shape[0]
        invstd, y = xp.empty((rows, 1), x.dtype), xp.empty_like(x2)
        jit = jit_kernels.for_arrays(xp, x.dtype, _JIT_DTYPES)
        if jit is not None:  # one compiled pass per block of rows; saves μ and 1/σ, not x̂ (see jit_kernels)
            mean = xp.empty((rows, 1), x.dtype)
            parallel.row_blocks(rows, d, lambda r: jit.layer_norm_forward(x2[r], w1, b1, self.eps, mean[r],
                                                                          invstd[r], y[r]), x2)
            self.xhat, self.x2, self.mean, self.invstd = None, x2, mean, invstd
            return y.reshape(x.shape)
        xhat = xp.empty_like(x2)

        def block(r):
            xc, inv, ys = xhat[r], invstd[r], y[r]
            xp.subtract(x2[r], x2[r].mean(axis=1, keepdims=True), out=xc)
            xp.multiply(xc, xc, out=ys)
            xp.mean(ys, axis=1, keepdims=True, out=inv)
            inv += self.eps
            xp.sqrt(inv, out=inv)
            xp.divide(1.0, inv, out=inv)
            xc *= inv
            xp.multiply(xc, w1, out=ys)
            ys += b1

        parallel.row_blocks(rows, d, block, x2)
        self.xhat, self.invstd = xhat, invstd
        return y.reshape(x.shape)

    def backward(self, g):
        x, w, b = self.inputs
        axes = tuple(range(x.ndim - self.k, x.ndim))
        if grad_mode.state.enabled:  # create_graph: differentiate the composition instead
            from ...autograd import grad as autograd_grad

            y = _affine(_Normalize(axes, self.eps)(x), w, b, tuple(w.shape))
            wanted = [t for t, need in zip(self.inputs, self.needs_input_grad) if need]
            got = iter(autograd_grad([y], wanted, [g], create_graph=True, allow_unused=True))
            return tuple(next(got) if need else None for need in self.needs_input_grad)
        xp = array_module(g._data)
        xhat, invstd = self.xhat, self.invstd
        gd = xp.ascontiguousarray(g._data).reshape(self.invstd.shape[0], -1)
        need = self.needs_input_grad
        if xhat is None:
            return self._jit_backward(jit_kernels.compiled(), xp, gd, w, b, x.shape)
        gw = (gd * xhat).sum(axis=0).reshape(w.shape) if need[1] else None
        gb = gd.sum(axis=0).reshape(b.shape) if need[2] else None
        gx = None
        if need[0]:
            gx, w1 = xp.empty_like(gd), w._data.reshape(-1)

            def block(r):
                gs, xs = gx[r], xhat[r]
                xp.multiply(gd[r], w1, out=gs)
                m2 = xp.mean(gs * xs, axis=1, keepdims=True)
                gs -= gs.mean(axis=1, keepdims=True)
                gs -= xs * m2
                gs *= invstd[r]

            parallel.row_blocks(gd.shape[0], gd.shape[1], block, gd)
            gx = gx.reshape(x.shape)
        return tuple(None if a is None else Tensor._wrap(a) for a in (gx, gw, gb))

    def _jit_backward(self, jit, xp, gd, w, b, shape):
        """The backward as one compiled pass per block of rows; each block sums its rows' ∂γ, ∂β into its own
        float64 accumulators, added up in block order afterwards (the same result on any number of threads)."""
        need = self.needs_input_grad
        gx = xp.empty_like(gd) if need[0] else None
        w1, parts = w._data.reshape(-1), {}

        def block(r):
            acc = parts[r.start] = (xp.zeros(gd.shape[1]), xp.zeros(gd.shape[1]))
            jit.layer_norm_backward(gd[r], self.x2[r], self.mean[r], self.invstd[r], w1,
                                    None if gx is None else gx[r], *acc)

        parallel.row_blocks(gd.shape[0], gd.shape[1], block, gd)
        gw = sum(parts[k][0] for k in sorted(parts))
        gb = sum(parts[k][1] for k in sorted(parts))
        gw = gw.astype(gd.dtype).reshape(w.shape) if need[1] else None
        gb = gb.astype(gd.dtype).reshape(b.shape) if need[2] else None
        gx = None if gx is None else gx.reshape(shape)
        return tuple(None if a is None else Tensor._wrap(a) for a in (gx, gw, gb))


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = (x − E[x]) / √(Var[x] + ε) · γ + β, statistics over the last ``len(normalized_shape)`` axes."""
    check_float(input, "layer_norm")
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if tuple(input.shape[input.ndim - k:]) != normalized_shape or input.ndim < k:
        raise ShapeError(f"layer_norm: expected input with trailing shape {normalized_shape}, got "
                         f"{tuple(input.shape)}")
    if weight is not None and bias is not None and tuple(weight.shape) == tuple(bias.shape) == normalized_shape \
            and weight.dtype == bias.dtype == input.dtype:
        return _LayerNorm(k, eps)(input, weight, bias)
    y = _Normalize(tuple(range(input.ndim - k, input.ndim)), eps)(input)
    return _affine(y, weight, bias, normalized_shape)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,  # noqa: A002
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """y = (x − E[x]) / √(Var[x] + ε) · γ + β, statistics per sample over each group of C/G channels (and space)."""
    check_float(input, "group_norm")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise ShapeError(f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, got "
                         f"{tuple(input.shape)}")
    n, c = input.shape[:2]
    y = _Normalize((2,), eps)(input.reshape(n, num_groups, -1)).reshape(input.shape)
    return _affine(y, weight, bias, (c,) + (1,) * (input.ndim - 2))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """b(N_i, c) = a(N_i, c) / (k + α/n · Σ_{c'=c−⌊n/2⌋}^{c+⌈n/2⌉−1} a(N_i, c')²)^β, n = ``size`` (AlexNet's LRN).

    The sum runs over ``size`` neighbouring channels (zero beyond the edges), at every position; input (N, C, ...).
    """
    if not isinstance(input, Tensor) or input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected an (N, C, *spatial) input, got shape "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    shape = tuple(input.shape)
    sq = (input * input).reshape((shape[0], 1, shape[1], -1))
    g = Geometry((shape[1], sq.shape[3]), (size, 1), (1, 1), (1, 1), [(size // 2, (size - 1) // 2), (0, 0)])
    div = (WindowSum(g)(sq) * (alpha / size) + k) ** beta
    return input / div.reshape(shape)
