"""Reinforcement-learning demos on CartPole: a DQN (replay buffer, target network, ε-greedy exploration), and
REINFORCE with a learned baseline beside A2C, the policy-gradient pair, until each solves the task."""
from __future__ import annotations

import copy

import numpy as np

import deepgrad as dg

from ..models import DQN, ReplayBuffer, dqn_train_step, epsilon_greedy, linear_epsilon, update_target
from ..rl import A2C, REINFORCE, ActorCritic, CartPoleEnv, make_env
from ..viz import plots
from . import demo
from ._mlp_util import figure, pyplot, save, table


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


# Hyper-parameters that solved CartPole for each of the seeds 0-9 (2026-12-02 sweep; see docs/demos.md).
_REINFORCE = {"lr": 5e-3, "gamma": 0.99}
_A2C = {"lr": 1e-3, "gamma": 0.99, "n_steps": 5, "entropy_coef": 0.01, "value_coef": 0.5, "max_grad_norm": 0.5}
_A2C_ENVS = 8


def _policy_gradient_run(method: str, seed: int, max_episodes: int):
    dg.manual_seed(seed)
    model = ActorCritic(4, 2, hidden=(64,))
    if method == "REINFORCE":
        return REINFORCE(model, **_REINFORCE).learn(make_env("CartPole-v1"), max_episodes, seed=seed)
    envs = [make_env("CartPole-v1") for _ in range(_A2C_ENVS)]
    return A2C(model, **_A2C).learn(envs, max_episodes, seed=seed)


@demo("reinforce", "REINFORCE with a learned baseline and A2C solve CartPole-v1 (mean return >= 195 over 100 "
                   "consecutive episodes): the episode counts and the return curves")
def reinforce(out: str, fast: bool) -> dict:
    seeds = (0,) if fast else (0, 1, 2, 3, 4)
    limits = {"REINFORCE": 40, "A2C": 120} if fast else {"REINFORCE": 2000, "A2C": 5000}
    backend = "gymnasium" if not isinstance(make_env("CartPole-v1"), CartPoleEnv) else "deepgrad"
    print(f"CartPole-v1 from {backend}; REINFORCE {_REINFORCE} on one environment, updating after each episode; "
          f"A2C {_A2C} on {_A2C_ENVS} environments in lock-step")
    runs: dict = {m: {} for m in limits}
    rows = []
    for seed in seeds:
        for method, limit in limits.items():
            log = _policy_gradient_run(method, seed, limit)
            runs[method][seed] = log
            rows.append([method, seed, log.solved_at if log.solved_at is not None else f"not in {limit}",
                         log.steps, log.updates, round(log.seconds, 1),
                         round(float(np.mean(log.returns[-100:])), 1)])
    table(["method", "seed", "solved at episode", "env steps", "updates", "seconds", "mean of last 100"], rows)
    first = {m: runs[m][seeds[0]] for m in limits}
    for m, log in first.items():
        print(f"{m} (seed {seeds[0]}): " + (f"solved at episode {log.solved_at} in {log.seconds:.1f} s"
                                            if log.solved_at is not None else
                                            f"not solved in {len(log.returns)} episodes ({log.seconds:.1f} s)"))

    def draw(path):
        plots.episode_returns({m: log.returns for m, log in first.items()}, path, window=100, target=195.0,
                              solved_at={m: log.solved_at for m, log in first.items()},
                              title=f"CartPole-v1 ({backend}), seed {seeds[0]}")

    result = {"backend": backend, "seeds": list(seeds), "figure": figure(out, "reinforce.png", draw)}
    for m in limits:
        result[m] = {seed: {"solved_at": log.solved_at, "episodes": len(log.returns), "steps": log.steps,
                            "updates": log.updates, "seconds": log.seconds, "returns": log.returns,
                            "losses": log.losses} for seed, log in runs[m].items()}
    return result
