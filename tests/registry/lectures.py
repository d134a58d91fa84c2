"""Registry entries for the lecture families' differentiable losses outside the core: the VAE loss with its
squared-error reconstruction."""
import numpy as np

import deepgrad as dg
from deepgrad.models import vae_loss
from harness import case


def vae_mse_ref(xhat, x, mu, logvar):
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    return np.asarray((((xhat - x) ** 2).sum() + kl) / xhat.shape[0])


case("vae_loss", lambda r, x, m, lv: vae_loss(r, x, m, lv, reconstruction="mse"), [(3, 5), (3, 5), (3, 2), (3, 2)],
     vae_mse_ref, variant="mse")


def heaviside_ref(a, v):
    return np.where(a > 0, 1.0, np.where(a == 0, v, 0.0)).astype(a.dtype)


# values broadcast against the input; a third of the inputs are exactly 0 so both branches are exercised
case("heaviside", lambda x, v: dg.heaviside(x * (x.abs() > 0.5), v), [(3, 4), (4,)],
     lambda a, v: heaviside_ref(a * (np.abs(a) > 0.5), v))
