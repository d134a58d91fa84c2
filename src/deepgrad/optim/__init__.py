"""``deepgrad.optim``: optimisers (one file per algorithm), learning-rate schedulers and weight averaging.

>>> import deepgrad as dg
>>> w = dg.tensor([3.0], requires_grad=True)
>>> opt = dg.optim.Adam([w], lr=0.1)
>>> for _ in range(100):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> abs(w.item()) < 0.1
True
"""
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .barzilai_borwein import BarzilaiBorwein
from .implicit_sgd import ImplicitSGD
from .lbfgs import LBFGS
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "Rprop", "LBFGS", "BarzilaiBorwein",
           "ImplicitSGD", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "lr_scheduler", "swa_utils"]
