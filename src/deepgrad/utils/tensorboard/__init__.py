"""``deepgrad.utils.tensorboard``: ``SummaryWriter`` writing TensorBoard event files (``torch.utils.tensorboard``).

Needs the ``tensorboard`` package: ``pip install "deepgrad[tensorboard]"``; it is imported when this module is.
"""
from .writer import SummaryWriter

__all__ = ["SummaryWriter"]
