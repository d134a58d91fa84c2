"""Special functions: log-gamma, digamma and polygamma, on NumPy and CuPy alike (no SciPy).

``lgamma`` is Lanczos' approximation (g = 7, 9 coefficients, relative error ≈ 1e-15) with Euler's reflection
below 1/2; ``digamma`` and ``polygamma`` shift x up by the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x+1) − (−1)ⁿ n!/xⁿ⁺¹ until
x ≥ 10 and then sum the asymptotic (Bernoulli) series. Each derivative is the next function of the family, so
gradients of any order exist: d lgamma = ψ, dψ = ψ⁽¹⁾, dψ⁽ⁿ⁾ = ψ⁽ⁿ⁺¹⁾. ``standard_gamma_grad`` is the implicit
reparameterisation gradient of a gamma draw, from the incomplete gamma function's series and continued fraction.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..backend import array_module
from ..tensor import Tensor
from ._util import describe

__all__ = ["lgamma", "digamma", "polygamma", "mvlgamma"]

_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)  # B_2, B_4, ..., B_14
_SHIFT_TO = 10.0
_MAX_TERMS = 100_000  # the series and the fraction need about 8√α terms where x is near α; this caps α near 1e8


def _lgamma_array(x_in):
    x = x_in.astype("float64")  # float64 throughout: float32 Lanczos sums lose ~1e-6 near the zeros at 1 and 2
    xp = array_module(x)
    reflect = x < 0.5
    z = xp.where(reflect, 1.0 - x, x) - 1.0
    acc = xp.full_like(z, _LANCZOS[0])
    for k, c in enumerate(_LANCZOS[1:], start=1):
        acc = acc + c / (z + k)
    t = z + _LANCZOS_G + 0.5
    right = 0.5 * math.log(2 * math.pi) + (z + 0.5) * xp.log(t) - t + xp.log(acc)
    # Γ(x)Γ(1−x) = π / sin(πx): log|Γ(x)| = log π − log|sin πx| − log Γ(1−x)
    with _quiet(xp):
        left = math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * x))) - right
    return xp.where(reflect, left, right).astype(x_in.dtype, copy=False)


def _polygamma_array(n: int, x_in):
    x = x_in.astype("float64")
    xp = array_module(x)
    finite = x[xp.isfinite(x)]
    steps = int(max(0.0, math.ceil(_SHIFT_TO - float(finite.min())))) if finite.size else 0  # shifts to reach 10
    acc = xp.zeros_like(x)
    y = x
    sign_n = -1.0 if n % 2 else 1.0  # (−1)ⁿ
    fact = math.factorial(n)
    with _quiet(xp):
        for _ in range(steps):
            low = y < _SHIFT_TO
            if n == 0:
                acc = acc - xp.where(low, 1.0 / y, 0.0)
            else:
                acc = acc - xp.where(low, sign_n * fact / y ** (n + 1), 0.0)
            y = xp.where(low, y + 1.0, y)
        inv = 1.0 / y
        if n == 0:
            series = xp.log(y) - 0.5 * inv
            for k, b in enumerate(_BERNOULLI, start=1):
                series = series - b / (2 * k) * inv ** (2 * k)
        else:
            # ψ⁽ⁿ⁾(y) ≈ (−1)ⁿ⁺¹ [ (n−1)!/yⁿ + n!/(2yⁿ⁺¹) + Σ_k B_2k (2k+n−1)!/(2k)! / y^(2k+n) ]
            series = math.factorial(n - 1) * inv ** n + 0.5 * fact * inv ** (n + 1)
            for k, b in enumerate(_BERNOULLI, start=1):
                series = series + b * math.factorial(2 * k + n - 1) / math.factorial(2 * k) * inv ** (2 * k + n)
            series = -sign_n * series
    out = acc + series
    poles = (x <= 0) & (x == xp.floor(x))
    return xp.where(poles, xp.nan, out).astype(x_in.dtype, copy=False)


class _quiet:
    """Silence NumPy's divide/invalid warnings inside a block whose masked-away branch may divide by zero."""

    def __init__(self, xp):
        self.xp = xp

    def __enter__(self):
        if self.xp.__name__ == "numpy":
            self.saved = self.xp.seterr(divide="ignore", invalid="ignore", over="ignore")

    def __exit__(self, *exc):
        if self.xp.__name__ == "numpy":
            self.xp.seterr(**self.saved)


class LGamma(Function):
    """log|Γ(x)|; ∂/∂x = ψ(x)."""

    saves_inputs = (0,)

    def forward(self, x):
        return _lgamma_array(x)

    def backward(self, g):
        return (g * digamma(self.inputs[0]),)


class PolyGamma(Function):
    """ψ⁽ⁿ⁾(x), the (n+1)-th derivative of log Γ (n = 0 is the digamma function); ∂/∂x = ψ⁽ⁿ⁺¹⁾(x)."""

    saves_inputs = (0,)

    def __init__(self, n: int):
        self.n = n

    def forward(self, x):
        return _polygamma_array(self.n, x)

    def backward(self, g):
        return (g * polygamma(self.n + 1, self.inputs[0]),)


def _floating(x, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {describe(x)}")
    return x if x.dtype.kind == "f" else x.float()


def _standard_gamma_grad_array(x_in, a_in):
    """dx/dα for x ~ Γ(α, 1) held at its CDF value u = P(α, x): by the implicit function theorem,
    dx/dα = −(∂P/∂α)(α, x) / p(x; α), with p(x; α) = x^(α−1) e^(−x) / Γ(α) and P the regularised lower incomplete
    gamma function. ∂P/∂α is computed in float64 from the series for P (x < α + 1) or Legendre's continued fraction
    for Q = 1 − P (x ≥ α + 1), each differentiated term by term in α; the prefactor x^α e^(−x)/Γ(·) cancels
    against p, so nothing overflows."""
    xp = array_module(x_in)
    x, a = (v.ravel() for v in xp.broadcast_arrays(x_in.astype("float64"), a_in.astype("float64")))
    out = xp.empty_like(x)
    series = x < a + 1.0
    with _quiet(xp):
        i = xp.flatnonzero(series)
        if i.shape[0]:
            xs, as_ = x[i], a[i]
            s, ds = _iterate(xp, _series_step, _series_start(xp, xs, as_), xs, as_)
            out[i] = -(xs / as_) * (s * (xp.log(xs) - _polygamma_array(0, as_ + 1.0)) + ds)
        i = xp.flatnonzero(~series)
        if i.shape[0]:
            xc, ac = x[i], a[i]
            h, dh = _iterate(xp, _fraction_step, _fraction_start(xp, xc, ac), xc, ac)
            out[i] = xc * ((xp.log(xc) - _polygamma_array(0, ac)) / h - dh / (h * h))
    return out.reshape(np.broadcast_shapes(x_in.shape, a_in.shape))  # shapes only: NumPy's helper serves CuPy too


# The series P = x^α e^(−x)/Γ(α+1) · S, S = Σ tₙ, t₀ = 1, tₙ = tₙ₋₁ x/(α+n), carried with dtₙ/dα = (dtₙ₋₁ − tₙ₋₁/(α+n))
# x/(α+n). State: (S, dS/dα, t, dt); an element has converged once tₙ < 1e-17 S and |dtₙ| < 1e-17 (|dS/dα| + S).
def _series_start(xp, x, a):
    return [xp.ones_like(x), xp.zeros_like(x), xp.ones_like(x), xp.zeros_like(x)]


def _series_step(xp, n, state, x, a):
    s, ds, t, dt = state
    ratio = x / (a + n)
    dt = (dt - t / (a + n)) * ratio
    t = t * ratio
    s, ds = s + t, ds + dt
    return [s, ds, t, dt], (t > 1e-17 * s) | (xp.abs(dt) > 1e-17 * (xp.abs(ds) + s))


# Legendre's fraction Q = x^α e^(−x)/Γ(α) / h, h = b₀ + a₁/(b₁ + a₂/(b₂ + ...)), bₙ = x + 2n + 1 − α, aₙ = n(α − n),
# by Wallis' recurrences Aₙ = bₙAₙ₋₁ + aₙAₙ₋₂ (the same for B) carried with their α-derivatives. After each step all
# are divided by Bₙ (a common factor leaves A/B and its derivative unchanged and keeps them finite), so Bₙ = 1 and
# h = Aₙ, dh/dα = A'ₙ − h B'ₙ. State: (h, dh/dα, Aₙ₋₁, Bₙ₋₁, A'ₙ, A'ₙ₋₁, B'ₙ, B'ₙ₋₁); an element has converged once
# h changes by less than 1e-15 |h| and dh/dα by less than 1e-15 (|dh/dα| + |h|) (dh/dα may pass through 0).
def _fraction_start(xp, x, a):
    zero = xp.zeros_like(x)
    return [x + 1.0 - a, -xp.ones_like(x), xp.ones_like(x), zero, -xp.ones_like(x), zero, zero, zero]


def _fraction_step(xp, n, state, x, a):
    h, dh, a_prev, b_prev, da_cur, da_prev, db_cur, db_prev = state
    bn, an = x + 2 * n + 1.0 - a, n * (a - n)
    a_new, b_new = bn * h + an * a_prev, bn + an * b_prev
    da_new = -h + bn * da_cur + n * a_prev + an * da_prev
    db_new = -1.0 + bn * db_cur + n * b_prev + an * db_prev
    scale = 1.0 / b_new
    h_new = a_new * scale
    da_new, db_new = da_new * scale, db_new * scale
    dh_new = da_new - h_new * db_new
    state = [h_new, dh_new, h * scale, scale, da_new, da_cur * scale, db_new, db_cur * scale]
    return state, (xp.abs(h_new - h) > 1e-15 * xp.abs(h_new)) | (xp.abs(dh_new - dh) > 1e-15 * (xp.abs(dh_new) + xp.abs(h_new)))


def _iterate(xp, step, state, x, a):
    """Run ``step`` until every element has converged; returns the first two state arrays. Converged elements
    are set aside whenever they make up a quarter of those still running (extra steps do not move them)."""
    done = [xp.empty_like(x) for _ in range(2)]
    where = xp.arange(x.shape[0])
    for n in range(1, _MAX_TERMS + 1):
        state, running = step(xp, n, state, x, a)
        alive = int(running.sum())
        if alive > 0.75 * running.shape[0] and n < _MAX_TERMS:
            continue  # too few finished to be worth the copies
        last = not alive or n == _MAX_TERMS
        finished = xp.ones_like(running) if last else ~running
        for d, v in zip(done, state):
            d[where[finished]] = v[finished]
        if last:
            break
        where, x, a = where[running], x[running], a[running]
        state = [v[running] for v in state]
    return done


class StandardGammaGrad(Function):
    """dx/dα of a standard gamma draw x ~ Γ(α, 1) (PyTorch's ``_standard_gamma_grad``); its own derivative is not
    implemented, as in PyTorch."""

    def forward(self, x, alpha):
        return _standard_gamma_grad_array(x, alpha).astype(alpha.dtype, copy=False)

    def backward(self, g):
        raise NotImplementedError("standard_gamma_grad: the second derivative of a gamma sample with respect to its "
                                  "concentration is not implemented (nor in PyTorch); use create_graph=False")


def standard_gamma_grad(x: Tensor, alpha: Tensor) -> Tensor:
    """The implicit reparameterisation gradient dx/dα = −(∂P/∂α)(α, x) / p(x; α) of a draw x of Γ(α, 1), with P the
    regularised lower incomplete gamma function and p the density (``torch._standard_gamma_grad(alpha, x)``)."""
    return StandardGammaGrad()(_floating(x, "standard_gamma_grad"), _floating(alpha, "standard_gamma_grad"))


def lgamma(input: Tensor) -> Tensor:  # noqa: A002
    """log|Γ(x)| elementwise (``torch.lgamma``); +inf at 0, −1, −2, ...

    Example:
        >>> import deepgrad as dg
        >>> round(dg.lgamma(dg.tensor(5.0)).item(), 4)  # log 4!
        3.1781
    """
    return LGamma()(_floating(input, "lgamma"))


def digamma(input: Tensor) -> Tensor:  # noqa: A002
    """ψ(x) = d/dx log Γ(x) elementwise (``torch.digamma``); nan at 0, −1, −2, ..."""
    return PolyGamma(0)(_floating(input, "digamma"))


def polygamma(n: int, input: Tensor) -> Tensor:  # noqa: A002
    """ψ⁽ⁿ⁾(x) = dⁿ⁺¹/dxⁿ⁺¹ log Γ(x) elementwise (``torch.polygamma``); n = 0 is :func:`digamma`."""
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative integer, got {n!r}")
    return PolyGamma(n)(_floating(input, "polygamma"))


def mvlgamma(input: Tensor, p: int) -> Tensor:  # noqa: A002
    """Multivariate log-gamma log Γ_p(x) = p(p−1)/4 · log π + Σ_{j=1..p} log Γ(x + (1−j)/2) (``torch.mvlgamma``)."""
    if not isinstance(p, int) or p < 1:
        raise ValueError(f"mvlgamma: p must be a positive integer, got {p!r}")
    x = _floating(input, "mvlgamma")
    total = lgamma(x)
    for j in range(2, p + 1):
        total = total + lgamma(x + (1 - j) / 2)
    return total + p * (p - 1) / 4 * math.log(math.pi)
