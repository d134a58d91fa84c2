r"""The stateless pieces of policy-gradient methods: discounted returns, generalised advantage estimation, advantage
normalisation and the score-function (REINFORCE) loss.

Time runs along axis 0: rewards of one episode have shape (T,), a rollout of N environments (T, N). Returns and
advantages are targets, not functions of the parameters: they are computed on arrays and returned as Tensors that
do not require grad (values passed in are detached). ``normalize_advantages`` and ``policy_gradient_loss`` are
differentiable Tensor compositions.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["discounted_returns", "generalized_advantage_estimate", "normalize_advantages", "policy_gradient_loss"]


def _array(who: str, name: str, x) -> np.ndarray:
    if isinstance(x, Tensor):
        x = backend.to_device(x.detach()._data, backend.CPU)
    a = np.asarray(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise TypeError(f"{who}: {name} must be numbers (a list, array or Tensor), got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ValueError(f"{who}: {name} must have shape (T,) or (T, N) (time first), got shape {a.shape}")
    return a


def _wide(x, a: np.ndarray) -> bool:
    """float64 in, float64 out, as for Tensors; Python lists of floats give the default dtype (like dg.tensor)."""
    return a.dtype == np.float64 and isinstance(x, (np.ndarray, Tensor))


def _flags(who: str, name: str, x, shape: tuple) -> np.ndarray:
    if x is None:
        return np.zeros(shape, bool)
    a = _array(who, name, x)
    if a.shape != shape:
        raise ValueError(f"{who}: {name} has shape {a.shape} but rewards have shape {shape}")
    return a.astype(bool)


def _gamma(who: str, gamma: float, name: str = "gamma") -> float:
    g = float(gamma)
    if not 0.0 <= g <= 1.0:
        raise ValueError(f"{who}: {name} must be in [0, 1], got {gamma!r}")
    return g


def _out(a: np.ndarray, like) -> Tensor:
    dtype = np.float64 if a.dtype == np.float64 else np.float32
    device = like.device if isinstance(like, Tensor) else None
    t = Tensor._wrap(a.astype(dtype))
    return t if device is None or device == t.device else t.to(device)


def discounted_returns(rewards, gamma: float = 0.99, dones=None) -> Tensor:
    r"""Returns-to-go :math:`G_t = \sum_{k \ge 0} \gamma^k r_{t+k}` to the end of each episode.

    Computed backwards as :math:`G_t = r_t + \gamma\,(1 - d_t)\,G_{t+1}` with :math:`G_T = 0`: a step with
    ``dones[t]`` true (terminated or truncated) ends its episode, so nothing flows back across it (torchrl's
    ``reward2go``). REINFORCE's Monte-Carlo target.

    Args:
        rewards: (T,) or (T, N), time first. gamma: the discount in [0, 1]. dones: episode ends, the shape of
            ``rewards`` (default: one episode that ends at T).

    Returns:
        A Tensor like ``rewards`` (float32, float64 for float64 input), not requiring grad.

    Example:
        >>> discounted_returns([1.0, 1.0, 1.0], gamma=0.5).tolist()
        [1.75, 1.5, 1.0]
        >>> discounted_returns([1.0, 2.0, 1.0, 1.0], gamma=0.5, dones=[0, 1, 0, 0]).tolist()  # two episodes
        [2.0, 2.0, 1.5, 1.0]
    """
    who = "discounted_returns"
    r = _array(who, "rewards", rewards)
    dtype = np.float64 if _wide(rewards, r) else np.float32
    r = r.astype(np.float64)
    g, d = _gamma(who, gamma), _flags(who, "dones", dones, r.shape)
    out = np.zeros_like(r)
    running = np.zeros_like(r[0])
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + g * np.where(d[t], 0.0, running)
        out[t] = running
    return _out(out.astype(dtype), rewards)


def generalized_advantage_estimate(rewards, values, next_values, terminated, truncated=None, gamma: float = 0.99,
                                   gae_lambda: float = 0.95) -> tuple[Tensor, Tensor]:
    r"""GAE(λ) (Schulman et al., 2016): :math:`\hat A_t = \sum_{k \ge 0} (\gamma\lambda)^k \delta_{t+k}`, with the TD
    error :math:`\delta_t = r_t + \gamma\,(1 - \text{term}_t)\,V(s_{t+1}) - V(s_t)`.

    Computed backwards as :math:`\hat A_t = \delta_t + \gamma\lambda\,(1 - \text{done}_t)\,\hat A_{t+1}`, where
    done = terminated or truncated. λ = 0 gives the one-step TD advantage δ_t; λ = 1 gives A2C's n-step advantage
    :math:`\sum_{k<n} \gamma^k r_{t+k} + \gamma^n V(s_{t+n}) - V(s_t)`, bootstrapped at the end of the rollout.
    ``next_values[t]`` is V of the observation that followed step t — at a truncation (a time limit) the last
    observation of the episode, so a cut-off episode is bootstrapped and only a real termination counts as zero.

    Args:
        rewards, values, next_values, terminated: (T,) or (T, N), time first. truncated: as terminated (default
            none). gamma: discount in [0, 1]. gae_lambda: λ in [0, 1].

    Returns:
        ``(advantages, returns)`` with returns = advantages + values (the critic's regression target), Tensors
        that do not require grad.

    Example:
        >>> adv, ret = generalized_advantage_estimate([1.0, 1.0], [0.5, 1.0], [1.0, 2.0], [False, False],
        ...                                           gamma=0.5, gae_lambda=1.0)
        >>> adv.tolist(), ret.tolist()  # A_0 = 1 + 0.5·1 + 0.25·V(s_2) − V(s_0) = 1.5
        ([1.5, 1.0], [2.0, 2.0])
    """
    who = "generalized_advantage_estimate"
    r = _array(who, "rewards", rewards)
    wide = _wide(rewards, r)
    arrays = {}
    for name, x in (("values", values), ("next_values", next_values)):
        a = _array(who, name, x)
        if a.shape != r.shape:
            raise ValueError(f"{who}: {name} has shape {a.shape} but rewards have shape {r.shape}")
        wide = wide or _wide(x, a)
        arrays[name] = a.astype(np.float64)
    r = r.astype(np.float64)
    g, lam = _gamma(who, gamma), _gamma(who, gae_lambda, "gae_lambda")
    term = _flags(who, "terminated", terminated, r.shape)
    done = term | _flags(who, "truncated", truncated, r.shape)
    v, nv = arrays["values"], arrays["next_values"]
    delta = r + g * np.where(term, 0.0, nv) - v
    adv = np.zeros_like(r)
    running = np.zeros_like(r[0])
    for t in range(len(r) - 1, -1, -1):
        running = delta[t] + g * lam * np.where(done[t], 0.0, running)
        adv[t] = running
    like = values if isinstance(values, Tensor) else rewards
    dtype = np.float64 if wide else np.float32
    return _out(adv.astype(dtype), like), _out((adv + v).astype(dtype), like)


def normalize_advantages(advantages: Tensor, eps: float = 1e-8) -> Tensor:
    r"""Standardised advantages :math:`(\hat A - \operatorname{mean}\hat A) / (\operatorname{std}\hat A + \epsilon)`
    over all elements, with the unbiased standard deviation (as ``tensor.std()``).

    Rescaling by a constant does not change which actions the gradient favours, only its size, which this keeps
    near one whatever the scale of the rewards; the shift removes the part of the signal that any baseline would.

    Example:
        >>> import deepgrad as dg
        >>> normalize_advantages(dg.tensor([1.0, 2.0, 3.0]), eps=0.0).tolist()
        [-1.0, 0.0, 1.0]
    """
    if not isinstance(advantages, Tensor):
        raise TypeError(f"normalize_advantages: expected a Tensor, got {type(advantages).__name__}")
    if advantages.numel() < 2:
        raise ValueError(f"normalize_advantages: need at least 2 advantages for a standard deviation, got shape "
                         f"{tuple(advantages.shape)}")
    return (advantages - advantages.mean()) / (advantages.std() + eps)


def policy_gradient_loss(log_probs: Tensor, advantages: Tensor) -> Tensor:
    r"""The score-function surrogate :math:`L(\theta) = -\frac{1}{T}\sum_t \log\pi_\theta(a_t \mid s_t)\,\hat A_t`,
    whose gradient is the policy gradient :math:`-\hat{\mathbb E}[\nabla_\theta \log\pi_\theta(a_t|s_t)\,\hat A_t]`.

    ``advantages`` are constants of the update (detached here): with :math:`\hat A_t = G_t - b(s_t)` this is
    REINFORCE with a baseline, with a TD/n-step advantage the actor's loss of A2C.

    Args:
        log_probs: log π(a_t|s_t) of the actions taken, any shape. advantages: the same shape.

    Example:
        >>> import deepgrad as dg
        >>> policy_gradient_loss(dg.tensor([-0.5, -2.0]), dg.tensor([1.0, -1.0])).item()
        -0.75
    """
    for name, x in (("log_probs", log_probs), ("advantages", advantages)):
        if not isinstance(x, Tensor):
            raise TypeError(f"policy_gradient_loss: {name} must be a Tensor, got {type(x).__name__}")
    if tuple(log_probs.shape) != tuple(advantages.shape):
        raise ValueError(f"policy_gradient_loss: log_probs have shape {tuple(log_probs.shape)} but advantages "
                         f"{tuple(advantages.shape)}; they must match (one advantage per action taken)")
    return -(log_probs * advantages.detach()).mean()
