"""A variational autoencoder written as a PyTorch program: torchvision MNIST, the encoder's Gaussian as
torch.distributions.Independent(Normal(mu, sigma), 1), a reparameterised rsample, kl_divergence to the standard
normal prior, Adam, and the loss logged with torch.utils.tensorboard's SummaryWriter.

    python benchmarks/ports/vae_normal_kl.py --backend torch
    python benchmarks/ports/vae_normal_kl.py --backend deepgrad
    python benchmarks/ports/vae_normal_kl.py --backend deepgrad --fast   # the test's setting
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _mnist_files  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--root", default=os.path.join(tempfile.gettempdir(), "ports-mnist"))
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--train-samples", type=int, default=6000)
parser.add_argument("--fast", action="store_true", help="1 epoch on 1,024 digits")
args = parser.parse_args()
if args.fast:
    args.epochs, args.train_samples = 1, 1024

if args.backend == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.distributions import Independent, Normal, kl_divergence
    from torch.utils.data import DataLoader, Subset
    from torch.utils.tensorboard import SummaryWriter
    from torchvision import datasets, transforms
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    import deepgrad.nn as nn
    import deepgrad.nn.functional as F
    from deepgrad.distributions import Independent, Normal, kl_divergence
    from deepgrad.utils.data import DataLoader, Subset
    from deepgrad.utils.tensorboard import SummaryWriter
    from deepgrad.vision import datasets, transforms


class VAE(nn.Module):
    def __init__(self, latent=8):
        super().__init__()
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU())
        self.mu = nn.Linear(256, latent)
        self.log_sigma = nn.Linear(256, latent)
        self.dec = nn.Sequential(nn.Linear(latent, 256), nn.ReLU(), nn.Linear(256, 784))

    def forward(self, x):
        h = self.enc(x)
        q = Independent(Normal(self.mu(h), self.log_sigma(h).exp()), 1)
        z = q.rsample()
        return self.dec(z), q


torch.manual_seed(0)
device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() else "cpu"
root = _mnist_files.prepare(args.root)
train = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
loader = DataLoader(Subset(train, range(args.train_samples)), batch_size=128, shuffle=True)
model = VAE().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
writer = SummaryWriter(os.path.join(args.root, f"runs-vae-{args.backend}"))
step, losses = 0, []
for epoch in range(args.epochs):
    for x, _ in loader:
        x = x.to(device)
        logits, q = model(x)
        prior = Independent(Normal(torch.zeros_like(q.mean), torch.ones_like(q.mean)), 1)
        recon = F.binary_cross_entropy_with_logits(logits, x.view(-1, 784), reduction="sum") / x.shape[0]
        kl = kl_divergence(q, prior).mean()
        loss = recon + kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        writer.add_scalar("loss/train", loss.item(), step)
        losses.append(loss.item())
        step += 1
    print(f"epoch {epoch + 1}: loss {sum(losses[-10:]) / len(losses[-10:]):.2f} (recon {recon.item():.2f}, "
          f"kl {kl.item():.2f})")
writer.close()
print(f"first loss {losses[0]:.2f}, last loss {sum(losses[-5:]) / 5:.2f}")
