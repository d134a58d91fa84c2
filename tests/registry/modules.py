"""Registry entries for every nn layer (the layer test) and the error inputs of layers and ops."""
import itertools
import math

import numpy as np

import deepgrad as dg
from deepgrad import nn
from harness import Spec as S
from harness import error, layer
from registry.conv import _lrn_ref, _nearest_ref, conv_ref, conv_transpose_ref

erf = np.vectorize(math.erf)


def sig(a):
    return 1 / (1 + np.exp(-a))


def softmax(a, axis):
    e = np.exp(a - a.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def pool_ref(x, k, reduce):
    """Non-overlapping windows of size k (an n-tuple) over the trailing dims, reduced (stride = kernel)."""
    nd = len(k)
    out = tuple(s // kk for s, kk in zip(x.shape[-nd:], k))
    y = np.empty(x.shape[:-nd] + out)
    for o in itertools.product(*map(range, out)):
        win = x[(...,) + tuple(slice(i * kk, (i + 1) * kk) for i, kk in zip(o, k))]
        y[(...,) + o] = reduce(win.reshape(win.shape[:-nd] + (-1,)), axis=-1)
    return y


def standardise(x, axes, eps):
    m = x.mean(axes, keepdims=True)
    v = x.var(axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


def layer_norm(x, p, name, eps=1e-5):
    return standardise(x, -1, eps) * p[name + ".weight"] + p[name + ".bias"]


def _bilinear_corners_ref(x, out_h, out_w):
    """Bilinear resize with align_corners=True, one axis at a time: output i samples input position
    i (n_in - 1) / (n_out - 1) between its two neighbours."""
    for axis, n_out in ((-2, out_h), (-1, out_w)):
        n_in = x.shape[axis]
        pos = np.arange(n_out) * (n_in - 1) / (n_out - 1)
        lo = np.minimum(np.floor(pos).astype(int), n_in - 2)
        w = pos - lo
        a, b = np.take(x, lo, axis), np.take(x, lo + 1, axis)
        shape = [1] * x.ndim
        shape[axis] = n_out
        x = a * (1 - w.reshape(shape)) + b * w.reshape(shape)
    return x


# ------------------------------------------------------------------ recurrent cells (PyTorch's gate order)
def _affine(p, sfx, x, h):
    return x @ p["weight_ih" + sfx].T + p["bias_ih" + sfx], h @ p["weight_hh" + sfx].T + p["bias_hh" + sfx]


def _gru_step(p, sfx, x, h):
    """r, z, n = the three row blocks; n = tanh(W_in x + b_in + r (W_hn h + b_hn)); h' = (1 - z) n + z h."""
    gi, gh = _affine(p, sfx, x, h)
    (ir, iz, i_n), (hr, hz, hn) = np.split(gi, 3, -1), np.split(gh, 3, -1)
    r, z = sig(ir + hr), sig(iz + hz)
    return (1 - z) * np.tanh(i_n + r * hn) + z * h


def _lstm_step(p, sfx, x, h, c):
    """i, f, g, o = the four row blocks; c' = f c + i g; h' = o tanh(c')."""
    i, f, g, o = np.split(sum(_affine(p, sfx, x, h)), 4, -1)
    c = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def _seq_ref(mode, p, x):
    """One layer over a (T, N, input) sequence from zero states: (outputs (T, N, H), h_n (1, N, H)[, c_n])."""
    hidden = p["weight_hh_l0"].shape[1]
    h = c = np.zeros((x.shape[1], hidden))
    outs = []
    for xt in x:
        if mode == "RNN":
            h = np.tanh(sum(_affine(p, "_l0", xt, h)))
        elif mode == "GRU":
            h = _gru_step(p, "_l0", xt, h)
        else:
            h, c = _lstm_step(p, "_l0", xt, h, c)
        outs.append(h)
    return (np.stack(outs), h[None]) + ((c[None],) if mode == "LSTM" else ())


# ------------------------------------------------------------------------ attention and Transformer layers
def _mha_ref(p, pre, q, k, v, heads=2):
    """Scaled dot-product attention per head on (L, N, E) inputs: (output (L, N, E), weights averaged over
    the heads (N, L, S))."""
    e = q.shape[-1]
    wq, wk, wv = np.split(p[pre + "in_proj_weight"], 3)
    bq, bk, bv = np.split(p[pre + "in_proj_bias"], 3)

    def split(a):  # (L, N, E) -> (N, heads, L, E / heads)
        return a.reshape(a.shape[0], a.shape[1], heads, e // heads).transpose(1, 2, 0, 3)

    qh, kh, vh = split(q @ wq.T + bq), split(k @ wk.T + bk), split(v @ wv.T + bv)
    att = softmax(qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(e // heads), -1)
    out = (att @ vh).transpose(2, 0, 1, 3).reshape(q.shape)
    return out @ p[pre + "out_proj.weight"].T + p[pre + "out_proj.bias"], att.mean(1)


def _feed_forward(p, pre, x):
    h = np.maximum(x @ p[pre + "linear1.weight"].T + p[pre + "linear1.bias"], 0)
    return h @ p[pre + "linear2.weight"].T + p[pre + "linear2.bias"]


def _encoder_layer_ref(p, pre, x):
    """Post-norm (PyTorch's default): x = LN1(x + SA(x)); x = LN2(x + FF(x))."""
    x = layer_norm(x + _mha_ref(p, pre + "self_attn.", x, x, x)[0], p, pre + "norm1")
    return layer_norm(x + _feed_forward(p, pre, x), p, pre + "norm2")


def _decoder_layer_ref(p, pre, x, memory):
    """x = LN1(x + SA(x)); x = LN2(x + MHA(x, memory)); x = LN3(x + FF(x)) (no mask unless one is given)."""
    x = layer_norm(x + _mha_ref(p, pre + "self_attn.", x, x, x)[0], p, pre + "norm1")
    x = layer_norm(x + _mha_ref(p, pre + "multihead_attn.", x, memory, memory)[0], p, pre + "norm2")
    return layer_norm(x + _feed_forward(p, pre, x), p, pre + "norm3")


def _transformer_ref(p, src, tgt):
    """nn.Transformer: the encoder's and the decoder's stacks each end with a LayerNorm."""
    memory = layer_norm(_encoder_layer_ref(p, "encoder.layers.0.", src), p, "encoder.norm")
    return layer_norm(_decoder_layer_ref(p, "decoder.layers.0.", tgt, memory), p, "decoder.norm")


# ---------------------------------------------------------------------------------------------- losses
def _margins(x, t):
    """max(0, 1 − x_{t_i} + x_j) for every j ≠ t_i (0 at j = t_i), shape (N, C)."""
    m = np.maximum(0, 1 - x[np.arange(len(t)), t][:, None] + x)
    m[np.arange(len(t)), t] = 0
    return m


# ------------------------------------------------------------------------------------------ activations
ACTIVATIONS = {
    "ReLU": (nn.ReLU, lambda a: np.maximum(a, 0)),
    "ReLU6": (nn.ReLU6, lambda a: np.clip(a, 0, 6)),
    "Sigmoid": (nn.Sigmoid, sig),
    "Logistic": (lambda: nn.Logistic(2.0), lambda a: sig(2.0 * a)),
    "Tanh": (nn.Tanh, np.tanh),
    "ELU": (nn.ELU, lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0)))),
    "SELU": (nn.SELU, lambda a: 1.0507009873554805 * np.where(a > 0, a, 1.6732632423543772 * np.expm1(np.minimum(a, 0)))),
    "GELU": (nn.GELU, lambda a: 0.5 * a * (1 + erf(a / math.sqrt(2)))),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), lambda a: np.where(a > 0, a, 0.1 * a)),
    "SiLU": (nn.SiLU, lambda a: a * sig(a)),
    "Mish": (nn.Mish, lambda a: a * np.tanh(np.log1p(np.exp(a)))),
    "Softplus": (nn.Softplus, lambda a: np.log1p(np.exp(a))),
    "Softsign": (nn.Softsign, lambda a: a / (1 + np.abs(a))),
    "Hardtanh": (nn.Hardtanh, lambda a: np.clip(a, -1, 1)),
    "Hardsigmoid": (nn.Hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1)),
    "Softmax": (lambda: nn.Softmax(dim=1), lambda a: softmax(a, 1)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=1), lambda a: np.log(softmax(a, 1))),
    "Identity": (nn.Identity, lambda a: a),
}
for name, (make, ref) in ACTIVATIONS.items():
    layer(name, make, [(3, 4)], lambda p, a, r=ref: r(a))
layer("Step", nn.Step, [S((3, 4), grad=False)], lambda p, a: (a >= 0).astype(a.dtype), grad=False)
layer("PReLU", lambda: nn.PReLU(3), [(2, 3, 4)], lambda p, a: np.where(a > 0, a, a * p["weight"][:, None]))

# ------------------------------------------------------------------------------------------ linear family
layer("Linear", lambda: nn.Linear(3, 2), [(4, 3)], lambda p, x: x @ p["weight"].T + p["bias"])
layer("Bilinear", lambda: nn.Bilinear(2, 3, 4), [(5, 2), (5, 3)],
      lambda p, a, b: np.einsum("ni,kij,nj->nk", a, p["weight"], b) + p["bias"])
layer("Maxout", lambda: nn.Maxout(5, 3, k=2), [(4, 5)],
      lambda p, x: (x @ p["weight"].T + p["bias"]).reshape(4, 3, 2).max(-1))  # row j·k + i: piece i of unit j
layer("Embedding", lambda: nn.Embedding(6, 3), [S((2, 4), kind="int", high=6)], lambda p, i: p["weight"][i])
layer("Flatten", nn.Flatten, [(2, 3, 2)], lambda p, x: x.reshape(2, -1))
layer("Unflatten", lambda: nn.Unflatten(1, (2, 3)), [(4, 6)], lambda p, x: x.reshape(4, 2, 3))
layer("CosineSimilarity", nn.CosineSimilarity, [(3, 4), (3, 4)],
      lambda p, a, b: (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))

# ----------------------------------------------------------------------------------------- convolutions
for n in (1, 2, 3):
    size = (5, 4, 3)[:n]
    layer(f"Conv{n}d", lambda n=n: getattr(nn, f"Conv{n}d")(2, 3, 2, padding=1), [(1, 2) + size],
          lambda p, x: conv_ref(x, p["weight"], p["bias"], pads=1))
    layer(f"ConvTranspose{n}d", lambda n=n: getattr(nn, f"ConvTranspose{n}d")(2, 3, 2, stride=2), [(1, 2) + size],
          lambda p, x: conv_transpose_ref(x, p["weight"], p["bias"], stride=2))

# -------------------------------------------------------------------------------------------- pooling
for n in (1, 2, 3):
    size = (4, 4, 2)[:n]
    k = (2,) * n
    layer(f"MaxPool{n}d", lambda n=n: getattr(nn, f"MaxPool{n}d")(2), [(1, 2) + size],
          lambda p, x, k=k: pool_ref(x, k, np.max))
    layer(f"AvgPool{n}d", lambda n=n: getattr(nn, f"AvgPool{n}d")(2), [(1, 2) + size],
          lambda p, x, k=k: pool_ref(x, k, np.mean))
    out = tuple(s // 2 for s in size)
    layer(f"AdaptiveAvgPool{n}d", lambda n=n, o=out: getattr(nn, f"AdaptiveAvgPool{n}d")(o), [(1, 2) + size],
          lambda p, x, k=k: pool_ref(x, k, np.mean))
    layer(f"AdaptiveMaxPool{n}d", lambda n=n, o=out: getattr(nn, f"AdaptiveMaxPool{n}d")(o), [(1, 2) + size],
          lambda p, x, k=k: pool_ref(x, k, np.max))


def _unpool(n):
    pool, unpool = getattr(nn, f"MaxPool{n}d")(2, return_indices=True), getattr(nn, f"MaxUnpool{n}d")(2)

    class PoolUnpool(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool, self.unpool = pool, unpool

        def forward(self, x):
            return self.unpool(*self.pool(x))

    return PoolUnpool()


def _unpool_ref(x, k):
    """Each window's maximum kept at its place, the rest zero."""
    m = np.repeat(pool_ref(x, k, np.max), 2, -1)
    for ax in range(2, len(k) + 1):
        m = np.repeat(m, 2, -ax)
    return np.where(x == m, x, 0.0)


for n in (1, 2, 3):
    layer(f"MaxUnpool{n}d", lambda n=n: _unpool(n), [(1, 2) + (4, 4, 2)[:n]], lambda p, x, n=n: _unpool_ref(x, (2,) * n))
layer("Upsample", lambda: nn.Upsample(scale_factor=2), [(1, 2, 3, 2)], lambda p, x: _nearest_ref(x, 6, 4))
layer("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(size=(5, 3)), [(1, 2, 3, 2)],
      lambda p, x: _nearest_ref(x, 5, 3))
layer("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(scale_factor=2), [(1, 2, 3, 2)],
      lambda p, x: _bilinear_corners_ref(x, 6, 4))

# -------------------------------------------------------------------------------------- normalisation
for n, shape in ((1, (4, 3)), (2, (3, 2, 2, 2)), (3, (2, 2, 2, 2, 2))):
    axes = (0,) + tuple(range(2, len(shape)))
    layer(f"BatchNorm{n}d", lambda c=shape[1], n=n: getattr(nn, f"BatchNorm{n}d")(c), [shape],
          lambda p, x: x / np.sqrt(1 + 1e-5), train_differs=True)  # eval: running stats 0 and 1
layer("LayerNorm", lambda: nn.LayerNorm(4), [(3, 4)], lambda p, x: standardise(x, -1, 1e-5))
layer("GroupNorm", lambda: nn.GroupNorm(2, 4), [(2, 4, 3)],
      lambda p, x: standardise(x.reshape(2, 2, -1), -1, 1e-5).reshape(x.shape))
layer("LocalResponseNorm", lambda: nn.LocalResponseNorm(3, 0.1, 0.75, 2.0), [(2, 5, 3, 2)],
      lambda p, x: _lrn_ref(x, 3, 0.1, 0.75, 2.0))

# ------------------------------------------------------------------------------------------------ dropout
for name, shape in (("Dropout", (4, 6)), ("Dropout1d", (2, 6, 5)), ("Dropout2d", (2, 6, 3, 3)),
                    ("Dropout3d", (2, 6, 2, 2, 2)), ("AlphaDropout", (4, 6))):
    layer(name, lambda name=name: getattr(nn, name)(0.5), [shape], lambda p, x: x, train_differs=True)

# ------------------------------------------------------------------------------------------------ recurrent
layer("RNNCell", lambda: nn.RNNCell(3, 4), [(2, 3), (2, 4)],
      lambda p, x, h: np.tanh(x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]))
layer("GRUCell", lambda: nn.GRUCell(3, 2), [(2, 3), (2, 2)], lambda p, x, h: _gru_step(p, "", x, h))
layer("LSTMCell", lambda: nn.LSTMCell(3, 2), [(2, 3)],
      lambda p, x: _lstm_step(p, "", x, np.zeros((2, 2)), np.zeros((2, 2))))  # (h, c), h0 = c0 = 0
for name in ("RNN", "GRU", "LSTM"):
    layer(name, lambda name=name: getattr(nn, name)(3, 2), [(4, 2, 3)], lambda p, x, name=name: _seq_ref(name, p, x))

# ------------------------------------------------------------------------------------------------ losses
layer("MSELoss", nn.MSELoss, [(6,), (6,)], lambda p, a, b: ((a - b) ** 2).mean())
layer("L1Loss", nn.L1Loss, [(6,), (6,)], lambda p, a, b: np.abs(a - b).mean())
layer("HalfSquaredErrorLoss", nn.HalfSquaredErrorLoss, [(6,), (6,)], lambda p, a, b: 0.5 * ((a - b) ** 2).sum())
layer("HuberLoss", nn.HuberLoss, [(6,), (6,)],
      lambda p, a, b: np.where(np.abs(a - b) < 1, 0.5 * (a - b) ** 2, np.abs(a - b) - 0.5).mean())
layer("SmoothL1Loss", nn.SmoothL1Loss, [(6,), (6,)],
      lambda p, a, b: np.where(np.abs(a - b) < 1, 0.5 * (a - b) ** 2, np.abs(a - b) - 0.5).mean())
layer("BCELoss", nn.BCELoss, [S((6,), kind="prob"), S((6,), kind="prob")],
      lambda p, x, y: -(y * np.log(x) + (1 - y) * np.log(1 - x)).mean())
layer("BCEWithLogitsLoss", nn.BCEWithLogitsLoss, [(6,), S((6,), kind="int", high=2)],
      lambda p, x, y: -(y * np.log(sig(x)) + (1 - y) * np.log(1 - sig(x))).mean())
layer("CrossEntropyLoss", nn.CrossEntropyLoss, [(4, 3), S((4,), kind="int", high=3)],
      lambda p, x, t: -np.log(softmax(x, 1))[np.arange(4), t].mean())
layer("NLLLoss", nn.NLLLoss, [(4, 3), S((4,), kind="int", high=3)], lambda p, x, t: -x[np.arange(4), t].mean())
layer("KLDivLoss", lambda: nn.KLDivLoss(reduction="sum"), [(6,), S((6,), kind="positive")],
      lambda p, x, t: (t * (np.log(t) - x)).sum())
layer("MultiMarginLoss", nn.MultiMarginLoss, [(4, 3), S((4,), kind="int", high=3)],
      lambda p, x, t: _margins(x, t).sum(1).mean() / 3)  # PyTorch divides each sample's sum by C
layer("MulticlassHingeLoss", nn.MulticlassHingeLoss, [(4, 3), S((4,), kind="int", high=3)],
      lambda p, x, t: _margins(x, t).sum(1).mean())  # the lectures' SVM loss: not divided by C
layer("HingeEmbeddingLoss", nn.HingeEmbeddingLoss, [(6,), S((6,), kind="sign")],
      lambda p, x, y: np.where(y == 1, x, np.maximum(0, 1 - x)).mean())
layer("HingeLoss", nn.HingeLoss, [(6,), S((6,), kind="sign")], lambda p, s, y: np.maximum(0, 1 - y * s).mean())

# ----------------------------------------------------------------------------------------- error inputs
X = dg.arange(6.0).reshape(2, 3)
error("Linear", lambda: nn.Linear(4, 2)(dg.randn(3, 5)), dg.ShapeError,
      r"Linear\(4 -> 2\): expected input with last dimension 4, got shape \(3, 5\)")
error("Linear", lambda: nn.Linear(4, 2)(dg.randn(3, 4, dtype=dg.float64)), dg.DTypeError,
      r"linear: input has dtype float64 but weight has dtype float32")
error("Conv2d", lambda: nn.Conv2d(3, 2, 3)(dg.randn(1, 4, 5, 5)), dg.ShapeError,
      r"Conv2d\(3 -> 2, 3x3\): input has 4 channels, expected 3")
error("Conv2d", lambda: nn.Conv2d(3, 2, 3)(dg.randn(1, 3, 5, 5, dtype=dg.float64)), dg.DTypeError,
      r"conv2d: input has dtype float64 but weight has dtype float32")
error("Embedding", lambda: nn.Embedding(4, 2)(dg.tensor([4])), IndexError,
      r"embedding: index 4 is out of range for dim 0 of size 4")
error("Embedding", lambda: nn.Embedding(4, 2)(dg.tensor([1.0])), TypeError, r"embedding: input must be an integer")
error("mse_loss", lambda: nn.MSELoss()(dg.randn(3), dg.randn(3, 1)), dg.ShapeError,
      r"mse_loss: target shape \(3, 1\) differs from input shape \(3,\); losses do not broadcast")
error("matmul", lambda: dg.randn(2, 3) @ dg.randn(4, 2), dg.ShapeError, r"matmul: \(2, 3\) @ \(4, 2\): inner")
error("matmul", lambda: dg.randn(2, 3) @ dg.randn(3, 2, dtype=dg.float64), dg.DTypeError,
      r"matmul: input has dtype float32 but other has dtype float64")
error("add", lambda: dg.randn(2, 3) + dg.randn(4), dg.ShapeError, r"add: shapes \(2, 3\) and \(4,\) do not broadcast")
error("add_", lambda: dg.tensor([1, 2]).add_(0.5), dg.DTypeError, r"add_: the result has dtype float32")
error("gather", lambda: dg.gather(X, 1, dg.tensor([[3]])), IndexError, r"gather: index 3 is out of range for dim 1")
error("gather", lambda: dg.gather(X, 1, dg.tensor([[-1]])), IndexError, r"negative indices are not accepted")
error("gather", lambda: dg.gather(X, 1, dg.tensor([1])), dg.ShapeError, r"gather: index must have as many dims")
error("scatter", lambda: dg.scatter(X, 0, dg.tensor([[2]]), 1.0), IndexError, r"scatter: index 2 .* dim 0 of size 2")
error("scatter_add", lambda: dg.scatter_add(X, 1, dg.tensor([[5]]), dg.ones(1, 1)), IndexError, r"scatter_add: index 5")
error("index_add", lambda: dg.index_add(X, 0, dg.tensor([0]), dg.ones(2, 3)), dg.ShapeError,
      r"index_add: source must have shape \(1, 3\)")
error("index_select", lambda: dg.index_select(X, 0, dg.tensor([[0]])), dg.ShapeError, r"index_select: index must be 1-d")
error("take_along_dim", lambda: dg.take_along_dim(X, dg.tensor([[9]]), 1), IndexError, r"take_along_dim: index 9")
error("reshape", lambda: X.reshape(-1, -1), dg.ShapeError, r"only one can be inferred")
error("cat", lambda: dg.cat([X, dg.ones(2, 2, 2)]), dg.ShapeError, r"cat: along dim 0")
error("where", lambda: dg.where(X, X, X), TypeError, r"where: condition must be a bool tensor")
error("tensor", lambda: dg.tensor([[1, 2], [3]]), TypeError, r"tensor: .* ragged")
error("mean", lambda: dg.tensor([1, 2]).mean(), TypeError, r"mean: expected a floating tensor")
error("narrow", lambda: X.narrow(3, 0, 1), IndexError, r"narrow: dim 3 is out of range")
error("mul_", lambda: (dg.ones(2, 3, requires_grad=True) * 2)[0].expand(2, 3).mul_(3), RuntimeError,
      r"mul_: this tensor is made by Expand and several of its elements share one memory location")
error("mul_", lambda: dg.ones(2, 3, requires_grad=True)[0].mul_(3), RuntimeError,
      r"mul_: a leaf tensor that requires grad \(here through a view of it\) cannot be changed in place")

# ------------------------------------------------------------------------------------------------ attention
ENC = dict(d_model=4, nhead=2, dim_feedforward=4, dropout=0.0)
layer("MultiheadAttention", lambda: nn.MultiheadAttention(4, 2), [(3, 2, 4), (3, 2, 4), (3, 2, 4)],
      lambda p, q, k, v: _mha_ref(p, "", q, k, v))
layer("TransformerEncoderLayer", lambda: nn.TransformerEncoderLayer(**ENC), [(3, 2, 4)],
      lambda p, x: _encoder_layer_ref(p, "", x))
layer("TransformerDecoderLayer", lambda: nn.TransformerDecoderLayer(**ENC), [(3, 2, 4), (2, 2, 4)],
      lambda p, t, m: _decoder_layer_ref(p, "", t, m))
layer("TransformerEncoder", lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(**ENC), 1), [(3, 2, 4)],
      lambda p, x: _encoder_layer_ref(p, "layers.0.", x))  # no final norm unless one is given
layer("TransformerDecoder", lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(**ENC), 1),
      [(3, 2, 4), (2, 2, 4)], lambda p, t, m: _decoder_layer_ref(p, "layers.0.", t, m))
layer("Transformer", lambda: nn.Transformer(num_encoder_layers=1, num_decoder_layers=1, **ENC),
      [(3, 2, 4), (2, 2, 4)], lambda p, src, tgt: _transformer_ref(p, src, tgt))

# --------------------------------------------------------------------------------- porting layers (compat)
def _pixel_shuffle_ref(x, r):
    n, c, h, w = x.shape
    return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r)


def _pixel_unshuffle_ref(x, r):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // r, r, w // r, r).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r)


layer("PixelShuffle", lambda: nn.PixelShuffle(2), [(2, 8, 3, 3)], lambda p, x: _pixel_shuffle_ref(x, 2))
layer("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), [(2, 2, 4, 6)], lambda p, x: _pixel_unshuffle_ref(x, 2))
layer("DataParallel", lambda: nn.DataParallel(nn.Linear(3, 2)), [(4, 3)],
      lambda p, x: x @ p["module.weight"].T + p["module.bias"])
