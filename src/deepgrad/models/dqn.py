"""Deep Q-learning (Mnih et al., 2015): a network Q(s, ·; θ) estimates the action values q_π(s, a).

The agent acts ε-greedily, stores transitions (s, a, r, s', terminated) in a replay buffer, and regresses Q(s, a)
on minibatches of old transitions towards the bootstrapped target

    y = r + γ (1 − terminated) max_{a'} Q(s', a'; θ⁻)

computed with a *target network* θ⁻ that is a copy of θ refreshed every C steps (or softly, θ⁻ ← τθ + (1 − τ)θ⁻).
Replay breaks the correlation between consecutive samples; the frozen target keeps the regression target still.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import tensor
from ..nn import functional as F
from ..optim.optimizer import Optimizer
from .autoencoder import _mlp

__all__ = ["DQN", "ReplayBuffer", "dqn_train_step", "epsilon_greedy", "linear_epsilon", "update_target"]


class DQN(nn.Module):
    """Q(s, ·) = MLP(s): one output per action.

    Args:
        n_observations: state size. n_actions: number of discrete actions. hidden: widths (default (128, 128)).

    Example:
        >>> import deepgrad as dg
        >>> dg.models.DQN(4, 2)(dg.zeros(3, 4)).shape
        (3, 2)
    """

    def __init__(self, n_observations: int, n_actions: int, hidden=(128, 128), activation="relu") -> None:
        super().__init__()
        self.n_actions = int(n_actions)
        self.net = _mlp([n_observations, *hidden, n_actions], activation, None)

    def forward(self, x):
        return self.net(x)


class ReplayBuffer:
    """A ring buffer of the last ``capacity`` transitions (s, a, r, s', terminated), sampled uniformly.

    Example:
        >>> buf = ReplayBuffer(100, obs_shape=(4,), seed=0)
        >>> buf.push(np.zeros(4), 1, 1.0, np.ones(4), False)
        >>> len(buf), buf.sample(1)[1].tolist()
        (1, [1])
    """

    def __init__(self, capacity: int, obs_shape: tuple = (4,), seed: int | None = None) -> None:
        if int(capacity) <= 0:
            raise ValueError(f"ReplayBuffer: capacity must be a positive integer, got {capacity!r}")
        self.capacity = int(capacity)
        self.obs = np.zeros((capacity, *obs_shape), np.float32)
        self.next_obs = np.zeros((capacity, *obs_shape), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.terminated = np.zeros(capacity, np.float32)
        self.pos, self.size = 0, 0
        self.rng = np.random.default_rng(seed)

    def push(self, obs, action: int, reward: float, next_obs, terminated: bool) -> None:
        """Store one transition, overwriting the oldest when full. ``terminated`` (not time-limit truncation) is
        what stops bootstrapping."""
        i = self.pos
        self.obs[i], self.actions[i], self.rewards[i] = obs, action, reward
        self.next_obs[i], self.terminated[i] = next_obs, float(terminated)
        self.pos = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int) -> tuple:
        """(obs, actions, rewards, next_obs, terminated) arrays of ``batch_size`` transitions drawn with replacement."""
        if self.size == 0:
            raise ValueError("ReplayBuffer.sample: the buffer is empty; push transitions first")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx], self.terminated[idx]

    def __len__(self) -> int:
        return self.size


def linear_epsilon(step: int, start: float = 1.0, end: float = 0.05, decay_steps: int = 10_000) -> float:
    """ε_t = start + (end − start) · min(t / decay_steps, 1): exploration anneals linearly, then stays at ``end``."""
    return start + (end - start) * min(step / max(decay_steps, 1), 1.0)


def epsilon_greedy(q_net: nn.Module, obs, epsilon: float, rng: np.random.Generator) -> int:
    """A uniformly random action with probability ε, else argmax_a Q(s, a)."""
    n = q_net.n_actions
    if rng.random() < epsilon:
        return int(rng.integers(n))
    with no_grad():
        return int(q_net(tensor(np.asarray(obs, np.float32)[None])).numpy()[0].argmax())


def update_target(target: nn.Module, online: nn.Module, tau: float = 1.0) -> None:
    """θ⁻ ← τ θ + (1 − τ) θ⁻ (τ = 1: the hard copy of Mnih et al.; small τ: Polyak averaging)."""
    with no_grad():
        for pt, p in zip(target.parameters(), online.parameters()):
            pt.data = p.detach() * tau + pt.detach() * (1.0 - tau) if tau < 1.0 else p.detach() * 1.0


def dqn_train_step(q_net: nn.Module, target_net: nn.Module, optimizer: Optimizer, batch: tuple, gamma: float = 0.99,
                   double: bool = False, max_grad_norm: float | None = 10.0) -> float:
    """One gradient step on the Huber (smooth L1) loss between Q(s, a; θ) and y = r + γ (1 − done) max_a' Q(s', a'; θ⁻).

    With ``double`` the target's action is chosen by the online network, y = r + γ Q(s', argmax_a' Q(s', a'; θ); θ⁻)
    (double DQN, van Hasselt et al., 2016). Gradients are clipped to ``max_grad_norm``. Returns the loss.
    """
    obs, actions, rewards, next_obs, terminated = batch
    nxt = tensor(next_obs)
    with no_grad():
        q_next = target_net(nxt).numpy()
        if double:
            best = q_net(nxt).numpy().argmax(1)
            v_next = q_next[np.arange(len(best)), best]
        else:
            v_next = q_next.max(1)
    y = rewards + gamma * (1.0 - terminated) * v_next
    q = q_net(tensor(obs)).gather(1, tensor(actions[:, None])).reshape(-1)
    loss = F.smooth_l1_loss(q, tensor(y.astype(np.float32)))
    optimizer.zero_grad()
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(q_net.parameters(), max_grad_norm)
    optimizer.step()
    return loss.item()
