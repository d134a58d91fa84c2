"""Unsupervised learning: k-means on 2-D blobs and on the MNIST sample (k-means++ against random seeding), and a
restricted Boltzmann machine trained by contrastive divergence on binarised digits (filters, reconstructions)."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from ..models.kmeans import KMeans
from ..models.rbm import RBM
from . import demo
from ._mlp_util import figure, mnist, pyplot, save, table


def blobs(n: int, centers: np.ndarray, std: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n points around ``centers`` (k, 2), Gaussian with ``std``, and their blob index."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(centers), n)
    return (centers[y] + std * rng.normal(size=(n, centers.shape[1]))).astype(np.float32), y


def cluster_accuracy(labels: np.ndarray, y: np.ndarray) -> float:
    """Accuracy when each cluster is named after the majority class of its members (purity)."""
    return float(sum(np.bincount(y[labels == c]).max() for c in np.unique(labels)) / len(y))


@demo("kmeans", "k-means with k-means++ seeding on 2-D blobs and on the MNIST sample: inertia against random "
                "seeding, cluster purity, the ten digit centroids")
def kmeans(out: str, fast: bool) -> dict:
    centers = np.array([[0, 0], [6, 0], [0, 6], [6, 6], [3, 10]], np.float32)
    x, y = blobs(500 if fast else 2000, centers, 1.0)
    rows, res = [], {"blobs": {}, "mnist": {}}
    for init in ("k-means++", "random"):
        inertias = [KMeans(5, init=init, n_init=1, random_state=s).fit(x).inertia_ for s in range(5 if fast else 20)]
        km = KMeans(5, init=init, n_init=1, random_state=0).fit(x)
        res["blobs"][init] = {"inertia_mean": float(np.mean(inertias)), "inertia_worst": float(np.max(inertias)),
                              "purity": cluster_accuracy(km.labels_, y)}
        rows.append(["blobs", init, float(np.mean(inertias)), float(np.max(inertias)), cluster_accuracy(km.labels_, y)])
    blob_km = KMeans(5, random_state=0).fit(x)
    xm, ym = mnist("train", 1000 if fast else 5000)
    for init in ("k-means++", "random"):
        km = KMeans(10, init=init, n_init=1 if fast else 3, max_iter=30 if fast else 100, random_state=0).fit(xm)
        res["mnist"][init] = {"inertia": km.inertia_, "purity": cluster_accuracy(km.labels_, ym), "n_iter": km.n_iter_}
        rows.append(["MNIST", init, km.inertia_ / len(xm), None, cluster_accuracy(km.labels_, ym)])
        if init == "k-means++":
            digit_km = km
    xt, yt = mnist("test", 500 if fast else 1000)
    res["mnist"]["test_purity"] = cluster_accuracy(digit_km.predict(xt), yt)
    print("k-means (inertia: mean over seeds for the blobs, per image for MNIST; purity: majority-class accuracy)")
    table(["data", "init", "inertia", "worst seed", "purity"], [[r[0], r[1], r[2], "" if r[3] is None else r[3], r[4]]
                                                                for r in rows])
    print(f"MNIST test digits assigned to the nearest of the 10 centroids: purity {res['mnist']['test_purity']:.3f}")

    def draw(path):
        plt = pyplot()
        fig = plt.figure(figsize=(13, 5), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1, 1.1])
        ax = left.subplots()
        ax.scatter(x[:, 0], x[:, 1], c=blob_km.labels_, cmap="tab10", s=4)
        ax.scatter(*blob_km.cluster_centers_.T, marker="x", c="k", s=120, label="centroids")
        ax.set_xlabel("x₁")
        ax.set_ylabel("x₂")
        ax.set_aspect("equal")
        ax.legend(loc="upper right")  # the blobs leave that corner empty
        ax.set_title(f"k-means++ on 5 blobs, colour = cluster (inertia {blob_km.inertia_:.0f})")
        axes = right.subplots(2, 5)
        for i, (a, c) in enumerate(zip(axes.ravel(), digit_km.cluster_centers_)):
            a.imshow(c.reshape(28, 28), cmap="gray")
            a.set_title(f"cluster {i}", fontsize=9)
            a.axis("off")
        right.suptitle(f"the 10 k-means++ centroids of {len(xm)} MNIST-sample digits "
                       f"(test purity {res['mnist']['test_purity']:.2f})")
        save(fig, path)

    res["figure"] = figure(out, "kmeans.png", draw)
    return res


@demo("rbm", "A restricted Boltzmann machine trained by CD-1 (and PCD) on binarised MNIST digits: reconstruction "
             "error per epoch, learned filters, reconstructions")
def rbm(out: str, fast: bool) -> dict:
    n, epochs, hidden = (500, 2, 32) if fast else (5000, 10, 100)
    x, _ = mnist("train", n)
    x = (x > 0.5).astype(np.float32)
    xt = (mnist("test", 200)[0] > 0.5).astype(np.float32)
    res = {}
    for name, persistent in (("CD-1", False), ("PCD-1", True)):
        dg.manual_seed(0)
        model = RBM(784, hidden, k=1, persistent=persistent)
        opt = dg.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
        rng = np.random.default_rng(0)
        errs = [model.reconstruction_error(dg.tensor(xt))]
        for _ in range(epochs):
            order = rng.permutation(n)
            for i in range(0, n, 20):
                loss = model.contrastive_divergence(dg.tensor(x[order[i:i + 20]]))
                opt.zero_grad()
                loss.backward()
                opt.step()
            errs.append(model.reconstruction_error(dg.tensor(xt)))
        res[name] = {"recon_error": errs}
        if name == "CD-1":
            cd_model = model
    for k, v in res.items():
        print(f"{k}: test reconstruction error per epoch {[round(e, 4) for e in v['recon_error']]}")
    with dg.no_grad():
        recon = cd_model(dg.tensor(xt[:10])).numpy()
        filters = cd_model.weight.detach().numpy()

    def draw(path):
        plt = pyplot()
        fig = plt.figure(figsize=(13, 7), layout="constrained")
        left, right = fig.subfigures(1, 2, width_ratios=[1, 1.15])
        nf = min(64, hidden)
        side = int(np.ceil(np.sqrt(nf)))
        for i, a in enumerate(left.subplots(side, side).ravel()):
            a.axis("off")
            if i < nf:
                f = filters[i].reshape(28, 28)
                lim = float(np.abs(f).max()) or 1.0
                a.imshow(f, cmap="seismic", vmin=-lim, vmax=lim)
        left.suptitle(f"CD-1 filters W_j of {nf} of the {hidden} hidden units (blue < 0 < red, each scaled)")
        top, bottom = right.subfigures(2, 1, height_ratios=[1.3, 1])
        ax = top.subplots()
        for k, v in res.items():
            ax.plot(range(len(v["recon_error"])), v["recon_error"], "o-", label=k)
        ax.set_xlabel("epoch (0 = initialisation)")
        ax.set_ylabel("test reconstruction error (pixel MSE)")
        ax.set_title("mean-field reconstruction error of binarised test digits")
        ax.grid(alpha=0.3)
        ax.legend()
        axes = bottom.subplots(2, 10)
        for j in range(10):
            for r, imgs in enumerate((xt, recon)):
                axes[r, j].imshow(imgs[j].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
                axes[r, j].axis("off")
        axes[0, 0].set_title("test digits", fontsize=9, loc="left")
        axes[1, 0].set_title("CD-1 reconstructions", fontsize=9, loc="left")
        save(fig, path)

    res["figure"] = figure(out, "rbm.png", draw)
    return res
