"""``deepgrad.backends``: switches and reports for the compute backends, as ``torch.backends``.

* :mod:`deepgrad.backends.cpu` — which kernels the convolution family runs (``fast_kernels``) and the process-wide
  tuning that ``import deepgrad`` applies (OpenBLAS's spin, glibc's malloc, the thread count), with ``report()``.
"""
from . import cpu  # noqa: F401
