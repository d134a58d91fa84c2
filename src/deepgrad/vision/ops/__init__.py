"""torchvision.ops' box operations: ``box_area``, ``box_iou``, ``generalized_box_iou``,
``generalized_box_iou_loss`` (and ``elementwise_box_iou`` for paired boxes)."""
from .boxes import box_area, box_iou, elementwise_box_iou, generalized_box_iou, generalized_box_iou_loss

__all__ = ["box_area", "box_iou", "elementwise_box_iou", "generalized_box_iou", "generalized_box_iou_loss"]
