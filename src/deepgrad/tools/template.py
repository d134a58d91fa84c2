"""Template matching by normalised cross-correlation (the lectures' "normalized correlation"):

    NCC(p) = Σ_q (I(p + q) − Ī_p)(T(q) − T̄) / √(Σ_q (I(p + q) − Ī_p)² · Σ_q (T(q) − T̄)²)

with Ī_p the mean of the image window at p and T̄ the template's mean. It lies in [−1, 1], is 1 where the window is
an affine brightening of the template (a·T + b, a > 0), and ignores the image's local brightness and contrast.
The numerator is one correlation with the zero-mean template (Σ Ī_p (T − T̄) = 0); the window sums Σ I and Σ I² are
correlations with a box of ones; all three are ``conv2d`` calls, so the map is differentiable.
"""
from __future__ import annotations

from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["match_template", "best_match"]


def match_template(image: Tensor, template: Tensor, eps: float = 1e-8) -> Tensor:
    """The NCC map of ``template`` (h, w) over ``image`` (H, W) or (N, 1, H, W): shape (H − h + 1, W − w + 1)
    (or (N, 1, ...)); windows of zero variance score 0.

    Example:
        >>> import deepgrad as dg
        >>> img = dg.zeros(6, 6)
        >>> img[2:4, 3:5] = dg.tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> best_match(match_template(img, dg.tensor([[1.0, 2.0], [3.0, 4.0]])))
        (2, 3)
    """
    if not isinstance(image, Tensor) or image.ndim not in (2, 4) or (image.ndim == 4 and image.shape[1] != 1):
        raise ValueError(f"match_template: image must be (H, W) or (N, 1, H, W), got "
                         f"{tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__}")
    if not isinstance(template, Tensor) or template.ndim != 2:
        raise ValueError("match_template: template must be a 2-d (h, w) tensor")
    h, w = template.shape
    if h > image.shape[-2] or w > image.shape[-1]:
        raise ValueError(f"match_template: template {tuple(template.shape)} is larger than the image "
                         f"{tuple(image.shape[-2:])}")
    x = image.reshape(1, 1, *image.shape) if image.ndim == 2 else image
    t = template.to(x.dtype)
    n = h * w
    tz = t - t.mean()
    t_norm = (tz * tz).sum().sqrt()
    num = F.conv2d(x, tz.reshape(1, 1, h, w))
    box = x.new_full((1, 1, h, w), 1.0)
    s1, s2 = F.conv2d(x, box), F.conv2d(x * x, box)
    var = (s2 - s1 * s1 / n).clamp(min=0)
    den = var.sqrt() * t_norm
    out = num / (den + eps) * (den > eps * max(1.0, float(t_norm.item()))).to(x.dtype)
    return out.reshape(out.shape[-2:]) if image.ndim == 2 else out


def best_match(ncc: Tensor) -> tuple[int, int]:
    """(row, column) of the highest score of a 2-d NCC map: the top-left corner of the best window."""
    a = ncc.detach().cpu().numpy()
    if a.ndim != 2:
        raise ValueError(f"best_match: expected a 2-d map, got shape {a.shape}")
    r, c = divmod(int(a.argmax()), a.shape[1])
    return r, c
