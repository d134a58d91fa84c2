"""Registry entries for deepgrad.geometric: segment sums, the neighbour softmax and the three graph convolutions,
each against a dense NumPy formula (adjacency matrices built here only as the reference)."""
import numpy as np

from deepgrad.geometric import gat_conv, gcn_conv, gcn_norm, sage_conv, scatter, softmax
from deepgrad.geometric.utils import add_self_loops
from harness import case

# a 5-node directed graph with a repeated target and an isolated node (4)
EI = np.array([[0, 1, 2, 3, 0, 2], [1, 2, 0, 1, 2, 1]])
N = 5
IDX = np.array([1, 0, 1, 3, 3, 1])


def seg_sum(a, idx=IDX, n=N):
    out = np.zeros((n,) + a.shape[1:])
    np.add.at(out, idx, a)
    return out


def seg_mean(a, idx=IDX, n=N):
    c = np.maximum(np.bincount(idx, minlength=n), 1).reshape((n,) + (1,) * (a.ndim - 1))
    return seg_sum(a, idx, n) / c


def seg_softmax(a, idx=IDX, n=N):
    out = np.empty_like(a)
    for i in range(n):
        m = idx == i
        if m.any():
            e = np.exp(a[m] - a[m].max(0))
            out[m] = e / e.sum(0)
    return out


def dense_adj(ei=EI, n=N, loops=True):
    a = np.zeros((n, n))
    for j, i in ei.T:
        a[i, j] = 1.0   # row = target i, column = source j
    return a + np.eye(n) if loops else a


def gcn_ref(x, w, b):
    a = dense_adj()
    d = a.sum(1) ** -0.5
    return (d[:, None] * a * d[None, :]) @ x @ w.T + b


def gat_ref(x, w, a_s, a_d, b, concat=True):
    a = dense_adj()
    h, c = a_s.shape[1], a_s.shape[2]
    z = (x @ w.T).reshape(len(x), h, c)
    s, t = (z * a_s).sum(-1), (z * a_d).sum(-1)                         # (N, H)
    out = np.zeros((len(x), h, c))
    for i in range(len(x)):
        nb = np.nonzero(a[i])[0]
        e = t[i][None, :] + s[nb]
        e = np.where(e > 0, e, 0.2 * e)
        al = np.exp(e - e.max(0))
        al = al / al.sum(0)
        out[i] = (al[:, :, None] * z[nb]).sum(0)
    return (out.reshape(len(x), h * c) if concat else out.mean(1)) + b


def sage_ref(x, wl, bl, wr):
    a = dense_adj(loops=False)
    deg = np.maximum(a.sum(1, keepdims=True), 1)
    return (a @ x / deg) @ wl.T + bl + x @ wr.T


case("geometric.scatter", lambda s: scatter(s, IDX, N), [(6, 3)], seg_sum, variant="sum")
case("geometric.scatter", lambda s: scatter(s, IDX, N, "mean"), [(6, 2, 3)], seg_mean, variant="mean")
case("geometric.softmax", lambda s: softmax(s, IDX, N), [(6, 2)], seg_softmax)
case("geometric.softmax", lambda s: softmax(s * 40, IDX, N), [(6,)], lambda a: seg_softmax(a * 40), variant="large")
_EI_N, _W_N = gcn_norm(EI, N)
case("geometric.gcn_conv", lambda x, w, b: gcn_conv(x, _EI_N, _W_N, w, b), [(N, 3), (4, 3), (4,)], gcn_ref)
_EI_L = add_self_loops(EI, num_nodes=N)[0]
case("geometric.gat_conv", lambda x, w, a, d, b: gat_conv(x, _EI_L, w, a, d, b)[0],
     [(N, 3), (6, 3), (1, 2, 3), (1, 2, 3), (6,)], gat_ref)
case("geometric.gat_conv", lambda x, w, a, d, b: gat_conv(x, _EI_L, w, a, d, b, concat=False)[0],
     [(N, 3), (6, 3), (1, 2, 3), (1, 2, 3), (3,)], lambda *a: gat_ref(*a, concat=False), variant="mean")
case("geometric.sage_conv", lambda x, wl, bl, wr: sage_conv(x, EI, wl, bl, wr), [(N, 3), (4, 3), (4,), (4, 3)],
     sage_ref)
