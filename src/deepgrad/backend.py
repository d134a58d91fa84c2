"""Array backends: NumPy on the CPU, CuPy on NVIDIA GPUs.

Every op receives raw arrays and asks :func:`array_module` which module to compute with, so one definition of
each op serves both devices.
"""
from __future__ import annotations

import numpy as np


def _find_cupy():
    """(cupy, cupyx, device count) when CuPy is installed and sees a GPU, else (None, None, 0)."""
    try:  # CuPy is optional: ``pip install "deepgrad[gpu]"``.
        import cupy
        import cupyx
    except ImportError:
        return None, None, 0
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - a CuPy without a driver or GPU behaves like no CuPy
        count = 0
    return (cupy, cupyx, count) if count else (None, None, 0)


# The module that computes for device "cuda" (CuPy, or the strict test device of deepgrad.testing), its cupyx
# twin and the number of devices: the one place that knows which.
cupy, _cupyx, _CUDA_DEVICES = _find_cupy()


def set_gpu_module(module, extras, count: int) -> tuple:
    """Make ``module`` (with its ``cupyx`` twin ``extras``) compute for device "cuda"; returns the previous triple.

    Used by :func:`deepgrad.testing.strict_device`; a user never needs it.
    """
    global cupy, _cupyx, _CUDA_DEVICES
    previous = (cupy, _cupyx, _CUDA_DEVICES)
    cupy, _cupyx, _CUDA_DEVICES = module, extras, count
    return previous


def cuda_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return cupy is not None


def cuda_device_count() -> int:
    return _CUDA_DEVICES


def array_module(a):
    """``numpy`` or ``cupy``: the module that computes on array ``a``."""
    if cupy is not None and isinstance(a, cupy.ndarray):
        return cupy
    return np


def is_device_array(a) -> bool:
    """True for an array that lives on a CUDA device."""
    return cupy is not None and isinstance(a, cupy.ndarray)


def to_numpy(a) -> np.ndarray:
    """A NumPy array of ``a``'s values: device arrays are copied to the host, NumPy ones returned as they are."""
    return cupy.asnumpy(a) if is_device_array(a) else np.asarray(a)


def gpu_extras():
    """``cupyx`` (or the strict device's twin): scatter-add and special functions for device arrays."""
    return _cupyx


class Device:
    """A place where arrays live: ``Device("cpu")`` or ``Device("cuda:0")``."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | Device = "cpu") -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda") or (kind == "cpu" and idx not in ("", "0")):
            raise ValueError(f"device: unknown device {spec!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        if kind == "cuda":
            try:
                index = int(idx) if idx else 0
            except ValueError:
                raise ValueError(f"device: bad CUDA index in {spec!r}; expected 'cuda:N'") from None
            self.type, self.index = "cuda", index
        else:
            self.type, self.index = "cpu", None

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + ("" if self.index is None else f", index={self.index}") + ")"


CPU = Device("cpu")


def device_of(a) -> Device:
    if cupy is not None and isinstance(a, cupy.ndarray):
        d = Device.__new__(Device)
        d.type, d.index = "cuda", a.device.id
        return d
    return CPU


def module_for(device: Device):
    if device.type == "cuda":
        if cupy is None:
            raise RuntimeError(
                f"device {device}: CUDA is not available (CuPy is not installed or sees no GPU); "
                "install it with pip install 'deepgrad[gpu]' or use device='cpu'"
            )
        if device.index >= _CUDA_DEVICES:
            raise RuntimeError(f"device {device}: only {_CUDA_DEVICES} CUDA device(s) are visible")
        return cupy
    return np


def to_device(a, device: Device):
    """Copy array ``a`` to ``device`` (no copy when it is already there)."""
    if device.type == "cpu":
        return cupy.asnumpy(a) if is_device_array(a) else a
    xp = module_for(device)
    with xp.cuda.Device(device.index):
        return xp.asarray(a)


# ----------------------------------------------------------------------------------------------- dtypes
float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
int8, uint8, int16, int32, int64 = (np.dtype(n) for n in ("int8", "uint8", "int16", "int32", "int64"))
bool_ = np.dtype("bool")
half, double, long = float16, float64, int64  # PyTorch's aliases
_DTYPES = {str(d): d for d in (float16, float32, float64, int8, uint8, int16, int32, int64, bool_)}

_default_dtype = float32


def get_default_dtype() -> np.dtype:
    return _default_dtype


def set_default_dtype(dtype) -> None:
    global _default_dtype
    dtype = as_dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


def as_dtype(dtype) -> np.dtype:
    if dtype is None:
        return _default_dtype
    try:
        d = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected one of {sorted(_DTYPES)}") from None
    if str(d) not in _DTYPES:
        raise TypeError(f"unsupported dtype {d}; deepgrad supports {sorted(_DTYPES)}")
    return d


def is_floating(dtype) -> bool:
    return dtype.kind == "f"


# ----------------------------------------------------------------------------------------------- random
class Generator:
    """A seeded random stream for one backend, wrapping ``numpy.random.Generator`` (or CuPy's)."""

    def __init__(self, seed: int | None = None) -> None:
        self.manual_seed(np.random.SeedSequence().entropy % (2**63) if seed is None else seed)

    def manual_seed(self, seed: int) -> Generator:
        self.seed = int(seed)
        self._np = np.random.Generator(np.random.PCG64(self.seed))
        self._cp = {}
        return self

    def module_rng(self, xp, device: Device | None = None):
        if xp is np:
            return self._np
        key = device.index if device is not None else 0
        if key not in self._cp:
            self._cp[key] = xp.random.Generator(xp.random.XORWOW(self.seed + key))
        return self._cp[key]

    def get_state(self) -> dict:
        """JSON-serialisable state (CPU stream; GPU streams are re-derived from the seed)."""
        return {"seed": self.seed, "bit_generator": self._np.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self.manual_seed(state["seed"])
        self._np.bit_generator.state = state["bit_generator"]


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed every random stream deepgrad draws from (CPU and GPU), for reproducible runs."""
    return default_generator.manual_seed(seed)
