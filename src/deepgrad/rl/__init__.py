"""Reinforcement learning: a NumPy CartPole with gymnasium's reset/step API and ``make_env`` (gymnasium's
environment when it is installed); policy-gradient agents (REINFORCE with a baseline, A2C) and their functional
pieces (discounted returns, GAE, advantage normalisation, the score-function loss)."""
from .agents import A2C, REINFORCE, ActorCritic, TrainingLog, solved_at
from .cartpole import CartPoleEnv, Discrete, make_env
from .functional import discounted_returns, generalized_advantage_estimate, normalize_advantages, policy_gradient_loss

__all__ = ["A2C", "REINFORCE", "ActorCritic", "CartPoleEnv", "Discrete", "TrainingLog", "discounted_returns",
           "generalized_advantage_estimate", "make_env", "normalize_advantages", "policy_gradient_loss", "solved_at"]
