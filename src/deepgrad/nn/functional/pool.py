"""Pooling and unpooling as stateless functions: the ops of :mod:`deepgrad.ops.pool`."""
from ...ops.pool import *  # noqa: F401,F403
from ...ops.pool import __all__  # noqa: F401
