"""Reinforcement-learning environments: a NumPy CartPole with gymnasium's reset/step API, and ``make_env``."""
from .cartpole import CartPoleEnv, Discrete, make_env

__all__ = ["CartPoleEnv", "Discrete", "make_env"]
