"""deepgrad.distributions beyond the registry: shapes, sampling statistics, moments, validation and the KL registry.

Gradients and closed-form values of log_prob/entropy/rsample/KL are checked by the registry
(tests/registry/distributions.py).
"""
import math

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.distributions as D


def t(a, dtype=dg.float64):
    return dg.tensor(np.asarray(a, dtype=np.float64), dtype=dtype)


def test_shapes_of_samples_and_log_probs():
    n = D.Normal(t(np.zeros((2, 3))), 1.0)
    assert n.batch_shape == (2, 3) and n.event_shape == ()
    assert n.sample((4,)).shape == (4, 2, 3) and n.sample().shape == (2, 3) and n.sample(5).shape == (5, 2, 3)
    ind = D.Independent(n, 1)
    assert (ind.batch_shape, ind.event_shape) == ((2,), (3,))
    assert ind.log_prob(n.sample((4,))).shape == (4, 2)
    c = D.Categorical(logits=dg.zeros(2, 5))
    assert c.batch_shape == (2,) and c.sample((3,)).shape == (3, 2) and c.sample().dtype == np.int64
    oh = D.OneHotCategorical(logits=dg.zeros(2, 5))
    assert oh.event_shape == (5,) and oh.sample((3,)).shape == (3, 2, 5)
    mvn = D.MultivariateNormal(dg.zeros(4, 3), scale_tril=dg.eye(3))
    assert (mvn.batch_shape, mvn.event_shape) == ((4,), (3,))
    assert mvn.rsample((2,)).shape == (2, 4, 3) and mvn.log_prob(mvn.sample()).shape == (4,)
    e = mvn.expand((5, 4))
    assert e.batch_shape == (5, 4) and e.sample().shape == (5, 4, 3) and e.covariance_matrix.shape == (5, 4, 3, 3)
    assert D.Normal(0.0, 1.0).expand((2, 3)).log_prob(dg.zeros(2, 3)).shape == (2, 3)
    assert D.Independent(n, 1).expand((7, 2)).batch_shape == (7, 2)


def test_sampling_statistics_match_the_moments():
    dg.manual_seed(1)
    cases = [D.Normal(t([1.0, -2.0]), t([0.5, 2.0])), D.Uniform(t([0.0, 1.0]), t([2.0, 1.5])),
             D.Bernoulli(probs=t([0.2, 0.7])), D.Beta(t([2.0, 0.5]), t([3.0, 0.5])), D.Gamma(t([2.0, 5.0]), t([1.0, 3.0]))]
    for d in cases:
        s = d.sample((40000,)).numpy()
        np.testing.assert_allclose(s.mean(0), d.mean.numpy(), atol=0.03, err_msg=type(d).__name__)
        np.testing.assert_allclose(s.var(0), d.variance.numpy(), rtol=0.06, atol=1e-3, err_msg=type(d).__name__)
    freq = np.bincount(D.Categorical(probs=t([0.1, 0.6, 0.3])).sample((40000,)).numpy(), minlength=3) / 40000
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.01)
    L = t([[1.0, 0.0], [0.8, 0.5]])
    s = D.MultivariateNormal(t([1.0, 2.0]), scale_tril=L).sample((40000,)).numpy()
    np.testing.assert_allclose(np.cov(s.T), (L @ L.mT).numpy(), atol=0.03)
    assert D.Bernoulli(probs=t([0.3])).sample().dtype == np.float64


def test_moments_and_mode():
    b = D.Beta(t([2.0]), t([3.0]))
    assert b.mean.item() == pytest.approx(0.4) and b.variance.item() == pytest.approx(6 / (25 * 6))
    assert D.Normal(t([1.0]), t([2.0])).stddev.item() == 2.0
    assert D.Categorical(probs=t([0.2, 0.5, 0.3])).mode.item() == 1
    assert np.isnan(D.Categorical(probs=t([0.2, 0.8])).mean.item())
    assert D.MultivariateNormal(t([0.0, 0.0]), covariance_matrix=t([[2.0, 0.3], [0.3, 1.0]])).variance.tolist() == \
        pytest.approx([2.0, 1.0])
    assert D.Uniform(0.0, 4.0).variance.item() == pytest.approx(16 / 12)
    assert D.Categorical(logits=dg.zeros(4)).perplexity().item() == pytest.approx(4.0)


def test_closed_form_values():
    assert D.Normal(0.0, 1.0).log_prob(dg.tensor(0.0)).item() == pytest.approx(-0.5 * math.log(2 * math.pi))
    assert D.Uniform(2.0, 6.0).entropy().item() == pytest.approx(math.log(4.0))
    assert D.Beta(1.0, 1.0).log_prob(dg.tensor(0.3)).item() == pytest.approx(0.0, abs=1e-6)  # Beta(1,1) is U(0,1)
    assert D.Beta(t(1.0), t(1.0)).entropy().item() == pytest.approx(0.0, abs=1e-12)
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == pytest.approx(0.5)
    assert D.kl_divergence(D.Uniform(0.0, 1.0), D.Uniform(0.5, 2.0)).item() == math.inf
    p = D.Categorical(probs=t([0.5, 0.5, 0.0]))
    assert D.kl_divergence(p, D.Categorical(probs=t([0.25, 0.75, 0.0]))).item() == pytest.approx(
        0.5 * math.log(2) + 0.5 * math.log(2 / 3))
    assert D.kl_divergence(D.Categorical(probs=t([0.5, 0.5])), D.Categorical(probs=t([1.0, 0.0]))).item() == math.inf
    mvn = D.MultivariateNormal(t([0.0, 0.0]), covariance_matrix=t([[4.0, 0.0], [0.0, 9.0]]))
    diag = D.Independent(D.Normal(t([0.0, 0.0]), t([2.0, 3.0])), 1)
    x = t([0.7, -1.2])
    assert mvn.log_prob(x).item() == pytest.approx(diag.log_prob(x).item())
    assert mvn.entropy().item() == pytest.approx(diag.entropy().item())
    same = D.kl_divergence(mvn, D.MultivariateNormal(t([0.0, 0.0]), precision_matrix=t([[0.25, 0.0], [0.0, 1 / 9]])))
    assert same.item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="HalfOpenInterval"):
        D.Uniform(0.0, 2.0).log_prob(dg.tensor(3.0))


def test_rsample_gradients_reach_the_parameters_and_sample_is_detached():
    mu, log_sigma = dg.zeros(3, requires_grad=True), dg.zeros(3, requires_grad=True)
    d = D.Normal(mu, log_sigma.exp())
    z = d.rsample()
    assert z.requires_grad and not d.sample().requires_grad
    (z * z).sum().backward()
    assert mu.grad is not None and log_sigma.grad is not None
    assert D.Normal.has_rsample and D.MultivariateNormal.has_rsample and not D.Categorical.has_rsample
    with pytest.raises(NotImplementedError, match="Bernoulli has no reparameterised sampler"):
        D.Bernoulli(probs=0.5).rsample()


def test_reinforce_score_function_gradient():
    logits = dg.tensor([0.0, 0.0, 0.0], requires_grad=True)
    pi = D.Categorical(logits=logits)
    (-pi.log_prob(dg.tensor(2))).backward()
    np.testing.assert_allclose(logits.grad.numpy(), [1 / 3, 1 / 3, -2 / 3], rtol=1e-6)


def test_validation_errors_name_the_parameter_and_the_constraint():
    with pytest.raises(ValueError, match=r"Normal: parameter scale .* GreaterThan\(lower_bound=0.0\)"):
        D.Normal(dg.zeros(2), dg.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="Bernoulli: parameter probs"):
        D.Bernoulli(probs=dg.tensor([1.5]))
    with pytest.raises(ValueError, match="exactly one of probs or logits"):
        D.Categorical()
    with pytest.raises(ValueError, match="probs must be non-negative"):
        D.Categorical(probs=dg.tensor([-0.5, -0.5]))
    with pytest.raises(ValueError, match="low must be less than high"):
        D.Uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="LowerCholesky"):
        D.MultivariateNormal(dg.zeros(2), scale_tril=-dg.eye(2))
    with pytest.raises(ValueError, match="PositiveDefinite"):
        D.MultivariateNormal(dg.zeros(2), covariance_matrix=dg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="exactly one of covariance_matrix"):
        D.MultivariateNormal(dg.zeros(2), covariance_matrix=dg.eye(2), scale_tril=dg.eye(2))
    with pytest.raises(ValueError, match="loc has k = 2"):
        D.MultivariateNormal(dg.zeros(2), scale_tril=dg.eye(3))
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims must be an integer in 0..1"):
        D.Independent(D.Normal(dg.zeros(2), 1.0), 2)
    with pytest.raises(ValueError, match="must lie in the support Boolean"):
        D.Bernoulli(probs=dg.tensor([0.5])).log_prob(dg.tensor([0.3]))
    with pytest.raises(ValueError, match="support IntegerInterval"):
        D.Categorical(logits=dg.zeros(3)).log_prob(dg.tensor(3))
    with pytest.raises(ValueError, match="does not broadcast with batch_shape"):
        D.Normal(dg.zeros(3), 1.0).log_prob(dg.zeros(4))
    with pytest.raises(ValueError, match="must match the event shape"):
        D.MultivariateNormal(dg.zeros(3), scale_tril=dg.eye(3)).log_prob(dg.zeros(2))
    with pytest.raises(ValueError, match="do not broadcast together"):
        D.Normal(dg.zeros(3), dg.ones(2))


def test_validate_args_off_skips_the_checks():
    d = D.Normal(dg.zeros(1), dg.tensor([-1.0]), validate_args=False)
    with np.errstate(invalid="ignore"):
        assert np.isnan(d.log_prob(dg.zeros(1)).item())
    assert D.Uniform(0.0, 1.0, validate_args=False).log_prob(dg.tensor(2.0)).item() == -math.inf
    D.Distribution.set_default_validate_args(False)
    try:
        D.Bernoulli(probs=dg.tensor([2.0]))
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Bernoulli(probs=dg.tensor([2.0]))


def test_kl_registry_dispatch_and_missing_pairs():
    class MyNormal(D.Normal):
        pass

    p, q = MyNormal(0.0, 1.0), MyNormal(1.0, 1.0)
    assert D.kl_divergence(p, q).item() == pytest.approx(0.5)  # falls back to (Normal, Normal)

    @D.register_kl(MyNormal, MyNormal)
    def _kl(a, b):
        return dg.tensor(42.0)

    assert D.kl_divergence(p, q).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), q).item() == pytest.approx(0.5)
    with pytest.raises(NotImplementedError, match=r"KL\(Normal ‖ Beta\)"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Beta(1.0, 1.0))
    with pytest.raises(TypeError, match="subclasses of Distribution"):
        D.register_kl(int, D.Normal)


def test_enumerate_support():
    c = D.Categorical(logits=dg.zeros(2, 3))
    assert c.enumerate_support().shape == (3, 2) and c.enumerate_support(expand=False).shape == (3, 1)
    assert D.Bernoulli(probs=dg.tensor([0.5, 0.2])).enumerate_support().tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert D.OneHotCategorical(logits=dg.zeros(3)).enumerate_support().tolist() == np.eye(3).tolist()


def test_repr_and_constraints():
    assert repr(D.Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    assert "probs: (2, 3)" in repr(D.Categorical(probs=dg.ones(2, 3)))
    assert D.constraints.simplex.check(dg.tensor([[0.5, 0.5], [0.7, 0.7]])).tolist() == [True, False]
    assert D.constraints.positive_definite.check(dg.eye(2)).item()
    assert D.constraints.real_vector.check(dg.tensor([[1.0, float("nan")], [0.0, 1.0]])).tolist() == [False, True]
