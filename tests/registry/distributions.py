"""Registry entries for deepgrad.distributions: log_prob, entropy, rsample and KL as functions of the parameters.

References are closed forms in NumPy (math.lgamma for the beta function); rsample entries fix the seed inside the
function so that every evaluation of gradcheck sees the same noise.
"""
import math
import statistics

import numpy as np

import deepgrad as dg
import deepgrad.distributions as D
from harness import Spec as S
from harness import case

P, U = "positive", "unit"
LOG2PI = math.log(2 * math.pi)
lgamma = np.vectorize(math.lgamma)


def sig(a):
    return 1 / (1 + np.exp(-a))


def lsm(a):
    m = a.max(-1, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(-1, keepdims=True))


def seeded(fn):
    def f(*args):
        dg.manual_seed(0)
        return fn(*args)

    return f


# Normal
case("Normal.log_prob", lambda m, s, x: D.Normal(m, s).log_prob(x), [(2, 3), S((2, 3), P), (4, 2, 3)],
     lambda m, s, x: -0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * LOG2PI, gradgrad=True)
case("Normal.entropy", lambda s: D.Normal(0.0, s).entropy(), [S((3,), P)], lambda s: 0.5 + 0.5 * LOG2PI + np.log(s))
case("Normal.cdf", lambda m, s, x: D.Normal(m, s).cdf(x), [(3,), S((3,), P), (3,)],
     lambda m, s, x: 0.5 * (1 + np.vectorize(math.erf)((x - m) / (s * math.sqrt(2)))))
case("Normal.icdf", lambda m, s, p: D.Normal(m, s).icdf(p), [(3,), S((3,), P), S((2, 3), "prob")],
     lambda m, s, p: m + s * np.vectorize(statistics.NormalDist().inv_cdf)(p), gradgrad=True)
case("Normal.rsample", seeded(lambda m, s: D.Normal(m, s).rsample((2,))), [(3,), S((3,), P)])
case("kl[Normal,Normal]", lambda m1, s1, m2, s2: D.kl_divergence(D.Normal(m1, s1), D.Normal(m2, s2)),
     [(3,), S((3,), P), (3,), S((3,), P)],
     lambda m1, s1, m2, s2: np.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5)

# Bernoulli
case("Bernoulli.log_prob", lambda z, x: D.Bernoulli(logits=z).log_prob(x), [(4,), S((3, 4), "bool", grad=False)],
     lambda z, x: x * np.log(sig(z)) + (1 - x) * np.log(1 - sig(z)))
case("Bernoulli.log_prob", lambda z, x: D.Bernoulli(probs=dg.sigmoid(z)).log_prob(x.to(z.dtype)),
     [(4,), S((4,), "bool")], lambda z, x: x * np.log(sig(z)) + (1 - x) * np.log(1 - sig(z)), variant="probs")
case("Bernoulli.entropy", lambda z: D.Bernoulli(logits=z).entropy(), [(5,)],
     lambda z: -(sig(z) * np.log(sig(z)) + (1 - sig(z)) * np.log(1 - sig(z))))
case("kl[Bernoulli,Bernoulli]", lambda a, b: D.kl_divergence(D.Bernoulli(logits=a), D.Bernoulli(logits=b)),
     [(4,), (4,)], lambda a, b: sig(a) * np.log(sig(a) / sig(b)) + (1 - sig(a)) * np.log((1 - sig(a)) / (1 - sig(b))))

# Categorical and OneHotCategorical
case("Categorical.log_prob", lambda z, k: D.Categorical(logits=z).log_prob(k), [(2, 5), S((3, 2), "int", 0, 5)],
     lambda z, k: np.take_along_axis(np.broadcast_to(lsm(z), (3, 2, 5)), k[..., None], -1)[..., 0])
case("Categorical.log_prob", lambda p, k: D.Categorical(probs=p).log_prob(k), [S((2, 5), P), S((2,), "int", 0, 5)],
     lambda p, k: np.log(np.take_along_axis(p / p.sum(-1, keepdims=True), k[..., None], -1)[..., 0]),
     variant="probs")
case("Categorical.entropy", lambda z: D.Categorical(logits=z).entropy(), [(3, 4)],
     lambda z: -(np.exp(lsm(z)) * lsm(z)).sum(-1))
case("kl[Categorical,Categorical]", lambda a, b: D.kl_divergence(D.Categorical(logits=a), D.Categorical(logits=b)),
     [(2, 4), (2, 4)], lambda a, b: (np.exp(lsm(a)) * (lsm(a) - lsm(b))).sum(-1))
case("OneHotCategorical.log_prob",
     lambda z: D.OneHotCategorical(logits=z).log_prob(dg.eye(4, dtype=z.dtype, device=z.device)[[2, 0]]),
     [(2, 4)], lambda z: lsm(z)[[0, 1], [2, 0]])
case("kl[OneHotCategorical,OneHotCategorical]",
     lambda a, b: D.kl_divergence(D.OneHotCategorical(logits=a), D.OneHotCategorical(logits=b)),
     [(4,), (4,)], lambda a, b: (np.exp(lsm(a)) * (lsm(a) - lsm(b))).sum(-1))

# Independent
case("Independent.log_prob", lambda m, s, x: D.Independent(D.Normal(m, s), 1).log_prob(x),
     [(2, 3), S((2, 3), P), (2, 3)], lambda m, s, x: (-0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * LOG2PI).sum(-1))
case("kl[Independent,Independent]",
     lambda m, s: D.kl_divergence(D.Independent(D.Normal(m, s), 1),
                                  D.Independent(D.Normal(dg.zeros_like(m), dg.ones_like(s)), 1)),
     [(2, 3), S((2, 3), P)], lambda m, s: (-np.log(s) + (s ** 2 + m ** 2) / 2 - 0.5).sum(-1))

# Uniform
case("Uniform.log_prob", lambda lo, w, u: D.Uniform(lo, lo + w).log_prob(lo + w * dg.sigmoid(u)),
     [(3,), S((3,), P), (3,)], lambda lo, w, u: -np.log(w))
case("Uniform.rsample", seeded(lambda lo, w: D.Uniform(lo, lo + w).rsample((2,))), [(3,), S((3,), P)])
case("kl[Uniform,Uniform]", lambda lo, w: D.kl_divergence(D.Uniform(lo, lo + w), D.Uniform(lo - 1, lo + w + 2)),
     [(3,), S((3,), P)], lambda lo, w: np.log((w + 3) / w))

# Beta and Gamma


def lbeta(a, b):
    return lgamma(a) + lgamma(b) - lgamma(a + b)


case("Beta.log_prob", lambda a, b, u: D.Beta(a, b).log_prob(dg.sigmoid(u)), [S((3,), P), S((3,), P), (2, 3)],
     lambda a, b, u: (a - 1) * np.log(sig(u)) + (b - 1) * np.log(1 - sig(u)) - lbeta(a, b))
case("Beta.entropy", lambda a, b: D.Beta(a, b).entropy(), [S((3,), P), S((3,), P)])
case("kl[Beta,Beta]", lambda a, b, c, d: D.kl_divergence(D.Beta(a, b), D.Beta(c, d)), [S((3,), P)] * 4)
case("Gamma.log_prob", lambda a, r, x: D.Gamma(a, r).log_prob(x), [S((3,), P), S((3,), P), S((3,), P)],
     lambda a, r, x: a * np.log(r) + (a - 1) * np.log(x) - r * x - lgamma(a))
case("Gamma.rsample", seeded(lambda r: D.Gamma(dg.tensor([0.5, 2.0, 7.0], dtype=r.dtype, device=r.device),
                                               r).rsample((2,))), [S((3,), P)])
case("kl[Gamma,Gamma]", lambda a, b, c, d: D.kl_divergence(D.Gamma(a, b), D.Gamma(c, d)), [S((3,), P)] * 4)



case("Dirichlet.log_prob", lambda a, u: D.Dirichlet(a).log_prob(dg.softmax(u, -1)), [S((2, 4), P), (3, 2, 4)],
     lambda a, u: ((a - 1) * lsm(u)).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1))
case("Dirichlet.entropy", lambda a: D.Dirichlet(a).entropy(), [S((2, 3), P)])
case("kl[Dirichlet,Dirichlet]", lambda a, b: D.kl_divergence(D.Dirichlet(a), D.Dirichlet(b)), [S((2, 3), P)] * 2)

# MultivariateNormal
def spd(m):
    return m @ m.mT + dg.eye(m.shape[-1], dtype=m.dtype, device=m.device)


def spd_ref(m):
    return m @ np.swapaxes(m, -1, -2) + np.eye(m.shape[-1])


def mvn_ref(mu, cov, x):
    k = mu.shape[-1]
    d = x - mu
    m = np.einsum("...i,...ij,...j->...", d, np.linalg.inv(cov), d)
    return -0.5 * (k * LOG2PI + m + np.linalg.slogdet(cov)[1])


def tril_pos(m):
    return dg.tril(m, -1) + dg.diag_embed(dg.exp(m.diagonal(0, -2, -1)))


def tril_pos_ref(m):
    return np.tril(m, -1) + np.eye(m.shape[-1]) * np.exp(np.diagonal(m, 0, -2, -1))[..., None, :]


case("MultivariateNormal.log_prob", lambda mu, m, x: D.MultivariateNormal(mu, covariance_matrix=spd(m)).log_prob(x),
     [(2, 3), (3, 3), (4, 2, 3)], lambda mu, m, x: mvn_ref(mu, spd_ref(m), x))
case("MultivariateNormal.log_prob", lambda mu, m, x: D.MultivariateNormal(mu, scale_tril=tril_pos(m)).log_prob(x),
     [(3,), (2, 3, 3), (2, 3)], lambda mu, m, x: mvn_ref(mu, tril_pos_ref(m) @ np.swapaxes(tril_pos_ref(m), -1, -2), x),
     variant="scale_tril")
case("MultivariateNormal.log_prob", lambda mu, m, x: D.MultivariateNormal(mu, precision_matrix=spd(m)).log_prob(x),
     [(3,), (3, 3), (3,)], lambda mu, m, x: mvn_ref(mu, np.linalg.inv(spd_ref(m)), x), variant="precision")
case("MultivariateNormal.log_prob",
     lambda mu, v, x: D.MultivariateNormal(mu, covariance_matrix=dg.diag_embed(v)).log_prob(x),
     [(3,), S((3,), P), (3,)], lambda mu, v, x: (-0.5 * (x - mu) ** 2 / v - 0.5 * np.log(v) - 0.5 * LOG2PI).sum(-1),
     variant="diagonal")
case("MultivariateNormal.entropy",
     lambda m: D.MultivariateNormal(dg.zeros(3, dtype=m.dtype, device=m.device), scale_tril=tril_pos(m)).entropy(),
     [(3, 3)], lambda m: 1.5 * (1 + LOG2PI) + np.diagonal(m).sum())
case("MultivariateNormal.rsample", seeded(lambda mu, m: D.MultivariateNormal(mu, scale_tril=tril_pos(m)).rsample((2,))),
     [(3,), (3, 3)])
case("kl[MultivariateNormal,MultivariateNormal]",
     lambda m1, a, m2, b: D.kl_divergence(D.MultivariateNormal(m1, covariance_matrix=spd(a)),
                                          D.MultivariateNormal(m2, scale_tril=tril_pos(b))),
     [(2, 3), (3, 3), (3,), (3, 3)])
