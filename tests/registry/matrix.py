"""Registry entries for the matrix-structure ops, the special functions and the factorisations."""
import math

import numpy as np

import deepgrad as dg
from harness import Spec as S
from harness import case

P = "positive"
lgamma_ref = np.vectorize(math.lgamma)


def _eye(n, like):
    return dg.eye(n, dtype=like.dtype, device=like.device)


for k in (-1, 0, 2):
    case("tril", lambda a, k=k: dg.tril(a, k), [(2, 3, 4)], lambda a, k=k: np.tril(a, k), variant=f"k={k}")
    case("triu", lambda a, k=k: a.triu(k), [(3, 4)], lambda a, k=k: np.triu(a, k), variant=f"k={k}")
case("tril", dg.tril, [S((4, 3), noncontig=True)], np.tril, variant="noncontig")
case("diag", dg.diag, [(4,)], np.diag, variant="1d", gradgrad=True)
case("diag", lambda a: dg.diag(a, -1), [(3,)], lambda a: np.diag(a, -1), variant="1d,k=-1")
case("diag", lambda a: dg.diag(a, 1), [(3, 4)], lambda a: np.diag(a, 1), variant="2d,k=1")
case("diagonal", lambda a: a.diagonal(0, -2, -1), [(2, 3, 3)], lambda a: np.diagonal(a, 0, -2, -1).copy())
case("diagonal", lambda a: dg.diagonal(a, -1, 2, 0), [(3, 2, 4)], lambda a: np.diagonal(a, -1, 2, 0).copy(),
     variant="dims=(2,0),offset=-1")
case("diag_embed", dg.diag_embed, [(2, 3)], lambda a: np.stack([np.diag(r) for r in a]))
case("diag_embed", lambda a: dg.diag_embed(a, 1, 0, 2), [(2, 3)],
     lambda a: np.moveaxis(np.stack([np.diag(r, 1) for r in a]), (1, 2), (0, 2)), variant="offset=1,dims=(0,2)")

case("lgamma", dg.lgamma, [S((3, 4), P)], lgamma_ref, gradgrad=True)
case("lgamma", lambda a: dg.lgamma(a * 3 - 4.2), [(5,)], lambda a: lgamma_ref(a * 3 - 4.2), variant="negative")
case("digamma", dg.digamma, [S((3, 4), P)],
     lambda a: _digamma_ref(a), gradgrad=True)
case("polygamma", lambda a: dg.polygamma(1, a), [S((6,), P)], lambda a: _polygamma_ref(1, a))
case("polygamma", lambda a: a.polygamma(2), [S((6,), P)], lambda a: _polygamma_ref(2, a), variant="n=2")
case("mvlgamma", lambda a: dg.mvlgamma(a + 2, 3), [S((4,), P)],
     lambda a: 3 * 2 / 4 * math.log(math.pi) + sum(lgamma_ref(a + 2 + (1 - j) / 2) for j in (1, 2, 3)))


def _polygamma_ref(n, x):
    """ψ⁽ⁿ⁾(x) = (−1)ⁿ⁺¹ n! Σ_k 1/(x+k)ⁿ⁺¹, summed to 2·10⁵ terms with the integral tail added."""
    k = np.arange(200000.0)
    out = np.array([(1.0 / (v + k) ** (n + 1)).sum() + 1.0 / (n * (v + k[-1] + 0.5) ** n) for v in np.ravel(x)])
    return ((-1) ** (n + 1) * math.factorial(n) * out).reshape(np.shape(x))


def _digamma_ref(x):
    """ψ(x) = −γ + Σ_k (1/(k+1) − 1/(k+x)), summed to 2·10⁵ terms with the tail's leading term added."""
    k = np.arange(200000.0)
    out = [-0.5772156649015329 + (1 / (k + 1) - 1 / (k + v)).sum() + (v - 1) / (k[-1] + 1.5) for v in np.ravel(x)]
    return np.array(out).reshape(np.shape(x))


def _spd(m):
    return m @ m.mT + _eye(m.shape[-1], m)


def _spd_ref(m):
    return m @ np.swapaxes(m, -1, -2) + np.eye(m.shape[-1])


case("cholesky", lambda m: dg.linalg.cholesky(_spd(m)), [(3, 3)], lambda m: np.linalg.cholesky(_spd_ref(m)),
     gradgrad=True)
case("cholesky", lambda m: dg.linalg.cholesky(_spd(m), upper=True), [(2, 3, 3)],
     lambda m: np.swapaxes(np.linalg.cholesky(_spd_ref(m)), -1, -2), variant="batched,upper")


def _tri(m, upper=False):
    t = np.triu(m) if upper else np.tril(m)
    return t + 3 * np.eye(m.shape[-1])


case("solve_triangular", lambda a, b: dg.linalg.solve_triangular(dg.tril(a) + 3 * _eye(3, a), b, upper=False),
     [(3, 3), (3, 2)], lambda a, b: np.linalg.solve(_tri(a), b), gradgrad=True)
case("solve_triangular", lambda a, b: dg.linalg.solve_triangular(dg.triu(a) + 3 * _eye(3, a), b, upper=True, left=False),
     [(3, 3), (4, 2, 3)], lambda a, b: b @ np.linalg.inv(_tri(a, True)), variant="upper,right,broadcast")
case("solve_triangular", lambda a, b: dg.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
     [(3, 3), (3, 2)], lambda a, b: np.linalg.solve(np.tril(a, -1) + np.eye(3), b), variant="unitriangular")
