"""Bounding boxes as torchvision.ops: areas, IoU, generalised IoU and its loss, for boxes (x₁, y₁, x₂, y₂) with
x₁ ≤ x₂ and y₁ ≤ y₂.

IoU(A, B) = |A ∩ B| / |A ∪ B|; GIoU(A, B) = IoU − |C \\ (A ∪ B)| / |C| with C the smallest box enclosing both
(Rezatofighi et al., 2019): it lies in (−1, 1] and, unlike IoU, still has a gradient when the boxes do not overlap.
Everything is written with differentiable Tensor ops (minimum/maximum/clamp), so the losses train box heads.
"""
from __future__ import annotations

from ...ops.elementwise import maximum, minimum
from ...tensor import Tensor

__all__ = ["box_area", "box_iou", "generalized_box_iou", "generalized_box_iou_loss", "elementwise_box_iou"]


def _check(boxes: Tensor, op: str) -> None:
    if not isinstance(boxes, Tensor) or boxes.ndim < 1 or boxes.shape[-1] != 4:
        got = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(f"{op}: boxes must be a (..., 4) tensor of (x1, y1, x2, y2), got {got}")


def box_area(boxes: Tensor) -> Tensor:
    """(x₂ − x₁)(y₂ − y₁) of each box (..., 4) -> (...)."""
    _check(boxes, "box_area")
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


def _inter_union(a: Tensor, b: Tensor):
    lt_x, lt_y = maximum(a[..., 0], b[..., 0]), maximum(a[..., 1], b[..., 1])
    rb_x, rb_y = minimum(a[..., 2], b[..., 2]), minimum(a[..., 3], b[..., 3])
    inter = (rb_x - lt_x).clamp(min=0) * (rb_y - lt_y).clamp(min=0)
    return inter, box_area(a) + box_area(b) - inter


def _enclosing(a: Tensor, b: Tensor) -> Tensor:
    w = maximum(a[..., 2], b[..., 2]) - minimum(a[..., 0], b[..., 0])
    h = maximum(a[..., 3], b[..., 3]) - minimum(a[..., 1], b[..., 1])
    return w * h


def box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """The (N, M) matrix of IoUs between boxes1 (N, 4) and boxes2 (M, 4).

    Example:
        >>> import deepgrad as dg
        >>> box_iou(dg.tensor([[0.0, 0.0, 2.0, 2.0]]), dg.tensor([[1.0, 1.0, 3.0, 3.0], [0.0, 0.0, 2.0, 2.0]])).tolist()
        [[0.1428571492433548, 1.0]]
    """
    _check(boxes1, "box_iou")
    _check(boxes2, "box_iou")
    inter, union = _inter_union(boxes1[:, None, :], boxes2[None, :, :])
    return inter / union


def elementwise_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """IoU of corresponding boxes (..., 4) and (..., 4) -> (...)."""
    _check(boxes1, "elementwise_box_iou")
    _check(boxes2, "elementwise_box_iou")
    inter, union = _inter_union(boxes1, boxes2)
    return inter / union


def generalized_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """The (N, M) matrix of GIoU = IoU − (|C| − |A ∪ B|) / |C| between boxes1 (N, 4) and boxes2 (M, 4)."""
    _check(boxes1, "generalized_box_iou")
    _check(boxes2, "generalized_box_iou")
    a, b = boxes1[:, None, :], boxes2[None, :, :]
    inter, union = _inter_union(a, b)
    c = _enclosing(a, b)
    return inter / union - (c - union) / c


def generalized_box_iou_loss(boxes1: Tensor, boxes2: Tensor, reduction: str = "none", eps: float = 1e-7) -> Tensor:
    """1 − GIoU of corresponding boxes (..., 4), as torchvision.ops.generalized_box_iou_loss (``eps`` guards the
    divisions); ``reduction`` 'none' (default), 'mean' or 'sum'."""
    _check(boxes1, "generalized_box_iou_loss")
    _check(boxes2, "generalized_box_iou_loss")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"generalized_box_iou_loss: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    inter, union = _inter_union(boxes1, boxes2)
    c = _enclosing(boxes1, boxes2)
    loss = 1 - (inter / (union + eps) - (c - union) / (c + eps))
    return loss if reduction == "none" else (loss.mean() if reduction == "mean" else loss.sum())
