"""Registry entries for the recurrent cells and a 2-layer bidirectional LSTM: NumPy references of the gate
equations, float64 gradcheck with respect to inputs, states and every weight."""
import numpy as np

from deepgrad.nn.recurrent import gru_cell, lstm_cell, multi_layer_rnn, rnn_relu_cell, rnn_tanh_cell
from harness import case


def sig(a):
    return 1 / (1 + np.exp(-a))


def rnn_ref(x, h, wi, wh, bi, bh, act=np.tanh):
    return act(x @ wi.T + bi + h @ wh.T + bh)


def lstm_ref(x, h, c, wi, wh, bi, bh):
    i, f, g, o = np.split(x @ wi.T + bi + h @ wh.T + bh, 4, axis=-1)
    c = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c), c


def gru_ref(x, h, wi, wh, bi, bh):
    ir, iz, in_ = np.split(x @ wi.T + bi, 3, axis=-1)
    hr, hz, hn = np.split(h @ wh.T + bh, 3, axis=-1)
    r, z = sig(ir + hr), sig(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


N, I, H = 3, 4, 2
case("rnn_tanh_cell", rnn_tanh_cell, [(N, I), (N, H), (H, I), (H, H), (H,), (H,)], rnn_ref, gradgrad=True)
case("rnn_relu_cell", rnn_relu_cell, [(N, I), (N, H), (H, I), (H, H), (H,), (H,)],
     lambda *a: rnn_ref(*a, act=lambda v: np.maximum(v, 0)))
case("rnn_tanh_cell", rnn_tanh_cell, [(N, I), (N, H), (H, I), (H, H)], lambda x, h, wi, wh: np.tanh(x @ wi.T + h @ wh.T),
     variant="nobias")
case("lstm_cell", lambda x, h, c, *w: lstm_cell(x, (h, c), *w),
     [(N, I), (N, H), (N, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,)], lstm_ref)
case("gru_cell", gru_cell, [(N, I), (N, H), (3 * H, I), (3 * H, H), (3 * H,), (3 * H,)], gru_ref)

# ------------------------------------------------------------------------------- a 2-layer bidirectional LSTM
L, B, I2, H2, LAYERS = 3, 2, 2, 2, 2


def _lstm_weight_shapes():
    shapes = []
    for layer in range(LAYERS):
        for _ in range(2):
            shapes += [(4 * H2, I2 if layer == 0 else 2 * H2), (4 * H2, H2), (4 * H2,), (4 * H2,)]
    return shapes


def bilstm(x, h0, c0, *w):
    out, (hn, cn) = multi_layer_rnn("LSTM", x, (h0, c0), w, num_layers=LAYERS, bidirectional=True)
    return out, hn, cn


def bilstm_ref(x, h0, c0, *w):
    hn, cn = [], []
    for layer in range(LAYERS):
        outs = []
        for d in range(2):
            k = 2 * layer + d
            wi, wh, bi, bh = w[4 * k:4 * k + 4]
            h, c = h0[k], c0[k]
            seq = [None] * L
            for t in (range(L - 1, -1, -1) if d else range(L)):
                h, c = lstm_ref(x[t], h, c, wi, wh, bi, bh)
                seq[t] = h
            outs.append(np.stack(seq))
            hn.append(h)
            cn.append(c)
        x = np.concatenate(outs, -1)
    return x, np.stack(hn), np.stack(cn)


case("lstm", bilstm, [(L, B, I2), (2 * LAYERS, B, H2), (2 * LAYERS, B, H2)] + _lstm_weight_shapes(), bilstm_ref,
     variant="2-layer-bidirectional")


def gru_seq(x, h0, wi, wh, bi, bh):
    return multi_layer_rnn("GRU", x, h0, [wi, wh, bi, bh], batch_first=True)


def gru_seq_ref(x, h0, wi, wh, bi, bh):
    h, seq = h0[0], []
    for t in range(x.shape[1]):
        h = gru_ref(x[:, t], h, wi, wh, bi, bh)
        seq.append(h)
    return np.stack(seq, 1), h[None]


case("gru", gru_seq, [(B, L, I2), (1, B, H2), (3 * H2, I2), (3 * H2, H2), (3 * H2,), (3 * H2,)], gru_seq_ref,
     variant="batch-first")


# ------------------------------------------------------------------ the fused layers of deepgrad.ops.recurrence
from deepgrad.ops.recurrence import recurrent_layer  # noqa: E402


def _layer(mode, reverse=False, batch_first=False, lengths=None, proj=False):
    def fn(x, h0, *rest):
        c0 = None
        if mode == "LSTM":
            c0, rest = rest[0], rest[1:]
        w_hr = rest[4] if proj else None
        out, hn, cn = recurrent_layer(mode, x, h0, c0, *rest[:4], w_hr=w_hr, reverse=reverse,
                                      batch_first=batch_first, lengths=lengths)
        return (out, hn) if cn is None else (out, hn, cn)
    return fn


def _ref_layer(mode, reverse=False, batch_first=False, lengths=None, proj=False):
    """NumPy reference of one layer and direction, step by step."""
    def ref(x, h0, *rest):
        c = None
        if mode == "LSTM":
            c, rest = rest[0], rest[1:]
        wi, wh, bi, bh = rest[:4]
        wr = rest[4] if proj else None
        xs = x.swapaxes(0, 1) if batch_first else x
        h, outs = h0, [None] * len(xs)
        for t in (range(len(xs) - 1, -1, -1) if reverse else range(len(xs))):
            if mode == "LSTM":
                h1, c1 = lstm_ref(xs[t], h, c, wi, wh, bi, bh)
                h1 = h1 if wr is None else h1 @ wr.T
            elif mode == "GRU":
                h1, c1 = gru_ref(xs[t], h, wi, wh, bi, bh), None
            else:
                h1, c1 = rnn_ref(xs[t], h, wi, wh, bi, bh, act=lambda v: np.maximum(v, 0)), None
            m = np.ones((len(h), 1)) if lengths is None else (lengths > t)[:, None].astype(float)
            h = m * h1 + (1 - m) * h
            c = None if c1 is None else m * c1 + (1 - m) * c
            outs[t] = h1 * m
        out = np.stack(outs, 1 if batch_first else 0)
        return (out, h) if c is None else (out, h, c)
    return ref


T, NB, IN, HID, PRJ = 4, 3, 2, 3, 2
LENS = np.array([4, 2, 3])
case("recurrent_layer", _layer("GRU", reverse=True, batch_first=True),
     [(NB, T, IN), (NB, HID), (3 * HID, IN), (3 * HID, HID), (3 * HID,), (3 * HID,)],
     _ref_layer("GRU", reverse=True, batch_first=True), variant="gru-reverse-batch-first")
case("recurrent_layer", _layer("RNN_RELU", lengths=LENS),
     [(T, NB, IN), (NB, HID), (HID, IN), (HID, HID), (HID,), (HID,)],
     _ref_layer("RNN_RELU", lengths=LENS), variant="rnn-relu-packed")
case("recurrent_layer", _layer("LSTM", reverse=True, lengths=LENS, proj=True),
     [(T, NB, IN), (NB, PRJ), (NB, HID), (4 * HID, IN), (4 * HID, PRJ), (4 * HID,), (4 * HID,), (PRJ, HID)],
     _ref_layer("LSTM", reverse=True, lengths=LENS, proj=True), variant="lstm-proj-reverse-packed")
