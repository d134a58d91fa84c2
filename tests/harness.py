"""The registry-driven test harness: one entry per differentiable op or layer drives every generic test.

An entry (:class:`Case`) gives a function of Tensors, how to sample its inputs, and optionally a NumPy reference.
``tests/test_registry.py`` runs, for every entry: forward values against the reference (float64 and float32),
float64 gradcheck, gradgradcheck where asked, and the CUDA variant when a GPU is available.
Register entries from modules in ``tests/registry/`` with :func:`case`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import deepgrad as dg


@dataclass
class Spec:
    """How to sample one input: ``kind`` is 'float', 'positive', 'unit' (in (-0.9, 0.9)), 'prob' (in (0.1, 0.9)),
    'int', 'sign' (integers −1 and +1, both present) or 'bool'."""

    shape: tuple
    kind: str = "float"
    low: int = 0
    high: int = 5
    noncontig: bool = False
    grad: bool = True


@dataclass
class Case:
    name: str
    fn: Callable
    inputs: list
    ref: Callable | None = None
    grad: bool = True
    gradgrad: bool = False
    atol: float = 1e-5
    rtol: float = 1e-3
    ref_atol: float = 1e-6
    variant: str = ""
    tags: tuple = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return self.name + (f"[{self.variant}]" if self.variant else "")


REGISTRY: list[Case] = []


def case(name, fn, inputs, ref=None, **kw) -> Case:
    inputs = [s if isinstance(s, Spec) else Spec(tuple(s)) for s in inputs]
    c = Case(name, fn, inputs, ref, **kw)
    REGISTRY.append(c)
    return c


def sample(spec: Spec, rng: np.random.Generator) -> np.ndarray:
    shape = tuple(spec.shape)
    if spec.kind == "int":
        a = rng.integers(spec.low, spec.high, size=shape).astype(np.int64)
    elif spec.kind == "sign":
        a = rng.permutation(np.resize(np.array([1, -1], np.int64), int(np.prod(shape)))).reshape(shape)
    elif spec.kind == "bool":
        a = rng.random(shape) < 0.5
    elif spec.kind == "positive":
        a = rng.uniform(0.5, 2.0, size=shape)
    elif spec.kind == "unit":
        a = rng.uniform(-0.9, 0.9, size=shape)
    elif spec.kind == "prob":
        a = rng.uniform(0.1, 0.9, size=shape)
    else:
        a = rng.standard_normal(shape)
        # keep values away from kinks (relu, abs, max ties) so finite differences are meaningful
        a = np.where(np.abs(a) < 0.05, a + np.sign(a + 1e-12) * 0.1, a)
    return np.asarray(a)


def _strided(a: np.ndarray) -> np.ndarray:
    """The same values as a non-contiguous view (every other element of a buffer twice as wide)."""
    if a.ndim == 0 or a.size <= 1:
        return a
    big = np.zeros(a.shape[:-1] + (a.shape[-1] * 2,), dtype=a.dtype)
    big[..., ::2] = a
    return big[..., ::2]


def make_inputs(c: Case, dtype=np.float64, device="cpu", seed=0):
    """NumPy arrays (for the reference) and matching Tensors (float ones of ``dtype``, requiring grad)."""
    rng = np.random.default_rng(seed)
    arrays, tensors = [], []
    for s in c.inputs:
        a = sample(s, rng)
        arrays.append(a)
        if s.kind not in ("int", "sign", "bool"):
            a = a.astype(dtype)
        if s.noncontig and device == "cpu":
            t = dg.from_numpy(_strided(a))
        else:
            t = dg.tensor(a, device=device)
        if s.kind not in ("int", "sign", "bool"):
            t.requires_grad = s.grad and c.grad
        tensors.append(t)
    return arrays, tensors


# ----------------------------------------------------------------------------------------- layers (nn)
@dataclass
class LayerCase:
    """One ``nn`` layer: ``make()`` builds it; ``inputs`` sample its forward arguments; ``ref(params, *arrays)``
    gives the expected output from the layer's parameters (a dict of float64 NumPy arrays, by state_dict name)."""

    name: str
    make: Callable
    inputs: list
    ref: Callable | None = None
    grad: bool = True
    train_differs: bool = False  # train() and eval() give different outputs (dropout) or state (batch norm)
    atol: float = 1e-5
    rtol: float = 1e-3

    @property
    def id(self) -> str:
        return self.name


LAYERS: list[LayerCase] = []


def layer(name, make, inputs, ref=None, **kw) -> LayerCase:
    """Register an nn layer for tests/test_modules.py (see tests/registry/README.md)."""
    inputs = [s if isinstance(s, Spec) else Spec(tuple(s)) for s in inputs]
    c = LayerCase(name, make, inputs, ref, **kw)
    LAYERS.append(c)
    return c


def build_layer(c: LayerCase, seed: int = 0):
    """The layer in float64 and eval mode, its NumPy parameters, and its sampled inputs (arrays, Tensors)."""
    dg.manual_seed(seed)
    m = c.make().double().eval()
    params = {k: v.detach().numpy().astype(np.float64) for k, v in m.state_dict().items()}
    arrays, tensors = make_inputs(Case(c.name, None, c.inputs, grad=c.grad), np.float64, seed=seed)
    return m, params, arrays, tensors


# ------------------------------------------------------------------------------------------ error inputs
@dataclass
class ErrorCase:
    """A call that must raise ``exc`` with a message matching ``match`` (PyTorch OpInfo's error_inputs)."""

    name: str
    call: Callable
    exc: type
    match: str


ERRORS: list[ErrorCase] = []


def error(name, call, exc, match) -> ErrorCase:
    """Register a bad input of an op or layer and the sentence it must raise (tests/test_modules.py runs them)."""
    c = ErrorCase(name, call, exc, match)
    ERRORS.append(c)
    return c
