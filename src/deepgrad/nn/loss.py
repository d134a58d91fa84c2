"""Loss modules: each holds its options (and class weights as buffers) and calls :mod:`deepgrad.nn.functional`."""
from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from ._validate import reduction as _reduction
from .module import Module

__all__ = ["MSELoss", "HalfSquaredErrorLoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "NLLLoss", "MultiMarginLoss", "MulticlassHingeLoss", "HingeEmbeddingLoss", "HingeLoss",
           "KLDivLoss", "CosineSimilarity"]


class _Loss(Module):
    def __init__(self, reduction: str = "mean", allowed=("mean", "sum", "none")) -> None:
        super().__init__()
        self.reduction = _reduction(type(self).__name__, reduction, allowed)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """ℓ = mean((x − y)²) (or sum / none, see ``reduction``).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.MSELoss()(dg.tensor([1.0, 2.0]), dg.tensor([0.0, 0.0])).item()
        2.5
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.mse_loss(input, target, self.reduction)


class HalfSquaredErrorLoss(_Loss):
    """The lectures' E = ½ ‖y − t‖² (default ``reduction='sum'``; 'mean' averages ½‖y_n − t_n‖² over the batch).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.HalfSquaredErrorLoss()(dg.tensor([1.0, 2.0]), dg.tensor([0.0, 0.0])).item()
        2.5
    """

    def __init__(self, reduction: str = "sum") -> None:
        super().__init__(reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.half_squared_error_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """ℓ = mean(|x − y|)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """ℓ_i = ½ d² if |d| < δ else δ (|d| − ½ δ)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.huber_loss(input, target, self.reduction, self.delta)


class SmoothL1Loss(_Loss):
    """ℓ_i = ½ d² / β if |d| < β else |d| − ½ β."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = float(beta)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss(_WeightedLoss):
    """ℓ_i = −w_i [y_i log x_i + (1 − y_i) log(1 − x_i)] for probabilities x (logs clamped at −100)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy on raw scores, computed stably; ``pos_weight`` weighs positive examples."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy from logits, with class-index or probability targets (fused; see
    ``functional.cross_entropy``).

    Args:
        weight: (C,) class weights. ignore_index: class index to skip (-100). reduction: 'mean' | 'sum' | 'none'.
        label_smoothing: ε in [0, 1].

    Shape:
        input (N, C) or (N, C, d1, ...) logits; target (N,) / (N, d1, ...) int64 or probabilities like input.

    Example:
        >>> import deepgrad as dg
        >>> loss = dg.nn.CrossEntropyLoss()(dg.zeros(4, 10), dg.tensor([1, 2, 3, 4]))
        >>> round(loss.item(), 4)  # log 10
        2.3026
    """

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        self.ignore_index, self.label_smoothing = ignore_index, float(label_smoothing)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """ℓ_i = −w_{y_i} x_{i, y_i} for log-probabilities x (use after ``LogSoftmax``)."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """PyTorch's multi-class margin loss ℓ_i = Σ_{j≠y_i} max(0, Δ − x_{y_i} + x_j)^p / C."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        self.p, self.margin = p, float(margin)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)


class MulticlassHingeLoss(_Loss):
    """The lectures' multiclass SVM loss L_i = Σ_{j≠y_i} max(0, s_j − s_{y_i} + Δ) (not divided by C).

    Example:
        >>> import deepgrad as dg
        >>> s = dg.tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
        >>> round(dg.nn.MulticlassHingeLoss()(s, dg.tensor([0, 1, 2])).item(), 2)
        5.27
    """

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = float(margin)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.multiclass_hinge_loss(input, target, self.margin, self.reduction)


class HingeEmbeddingLoss(_Loss):
    """ℓ_i = x_i if y_i = 1, max(0, Δ − x_i) if y_i = −1."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = float(margin)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)


class HingeLoss(_Loss):
    """Binary SVM hinge loss ℓ_i = max(0, Δ − y_i s_i) for labels y ∈ {−1, +1}."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = float(margin)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.hinge_loss(input, target, self.margin, self.reduction)


class KLDivLoss(_Loss):
    """KL(target ‖ exp(input)) pointwise; use ``reduction='batchmean'`` for the per-sample KL divergence."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction, ("mean", "sum", "none", "batchmean"))
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return F.kl_div(input, target, self.reduction, self.log_target)


class CosineSimilarity(Module):
    """cos(x₁, x₂) = x₁·x₂ / max(‖x₁‖ ‖x₂‖, ε) along ``dim``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"
