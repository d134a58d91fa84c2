"""Testing aids: the strict test device (:mod:`deepgrad.testing.strict`), which stands in for CuPy in CI."""
from .strict import StrictArray, StrictDeviceError, strict_device

__all__ = ["StrictArray", "StrictDeviceError", "strict_device"]
