r"""Policy-gradient agents for discrete actions: REINFORCE with a learned baseline and advantage actor-critic (A2C).

Both follow the policy-gradient theorem,

    ∇_θ J(θ) = E_π[ ∇_θ log π_θ(a_t | s_t) · Â_t ],

and differ in the advantage Â_t: REINFORCE waits for the end of an episode and uses the Monte-Carlo return minus a
learned baseline, Â_t = G_t − V_φ(s_t); A2C updates every n steps from the n-step (or GAE) advantage
Â_t = Σ_{k<n} γ^k r_{t+k} + γ^n V_φ(s_{t+n}) − V_φ(s_t). The policy is a ``deepgrad.distributions.Categorical``
over the logits of an :class:`ActorCritic` network. Environments follow gymnasium's API (``reset(seed=) -> (obs,
info)``, ``step(a) -> (obs, reward, terminated, truncated, info)``): gymnasium's own or deepgrad's CartPole.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import tensor
from ..distributions import Categorical
from ..models.mlp import MLP
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..optim import Adam
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .functional import discounted_returns, generalized_advantage_estimate, normalize_advantages, policy_gradient_loss

__all__ = ["A2C", "REINFORCE", "ActorCritic", "TrainingLog", "solved_at"]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class ActorCritic(nn.Module):
    r"""π_θ(a|s) = Categorical(logits = f_θ(s)) and V_φ(s) = g_φ(s): a policy MLP and a value MLP.

    By default the actor and the critic are separate networks (``actor``, ``critic``), so that the scale of the
    value loss cannot disturb the policy; ``shared=True`` puts one hidden trunk (``body``) under two linear heads.

    Args:
        n_observations: size of the observation vector. n_actions: number of discrete actions.
        hidden: widths of the hidden layers (default (64,)). activation: 'tanh' (default) or 'relu'.
        shared: one trunk for both heads.

    Shape:
        ``forward(obs)``: obs (B, n_observations) -> (logits (B, n_actions), value (B,)).

    Example:
        >>> import deepgrad as dg
        >>> logits, value = ActorCritic(4, 2)(dg.zeros(3, 4))
        >>> logits.shape, value.shape
        ((3, 2), (3,))
    """

    def __init__(self, n_observations: int, n_actions: int, hidden: Sequence[int] = (64,), activation: str = "tanh",
                 shared: bool = False) -> None:
        super().__init__()
        sizes = [int(n_observations), *[int(h) for h in hidden]]
        if any(s <= 0 for s in sizes) or int(n_actions) < 2:
            raise ValueError(f"ActorCritic: n_observations and hidden widths must be positive and n_actions >= 2, "
                             f"got n_observations={n_observations}, hidden={tuple(hidden)}, n_actions={n_actions}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"ActorCritic: activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        self.n_observations, self.n_actions, self.shared = sizes[0], int(n_actions), bool(shared)
        if shared:
            if len(sizes) < 2:
                raise ValueError("ActorCritic: shared=True needs at least one hidden layer")
            self.body = nn.Sequential(MLP(sizes, activation, flatten=False), _ACTIVATIONS[activation]())
            self.actor = nn.Linear(sizes[-1], self.n_actions)
            self.critic = nn.Linear(sizes[-1], 1)
        else:
            self.actor = MLP([*sizes, self.n_actions], activation, flatten=False)
            self.critic = MLP([*sizes, 1], activation, flatten=False)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        if obs.ndim != 2 or obs.shape[1] != self.n_observations:
            raise ValueError(f"ActorCritic: expected observations of shape (B, {self.n_observations}), "
                             f"got {tuple(obs.shape)}")
        h = self.body(obs) if self.shared else obs
        return self.actor(h), self.critic(h).squeeze(-1)

    def distribution(self, obs: Tensor) -> Categorical:
        """π(·|s) for each observation: a Categorical over the actions (batch shape (B,))."""
        return Categorical(logits=self(obs)[0], validate_args=False)


@dataclass
class TrainingLog:
    """What ``learn`` did: the return of every finished episode (in order of completion), the episode count at
    which the task was solved (None if not), environment steps, gradient updates, wall time in seconds, and the
    mean losses of each update (``policy``, ``value``, ``entropy``)."""

    returns: list = field(default_factory=list)
    solved_at: int | None = None
    steps: int = 0
    updates: int = 0
    seconds: float = 0.0
    losses: dict = field(default_factory=lambda: {"policy": [], "value": [], "entropy": []})


def solved_at(returns: Sequence[float], threshold: float = 195.0, window: int = 100) -> int | None:
    """The number of episodes after which the mean return of the last ``window`` episodes first reached
    ``threshold`` (CartPole's classic criterion: 195 over 100 consecutive episodes), or None.

    Example:
        >>> solved_at([10, 200, 200, 200], threshold=195, window=2)
        3
    """
    r = np.asarray(returns, np.float64)
    if len(r) < window:
        return None
    means = np.convolve(r, np.ones(window) / window, mode="valid")
    hit = np.nonzero(means >= threshold)[0]
    return int(hit[0]) + window if len(hit) else None


class _PolicyGradient:
    def __init__(self, model: nn.Module, lr: float, optimizer: Optimizer | None, gamma: float,
                 normalize_advantages: bool, entropy_coef: float, value_coef: float,
                 max_grad_norm: float | None) -> None:
        name = type(self).__name__
        if not isinstance(model, nn.Module):
            raise TypeError(f"{name}: model must be an nn.Module returning (logits, value), e.g. ActorCritic, "
                            f"got {type(model).__name__}")
        checks = {"lr": (lr, lr > 0), "gamma": (gamma, 0 <= gamma <= 1), "entropy_coef": (entropy_coef, entropy_coef >= 0),
                  "value_coef": (value_coef, value_coef >= 0),
                  "max_grad_norm": (max_grad_norm, max_grad_norm is None or max_grad_norm > 0)}
        for k, (v, ok) in checks.items():
            if not ok:
                raise ValueError(f"{name}: invalid {k} {v!r} (lr > 0, 0 <= gamma <= 1, coefficients >= 0, "
                                 f"max_grad_norm > 0 or None)")
        self.model = model
        self.optimizer = optimizer if optimizer is not None else Adam(model.parameters(), lr=lr)
        self.gamma, self.normalize_advantages = float(gamma), bool(normalize_advantages)
        self.entropy_coef, self.value_coef = float(entropy_coef), float(value_coef)
        self.max_grad_norm = max_grad_norm

    def _obs(self, obs) -> Tensor:
        """Observations as a Tensor of the model's dtype, on its device."""
        p = next(iter(self.model.parameters()))
        return tensor(np.asarray(obs), dtype=p.dtype, device=p.device)

    def act(self, obs, deterministic: bool = False):
        """An action a ~ π(·|s) for one observation (an int) or a batch (B, n) (an int64 array); the most likely
        action with ``deterministic=True``."""
        obs = np.asarray(obs)
        single = obs.ndim == 1
        with no_grad():
            logits = self.model(self._obs(obs[None] if single else obs))[0]
            a = logits.argmax(-1) if deterministic else Categorical(logits=logits, validate_args=False).sample()
        a = a.cpu().numpy()
        return int(a[0]) if single else a

    def _step(self, actions, advantages: Tensor, returns: Tensor, values: Tensor, dist: Categorical,
              log: TrainingLog) -> None:
        """One gradient step on L = −mean(log π(a|s) Â) + c_v mean((V(s) − R)²) − c_e mean(H[π(·|s)])."""
        if self.normalize_advantages and advantages.numel() > 1:
            advantages = normalize_advantages(advantages)
        policy = policy_gradient_loss(dist.log_prob(actions), advantages)
        entropy = dist.entropy().mean()
        loss = policy - self.entropy_coef * entropy
        value = None
        if values is not None:
            value = F.mse_loss(values, returns)
            loss = loss + self.value_coef * value
        self.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        log.updates += 1
        log.losses["policy"].append(policy.item())
        log.losses["value"].append(math.nan if value is None else value.item())
        log.losses["entropy"].append(entropy.item())


class REINFORCE(_PolicyGradient):
    r"""REINFORCE (Williams, 1992) with a learned baseline:
    :math:`\nabla_\theta J = \mathbb E_\pi[\nabla_\theta \log\pi_\theta(a_t|s_t)\,(G_t - b(s_t))]`.

    After each episode (or ``episodes_per_update`` of them) the returns-to-go :math:`G_t = \sum_{k\ge0}\gamma^k
    r_{t+k}` are computed, the baseline is the critic :math:`b(s) = V_\phi(s)`, regressed on :math:`G_t`, and one
    gradient step is taken on

        L = −mean_t(log π(a_t|s_t) Â_t) + value_coef · mean_t((V(s_t) − G_t)²) − entropy_coef · mean_t(H[π(·|s_t)])

    with :math:`\hat A_t = G_t - V(s_t)` (normalised over the batch when ``normalize_advantages``). Subtracting a
    baseline leaves the gradient's expectation unchanged (E[∇log π · b(s)] = 0) and lowers its variance.
    ``baseline=False`` gives plain REINFORCE (Â_t = G_t, no value loss).

    Args:
        model: a Module with ``model(obs) -> (logits, value)``, e.g. :class:`ActorCritic`.
        lr: Adam's learning rate when no ``optimizer`` is given. gamma: discount. baseline: use V(s) as b(s).
        normalize_advantages: standardise Â over each update. entropy_coef: weight of the entropy bonus.
        value_coef: weight of the critic's loss. max_grad_norm: clip the joint gradient norm (None: no clipping).
        episodes_per_update: episodes collected before each gradient step.

    Example:
        >>> import deepgrad as dg
        >>> from deepgrad.rl import CartPoleEnv
        >>> _ = dg.manual_seed(0)
        >>> agent = REINFORCE(ActorCritic(4, 2), lr=1e-2)
        >>> log = agent.learn(CartPoleEnv(), max_episodes=3, seed=0)
        >>> len(log.returns), log.updates
        (3, 3)
    """

    def __init__(self, model: nn.Module, lr: float = 5e-3, gamma: float = 0.99, baseline: bool = True,
                 normalize_advantages: bool = True, entropy_coef: float = 0.0, value_coef: float = 0.5,
                 max_grad_norm: float | None = None, episodes_per_update: int = 1,
                 optimizer: Optimizer | None = None) -> None:
        super().__init__(model, lr, optimizer, gamma, normalize_advantages, entropy_coef, value_coef, max_grad_norm)
        if int(episodes_per_update) < 1:
            raise ValueError(f"REINFORCE: episodes_per_update must be >= 1, got {episodes_per_update!r}")
        self.baseline, self.episodes_per_update = bool(baseline), int(episodes_per_update)

    def update(self, observations, actions, rewards, dones=None, log: TrainingLog | None = None) -> TrainingLog:
        """One gradient step from whole episodes: observations (T, n), actions (T,), rewards (T,), and ``dones``
        marking the last step of each episode when several are concatenated (default: one episode)."""
        log = log if log is not None else TrainingLog()
        logits, values = self.model(self._obs(observations))
        dist = Categorical(logits=logits, validate_args=False)
        returns = discounted_returns(np.asarray(rewards, np.float64), self.gamma, dones).to(values)
        advantages = returns - values.detach() if self.baseline else returns
        self._step(tensor(np.asarray(actions, np.int64), device=values.device), advantages, returns,
                   values if self.baseline else None, dist, log)
        return log

    def learn(self, env, max_episodes: int = 1000, seed: int | None = None, solved_return: float | None = 195.0,
              window: int = 100, callback: Callable[[TrainingLog], object] | None = None) -> TrainingLog:
        """Play and learn for up to ``max_episodes`` episodes; stop once the mean return of the last ``window``
        episodes reaches ``solved_return`` (None: never stop early). ``callback(log)`` runs after each update.
        The first reset uses ``seed``; later episodes continue the environment's random stream."""
        log, start = TrainingLog(), time.perf_counter()
        batch: dict = {"obs": [], "actions": [], "rewards": [], "dones": []}
        obs, _ = env.reset(seed=seed)
        for episode in range(int(max_episodes)):
            if episode:
                obs, _ = env.reset()
            total, done = 0.0, False
            while not done:
                a = self.act(obs)
                nxt, r, terminated, truncated, _ = env.step(a)
                done = bool(terminated or truncated)
                for k, v in (("obs", obs), ("actions", a), ("rewards", r), ("dones", done)):
                    batch[k].append(v)
                obs, total = nxt, total + float(r)
                log.steps += 1
            log.returns.append(total)
            if (episode + 1) % self.episodes_per_update == 0 or episode + 1 == max_episodes:
                self.update(np.stack(batch["obs"]), batch["actions"], batch["rewards"], batch["dones"], log)
                batch = {k: [] for k in batch}
                if callback is not None:
                    callback(log)
            if solved_return is not None and solved_at(log.returns[-window:], solved_return, window):
                log.solved_at = len(log.returns)
                break
        log.seconds = time.perf_counter() - start
        return log


class A2C(_PolicyGradient):
    r"""Advantage actor-critic (A2C, the synchronous A3C of Mnih et al., 2016):
    :math:`\nabla_\theta J \approx \hat{\mathbb E}[\nabla_\theta \log\pi_\theta(a_t|s_t)\,\hat A_t]` with the
    n-step advantage :math:`\hat A_t = \sum_{k=0}^{n-t-1}\gamma^k r_{t+k} + \gamma^{n-t} V_\phi(s_n) - V_\phi(s_t)`.

    Several environments run in lock-step; every ``n_steps`` steps their rollouts give one gradient step on

        L = −mean(log π(a_t|s_t) Â_t) + value_coef · mean((V(s_t) − R_t)²) − entropy_coef · mean(H[π(·|s_t)])

    with the critic's target R_t = Â_t + V(s_t). The advantage is GAE(λ) (:func:`generalized_advantage_estimate`):
    ``gae_lambda=1`` is the n-step advantage above, bootstrapped from V at the end of the rollout; smaller λ trades
    variance for bias (λ = 0: the TD error r_t + γV(s_{t+1}) − V(s_t)). An episode cut by a time limit is
    bootstrapped from V of its last observation; only a termination has value 0.

    Args:
        model: a Module with ``model(obs) -> (logits, value)``, e.g. :class:`ActorCritic`.
        lr: Adam's learning rate when no ``optimizer`` is given. gamma: discount. n_steps: rollout length.
        gae_lambda: λ of GAE (1: n-step returns). normalize_advantages: standardise Â over each update.
        entropy_coef: weight of the entropy bonus. value_coef: weight of the critic's loss.
        max_grad_norm: clip the joint gradient norm (None: no clipping).

    Example:
        >>> import deepgrad as dg
        >>> from deepgrad.rl import CartPoleEnv
        >>> _ = dg.manual_seed(0)
        >>> agent = A2C(ActorCritic(4, 2), n_steps=8)
        >>> log = agent.learn([CartPoleEnv(), CartPoleEnv()], max_episodes=2, seed=0)
        >>> log.steps % 16, len(log.returns) >= 2
        (0, True)
    """

    def __init__(self, model: nn.Module, lr: float = 1e-3, gamma: float = 0.99, n_steps: int = 5,
                 gae_lambda: float = 1.0, normalize_advantages: bool = False, entropy_coef: float = 0.01,
                 value_coef: float = 0.5, max_grad_norm: float | None = 0.5,
                 optimizer: Optimizer | None = None) -> None:
        super().__init__(model, lr, optimizer, gamma, normalize_advantages, entropy_coef, value_coef, max_grad_norm)
        if int(n_steps) < 1 or not 0 <= gae_lambda <= 1:
            raise ValueError(f"A2C: n_steps must be >= 1 and gae_lambda in [0, 1], got n_steps={n_steps!r}, "
                             f"gae_lambda={gae_lambda!r}")
        self.n_steps, self.gae_lambda = int(n_steps), float(gae_lambda)

    def update(self, observations, actions, rewards, next_observations, terminated, truncated,
               log: TrainingLog | None = None) -> TrainingLog:
        """One gradient step from a rollout of T steps in N environments: observations and next_observations
        (T, N, n), actions, rewards, terminated, truncated (T, N). ``next_observations[t]`` is what step t
        returned (the last observation of an episode, before any reset)."""
        log = log if log is not None else TrainingLog()
        obs = np.asarray(observations)
        steps, n_envs = obs.shape[:2]
        logits, values = self.model(self._obs(obs.reshape(steps * n_envs, -1)))
        with no_grad():
            next_values = self.model(self._obs(np.asarray(next_observations).reshape(steps * n_envs, -1)))[1]
        advantages, returns = generalized_advantage_estimate(
            rewards, values.detach().reshape(steps, n_envs), next_values.reshape(steps, n_envs), terminated,
            truncated, self.gamma, self.gae_lambda)
        dist = Categorical(logits=logits, validate_args=False)
        self._step(tensor(np.asarray(actions, np.int64).reshape(-1), device=values.device), advantages.reshape(-1).to(values),
                   returns.reshape(-1).to(values), values, dist, log)
        return log

    def learn(self, envs, max_episodes: int = 1000, seed: int | None = None, solved_return: float | None = 195.0,
              window: int = 100, callback: Callable[[TrainingLog], object] | None = None) -> TrainingLog:
        """Run ``envs`` (one environment or a list) in lock-step until ``max_episodes`` episodes have finished or the
        mean return of the last ``window`` finished episodes reaches ``solved_return`` (None: never stop early).
        Environment i is first reset with ``seed + i``. ``callback(log)`` runs after each update."""
        envs = list(envs) if isinstance(envs, (list, tuple)) else [envs]
        log, start = TrainingLog(), time.perf_counter()
        obs = np.stack([e.reset(seed=None if seed is None else seed + i)[0] for i, e in enumerate(envs)])
        totals = np.zeros(len(envs))
        while len(log.returns) < max_episodes and log.solved_at is None:
            roll = {k: [] for k in ("obs", "actions", "rewards", "next", "term", "trunc")}
            for _ in range(self.n_steps):
                actions = self.act(obs)
                step = [e.step(int(a)) for e, a in zip(envs, actions)]
                nxt = np.stack([s[0] for s in step])
                for k, v in (("obs", obs), ("actions", actions), ("next", nxt),
                             ("rewards", [s[1] for s in step]), ("term", [s[2] for s in step]),
                             ("trunc", [s[3] for s in step])):
                    roll[k].append(np.asarray(v))
                totals += roll["rewards"][-1]
                obs = nxt.copy()
                for i, s in enumerate(step):
                    if s[2] or s[3]:
                        log.returns.append(float(totals[i]))
                        totals[i] = 0.0
                        obs[i] = envs[i].reset()[0]
                        if (solved_return is not None and log.solved_at is None
                                and solved_at(log.returns[-window:], solved_return, window)):
                            log.solved_at = len(log.returns)
                log.steps += len(envs)
            self.update(np.stack(roll["obs"]), np.stack(roll["actions"]), np.stack(roll["rewards"]),
                        np.stack(roll["next"]), np.stack(roll["term"]), np.stack(roll["trunc"]), log)
            if callback is not None:
                callback(log)
        log.seconds = time.perf_counter() - start
        return log
