"""Registry entries for the lecture families' differentiable losses outside the core: the VAE loss with its
squared-error reconstruction."""
import numpy as np

import deepgrad as dg
from deepgrad.models import vae_loss
from deepgrad.tools.template import match_template
from deepgrad.vision.ops import generalized_box_iou_loss
from harness import case


def vae_mse_ref(xhat, x, mu, logvar):
    kl = -0.5 * (1 + logvar - mu ** 2 - np.exp(logvar)).sum()
    return np.asarray((((xhat - x) ** 2).sum() + kl) / xhat.shape[0])


case("vae_loss", lambda r, x, m, lv: vae_loss(r, x, m, lv, reconstruction="mse"), [(3, 5), (3, 5), (3, 2), (3, 2)],
     vae_mse_ref, variant="mse")


def heaviside_ref(a, v):
    return np.where(a > 0, 1.0, np.where(a == 0, v, 0.0)).astype(a.dtype)


# values broadcast against the input; a third of the inputs are exactly 0 so both branches are exercised
case("heaviside", lambda x, v: dg.heaviside(x * (x.abs() > 0.5), v), [(3, 4), (4,)],
     lambda a, v: heaviside_ref(a * (np.abs(a) > 0.5), v))


def _boxes(a):
    """Valid boxes from free numbers: (x1, y1) and positive sizes."""
    return np.concatenate([a[..., :2], a[..., :2] + 0.5 + np.abs(a[..., 2:])], -1)


def _dg_boxes(t):
    return dg.cat([t[..., :2], t[..., :2] + 0.5 + t[..., 2:].abs()], -1)


def giou_ref(a, b):
    a, b = _boxes(a), _boxes(b)
    iw = np.clip(np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1]), 0, None)
    inter = iw * ih
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    union = area(a) + area(b) - inter
    c = (np.maximum(a[:, 2], b[:, 2]) - np.minimum(a[:, 0], b[:, 0])) * (
        np.maximum(a[:, 3], b[:, 3]) - np.minimum(a[:, 1], b[:, 1]))
    return 1 - (inter / (union + 1e-7) - (c - union) / (c + 1e-7))


case("generalized_box_iou_loss", lambda a, b: generalized_box_iou_loss(_dg_boxes(a), _dg_boxes(b)), [(5, 4), (5, 4)],
     giou_ref)


def ncc_ref(img, tmpl):
    h, w = tmpl.shape
    out = np.zeros((img.shape[0] - h + 1, img.shape[1] - w + 1))
    tz = tmpl - tmpl.mean()
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            win = img[i:i + h, j:j + w] - img[i:i + h, j:j + w].mean()
            out[i, j] = (win * tz).sum() / np.sqrt((win * win).sum() * (tz * tz).sum())
    return out


case("match_template", match_template, [(6, 7), (3, 2)], ncc_ref)
