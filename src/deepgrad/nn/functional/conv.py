"""Convolutions as stateless functions (``F.conv2d`` ...): the ops of :mod:`deepgrad.ops.conv`."""
from ...ops.conv import *  # noqa: F401,F403
from ...ops.conv import __all__  # noqa: F401
