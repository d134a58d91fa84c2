"""Registry entries for deepgrad.tools: the knowledge-distillation loss (NumPy reference, float64 gradcheck)."""
import numpy as np

from deepgrad.tools import distillation_loss
from harness import Spec as S
from harness import case


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
