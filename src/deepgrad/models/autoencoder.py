"""Autoencoders: x → encoder → z (l < d dims) → decoder → x̂, trained to reproduce x (MSE or cross-entropy).

* ``Autoencoder``: MLP encoder/decoder of configurable widths, optionally with tied weights (W_dec = W_encᵀ).
* ``ConvAutoencoder``: strided convolutions down, transposed convolutions up (a deep convolutional autoencoder).
* ``VAE`` (Kingma & Welling, 2014): the encoder outputs a Gaussian q(z|x) = N(μ, diag σ²); z = μ + σ ⊙ ε with
  ε ~ N(0, I) (the reparameterisation trick keeps z differentiable in μ and σ); trained with :func:`vae_loss`, the
  negative evidence lower bound (reconstruction + KL to the prior N(0, I)), so that decoding z ~ N(0, I) generates.
"""
from __future__ import annotations

from .. import nn
from ..creation import randn, randn_like, zeros
from ..nn import functional as F
from ..tensor import Tensor
from .mlp import _activation

__all__ = ["Autoencoder", "ConvAutoencoder", "VAE", "vae_loss"]


def _mlp(sizes: list[int], activation, last_activation) -> nn.Sequential:
    layers: list = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        act = _activation(activation if i < len(sizes) - 2 else last_activation)
        if act is not None:
            layers.append(act)
    return nn.Sequential(*layers)


def _check_sizes(who: str, sizes) -> list[int]:
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s <= 0 for s in sizes):
        raise ValueError(f"{who}: sizes must list at least two positive widths (input ... code), got {sizes}")
    return sizes


class Autoencoder(nn.Module):
    """x̂ = g(f(x)): an MLP encoder f with widths ``sizes`` (input first, code last) and the mirrored decoder g.

    Args:
        sizes: encoder widths, e.g. (784, 256, 32): fewer code units than inputs is undercomplete, more is
            overcomplete. activation: hidden non-linearity (name or Module, as ``MLP``); the code is linear.
        output_activation: applied to x̂ ('sigmoid' (default) for data in [0, 1], None for logits / real values).
        tied: decoder layer k uses the transposed weight of encoder layer k (W₂ = W₁ᵀ) with its own bias.

    Shape:
        input (N, d) or (N, *) flattened -> x̂ with the input's shape; ``encode`` gives (N, code).

    Example:
        >>> import deepgrad as dg
        >>> ae = dg.models.Autoencoder([784, 64, 2])
        >>> ae.encode(dg.rand(5, 1, 28, 28)).shape, ae(dg.rand(5, 1, 28, 28)).shape
        ((5, 2), (5, 1, 28, 28))
    """

    def __init__(self, sizes=(784, 256, 32), activation="relu", output_activation="sigmoid", tied: bool = False) -> None:
        super().__init__()
        sizes = _check_sizes("Autoencoder", sizes)
        self.sizes, self.tied = sizes, bool(tied)
        self.encoder = _mlp(sizes, activation, None)
        if tied:
            self.decoder_biases = nn.ParameterList([nn.Parameter(zeros(s)) for s in reversed(sizes[:-1])])
            self.activation = _activation(activation)
        else:
            self.decoder = _mlp(sizes[::-1], activation, None)
        self.output_activation = _activation(output_activation)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x.reshape(x.shape[0], -1))

    def decode(self, z: Tensor) -> Tensor:
        if self.tied:
            linears = [m for m in self.encoder if isinstance(m, nn.Linear)][::-1]
            for i, (fc, b) in enumerate(zip(linears, self.decoder_biases)):
                z = F.linear(z, fc.weight.transpose(0, 1), b)
                if i < len(linears) - 1:
                    z = self.activation(z)
        else:
            z = self.decoder(z)
        return z if self.output_activation is None else self.output_activation(z)

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x)).reshape(x.shape)


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder: [Conv 3×3 stride 2 → ReLU] per entry of ``channels`` halves the image each time;
    [ConvTranspose 3×3 stride 2 → ReLU] mirrors it back, the last with ``output_activation``.

    Args:
        in_channels: image channels (1). channels: widths of the downsampling stages, e.g. (16, 32): 28×28 → 7×7.
        output_activation: 'sigmoid' (default) or None.

    Shape:
        input (N, C, H, W) with H, W divisible by 2^len(channels) -> same shape; ``encode`` gives the feature map.

    Example:
        >>> import deepgrad as dg
        >>> dg.models.ConvAutoencoder(1, (8, 16))(dg.rand(2, 1, 28, 28)).shape
        (2, 1, 28, 28)
    """

    def __init__(self, in_channels: int = 1, channels=(16, 32), output_activation="sigmoid") -> None:
        super().__init__()
        chans = [int(in_channels)] + [int(c) for c in channels]
        if len(chans) < 2 or any(c <= 0 for c in chans):
            raise ValueError(f"ConvAutoencoder: in_channels and channels must be positive, got {chans}")
        enc: list = []
        for a, b in zip(chans[:-1], chans[1:]):
            enc += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.ReLU()]
        dec: list = []
        back = chans[::-1]
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec.append(nn.ConvTranspose2d(a, b, 3, stride=2, padding=1, output_padding=1))
            if i < len(back) - 2:
                dec.append(nn.ReLU())
        out = _activation(output_activation)
        if out is not None:
            dec.append(out)
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.decoder(self.encoder(x))


class VAE(nn.Module):
    """Variational autoencoder: (μ, log σ²) = encoder(x), z = μ + σ ⊙ ε with ε ~ N(0, I), decoder(z) = logits of
    p(x|z) (Bernoulli pixels).

    Args:
        input_dim: d (784 for MNIST). hidden: encoder widths (the decoder mirrors them), default (400,).
        latent_dim: l (2 gives a plottable latent space). activation: hidden non-linearity (default 'relu').

    Shape:
        input (N, d) or (N, *) flattened -> (recon_logits (N, d), mu (N, l), logvar (N, l)); in eval mode z = μ.

    Example:
        >>> import deepgrad as dg
        >>> vae = dg.models.VAE(784, (64,), latent_dim=2)
        >>> logits, mu, logvar = vae(dg.rand(3, 784))
        >>> vae_loss = dg.models.vae_loss(logits, dg.rand(3, 784), mu, logvar)
        >>> vae.sample(4).shape
        (4, 784)
    """

    def __init__(self, input_dim: int = 784, hidden=(400,), latent_dim: int = 2, activation="relu") -> None:
        super().__init__()
        sizes = _check_sizes("VAE", [input_dim, *hidden])
        if int(latent_dim) <= 0:
            raise ValueError(f"VAE: latent_dim must be a positive integer, got {latent_dim!r}")
        self.input_dim, self.latent_dim = sizes[0], int(latent_dim)
        self.encoder = _mlp(sizes, activation, activation)
        self.fc_mu = nn.Linear(sizes[-1], latent_dim)
        self.fc_logvar = nn.Linear(sizes[-1], latent_dim)
        self.decoder = _mlp([latent_dim, *sizes[::-1]], activation, None)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.encoder(x.reshape(x.shape[0], -1))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """z = μ + σ ⊙ ε, σ = exp(½ log σ²), ε ~ N(0, I): the sample is a differentiable function of μ and σ."""
        return mu + (logvar * 0.5).exp() * randn_like(mu)

    def decode(self, z: Tensor) -> Tensor:
        """Logits of the Bernoulli means (apply sigmoid for images)."""
        return self.decoder(z)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar) if self.training else mu
        return self.decode(z), mu, logvar

    def sample(self, n: int) -> Tensor:
        """n images decoded from the prior z ~ N(0, I), as probabilities in (0, 1)."""
        w = self.fc_mu.weight
        return self.decode(randn(n, self.latent_dim, dtype=w.dtype, device=w.device)).sigmoid()


def vae_loss(recon: Tensor, x: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0,
             reconstruction: str = "bce") -> Tensor:
    """−ELBO per example: reconstruction term + β · KL(N(μ, σ²) ‖ N(0, I)), with the closed form
    KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²); both terms summed over features and averaged over the batch.

    ``reconstruction='bce'`` (default): ``recon`` are the logits of Bernoulli pixel means and the term is
    BCE(σ(recon), x) = −log p(x|z) (x in [0, 1]). ``reconstruction='mse'``: ``recon`` is the reconstruction x̂ itself
    (a Gaussian decoder's mean) and the term is the squared error Σ_i (x̂_i − x_i)², i.e. −log N(x; x̂, ½ I) up to a
    constant: the lectures' "generative loss: mean squared error". The KL term (the "latent loss") pulls every
    q(z|x) towards the unit Gaussian so that the decoder also works on samples from the prior. β = 1 is the VAE;
    β > 1 the β-VAE.
    """
    if reconstruction not in ("bce", "mse"):
        raise ValueError(f"vae_loss: reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
    if x.numel() != recon.numel():
        raise ValueError(f"vae_loss: the input has {x.numel()} values but the reconstruction {tuple(recon.shape)} "
                         f"has {recon.numel()}")
    x = x.reshape(recon.shape)
    n = recon.shape[0]
    if reconstruction == "bce":
        rec = F.binary_cross_entropy_with_logits(recon, x, reduction="sum")
    else:
        rec = F.mse_loss(recon, x, reduction="sum")
    kl = -0.5 * (1.0 + logvar - mu * mu - logvar.exp()).sum()
    return (rec + beta * kl) / n
