"""Loss functions (PyTorch's names and semantics), plus the lectures' ½‖y − t‖² and multiclass SVM hinge loss.

Every loss takes ``reduction`` = 'mean' | 'sum' | 'none'. Targets never broadcast against inputs: a target of the
wrong shape (an (N, 1) column against (N,) predictions, say) raises a ``ShapeError`` instead of silently giving a
wrong loss. ``cross_entropy`` is one fused primitive (log-softmax + NLL, backward (softmax − target) / N).
"""
from __future__ import annotations

import numpy as np

from ... import ops
from ...autograd import grad_mode
from ...autograd.function import Function
from ...backend import array_module
from ...ops._util import ShapeError
from ...tensor import Tensor
from ._checks import check_float, check_reduction, check_same_shape, check_tensor, reduce

__all__ = ["mse_loss", "half_squared_error_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "multi_margin_loss",
           "multiclass_hinge_loss", "hinge_embedding_loss", "hinge_loss", "kl_div", "cosine_similarity"]


# ------------------------------------------------------------------------------------------------ regression
def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """ℓ_i = (x_i − y_i)², then mean (default), sum or none over all elements."""
    check_same_shape(input, target, "mse_loss")
    check_reduction(reduction, "mse_loss")
    d = input - target
    return reduce(d * d, reduction)


def half_squared_error_loss(input: Tensor, target: Tensor, reduction: str = "sum") -> Tensor:  # noqa: A002
    """The lectures' squared error E = ½ ‖y − t‖² = ½ Σ_i (y_i − t_i)², whose gradient is simply y − t.

    Args:
        reduction: 'sum' (default): ½ Σ over every element, the lectures' E; 'mean': that sum divided by the batch
            size N = ``input.shape[0]``, i.e. the average over samples of ½ ‖y_n − t_n‖² (*not* over elements, unlike
            ``mse_loss``); 'none': the elementwise ½ (y_i − t_i)².
    """
    check_same_shape(input, target, "half_squared_error_loss")
    check_reduction(reduction, "half_squared_error_loss")
    d = input - target
    e = d * d * 0.5
    if reduction == "none":
        return e
    s = e.sum()
    return s if reduction == "sum" or input.ndim == 0 else s / input.shape[0]


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:  # noqa: A002
    """ℓ_i = |x_i − y_i|."""
    check_same_shape(input, target, "l1_loss")
    check_reduction(reduction, "l1_loss")
    return reduce(ops.abs(input - target), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:  # noqa: A002
    """ℓ_i = ½ d² if |d| < δ else δ (|d| − ½ δ), with d = x_i − y_i."""
    check_same_shape(input, target, "huber_loss")
    check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    a = ops.abs(input - target)
    q = ops.clamp(a, max=delta)  # quadratic part; the rest is linear: ½q² + δ(|d| − q) equals both branches
    return reduce(q * q * 0.5 + (a - q) * delta, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:  # noqa: A002
    """ℓ_i = ½ d² / β if |d| < β else |d| − ½ β (Huber loss divided by β; β = 0 gives the L1 loss)."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction)
    check_same_shape(input, target, "smooth_l1_loss")
    check_reduction(reduction, "smooth_l1_loss")
    a = ops.abs(input - target)
    q = ops.clamp(a, max=beta)
    return reduce(q * q * (0.5 / beta) + (a - q), reduction)


# ------------------------------------------------------------------------------------------------ binary
def _weighted(loss: Tensor, weight: Tensor | None, op: str) -> Tensor:
    if weight is None:
        return loss
    try:
        ops.broadcast_to(weight, loss.shape)
    except Exception:  # noqa: BLE001 - the op's own message is about broadcasting; ours names the loss
        raise ShapeError(f"{op}: weight of shape {tuple(weight.shape)} does not broadcast to the loss shape "
                         f"{tuple(loss.shape)}") from None
    return loss * weight


class BinaryCrossEntropyFn(Function):
    """ℓ = −[y log x + (1 − y) log(1 − x)] elementwise, each log clamped at −100; the gradient in x is
    (x − y) / max(x (1 − x), 1e-12), as PyTorch's, so it stays finite at x = 0 or 1 (a saturated sigmoid)."""

    saves_inputs = (0, 1)

    def forward(self, x, y):
        xp = array_module(x)
        with np.errstate(divide="ignore"):  # log 0 = -inf is expected here and clamped
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        return -(y * log_x + (1 - y) * log_1mx)

    def backward(self, g):
        x, y = self.inputs
        nx, ny = self.needs_input_grad
        gx = g * (x - y) / ops.clamp(x * (1.0 - x), min=1e-12) if nx else None
        gy = None
        if ny:
            with np.errstate(divide="ignore"):
                gy = g * (ops.clamp(ops.log(1.0 - x), min=-100.0) - ops.clamp(ops.log(x), min=-100.0))
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    """ℓ_i = −w_i [y_i log x_i + (1 − y_i) log(1 − x_i)], with each log clamped at −100 (as PyTorch) so that
    x = 0 or 1 gives a finite loss, and a finite gradient (x − y) / max(x (1 − x), 1e-12). ``input`` holds
    probabilities in [0, 1]."""
    check_same_shape(input, target, "binary_cross_entropy")
    check_reduction(reduction, "binary_cross_entropy")
    a = input._data
    if a.size and (float(a.min()) < 0 or float(a.max()) > 1):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] (apply sigmoid first, or use "
                         "binary_cross_entropy_with_logits on raw scores)")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    loss = BinaryCrossEntropyFn()(input, target)
    return reduce(_weighted(loss, weight, "binary_cross_entropy"), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """ℓ_i = −w_i [p y_i log σ(x_i) + (1 − y_i) log(1 − σ(x_i))] from raw scores x, computed stably as
    (1 − y) x + (1 + (p − 1) y) (log(1 + e^{−|x|}) + max(−x, 0)); ``pos_weight`` p weighs positives (per class)."""
    check_same_shape(input, target, "binary_cross_entropy_with_logits")
    check_reduction(reduction, "binary_cross_entropy_with_logits")
    log_sig_neg = ops.log1p(ops.exp(-ops.abs(input))) + ops.relu(-input)  # −log σ(x)
    if pos_weight is None:
        loss = (1.0 - target) * input + log_sig_neg
    else:
        loss = (1.0 - target) * input + (1.0 + (pos_weight - 1.0) * target) * log_sig_neg
    return reduce(_weighted(loss, weight, "binary_cross_entropy_with_logits"), reduction)


# ------------------------------------------------------------------------------------------------ classification
def _class_last(a, xp):
    """(N, C, d1, ...) -> (N·d1·..., C); (C,) -> (1, C); (N, C) unchanged."""
    if a.ndim == 1:
        return a[None]
    if a.ndim == 2:
        return a
    return xp.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _per_sample_shape(shape) -> tuple:
    return () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])


def _check_class_target(input: Tensor, target: Tensor, op: str, soft_ok: bool) -> bool:
    """Validates ``target`` against logits/log-probs ``input`` (N, C, *); returns True for class-index targets."""
    check_float(input, op)
    check_tensor(target, op, "target")
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d tensor")
    idx_shape = _per_sample_shape(input.shape)
    if target.dtype.kind in "iu":
        if tuple(target.shape) != idx_shape:
            raise ShapeError(f"{op}: class-index target must have shape {idx_shape} for input of shape "
                             f"{tuple(input.shape)}, got {tuple(target.shape)}"
                             + (" (squeeze the trailing 1: target.squeeze(-1))"
                                if tuple(target.shape) == idx_shape + (1,) else ""))
        c = input.shape[0] if input.ndim == 1 else input.shape[1]
        return c
    if target.dtype.kind == "f":
        if tuple(target.shape) == tuple(input.shape) and soft_ok:
            return 0
        if tuple(target.shape) == idx_shape:
            raise TypeError(f"{op}: class-index targets must be integers (int64), got dtype {target.dtype}; use "
                            "target.long()")
        what = f"or probabilities of shape {tuple(input.shape)}" if soft_ok else "(integers)"
        raise ShapeError(f"{op}: target shape {tuple(target.shape)} fits neither class indices of shape {idx_shape} "
                         f"{what}, for input of shape {tuple(input.shape)}")
    raise TypeError(f"{op}: target must be integer class indices or float probabilities, got dtype {target.dtype}")


def _index_weights(t, c, weight, ignore_index, op, xp, dtype):
    """(valid mask, per-sample class weight w_{y_i} · valid, t with ignored entries replaced by 0)."""
    valid = t != ignore_index
    tv = t[valid]
    if tv.size and (int(tv.min()) < 0 or int(tv.max()) >= c):
        raise IndexError(f"{op}: target class indices must lie in 0..{c - 1} (or equal ignore_index={ignore_index}), "
                         f"got values in {int(tv.min())}..{int(tv.max())}")
    t_safe = xp.where(valid, t, 0)
    w_t = valid.astype(dtype) if weight is None else weight[t_safe] * valid
    return valid, w_t, t_safe


class _CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over the rows of logits X (M, C).

    ℓ_i = −Σ_c A_ic log softmax(x_i)_c, where A holds the (weighted, smoothed) target distribution; so
    ∂ℓ_i/∂x_i = softmax(x_i) Σ_c A_ic − A_i, which is (softmax − onehot) for a plain class index.
    Inputs are the (M, C) logits and, for probability targets, the (M, C) targets (also differentiable:
    ∂ℓ_i/∂t_ic = −(1 − ε) w_c log softmax(x_i)_c).

    Class indices without smoothing keep A sparse — its row i is w_{y_i} at column y_i — so that the forward pass
    gathers M log-probabilities and the backward pass is one pass over the saved exp(x − max) and one scatter
    (measured on the 2-core CPU at (2048, 65): forward + backward 0.68 ms against 1.27 ms with a dense A).
    """

    saves_inputs = (0,)

    def __init__(self, a, denom, reduction, soft_scale, index=None):
        self.a, self.denom, self.reduction, self.soft_scale = a, denom, reduction, soft_scale
        self.index = index  # (class per row, w_{y_i} per row) where A is sparse, else None

    def forward(self, x, t=None):
        xp = array_module(x)
        z = x - x.max(axis=1, keepdims=True)
        if self.index is not None:
            e = xp.exp(z)
            self.e, self.s = e, e.sum(axis=1)
            y, w = self.index
            loss = w * (xp.log(self.s) - z[xp.arange(z.shape[0]), y])
        else:
            z -= xp.log(xp.exp(z).sum(axis=1, keepdims=True))  # log-probabilities
            self.logp = z
            a = self.a if t is None else self.a_from(t)
            loss = -(a * z).sum(axis=1)
        if self.reduction == "none":
            return loss
        s = loss.sum()
        return s / self.denom if self.reduction == "mean" else s

    def a_from(self, t):
        """A = ((1 − ε) t + ε/C) · w for probability targets t."""
        scale, shift, w = self.soft_scale
        self.a = scale * t + shift
        if w is not None:
            self.a = self.a * w
        return self.a

    def _a_tensor(self, t: Tensor) -> Tensor:
        scale, shift, w = self.soft_scale
        a = t * scale + shift
        return a if w is None else a * Tensor._wrap(w)

    def _dense_a(self, xp, shape, dtype):
        if self.a is None:
            y, w = self.index
            self.a = xp.zeros(shape, dtype)
            self.a[xp.arange(shape[0]), y] = w
        return self.a

    def backward(self, g):
        scale = g if self.reduction == "none" else (g / self.denom if self.reduction == "mean" else g)
        scale = scale.reshape(-1, 1) if self.reduction == "none" else scale
        if self.index is not None and not grad_mode.state.enabled:  # softmax ⊙ w_y − w_y onehot, one pass
            xp = array_module(self.e)
            y, w = self.index
            ws = w * scale._data.reshape(-1) if self.reduction == "none" else w * scale._data
            gx = self.e * (ws / self.s)[:, None].astype(self.e.dtype, copy=False)
            gx[xp.arange(gx.shape[0]), y] -= ws
            return (Tensor._wrap(gx),)
        x = self.inputs[0]
        if grad_mode.state.enabled:  # double backward: softmax (and soft targets) must stay in the graph
            logp = ops.log_softmax(x, 1)
            if len(self.inputs) == 1:
                a = Tensor._wrap(self._dense_a(array_module(x._data), x.shape, x.dtype))
            else:
                a = self._a_tensor(self.inputs[1])
        else:
            logp, a = Tensor._wrap(self.logp), Tensor._wrap(self.a)
        gx = (logp.exp() * a.sum(1, keepdim=True) - a) * scale if self.needs_input_grad[0] else None
        if len(self.inputs) == 1:
            return (gx,)
        gt = None
        if self.needs_input_grad[1]:
            w = self.soft_scale[2]
            gt = -logp * (self.soft_scale[0] * (1.0 if w is None else Tensor._wrap(w))) * scale
        return gx, gt


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,  # noqa: A002
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between softmax(logits) and the targets, one fused primitive.

    For class indices y: ℓ_i = −w_{y_i} log softmax(x_i)_{y_i} (with ``label_smoothing`` ε the target becomes
    (1 − ε)·onehot + ε/C); 'mean' divides by Σ_i w_{y_i} over the non-ignored samples. For probability targets
    t (same shape as input): ℓ_i = −Σ_c w_c t_ic log softmax(x_i)_c; 'mean' divides by the number of samples.

    Args:
        input: logits (C,), (N, C) or (N, C, d1, ...) — classes on dim 1.
        target: int64 class indices (), (N,) or (N, d1, ...), or float probabilities shaped like ``input``.
        weight: optional (C,) per-class weights. ignore_index: class-index value that contributes nothing.
        label_smoothing: ε in [0, 1].

    Example:
        >>> import deepgrad as dg
        >>> logits = dg.tensor([[2.0, 0.5, -1.0]])
        >>> round(dg.nn.functional.cross_entropy(logits, dg.tensor([0])).item(), 4)
        0.2413
    """
    op = "cross_entropy"
    check_reduction(reduction, op)
    c = _check_class_target(input, target, op, soft_ok=True)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    ncls = input.shape[0] if input.ndim == 1 else input.shape[1]
    if weight is not None and tuple(weight.shape) != (ncls,):
        raise ShapeError(f"{op}: weight must have shape ({ncls},) (one value per class), got {tuple(weight.shape)}")
    x_t = _rows(input)
    x2 = x_t._data
    xp = array_module(x2)
    w = None if weight is None else weight._data.astype(x2.dtype, copy=False)
    eps = label_smoothing
    out_shape = _per_sample_shape(input.shape)
    if c:  # class indices
        t = target._data.reshape(-1)
        valid, w_t, t_safe = _index_weights(t, c, w, ignore_index, op, xp, x2.dtype)
        denom = float(w_t.sum())
        if eps:
            a = xp.zeros_like(x2)
            a[xp.arange(t.shape[0]), t_safe] = (1.0 - eps) * w_t
            a += (eps / c) * (w if w is not None else 1.0) * valid[:, None]
            fn = _CrossEntropy(a, denom, reduction, None)
        else:
            fn = _CrossEntropy(None, denom, reduction, None, index=(t_safe, w_t))
        loss = fn(x_t)
    else:
        soft = ((1.0 - eps), eps / ncls, w)
        fn = _CrossEntropy(None, x2.shape[0], reduction, soft)
        loss = fn(x_t, _rows(target))
    return loss.reshape(out_shape) if reduction == "none" else loss


class _Rows(Function):
    """(N, C, d1, ...) -> (N·d1·..., C) (classes last) as one node; its backward is the inverse move."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        return _class_last(x, array_module(x))

    def backward(self, g):
        s = self.shape
        if len(s) <= 2:
            return (g.reshape(s),)
        return (g.reshape((s[0],) + tuple(s[2:]) + (s[1],)).movedim(-1, 1),)


def _rows(x: Tensor) -> Tensor:
    return x if x.ndim == 2 else _Rows(tuple(x.shape))(x)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,  # noqa: A002
             reduction: str = "mean") -> Tensor:
    """ℓ_i = −w_{y_i} x_{i, y_i} for log-probabilities x (e.g. from ``log_softmax``); 'mean' divides by Σ w_{y_i}.

    Shapes as in :func:`cross_entropy` (class-index targets only)."""
    op = "nll_loss"
    check_reduction(reduction, op)
    c = _check_class_target(input, target, op, soft_ok=False)
    if weight is not None and tuple(weight.shape) != (c,):
        raise ShapeError(f"{op}: weight must have shape ({c},) (one value per class), got {tuple(weight.shape)}")
    x = _rows(input)
    xp = array_module(x._data)
    t = target._data.reshape(-1)
    w = None if weight is None else weight._data.astype(x.dtype, copy=False)
    _, w_t, t_safe = _index_weights(t, c, w, ignore_index, op, xp, x.dtype)
    a = xp.zeros(x.shape, dtype=x.dtype)
    a[xp.arange(t.shape[0]), t_safe] = w_t
    loss = -(x * Tensor._wrap(a)).sum(1)
    if reduction == "none":
        return loss.reshape(_per_sample_shape(input.shape))
    s = loss.sum()
    return s / Tensor._wrap(w_t.sum()) if reduction == "mean" else s


def _margins(input: Tensor, target: Tensor, margin: float, p: int, op: str):
    """max(0, Δ − s_y + s_j) (to the power p) for j ≠ y, as an (N, C) tensor, and the (N,) targets."""
    check_float(input, op)
    check_tensor(target, op, "target")
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: input must be (C,) or (N, C) scores, got {tuple(input.shape)}")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {target.dtype}; use .long()")
    want = (x.shape[0],) if input.ndim == 2 else ()
    if tuple(target.shape) != want:
        raise ShapeError(f"{op}: target must have shape {want} for input of shape {tuple(input.shape)}, got "
                         f"{tuple(target.shape)}")
    t = target._data.reshape(-1)
    c = x.shape[1]
    if t.size and (int(t.min()) < 0 or int(t.max()) >= c):
        raise IndexError(f"{op}: target class indices must lie in 0..{c - 1}, got {int(t.min())}..{int(t.max())}")
    xp = array_module(t)
    idx = Tensor._wrap(t[:, None])
    others = Tensor._wrap((xp.arange(c)[None, :] != t[:, None]).astype(x.dtype))
    m = ops.relu(x - x.gather(1, idx) + margin) * others
    if p == 2:
        m = m * m
    return m, t


def multiclass_hinge_loss(input: Tensor, target: Tensor, margin: float = 1.0,  # noqa: A002
                          reduction: str = "mean") -> Tensor:
    """The multiclass SVM (Weston–Watkins) hinge loss of the lectures: L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ).

    Unlike :func:`multi_margin_loss` the sum is not divided by the number of classes.

    Example (the lectures' cat/car/frog scores, one column per image):
        >>> import deepgrad as dg
        >>> s = dg.tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
        >>> [round(v, 2) for v in dg.nn.functional.multiclass_hinge_loss(s, dg.tensor([0, 1, 2]), reduction='none').tolist()]
        [2.9, 0.0, 12.9]
    """
    check_reduction(reduction, "multiclass_hinge_loss")
    m, _ = _margins(input, target, margin, 1, "multiclass_hinge_loss")
    loss = m.sum(1)
    return reduce(loss if input.ndim == 2 else loss.reshape(()), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,  # noqa: A002
                      weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """PyTorch's multi-class margin loss: ℓ_i = Σ_{j≠y_i} w_{y_i} max(0, Δ − x_{y_i} + x_j)^p / C (p = 1 or 2)."""
    check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    m, t = _margins(input, target, margin, p, "multi_margin_loss")
    c = m.shape[1]
    if weight is not None:
        if tuple(weight.shape) != (c,):
            raise ShapeError(f"multi_margin_loss: weight must have shape ({c},), got {tuple(weight.shape)}")
        m = m * Tensor._wrap(weight._data[t][:, None])
    loss = m.sum(1) / c
    return reduce(loss if input.ndim == 2 else loss.reshape(()), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,  # noqa: A002
                         reduction: str = "mean") -> Tensor:
    """PyTorch's ℓ_i = x_i if y_i = 1, max(0, Δ − x_i) if y_i = −1 (x usually a distance)."""
    check_same_shape(input, target, "hinge_embedding_loss")
    check_reduction(reduction, "hinge_embedding_loss")
    pos = Tensor._wrap(target._data == 1)
    return reduce(ops.where(pos, input, ops.relu(margin - input)), reduction)


def hinge_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: str = "mean") -> Tensor:  # noqa: A002
    """The binary SVM hinge loss for labels y ∈ {−1, +1} and scores s: ℓ_i = max(0, Δ − y_i s_i)."""
    check_same_shape(input, target, "hinge_loss")
    check_reduction(reduction, "hinge_loss")
    t = target._data
    xp = array_module(t)
    if t.size and not bool(xp.all((t == 1) | (t == -1))):
        raise ValueError("hinge_loss: targets must be −1 or +1 (map 0/1 labels with 2 * y − 1)")
    return reduce(ops.relu(margin - target * input), reduction)


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean", log_target: bool = False) -> Tensor:  # noqa: A002
    """KL(target ‖ q) pointwise with ``input`` = log q: ℓ = t (log t − x), 0 where t = 0 (or e^t (t − x) when
    ``log_target``). 'batchmean' divides the sum by the batch size, which is the true KL divergence per sample;
    'mean' divides by the number of elements, as PyTorch does."""
    check_same_shape(input, target, "kl_div")
    check_reduction(reduction, "kl_div", ("mean", "sum", "none", "batchmean"))
    if log_target:
        loss = ops.exp(target) * (target - input)
    else:
        pos = target > 0
        safe = ops.where(pos, target, 1.0)
        loss = ops.where(pos, target * (ops.log(safe) - input), -input * 0.0)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return reduce(loss, reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """cos(x₁, x₂) = x₁·x₂ / max(‖x₁‖ ‖x₂‖, ε) along ``dim`` (inputs broadcast)."""
    check_float(x1, "cosine_similarity", "x1")
    check_float(x2, "cosine_similarity", "x2")
    num = (x1 * x2).sum(dim)
    den = ops.clamp(x1.norm(dim=dim) * x2.norm(dim=dim), min=eps)
    return num / den
