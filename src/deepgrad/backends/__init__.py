"""``deepgrad.backends``: switches and reports for the compute backends, as ``torch.backends``.

* :mod:`deepgrad.backends.cpu` — which kernels the convolution family runs (``fast_kernels``) and the process-wide
  tuning that ``import deepgrad`` applies (OpenBLAS's spin, glibc's malloc, the thread count), with ``report()``.
* :mod:`deepgrad.backends.cudnn` — PyTorch's cuDNN flags, accepted and recorded (deepgrad does not use cuDNN).
"""
from . import cpu  # noqa: F401
from . import cudnn  # noqa: F401
