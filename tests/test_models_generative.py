"""Sequence and generative models: shapes, the VAE loss formula, reparameterisation gradients, GAN and DQN steps."""
import copy

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import models


def test_char_rnn_shapes_state_and_sampling():
    m = models.CharRNN(5, embedding_dim=4, hidden_size=8)
    logits, (h, c) = m(dg.tensor([[0, 1, 2], [3, 4, 0]]))
    assert logits.shape == (2, 3, 5) and h.shape == (1, 2, 8)
    s = m.sample([1, 2], 6, temperature=0.0)
    assert len(s) == 8 and s[:2] == [1, 2] and all(0 <= v < 5 for v in s)
    assert m.sample([1], 4, seed=3) == m.sample([1], 4, seed=3)
    with pytest.raises(ValueError, match="CharRNN: cell must be one of"):
        models.CharRNN(5, cell="transformer")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_sequence_classifier_inputs(cell):
    m = models.SequenceClassifier(28, 10, hidden_size=8, cell=cell, bidirectional=cell == "gru")
    assert m(dg.randn(3, 1, 28, 28)).shape == (3, 10) and m(dg.randn(3, 7, 28)).shape == (3, 10)
    tokens = models.SequenceClassifier(1, 4, hidden_size=8, cell=cell, vocab_size=9)
    assert tokens(dg.tensor([[1, 2, 3], [4, 5, 8]])).shape == (2, 4)
    assert "lstm_rows" in models.list_models() and models.get_model("gru_rows", hidden_size=8).rnn.mode == "GRU"


def test_autoencoders_shapes_and_tied_weights():
    ae = models.Autoencoder([20, 8, 3])
    x = dg.rand(4, 20)
    assert ae.encode(x).shape == (4, 3) and ae(x).shape == (4, 20)
    assert ((ae(x).detach().numpy() > 0) & (ae(x).detach().numpy() < 1)).all()
    tied = models.Autoencoder([20, 8, 3], tied=True)
    names = [n for n, _ in tied.named_parameters()]
    assert not any("decoder." in n for n in names) and len(names) == 6  # 2 encoder layers + 2 decoder biases
    loss = dg.nn.functional.mse_loss(tied(x), x)
    loss.backward()
    assert tied.encoder[0].weight.grad is not None
    conv = models.ConvAutoencoder(1, (4, 8))
    assert conv.encode(dg.rand(2, 1, 28, 28)).shape == (2, 8, 7, 7) and conv(dg.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    with pytest.raises(ValueError, match="Autoencoder: sizes must list"):
        models.Autoencoder([784])


def test_vae_loss_matches_the_closed_form():
    rng = np.random.default_rng(0)
    logits, x = rng.normal(size=(3, 6)), rng.uniform(size=(3, 6))
    mu, logvar = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    p = 1 / (1 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum()
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    got = models.vae_loss(*(dg.tensor(a) for a in (logits, x, mu, logvar)))
    assert got.item() == pytest.approx((bce + kl) / 3, rel=1e-10)
    got = models.vae_loss(*(dg.tensor(a) for a in (logits, x, mu, logvar)), beta=4.0)
    assert got.item() == pytest.approx((bce + 4 * kl) / 3, rel=1e-10)
    # KL vanishes exactly at the prior
    z = dg.zeros(3, 2, dtype=dg.float64)
    assert models.vae_loss(dg.tensor(logits), dg.tensor(x), z, z).item() == pytest.approx(bce / 3, rel=1e-10)


def test_vae_reparameterisation_is_differentiable_and_eval_uses_the_mean():
    vae = models.VAE(12, (8,), latent_dim=2)
    x = dg.rand(5, 12)
    logits, mu, logvar = vae(x)
    assert logits.shape == (5, 12) and mu.shape == logvar.shape == (5, 2)
    models.vae_loss(logits, x, mu, logvar).backward()
    assert all(p.grad is not None for p in vae.parameters())
    vae.eval()
    a, b = vae(x)[0], vae(x)[0]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    s = vae.sample(7).detach().numpy()
    assert s.shape == (7, 12) and ((s > 0) & (s < 1)).all()


def test_gan_step_updates_both_players_and_only_their_own_optimiser():
    G, D = models.Generator(3, 2, hidden=(16,)), models.Discriminator(2, hidden=(16,))
    g0, d0 = copy.deepcopy(G.state_dict()), copy.deepcopy(D.state_dict())
    opt_g, opt_d = dg.optim.Adam(G.parameters(), lr=1e-2), dg.optim.Adam(D.parameters(), lr=1e-2)
    r = models.gan_train_step(G, D, opt_g, opt_d, dg.randn(8, 2), dg.randn(8, 3))
    assert set(r) == {"d_loss", "g_loss", "d_real", "d_fake"} and all(np.isfinite(v) for v in r.values())
    assert 0 < r["d_real"] < 1 and r["d_loss"] == pytest.approx(2 * np.log(2), abs=0.3)
    assert all(not np.allclose(v.numpy(), G.state_dict()[k].numpy()) for k, v in g0.items())
    assert all(not np.allclose(v.numpy(), D.state_dict()[k].numpy()) for k, v in d0.items())
    r = models.gan_train_step(G, D, opt_g, opt_d, dg.randn(8, 2), dg.randn(8, 3), generator_loss="minimax")
    assert r["g_loss"] < 0  # log(1 − D(G(z)))
    with pytest.raises(ValueError, match="generator_loss must be"):
        models.gan_train_step(G, D, opt_g, opt_d, dg.randn(8, 2), dg.randn(8, 3), generator_loss="wasserstein")
    dc_g, dc_d = models.DCGenerator(8, channels=4), models.DCDiscriminator(channels=4)
    assert dc_d(dc_g(dg.randn(2, 8))).shape == (2, 1)


def test_gan_discriminator_learns_to_separate():
    G, D = models.Generator(2, 2, hidden=(8,)), models.Discriminator(2, hidden=(16,))
    opt_g, opt_d = dg.optim.SGD(G.parameters(), lr=0.0), dg.optim.Adam(D.parameters(), lr=1e-2)
    for _ in range(60):
        r = models.gan_train_step(G, D, opt_g, opt_d, dg.randn(32, 2) + 4.0, dg.randn(32, 2))
    assert r["d_real"] > 0.9 and r["d_fake"] < 0.1  # a frozen generator is easy to reject


def test_replay_buffer_ring_and_sampling():
    buf = models.ReplayBuffer(3, obs_shape=(2,), seed=0)
    with pytest.raises(ValueError, match="buffer is empty"):
        buf.sample(1)
    for i in range(5):
        buf.push(np.full(2, i), i % 2, float(i), np.full(2, i + 1), i == 4)
    assert len(buf) == 3 and sorted(buf.rewards.tolist()) == [2.0, 3.0, 4.0]  # the two oldest were overwritten
    obs, a, r, nxt, done = buf.sample(50)
    assert obs.shape == (50, 2) and set(r.tolist()) == {2.0, 3.0, 4.0}
    np.testing.assert_array_equal(nxt[:, 0], obs[:, 0] + 1)
    np.testing.assert_array_equal(done, (r == 4.0).astype(np.float32))


def test_epsilon_schedule_and_greedy_policy():
    assert models.linear_epsilon(0, 1.0, 0.1, 100) == 1.0
    assert models.linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert models.linear_epsilon(10_000, 1.0, 0.1, 100) == pytest.approx(0.1)
    q = models.DQN(4, 3, hidden=(8,))
    rng = np.random.default_rng(0)
    obs = np.ones(4, np.float32)
    best = int(q(dg.tensor(obs[None])).detach().numpy().argmax())
    assert {models.epsilon_greedy(q, obs, 0.0, rng) for _ in range(20)} == {best}
    assert {models.epsilon_greedy(q, obs, 1.0, rng) for _ in range(200)} == {0, 1, 2}


def test_dqn_target_and_train_step():
    q, target = models.DQN(2, 2, hidden=(16,)), models.DQN(2, 2, hidden=(16,))
    models.update_target(target, q)
    for a, b in zip(q.parameters(), target.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert a is not b
    before = [p.detach().numpy().copy() for p in target.parameters()]
    opt = dg.optim.Adam(q.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    # a one-step problem: reward = action, terminal, so Q(s, a) → a
    losses = []
    for _ in range(150):
        obs = rng.normal(size=(32, 2)).astype(np.float32)
        act = rng.integers(0, 2, 32)
        batch = (obs, act, act.astype(np.float32), obs, np.ones(32, np.float32))
        losses.append(models.dqn_train_step(q, target, opt, batch, gamma=0.9, double=True))
    for b, p in zip(before, target.parameters()):  # the target stays frozen until updated
        np.testing.assert_array_equal(b, p.detach().numpy())
    assert losses[-1] < 0.1 * losses[0] and np.isfinite(losses).all()
    qa = q(dg.tensor(rng.normal(size=(10, 2)).astype(np.float32))).detach().numpy()
    np.testing.assert_allclose(qa, np.tile([0.0, 1.0], (10, 1)), atol=0.2)
    models.update_target(target, q, tau=0.5)
    w_mid = target.net[0].weight.detach().numpy()
    np.testing.assert_allclose(w_mid, 0.5 * (before[0] + q.net[0].weight.detach().numpy()), atol=1e-6)
