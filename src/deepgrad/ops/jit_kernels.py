"""Kernels compiled by Numba (optional: ``pip install deepgrad[jit]``) for NumPy arrays on the CPU: each fuses the
several NumPy passes of an op into one loop that reads each element once and keeps it in registers.

* The gate arithmetic of one LSTM or GRU step, in place of :mod:`deepgrad.ops.recurrence`'s ``_lstm_cell_forward``,
  ``_lstm_cell_backward``, ``_gru_cell_forward`` and ``_gru_cell_backward`` (nine forward and seventeen backward
  passes), float32.
* Layer norm's forward and backward over rows, in place of the NumPy passes of
  :class:`deepgrad.nn.functional.normalization._LayerNorm` (ten forward and nine backward), float32 and float64.
* GELU's tanh form, forward and backward, in place of :class:`deepgrad.nn.functional.activation._GeluTanh`'s
  (eight and twelve passes), float32.
* Adam's update of one parameter (without AMSGrad) in one pass instead of twelve
  (:class:`deepgrad.optim.Adam`, ``AdamW``), float32 and float64, with NumPy's operations in NumPy's order, so
  the same roundings.
* The softmax inside scaled dot-product attention (:class:`deepgrad.nn.functional.attention._SDPA`): scale, mask
  and the row maximum in one pass before NumPy's exp, the normalisation in one after it, and the backward's
  P ⊙ (dP − Σ dP ⊙ P) in one (seven and four NumPy passes before), float32.

Every kernel computes what the NumPy code beside its op's mathematics computes, with the same arguments, and the
tests run both on every case and require them to agree. :func:`for_arrays` is the one rule that chooses: these
kernels when Numba is installed, the arrays are NumPy arrays of a dtype the kernel is compiled for and
``deepgrad.backends.cpu.fast_kernels`` is True, else the NumPy passes. Numba compiles each kernel the first time an
op uses it and caches the machine code on disk (beside this module, or in Numba's user cache where that is not
writable): measured on the 2-core CPU, the first GPT training step of a fresh install spends 3.7 s compiling
(layer norm, GELU, softmax, Adam) and the first LSTM + GRU steps 3.6 s; a later process imports Numba and loads
the cached code in about a second.

tanh inside the recurrent cells is the rational minimax approximation p(x)/q(x) of degrees 13/6 on
[−7.9053, 7.9053] (the coefficients are those of Eigen's ``generic_fast_tanh_float``), a handful of multiply-adds
and one division that the compiler turns into AVX vector code; its largest error against the float64 tanh is
2.5e-7 (float32's own rounding is 6e-8 relative), it is ±1 exactly beyond the interval, and NaN stays NaN.

Recurrent cells (feature-major LSTM: gates (4H, N) in the order (i, f, o, g), σ rows pre-scaled by ½; batch-major
GRU: gates (n, 3H) in the order (r, z, n), r and z rows pre-scaled by ½; σ(a) = (1 + tanh(a/2)) / 2):

* ``tanh_into(x, out)`` — out = tanh(x), elementwise (the approximation alone, for its tests).
* ``lstm_forward(a, buf, c, c1, tc, r)`` — a ← the gates of a + buf; c1 = f⊙c + i⊙g; tc = tanh(c1); r = o⊙tc.
* ``lstm_backward(a, tc, c_prev, dr, dc, d, m)`` — d ← ∂ of the four pre-activations, dc ← ∂c_{t−1}, given
  dr = ∂r and dc = ∂c_t from the step after; m (N,) is 1 where the sequence takes the step, 0 where it is past its
  end (d = 0 there, dc passes through), None for all 1.
* ``lstm_forward_halves(q, order, compute, pause, packed, gates, buf, hs, cs, tc, h0, c0, flags, limit)`` — the
  forward steps ``order`` for thread q of two, which owns half of the units: its gate rows are the q-th (4H/2, N)
  block of a (its W_hh rows packed on MKL at address ``packed``, multiplied by MKL's ``compute`` from inside the
  loop), its states rows q·H/2 … of hs, cs, tc; after each step the two threads meet (``flags``: each writes the
  step it finished, then waits for the other's, calling ``pause`` between reads; after ``limit`` pauses it sets
  flags[2] and both return).
* ``lstm_backward_halves(q, order, before, compute, pause, packed, gates, tc, cs, c0, dout, dh, dc, ring, dgates,
  ones, flags, limit)`` — the backward steps for thread q: ∂h_t of its units += dout, its half of the cell into the
  ring, the meeting, then ∂h_{t−1} of its units = (its columns of W_hh)ᵀ ∂a_t from all of the ring's rows.
* ``lstm_gather_steps(ring, k, dgates, lo)`` — dgates[:, lo:lo + k] = ring[:k] transposed (the ∂gates of k steps
  (k, 4H, N) into the (4H, L, N) layout of the weight products), written in destination order.
* ``gru_forward(a, buf, b_hn, h, ghn, h1)`` — a ← (r, z, n); ghn = W_hn h + b_hn (b_hn may be None);
  h1 = n + z⊙(h − n).
* ``gru_backward(a, ghn, h_prev, dh, di, dhh, dhz, m)`` — di, dhh ← ∂ of the input and hidden pre-activations,
  dhz ← the part of ∂h_{t−1} that does not pass through W_hh (m (n,) as above).

GELU with the tanh approximation, GELU(x) ≈ ½ x (1 + tanh u), u = √(2/π)(x + 0.044715 x³), on flat arrays
(float32; the backward recomputes tanh u from x rather than reading a saved copy):

* ``gelu_tanh_forward(x, y)``; ``gelu_tanh_backward(x, g, gx)`` — gx = g (½ (1 + tanh u) + ½ x (1 − tanh² u) u′).

Softmax over the rows of the last axis of s, dp (n, L, S) (float32; bias (L, S)):

* ``softmax_shift(s, bias, has_bias, scale)`` — s ← s · scale + bias − max_j(s · scale + bias).
* ``softmax_normalize(e)`` — e ← e / Σ_j e.
* ``softmax_backward(p, dp)`` — dp ← p ⊙ (dp − Σ_j dp ⊙ p).

Adam on flat contiguous arrays: ``adam_step(x, g, m, v, beta1, beta2, t, lr, eps)`` — m ← β₁ m + (1 − β₁) g,
v ← β₂ v + (1 − β₂) g², x ← x − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).

Layer norm over the rows of x (R, D), γ = w, β = b (D,):

* ``layer_norm_forward(x, w, b, eps, mean, invstd, y)`` — μ and 1/√(σ² + ε) of each row (R, 1), y = x̂ γ + β with
  x̂ = (x − μ)/√(σ² + ε). x̂ is not kept: the backward recomputes it from x (on a CPU whose memory bandwidth is
  the limit, writing it cost as much as the rest of the forward).
* ``layer_norm_backward(g, x, mean, invstd, w, gx, gw, gb)`` — ∂x = (1/σ)(ĝ − mean ĝ − x̂ mean(ĝ x̂)), ĝ = g γ (gx
  may be None); adds Σ_rows g x̂ into gw and Σ_rows g into gb (float64 (D,) accumulators).
"""
from __future__ import annotations

import functools
import importlib.util
import math
import types
import warnings

import numpy as np

__all__ = ["available", "compiled", "for_arrays", "spin_calls"]

# tanh(x) ≈ x·P(x²)/Q(x²) on |x| ≤ _CLAMP (beyond it float32 tanh is ±1)
_ALPHA = (4.89352455891786e-03, 6.37261928875436e-04, 1.48572235717979e-05, 5.12229709037114e-08,
          -8.60467152213735e-11, 2.00018790482477e-13, -2.76076847742355e-16)
_BETA = (4.89352518554385e-03, 2.26843463243900e-03, 1.18534705686654e-04, 1.19825839466702e-06)
_CLAMP = 7.90531110763549805

# contract/arcp/nsz let LLVM fuse multiply-adds and vectorise the division; no nnan/ninf, so NaN and inf propagate
_FASTMATH = {"contract", "arcp", "nsz"}
# reductions (a row's mean) reassociate: partial sums in vector lanes, summed at the end; no contract, so that
# g·γ − mean(g·γ) is 0 where it should be (a fused multiply-add would leave g·γ's rounding error, times 1/σ)
_FASTMATH_SUMS = {"arcp", "nsz", "reassoc"}


@functools.cache
def available() -> bool:
    """True when Numba is installed and imports (the first call imports it). A Numba that is installed but does not
    import — one built for another NumPy, say — counts as absent, with one warning saying so."""
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        import numba
    except Exception as e:  # noqa: BLE001 - any failure to import means: run the NumPy passes
        warnings.warn(f"deepgrad: Numba is installed but does not import ({type(e).__name__}: {e}); the NumPy passes "
                      f"run instead of deepgrad.ops.jit_kernels", RuntimeWarning, stacklevel=2)
        return False
    from ..backends import cpu

    cpu.numba_wide_vectors(numba)
    return True


@functools.cache
def spin_calls():
    """(compute, pause) for the kernels that split a recurrence over two threads: MKL's packed-product call
    (``deepgrad.backends.mkl.c_functions``) and libc's ``sched_yield``, the pause of their spin-wait — a call the
    compiler cannot see through, so the flag is read again after it, and one that lets the other thread run where
    the two share a core."""
    import ctypes

    from ..backends import mkl

    compute = mkl.c_functions()
    pause = ctypes.CFUNCTYPE(ctypes.c_int)(("sched_yield", ctypes.CDLL(None)))
    return compute, pause


def for_arrays(xp, dtype, dtypes=("float32",)):
    """The compiled kernels for arrays of module ``xp`` and ``dtype`` when they apply (NumPy, ``dtype`` one of
    ``dtypes``, Numba installed, ``deepgrad.backends.cpu.fast_kernels``), else None: the caller's NumPy passes."""
    from ..backends import cpu

    if cpu.fast_kernels and xp.__name__ == "numpy" and xp.dtype(dtype).name in dtypes and available():
        return compiled()
    return None


@functools.cache
def compiled() -> types.SimpleNamespace:
    """The kernels, each compiled on first use (this imports Numba, through :func:`available`)."""
    if not available():
        raise RuntimeError("deepgrad.ops.jit_kernels: Numba is not available (pip install deepgrad[jit])")
    import numba

    f32 = np.float32
    a1, a3, a5, a7, a9, a11, a13 = (f32(v) for v in _ALPHA)
    b0, b2, b4, b6 = (f32(v) for v in _BETA)
    clamp, half, one = f32(_CLAMP), f32(0.5), f32(1.0)
    jit = functools.partial(numba.njit, nogil=True, fastmath=_FASTMATH, error_model="numpy", boundscheck=False,
                            cache=True)

    @numba.njit(inline="always", fastmath=_FASTMATH, error_model="numpy")
    def tanh(x):
        c = clamp if x > clamp else x
        c = -clamp if c < -clamp else c
        x2 = c * c
        p = c * (a1 + x2 * (a3 + x2 * (a5 + x2 * (a7 + x2 * (a9 + x2 * (a11 + x2 * a13))))))
        t = p / (b0 + x2 * (b2 + x2 * (b4 + x2 * b6)))
        t = one if x > clamp else t  # beyond the clamp float32's tanh is ±1 (so that 1 + tanh x is 0 there)
        return -one if x < -clamp else t

    @jit
    def tanh_into(x, out):
        for k in range(x.size):
            out.flat[k] = tanh(x.flat[k])

    @jit
    def lstm_forward(a, buf, c, c1, tc, r):
        H, N = c.shape
        for j in range(H):
            for n in range(N):
                i = half * tanh(a[j, n] + buf[j, n]) + half
                f = half * tanh(a[H + j, n] + buf[H + j, n]) + half
                o = half * tanh(a[2 * H + j, n] + buf[2 * H + j, n]) + half
                g = tanh(a[3 * H + j, n] + buf[3 * H + j, n])
                a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n] = i, f, o, g
                cc = f * c[j, n] + i * g
                t = tanh(cc)
                c1[j, n], tc[j, n], r[j, n] = cc, t, o * t

    @jit
    def lstm_backward(a, tc, c_prev, dr, dc, d, m):
        H, N = tc.shape
        for j in range(H):
            for n in range(N):
                i, f, o, g = a[j, n], a[H + j, n], a[2 * H + j, n], a[3 * H + j, n]
                t, dq, mn = tc[j, n], dr[j, n], m[n]
                dcn = dc[j, n] + dq * o * (one - t * t)
                d[j, n] = mn * (dcn * g * i * (one - i))
                d[H + j, n] = mn * (dcn * c_prev[j, n] * f * (one - f))
                d[2 * H + j, n] = mn * (dq * t * o * (one - o))
                d[3 * H + j, n] = mn * (dcn * i * (one - g * g))
                dc[j, n] = dcn * (mn * f + (one - mn))

    @jit
    def lstm_gather_steps(ring, k, dgates, lo):
        G, N = ring.shape[1], ring.shape[2]
        for j in range(G):  # destination order: one 128-byte run after another of dgates[j, lo:lo + k]
            for s in range(k):
                for n in range(N):
                    dgates[j, lo + s, n] = ring[s, j, n]

    @numba.njit(inline="always")
    def meet(flags, q, s, pause, limit):
        """Thread q of two has finished step s: say so, then wait until the other has too. False if either waited
        longer than ``limit`` pauses (flags[2] set: both stop)."""
        pause()  # an opaque call: the step's stores are not moved past it, nor the flag's store before it
        flags[q] = s
        n = 0
        while flags[1 - q] < s:
            if flags[2] != 0:
                return False
            pause()  # and the flag is read again after each
            n += 1
            if n > limit:
                flags[2] = 1
                return False
        return True

    @jit
    def lstm_forward_halves(q, order, compute, pause, packed, gates, buf, hs, cs, tc, h0, c0, flags, limit):
        H2, N, P = buf.shape[0] // 4, buf.shape[1], hs.shape[1]
        r0, r1, g0, g1 = q * H2, (q + 1) * H2, q * 4 * H2, (q + 1) * 4 * H2
        zero = np.float32(0.0)
        for s in range(order.shape[0]):
            t = order[s]
            h = h0 if s == 0 else hs[order[s - 1]]
            c = c0[r0:r1] if s == 0 else cs[order[s - 1], r0:r1]
            compute(101, 151, 111, 4 * H2, N, P, packed, P, h.ctypes.data, N, zero, buf.ctypes.data, N)
            lstm_forward(gates[t, g0:g1], buf, c, cs[t, r0:r1], tc[t, r0:r1], hs[t, r0:r1])
            if not meet(flags, q, s + 1, pause, limit):
                return

    @jit
    def lstm_backward_halves(q, order, before, compute, pause, packed, gates, tc, cs, c0, dout, dh, dc, ring,
                             dgates, ones, flags, limit):
        H2, N, G, R = dh.shape[0], dh.shape[1], ring.shape[1], ring.shape[0]
        L = gates.shape[0]
        r0, r1, g0, g1 = q * H2, (q + 1) * H2, q * 4 * H2, (q + 1) * 4 * H2
        zero = np.float32(0.0)
        for s in range(order.shape[0]):
            t, p = order[s], before[s]
            lo = t - t % R
            hi = min(lo + R, L)
            dh += dout[t, r0:r1]
            c_prev = c0[r0:r1] if p < 0 else cs[p, r0:r1]
            lstm_backward(gates[t, g0:g1], tc[t, r0:r1], c_prev, dh, dc, ring[t - lo, g0:g1], ones)
            if p < 0 or p < lo or p >= hi:  # the ring holds steps lo..hi−1 of this half: into (4H, L, N)
                lstm_gather_steps(ring[:, g0:g1], hi - lo, dgates[g0:g1], lo)
            if not meet(flags, q, s + 1, pause, limit):  # ∂a_t of both halves is in the ring
                return
            compute(101, 151, 111, H2, N, G, packed, G, ring[t - lo].ctypes.data, N, zero, dh.ctypes.data, N)

    @jit
    def gru_forward(a, buf, b_hn, h, ghn, h1):
        n_rows, H = h.shape
        for b in range(n_rows):
            for j in range(H):
                r = half * tanh(a[b, j] + buf[b, j]) + half
                z = half * tanh(a[b, H + j] + buf[b, H + j]) + half
                gh = buf[b, 2 * H + j] + b_hn[j]
                nn = tanh(a[b, 2 * H + j] + r * gh)
                a[b, j], a[b, H + j], a[b, 2 * H + j] = r, z, nn
                ghn[b, j] = gh
                h1[b, j] = nn + z * (h[b, j] - nn)

    @jit
    def gru_backward(a, ghn, h_prev, dh, di, dhh, dhz, m):
        n_rows, H = dh.shape
        for b in range(n_rows):
            mb = m[b]
            for j in range(H):
                r, z, nn, g = a[b, j], a[b, H + j], a[b, 2 * H + j], dh[b, j]
                dn = mb * (g * (one - z) * (one - nn * nn))
                dz = mb * (g * (h_prev[b, j] - nn) * z * (one - z))
                drr = dn * ghn[b, j] * r * (one - r)
                di[b, j], di[b, H + j], di[b, 2 * H + j] = drr, dz, dn
                dhh[b, j], dhh[b, H + j], dhh[b, 2 * H + j] = drr, dz, dn * r
                dhz[b, j] = g * (mb * z + (one - mb))

    sums = functools.partial(numba.njit, nogil=True, fastmath=_FASTMATH_SUMS, error_model="numpy",
                             boundscheck=False, cache=True)

    @sums
    def layer_norm_forward_(x, w, b, eps, mean, invstd, y, one, d_inv):
        R, D = x.shape
        for i in range(R):
            mu = one - one  # sums in the arrays' own dtype (one and d_inv = 1/D are of it)
            for j in range(D):
                mu += x[i, j]
            mu *= d_inv
            var = one - one
            for j in range(D):
                dv = x[i, j] - mu
                var += dv * dv
            inv = one / np.sqrt(var * d_inv + eps)
            mean[i, 0], invstd[i, 0] = mu, inv
            for j in range(D):
                y[i, j] = (x[i, j] - mu) * inv * w[j] + b[j]

    @sums
    def layer_norm_backward(g, x, mean, invstd, w, gx, gw, gb, want_gx, one, d_inv):
        R, D = g.shape
        for i in range(R):
            mu, inv = mean[i, 0], invstd[i, 0]
            m1 = one - one
            m2 = one - one
            for j in range(D):
                xh = (x[i, j] - mu) * inv
                gh = g[i, j] * w[j]
                m1 += gh
                m2 += gh * xh
                gw[j] += g[i, j] * xh
                gb[j] += g[i, j]
            if want_gx:
                m1 *= d_inv
                m2 *= d_inv
                for j in range(D):
                    gx[i, j] = inv * (g[i, j] * w[j] - m1 - (x[i, j] - mu) * inv * m2)

    gc, ga = f32(math.sqrt(2.0 / math.pi)), f32(0.044715)
    gc3 = f32(3 * 0.044715 * math.sqrt(2.0 / math.pi))

    @jit
    def gelu_tanh_forward(x, y):
        for k in range(x.size):
            v = x[k]
            y[k] = half * v * (one + tanh(gc * v + gc * ga * v * v * v))

    @jit
    def gelu_tanh_backward(x, g, gx):
        for k in range(x.size):
            v = x[k]
            t = tanh(gc * v + gc * ga * v * v * v)
            gx[k] = g[k] * (half * (one + t) + half * v * (one - t * t) * (gc + gc3 * v * v))

    @sums
    def softmax_shift(s, bias, has_bias, scale):
        """s ← s · scale + bias − its row maximum (rows of the last axis; s (n, L, S), bias (L, S))."""
        n, L, S = s.shape
        for h in range(n):
            for i in range(L):
                row = s[h, i]
                if has_bias:
                    for j in range(S):
                        row[j] = row[j] * scale + bias[i, j]
                else:
                    for j in range(S):
                        row[j] = row[j] * scale
                m = row[0]
                for j in range(1, S):
                    m = row[j] if row[j] > m else m
                for j in range(S):
                    row[j] = row[j] - m

    @sums
    def softmax_normalize(e):
        """e ← e / its row sum."""
        n, L, S = e.shape
        for h in range(n):
            for i in range(L):
                row = e[h, i]
                total = row[0] - row[0]
                for j in range(S):
                    total += row[j]
                inv = one / total
                for j in range(S):
                    row[j] = row[j] * inv

    @sums
    def softmax_backward(p, dp):
        """dp ← p ⊙ (dp − Σ_j dp ⊙ p), the gradient of softmax's input from its output's (rows of the last axis)."""
        n, L, S = p.shape
        for h in range(n):
            for i in range(L):
                pr, dr = p[h, i], dp[h, i]
                c = dr[0] - dr[0]
                for j in range(S):
                    c += dr[j] * pr[j]
                for j in range(S):
                    dr[j] = pr[j] * (dr[j] - c)

    @numba.njit(nogil=True, error_model="numpy", boundscheck=False, cache=True)  # no fastmath: NumPy's roundings
    def adam_step(x, g, m, v, b1, c1, b2, c2, bias2, eps, step):
        for k in range(x.size):
            gk = g[k]
            mk = m[k] * b1 + gk * c1
            vk = v[k] * b2 + gk * gk * c2
            m[k], v[k] = mk, vk
            x[k] -= mk / (np.sqrt(vk) * bias2 + eps) * step

    def adam_step_(x, g, m, v, beta1, beta2, t, lr, eps):
        d = x.dtype.type
        adam_step(x, g, m, v, d(beta1), d(1 - beta1), d(beta2), d(1 - beta2), d(1 / math.sqrt(1 - beta2 ** t)),
                  d(eps), d(lr / (1 - beta1 ** t)))

    def layer_norm_forward(x, w, b, eps, mean, invstd, y):
        t = x.dtype.type
        layer_norm_forward_(x, w, b, t(eps), mean, invstd, y, t(1), t(1 / x.shape[1]))

    def layer_norm_backward_(g, x, mean, invstd, w, gx, gw, gb):
        t = g.dtype.type
        layer_norm_backward(g, x, mean, invstd, w, g if gx is None else gx, gw, gb, gx is not None, t(1),
                            t(1 / g.shape[1]))

    @functools.lru_cache(maxsize=16)
    def all_steps(n: int, dtype: str):
        """A read-only mask of n ones (every sequence takes the step), made once per (n, dtype)."""
        m = np.ones(n, dtype)
        m.flags.writeable = False
        return m

    def lstm_backward_(a, tc, c_prev, dr, dc, d, m):
        lstm_backward(a, tc, c_prev, dr, dc, d, all_steps(tc.shape[1], tc.dtype.str) if m is None else m)

    def gru_forward_(a, buf, b_hn, h, ghn, h1):
        gru_forward(a, buf, np.zeros(h.shape[1], h.dtype) if b_hn is None else b_hn, h, ghn, h1)

    def gru_backward_(a, ghn, h_prev, dh, di, dhh, dhz, m):
        gru_backward(a, ghn, h_prev, dh, di, dhh, dhz, all_steps(dh.shape[0], dh.dtype.str) if m is None else m)

    return types.SimpleNamespace(
        tanh_into=tanh_into, lstm_forward=lstm_forward, lstm_backward=lstm_backward_,
        lstm_forward_halves=lstm_forward_halves, lstm_backward_halves=lstm_backward_halves, all_steps=all_steps,
        lstm_gather_steps=lstm_gather_steps, gru_forward=gru_forward_, gru_backward=gru_backward_,
        layer_norm_forward=layer_norm_forward, layer_norm_backward=layer_norm_backward_,
        gelu_tanh_forward=gelu_tanh_forward, gelu_tanh_backward=gelu_tanh_backward, softmax_shift=softmax_shift,
        softmax_normalize=softmax_normalize, softmax_backward=softmax_backward, adam_step=adam_step_)
