"""The VAE loss's squared-error reconstruction and GAN rounds of k1 discriminator and k2 generator steps."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import models


def test_vae_loss_mse_matches_the_closed_form():
    rng = np.random.default_rng(0)
    xhat, x = rng.uniform(size=(3, 6)), rng.uniform(size=(3, 6))
    mu, logvar = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    got = models.vae_loss(*(dg.tensor(a) for a in (xhat, x, mu, logvar)), reconstruction="mse")
    assert got.item() == pytest.approx((((xhat - x) ** 2).sum() + kl) / 3, rel=1e-10)
    got = models.vae_loss(*(dg.tensor(a) for a in (xhat, x.reshape(3, 2, 3), mu, logvar)), beta=0.5,
                          reconstruction="mse")
    assert got.item() == pytest.approx((((xhat - x) ** 2).sum() + 0.5 * kl) / 3, rel=1e-10)
    with pytest.raises(ValueError, match="reconstruction must be 'bce' or 'mse'"):
        models.vae_loss(dg.tensor(xhat), dg.tensor(x), dg.tensor(mu), dg.tensor(logvar), reconstruction="l1")
    with pytest.raises(ValueError, match="the input has 12 values but the reconstruction"):
        models.vae_loss(dg.tensor(xhat), dg.tensor(x[:2]), dg.tensor(mu), dg.tensor(logvar))


class _Counting(dg.nn.Module):
    """Wraps a module and counts forward calls."""

    def __init__(self, m):
        super().__init__()
        self.m, self.calls = m, 0

    def forward(self, x):
        self.calls += 1
        return self.m(x)


def test_gan_train_round_takes_k1_and_k2_steps():
    dg.manual_seed(0)
    G, D = models.Generator(3, 2, hidden=(8,)), models.Discriminator(2, hidden=(8,))  # noqa: N806
    opt_g, opt_d = dg.optim.SGD(G.parameters(), lr=0.1), dg.optim.SGD(D.parameters(), lr=0.1)
    counts = {"real": 0, "noise": 0}

    def real():
        counts["real"] += 1
        return dg.randn(8, 2) + 3.0

    def noise(n):
        counts["noise"] += 1
        return dg.randn(n, 3)

    g0 = [p.detach().numpy().copy() for p in G.parameters()]
    d_params = list(D.parameters())
    d0 = [p.detach().numpy().copy() for p in d_params]
    r = models.gan_train_round(G, D, opt_g, opt_d, real, noise, k1=3, k2=2)
    assert counts == {"real": 3, "noise": 5} and r["d_steps"] == 3 and r["g_steps"] == 2
    assert all(np.isfinite(r[k]) for k in ("d_loss", "g_loss", "d_real", "d_fake"))
    assert any(not np.allclose(a, p.detach().numpy()) for a, p in zip(g0, G.parameters()))
    assert any(not np.allclose(a, p.detach().numpy()) for a, p in zip(d0, d_params))
    # the generator steps never move D: with k1 discriminator steps of lr 0 D stays where it was
    opt_d0 = dg.optim.SGD(D.parameters(), lr=0.0)
    before = [p.detach().numpy().copy() for p in d_params]
    models.gan_train_round(G, D, opt_g, opt_d0, real, noise, k1=1, k2=4)
    assert all(np.array_equal(a, p.detach().numpy()) for a, p in zip(before, d_params))
    with pytest.raises(ValueError, match="k1 must be a positive integer"):
        models.gan_train_round(G, D, opt_g, opt_d, real, noise, k1=0)
    with pytest.raises(ValueError, match="generator_loss must be"):
        models.gan_train_round(G, D, opt_g, opt_d, real, noise, generator_loss="hinge")


def test_discriminator_step_learns_to_separate():
    dg.manual_seed(0)
    D = models.Discriminator(2, hidden=(16,))  # noqa: N806
    opt = dg.optim.Adam(D.parameters(), lr=1e-2)
    for _ in range(100):
        r = models.discriminator_step(D, opt, dg.randn(32, 2) + 3.0, dg.randn(32, 2) - 3.0)
    assert r["d_real"] > 0.9 and r["d_fake"] < 0.1
