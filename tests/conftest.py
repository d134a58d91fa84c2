import os
import sys

# Two xdist workers on two cores: one BLAS thread each, or they oversubscribe and everything slows down.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 - after the thread settings above
import pytest  # noqa: E402

import deepgrad as dg  # noqa: E402
from deepgrad.testing import strict_device  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))

import deepgrad.demos  # noqa: E402
from figure_check import checked_run_demo  # noqa: E402

# every demo a test runs has its figures checked (written, decodable, not blank): see figure_check.py
deepgrad.demos.run_demo = checked_run_demo(deepgrad.demos.run_demo)

SHARED_DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))

DEVICES = ["cpu"] + (["cuda"] if dg.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _seed():
    dg.manual_seed(0)
    np.random.seed(0)
    yield


def _on(kind: str):
    """Yields the device name for ``kind``: "cpu"; "cuda" (a real GPU, skipped without one); "strict" (the strict
    test device of deepgrad.testing, standing in for CUDA without a GPU: NumPy with CuPy's restrictions)."""
    if kind == "strict":
        with strict_device():
            yield "cuda"
        return
    if kind == "cuda" and not dg.cuda.is_available():
        pytest.skip("CUDA not available (CuPy not installed or no GPU)")
    yield kind


@pytest.fixture(params=["cpu", "cuda", "strict"])
def device(request):
    """Runs a test on the CPU, on CUDA when CuPy sees a GPU (skipped cleanly otherwise), and on the strict device."""
    yield from _on(request.param)


@pytest.fixture(params=["cuda", "strict"])
def gpu(request):
    """A CUDA device: the real one when CuPy sees a GPU (skipped otherwise), and the strict test device."""
    yield from _on(request.param)
