"""CartPole (Barto, Sutton & Anderson, 1983) in NumPy, with gymnasium's CartPole-v1 dynamics and API.

A pole hinged on a cart; the agent pushes the cart left or right with force ±F. With θ the pole angle,
m_p = 0.1, m_c = 1.0, M = m_c + m_p, l = 0.5 (half the pole's length), g = 9.8, F = 10 and τ = 0.02 s:

    temp = (F_t + m_p l θ̇² sin θ) / M
    θ̈ = (g sin θ − cos θ · temp) / (l (4/3 − m_p cos² θ / M))
    ẍ = temp − m_p l θ̈ cos θ / M

integrated with explicit Euler (x ← x + τ ẋ, ẋ ← ẋ + τ ẍ, θ ← θ + τ θ̇, θ̇ ← θ̇ + τ θ̈). Reward +1 per step; the
episode terminates when |θ| > 12° or |x| > 2.4 and is truncated after 500 steps (v1's time limit; truncated is
set at step 500 even when the pole falls on that step, as by gymnasium's ``TimeLimit``). Seeded alike, the two
give bit-identical trajectories (tests/test_rl.py checks it when gymnasium is installed).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["CartPoleEnv", "Discrete", "make_env"]


class Discrete:
    """The action space {0, …, n − 1}."""

    def __init__(self, n: int, seed: int | None = None) -> None:
        self.n = int(n)
        self._rng = np.random.default_rng(seed)

    def sample(self) -> int:
        return int(self._rng.integers(self.n))

    def contains(self, a) -> bool:
        return isinstance(a, (int, np.integer)) and 0 <= int(a) < self.n


class _Box:
    def __init__(self, high: np.ndarray) -> None:
        self.high, self.low, self.shape = high, -high, high.shape


class CartPoleEnv:
    """CartPole-v1: observation (x, ẋ, θ, θ̇) float32, actions 0 (push left) and 1 (push right).

    ``reset(seed=None) -> (obs, info)``; ``step(action) -> (obs, reward, terminated, truncated, info)``.

    Example:
        >>> env = CartPoleEnv()
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, env.action_space.n
        ((4,), 2)
        >>> obs, reward, terminated, truncated, info = env.step(1)
        >>> reward, terminated, truncated
        (1.0, False, False)
    """

    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, max_episode_steps: int = 500) -> None:
        self.max_episode_steps = int(max_episode_steps)
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length
        self.action_space = Discrete(2)
        high = np.array([self.x_threshold * 2, np.finfo(np.float32).max, self.theta_threshold_radians * 2,
                         np.finfo(np.float32).max], np.float32)
        self.observation_space = _Box(high)
        self._rng = np.random.default_rng()
        self.state: np.ndarray | None = None
        self.steps = 0

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """A new episode from a state drawn uniformly from [−0.05, 0.05]⁴."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self.action_space = Discrete(2, seed)
        self.state = self._rng.uniform(-0.05, 0.05, size=4)
        self.steps = 0
        return self.state.astype(np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if self.state is None:
            raise RuntimeError("CartPoleEnv.step: call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"CartPoleEnv.step: action must be 0 or 1, got {action!r}")
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + self.polemass_length * theta_dot ** 2 * sin) / self.total_mass
        thetaacc = (self.gravity * sin - cos * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * cos ** 2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * cos / self.total_mass
        x, x_dot = x + self.tau * x_dot, x_dot + self.tau * xacc
        theta, theta_dot = theta + self.tau * theta_dot, theta_dot + self.tau * thetaacc
        self.state = np.array([x, x_dot, theta, theta_dot])
        self.steps += 1
        terminated = bool(abs(x) > self.x_threshold or abs(theta) > self.theta_threshold_radians)
        truncated = self.steps >= self.max_episode_steps  # as gymnasium's TimeLimit: even on a termination
        return self.state.astype(np.float32), 1.0, terminated, truncated, {}


def make_env(name: str = "CartPole-v1", prefer_gymnasium: bool = True):
    """The environment ``name``: gymnasium's when it is installed (and ``prefer_gymnasium``), else ours.

    Only 'CartPole-v1' has a built-in implementation.
    """
    if prefer_gymnasium:
        try:
            import gymnasium
        except ImportError:
            gymnasium = None
        if gymnasium is not None:
            return gymnasium.make(name)
    if name != "CartPole-v1":
        raise ValueError(f"make_env: only 'CartPole-v1' is built in (install gymnasium for others), got {name!r}")
    return CartPoleEnv()
