"""``deepgrad.utils``: the home of PyTorch's ``torch.utils`` names.

``deepgrad.utils.data`` *is* :mod:`deepgrad.data` (the same module object, registered under both names), so
``from torch.utils.data import DataLoader`` ports as ``from deepgrad.utils.data import DataLoader``.
"""
from __future__ import annotations

import sys

from .. import data

sys.modules[f"{__name__}.data"] = data  # an alias, as os.path is: one module, two import paths

__all__ = ["data"]
