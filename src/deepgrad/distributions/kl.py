"""``kl_divergence`` and its registry: closed forms of KL(p ‖ q) = E_p[log p(x) − log q(x)] for pairs of families."""
from __future__ import annotations

from collections.abc import Callable

from .. import ops
from ..ops.factorization import solve_triangular
from ..tensor import Tensor
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .gamma import Gamma
from .independent import Independent
from .multivariate_normal import MultivariateNormal, half_log_det
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform
from .utils import lbeta, softplus, sum_rightmost

_KL_REGISTRY: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type):
    """Decorator: register ``fn(p, q)`` as KL(p ‖ q) for ``p`` of ``type_p`` and ``q`` of ``type_q`` (or subclasses;
    the most specific registered pair wins, as in PyTorch).

    Example:
        >>> from deepgrad.distributions import Normal, register_kl
        >>> class MyNormal(Normal): pass
        >>> @register_kl(MyNormal, MyNormal)
        ... def _kl(p, q):
        ...     return (p.loc - q.loc) ** 2 / 2
    """
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl: expected subclasses of Distribution, got {t!r}")

    def decorator(fn: Callable) -> Callable:
        _KL_REGISTRY[type_p, type_q] = fn
        return fn

    return decorator


def _dispatch(tp: type, tq: type) -> Callable | None:
    best, rank = None, None
    for (rp, rq), fn in _KL_REGISTRY.items():
        if issubclass(tp, rp) and issubclass(tq, rq):
            r = (tp.__mro__.index(rp), tq.__mro__.index(rq))
            if rank is None or r < rank:
                best, rank = fn, r
    return best


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    r"""KL(p ‖ q) = :math:`\mathbb E_{x\sim p}[\log p(x) - \log q(x)]`, one value per batch element, by the closed
    form registered for the pair of types (see :func:`register_kl`).

    Example:
        >>> import deepgrad as dg
        >>> from deepgrad.distributions import Normal, kl_divergence
        >>> round(kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)).item(), 3)
        0.5
    """
    fn = _dispatch(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"kl_divergence: no closed form is registered for KL({type(p).__name__} ‖ "
                                  f"{type(q).__name__}); register one with @register_kl({type(p).__name__}, "
                                  f"{type(q).__name__})")
    return fn(p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """log(σq/σp) + (σp² + (μp − μq)²) / (2σq²) − ½."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - ops.log(var_ratio))


def _kl_categorical(pp: Tensor, pl: Tensor, ql: Tensor, qp: Tensor) -> Tensor:
    """Σ_k p_k (log p_k − log q_k); terms with p_k = 0 are 0, terms with q_k = 0 < p_k are +∞."""
    t = pp * (pl - ql)
    t = ops.where((qp == 0) & (pp > 0), float("inf"), t)
    return ops.where(pp == 0, 0.0, t).sum(-1)


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    return _kl_categorical(p.probs, p.logits, q.logits, q.probs)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehot_onehot(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    return _kl_categorical(p.probs, p.logits, q.logits, q.probs)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p (log p − log q) + (1 − p)(log(1 − p) − log(1 − q)), with log p = −softplus(−ℓ), log(1 − p) = −softplus(ℓ)."""
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t1 = ops.where(p.probs == 0, 0.0, t1)
    t2 = ops.where(p.probs == 1, 0.0, t2)
    return t1 + t2


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError(f"kl_divergence: Independent distributions with different "
                                  f"reinterpreted_batch_ndims ({p.reinterpreted_batch_ndims} and "
                                  f"{q.reinterpreted_batch_ndims}) are not supported")
    return sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    """½ (tr(Σq⁻¹ Σp) + (μq − μp)ᵀ Σq⁻¹ (μq − μp) − k) + ½ log det Σq − ½ log det Σp, all through Lq⁻¹."""
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: MultivariateNormal event shapes differ ({p.event_shape} and "
                         f"{q.event_shape})")
    k = p.event_shape[0]
    lp, lq = p._unbroadcasted_scale_tril, q._unbroadcasted_scale_tril
    m = solve_triangular(lq, lp, upper=False)  # Lq⁻¹ Lp: tr(Σq⁻¹Σp) = ‖Lq⁻¹ Lp‖_F²
    trace = (m * m).sum((-2, -1))
    z = solve_triangular(lq, (q.loc - p.loc).unsqueeze(-1), upper=False).squeeze(-1)
    return half_log_det(lq) - half_log_det(lp) + 0.5 * (trace + (z * z).sum(-1) - k)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((bq − aq)/(bp − ap)) when [ap, bp) ⊆ [aq, bq), else +∞."""
    out = ops.log((q.high - q.low) / (p.high - p.low))
    return ops.where((q.low > p.low) | (q.high < p.high), float("inf"), out)


@register_kl(Beta, Beta)
def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    """log B(αq, βq) − log B(αp, βp) + (αp − αq)ψ(αp) + (βp − βq)ψ(βp) + (αq − αp + βq − βp)ψ(αp + βp)."""
    a1, b1, a2, b2 = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    return (lbeta(a2, b2) - lbeta(a1, b1) + (a1 - a2) * ops.digamma(a1) + (b1 - b2) * ops.digamma(b1)
            + (a2 - a1 + b2 - b1) * ops.digamma(a1 + b1))


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    """αq log(βp/βq) + log Γ(αq) − log Γ(αp) + (αp − αq)ψ(αp) + (βq − βp) αp/βp."""
    ap, bp, aq, bq = p.concentration, p.rate, q.concentration, q.rate
    return (aq * ops.log(bp / bq) + ops.lgamma(aq) - ops.lgamma(ap) + (ap - aq) * ops.digamma(ap)
            + (bq - bp) * ap / bp)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    """log Γ(α₀) − log Γ(β₀) − Σ (log Γ(αₖ) − log Γ(βₖ)) + Σ (αₖ − βₖ)(ψ(αₖ) − ψ(α₀))."""
    a, b = p.concentration, q.concentration
    a0 = a.sum(-1)
    return (ops.lgamma(a0) - ops.lgamma(b.sum(-1)) - (ops.lgamma(a) - ops.lgamma(b)).sum(-1)
            + ((a - b) * (ops.digamma(a) - ops.digamma(a0).unsqueeze(-1))).sum(-1))


__all__ = ["kl_divergence", "register_kl"]
