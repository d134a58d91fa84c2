"""Knowledge distillation (Hinton, Vinyals & Dean, 2015): a small student learns to imitate a large teacher."""
from __future__ import annotations

from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["distillation_loss"]


def distillation_loss(student_logits: Tensor, teacher_logits: Tensor, target: Tensor | None = None,
                      T: float = 4.0, alpha: float = 0.9) -> Tensor:  # noqa: N803 - T is the paper's name
    """ℓ = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1 − α)·CE(s, y), averaged over the batch.

    The teacher's logits t, softened by the temperature T, give "soft targets" whose small probabilities say which
    wrong classes look alike (a 7 resembles a 1 more than a 6) — the "dark knowledge" a one-hot label lacks. The
    soft term's gradient scales as 1/T², so it is multiplied by T² to keep both terms comparable when T changes.

    Args:
        student_logits: s, (N, C), the network being trained.
        teacher_logits: t, (N, C), from the pre-trained teacher; treated as constants (detached).
        target: y, (N,) class indices for the hard-label term; may be None when alpha = 1.
        T: temperature > 0 (1 is the ordinary softmax; 2–10 are usual).
        alpha: weight of the soft (teacher) term in [0, 1].

    Example:
        >>> import deepgrad as dg
        >>> s = dg.tensor([[1.0, 2.0, 0.5]]); y = dg.tensor([1])
        >>> round(distillation_loss(s, s, y, T=2.0, alpha=0.5).item(), 4)  # KL(p ‖ p) = 0: half the CE
        0.2322
    """
    op = "distillation_loss"
    for what, x in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(x, Tensor) or x.ndim != 2:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"{op}: {what} must be a (N, C) Tensor of logits, got {got}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"{op}: student logits {tuple(student_logits.shape)} and teacher logits "
                         f"{tuple(teacher_logits.shape)} must have the same shape (same batch, same classes)")
    if not T > 0:
        raise ValueError(f"{op}: the temperature T must be positive, got {T}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{op}: alpha must be in [0, 1], got {alpha}")
    if target is None and alpha < 1.0:
        raise ValueError(f"{op}: target is needed for the hard-label term when alpha < 1 (got alpha={alpha})")
    soft_teacher = F.softmax(teacher_logits.detach() / T, 1)
    loss = F.kl_div(F.log_softmax(student_logits / T, 1), soft_teacher, reduction="batchmean") * (alpha * T * T)
    if alpha < 1.0:
        loss = loss + F.cross_entropy(student_logits, target) * (1.0 - alpha)
    return loss
