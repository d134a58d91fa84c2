"""``deepgrad.distributions``: probability distributions under PyTorch's names (``torch.distributions``).

Each distribution has ``batch_shape``/``event_shape``, ``sample`` (and a reparameterised ``rsample`` where the
family allows it), ``log_prob``, ``entropy``, ``mean``/``variance``/``stddev``, argument validation, and
``kl_divergence`` between common pairs. Everything is written with deepgrad ops, so gradients flow.

>>> import deepgrad as dg
>>> from deepgrad.distributions import Categorical
>>> logits = dg.zeros(4, requires_grad=True)
>>> pi = Categorical(logits=logits)
>>> a = pi.sample()
>>> (-pi.log_prob(a)).backward()  # REINFORCE's score function
>>> logits.grad.shape
(4,)
"""
from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical
from .dirichlet import Dirichlet
from .distribution import Distribution
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .one_hot_categorical import OneHotCategorical
from .uniform import Uniform

__all__ = ["Distribution", "Bernoulli", "Beta", "Categorical", "Dirichlet", "Gamma", "Independent", "MultivariateNormal",
           "Normal", "OneHotCategorical", "Uniform", "kl_divergence", "register_kl", "constraints"]
