"""Splitting a dataset: ``random_split``, k-fold cross-validation, and a train/val/test helper."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ._random import SeedLike, resolve_seed, rng_for
from .dataset import Subset

__all__ = ["random_split", "KFold", "StratifiedKFold", "train_val_test_split", "split_sizes"]


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Whole sizes for ``fractions`` of ``n`` that sum to ``n``: floors, then the leftover samples one each to
    the parts in order (PyTorch's ``random_split`` rule)."""
    f = np.asarray(fractions, dtype=np.float64)
    if f.ndim != 1 or f.size == 0 or np.any(f < 0) or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {list(fractions)}")
    sizes = np.floor(n * f).astype(np.int64)
    for k in range(int(n - sizes.sum())):
        sizes[k % len(sizes)] += 1
    return sizes.tolist()


def random_split(dataset, lengths: Sequence[int | float], generator: SeedLike = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping :class:`Subset` s of the given ``lengths`` (counts that
    sum to ``len(dataset)``, or fractions that sum to 1).

    Example:
        >>> parts = random_split(range(10), [0.7, 0.3], generator=0)
        >>> [len(p) for p in parts]
        [7, 3]
    """
    n = len(dataset)
    if all(isinstance(x, int | np.integer) for x in lengths):
        sizes = [int(x) for x in lengths]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"random_split: lengths {sizes} must be non-negative and sum to the {n} samples")
    else:
        sizes = split_sizes(n, lengths)
    order = rng_for(resolve_seed(generator)).permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, order[bounds[k]: bounds[k + 1]]) for k in range(len(sizes))]


def _n_of(x) -> int:
    return int(x) if isinstance(x, int | np.integer) else len(x)


class KFold:
    """K-fold cross-validation indices, like scikit-learn's: ``split(X)`` yields ``(train_idx, val_idx)``.

    The first ``n % n_splits`` folds have one sample more than the others. With ``shuffle`` the samples are
    permuted once (by ``seed``) before folding; otherwise folds are contiguous.

    Example:
        >>> [v.tolist() for _, v in KFold(3).split(7)]
        [[0, 1, 2], [3, 4], [5, 6]]
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed: int | None = None) -> None:
        if not isinstance(n_splits, int) or n_splits < 2:
            raise ValueError(f"KFold: n_splits should be an integer of at least 2, got {n_splits!r}")
        self.n_splits, self.shuffle, self.seed = n_splits, bool(shuffle), seed

    def get_n_splits(self) -> int:
        return self.n_splits

    def _order(self, n: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(n)
        return rng_for(resolve_seed(self.seed)).permutation(n)

    def _folds(self, x, y) -> list[np.ndarray]:
        n = _n_of(x)
        if n < self.n_splits:
            raise ValueError(f"{type(self).__name__}: cannot make {self.n_splits} folds from {n} samples")
        order = self._order(n)
        bounds = np.cumsum([0, *split_sizes(n, [1 / self.n_splits] * self.n_splits)])
        return [order[bounds[k]: bounds[k + 1]] for k in range(self.n_splits)]

    def split(self, x, y=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(train_idx, val_idx)`` int64 arrays, one pair per fold; ``x`` is the data or its length."""
        folds = self._folds(x, y)
        for k, val in enumerate(folds):
            train = np.sort(np.concatenate([f for j, f in enumerate(folds) if j != k]))
            yield train.astype(np.int64), np.sort(val).astype(np.int64)


class StratifiedKFold(KFold):
    """K-fold where every fold keeps the class proportions of ``y``: the samples of each class (shuffled when
    ``shuffle``) are dealt to the folds in turn."""

    def _folds(self, x, y) -> list[np.ndarray]:
        if y is None:
            raise ValueError("StratifiedKFold.split needs the labels: split(X, y)")
        labels = np.asarray(y).reshape(-1)
        n = _n_of(x)
        if len(labels) != n:
            raise ValueError(f"StratifiedKFold: {n} samples but {len(labels)} labels")
        order = self._order(n)
        by_class = order[np.argsort(labels[order], kind="stable")]  # grouped by class, shuffled within
        return [by_class[k:: self.n_splits] for k in range(self.n_splits)]


def train_val_test_split(dataset_or_n, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                         stratify: Sequence | None = None):
    """Split at random into train / validation / test parts of the given ``fractions``.

    Args:
        dataset_or_n: a dataset (returns three :class:`Subset` s) or a sample count (returns three sorted int64
            index arrays).
        fractions: three non-negative fractions summing to 1.
        seed: fixes the split.
        stratify: labels; when given, each class is split by ``fractions`` separately, so each part keeps the
            class proportions.
    """
    n = _n_of(dataset_or_n)
    if len(fractions) != 3:
        raise ValueError(f"train_val_test_split: expected three fractions (train, val, test), got {list(fractions)}")
    rng = rng_for(resolve_seed(seed))
    if stratify is None:
        groups = [rng.permutation(n)]
    else:
        labels = np.asarray(stratify).reshape(-1)
        if len(labels) != n:
            raise ValueError(f"train_val_test_split: {n} samples but {len(labels)} labels in stratify")
        groups = [rng.permutation(np.nonzero(labels == c)[0]) for c in np.unique(labels)]
    parts: list[list[np.ndarray]] = [[], [], []]
    for g in groups:
        bounds = np.cumsum([0, *split_sizes(len(g), fractions)])
        for k in range(3):
            parts[k].append(g[bounds[k]: bounds[k + 1]])
    index = [np.sort(np.concatenate(p)).astype(np.int64) for p in parts]
    if isinstance(dataset_or_n, int | np.integer):
        return tuple(index)
    return tuple(Subset(dataset_or_n, i) for i in index)
