"""Deep Q-learning demo: a DQN (replay buffer, target network, ε-greedy exploration) learns to balance the NumPy
CartPole; the episode-return curve."""
from __future__ import annotations

import copy

import numpy as np

import deepgrad as dg

from ..models import DQN, ReplayBuffer, dqn_train_step, epsilon_greedy, linear_epsilon, update_target
from ..rl import CartPoleEnv
from . import demo
from ._mlp_util import figure, pyplot, save


@demo("dqn", "DQN (Mnih et al., 2015) on CartPole-v1: replay buffer, target network, ε-greedy; episode returns")
def dqn(out: str, fast: bool) -> dict:
    total_steps, start, decay, target_every = (600, 200, 400, 100) if fast else (30_000, 1000, 8000, 500)
    dg.manual_seed(0)
    rng = np.random.default_rng(0)
    env = CartPoleEnv()
    q = DQN(4, 2, hidden=(64, 64))
    target = copy.deepcopy(q)
    opt = dg.optim.Adam(q.parameters(), lr=1e-3)
    buf = ReplayBuffer(20_000, (4,), seed=0)
    obs, _ = env.reset(seed=0)
    returns, losses, ep_return, target_updates, solved_at = [], [], 0.0, 0, None
    for step in range(total_steps):
        eps = linear_epsilon(step, 1.0, 0.05, decay)
        a = epsilon_greedy(q, obs, eps, rng)
        nxt, r, term, trunc, _ = env.step(a)
        buf.push(obs, a, r, nxt, term)
        obs, ep_return = nxt, ep_return + r
        if term or trunc:
            returns.append(ep_return)
            obs, ep_return = env.reset()[0], 0.0
            if solved_at is None and len(returns) >= 10 and np.mean(returns[-10:]) >= 195:
                solved_at = step
                break
        if step >= start:
            losses.append(dqn_train_step(q, target, opt, buf.sample(64), gamma=0.99))
            if step % target_every == 0:
                update_target(target, q)
                target_updates += 1
    last10 = float(np.mean(returns[-10:])) if returns else 0.0
    print(f"{len(returns)} episodes in {step + 1} steps ({len(losses)} gradient steps, {target_updates} target "
          f"updates, final ε {eps:.2f}): mean return of the last 10 episodes {last10:.1f}, best {max(returns):.0f}"
          + (f"; solved (≥ 195) at step {solved_at}" if solved_at is not None else ""))

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(12, 4))
        axes[0].plot(returns, lw=0.8, label="episode return")
        k = min(10, len(returns))
        axes[0].plot(range(k - 1, len(returns)), np.convolve(returns, np.ones(k) / k, mode="valid"), label="mean of 10")
        axes[0].axhline(195, color="gray", ls="--", lw=0.8, label="solved: mean of 10 ≥ 195")
        axes[0].set_xlabel("episode")
        axes[0].set_ylabel("return (steps balanced)")
        axes[0].legend()
        axes[1].semilogy(np.convolve(losses, np.ones(50) / 50, mode="valid") if len(losses) > 50 else losses)
        axes[1].set_xlabel("gradient step")
        axes[1].set_ylabel("Huber TD loss (moving average of 50)")
        save(fig, path)

    return {"returns": returns, "mean_last10": last10, "best": float(max(returns)), "steps": step + 1,
            "train_steps": len(losses), "target_updates": target_updates, "final_epsilon": eps,
            "buffer_size": len(buf), "losses_finite": bool(np.isfinite(losses).all()), "solved_at": solved_at,
            "figure": figure(out, "dqn.png", draw)}
