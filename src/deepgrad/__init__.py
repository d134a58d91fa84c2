"""deepgrad: a deep-learning framework written from first principles, PyTorch-shaped, on NumPy and CuPy.

>>> import deepgrad as dg
>>> x = dg.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> (x * x).sum().backward()
>>> x.grad
tensor([2., 4., 6.])
"""
from __future__ import annotations

from .backends import cpu as _cpu  # process-wide CPU tuning, before NumPy loads: see deepgrad.backends.cpu

_cpu.apply_process_tuning()

from . import autograd, backend, backends, cuda, parallel  # noqa: E402
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import (
    Device,
    Generator,
    bool_,
    double,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    int8,
    int16,
    int32,
    int64,
    long,
    manual_seed,
    set_default_dtype,
    uint8,
)
from .backend import Device as device  # noqa: N813 - dg.device("cuda") like torch.device
from .creation import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
del linalg  # noqa: F821 - the star import's ops.linalg; torch.linalg is deepgrad.linalg, imported next
from . import linalg  # noqa: E402
from .ops._util import DeviceError, ShapeError
from .parallel import get_num_threads, set_num_threads
from .promotion import DTypeError, can_cast, promote_types, result_type
from .tensor import Tensor, tensor
from .tensor_types import (  # noqa: E402,F401 - torch.FloatTensor and friends
    BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor)

float = float32  # noqa: A001 - torch.float
int = int32  # noqa: A001 - torch.int
bool = bool_  # noqa: A001 - torch.bool

__version__ = "0.1.0"


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def __getattr__(name):  # heavier sub-packages load on first use
    import importlib

    if name in ("nn", "optim", "data", "train", "models", "viz", "tools", "demos", "rl", "serialization",
                "utils", "vision", "distributed", "testing", "onnx"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("distributions", "accelerator", "sparse"):
        return importlib.import_module(f".{name}", __name__)
    if name in ("sparse_coo_tensor", "spmm"):
        return getattr(importlib.import_module(".sparse", __name__), name)
    if name in ("save", "load"):
        return getattr(importlib.import_module(".serialization", __name__), name)
    if name == "summary":
        return importlib.import_module(".tools.summary", __name__).summary
    raise AttributeError(f"module 'deepgrad' has no attribute {name!r}")
