"""Policy gradients (deepgrad.rl): returns, GAE and normalisation against hand-computed values; the REINFORCE and
A2C updates against gradients written out by hand (and against PyTorch when it is installed); the same agent code
on deepgrad's CartPole and on gymnasium's."""
import sys

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.rl import (
    A2C,
    REINFORCE,
    ActorCritic,
    CartPoleEnv,
    discounted_returns,
    generalized_advantage_estimate,
    make_env,
    normalize_advantages,
    policy_gradient_loss,
    solved_at,
)


def test_discounted_returns_by_hand():
    # G_2 = 3, G_1 = 2 + 0.9·3 = 4.7, G_0 = 1 + 0.9·4.7 = 5.23
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0], gamma=0.9).numpy(), [5.23, 4.7, 3.0], rtol=1e-6)
    # an episode ends after step 1: nothing flows back across it
    np.testing.assert_allclose(discounted_returns([1.0, 2.0, 3.0, 4.0], 0.5, dones=[0, 1, 0, 0]).numpy(),
                               [2.0, 2.0, 5.0, 4.0])
    # (T, N): each column is its own sequence; γ = 0 leaves the rewards; γ = 1 sums them
    r = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(discounted_returns(r, 1.0).numpy(), [[2, 2], [1, 2], [1, 1]])
    np.testing.assert_allclose(discounted_returns(r, 0.0).numpy(), r)
    out = discounted_returns(np.ones(3, np.float64), 0.5)
    assert out.dtype == dg.float64 and not out.requires_grad
    assert discounted_returns([1.0, 1.0]).dtype == dg.float32


def test_discounted_returns_errors():
    with pytest.raises(ValueError, match=r"discounted_returns: gamma must be in \[0, 1\], got 1.5"):
        discounted_returns([1.0], 1.5)
    with pytest.raises(ValueError, match=r"dones has shape \(2,\) but rewards have shape \(3,\)"):
        discounted_returns([1.0, 1.0, 1.0], 0.9, dones=[0, 1])
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, N\)"):
        discounted_returns(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="must be numbers"):
        discounted_returns(["a", "b"])


def test_gae_by_hand():
    r, v, nv = [1.0, 1.0, 1.0], [0.5, 1.0, 2.0], [1.0, 2.0, 3.0]
    g = 0.5
    delta = [1 + g * 1.0 - 0.5, 1 + g * 2.0 - 1.0, 1 + g * 3.0 - 2.0]  # 1.0, 1.0, 0.5
    # λ = 0: the TD errors
    adv, ret = generalized_advantage_estimate(r, v, nv, [0, 0, 0], gamma=g, gae_lambda=0.0)
    np.testing.assert_allclose(adv.numpy(), delta)
    np.testing.assert_allclose(ret.numpy(), np.array(delta) + v)
    # λ = 1: n-step returns bootstrapped from V(s_3) = 3, minus V(s_t)
    adv, ret = generalized_advantage_estimate(r, v, nv, [0, 0, 0], gamma=g, gae_lambda=1.0)
    n_step = [1 + g + g ** 2 + g ** 3 * 3.0, 1 + g + g ** 2 * 3.0, 1 + g * 3.0]
    np.testing.assert_allclose(ret.numpy(), n_step)
    np.testing.assert_allclose(adv.numpy(), np.array(n_step) - v)
    # λ = 0.5: A_2 = δ_2, A_1 = δ_1 + γλ A_2, A_0 = δ_0 + γλ A_1
    adv, _ = generalized_advantage_estimate(r, v, nv, [0, 0, 0], gamma=g, gae_lambda=0.5)
    a2 = 0.5
    a1 = 1.0 + 0.25 * a2
    np.testing.assert_allclose(adv.numpy(), [1.0 + 0.25 * a1, a1, a2])


def test_gae_termination_and_truncation():
    r, v, nv = [1.0, 1.0, 1.0], [0.5, 1.0, 2.0], [1.0, 4.0, 3.0]
    # terminated at step 1: V(s_2) counts 0 there and nothing flows back across it
    adv, _ = generalized_advantage_estimate(r, v, nv, [0, 1, 0], gamma=0.5, gae_lambda=1.0)
    np.testing.assert_allclose(adv.numpy(), [1 + 0.5 * 1 - 0.5, 1 - 1.0, 1 + 0.5 * 3 - 2.0])
    # truncated (time limit) at step 1: bootstrapped from V of the last observation (4), but not carried back
    adv, _ = generalized_advantage_estimate(r, v, nv, [0, 0, 0], [0, 1, 0], gamma=0.5, gae_lambda=1.0)
    np.testing.assert_allclose(adv.numpy(), [1 + 0.5 * 1 + 0.25 * 4 - 0.5, 1 + 0.5 * 4 - 1.0, 1 + 0.5 * 3 - 2.0])
    # (T, N): the columns are independent environments
    adv2, _ = generalized_advantage_estimate(np.stack([r, r], 1), np.stack([v, v], 1), np.stack([nv, nv], 1),
                                             np.array([[0, 0], [1, 0], [0, 0]]), gamma=0.5, gae_lambda=1.0)
    single, _ = generalized_advantage_estimate(r, v, nv, [0, 0, 0], gamma=0.5, gae_lambda=1.0)
    np.testing.assert_allclose(adv2.numpy()[:, 1], single.numpy())
    np.testing.assert_allclose(adv2.numpy()[:, 0], [1.0, 0.0, 0.5])
    with pytest.raises(ValueError, match=r"next_values has shape \(2,\) but rewards have shape \(3,\)"):
        generalized_advantage_estimate(r, v, nv[:2], [0, 0, 0])
    with pytest.raises(ValueError, match=r"gae_lambda must be in \[0, 1\]"):
        generalized_advantage_estimate(r, v, nv, [0, 0, 0], gae_lambda=-0.1)


def test_normalize_advantages_by_hand():
    a = dg.tensor([1.0, 2.0, 4.0, 5.0])  # mean 3, unbiased std √(10/3)
    np.testing.assert_allclose(normalize_advantages(a, eps=0.0).numpy(), (np.array([-2, -1, 1, 2]) / np.sqrt(10 / 3)),
                               rtol=1e-6)
    out = normalize_advantages(dg.tensor(np.random.default_rng(0).normal(3, 7, 50)))
    assert abs(out.mean().item()) < 1e-6 and abs(out.std().item() - 1) < 1e-6
    with pytest.raises(TypeError, match="expected a Tensor"):
        normalize_advantages([1.0, 2.0])


def test_policy_gradient_loss_gradient_by_hand():
    # logits z_t, π_t = softmax(z_t): ∂/∂z_t of −(1/T) Σ log π_t(a_t) A_t is −(A_t/T)(onehot(a_t) − π_t)
    z = np.array([[0.2, -0.3, 1.0], [0.5, 0.5, -1.0]])
    a, adv = np.array([2, 0]), np.array([1.5, -0.5])
    logits = dg.tensor(z, requires_grad=True)
    d = dg.distributions.Categorical(logits=logits)
    loss = policy_gradient_loss(d.log_prob(dg.tensor(a)), dg.tensor(adv))
    loss.backward()
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    np.testing.assert_allclose(loss.item(), -(np.log(p[[0, 1], a]) * adv).mean())
    np.testing.assert_allclose(logits.grad.numpy(), -(adv[:, None] / 2) * (np.eye(3)[a] - p), rtol=1e-10)
    # the advantages are constants: no gradient reaches them
    adv_t = dg.tensor(adv, requires_grad=True)
    d = dg.distributions.Categorical(logits=logits)
    policy_gradient_loss(d.log_prob(dg.tensor(a)), adv_t).backward()
    assert adv_t.grad is None


def _linear_model(seed=0):
    """ActorCritic without hidden layers: logits = W s + b, V = c·s + d (gradients easy to write out)."""
    dg.manual_seed(seed)
    return ActorCritic(3, 2, hidden=()).double()


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_reinforce_update_against_hand_gradient():
    model = _linear_model()
    p0 = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    s = np.random.default_rng(1).normal(size=(4, 3))
    acts, rew, gamma, cv, ce = np.array([0, 1, 1, 0]), np.array([1.0, 1.0, 0.0, 2.0]), 0.9, 0.5, 0.1
    agent = REINFORCE(model, gamma=gamma, value_coef=cv, entropy_coef=ce,
                      optimizer=dg.optim.SGD(model.parameters(), lr=1.0))
    log = agent.update(s, acts, rew)
    # by hand: G, V, Â = normalised (G − V), π; the loss's gradient with respect to the logits and to V
    G = np.array([1 + 0.9 * (1 + 0.9 * (0 + 0.9 * 2)), 1 + 0.9 * (0 + 0.9 * 2), 0.9 * 2, 2.0])
    V = s @ p0["critic.0.weight"][0] + p0["critic.0.bias"][0]
    A = G - V
    A = (A - A.mean()) / (A.std(ddof=1) + 1e-8)
    pi = _softmax(s @ p0["actor.0.weight"].T + p0["actor.0.bias"])
    logp, T = np.log(pi), len(s)
    H = -(pi * logp).sum(1)
    dz = -(A[:, None] / T) * (np.eye(2)[acts] - pi) + (ce / T) * pi * (logp + H[:, None])
    dv = cv * 2 * (V - G) / T
    np.testing.assert_allclose(log.losses["policy"][0], -(logp[np.arange(T), acts] * A).mean(), rtol=1e-10)
    np.testing.assert_allclose(log.losses["value"][0], ((V - G) ** 2).mean(), rtol=1e-10)
    np.testing.assert_allclose(log.losses["entropy"][0], H.mean(), rtol=1e-10)
    p1 = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    np.testing.assert_allclose(p0["actor.0.weight"] - p1["actor.0.weight"], dz.T @ s, rtol=1e-8)
    np.testing.assert_allclose(p0["actor.0.bias"] - p1["actor.0.bias"], dz.sum(0), rtol=1e-8)
    np.testing.assert_allclose(p0["critic.0.weight"] - p1["critic.0.weight"], (dv @ s)[None], rtol=1e-8)
    np.testing.assert_allclose(p0["critic.0.bias"] - p1["critic.0.bias"], [dv.sum()], rtol=1e-8)


def test_reinforce_without_baseline_uses_returns_only():
    model = _linear_model()
    p0 = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    s = np.random.default_rng(2).normal(size=(3, 3))
    acts, rew = np.array([1, 0, 1]), np.array([1.0, 1.0, 1.0])
    agent = REINFORCE(model, gamma=1.0, baseline=False, normalize_advantages=False,
                      optimizer=dg.optim.SGD(model.parameters(), lr=1.0))
    log = agent.update(s, acts, rew)
    pi = _softmax(s @ p0["actor.0.weight"].T + p0["actor.0.bias"])
    G = np.array([3.0, 2.0, 1.0])
    dz = -(G[:, None] / 3) * (np.eye(2)[acts] - pi)
    np.testing.assert_allclose(p0["actor.0.weight"] - model.actor[0].weight.detach().numpy(), dz.T @ s, rtol=1e-8)
    np.testing.assert_array_equal(model.critic[0].weight.detach().numpy(), p0["critic.0.weight"])  # no value loss
    assert np.isnan(log.losses["value"][0])


def test_reinforce_loss_matches_torch():
    torch = pytest.importorskip("torch")
    model = _linear_model(3)
    p0 = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    s = np.random.default_rng(3).normal(size=(5, 3))
    acts, rew = np.array([0, 1, 1, 0, 1]), np.array([1.0, 0.0, 1.0, 1.0, 0.5])
    REINFORCE(model, gamma=0.95, entropy_coef=0.05, optimizer=dg.optim.SGD(model.parameters(), lr=1.0)).update(
        s, acts, rew)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in p0.items()}
    st = torch.tensor(s)
    logits = st @ tp["actor.0.weight"].T + tp["actor.0.bias"]
    v = (st @ tp["critic.0.weight"].T + tp["critic.0.bias"]).squeeze(-1)
    g = torch.tensor([sum(0.95 ** k * r for k, r in enumerate(rew[t:])) for t in range(5)])
    dist = torch.distributions.Categorical(logits=logits)
    a = (g - v.detach())
    a = (a - a.mean()) / (a.std() + 1e-8)
    loss = -(dist.log_prob(torch.tensor(acts)) * a).mean() + 0.5 * ((v - g) ** 2).mean() - 0.05 * dist.entropy().mean()
    loss.backward()
    for k, t in tp.items():
        np.testing.assert_allclose(p0[k] - model.state_dict()[k].detach().numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_a2c_update_against_hand_values():
    model = _linear_model(4)
    p0 = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    rng = np.random.default_rng(4)
    s, s2 = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 2, 3))  # T = 2 steps, N = 2 environments
    s2[0] = s[1]  # what step 0 returned is where step 1 starts
    acts, rew = np.array([[0, 1], [1, 1]]), np.array([[1.0, 1.0], [1.0, 0.0]])
    term, trunc = np.array([[0, 0], [1, 0]]), np.zeros((2, 2))
    agent = A2C(model, gamma=0.9, entropy_coef=0.01, value_coef=0.5, max_grad_norm=None,
                optimizer=dg.optim.SGD(model.parameters(), lr=0.0))
    log = agent.update(s, acts, rew, s2, term, trunc)

    def value(x):
        return x @ p0["critic.0.weight"][0] + p0["critic.0.bias"][0]

    V, NV = value(s), value(s2)
    # n-step (λ = 1) by hand: env 0 terminates at t = 1; env 1 bootstraps from V(s2[1, 1])
    R = np.empty((2, 2))
    R[1, 0] = 1.0
    R[0, 0] = 1.0 + 0.9 * R[1, 0]
    R[1, 1] = 0.0 + 0.9 * NV[1, 1]
    R[0, 1] = 1.0 + 0.9 * R[1, 1]
    A = R - V
    pi = _softmax(s.reshape(4, 3) @ p0["actor.0.weight"].T + p0["actor.0.bias"])
    logp = np.log(pi)
    np.testing.assert_allclose(log.losses["policy"][0], -(logp[np.arange(4), acts.ravel()] * A.ravel()).mean(),
                               rtol=1e-10)
    np.testing.assert_allclose(log.losses["value"][0], ((V - R) ** 2).mean(), rtol=1e-10)
    np.testing.assert_allclose(log.losses["entropy"][0], -(pi * logp).sum(1).mean(), rtol=1e-10)


def test_clipping_bounds_the_step():
    model = _linear_model(5)
    p0 = dg.nn.utils.parameters_to_vector(model.parameters()).detach().numpy().copy()
    agent = REINFORCE(model, max_grad_norm=1e-3, optimizer=dg.optim.SGD(model.parameters(), lr=1.0))
    agent.update(np.random.default_rng(5).normal(size=(6, 3)) * 10, [0, 1, 0, 1, 1, 0], [1.0] * 6)
    step = dg.nn.utils.parameters_to_vector(model.parameters()).detach().numpy() - p0
    np.testing.assert_allclose(np.linalg.norm(step), 1e-3, rtol=1e-4)


def test_agent_arguments_are_checked():
    m = ActorCritic(4, 2)
    with pytest.raises(ValueError, match=r"REINFORCE: invalid gamma 1.5"):
        REINFORCE(m, gamma=1.5)
    with pytest.raises(ValueError, match=r"A2C: invalid max_grad_norm 0"):
        A2C(m, max_grad_norm=0)
    with pytest.raises(ValueError, match="n_steps must be >= 1"):
        A2C(m, n_steps=0)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        A2C(lambda x: x)


def test_act_shapes_and_greedy():
    dg.manual_seed(0)
    agent = A2C(ActorCritic(4, 3))
    a = agent.act(np.zeros(4, np.float32))
    assert isinstance(a, int) and 0 <= a < 3
    batch = agent.act(np.zeros((5, 4), np.float32))
    assert batch.shape == (5,) and batch.dtype == np.int64
    with dg.no_grad():
        logits = agent.model(dg.ones(1, 4))[0].numpy()
    assert agent.act(np.ones(4), deterministic=True) == int(logits.argmax())


def test_solved_at():
    assert solved_at([195.0] * 99) is None
    assert solved_at([0.0] * 5 + [200.0] * 100, threshold=200) == 105
    assert solved_at([300.0] * 100) == 100
    assert solved_at([0, 10, 10, 0], threshold=10, window=2) == 3


def test_reinforce_learns_cartpole_quickly():
    """A few dozen episodes already lengthen them: the mean of the last 10 well above the random policy's ~22."""
    dg.manual_seed(0)
    log = REINFORCE(ActorCritic(4, 2), lr=1e-2).learn(CartPoleEnv(), max_episodes=60, seed=0)
    assert len(log.returns) == 60 and log.updates == 60 and log.steps == sum(log.returns)
    assert np.mean(log.returns[-10:]) > 2 * np.mean(log.returns[:10])


def test_same_agent_code_on_both_cartpoles():
    """gymnasium's CartPole-v1 and deepgrad's are bit-identical for the same seed and actions, so one seeded
    agent gets exactly the same episodes on both."""
    pytest.importorskip("gymnasium")
    logs = []
    for prefer in (True, False):
        env = make_env("CartPole-v1", prefer_gymnasium=prefer)
        assert (type(env).__name__ == "CartPoleEnv") == (not prefer)
        dg.manual_seed(0)
        agent = A2C(ActorCritic(4, 2), n_steps=5)
        logs.append(agent.learn(env, max_episodes=4, seed=3).returns)
    assert logs[0] == logs[1] and len(logs[0]) >= 4


def test_make_env_falls_back_without_gymnasium(monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # import gymnasium raises ImportError
    env = make_env("CartPole-v1")
    assert isinstance(env, CartPoleEnv)
    with pytest.raises(ValueError, match="only 'CartPole-v1' is built in"):
        make_env("Acrobot-v1")


def test_agents_on_a_gpu_device(gpu):
    """Observations, returns and actions follow the model to its device (CUDA, or the strict device in CI)."""
    dg.manual_seed(0)
    log = REINFORCE(ActorCritic(4, 2).to(gpu)).learn(CartPoleEnv(), max_episodes=3, seed=0)
    assert len(log.returns) == 3 and all(np.isfinite(log.losses[k]).all() for k in ("policy", "value", "entropy"))
    log = A2C(ActorCritic(4, 2).to(gpu), n_steps=4).learn([CartPoleEnv(), CartPoleEnv()], max_episodes=2, seed=0)
    assert log.steps % 8 == 0 and np.isfinite(log.losses["value"]).all()
