"""``deepgrad.nn``: Module, Parameter, containers, layers, activations, losses and initialisers.

>>> import deepgrad as dg
>>> model = dg.nn.Sequential(dg.nn.Linear(784, 256), dg.nn.ReLU(), dg.nn.Linear(256, 10))
>>> loss = dg.nn.CrossEntropyLoss()(model(dg.randn(8, 784)), dg.tensor([0, 1, 2, 3, 4, 5, 6, 7]))
>>> loss.backward()
"""
from . import functional, init, utils  # noqa: F401
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .parameter import Parameter  # noqa: F401
from .pooling import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .pixelshuffle import *  # noqa: F401,F403
from . import parallel  # noqa: F401,E402
from .parallel import DataParallel  # noqa: F401,E402
