"""The NumPy CartPole: gymnasium's API, the classic dynamics (checked against the equations), termination rules."""
import math

import numpy as np
import pytest

from deepgrad.rl import CartPoleEnv, make_env


def test_api_and_seeding():
    env = CartPoleEnv()
    obs, info = env.reset(seed=42)
    assert obs.dtype == np.float32 and obs.shape == (4,) and np.abs(obs).max() <= 0.05 and info == {}
    assert np.array_equal(obs, CartPoleEnv().reset(seed=42)[0])
    obs2, r, term, trunc, info = env.step(0)
    assert r == 1.0 and not term and not trunc and obs2.shape == (4,)
    with pytest.raises(ValueError, match="action must be 0 or 1"):
        env.step(2)
    with pytest.raises(RuntimeError, match="call reset"):
        CartPoleEnv().step(0)


def test_one_step_of_the_equations():
    env = CartPoleEnv()
    env.reset(seed=0)
    env.state = np.array([0.1, -0.2, 0.05, 0.3])
    obs, *_ = env.step(1)
    x, xd, th, thd = 0.1, -0.2, 0.05, 0.3
    temp = (10.0 + 0.05 * thd ** 2 * math.sin(th)) / 1.1
    thacc = (9.8 * math.sin(th) - math.cos(th) * temp) / (0.5 * (4 / 3 - 0.1 * math.cos(th) ** 2 / 1.1))
    xacc = temp - 0.05 * thacc * math.cos(th) / 1.1
    want = [x + 0.02 * xd, xd + 0.02 * xacc, th + 0.02 * thd, thd + 0.02 * thacc]
    np.testing.assert_allclose(obs, want, rtol=1e-6)
    assert thacc < 0 < xacc  # pushing right accelerates the cart right and tips the pole left


def test_termination_and_truncation():
    env = CartPoleEnv()
    env.reset(seed=1)
    steps, term = 0, False
    while not term:  # always pushing one way drops the pole quickly
        _, _, term, trunc, _ = env.step(1)
        steps += 1
        assert not trunc
    assert 5 < steps < 60
    env = CartPoleEnv(max_episode_steps=5)
    env.reset(seed=1)
    out = [env.step(i % 2)[2:4] for i in range(5)]
    assert out[-1] == (False, True) and all(o == (False, False) for o in out[:-1])


def test_random_policy_returns_are_short():
    env = make_env("CartPole-v1", prefer_gymnasium=False)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    returns = []
    for _ in range(20):
        env.reset()
        total, done = 0.0, False
        while not done:
            _, r, term, trunc, _ = env.step(int(rng.integers(2)))
            total += r
            done = term or trunc
        returns.append(total)
    assert 10 < np.mean(returns) < 40  # the well-known ~22 of a random CartPole policy
    with pytest.raises(ValueError, match="only 'CartPole-v1' is built in"):
        make_env("Pong-v5", prefer_gymnasium=False)
