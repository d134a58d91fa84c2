"""Generative-model demos on the bundled MNIST sample and a 2-D toy: autoencoders (vs PCA), a VAE with a 2-D
latent space, and an MLP GAN learning a ring of eight Gaussians."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models import VAE, Autoencoder, Discriminator, Generator, gan_train_round, vae_loss
from ..nn import functional as F
from . import demo
from ._mlp_util import figure, mnist, pyplot, save, table


def _fit(model, loss_fn, x: np.ndarray, epochs: int, batch: int, lr: float, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    opt = dg.optim.Adam(model.parameters(), lr=lr)
    hist = []
    for _ in range(epochs):
        order, total = rng.permutation(len(x)), 0.0
        for i in range(0, len(x), batch):
            loss = loss_fn(x[order[i:i + batch]], rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(order[i:i + batch])
        hist.append(total / len(x))
    return hist


def _pca_mse(x_train: np.ndarray, x_test: np.ndarray, k: int) -> float:
    mean = x_train.mean(0)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    p = vt[:k]
    return float((((x_test - mean) @ p.T @ p + mean - x_test) ** 2).mean())


@demo("autoencoder", "MLP autoencoders on MNIST digits: 32-D and 2-D codes vs PCA, a denoising variant, "
                     "reconstructions and the 2-D code coloured by digit")
def autoencoder(out: str, fast: bool) -> dict:
    n, epochs = (500, 3) if fast else (5000, 8)
    x, _ = mnist("train", n)
    xt, yt = mnist("test", 200 if fast else 1000)
    res, recon, codes = {}, {}, {}
    for name, code, noise in (("code32", 32, 0.0), ("code2", 2, 0.0), ("denoising32", 32, 0.3)):
        dg.manual_seed(0)
        ae = Autoencoder([784, 256, code])

        def loss_fn(xb, rng, ae=ae, noise=noise):
            inp = xb + noise * rng.normal(size=xb.shape).astype(np.float32) if noise else xb
            return F.mse_loss(ae(dg.tensor(inp)), dg.tensor(xb))

        hist = _fit(ae, loss_fn, x, epochs, 64, 2e-3)
        noisy = np.clip(xt + 0.3 * np.random.default_rng(1).normal(size=xt.shape), 0, 1).astype(np.float32)
        with dg.no_grad():
            rec = ae(dg.tensor(xt)).numpy()
            rec_noisy = ae(dg.tensor(noisy)).numpy()
            codes[name] = ae.encode(dg.tensor(xt)).numpy()
        recon[name] = rec if not noise else rec_noisy
        res[name] = {"train_loss": hist, "test_mse": float(((rec - xt) ** 2).mean()),
                     "test_mse_from_noisy": float(((rec_noisy - xt) ** 2).mean())}
    res["pca32_mse"], res["pca2_mse"] = _pca_mse(x, xt, 32), _pca_mse(x, xt, 2)
    for k in ("code32", "code2", "denoising32"):
        print(f"{k:>12}: test MSE {res[k]['test_mse']:.4f}, from noisy input (σ = 0.3) "
              f"{res[k]['test_mse_from_noisy']:.4f}")
    print(f"PCA with 32 / 2 components: test MSE {res['pca32_mse']:.4f} / {res['pca2_mse']:.4f}")

    def draw_recon(path):
        plt = pyplot()
        rows = [("input", xt), ("noisy input", noisy), ("32-D code", recon["code32"]), ("2-D code", recon["code2"]),
                ("denoised", recon["denoising32"])]
        fig, axes = plt.subplots(len(rows), 10, figsize=(10, 1.1 * len(rows)))
        for r, (label, imgs) in enumerate(rows):
            for c in range(10):
                axes[r, c].imshow(imgs[c].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
                axes[r, c].axis("off")
            axes[r, 0].set_title(label, fontsize=8, loc="left")
        save(fig, path)

    def draw_codes(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6, 5))
        s = ax.scatter(codes["code2"][:, 0], codes["code2"][:, 1], c=yt, cmap="tab10", s=6)
        fig.colorbar(s, ax=ax, label="digit")
        ax.set_xlabel("code unit 1")
        ax.set_ylabel("code unit 2")
        ax.set_title("2-D autoencoder code of test digits")
        save(fig, path)

    res["figures"] = [figure(out, "autoencoder_reconstructions.png", draw_recon),
                      figure(out, "autoencoder_codes.png", draw_codes)]
    return res


@demo("vae", "Variational autoencoder with a 2-D latent space on MNIST digits: ELBO per epoch, reconstructions, "
             "samples from the prior and the decoded latent grid")
def vae(out: str, fast: bool) -> dict:
    n, epochs = (500, 3) if fast else (5000, 20)
    x, _ = mnist("train", n)
    xt, yt = mnist("test", 200 if fast else 1000)
    dg.manual_seed(0)
    model = VAE(784, (256,), latent_dim=2)

    def loss_fn(xb, rng):
        t = dg.tensor(xb)
        logits, mu, logvar = model(t)
        return vae_loss(logits, t, mu, logvar)

    hist = _fit(model, loss_fn, x, epochs, 64, 2e-3)
    elbo = [-v for v in hist]
    model.eval()
    with dg.no_grad():
        logits, mu, logvar = model(dg.tensor(xt))
        test_loss = vae_loss(logits, dg.tensor(xt), mu, logvar).item()
        kl = float((-0.5 * (1 + logvar.numpy() - mu.numpy() ** 2 - np.exp(logvar.numpy()))).sum(1).mean())
        recon = logits.sigmoid().numpy()
        dg.manual_seed(1)
        samples = model.sample(20).numpy()
        g = np.linspace(-2.5, 2.5, 12)
        grid = np.array([[a, b] for b in g[::-1] for a in g], np.float32)
        grid_img = model.decode(dg.tensor(grid)).sigmoid().numpy()
        means = mu.numpy()
    print(f"ELBO per epoch (nats/image): {[round(v, 1) for v in elbo]}")
    print(f"test: −ELBO {test_loss:.1f} nats/image, of which KL {kl:.2f}")
    dg.manual_seed(0)
    mse_model = VAE(784, (256,), latent_dim=2)

    def mse_loss_fn(xb, rng):
        t = dg.tensor(xb)
        logits, mu, logvar = mse_model(t)
        return vae_loss(logits.sigmoid(), t, mu, logvar, reconstruction="mse")

    mse_hist = _fit(mse_model, mse_loss_fn, x, epochs, 64, 2e-3)
    mse_model.eval()
    with dg.no_grad():
        mse_recon = mse_model(dg.tensor(xt))[0].sigmoid().numpy()
    recon_mse = {"bce": float(((recon - xt) ** 2).mean()), "mse": float(((mse_recon - xt) ** 2).mean())}
    print(f"reconstruction loss BCE vs squared error (x̂ = σ(decoder)): test pixel MSE {recon_mse['bce']:.4f} vs "
          f"{recon_mse['mse']:.4f}; squared-error objective per epoch {[round(v, 1) for v in mse_hist]}")

    def draw(path):
        plt = pyplot()
        fig = plt.figure(figsize=(15, 6.5), layout="constrained")
        ax = fig.add_subplot(1, 3, 1)
        ax.plot(range(1, len(elbo) + 1), elbo, "o-")
        ax.set_xlabel("epoch")
        ax.set_ylabel("ELBO (nats / image)")
        ax.set_title("training ELBO (higher is better)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax2 = fig.add_subplot(1, 3, 2)
        s = ax2.scatter(means[:, 0], means[:, 1], c=yt, cmap="tab10", s=6)
        fig.colorbar(s, ax=ax2, label="digit")
        ax2.set_xlabel("μ₁(x)")
        ax2.set_ylabel("μ₂(x)")
        ax2.set_title("latent means μ(x) of test digits")
        ax3 = fig.add_subplot(1, 3, 3)
        tiles = grid_img.reshape(12, 12, 28, 28).transpose(0, 2, 1, 3).reshape(12 * 28, 12 * 28)
        ax3.imshow(tiles, cmap="gray", extent=(-2.5, 2.5, -2.5, 2.5))
        ax3.set_xlabel("z₁")
        ax3.set_ylabel("z₂")
        ax3.set_title("decoder over the latent grid z ∈ [−2.5, 2.5]²")
        save(fig, path)

    def draw_samples(path):
        plt = pyplot()
        fig, axes = plt.subplots(3, 10, figsize=(10, 3.3))
        for c in range(10):
            for r, imgs in enumerate((xt, recon, samples)):
                axes[r, c].imshow(imgs[c].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
                axes[r, c].axis("off")
        for r, t in enumerate(("input", "reconstruction (z = μ)", "samples z ~ N(0, I)")):
            axes[r, 0].set_title(t, fontsize=8, loc="left")
        save(fig, path)

    return {"elbo": elbo, "test_neg_elbo": test_loss, "test_kl": kl, "mse_objective": mse_hist, "recon_mse": recon_mse,
            "figures": [figure(out, "vae.png", draw), figure(out, "vae_samples.png", draw_samples)]}



def _ring(n: int, rng: np.random.Generator, modes: int = 8, radius: float = 2.0, std: float = 0.05) -> np.ndarray:
    k = rng.integers(0, modes, n)
    angle = 2 * np.pi * k / modes
    return (np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + std * rng.normal(size=(n, 2))).astype(
        np.float32)


def _mode_stats(samples: np.ndarray, modes: int = 8, radius: float = 2.0, tol: float = 0.3) -> tuple[int, float]:
    """(modes holding at least 2 % of the samples within ``tol``, fraction of samples within ``tol`` of a mode)."""
    angle = 2 * np.pi * np.arange(modes) / modes
    centres = radius * np.stack([np.cos(angle), np.sin(angle)], 1)
    d = np.linalg.norm(samples[:, None] - centres[None], axis=2)
    near = d.min(1) < tol
    counts = np.bincount(d.argmin(1)[near], minlength=modes)
    return int((counts >= 0.02 * len(samples)).sum()), float(near.mean())


def _spread(samples: np.ndarray) -> dict:
    """Mean and standard deviation of the samples' distance from the origin, and the overall coordinate std."""
    r = np.linalg.norm(samples, axis=1)
    return {"radius_mean": float(r.mean()), "radius_std": float(r.std()), "std": samples.std(0).tolist()}


def _train_gan(rounds: int, k1: int, k2: int, batch: int, marks=(), seed: int = 0):
    rng = np.random.default_rng(seed)
    dg.manual_seed(seed)
    G, D = Generator(8, 2, hidden=(128, 128)), Discriminator(2, hidden=(128, 128))  # noqa: N806
    opt_g = dg.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = dg.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    z_fixed = dg.randn(1000, 8)
    snaps, hist = {}, {"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
    steps = {"d": 0, "g": 0}
    for r in range(rounds + 1):
        if r in marks or r == rounds:
            with dg.no_grad():
                snaps[r] = G(z_fixed).numpy()
        if r == rounds:
            break
        out = gan_train_round(G, D, opt_g, opt_d, lambda: dg.tensor(_ring(batch, rng)), lambda n: dg.randn(n, 8),
                              k1, k2)
        steps["d"] += out["d_steps"]
        steps["g"] += out["g_steps"]
        for k in hist:
            hist[k].append(out[k])
    return snaps, hist, steps


@demo("gan", "An MLP GAN (non-saturating loss) learning a ring of 8 Gaussians with k1 discriminator and k2 "
             "generator steps per round: samples over training, modes covered and spread against the data's")
def gan(out: str, fast: bool) -> dict:
    rounds, batch, cmp_rounds = (150, 64, 30) if fast else (3000, 128, 1500)
    marks = sorted({0, rounds // 10, rounds // 3, rounds})
    snaps, hist, steps = _train_gan(rounds, 1, 1, batch, marks)
    modes, quality = _mode_stats(snaps[rounds])
    real = _ring(1000, np.random.default_rng(1))
    spread, data_spread = _spread(snaps[rounds]), _spread(real)
    print(f"k1 = k2 = 1, after {rounds} rounds: {modes}/8 modes covered, {quality:.1%} of samples within 0.3 of a "
          f"mode; radius {spread['radius_mean']:.3f} ± {spread['radius_std']:.3f} (data {data_spread['radius_mean']:.3f}"
          f" ± {data_spread['radius_std']:.3f}); D(real) {np.mean(hist['d_real'][-50:]):.2f}, "
          f"D(fake) {np.mean(hist['d_fake'][-50:]):.2f}")
    compare, rows = {}, []
    for k1, k2 in ((1, 1), (3, 1), (1, 3)):
        s, _, st = _train_gan(cmp_rounds, k1, k2, batch)
        m, q = _mode_stats(s[cmp_rounds])
        sp = _spread(s[cmp_rounds])
        compare[f"{k1},{k2}"] = {"modes_covered": m, "quality": q, "d_steps": st["d"], "g_steps": st["g"], **sp}
        rows.append([k1, k2, st["d"], st["g"], f"{m}/8", q, sp["radius_mean"], sp["radius_std"]])
    print(f"k1 discriminator and k2 generator steps per round, {cmp_rounds} rounds each "
          f"(data: radius {data_spread['radius_mean']:.3f} ± {data_spread['radius_std']:.3f}):")
    table(["k1", "k2", "D steps", "G steps", "modes", "near a mode", "radius", "radius std"], rows)

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, len(marks) + 1, figsize=(3.6 * (len(marks) + 1), 4), layout="constrained")
        for ax, step in zip(axes, marks):
            ax.scatter(real[:, 0], real[:, 1], s=2, c="tab:blue", alpha=0.3, label="real")
            ax.scatter(snaps[step][:, 0], snaps[step][:, 1], s=2, c="tab:red", alpha=0.5, label="generated")
            ax.set_xlim(-3, 3)
            ax.set_ylim(-3, 3)
            ax.set_aspect("equal")
            ax.set_xlabel("x₁")
            ax.set_title(f"round {step}")
        axes[0].set_ylabel("x₂")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower left", ncols=2, markerscale=5)
        axes[-1].plot(hist["d_loss"], label="D loss", lw=0.6)
        axes[-1].plot(hist["g_loss"], label="G loss (non-saturating)", lw=0.6)
        axes[-1].set_xlabel("round")
        axes[-1].set_ylabel("loss (nats)")
        axes[-1].set_title("losses per round")
        axes[-1].legend(fontsize=8)
        save(fig, path)

    return {"steps": rounds, "d_steps": steps["d"], "g_steps": steps["g"], "modes_covered": modes,
            "quality": quality, "spread": spread, "data_spread": data_spread, "compare": compare,
            "final": {k: float(np.mean(v[-50:])) for k, v in hist.items()}, "figure": figure(out, "gan.png", draw)}
