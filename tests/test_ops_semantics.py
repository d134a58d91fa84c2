"""PyTorch's semantics for index errors, reshape sizes and the max/min tie rule."""
from __future__ import annotations

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F

X = dg.arange(6.0).reshape(2, 3)
CALLS = {
    "index_select": lambda i: dg.index_select(X, 1, i),
    "take_along_dim": lambda i: dg.take_along_dim(X, i.reshape(1, -1), 1),
    "gather": lambda i: dg.gather(X, 1, i.reshape(1, -1)),
    "scatter": lambda i: dg.scatter(X, 1, i.reshape(1, -1), 1.0),
    "scatter_add": lambda i: dg.scatter_add(X, 1, i.reshape(1, -1), dg.ones(1, 1)),
    "index_add": lambda i: dg.index_add(X, 1, i, dg.ones(2, 1)),
    "embedding": lambda i: F.embedding(i, X.T.contiguous()),
}


@pytest.mark.parametrize("op", list(CALLS))
@pytest.mark.parametrize("bad", [5, -1])
def test_out_of_range_indices_raise_one_sentence(op, bad):
    dim = 0 if op == "embedding" else 1
    negative = "; negative indices are not accepted here" if bad < 0 else ""
    with pytest.raises(IndexError, match=rf"^{op}: index {bad} is out of range for dim {dim} of size 3 \(valid "
                                         rf"indices are 0\.\.2{negative}\)$"):
        CALLS[op](dg.tensor([bad]))


def test_scatter_writes_and_differentiates():
    x = dg.zeros(2, 3, dtype=dg.float64, requires_grad=True)
    src = dg.tensor([[5.0], [7.0]], dtype=dg.float64, requires_grad=True)
    idx = dg.tensor([[2], [0]])
    out = dg.scatter(x, 1, idx, src)
    np.testing.assert_allclose(out.detach().numpy(), [[0, 0, 5], [7, 0, 0]])
    (out * dg.arange(6.0, dtype=dg.float64).reshape(2, 3)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1, 0], [0, 4, 5]])
    np.testing.assert_allclose(src.grad.numpy(), [[2], [3]])
    assert dg.autograd.gradcheck(lambda a, s: dg.scatter(a, 1, idx, s), (dg.randn(2, 3, dtype=dg.float64,
                                 requires_grad=True), dg.randn(2, 1, dtype=dg.float64, requires_grad=True)))


def test_scatter_in_place_builds_one_hot():
    out = dg.zeros(2, 3).scatter_(1, dg.tensor([[0], [2]]), 1.0)
    assert out.tolist() == [[1, 0, 0], [0, 0, 1]]


@pytest.mark.parametrize("shape,match", [
    ((2, -2), r"reshape: size -2 at position 1 of \(2, -2\) is invalid"),
    ((-1, -1), r"reshape: \(-1, -1\) asks to infer 2 sizes \(-1\); only one can be inferred"),
    ((4, 2), r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"),
])
def test_reshape_errors_say_what_is_wrong(shape, match):
    with pytest.raises(dg.ShapeError, match=match):
        X.reshape(*shape)


def _grad(fn, values):
    x = dg.tensor(values, dtype=dg.float64, requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


def test_the_tie_rule_is_one_rule():
    v = [[3.0, 1.0, 3.0]]
    # max(dim) returns an index: the gradient goes to it (the first maximum)
    np.testing.assert_allclose(_grad(lambda x: x.max(dim=1).values, v), [[1, 0, 0]])
    # value-only reductions share it among the ties, over one axis or several, and for the full reduction
    np.testing.assert_allclose(_grad(lambda x: x.amax(dim=1), v), [[0.5, 0, 0.5]])
    np.testing.assert_allclose(_grad(lambda x: x.amax(dim=(0, 1)), v), [[0.5, 0, 0.5]])
    np.testing.assert_allclose(_grad(lambda x: x.max(), [3.0, 1.0, 3.0]), [0.5, 0, 0.5])
    np.testing.assert_allclose(_grad(lambda x: x.amin(dim=1), [[1.0, 1.0, 3.0]]), [[0.5, 0.5, 0]])
    # elementwise maximum: a tie splits the gradient between the two operands
    a = dg.tensor([2.0, 1.0], dtype=dg.float64, requires_grad=True)
    b = dg.tensor([2.0, 3.0], dtype=dg.float64, requires_grad=True)
    dg.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0])
    np.testing.assert_allclose(b.grad.numpy(), [0.5, 1])
