"""The differentiable primitives, grouped by family, and the functions built directly on them."""
from .activation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .matrix import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
