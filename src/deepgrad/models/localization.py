"""Classification + localisation (the lectures' "treat localisation as regression"): one CNN trunk, two heads —
class scores and a box (x₁, y₁, x₂, y₂) in [0, 1] image coordinates — trained with cross-entropy plus a box loss
(smooth-L1 on the coordinates and/or the GIoU loss of ``deepgrad.vision.ops``)."""
from __future__ import annotations

from .. import nn
from ..nn import functional as F
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["ClassifierLocalizer", "localization_loss"]


class ClassifierLocalizer(nn.Module):
    """A small CNN with a classification head and a box-regression head.

    Trunk: three 3×3 convolutions of stride 2 (channels c, 2c, 4c) with ReLU, then a hidden Linear layer; heads
    ``classifier`` (num_classes logits) and ``box_head`` (4 numbers through a sigmoid, read as x₁, y₁, x₂, y₂ —
    the model predicts a centre and a size so that x₁ ≤ x₂, y₁ ≤ y₂ always holds).

    Args:
        num_classes: classes (10). in_channels: image channels (1). image_size: side of the square input (64).
        channels: c (16). hidden: width of the shared hidden layer (128).

    Shape:
        input (N, in_channels, image_size, image_size) -> (logits (N, num_classes), boxes (N, 4)).

    Example:
        >>> import deepgrad as dg
        >>> logits, boxes = ClassifierLocalizer()(dg.zeros(2, 1, 64, 64))
        >>> logits.shape, boxes.shape
        ((2, 10), (2, 4))
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 64, channels: int = 16,
                 hidden: int = 128) -> None:
        super().__init__()
        if image_size % 8:
            raise ValueError(f"ClassifierLocalizer: image_size must be a multiple of 8, got {image_size}")
        c = channels
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 4 * c, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
            nn.Linear(4 * c * (image_size // 8) ** 2, hidden), nn.ReLU())
        self.classifier = nn.Linear(hidden, num_classes)
        self.box_head = nn.Linear(hidden, 4)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.features(x)
        centre_size = self.box_head(h).sigmoid()          # (cx, cy, w, h) in (0, 1)
        cx, cy, w, hh = (centre_size[:, i] for i in range(4))
        boxes = stack([cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2], 1)
        return self.classifier(h), boxes


def localization_loss(logits: Tensor, boxes: Tensor, labels: Tensor, target_boxes: Tensor, box_loss: str = "both",
                      box_weight: float = 1.0) -> Tensor:
    """CE(logits, labels) + box_weight · L_box, L_box = smooth-L1 (β = 0.05) on the coordinates ('smooth_l1'), the
    mean GIoU loss ('giou'), or their sum ('both', default)."""
    from ..vision.ops import generalized_box_iou_loss

    if box_loss not in ("smooth_l1", "giou", "both"):
        raise ValueError(f"localization_loss: box_loss must be 'smooth_l1', 'giou' or 'both', got {box_loss!r}")
    loss_box = 0.0
    if box_loss in ("smooth_l1", "both"):
        loss_box = F.smooth_l1_loss(boxes, target_boxes, beta=0.05) * 4
    if box_loss in ("giou", "both"):
        loss_box = loss_box + generalized_box_iou_loss(boxes, target_boxes, reduction="mean")
    return F.cross_entropy(logits, labels) + box_weight * loss_box
