"""``deepgrad.nn.functional``: stateless layers — activations, losses, linear maps, dropout, normalisation.

Usually imported as ``import deepgrad.nn.functional as F``.
"""
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .regularization import *  # noqa: F401,F403
from .upsampling import *  # noqa: F401,F403
from .pixel_shuffle import *  # noqa: F401,F403
