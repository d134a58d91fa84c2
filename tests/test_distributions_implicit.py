"""Reparameterised gamma and beta draws (implicit gradients) and the normal quantile, against torch 2.14 (skipped
without it), finite differences of the exact quantile, and Monte Carlo expectations."""
import math

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.distributions as D
from deepgrad.ops.elementwise import _erfinv_newton
from deepgrad.ops.special import standard_gamma_grad

torch = pytest.importorskip("torch")

ALPHAS = [0.02, 0.05, 0.3, 1.0, 2.5, 7.0, 8.5, 30.0, 300.0, 5000.0]
LEVELS = [0.01, 0.1, 0.5, 0.9, 0.99]


def gamma_quantile(a, u):
    """x with P(a, x) = u, by bisection on log x with torch.special.gammainc (float64) as the independent CDF."""
    a, u = torch.tensor(a, dtype=torch.float64), torch.tensor(u, dtype=torch.float64)
    lo, hi = torch.full_like(a, -700.0), torch.log(a + 50 * torch.sqrt(a) + 50)
    for _ in range(120):
        mid = (lo + hi) / 2
        below = torch.special.gammainc(a, torch.exp(mid)) < u
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return torch.exp((lo + hi) / 2).numpy()


@pytest.fixture(scope="module")
def grid():
    a, u = (g.ravel() for g in np.meshgrid(ALPHAS, LEVELS, indexing="ij"))
    return a, u, gamma_quantile(a, u)


def test_standard_gamma_grad_matches_finite_differences_of_the_quantile(grid):
    a, u, x = grid
    ours = standard_gamma_grad(dg.tensor(x), dg.tensor(a)).numpy()
    h = 1e-5 * a
    fd = (gamma_quantile(a + h, u) - gamma_quantile(a - h, u)) / (2 * h)
    np.testing.assert_allclose(ours, fd, rtol=1e-6)
    assert (ours > 0).all()


def test_standard_gamma_grad_matches_torch(grid):
    a, u, x = grid
    ours = standard_gamma_grad(dg.tensor(x), dg.tensor(a)).numpy()
    theirs = torch._standard_gamma_grad(torch.tensor(a), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)  # torch's rational and asymptotic fits: ~5e-4 at worst
    assert np.median(np.abs(ours / theirs - 1)) < 5e-5


def test_standard_gamma_grad_float32_and_its_second_derivative_refused():
    g = standard_gamma_grad(dg.tensor([1.5, 0.2]), dg.tensor([2.0, 0.5]))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.numpy(), torch._standard_gamma_grad(torch.tensor([2.0, 0.5]),
                                                                      torch.tensor([1.5, 0.2])).numpy(), rtol=1e-3)
    a = dg.tensor([2.0], dtype=dg.float64, requires_grad=True)
    x = D.Gamma(a, 1.0).rsample()
    (first,) = dg.autograd.grad(x.sum(), a, create_graph=True)
    with pytest.raises(NotImplementedError, match="standard_gamma_grad: the second derivative"):
        first.sum().backward()


def test_gamma_rsample_gradients():
    assert D.Gamma(1.0, 1.0).has_rsample and D.Beta(1.0, 1.0).has_rsample
    dg.manual_seed(0)
    a = dg.tensor([0.4, 3.0], dtype=dg.float64, requires_grad=True)
    b = dg.tensor([2.0, 0.5], dtype=dg.float64, requires_grad=True)
    x = D.Gamma(a, b).rsample((20000,))
    assert x.shape == (20000, 2) and not D.Gamma(a, b).sample().requires_grad
    x.sum().backward()
    # per draw, x = z / β: dx/dβ = −x/β exactly; dx/dα = (dz/dα)/β with dz/dα from the implicit formula
    np.testing.assert_allclose(b.grad.numpy(), -x.detach().numpy().sum(0) / b.detach().numpy(), rtol=1e-12)
    z = x.detach().numpy() * b.detach().numpy()
    expected = standard_gamma_grad(dg.tensor(z), dg.tensor([0.4, 3.0], dtype=dg.float64).expand(20000, 2)).numpy()
    np.testing.assert_allclose(a.grad.numpy(), (expected / b.detach().numpy()).sum(0), rtol=1e-12)
    # in expectation: d E[x]/dα = 1/β (E[x] = α/β); the standard error of the mean gradient is about 1%
    np.testing.assert_allclose(a.grad.numpy() / 20000, 1 / b.detach().numpy(), rtol=0.04)


def test_beta_rsample_gradient_in_expectation():
    dg.manual_seed(1)
    a = dg.tensor([0.5, 2.0, 6.0], dtype=dg.float64, requires_grad=True)
    b = dg.tensor([1.5, 2.0, 0.7], dtype=dg.float64, requires_grad=True)
    n = 40000
    x = D.Beta(a, b).rsample((n,))
    assert ((x.detach().numpy() > 0) & (x.detach().numpy() < 1)).all()
    x.sum().backward()
    an, bn = a.detach().numpy(), b.detach().numpy()
    # E[x] = α/(α+β): ∂/∂α = β/(α+β)², ∂/∂β = −α/(α+β)²
    np.testing.assert_allclose(a.grad.numpy() / n, bn / (an + bn) ** 2, rtol=0.05)
    np.testing.assert_allclose(b.grad.numpy() / n, -an / (an + bn) ** 2, rtol=0.05)
    # torch's per-draw gradient (through the beta CDF) differs, but its mean estimates the same derivative
    ta = torch.tensor(an, requires_grad=True)
    torch.manual_seed(1)
    torch.distributions.Beta(ta, torch.tensor(bn)).rsample((n,)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy() / n, ta.grad.numpy() / n, rtol=0.08)


def test_normal_icdf_inverts_cdf_and_matches_torch():
    p = np.array([1e-6, 0.01, 0.3, 0.5, 0.77, 0.999])
    loc, scale = np.array([0.5]), np.array([2.0])
    ours = D.Normal(dg.tensor(loc), dg.tensor(scale)).icdf(dg.tensor(p)).numpy()
    theirs = torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale)).icdf(torch.tensor(p)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-11)  # 2p − 1 cancels digits near 0
    back = D.Normal(dg.tensor(loc), dg.tensor(scale)).cdf(dg.tensor(ours)).numpy()
    np.testing.assert_allclose(back, p, rtol=1e-10)
    q = dg.tensor(p, requires_grad=True)
    D.Normal(dg.tensor(loc), dg.tensor(scale)).icdf(q).sum().backward()
    tq = torch.tensor(p, requires_grad=True)
    torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale)).icdf(tq).sum().backward()
    np.testing.assert_allclose(q.grad.numpy(), tq.grad.numpy(), rtol=1e-10)


def test_erfinv_without_scipy_matches_torch():
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 401), [0.0, -1.0, 1.0, 1.5]])
    ours = _erfinv_newton(y)
    theirs = torch.erfinv(torch.tensor(y)).numpy()
    np.testing.assert_allclose(ours[:-3], theirs[:-3], rtol=1e-12, atol=1e-15)
    assert ours[-3] == -math.inf and ours[-2] == math.inf and math.isnan(ours[-1])
    np.testing.assert_allclose(dg.erfinv(dg.tensor(y[:-4])).numpy(), theirs[:-4], rtol=1e-12, atol=1e-15)
    assert dg.tensor([0.5]).erfinv().dtype == np.float32


def test_dirichlet_matches_torch():
    rng = np.random.default_rng(3)
    a = rng.uniform(0.3, 4.0, (2, 4))
    b = rng.uniform(0.3, 4.0, (2, 4))
    x = rng.dirichlet(np.ones(4), 2)
    ours, theirs = D.Dirichlet(dg.tensor(a)), torch.distributions.Dirichlet(torch.tensor(a))
    assert ours.batch_shape == (2,) and ours.event_shape == (4,) and D.Dirichlet.has_rsample
    for name in ("mean", "variance", "mode"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.log_prob(dg.tensor(x)).numpy(), theirs.log_prob(torch.tensor(x)).numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-12)
    kl = D.kl_divergence(ours, D.Dirichlet(dg.tensor(b))).numpy()
    np.testing.assert_allclose(kl, torch.distributions.kl_divergence(
        theirs, torch.distributions.Dirichlet(torch.tensor(b))).numpy(), rtol=1e-12)
    low = np.array([[0.2, 0.7, 0.5]])
    # every α < 1: the corner of the largest α (torch's argmax runs over 0/0 = nan and takes the first corner)
    np.testing.assert_array_equal(D.Dirichlet(dg.tensor(low)).mode.numpy(), [[0.0, 1.0, 0.0]])
    assert D.Dirichlet(dg.tensor(a)).expand((3, 2)).sample().shape == (3, 2, 4)
    with pytest.raises(ValueError, match="Dirichlet: parameter concentration"):
        D.Dirichlet(dg.tensor([1.0, -1.0]))


def test_dirichlet_rsample_gradient_in_expectation():
    dg.manual_seed(2)
    a = dg.tensor([0.5, 2.0, 3.5], dtype=dg.float64, requires_grad=True)
    n = 40000
    x = D.Dirichlet(a).rsample((n,))
    np.testing.assert_allclose(x.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    x[:, 0].sum().backward()
    an = a.detach().numpy()
    total = an.sum()
    # E[x₀] = α₀/Σα: ∂/∂α₀ = (Σα − α₀)/(Σα)², ∂/∂αⱼ = −α₀/(Σα)² for j ≠ 0
    want = np.array([(total - an[0]) / total ** 2, -an[0] / total ** 2, -an[0] / total ** 2])
    np.testing.assert_allclose(a.grad.numpy() / n, want, rtol=0.06)
