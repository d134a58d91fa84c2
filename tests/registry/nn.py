"""Registry entries for deepgrad.nn.functional: activations, layers' functions, losses and penalties."""
import math

import numpy as np

import deepgrad.nn.functional as F
from harness import Spec as S
from harness import case

erf = np.vectorize(math.erf)


def sig(a):
    return 1 / (1 + np.exp(-a))


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def log_softmax(a, axis=-1):
    return np.log(softmax(a, axis))


# ------------------------------------------------------------------------------------------- activations
ACT = {
    "step": (F.step, lambda a: (a >= 0).astype(a.dtype)),
    "heaviside": (lambda x: F.heaviside(x, 0.5), lambda a: np.heaviside(a, 0.5).astype(a.dtype)),
    "sigmoid": (F.sigmoid, sig),
    "logistic": (lambda x: F.logistic(x, 2.0), lambda a: sig(2.0 * a)),
    "tanh": (F.tanh, np.tanh),
    "relu": (F.relu, lambda a: np.maximum(a, 0)),
    "relu6": (lambda x: F.relu6(x * 4), lambda a: np.clip(a * 4, 0, 6)),
    "leaky_relu": (F.leaky_relu, lambda a: np.where(a > 0, a, 0.01 * a)),
    "leaky_relu[0.1]": (lambda x: F.leaky_relu(x, 0.1), lambda a: np.where(a > 0, a, 0.1 * a)),
    "elu": (lambda x: F.elu(x, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(np.minimum(a, 0)))),
    "selu": (F.selu, lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(np.minimum(a, 0)))),
    "gelu": (F.gelu, lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2)))),
    "gelu[tanh]": (lambda x: F.gelu(x, "tanh"),
                   lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=1.5),
                 lambda a: np.where(2 * a > 1.5, a, np.log1p(np.exp(2 * a)) / 2)),
    "silu": (F.silu, lambda a: a * sig(a)),
    "mish": (F.mish, lambda a: a * np.tanh(np.log1p(np.exp(a)))),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.8), lambda a: np.clip(a, -0.5, 0.8)),
    "hardsigmoid": (lambda x: F.hardsigmoid(x * 4), lambda a: np.clip(a * 4 / 6 + 0.5, 0, 1)),
    "softsign": (F.softsign, lambda a: a / (1 + np.abs(a))),
}
for name, (fn, ref) in ACT.items():
    base, _, var = name.partition("[")
    case(base, fn, [(3, 4)], ref, variant=var.rstrip("]"), gradgrad=base in ("sigmoid", "tanh", "gelu", "silu"))
case("prelu", F.prelu, [(2, 3, 4), (3,)], lambda a, w: np.where(a > 0, a, a * w[:, None]))
case("prelu", F.prelu, [(2, 3), (1,)], lambda a, w: np.where(a > 0, a, a * w), variant="shared")
case("F.softmax", lambda x: F.softmax(x, 1), [(2, 3, 4)], lambda a: softmax(a, 1))
case("F.log_softmax", lambda x: F.log_softmax(x, -1), [(2, 3, 4)], lambda a: log_softmax(a, -1))

# ------------------------------------------------------------------------------------------- layers
case("linear", F.linear, [(4, 3), (5, 3), (5,)], lambda x, w, b: x @ w.T + b, gradgrad=True)
case("linear", F.linear, [(2, 4, 3), (5, 3), (5,)], lambda x, w, b: x @ w.T + b, variant="3d")
case("linear", F.linear, [S((4, 3), noncontig=True), (5, 3)], lambda x, w: x @ w.T, variant="nobias-noncontig")
case("bilinear", F.bilinear, [(4, 2), (4, 3), (5, 2, 3), (5,)],
     lambda a, b, w, c: np.einsum("ni,kij,nj->nk", a, w, b) + c)


def maxout(x, w, b):
    return F.linear(x, w, b).reshape(4, 3, 2).amax(-1)


case("maxout", maxout, [(4, 5), (6, 5), (6,)], lambda x, w, b: (x @ w.T + b).reshape(4, 3, 2).max(-1))


def bn_ref(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (-1,) + (1,) * (x.ndim - 2)
    m, v = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w.reshape(shape) + b.reshape(shape)


case("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(6, 3), (3,), (3,)], bn_ref,
     gradgrad=True)
case("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(2, 3, 2, 2), (3,), (3,)],
     bn_ref, variant="4d", gradgrad=True)
case("batch_norm", lambda x: F.batch_norm(x, None, None, None, None, training=True), [(3, 2, 5)],
     lambda x: bn_ref(x, np.ones(2), np.zeros(2)), variant="no-affine", gradgrad=True)
case("batch_norm", lambda x, w: F.batch_norm(x, None, None, w, None, training=True), [(3, 2, 5), (2,)],
     lambda x, w: bn_ref(x, w, np.zeros(2)), variant="weight-only")
case("batch_norm", lambda x, b: F.batch_norm(x, None, None, None, b, training=True), [(3, 2, 5), (2,)],
     lambda x, b: bn_ref(x, np.ones(2), b), variant="bias-only")
case("batch_norm", lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False),
     [(4, 3), (3,), S((3,), "positive"), (3,), (3,)],
     lambda x, rm, rv, w, b: (x - rm) / np.sqrt(rv + 1e-5) * w + b, variant="eval")


def ln_ref(x, w, b, k):
    axes = tuple(range(x.ndim - k, x.ndim))
    m, v = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * w + b


case("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b), [(2, 3, 4), (4,), (4,)],
     lambda x, w, b: ln_ref(x, w, b, 1), gradgrad=True)
case("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)],
     lambda x, w, b: ln_ref(x, w, b, 2), variant="2dims")


def gn_ref(x, w, b, g=2):
    n, c = x.shape[:2]
    xr = x.reshape(n, g, -1)
    m, v = xr.mean(2, keepdims=True), xr.var(2, keepdims=True)
    y = ((xr - m) / np.sqrt(v + 1e-5)).reshape(x.shape)
    shape = (c,) + (1,) * (x.ndim - 2)
    return y * w.reshape(shape) + b.reshape(shape)


case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)], gn_ref)
case("embedding", lambda i, w: F.embedding(i, w), [S((2, 3), "int", 0, 5), (5, 4)], lambda i, w: w[i])
case("embedding", lambda i, w: F.embedding(i, w, padding_idx=1), [S((6,), "int", 0, 3), (3, 2)], lambda i, w: w[i],
     variant="padding", grad=False)
case("dropout", lambda x: F.dropout(x, 0.5, training=False), [(3, 4)], lambda a: a, variant="eval")

# ------------------------------------------------------------------------------------------- losses
RED = {"mean": np.mean, "sum": np.sum, "none": lambda a: a}
for red, r in RED.items():
    case("mse_loss", lambda x, t, red=red: F.mse_loss(x, t, red), [(3, 4), (3, 4)],
         lambda x, t, r=r: r((x - t) ** 2), variant=red)
    case("l1_loss", lambda x, t, red=red: F.l1_loss(x, t, red), [(3, 4), (3, 4)],
         lambda x, t, r=r: r(np.abs(x - t)), variant=red)
    case("half_squared_error_loss", lambda x, t, red=red: F.half_squared_error_loss(x, t, red), [(3, 4), (3, 4)],
         lambda x, t, red=red: {"sum": 0.5 * ((x - t) ** 2).sum(), "mean": 0.5 * ((x - t) ** 2).sum() / 3,
                                "none": 0.5 * (x - t) ** 2}[red], variant=red)


def huber_ref(x, t, d):
    a = np.abs(x - t)
    return np.where(a < d, 0.5 * a * a, d * (a - 0.5 * d)).mean()


case("huber_loss", lambda x, t: F.huber_loss(x, t, delta=0.7), [(3, 4), (3, 4)], lambda x, t: huber_ref(x, t, 0.7))
case("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.7), [(3, 4), (3, 4)],
     lambda x, t: huber_ref(x, t, 0.7) / 0.7)


def bce_ref(p, t, w=1.0):
    return (-w * (t * np.log(p) + (1 - t) * np.log(1 - p))).mean()


case("binary_cross_entropy", lambda x, t: F.binary_cross_entropy(x.sigmoid(), (t + 1) / 2), [(3, 4), S((3, 4), "unit")],
     lambda x, t: bce_ref(sig(x), (t + 1) / 2))
case("binary_cross_entropy", lambda x, t, w: F.binary_cross_entropy(x.sigmoid(), (t + 1) / 2, weight=w),
     [(3, 4), S((3, 4), "unit"), S((4,), "positive", grad=False)], lambda x, t, w: bce_ref(sig(x), (t + 1) / 2, w),
     variant="weight")
case("binary_cross_entropy_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, (t + 1) / 2),
     [(3, 4), S((3, 4), "unit")], lambda x, t: bce_ref(sig(x), (t + 1) / 2), gradgrad=True)
case("binary_cross_entropy_with_logits",
     lambda x, t, pw: F.binary_cross_entropy_with_logits(x * 10, (t + 1) / 2, pos_weight=pw, reduction="sum"),
     [(3, 4), S((3, 4), "unit"), S((4,), "positive")],
     lambda x, t, pw: (-(pw * (t + 1) / 2 * np.log(sig(10 * x)) + (1 - (t + 1) / 2) * np.log(1 - sig(10 * x)))).sum(),
     variant="pos_weight", ref_atol=1e-5)


def ce_ref(x, t, w=None, ignore=-100, eps=0.0, red="mean"):
    """Cross-entropy for (N, C) logits and (N,) class indices, straight from the definition."""
    c = x.shape[1]
    lp = log_softmax(x, 1)
    w = np.ones(c, dtype=x.dtype) if w is None else w
    losses, wsum = [], 0.0
    for i in range(x.shape[0]):
        if t[i] == ignore:
            losses.append(0.0)
            continue
        q = np.full(c, eps / c)
        q[t[i]] += 1 - eps
        losses.append(-(q * w * lp[i]).sum())
        wsum += w[t[i]]
    losses = np.array(losses, dtype=x.dtype)
    return {"mean": losses.sum() / wsum, "sum": losses.sum(), "none": losses}[red]


case("cross_entropy", lambda x, t: F.cross_entropy(x, t), [(4, 5), S((4,), "int", 0, 5)], ce_ref, gradgrad=True)
for red in ("sum", "none"):
    case("cross_entropy", lambda x, t, red=red: F.cross_entropy(x, t, reduction=red), [(4, 5), S((4,), "int", 0, 5)],
         lambda x, t, red=red: ce_ref(x, t, red=red), variant=red)
case("cross_entropy", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2, ignore_index=2),
     [(6, 4), S((6,), "int", 0, 4), S((4,), "positive", grad=False)],
     lambda x, t, w: ce_ref(x, t, w, ignore=2, eps=0.2), variant="weight-smoothing-ignore")
for red in ("mean", "none"):  # the sparse-target path with class weights and ignored rows, double backward included
    case("cross_entropy", lambda x, t, w, red=red: F.cross_entropy(x, t, weight=w, ignore_index=1, reduction=red),
         [(6, 4), S((6,), "int", 0, 4), S((4,), "positive", grad=False)],
         lambda x, t, w, red=red: ce_ref(x, t, w, ignore=1, red=red), variant=f"weight-ignore-{red}", gradgrad=True)
case("cross_entropy", lambda x, t: F.cross_entropy(x, t, reduction="none"), [(2, 3, 4), S((2, 4), "int", 0, 3)],
     lambda x, t: ce_ref(x.transpose(0, 2, 1).reshape(-1, 3), t.reshape(-1), red="none").reshape(2, 4),
     variant="spatial")
case("cross_entropy", lambda x, t: F.cross_entropy(x, t), [(5,), S((), "int", 0, 5)],
     lambda x, t: ce_ref(x[None], t.reshape(1)), variant="unbatched")
case("cross_entropy", lambda x, p: F.cross_entropy(x, F.softmax(p, 1), label_smoothing=0.1), [(3, 4), (3, 4)],
     lambda x, p: -(((0.9 * softmax(p, 1) + 0.1 / 4)) * log_softmax(x, 1)).sum(1).mean(), variant="probabilities",
     gradgrad=True)
case("nll_loss", lambda x, t, w: F.nll_loss(F.log_softmax(x, 1), t, weight=w), [(4, 5), S((4,), "int", 0, 5),
     S((5,), "positive", grad=False)], lambda x, t, w: ce_ref(x, t, w))
case("nll_loss", lambda x, t: F.nll_loss(x, t, reduction="none"), [(2, 3, 4), S((2, 4), "int", 0, 3)],
     lambda x, t: -np.take_along_axis(x, t[:, None], 1)[:, 0], variant="spatial")


def margins_ref(x, t, margin=1.0, p=1):
    out = np.zeros(x.shape[0], dtype=x.dtype)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            if j != t[i]:
                out[i] += max(0.0, margin - x[i, t[i]] + x[i, j]) ** p
    return out


case("multiclass_hinge_loss", F.multiclass_hinge_loss, [(4, 5), S((4,), "int", 0, 5)],
     lambda x, t: margins_ref(x, t).mean())
case("multi_margin_loss", lambda x, t: F.multi_margin_loss(x, t, p=2, margin=0.5, reduction="none"),
     [(4, 5), S((4,), "int", 0, 5)], lambda x, t: margins_ref(x, t, 0.5, 2) / 5)
case("multi_margin_loss", lambda x, t, w: F.multi_margin_loss(x, t, weight=w), [(4, 5), S((4,), "int", 0, 5),
     S((5,), "positive", grad=False)], lambda x, t, w: (margins_ref(x, t) * w[t] / 5).mean(), variant="weight")
case("hinge_embedding_loss", lambda x, y: F.hinge_embedding_loss(x, (y * 2 - 1).to(x.dtype), margin=0.5),
     [(3, 4), S((3, 4), "int", 0, 2)], lambda x, y: np.where(y == 1, x, np.maximum(0, 0.5 - x)).mean())
case("hinge_loss", lambda x, y: F.hinge_loss(x, (y * 2 - 1).to(x.dtype)), [(3, 4), S((3, 4), "int", 0, 2)],
     lambda x, y: np.maximum(0, 1 - (2 * y - 1) * x).mean())
case("kl_div", lambda x, p: F.kl_div(F.log_softmax(x, 1), F.softmax(p, 1), reduction="batchmean"), [(3, 4), (3, 4)],
     lambda x, p: (softmax(p, 1) * (log_softmax(p, 1) - log_softmax(x, 1))).sum() / 3)
case("kl_div", lambda x, p: F.kl_div(x, p, reduction="sum", log_target=True), [(3, 4), (3, 4)],
     lambda x, p: (np.exp(p) * (p - x)).sum(), variant="log_target")
case("cosine_similarity", F.cosine_similarity, [(3, 4), (3, 4)],
     lambda a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))

# ------------------------------------------------------------------------------------------- penalties
case("l1_penalty", lambda a, b: F.l1_penalty([a, b]), [(3, 4), (5,)], lambda a, b: np.abs(a).sum() + np.abs(b).sum())
case("l2_penalty", lambda a, b: F.l2_penalty([a, b]), [(3, 4), (5,)], lambda a, b: (a * a).sum() + (b * b).sum())
case("elastic_net_penalty", lambda a, b: F.elastic_net_penalty([a, b], 0.3), [(3, 4), (5,)],
     lambda a, b: 0.3 * (np.abs(a).sum() + np.abs(b).sum()) + 0.7 * ((a * a).sum() + (b * b).sum()))
