"""Registry entries for the lecture families' differentiable losses outside the core: the VAE loss with its
squared-error reconstruction."""
import numpy as np

from deepgrad.models import vae_loss
from harness import case


def vae_mse_ref(xhat, x, mu, logvar):
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    return np.asarray((((xhat - x) ** 2).sum() + kl) / xhat.shape[0])


case("vae_loss", lambda r, x, m, lv: vae_loss(r, x, m, lv, reconstruction="mse"), [(3, 5), (3, 5), (3, 2), (3, 2)],
     vae_mse_ref, variant="mse")
