"""Registry entries for deepgrad.tools: the knowledge-distillation loss (NumPy reference, float64 gradcheck)."""
import numpy as np

import deepgrad as dg
from deepgrad.tools import distillation_loss
from deepgrad.train import ShiftTTA
from harness import Spec as S
from harness import case, layer


def _softmax(a):
    e = np.exp(a - a.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def distillation_ref(s, t, y, T=4.0, alpha=0.9):  # noqa: N803
    ps, pt = _softmax(s / T), _softmax(t / T)
    kl = (pt * (np.log(pt) - np.log(ps))).sum() / len(s)
    ce = -np.log(_softmax(s)[np.arange(len(s)), y]).mean()
    return alpha * T * T * kl + (1 - alpha) * ce


# the teacher's logits are constants (detached), so only the student's are differentiated
case("distillation_loss", distillation_loss, [(4, 5), S((4, 5), grad=False), S((4,), "int", 0, 5)],
     distillation_ref, gradgrad=True)
case("distillation_loss", lambda s, t, y: distillation_loss(s, t, y, T=1.5, alpha=0.3),
     [(6, 3), S((6, 3), grad=False), S((6,), "int", 0, 3)],
     lambda s, t, y: distillation_ref(s, t, y, 1.5, 0.3), variant="T1.5-alpha0.3")
case("distillation_loss", lambda s, t: distillation_loss(s, t, None, T=2.0, alpha=1.0),
     [(3, 4), S((3, 4), grad=False)], lambda s, t: distillation_ref(s, t, np.zeros(3, int), 2.0, 1.0),
     variant="soft-only")


def _shift_tta_ref(p, x):
    """log of the softmax of a linear classifier averaged over the image and its four one-pixel moves (fill 0)."""
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    probs = []
    for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        z = padded[:, :, 1 - dy: 1 - dy + h, 1 - dx: 1 - dx + w].reshape(n, -1) @ p["model.1.weight"].T
        z = z + p["model.1.bias"]
        e = np.exp(z - z.max(1, keepdims=True))
        probs.append(e / e.sum(1, keepdims=True))
    return np.log(np.mean(probs, 0))


layer("ShiftTTA", lambda: ShiftTTA(dg.nn.Sequential(dg.nn.Flatten(), dg.nn.Linear(9, 3))), [(2, 1, 3, 3)],
      _shift_tta_ref)
