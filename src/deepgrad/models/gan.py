"""Generative adversarial networks (Goodfellow et al., 2014): a generator G maps noise z ~ p_z to data space, a
discriminator D scores real against generated samples, and the two play

    min_G max_D  E_{x∼p_data}[log D(x)] + E_{z∼p_z}[log(1 − D(G(z)))].

``gan_train_step`` alternates one discriminator and one generator update; ``gan_train_round`` takes k1
discriminator and k2 generator steps per round (the lectures' k1/k2). With the *non-saturating* generator loss
−log D(G(z)) (the default) the generator gets strong gradients early, when D easily rejects its samples and
log(1 − D(G(z))) is flat; 'minimax' uses the original objective.
"""
from __future__ import annotations

from collections.abc import Callable

from .. import nn
from ..autograd import no_grad
from ..creation import ones, zeros
from ..nn import functional as F
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .autoencoder import _mlp

__all__ = ["Generator", "Discriminator", "DCGenerator", "DCDiscriminator", "discriminator_step", "generator_step",
           "gan_train_step", "gan_train_round"]


class Generator(nn.Module):
    """x = G(z): an MLP from the latent space to data space.

    Args:
        latent_dim: size of z. out_features: size of a sample. hidden: widths (default (128, 128)).
        activation: hidden non-linearity (default 'relu'). output_activation: None (real values, default),
            'tanh' (data scaled to [−1, 1]) or 'sigmoid'.

    Example:
        >>> import deepgrad as dg
        >>> dg.models.Generator(8, 2)(dg.randn(5, 8)).shape
        (5, 2)
    """

    def __init__(self, latent_dim: int, out_features: int, hidden=(128, 128), activation="relu",
                 output_activation=None) -> None:
        super().__init__()
        self.latent_dim = int(latent_dim)
        self.net = _mlp([latent_dim, *hidden, out_features], activation, output_activation)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """D(x) = σ(logit(x)): an MLP returning one logit per sample (the probability that x is real is its sigmoid).

    Args:
        in_features: size of a sample (flattened). hidden: widths (default (128, 128)).
        activation: hidden non-linearity (default 'leaky_relu', the usual choice for discriminators).

    Example:
        >>> import deepgrad as dg
        >>> dg.models.Discriminator(2)(dg.randn(5, 2)).shape
        (5, 1)
    """

    def __init__(self, in_features: int, hidden=(128, 128), activation="leaky_relu") -> None:
        super().__init__()
        self.net = _mlp([in_features, *hidden, 1], activation, None)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x.reshape(x.shape[0], -1))


class DCGenerator(nn.Module):
    """DCGAN-style generator for 28×28 images (Radford et al., 2016, scaled down): z → Linear → (2c, 7, 7) →
    ConvTranspose stride 2 → BN → ReLU → (c, 14, 14) → ConvTranspose stride 2 → tanh → (out_channels, 28, 28).

    Example:
        >>> import deepgrad as dg
        >>> dg.models.DCGenerator(16, channels=8)(dg.randn(2, 16)).shape
        (2, 1, 28, 28)
    """

    def __init__(self, latent_dim: int = 64, out_channels: int = 1, channels: int = 32) -> None:
        super().__init__()
        self.latent_dim, self.channels = int(latent_dim), int(channels)
        self.fc = nn.Sequential(nn.Linear(latent_dim, 2 * channels * 49), nn.ReLU())
        self.net = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, stride=2, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
            nn.ConvTranspose2d(channels, out_channels, 4, stride=2, padding=1), nn.Tanh())

    def forward(self, z: Tensor) -> Tensor:
        return self.net(self.fc(z).reshape(z.shape[0], 2 * self.channels, 7, 7))


class DCDiscriminator(nn.Module):
    """DCGAN-style discriminator for 28×28 images: Conv stride 2 → LeakyReLU → Conv stride 2 → LeakyReLU →
    Linear → one logit.

    Example:
        >>> import deepgrad as dg
        >>> dg.models.DCDiscriminator(channels=8)(dg.randn(2, 1, 28, 28)).shape
        (2, 1)
    """

    def __init__(self, in_channels: int = 1, channels: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(2 * channels * 49, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _check_loss(generator_loss: str, where: str) -> None:
    if generator_loss not in ("non_saturating", "minimax"):
        raise ValueError(f"{where}: generator_loss must be 'non_saturating' or 'minimax', got {generator_loss!r}")


def discriminator_step(D: nn.Module, opt_d: Optimizer, real: Tensor, fake: Tensor) -> dict:  # noqa: N803
    """One discriminator update, ascending log D(x) + log(1 − D(G(z))):
    L_D = BCE(D(x), 1) + BCE(D(G(z)), 0), with the fakes detached so only D learns.

    Returns {'d_loss', 'd_real' (mean D(x)), 'd_fake' (mean D(G(z)))} as floats.
    """
    n, m = real.shape[0], fake.shape[0]
    d_real, d_fake = D(real), D(fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(d_real, ones(n, 1, dtype=real.dtype, device=real.device))
              + F.binary_cross_entropy_with_logits(d_fake, zeros(m, 1, dtype=real.dtype, device=real.device)))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return {"d_loss": d_loss.item(), "d_real": d_real.detach().sigmoid().mean().item(),
            "d_fake": d_fake.detach().sigmoid().mean().item()}


def generator_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, fake: Tensor,  # noqa: N803
                   generator_loss: str = "non_saturating") -> float:
    """One generator update on the fakes G(z) (not detached):
    non-saturating L_G = BCE(D(G(z)), 1) = −log D(G(z)); minimax L_G = −BCE(D(G(z)), 0) = log(1 − D(G(z))).
    D's gradients are computed too but D is not stepped (its optimiser zeroes them before its next step)."""
    _check_loss(generator_loss, "generator_step")
    d_gen = D(fake)
    if generator_loss == "non_saturating":
        g_loss = F.binary_cross_entropy_with_logits(d_gen, ones(fake.shape[0], 1, dtype=d_gen.dtype,
                                                                device=d_gen.device))
    else:
        g_loss = -F.binary_cross_entropy_with_logits(d_gen, zeros(fake.shape[0], 1, dtype=d_gen.dtype,
                                                                  device=d_gen.device))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return g_loss.item()


def gan_train_step(G: nn.Module, D: nn.Module, opt_g: Optimizer, opt_d: Optimizer, real: Tensor, z: Tensor,  # noqa: N803
                   generator_loss: str = "non_saturating") -> dict:
    """One round of the adversarial game with one step each: :func:`discriminator_step` on (real, G(z)), then
    :func:`generator_step` with fresh D outputs on the same G(z).

    Returns:
        {'d_loss', 'g_loss', 'd_real' (mean D(x)), 'd_fake' (mean D(G(z)) before the generator step)}.
    """
    _check_loss(generator_loss, "gan_train_step")
    fake = G(z)
    r = discriminator_step(D, opt_d, real, fake)
    r["g_loss"] = generator_step(G, D, opt_g, fake, generator_loss)
    return r


def gan_train_round(G: nn.Module, D: nn.Module, opt_g: Optimizer, opt_d: Optimizer,  # noqa: N803
                    real_batches: Callable[[], Tensor], noise: Callable[[int], Tensor], k1: int = 1, k2: int = 1,
                    generator_loss: str = "non_saturating") -> dict:
    """One round of Goodfellow et al.'s Algorithm 1 generalised: k1 discriminator steps, each on a fresh real batch
    ``real_batches()`` and fresh fakes G(noise(n)), then k2 generator steps, each on fresh noise.

    Returns the means over the round: {'d_loss', 'g_loss', 'd_real', 'd_fake', 'd_steps': k1, 'g_steps': k2}.
    """
    _check_loss(generator_loss, "gan_train_round")
    for name, k in (("k1", k1), ("k2", k2)):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"gan_train_round: {name} must be a positive integer, got {k!r}")
    d_hist = []
    for _ in range(k1):
        real = real_batches()
        with no_grad():
            fake = G(noise(real.shape[0]))
        d_hist.append(discriminator_step(D, opt_d, real, fake))
    n = real.shape[0]
    g_losses = [generator_step(G, D, opt_g, G(noise(n)), generator_loss) for _ in range(k2)]
    out = {k: sum(h[k] for h in d_hist) / k1 for k in d_hist[0]}
    out.update(g_loss=sum(g_losses) / k2, d_steps=k1, g_steps=k2)
    return out
