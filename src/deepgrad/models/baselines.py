"""The baselines the lectures compare deep networks against, scikit-learn-shaped (``fit``/``predict``/``score``)
and computed with deepgrad tensors (so they run on the GPU too):

* ``DummyClassifier``: the majority class ('most_frequent') or labels drawn from the class frequencies
  ('stratified'): the floor any model must clear.
* ``KNeighborsClassifier``: the vote of the k nearest training points in Euclidean distance.
* ``LinearSVC``: one-vs-rest linear SVMs minimising ½‖w_k‖² + C Σ_i max(0, 1 − t_ik (w_k·x_i + b_k))²
  (scikit-learn's squared hinge), with t_ik = ±1.
* ``RBFSampler`` and ``KernelSVC``: the RBF kernel k(x, x') = exp(−γ‖x − x'‖²) through random Fourier features
  z(x) = √(2/D) cos(Ωx + β), Ω ~ N(0, 2γI), β ~ U[0, 2π] (Rahimi & Recht, 2007), so that z(x)·z(x') ≈ k(x, x'),
  followed by a ``LinearSVC``: the kernel trick, made linear.
"""
from __future__ import annotations

import math

import numpy as np

from ..autograd import no_grad
from ..backend import array_module
from ..tensor import Tensor, tensor

__all__ = ["DummyClassifier", "KNeighborsClassifier", "LinearSVC", "RBFSampler", "KernelSVC"]


def _x(X, where: str) -> Tensor:  # noqa: N803
    t = X.detach() if isinstance(X, Tensor) else tensor(np.asarray(X))
    if t.ndim != 2:
        raise ValueError(f"{where}: X must be 2-d (n_samples, n_features), got shape {tuple(t.shape)}")
    return t if t.dtype.kind == "f" else t.to(np.float32)


def _y(y, n: int, where: str) -> np.ndarray:
    a = y.detach().cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
    if a.ndim != 1 or len(a) != n:
        raise ValueError(f"{where}: y must be 1-d with one label per sample ({n}), got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise ValueError(f"{where}: y must hold integer class labels, got dtype {a.dtype}")
    return a.astype(np.int64)


class _Classifier:
    def _fitted(self, where: str) -> None:
        if not hasattr(self, "classes_"):
            raise RuntimeError(f"{type(self).__name__}.{where}: call fit() first")

    def score(self, X, y) -> float:  # noqa: N803
        """Mean accuracy of ``predict(X)`` against ``y``."""
        pred = self.predict(X)
        return float((pred == _y(y, len(pred), f"{type(self).__name__}.score")).mean())


class DummyClassifier(_Classifier):
    """Predicts without looking at X: ``strategy='most_frequent'`` (the majority class, the default) or
    ``'stratified'`` (labels drawn with the training frequencies) or ``'uniform'``.

    Example:
        >>> DummyClassifier().fit([[0], [0], [0]], [1, 1, 2]).predict([[5], [6]]).tolist()
        [1, 1]
    """

    def __init__(self, strategy: str = "most_frequent", random_state: int | None = None) -> None:
        if strategy not in ("most_frequent", "stratified", "uniform"):
            raise ValueError(f"DummyClassifier: strategy must be 'most_frequent', 'stratified' or 'uniform', got "
                             f"{strategy!r}")
        self.strategy, self.random_state = strategy, random_state

    def fit(self, X, y) -> DummyClassifier:  # noqa: N803
        n = _x(X, "DummyClassifier.fit").shape[0]
        labels = _y(y, n, "DummyClassifier.fit")
        self.classes_, counts = np.unique(labels, return_counts=True)
        self.class_prior_ = counts / counts.sum()
        self._rng = np.random.default_rng(self.random_state)
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        self._fitted("predict")
        n = _x(X, "DummyClassifier.predict").shape[0]
        if self.strategy == "most_frequent":
            return np.full(n, self.classes_[np.argmax(self.class_prior_)])
        p = self.class_prior_ if self.strategy == "stratified" else None
        return self._rng.choice(self.classes_, n, p=p)


def _sq_dist(a: Tensor, b: Tensor) -> Tensor:
    return ((a * a).sum(1, keepdim=True) - 2 * a @ b.T + (b * b).sum(1).unsqueeze(0)).clamp(min=0)


class KNeighborsClassifier(_Classifier):
    """The k-nearest-neighbour vote: ŷ(x) = the most common label among the ``n_neighbors`` training points nearest
    x (Euclidean), each vote weighted 1 ('uniform') or 1/distance ('distance'); ties go to the smallest label.

    Distances ‖x‖² − 2x·x' + ‖x'‖² are computed by matmul in blocks of ``batch_size`` queries.

    Example:
        >>> knn = KNeighborsClassifier(n_neighbors=1).fit([[0.0], [1.0], [5.0]], [0, 0, 1])
        >>> knn.predict([[0.2], [4.0]]).tolist()
        [0, 1]
    """

    def __init__(self, n_neighbors: int = 5, weights: str = "uniform", batch_size: int = 1024) -> None:
        if not isinstance(n_neighbors, (int, np.integer)) or n_neighbors < 1:
            raise ValueError(f"KNeighborsClassifier: n_neighbors must be a positive integer, got {n_neighbors!r}")
        if weights not in ("uniform", "distance"):
            raise ValueError(f"KNeighborsClassifier: weights must be 'uniform' or 'distance', got {weights!r}")
        self.n_neighbors, self.weights, self.batch_size = int(n_neighbors), weights, int(batch_size)

    def fit(self, X, y) -> KNeighborsClassifier:  # noqa: N803
        self._X = _x(X, "KNeighborsClassifier.fit")
        labels = _y(y, self._X.shape[0], "KNeighborsClassifier.fit")
        if self.n_neighbors > len(labels):
            raise ValueError(f"KNeighborsClassifier.fit: n_neighbors={self.n_neighbors} exceeds the "
                             f"{len(labels)} training samples")
        self.classes_, self._codes = np.unique(labels, return_inverse=True)
        return self

    def kneighbors(self, X) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
        """(distances, indices), each (n_queries, k), nearest first."""
        self._fitted("kneighbors")
        x = _x(X, "KNeighborsClassifier.kneighbors").to(self._X.dtype)
        if x.shape[1] != self._X.shape[1]:
            raise ValueError(f"KNeighborsClassifier: X has {x.shape[1]} features, the model was fitted on "
                             f"{self._X.shape[1]}")
        k, dists, idx = self.n_neighbors, [], []
        with no_grad():
            for i in range(0, x.shape[0], self.batch_size):
                d = _sq_dist(x[i:i + self.batch_size], self._X).numpy()
                part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.tile(
                    np.arange(d.shape[1]), (len(d), 1))
                dk = np.take_along_axis(d, part, 1)
                order = np.argsort(dk, axis=1, kind="stable")
                idx.append(np.take_along_axis(part, order, 1))
                dists.append(np.sqrt(np.take_along_axis(dk, order, 1)))
        return np.concatenate(dists), np.concatenate(idx)

    def predict(self, X) -> np.ndarray:  # noqa: N803
        dist, idx = self.kneighbors(X)
        w = np.ones_like(dist) if self.weights == "uniform" else 1.0 / np.maximum(dist, 1e-12)
        votes = np.zeros((len(idx), len(self.classes_)))
        np.add.at(votes, (np.arange(len(idx))[:, None], self._codes[idx]), w)
        return self.classes_[votes.argmax(1)]


class LinearSVC(_Classifier):
    """One-vs-rest linear SVMs with the squared hinge: for each class k,
    min ½‖w_k‖² + C Σ_i max(0, 1 − t_ik (w_k·x_i + b_k))², t_ik = +1 if y_i = k else −1, solved in the primal by
    L-BFGS on deepgrad's autograd (the objective is smooth and convex). ŷ = argmax_k w_k·x + b_k.

    Args:
        C: inverse regularisation (default 1.0). max_iter: L-BFGS iterations (default 200). tol: gradient tolerance.

    Attributes:
        coef_ (k, d), intercept_ (k,), classes_. With two classes one hyperplane, as scikit-learn.

    Example:
        >>> svm = LinearSVC().fit([[-2.0], [-1.0], [1.0], [2.0]], [0, 0, 1, 1])
        >>> svm.predict([[-3.0], [3.0]]).tolist()
        [0, 1]
    """

    def __init__(self, C: float = 1.0, max_iter: int = 200, tol: float = 1e-6) -> None:  # noqa: N803
        if not C > 0:
            raise ValueError(f"LinearSVC: C must be positive, got {C!r}")
        self.C, self.max_iter, self.tol = float(C), int(max_iter), float(tol)

    def _features(self, X, where: str) -> Tensor:  # noqa: N803
        return _x(X, where)

    def fit(self, X, y) -> LinearSVC:  # noqa: N803
        from ..optim import LBFGS

        x = self._features(X, f"{type(self).__name__}.fit").to(np.float64)
        labels = _y(y, x.shape[0], f"{type(self).__name__}.fit")
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__}.fit: needs at least 2 classes, got {len(self.classes_)}")
        k = 1 if len(self.classes_) == 2 else len(self.classes_)
        xp = array_module(x._data)
        t = np.where(codes[:, None] == np.arange(k)[None, :] + (k == 1), 1.0, -1.0)
        t = tensor(xp.asarray(t)) if xp is not np else tensor(t)
        w = tensor(xp.zeros((x.shape[1], k)), requires_grad=True)
        b = tensor(xp.zeros(k), requires_grad=True)
        opt = LBFGS([w, b], lr=1.0, max_iter=self.max_iter, tolerance_grad=self.tol, history_size=20,
                    line_search_fn="strong_wolfe")
        c = self.C

        def closure():
            opt.zero_grad()
            margin = (1 - t * (x @ w + b)).clamp(min=0)
            loss = 0.5 * (w * w).sum() + c * (margin * margin).sum()
            loss.backward()
            return loss

        opt.step(closure)
        self.coef_, self.intercept_ = w.detach().numpy().T.copy(), b.detach().numpy().copy()
        return self

    def decision_function(self, X) -> np.ndarray:  # noqa: N803
        """w_k·x + b_k, shape (n, k) (or (n,) for two classes)."""
        self._fitted("decision_function")
        x = self._features(X, f"{type(self).__name__}.decision_function")
        if x.shape[1] != self.coef_.shape[1]:
            raise ValueError(f"{type(self).__name__}: X has {x.shape[1]} features, the model was fitted on "
                             f"{self.coef_.shape[1]}")
        with no_grad():
            s = (x.to(np.float64) @ tensor(self.coef_.T) + tensor(self.intercept_)).numpy()
        return s[:, 0] if s.shape[1] == 1 else s

    def predict(self, X) -> np.ndarray:  # noqa: N803
        s = self.decision_function(X)
        return self.classes_[(s > 0).astype(np.int64) if s.ndim == 1 else s.argmax(1)]


class RBFSampler:
    """Random Fourier features of the RBF kernel exp(−γ‖x − x'‖²): z(x) = √(2/D) cos(xΩ + β) with
    Ω ~ N(0, 2γ) of shape (d, D) and β ~ U[0, 2π); E[z(x)·z(x')] = k(x, x')."""

    def __init__(self, gamma: float = 1.0, n_components: int = 100, random_state: int | None = None) -> None:
        if not gamma > 0 or n_components < 1:
            raise ValueError(f"RBFSampler: gamma must be positive and n_components >= 1, got {gamma!r}, "
                             f"{n_components!r}")
        self.gamma, self.n_components, self.random_state = float(gamma), int(n_components), random_state

    def fit(self, X, y=None) -> RBFSampler:  # noqa: N803
        d = _x(X, "RBFSampler.fit").shape[1]
        rng = np.random.default_rng(self.random_state)
        self.random_weights_ = rng.normal(0.0, math.sqrt(2 * self.gamma), (d, self.n_components))
        self.random_offset_ = rng.uniform(0, 2 * np.pi, self.n_components)
        return self

    def transform(self, X) -> Tensor:  # noqa: N803
        if not hasattr(self, "random_weights_"):
            raise RuntimeError("RBFSampler.transform: call fit() first")
        x = _x(X, "RBFSampler.transform")
        xp = array_module(x._data)
        w = tensor(xp.asarray(self.random_weights_.astype(x.dtype)))
        o = tensor(xp.asarray(self.random_offset_.astype(x.dtype)))
        with no_grad():
            return (x @ w + o).cos() * math.sqrt(2.0 / self.n_components)


class KernelSVC(LinearSVC):
    """An RBF-kernel SVM, k(x, x') = exp(−γ‖x − x'‖²), approximated by a ``LinearSVC`` on ``n_components`` random
    Fourier features (``RBFSampler``). ``gamma='scale'`` is 1 / (d · Var(X)), as scikit-learn's SVC.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 2)); y = (np.linalg.norm(X, axis=1) > 1).astype(int)   # a circle
        >>> KernelSVC(gamma=1.0, n_components=300, C=10.0, random_state=0).fit(X, y).score(X, y) > 0.9
        True
    """

    def __init__(self, gamma="scale", n_components: int = 1000, C: float = 1.0, max_iter: int = 200,  # noqa: N803
                 tol: float = 1e-6, random_state: int | None = None) -> None:
        super().__init__(C, max_iter, tol)
        if not (gamma == "scale" or (isinstance(gamma, (int, float)) and gamma > 0)):
            raise ValueError(f"KernelSVC: gamma must be 'scale' or a positive number, got {gamma!r}")
        self.gamma, self.n_components, self.random_state = gamma, int(n_components), random_state

    def fit(self, X, y) -> KernelSVC:  # noqa: N803
        x = _x(X, "KernelSVC.fit")
        g = self.gamma if self.gamma != "scale" else 1.0 / (x.shape[1] * float(np.asarray(x.numpy()).var()))
        self.gamma_ = g
        self.sampler_ = RBFSampler(g, self.n_components, self.random_state).fit(x)
        return super().fit(x, y)

    def _features(self, X, where: str) -> Tensor:  # noqa: N803
        if not hasattr(self, "sampler_"):
            raise RuntimeError(f"{where}: call fit() first")
        return self.sampler_.transform(_x(X, where))
