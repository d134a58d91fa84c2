"""Metrics: accuracy, top-k, precision/recall/F1, confusion matrix, MSE, MAE, R².

Functions take Tensors or NumPy arrays — ``output`` as class scores (N, C), labels (N,), or, for a binary problem,
one score per sample (N,) or (N, 1); ``target`` as labels — and return Python floats (or a NumPy matrix).

A binary score is thresholded: at ``threshold`` when given, else at 0.5 when every score lies in [0, 1]
(probabilities) and at 0 otherwise (logits). A 1-d float output is read as binary scores when the target holds
only 0 and 1, as labels when its values are whole numbers, and refused otherwise (torchmetrics' binary rule).

The ``Metric`` classes accumulate the same quantities over the batches of an epoch for the training loop.
"""
from __future__ import annotations

import numpy as np

from ..backend import CPU, to_device
from ..tensor import Tensor

__all__ = ["accuracy", "top_k_accuracy", "top_k_error", "confusion_matrix", "precision_recall_f1", "mse", "mae",
           "r2_score", "Metric", "Accuracy", "TopKAccuracy", "MeanSquaredError", "MeanAbsoluteError", "R2Score",
           "ConfusionMatrix", "F1Score", "get_metric"]


def _np(x) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x._data
    return np.asarray(to_device(x, CPU))


def _labels(output, target: np.ndarray, threshold: float | None, name: str) -> np.ndarray:
    """Predicted labels: argmax of class scores, thresholded binary scores, or the labels themselves."""
    out = _np(output)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim > 1:
        if threshold is not None:
            raise ValueError(f"{name}: threshold= applies to one binary score per sample, got scores of shape "
                             f"{out.shape}")
        return out.argmax(-1)
    if threshold is not None:
        return (out > threshold).astype(np.int64)
    if out.dtype.kind in "biu":
        return out.astype(np.int64)
    if target.size and np.isin(target, (0, 1)).all():
        cut = 0.5 if out.size and float(out.min()) >= 0 and float(out.max()) <= 1 else 0.0
        return (out > cut).astype(np.int64)
    if (out == np.round(out)).all():
        return out.astype(np.int64)
    raise ValueError(f"{name}: cannot read a 1-d float output with fractional values as predictions for a target "
                     f"with classes {np.unique(target)[:10].tolist()}; pass class scores (N, C), integer labels, "
                     "or binary scores against a 0/1 target (threshold= sets the cut)")


def _check(pred: np.ndarray, target: np.ndarray, name: str) -> None:
    if pred.shape[0] != target.shape[0]:
        raise ValueError(f"{name}: output has {pred.shape[0]} samples but target has {target.shape[0]}")


def accuracy(output, target, threshold: float | None = None) -> float:
    """Fraction of samples whose predicted class equals the target: (1/N) Σ [ŷ_i = y_i].

    ŷ is the argmax of class scores, or a thresholded binary score (see the module's docstring).

    Example:
        >>> accuracy([2.3, -1.7, 0.4], [1, 0, 1])  # logits of a logistic regression
        1.0
    """
    t = _np(target).reshape(-1)
    pred = _labels(output, t, threshold, "accuracy")
    _check(pred, t, "accuracy")
    return float((pred == t).mean()) if t.size else float("nan")


def top_k_accuracy(output, target, k: int = 5) -> float:
    """Fraction of samples whose target is among the k highest scores (ImageNet's top-5)."""
    scores, t = _np(output), _np(target).reshape(-1)
    if scores.ndim != 2:
        raise ValueError(f"top_k_accuracy: expected scores of shape (N, C), got {scores.shape}")
    _check(scores, t, "top_k_accuracy")
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"top_k_accuracy: k must be in 1..{scores.shape[1]}, got {k}")
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == t[:, None]).any(1).mean())


def top_k_error(output, target, k: int = 5) -> float:
    """1 − top-k accuracy, the error rate the ILSVRC results are reported in."""
    return 1.0 - top_k_accuracy(output, target, k)


def confusion_matrix(output, target, num_classes: int | None = None, threshold: float | None = None) -> np.ndarray:
    """M[i, j] = number of samples of true class i predicted as class j."""
    t = _np(target).reshape(-1).astype(np.int64)
    pred = _labels(output, t, threshold, "confusion_matrix")
    _check(pred, t, "confusion_matrix")
    n = num_classes or int(max(pred.max(initial=0), t.max(initial=0))) + 1
    return np.bincount(t * n + pred, minlength=n * n).reshape(n, n)


def _prf_from_cm(cm: np.ndarray, average: str):
    tp = np.diag(cm).astype(np.float64)
    fp, fn = cm.sum(0) - tp, cm.sum(1) - tp
    if average == "micro":
        p = tp.sum() / max(tp.sum() + fp.sum(), 1)
        r = tp.sum() / max(tp.sum() + fn.sum(), 1)
        f = 2 * p * r / (p + r) if p + r else 0.0
        return float(p), float(r), float(f)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    if average == "macro":
        return float(p.mean()), float(r.mean()), float(f.mean())
    if average in (None, "none"):
        return p, r, f
    raise ValueError(f"precision_recall_f1: average must be 'macro', 'micro' or None, got {average!r}")


def precision_recall_f1(output, target, num_classes: int | None = None, average: str | None = "macro",
                        threshold: float | None = None):
    """Precision TP/(TP+FP), recall TP/(TP+FN) and F1 = 2PR/(P+R), per class or averaged ('macro': mean over
    classes; 'micro': from the pooled counts, equal to accuracy for single-label problems)."""
    return _prf_from_cm(confusion_matrix(output, target, num_classes, threshold), average)


def _reg(output, target, name):
    o, t = _np(output).astype(np.float64), _np(target).astype(np.float64)
    if o.shape != t.shape:
        raise ValueError(f"{name}: output shape {o.shape} and target shape {t.shape} differ")
    return o, t


def mse(output, target) -> float:
    """Mean squared error (1/N) Σ (ŷ − y)²."""
    o, t = _reg(output, target, "mse")
    return float(((o - t) ** 2).mean())


def mae(output, target) -> float:
    """Mean absolute error (1/N) Σ |ŷ − y|."""
    o, t = _reg(output, target, "mae")
    return float(np.abs(o - t).mean())


def r2_score(output, target) -> float:
    """Coefficient of determination R² = 1 − Σ (y − ŷ)² / Σ (y − ȳ)²."""
    o, t = _reg(output, target, "r2_score")
    ss_tot = ((t - t.mean(0)) ** 2).sum()
    return float(1.0 - ((t - o) ** 2).sum() / ss_tot) if ss_tot > 0 else float("nan")


# ------------------------------------------------------------------------------------- streaming metrics
class Metric:
    """Accumulates a quantity over batches: ``reset()``, ``update(output, target)``, ``compute()``."""

    name = "metric"
    higher_is_better = True

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, output, target) -> None:
        raise NotImplementedError

    def compute(self) -> float:
        raise NotImplementedError


class Accuracy(Metric):
    name = "accuracy"

    def __init__(self, threshold: float | None = None):
        self.threshold = threshold

    def reset(self):
        self.correct, self.total = 0, 0

    def update(self, output, target):
        t = _np(target).reshape(-1)
        pred = _labels(output, t, self.threshold, "accuracy")
        _check(pred, t, "accuracy")
        self.correct += int((pred == t).sum())
        self.total += t.size

    def compute(self):
        return self.correct / self.total if self.total else float("nan")


class TopKAccuracy(Metric):
    def __init__(self, k: int = 5):
        self.k, self.name = k, f"top{k}_accuracy"

    def reset(self):
        self.hits, self.total = 0.0, 0

    def update(self, output, target):
        n = _np(target).size
        self.hits += top_k_accuracy(output, target, self.k) * n
        self.total += n

    def compute(self):
        return self.hits / self.total if self.total else float("nan")


class _Sums(Metric):
    higher_is_better = False

    def reset(self):
        self.sum, self.count = 0.0, 0

    def compute(self):
        return self.sum / self.count if self.count else float("nan")


class MeanSquaredError(_Sums):
    name = "mse"

    def update(self, output, target):
        o, t = _reg(output, target, "mse")
        self.sum += float(((o - t) ** 2).sum())
        self.count += o.size


class MeanAbsoluteError(_Sums):
    name = "mae"

    def update(self, output, target):
        o, t = _reg(output, target, "mae")
        self.sum += float(np.abs(o - t).sum())
        self.count += o.size


class R2Score(Metric):
    name = "r2"

    def reset(self):
        self.outputs, self.targets = [], []

    def update(self, output, target):
        o, t = _reg(output, target, "r2_score")
        self.outputs.append(o)
        self.targets.append(t)

    def compute(self):
        return r2_score(np.concatenate(self.outputs), np.concatenate(self.targets)) if self.outputs else float("nan")


class ConfusionMatrix(Metric):
    name = "confusion_matrix"

    def __init__(self, num_classes: int):
        self.num_classes = num_classes

    def reset(self):
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, output, target):
        self.matrix += confusion_matrix(output, target, self.num_classes)

    def compute(self):
        return self.matrix


class F1Score(ConfusionMatrix):
    def __init__(self, num_classes: int, average: str = "macro"):
        super().__init__(num_classes)
        self.average, self.name = average, f"f1_{average}"

    def compute(self):
        return _prf_from_cm(self.matrix, self.average)[2]


_NAMED = {"accuracy": Accuracy, "acc": Accuracy, "top5": lambda: TopKAccuracy(5), "mse": MeanSquaredError,
          "mae": MeanAbsoluteError, "r2": R2Score}


def get_metric(m) -> Metric:
    """A Metric from an instance or a name ('accuracy', 'top5', 'mse', 'mae', 'r2')."""
    if isinstance(m, Metric):
        return m
    if m not in _NAMED:
        raise ValueError(f"unknown metric {m!r}; expected a Metric or one of {sorted(_NAMED)}")
    return _NAMED[m]()
