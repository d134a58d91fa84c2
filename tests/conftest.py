import os
import sys

# Two xdist workers on two cores: one BLAS thread each, or they oversubscribe and everything slows down.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 - after the thread settings above
import pytest  # noqa: E402

import deepgrad as dg  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))

SHARED_DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))

DEVICES = ["cpu"] + (["cuda"] if dg.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _seed():
    dg.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Runs a test on the CPU, and on CUDA when CuPy sees a GPU (skipped cleanly otherwise)."""
    if request.param == "cuda" and not dg.cuda.is_available():
        pytest.skip("CUDA not available (CuPy not installed or no GPU)")
    return request.param
