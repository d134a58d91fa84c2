"""REINFORCE on CartPole written as a PyTorch program: a two-layer policy, torch.distributions.Categorical for
sampling actions and their log-probabilities, discounted normalised returns, Adam.

The environment is deepgrad's built-in CartPole (NumPy only, gymnasium's dynamics and API), used by both
versions, so that the comparison is of the learning code alone. The two import blocks below are the whole
difference between the PyTorch and the deepgrad version.

    python benchmarks/ports/reinforce_cartpole.py --backend torch
    python benchmarks/ports/reinforce_cartpole.py --backend deepgrad
    python benchmarks/ports/reinforce_cartpole.py --backend deepgrad --fast   # the test's setting
"""
import argparse

import numpy as np

from deepgrad.rl.cartpole import CartPoleEnv

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--episodes", type=int, default=300)
parser.add_argument("--gamma", type=float, default=0.99)
parser.add_argument("--seed", type=int, default=543)
parser.add_argument("--root", default=None, help="unused (the common option of the ports)")
parser.add_argument("--fast", action="store_true", help="30 episodes (runs the code; learning needs ~150)")
args = parser.parse_args()
if args.fast:
    args.episodes = 30

if args.backend == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from torch.distributions import Categorical
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    import deepgrad.nn as nn
    import deepgrad.nn.functional as F
    import deepgrad.optim as optim
    from deepgrad.distributions import Categorical


class Policy(nn.Module):
    def __init__(self):
        super().__init__()
        self.affine1 = nn.Linear(4, 128)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(128, 2)

    def forward(self, x):
        x = F.relu(self.dropout(self.affine1(x)))
        return F.softmax(self.affine2(x), dim=1)


device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
torch.manual_seed(args.seed)
env = CartPoleEnv()
policy = Policy().to(device)
optimizer = optim.Adam(policy.parameters(), lr=1e-2)
eps = float(np.finfo(np.float32).eps)


def select_action(state, log_probs):
    state = torch.from_numpy(state).float().unsqueeze(0).to(device)
    m = Categorical(policy(state))
    action = m.sample()
    log_probs.append(m.log_prob(action))
    return action.item()


def finish_episode(rewards, log_probs):
    R, returns = 0.0, []
    for r in rewards[::-1]:
        R = r + args.gamma * R
        returns.insert(0, R)
    returns = torch.tensor(returns, device=device)
    returns = (returns - returns.mean()) / (returns.std() + eps)
    loss = torch.cat([-lp * g for lp, g in zip(log_probs, returns)]).sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


lengths = []
for episode in range(args.episodes):
    state, _ = env.reset(seed=args.seed + episode)
    rewards, log_probs = [], []
    for _ in range(500):
        state, reward, terminated, truncated, _ = env.step(select_action(state, log_probs))
        rewards.append(reward)
        if terminated or truncated:
            break
    finish_episode(rewards, log_probs)
    lengths.append(len(rewards))
    if (episode + 1) % 20 == 0:
        print(f"episode {episode + 1}: mean length of the last 20 {np.mean(lengths[-20:]):.1f}")
print(f"first 20 mean length {np.mean(lengths[:20]):.1f}, last 20 mean length {np.mean(lengths[-20:]):.1f}")
