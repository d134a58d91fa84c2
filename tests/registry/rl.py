"""Registry entries for deepgrad.rl: the score-function loss, advantage normalisation, and ActorCritic (as a layer,
both the separate-networks and the shared-trunk forms), with NumPy references."""
import numpy as np

import deepgrad as dg
from deepgrad.rl import ActorCritic, normalize_advantages, policy_gradient_loss
from harness import Spec as S
from harness import case, error, layer

# the advantages are constants of the update (detached inside), so only log π is differentiated
case("policy_gradient_loss", policy_gradient_loss, [(6,), S((6,), grad=False)], lambda lp, a: -(lp * a).mean(),
     gradgrad=True)
case("policy_gradient_loss", policy_gradient_loss, [(3, 4), S((3, 4), grad=False)],
     lambda lp, a: -(lp * a).mean(), variant="rollout-TxN")
case("normalize_advantages", normalize_advantages, [(7,)],
     lambda a: (a - a.mean()) / (a.std(ddof=1) + 1e-8), gradgrad=True)
case("normalize_advantages", lambda a: normalize_advantages(a, eps=0.5), [S((2, 5), noncontig=True)],
     lambda a: (a - a.mean()) / (a.std(ddof=1) + 0.5), variant="eps0.5-2d")


def _ac_separate(p, x):
    h = np.tanh(x @ p["actor.0.weight"].T + p["actor.0.bias"])
    logits = h @ p["actor.2.weight"].T + p["actor.2.bias"]
    g = np.tanh(x @ p["critic.0.weight"].T + p["critic.0.bias"])
    return logits, (g @ p["critic.2.weight"].T + p["critic.2.bias"])[:, 0]


def _ac_shared(p, x):
    h = np.maximum(x @ p["body.0.0.weight"].T + p["body.0.0.bias"], 0)
    h = np.maximum(h @ p["body.0.2.weight"].T + p["body.0.2.bias"], 0)
    return h @ p["actor.weight"].T + p["actor.bias"], (h @ p["critic.weight"].T + p["critic.bias"])[:, 0]


layer("ActorCritic", lambda: ActorCritic(4, 3, hidden=(5,)), [(6, 4)], _ac_separate)
layer("ActorCritic[shared-relu]", lambda: ActorCritic(3, 2, hidden=(4, 5), activation="relu", shared=True),
      [(5, 3)], _ac_shared)

error("ActorCritic", lambda: ActorCritic(4, 2)(dg.zeros(3, 5)), ValueError,
      r"ActorCritic: expected observations of shape \(B, 4\), got \(3, 5\)")
error("ActorCritic", lambda: ActorCritic(4, 1), ValueError, "n_actions >= 2")
error("ActorCritic", lambda: ActorCritic(4, 2, activation="gelu"), ValueError, "activation must be one of")
error("policy_gradient_loss", lambda: policy_gradient_loss(dg.zeros(4), dg.zeros(4, 1)), ValueError,
      r"log_probs have shape \(4,\) but advantages \(4, 1\)")
error("normalize_advantages", lambda: normalize_advantages(dg.zeros(1)), ValueError, "at least 2 advantages")
