"""k-means clustering (Lloyd, 1957/1982) with k-means++ seeding (Arthur & Vassilvitskii, 2007), scikit-learn-shaped.

Lloyd's algorithm alternates the two steps that each lower the inertia J = Σ_i min_k ‖x_i − μ_k‖²:
assign every point to its nearest centre, then move every centre to the mean of its points. Distances are computed
as ‖x‖² − 2 x·μ + ‖μ‖² with deepgrad's matmul, so the same code runs on CPU and GPU tensors.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import no_grad
from ..backend import array_module
from ..tensor import Tensor, tensor

__all__ = ["KMeans", "kmeans_plusplus"]


def _as_tensor(x, where: str) -> Tensor:
    t = x if isinstance(x, Tensor) else tensor(np.asarray(x))
    if t.ndim != 2:
        raise ValueError(f"{where}: X must be a 2-d (n_samples, n_features) array, got shape {tuple(t.shape)}")
    if t.dtype.kind != "f":
        t = t.to(np.float32)
    return t.detach()


def _sq_dist(x: Tensor, c: Tensor) -> Tensor:
    """(n, k) squared Euclidean distances, clamped at 0 against round-off."""
    return ((x * x).sum(1, keepdim=True) - 2 * x @ c.T + (c * c).sum(1).unsqueeze(0)).clamp(min=0)


def kmeans_plusplus(X, n_clusters: int, random_state: int | None = None, n_local_trials: int | None = None):  # noqa: N803
    """k-means++ seeding: the first centre uniformly, each next one drawn with probability ∝ D(x)², the squared
    distance to the nearest centre chosen so far; of ``n_local_trials`` (default 2 + ⌊ln k⌋) draws, the one that
    lowers the potential Σ D² most is kept (the greedy variant scikit-learn uses).

    Returns:
        (centers (k, d) Tensor, indices (k,) of the chosen samples).
    """
    x = _as_tensor(X, "kmeans_plusplus")
    n = x.shape[0]
    if not 1 <= n_clusters <= n:
        raise ValueError(f"kmeans_plusplus: n_clusters must lie in [1, n_samples={n}], got {n_clusters}")
    rng = np.random.default_rng(random_state)
    trials = n_local_trials or 2 + int(math.log(n_clusters))
    with no_grad():
        first = int(rng.integers(n))
        idx = [first]
        closest = _sq_dist(x, x[first:first + 1]).numpy()[:, 0].astype(np.float64)
        for _ in range(1, n_clusters):
            total = closest.sum()
            if total <= 0:       # every point coincides with a centre: take any unused point
                cand = rng.choice(np.setdiff1d(np.arange(n), idx), trials)
            else:
                cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * total).clip(0, n - 1)
            d = _sq_dist(x, x[cand]).numpy().astype(np.float64)            # (n, trials)
            pot = np.minimum(closest[:, None], d).sum(0)
            best = int(np.argmin(pot))
            idx.append(int(cand[best]))
            closest = np.minimum(closest, d[:, best])
        return x[np.array(idx)], np.array(idx)


class KMeans:
    """k-means clustering: minimises the inertia Σ_i ‖x_i − μ_{c(i)}‖² by Lloyd's iterations.

    Args:
        n_clusters: k (default 8). init: 'k-means++' (default), 'random' (k distinct samples) or a (k, d) array.
        n_init: runs from different seeds, the lowest inertia kept; 'auto' is 1 for k-means++ and 10 otherwise
            (as scikit-learn). max_iter: Lloyd iterations per run (300).
        tol: stop when Σ_k ‖μ_k^new − μ_k‖² ≤ tol · mean feature variance (1e-4). random_state: seed.

    Attributes (after ``fit``):
        cluster_centers_ (k, d) NumPy array, labels_ (n,), inertia_ (float), n_iter_ (iterations of the best run).

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
        >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
        >>> sorted(km.cluster_centers_.tolist()), km.inertia_
        ([[0.0, 0.5], [10.0, 0.5]], 1.0)
    """

    def __init__(self, n_clusters: int = 8, *, init="k-means++", n_init="auto", max_iter: int = 300,
                 tol: float = 1e-4, random_state: int | None = None) -> None:
        if not isinstance(n_clusters, (int, np.integer)) or n_clusters < 1:
            raise ValueError(f"KMeans: n_clusters must be a positive integer, got {n_clusters!r}")
        if isinstance(init, str) and init not in ("k-means++", "random"):
            raise ValueError(f"KMeans: init must be 'k-means++', 'random' or an array of centres, got {init!r}")
        if n_init != "auto" and (not isinstance(n_init, (int, np.integer)) or n_init < 1):
            raise ValueError(f"KMeans: n_init must be 'auto' or a positive integer, got {n_init!r}")
        if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
            raise ValueError(f"KMeans: max_iter must be a positive integer, got {max_iter!r}")
        if tol < 0:
            raise ValueError(f"KMeans: tol must be non-negative, got {tol!r}")
        self.n_clusters, self.init, self.n_init, self.max_iter, self.tol = int(n_clusters), init, n_init, \
            int(max_iter), float(tol)
        self.random_state = random_state

    def _seed(self, x: Tensor, rng: np.random.Generator) -> Tensor:
        if not isinstance(self.init, str):
            c = _as_tensor(self.init, "KMeans")
            if tuple(c.shape) != (self.n_clusters, x.shape[1]):
                raise ValueError(f"KMeans: init centres must have shape ({self.n_clusters}, {x.shape[1]}), "
                                 f"got {tuple(c.shape)}")
            return c.to(x.dtype)
        if self.init == "random":
            return x[rng.choice(x.shape[0], self.n_clusters, replace=False)]
        return kmeans_plusplus(x, self.n_clusters, int(rng.integers(2 ** 31)))[0]

    def _lloyd(self, x: Tensor, centers: Tensor, tol: float):
        xp = array_module(x._data)
        k = self.n_clusters
        it = 0
        while it < self.max_iter:
            it += 1
            labels = _sq_dist(x, centers).argmin(1)
            lab = labels._data
            counts = xp.bincount(lab, minlength=k)
            onehot = Tensor._wrap((lab[None, :] == xp.arange(k)[:, None]).astype(x.dtype))
            sums = onehot @ x
            # an emptied cluster keeps its centre (scikit-learn moves it to a far point; keeping it is simpler)
            new = Tensor._wrap(xp.where(counts[:, None] > 0, sums._data / xp.maximum(counts, 1)[:, None].astype(
                x.dtype), centers._data))
            shift = float(((new - centers) ** 2).sum().item())
            centers = new
            if shift <= tol:
                break
        d = _sq_dist(x, centers)
        labels = d.argmin(1)
        inertia = float(d.min(1).values.sum().item())
        return centers, labels, inertia, it

    def fit(self, X, y=None) -> KMeans:  # noqa: N803
        """Cluster ``X`` (n, d); returns self."""
        x = _as_tensor(X, "KMeans.fit")
        if x.shape[0] < self.n_clusters:
            raise ValueError(f"KMeans.fit: n_samples={x.shape[0]} should be >= n_clusters={self.n_clusters}")
        runs = self.n_init if self.n_init != "auto" else (10 if isinstance(self.init, str) and self.init == "random"
                                                          else 1)
        tol = self.tol * float(np.asarray(x.numpy(), np.float64).var(0).mean())
        rng = np.random.default_rng(self.random_state)
        best = None
        with no_grad():
            for _ in range(runs):
                r = self._lloyd(x, self._seed(x, rng), tol)
                if best is None or r[2] < best[2]:
                    best = r
        centers, labels, self.inertia_, self.n_iter_ = best
        self.cluster_centers_, self.labels_ = centers.numpy(), labels.numpy()
        return self

    def _check_fitted(self, X, where: str) -> Tensor:  # noqa: N803
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError(f"KMeans.{where}: call fit() first")
        x = _as_tensor(X, f"KMeans.{where}")
        if x.shape[1] != self.cluster_centers_.shape[1]:
            raise ValueError(f"KMeans.{where}: X has {x.shape[1]} features, the model was fitted on "
                             f"{self.cluster_centers_.shape[1]}")
        return x

    def transform(self, X) -> np.ndarray:  # noqa: N803
        """(n, k) Euclidean distances to the centres."""
        x = self._check_fitted(X, "transform")
        with no_grad():
            return np.sqrt(_sq_dist(x, tensor(self.cluster_centers_).to(x.dtype)).numpy())

    def predict(self, X) -> np.ndarray:  # noqa: N803
        """The index of the nearest centre for each row of X."""
        return self.transform(X).argmin(1)

    def fit_predict(self, X, y=None) -> np.ndarray:  # noqa: N803
        return self.fit(X).labels_

    def score(self, X, y=None) -> float:  # noqa: N803
        """−inertia of X under the fitted centres (higher is better, as scikit-learn)."""
        return -float((self.transform(X).min(1) ** 2).sum())
