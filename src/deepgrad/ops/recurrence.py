"""One recurrent layer over a whole sequence as one graph node: Elman RNN, LSTM (with an optional projection) and GRU.

The mathematics of one step is written once, with Tensor ops, in :func:`rnn_step`, :func:`lstm_step` and
:func:`gru_step`; :func:`reference_layer` unrolls it over time (one graph node per op and step). The fused
Functions below compute the same thing on raw arrays: the input projections of all steps are one GEMM, each step is
one GEMM with h_{t−1} plus in-place gate arithmetic into preallocated buffers, and the backward through time is
hand-written from the saved gates — a second GEMM per step for ∂h_{t−1}, and the weight gradients as one GEMM each
over all steps. :func:`recurrent_layer` is the seam: the fused node always, and its backward falls back to
differentiating the reference when a graph of the backward pass is requested (``create_graph=True``). Each step's
gate arithmetic is a second seam (:func:`_cells`): NumPy passes here, or with Numba installed one compiled loop per
step from :mod:`deepgrad.ops.jit_kernels` (float32 on the CPU).

Variable-length batches (packed sequences) pass ``lengths``: at steps t ≥ length of a sequence its state is held
and its output is zero, so h_n is the state after the sequence's own last element, for both directions.

Measured on the 2-core CPU (char-LSTM step of the issue, 64 steps, batch 32, H = 256): the unrolled reference takes
about 2.5x PyTorch's time; the fused layer's ratios are in docs/benchmarks.md (benchmarks/bench_sequence.py).
"""
from __future__ import annotations

import types

import numpy as np

from .. import parallel
from ..autograd import grad_mode
from ..autograd.function import Function
from ..backend import array_module
from ..backends import mkl
from ..tensor import Tensor
from . import jit_kernels, linalg
from .elementwise import relu, sigmoid, tanh
from .shape import cat, stack

__all__ = ["rnn_step", "lstm_step", "gru_step", "reference_layer", "recurrent_layer"]


# ------------------------------------------------------------------------------------------- the mathematics
def _lin(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    y = linalg.matmul(x, w.mT)
    return y if b is None else y + b


def rnn_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, nonlinearity: str = "tanh") -> Tensor:
    """h' = act(gi + W_hh h + b_hh), gi = W_ih x + b_ih, act = tanh or relu."""
    a = gi + _lin(h, w_hh, b_hh)
    return tanh(a) if nonlinearity == "tanh" else relu(a)


def lstm_step(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh: Tensor | None,
              w_hr: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(i, f, g, o) = (σ, σ, tanh, σ)(gi + W_hh h + b_hh); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c') (then W_hr h')."""
    i, f, g, o = (gi + _lin(h, w_hh, b_hh)).chunk(4, -1)
    c = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h = sigmoid(o) * tanh(c)
    return (h if w_hr is None else linalg.matmul(h, w_hr.mT)), c


def gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None) -> Tensor:
    """r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h, gh = W_hh h + b_hh."""
    ir, iz, in_ = gi.chunk(3, -1)
    hr, hz, hn = _lin(h, w_hh, b_hh).chunk(3, -1)
    r, z = sigmoid(ir + hr), sigmoid(iz + hz)
    n = tanh(in_ + r * hn)
    return n + z * (h - n)


def _step_mask(lengths, t: int, like: Tensor) -> Tensor:
    xp = array_module(like._data)
    return Tensor._wrap(xp.asarray(lengths > t, dtype=like.dtype)[:, None])


def reference_layer(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                    b_ih: Tensor | None = None, b_hh: Tensor | None = None, w_hr: Tensor | None = None,
                    reverse: bool = False, batch_first: bool = False, lengths=None):
    """One layer and direction unrolled step by step from :func:`rnn_step` / :func:`lstm_step` / :func:`gru_step`.

    Args:
        mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'. x: (L, N, I) (or (N, L, I) batch-first). h0: (N, P).
        c0: (N, H) for LSTM, else None. Weights and biases as in PyTorch; w_hr (P, H) for an LSTM projection.
        reverse: run from the last step to the first. lengths: NumPy int array (N,), or None for full length.

    Returns:
        (output (L, N, P) (or batch-first), h_n (N, P), c_n (N, H) or None).
    """
    xs = x.unbind(1 if batch_first else 0)
    fold = mode != "GRU" and b_hh is not None
    gi_all = _lin(x, w_ih, (b_ih + b_hh) if fold else b_ih)
    gis = gi_all.unbind(1 if batch_first else 0)
    steps = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    h, c = h0, c0
    outs: list = [None] * len(xs)
    for t in steps:
        if mode == "LSTM":
            h1, c1 = lstm_step(gis[t], h, c, w_hh, None, w_hr)
        elif mode == "GRU":
            h1, c1 = gru_step(gis[t], h, w_hh, b_hh), None
        else:
            h1, c1 = rnn_step(gis[t], h, w_hh, None, "tanh" if mode == "RNN_TANH" else "relu"), None
        if lengths is None:
            h, c, outs[t] = h1, c1, h1
        else:
            m = _step_mask(lengths, t, h1)
            h = h + m * (h1 - h)
            c = None if c1 is None else c + m * (c1 - c)
            outs[t] = h1 * m
    return stack(outs, 1 if batch_first else 0), h, c


# ------------------------------------------------------------------------------------------- fused kernels
# Layout inside the kernels: time-major (L, N, ·) whatever the caller's, so that every per-step slice a[t, rows] is
# contiguous (NumPy's transcendental loops run about twice as fast on contiguous data as on strided rows).
# The sequences of a batch are independent, so each thread runs the whole recurrence for its own block of rows,
# with single-threaded BLAS and no synchronisation per step (measured on 2 cores: 1.6x faster than threading
# each step's small GEMM).
def _row_blocks(n: int, xp) -> list:
    k = max(1, min(parallel.get_num_threads(), n // 8)) if xp.__name__ == "numpy" else 1
    cuts = [n * i // k for i in range(k + 1)]
    return [slice(cuts[i], cuts[i + 1]) for i in range(k)]


def _each_block(blocks: list, body) -> None:
    if len(blocks) == 1:
        with parallel.blas_threads(parallel.get_num_threads()):
            body(blocks[0])
    else:
        parallel.parallel_for(len(blocks), lambda b: body(blocks[b]))


def _flat2(a):
    return a.reshape(-1, a.shape[-1])


def _project(x2, w, bias):
    """W x_t + bias for all steps at once: one GEMM over the (L·N, I) rows."""
    g = parallel.matmul(x2, w.T)
    if bias is not None:
        g += bias
    return g


def _prev_states(hs, h0, reverse: bool):
    """h_{t−1} for every step t (time-major): the state each step read."""
    xp = array_module(hs)
    prev = xp.empty_like(hs)
    if reverse:
        prev[-1] = h0
        prev[:-1] = hs[1:]
    else:
        prev[0] = h0
        prev[1:] = hs[:-1]
    return prev


def _sig_from_tanh(s):
    """σ(a) = (1 + tanh(a/2)) / 2, given tanh(a/2) in ``s`` (the kernels pre-scale σ-gate rows of W by ½)."""
    s *= 0.5
    s += 0.5


# The gate arithmetic of one step, as NumPy passes into preallocated buffers; jit_kernels has the same four
# functions compiled into one loop each, and _cells chooses. Arguments are documented there.
def _lstm_cell_forward(a, buf, c, c1, tc, r):
    xp = array_module(a)
    H = c.shape[0]
    a += buf
    xp.tanh(a, out=a)
    _sig_from_tanh(a[:3 * H])
    i, f, o, g = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
    xp.multiply(f, c, out=c1)
    xp.multiply(i, g, out=r)
    c1 += r
    xp.tanh(c1, out=tc)
    xp.multiply(o, tc, out=r)


def _lstm_cell_backward(a, tc, c_prev, dr, dc, d, m):
    xp = array_module(a)
    H = tc.shape[0]
    i, f, o, gg = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
    tmp, tmp3 = xp.empty_like(tc), xp.empty_like(a[:3 * H])
    xp.multiply(dr, tc, out=d[2 * H:3 * H])  # ∂o
    xp.multiply(tc, tc, out=tmp)
    xp.subtract(1, tmp, out=tmp)
    tmp *= o
    tmp *= dr
    dc += tmp  # ∂c_t = ∂c from step t+1 + ∂r_t ⊙ o ⊙ (1 − tanh² c_t)
    xp.multiply(dc, gg, out=d[:H])  # ∂i
    xp.multiply(dc, c_prev, out=d[H:2 * H])  # ∂f
    xp.multiply(dc, i, out=d[3 * H:])  # ∂g
    s = a[:3 * H]  # σ' = s (1 − s), tanh' = 1 − g²
    xp.subtract(1, s, out=tmp3)
    tmp3 *= s
    d[:3 * H] *= tmp3
    xp.multiply(gg, gg, out=tmp)
    xp.subtract(1, tmp, out=tmp)
    d[3 * H:] *= tmp
    if m is None:
        dc *= f
    else:
        d *= m
        dc *= m * f + (1 - m)


def _gru_cell_forward(a, buf, b_hn, h, ghn, h1):
    xp = array_module(a)
    H = h.shape[1]
    rz = a[:, :2 * H]
    rz += buf[:, :2 * H]
    xp.tanh(rz, out=rz)
    _sig_from_tanh(rz)
    if b_hn is None:
        ghn[...] = buf[:, 2 * H:]
    else:
        xp.add(buf[:, 2 * H:], b_hn, out=ghn)
    nn = a[:, 2 * H:]
    xp.multiply(a[:, :H], ghn, out=h1)
    nn += h1
    xp.tanh(nn, out=nn)
    xp.subtract(h, nn, out=h1)
    h1 *= a[:, H:2 * H]
    h1 += nn


def _gru_cell_backward(a, ghn, h_prev, dh, di, dhh, dhz, m):
    xp = array_module(a)
    H = dh.shape[1]
    rg, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
    dr, dz, dn = di[:, :H], di[:, H:2 * H], di[:, 2 * H:]
    tmp = xp.empty_like(dh)
    # h' = n + z (h − n): ∂n = ∂h (1 − z), ∂z = ∂h (h − n)
    xp.subtract(h_prev, n, out=dz)
    dz *= dh
    xp.subtract(1, z, out=dn)
    dn *= dh
    xp.multiply(n, n, out=tmp)
    xp.subtract(1, tmp, out=tmp)
    dn *= tmp  # ∂ of the pre-activation of n
    xp.multiply(dn, ghn, out=dr)
    for dd, s in ((dr, rg), (dz, z)):
        xp.subtract(1, s, out=tmp)
        tmp *= s
        dd *= tmp
    dhh[:, :2 * H] = di[:, :2 * H]
    xp.multiply(dn, rg, out=dhh[:, 2 * H:])
    if m is None:
        xp.multiply(dh, z, out=dhz)
    else:
        m = m[:, None]
        di *= m
        dhh *= m
        xp.multiply(dh, m * z + (1 - m), out=dhz)


def _lstm_gather_steps(ring, k, dgates, lo):
    dgates[:, lo:lo + k] = ring[:k].transpose(1, 0, 2)


_NUMPY_CELLS = types.SimpleNamespace(lstm_forward=_lstm_cell_forward, lstm_backward=_lstm_cell_backward,
                                     lstm_gather_steps=_lstm_gather_steps,
                                     gru_forward=_gru_cell_forward, gru_backward=_gru_cell_backward)


def _cells(xp, dtype):
    """The step's gate arithmetic for arrays of ``xp`` and ``dtype``: the compiled kernels of
    :mod:`deepgrad.ops.jit_kernels` where they apply (float32 on the CPU with Numba; measured on the 2-core CPU,
    char-LSTM step 0.87x and char-GRU step 0.63x the NumPy passes' time), else the NumPy passes above."""
    return jit_kernels.for_arrays(xp, dtype) or _NUMPY_CELLS


class _Layer(Function):
    """Common frame of the fused layers: inputs (x, h0[, c0], w_ih, w_hh[, b_ih, b_hh][, w_hr]); one flat output
    [output | h_n | c_n] (sliced apart by :func:`recurrent_layer`)."""

    def __init__(self, mode: str, has_bias: bool, has_proj: bool, reverse: bool, batch_first: bool, lengths):
        self.mode, self.has_bias, self.has_proj = mode, has_bias, has_proj
        self.reverse, self.batch_first, self.lengths = reverse, batch_first, lengths

    def _unpack(self, arrays):
        arrays = list(arrays)
        x, h0 = arrays.pop(0), arrays.pop(0)
        c0 = arrays.pop(0) if self.mode == "LSTM" else None
        w_ih, w_hh = arrays.pop(0), arrays.pop(0)
        b_ih, b_hh = (arrays.pop(0), arrays.pop(0)) if self.has_bias else (None, None)
        w_hr = arrays.pop(0) if self.has_proj else None
        return x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr

    def _frame(self, x):
        """(time-major view of x, L, N, the step order, masks (L, N) or None)."""
        xp = array_module(x)
        xt = x.swapaxes(0, 1) if self.batch_first else x
        L, N = xt.shape[:2]
        order = range(L - 1, -1, -1) if self.reverse else range(L)
        masks = None if self.lengths is None else xp.asarray(self.lengths)[None, :] > xp.arange(L)[:, None]
        return xt, L, N, order, masks

    def _before(self, t: int, L: int) -> int | None:
        p = t + 1 if self.reverse else t - 1
        return p if 0 <= p < L else None

    def _output(self, xp, hs, masks, hn, cn=None):
        out = hs if masks is None else hs * masks[..., None]
        if self.batch_first:
            out = out.swapaxes(0, 1)
        parts = [out.reshape(-1), hn.reshape(-1)] + ([] if cn is None else [cn.reshape(-1)])
        return xp.concatenate(parts)

    def _grad_parts(self, g, L, N, P, H=None):
        """The incoming flat gradient as (∂output time-major (L, N, P), ∂h_n, ∂c_n)."""
        a = L * N * P
        dout = g[:a].reshape((N, L, P) if self.batch_first else (L, N, P))
        if self.batch_first:
            dout = dout.swapaxes(0, 1)
        dhn = g[a:a + N * P].reshape(N, P)
        dcn = None if H is None else g[a + N * P:].reshape(N, H)
        return dout, dhn, dcn

    def _dx(self, xp, d2, w, shape):
        dx = parallel.matmul(d2, w)
        if self.batch_first:
            return xp.ascontiguousarray(dx.reshape(shape[1], shape[0], -1).swapaxes(0, 1))
        return dx.reshape(shape)

    def _needs(self):
        names = ["x", "h0"] + (["c0"] if self.mode == "LSTM" else []) + ["w_ih", "w_hh"]
        names += ["b_ih", "b_hh"] if self.has_bias else []
        names += ["w_hr"] if self.has_proj else []
        need = dict(zip(names, self.needs_input_grad))
        for k in ("c0", "b_ih", "b_hh", "w_hr"):
            need.setdefault(k, False)
        return names, need

    def backward(self, grad):
        if grad_mode.state.enabled:  # create_graph: differentiate the unrolled reference instead
            return self._composite_backward(grad)
        names, need = self._needs()
        grads = self._backward(grad._data, need)
        return tuple(None if grads.get(n) is None else Tensor._wrap(grads[n]) for n in names)

    def _composite_backward(self, grad):
        from ..autograd import grad as autograd_grad

        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = self._unpack(self.inputs)
        out, hn, cn = reference_layer(self.mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, self.reverse,
                                      self.batch_first, self.lengths)
        flat = cat([out.reshape(-1), hn.reshape(-1)] + ([] if cn is None else [cn.reshape(-1)]))
        wanted = [t for t, need in zip(self.inputs, self.needs_input_grad) if need]
        got = iter(autograd_grad([flat], wanted, [grad], create_graph=True, allow_unused=True))
        return tuple(next(got) if need else None for need in self.needs_input_grad)


def _step_product(xp, w, n: int):
    """The product ``prod(b, out)``: out = w b for every step of a recurrence, b (K, n) and out (M, n) C-contiguous —
    with w packed once on MKL where it applies (:mod:`deepgrad.backends.mkl`; measured on the 2-core CPU at
    (1024 × 256)(256 × 32): 94 µs a step against 150 µs on OpenBLAS, which repacks w at every call), else BLAS's
    ``dot``."""
    if mkl.applies(w):
        return mkl.Packed(w, n)  # packs w from any layout
    w = xp.ascontiguousarray(w)
    return lambda b, out: xp.dot(w, b, out=out)


def _loop_blas():
    """BLAS threads for a loop of small products on the calling thread (a feature-major recurrence): all of the
    op's threads where OpenBLAS's idle workers spin briefly — they wait, spinning, through the microseconds of gate
    arithmetic between two steps' products — else one (long-spinning workers would take the cores from the next
    op's threads; see :mod:`deepgrad.parallel`)."""
    return parallel.blas_threads(parallel.get_num_threads() if parallel._blas_spins_briefly() else 1)


def _project_feature_major(xp, w, xt, bias):
    """W x_t + b for all t at once, feature-major (L, G, N), from time-major xt (L, N, I): one batched product over
    the inputs with a row of ones appended, so that b rides in W's last column (measured: 35 % less time than
    adding b in a pass of its own over the 8 MB of gates afterwards)."""
    L, N, I = xt.shape
    if bias is None:
        return xp.matmul(w, xt.transpose(0, 2, 1))
    xa = xp.empty((L, I + 1, N), xt.dtype)
    xa[:, :I] = xt.transpose(0, 2, 1)
    xa[:, I] = 1
    return xp.matmul(xp.concatenate([w, bias[:, None]], 1), xa)


_SPIN_LIMIT = 1 << 28  # pauses (each a sched_yield) one half of a split recurrence waits for the other before giving up


def _check_met(flags) -> None:
    if flags[2]:
        raise RuntimeError("LSTM: one half of the split recurrence waited too long for the other (more than "
                           f"{_SPIN_LIMIT} pauses); the results were not computed")


_RING = 8  # steps of ∂gates gathered before one copy into the (4H, L, N) array (1 KB runs, not 128 B: 2x faster)


def _feature_major_output(xp, hs, masks, batch_first: bool, last_states):
    """The flat [output | h_n | c_n] from feature-major states hs (L, P, N) and the last states (·, N), copied step
    by step (half the time of one transposing copy of the whole sequence, measured)."""
    L, P, N = hs.shape
    flat = xp.empty(L * N * P + sum(s.size for s in last_states), hs.dtype)
    out = flat[:L * N * P].reshape((N, L, P) if batch_first else (L, N, P))
    for t in range(L):
        o = out[:, t] if batch_first else out[t]
        o[...] = hs[t].T
        if masks is not None:
            o *= masks[t][:, None]
    at = L * N * P
    for s in last_states:
        flat[at:at + s.size].reshape(s.shape[::-1])[...] = s.T
        at += s.size
    return flat


class LSTMLayer(_Layer):
    """One LSTM layer and direction over the sequence (see :func:`lstm_step`).

    Inside, every per-step array is feature-major — gates (4H, N), states (H, N), batch N last — so that each gate
    block is one contiguous run of memory for NumPy's loops, and the step's product is W_hh (4H, P) · h (P, N),
    the orientation in which OpenBLAS multiplies a small batch fastest (measured on the 2-core CPU at N = 32: 1.4x
    the (N, P) · (P, 4H) one). The steps run on the calling thread, each product on BLAS's threads. The gate
    blocks are reordered to (i, f, o, g) and the σ rows of the weights scaled by ½, so that one tanh over all 4H
    pre-activations gives every gate (σ(a) = (1 + tanh(a/2)) / 2). Saves the gates (L, 4H, N), c_t and tanh(c_t)
    (L, H, N) and the outputs h_t (L, P, N).

    With Numba and MKL (float32, H ≥ 64 and even, no projection, no packed sequence, two threads): the units are cut
    in two halves, the gate rows ordered (i, f, o, g) within each half, and each half's steps run on a thread of its
    own — its rows of W_hh packed on MKL (one thread each) and its half of the cell in one compiled loop — the two
    meeting after every step (``jit_kernels.lstm_forward_halves``, ``lstm_backward_halves``). Measured on the
    2-core CPU, char-LSTM step (hidden 256, batch 32): 0.86x the time of the one-thread loop with MKL's two-thread
    products.
    """

    @staticmethod
    def _gate_order(xp, H: int, dtype, halves: int = 1):
        """The rows of the gates inside: (i, f, o, g) blocks of H/halves units, one after another for each part of
        the units (PyTorch's order is (i, f, g, o)), and the ½ that pre-scales the σ rows."""
        h = H // halves
        perm = xp.concatenate([xp.arange(h) + k * h + off for k in range(halves) for off in (0, H, 3 * H, 2 * H)])
        scale = xp.concatenate([xp.full(3 * h, 0.5, dtype), xp.ones(h, dtype)] * halves)[:, None]
        return perm, scale

    @staticmethod
    def _halves(xp, w_hh, H: int, w_hr, masks) -> int:
        """2 where the recurrence runs as two halves of the hidden units on two threads (see
        ``jit_kernels.lstm_forward_halves``): float32 with the Numba kernels and MKL, H ≥ 64 and even, no
        projection and no packed sequence, two threads free; else 1."""
        ok = (w_hh.dtype == np.float32 and H >= 64 and H % 2 == 0 and w_hr is None and masks is None
              and parallel.can_run_together(2) and jit_kernels.for_arrays(xp, w_hh.dtype) is not None
              and mkl.applies(w_hh))
        return 2 if ok else 1

    def forward(self, *arrays):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = self._unpack(arrays)
        xp = array_module(x)
        xt, L, N, order, masks = self._frame(x)
        H, P = c0.shape[-1], h0.shape[-1]
        dt = x.dtype
        halves = self._halves(xp, w_hh, H, w_hr, masks)
        perm, scale = self._gate_order(xp, H, dt, halves)
        gates = _project_feature_major(xp, w_ih[perm] * scale, xt,
                                       None if b_ih is None else (b_ih + b_hh)[perm] * scale[:, 0])
        w_h = xp.ascontiguousarray(w_hh[perm] * scale)  # (4H, P)
        hs, cs, tcs = xp.empty((L, P, N), dt), xp.empty((L, H, N), dt), xp.empty((L, H, N), dt)
        h, c = xp.ascontiguousarray(h0.T), xp.ascontiguousarray(c0.T)
        if halves == 2:
            self._forward_halves(w_h, gates, hs, cs, tcs, h, c, order)
        else:
            cell = _cells(xp, dt)
            product = _step_product(xp, w_h, N)
            buf, tmp = xp.empty((4 * H, N), dt), xp.empty((H, N), dt)
            with _loop_blas():
                for t in order:
                    c1, h1 = cs[t], hs[t]
                    product(h, buf)
                    cell.lstm_forward(gates[t], buf, c, c1, tcs[t], h1 if w_hr is None else tmp)
                    if w_hr is not None:
                        xp.dot(w_hr, tmp, out=h1)
                    if masks is not None:
                        keep = ~masks[t][None, :]
                        xp.copyto(c1, c, where=keep)
                        xp.copyto(h1, h, where=keep)
                    h, c = h1, c1
        self.saved = (gates, cs, tcs, hs, perm, halves)
        last = order[-1]
        return _feature_major_output(xp, hs, masks, self.batch_first, (hs[last], cs[last]))

    @staticmethod
    def _forward_halves(w_h, gates, hs, cs, tcs, h0, c0, order):
        """The forward steps as two halves of the units, each on its own thread with its rows of W_hh packed on MKL,
        meeting after every step (``jit_kernels.lstm_forward_halves``)."""
        k, (compute, pause) = jit_kernels.compiled(), jit_kernels.spin_calls()
        rows, N = w_h.shape[0] // 2, h0.shape[1]
        steps, flags = np.asarray(order, np.int64), np.zeros(3, np.int64)

        def half(q):
            packed = mkl.Packed(w_h[q * rows:(q + 1) * rows], N)
            buf = np.empty((rows, N), w_h.dtype)
            k.lstm_forward_halves(q, steps, compute, pause, packed.address, gates, buf, hs, cs, tcs, h0, c0, flags,
                                  _SPIN_LIMIT)

        parallel.run_together(2, half)
        _check_met(flags)

    def _backward_halves(self, w_hh, perm, gates, tcs, cs, c0t, dout_fm, dh, dc, ring, dgates, order, L):
        """The backward steps as two halves of the units (``jit_kernels.lstm_backward_halves``); dh, dc (H, N) hold
        ∂h_n, ∂c_n on entry and ∂h_0, ∂c_0 on return, dgates receives ∂a."""
        k, (compute, pause) = jit_kernels.compiled(), jit_kernels.spin_calls()
        H2, N = dh.shape[0] // 2, dh.shape[1]
        steps = np.asarray(list(reversed(order)), np.int64)
        before = np.array([-1 if (p := self._before(int(t), L)) is None else p for t in steps], np.int64)
        flags, ones, w = np.zeros(3, np.int64), k.all_steps(N, dh.dtype.str), w_hh[perm]

        def half(q):
            r = slice(q * H2, (q + 1) * H2)
            packed = mkl.Packed(w[:, r].T, N)  # ∂h_{t−1} of its units = W_hh[:, units]ᵀ ∂a_t
            k.lstm_backward_halves(q, steps, before, compute, pause, packed.address, gates, tcs, cs, c0t, dout_fm,
                                   dh[r], dc[r], ring, dgates, ones, flags, _SPIN_LIMIT)

        parallel.run_together(2, half)
        _check_met(flags)

    def _backward(self, g, need):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = self._unpack([t._data for t in self.inputs])
        gates, cs, tcs, hs, perm, halves = self.saved
        xp = array_module(g)
        xt, L, N, order, masks = self._frame(x)
        H, P = c0.shape[-1], h0.shape[-1]
        dt = gates.dtype
        dout, dhn, dcn = self._grad_parts(g, L, N, P, H)
        w_rt = None if w_hr is None else xp.ascontiguousarray(w_hr.T)  # (H, P)
        dgates = xp.empty((4 * H, L, N), dt)  # ∂ of the pre-activations, (4H, L·N) for the weight products
        ring = xp.empty((_RING, 4 * H, N), dt)  # the last steps' ∂ of the pre-activations, each contiguous
        dout_fm = xp.ascontiguousarray(dout.transpose(0, 2, 1))  # (L, P, N): each step adds a contiguous block
        dhs = None if w_hr is None else xp.empty_like(hs)  # ∂L/∂h_t after the projection, for ∂W_hr
        dh, dc = xp.array(dhn.T, order="C"), xp.array(dcn.T, order="C")  # updated in place: never views of g
        c0t = xp.ascontiguousarray(c0.T)
        if halves == 2 and parallel.can_run_together(2):
            self._backward_halves(w_hh, perm, gates, tcs, cs, c0t, dout_fm, dh, dc, ring, dgates, order, L)
        else:
            cell = _cells(xp, dt)
            mf = None if masks is None else masks.astype(dt)  # (L, N): 1 where a sequence takes step t
            u = H // halves  # units per part: the gate rows of part q are rows 4uq … 4u(q+1) (see _gate_order)
            parts = [(slice(q * u, (q + 1) * u), slice(4 * q * u, 4 * (q + 1) * u)) for q in range(halves)]
            product = _step_product(xp, w_hh[perm].T, N)  # (P, 4H): ∂h_{t−1} = W_hhᵀ ∂a_t
            with _loop_blas():
                for t in reversed(order):
                    m = None if masks is None else masks[t][None, :]
                    lo = t - t % _RING
                    d = ring[t - lo]
                    dh += dout_fm[t] if m is None else dout_fm[t] * m
                    dr = dh if m is None else dh * m  # rows past their end took no step: nothing flows into it
                    if dhs is not None:
                        dhs[t] = dr
                        dr = xp.dot(w_rt, dr)  # through h = W_hr r
                    p = self._before(t, L)
                    c_prev = c0t if p is None else cs[p]
                    for r, gr in parts:  # the gate rows of each part of the units (one part unless split in two)
                        cell.lstm_backward(gates[t][gr], tcs[t][r], c_prev[r], dr[r], dc[r], d[gr],
                                           None if mf is None else mf[t])
                    if m is None:
                        product(d, dh)
                    else:
                        dh = product(d, xp.empty_like(dh)) + xp.where(m, 0, dh)
                    hi = min(lo + _RING, L)
                    if p is None or not lo <= p < hi:  # the ring holds all of steps lo..hi−1: the next step is outside
                        cell.lstm_gather_steps(ring, hi - lo, dgates, lo)
        inv = xp.argsort(perm)
        d2 = dgates.reshape(4 * H, L * N)  # columns in (t, n) order
        grads = {"h0": xp.ascontiguousarray(dh.T), "c0": xp.ascontiguousarray(dc.T)}
        if need["x"]:  # ∂xᵀ = W_ihᵀ ∂a (I, L·N), then into x's layout (measured 10 % faster than ∂aᵀ W_ih)
            dxt = parallel.matmul(w_ih[perm].T, d2).reshape(-1, L, N)
            grads["x"] = xp.ascontiguousarray(dxt.transpose(2, 1, 0) if self.batch_first else dxt.transpose(1, 2, 0))
        grads.update(self._weight_grads(xp, d2, hs, h0, xt, need, inv))
        if need["w_hr"]:
            r_all = gates[:, 2 * H:3 * H] * tcs  # h before the projection (L, H, N)
            dh2 = xp.ascontiguousarray(dhs.transpose(1, 0, 2)).reshape(P, L * N)
            grads["w_hr"] = parallel.matmul(dh2, _flat2(r_all.transpose(0, 2, 1)))
        return grads


    def _weight_grads(self, xp, d2, hs, h0, xt, need, inv):
        """∂W_hh = ∂a [h_{t−1}]ᵀ, ∂W_ih = ∂a xᵀ and ∂b = ∂a 1 over all steps as one product of ∂a (4H, L·N) with
        the columns [h_{t−1} | x_t | 1] side by side (measured on the 2-core CPU: 13–15 ms against 13–21 ms for
        the two products and the GEMV apart)."""
        L, P, N = hs.shape
        I = xt.shape[-1]
        parts = [(k, n) for k, n in (("w_hh", P), ("w_ih", I), ("b", 1))
                 if (self.has_bias if k == "b" else need[k])]
        if not parts:
            return {}
        cols = xp.empty((L, N, sum(n for _, n in parts)), d2.dtype)
        at, grads = 0, {}
        for k, n in parts:
            c = cols[:, :, at:at + n]
            if k == "w_hh":  # h_{t−1} (N, P) for every step t: h0 at the first step of the direction
                first, rest, before = (-1, slice(None, -1), slice(1, None)) if self.reverse else \
                    (0, slice(1, None), slice(None, -1))
                c[first] = h0
                c[rest] = hs[before].transpose(0, 2, 1)
            else:
                c[...] = xt if k == "w_ih" else 1
            at += n
        res = parallel.matmul(d2, cols.reshape(L * N, -1))
        at = 0
        for k, n in parts:
            grads[k] = res[inv, at:at + n]  # rows back in PyTorch's gate order: one contiguous copy per part
            at += n
        if "b" in grads:
            db = grads.pop("b")[:, 0]
            grads["b_ih"], grads["b_hh"] = db, db.copy()  # two arrays: accumulating into one leaves the other
        return grads


class GRULayer(_Layer):
    """One GRU layer and direction (see :func:`gru_step`); the r, z rows of the weights are scaled by ½ inside (σ
    through tanh, as in ``LSTMLayer``). Saves r, z, n (L, N, 3H) and W_hn h + b_hn (L, N, H)."""

    def forward(self, *arrays):
        x, h0, _, w_ih, w_hh, b_ih, b_hh, _ = self._unpack(arrays)
        xp = array_module(x)
        xt, L, N, order, masks = self._frame(x)
        H = h0.shape[-1]
        scale = xp.concatenate([xp.full(2 * H, 0.5, x.dtype), xp.ones(H, x.dtype)])
        b_rz = None if b_ih is None else xp.concatenate([b_hh[:2 * H], xp.zeros(H, b_hh.dtype)])
        gates = _project(_flat2(xt), w_ih * scale[:, None], None if b_ih is None else (b_ih + b_rz) * scale)
        gates = gates.reshape(L, N, 3 * H)  # b_hh's r, z parts ride here; b_hn is added inside r ⊙ (W_hn h + b_hn)
        w_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)
        b_hn = None if b_hh is None else b_hh[2 * H:]
        hn_all = xp.empty((L, N, H), x.dtype)
        hs = xp.empty((L, N, H), x.dtype)
        h0 = xp.ascontiguousarray(h0)

        cell = _cells(xp, x.dtype)

        def rows(r):
            buf = xp.empty((r.stop - r.start, 3 * H), x.dtype)
            h = h0[r]
            for t in order:
                xp.dot(h, w_t, out=buf)
                h1 = hs[t, r]
                cell.gru_forward(gates[t, r], buf, b_hn, h, hn_all[t, r], h1)
                if masks is not None:
                    xp.copyto(h1, h, where=~masks[t, r][:, None])
                h = h1

        _each_block(_row_blocks(N, xp), rows)
        self.saved = (gates, hn_all, hs)
        return self._output(xp, hs, masks, hs[order[-1]])

    def _backward(self, g, need):
        x, h0, _, w_ih, w_hh, b_ih, b_hh, _ = self._unpack([t._data for t in self.inputs])
        gates, hn_all, hs = self.saved
        xp = array_module(g)
        xt, L, N, order, masks = self._frame(x)
        H = h0.shape[-1]
        dout, dhn, _ = self._grad_parts(g, L, N, H)
        prev = _prev_states(hs, h0, self.reverse)
        dgi = xp.empty_like(gates)  # ∂(W_ih x + b_ih)
        dgh = xp.empty_like(gates)  # ∂(W_hh h + b_hh)
        dh0 = xp.empty_like(dhn)
        w_c = xp.ascontiguousarray(w_hh)

        cell = _cells(xp, x.dtype)
        mf = None if masks is None else masks.astype(x.dtype)  # (L, N): 1 where a sequence takes step t

        def rows(r):
            dhz = xp.empty((r.stop - r.start, H), x.dtype)
            dh = dhn[r].copy()
            for t in reversed(order):
                dh += dout[t, r] if masks is None else dout[t, r] * masks[t, r][:, None]
                dhh = dgh[t, r]
                cell.gru_backward(gates[t, r], hn_all[t, r], prev[t, r], dh, dgi[t, r], dhh, dhz,
                                  None if mf is None else mf[t, r])
                dh = xp.dot(dhh, w_c)
                dh += dhz
            dh0[r] = dh

        _each_block(_row_blocks(N, xp), rows)
        d2i, d2h = _flat2(dgi), _flat2(dgh)
        grads = {"h0": dh0}
        if need["x"]:
            grads["x"] = self._dx(xp, d2i, w_ih, x.shape)
        if need["w_ih"]:
            grads["w_ih"] = parallel.matmul(d2i.T, _flat2(xt))
        if need["w_hh"]:
            grads["w_hh"] = parallel.matmul(d2h.T, _flat2(prev))
        if self.has_bias:
            grads["b_ih"], grads["b_hh"] = parallel.total(d2i, 0), parallel.total(d2h, 0)
        return grads


class RNNLayer(_Layer):
    """One Elman layer and direction (see :func:`rnn_step`); saves only its states (tanh' = 1 − h², relu' = [h > 0])."""

    def forward(self, *arrays):
        x, h0, _, w_ih, w_hh, b_ih, b_hh, _ = self._unpack(arrays)
        xp = array_module(x)
        xt, L, N, order, masks = self._frame(x)
        H = h0.shape[-1]
        hs = _project(_flat2(xt), w_ih, None if b_ih is None else b_ih + b_hh).reshape(L, N, H)
        w_t = xp.ascontiguousarray(w_hh.T)
        h0 = xp.ascontiguousarray(h0)

        def rows(r):
            buf = xp.empty((r.stop - r.start, H), x.dtype)
            h = h0[r]
            for t in order:
                h1 = hs[t, r]
                xp.dot(h, w_t, out=buf)
                h1 += buf
                if self.mode == "RNN_TANH":
                    xp.tanh(h1, out=h1)
                else:
                    xp.maximum(h1, 0, out=h1)
                if masks is not None:
                    xp.copyto(h1, h, where=~masks[t, r][:, None])
                h = h1

        _each_block(_row_blocks(N, xp), rows)
        self.saved = (hs,)
        return self._output(xp, hs, masks, hs[order[-1]])

    def _backward(self, g, need):
        x, h0, _, w_ih, w_hh, b_ih, b_hh, _ = self._unpack([t._data for t in self.inputs])
        (hs,) = self.saved
        xp = array_module(g)
        xt, L, N, order, masks = self._frame(x)
        H = h0.shape[-1]
        dout, dhn, _ = self._grad_parts(g, L, N, H)
        dpre = xp.empty_like(hs)
        dh0 = xp.empty_like(dhn)
        w_c = xp.ascontiguousarray(w_hh)

        def rows(r):
            dh = dhn[r].copy()
            for t in reversed(order):
                d, h = dpre[t, r], hs[t, r]
                m = None if masks is None else masks[t, r][:, None]
                dh += dout[t, r] if m is None else dout[t, r] * m
                if self.mode == "RNN_TANH":
                    xp.multiply(h, h, out=d)
                    xp.subtract(1, d, out=d)
                    d *= dh
                else:
                    xp.multiply(dh, h > 0, out=d)
                if m is None:
                    dh = xp.dot(d, w_c)
                else:
                    d *= m
                    dh = xp.dot(d, w_c) + xp.where(m, 0, dh)
            dh0[r] = dh

        _each_block(_row_blocks(N, xp), rows)
        d2 = _flat2(dpre)
        grads = {"h0": dh0}
        if need["x"]:
            grads["x"] = self._dx(xp, d2, w_ih, x.shape)
        if need["w_ih"]:
            grads["w_ih"] = parallel.matmul(d2.T, _flat2(xt))
        if need["w_hh"]:
            grads["w_hh"] = parallel.matmul(d2.T, _flat2(_prev_states(hs, h0, self.reverse)))
        if self.has_bias:
            db = parallel.total(d2, 0)
            grads["b_ih"], grads["b_hh"] = db, db.copy()
        return grads


_FUSED = {"LSTM": LSTMLayer, "GRU": GRULayer, "RNN_TANH": RNNLayer, "RNN_RELU": RNNLayer}


def recurrent_layer(mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                    b_ih: Tensor | None = None, b_hh: Tensor | None = None, w_hr: Tensor | None = None,
                    reverse: bool = False, batch_first: bool = False, lengths=None):
    """The fused equivalent of :func:`reference_layer` (same arguments and results): one graph node per layer."""
    has_bias = b_ih is not None
    inputs = [x, h0] + ([c0] if mode == "LSTM" else []) + [w_ih, w_hh]
    inputs += [b_ih, b_hh] if has_bias else []
    inputs += [w_hr] if w_hr is not None else []
    flat = _FUSED[mode](mode, has_bias, w_hr is not None, reverse, batch_first, lengths)(*inputs)
    out_shape = tuple(x.shape[:-1]) + (h0.shape[-1],)
    a = 1
    for s in out_shape:
        a *= s
    b = a + h0.shape[0] * h0.shape[1]
    out, hn = flat[:a].reshape(out_shape), flat[a:b].reshape(tuple(h0.shape))
    return out, hn, (flat[b:].reshape(tuple(c0.shape)) if mode == "LSTM" else None)
