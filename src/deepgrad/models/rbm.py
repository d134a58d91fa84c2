"""The restricted Boltzmann machine (Smolensky, 1986; Hinton, 2002) with binary units, trained by contrastive
divergence (CD-k) or persistent contrastive divergence (PCD, Tieleman, 2008).

Energy E(v, h) = −bᵀv − cᵀh − hᵀWv, so p(h_j = 1 | v) = σ(c_j + W_j·v) and p(v_i = 1 | h) = σ(b_i + W_{:,i}·h);
the free energy F(v) = −bᵀv − Σ_j softplus(c_j + W_j·v) gives p(v) ∝ e^{−F(v)}. The log-likelihood gradient is
−∂F(v_data)/∂θ + E_model[∂F(v)/∂θ]; CD-k estimates the model expectation at the end of k Gibbs steps started at
the data (PCD: at persistent chains), so the loss F(v_data) − F(v_k) with v_k held constant has exactly the CD
gradient, and autograd computes it.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import rand_like, zeros
from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["RBM"]


class RBM(nn.Module):
    """A Bernoulli-Bernoulli RBM.

    Args:
        n_visible, n_hidden: numbers of visible and hidden units.
        k: Gibbs steps per estimate (CD-k, default 1). persistent: keep the negative chains between calls (PCD).

    Attributes:
        weight (n_hidden, n_visible) ~ N(0, 0.01²), v_bias (n_visible,) and h_bias (n_hidden,) zeros.

    Example:
        >>> import deepgrad as dg
        >>> rbm = RBM(6, 3)
        >>> v = (dg.rand(4, 6) > 0.5).float()
        >>> loss = rbm.contrastive_divergence(v)      # F(v) − F(v_k), mean over the batch
        >>> loss.backward()
        >>> rbm.weight.grad.shape
        (3, 6)
    """

    def __init__(self, n_visible: int, n_hidden: int, k: int = 1, persistent: bool = False) -> None:
        super().__init__()
        for name, v in (("n_visible", n_visible), ("n_hidden", n_hidden), ("k", k)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"RBM: {name} must be a positive integer, got {v!r}")
        self.n_visible, self.n_hidden, self.k, self.persistent = int(n_visible), int(n_hidden), int(k), persistent
        self.weight = nn.Parameter(zeros(n_hidden, n_visible))
        nn.init.normal_(self.weight, 0.0, 0.01)
        self.v_bias = nn.Parameter(zeros(n_visible))
        self.h_bias = nn.Parameter(zeros(n_hidden))
        self._chain: Tensor | None = None

    def _check(self, v: Tensor, where: str) -> Tensor:
        if v.ndim != 2 or v.shape[1] != self.n_visible:
            raise ValueError(f"RBM.{where}: expected visible units of shape (N, {self.n_visible}), got "
                             f"{tuple(v.shape)}")
        return v

    def p_h(self, v: Tensor) -> Tensor:
        """p(h = 1 | v) = σ(c + v Wᵀ)."""
        return F.linear(v, self.weight, self.h_bias).sigmoid()

    def p_v(self, h: Tensor) -> Tensor:
        """p(v = 1 | h) = σ(b + h W)."""
        return (h @ self.weight + self.v_bias).sigmoid()

    @staticmethod
    def _bernoulli(p: Tensor) -> Tensor:
        return (rand_like(p) < p).to(p.dtype)

    def gibbs(self, v: Tensor, k: int | None = None) -> Tensor:
        """k steps v → h ~ p(h|v) → v ~ p(v|h) (no gradient)."""
        with no_grad():
            for _ in range(self.k if k is None else k):
                v = self._bernoulli(self.p_v(self._bernoulli(self.p_h(v))))
        return v

    def free_energy(self, v: Tensor) -> Tensor:
        """F(v) = −bᵀv − Σ_j softplus(c_j + W_j·v), one value per row."""
        self._check(v, "free_energy")
        return -(v @ self.v_bias) - F.softplus(F.linear(v, self.weight, self.h_bias)).sum(1)

    def contrastive_divergence(self, v: Tensor) -> Tensor:
        """mean F(v_data) − mean F(v⁻) with v⁻ from k Gibbs steps (from the data, or the persistent chains):
        its gradient is the CD-k (PCD-k) estimate of −∂ log p(v)/∂θ."""
        self._check(v, "contrastive_divergence")
        if self.persistent:
            if self._chain is None or self._chain.shape != v.shape:
                self._chain = v.detach()
            neg = self._chain = self.gibbs(self._chain)
        else:
            neg = self.gibbs(v.detach())
        return self.free_energy(v).mean() - self.free_energy(neg).mean()

    def forward(self, v: Tensor) -> Tensor:
        """The mean-field reconstruction p(v | h = p(h|v))."""
        return self.p_v(self.p_h(self._check(v, "forward")))

    def reconstruction_error(self, v: Tensor) -> float:
        """Mean squared difference between v and its mean-field reconstruction."""
        with no_grad():
            return float(((self(v) - v) ** 2).mean().item())
