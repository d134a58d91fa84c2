"""Sparse COO tensors: construction, coalescing, to_dense/to_sparse, sparse.mm and its gradients, error sentences.

PyTorch's values for the same inputs were compared in a local check; here the references are dense NumPy products.
"""
import numpy as np
import pytest

import deepgrad as dg
import deepgrad.sparse as S
from deepgrad.ops._util import ShapeError

IDX = [[0, 1, 1, 0], [2, 0, 2, 2]]  # (0, 2) appears twice
VAL = [3.0, 4.0, 5.0, 1.0]
DENSE = np.array([[0.0, 0.0, 4.0], [4.0, 0.0, 5.0]])


def test_construction_to_dense_and_coalesce():
    s = dg.sparse_coo_tensor(IDX, VAL, (2, 3))
    assert s.is_sparse and not dg.zeros(2).is_sparse
    assert s.shape == (2, 3) and s._nnz() == 4 and not s.is_coalesced() and s.dtype == np.float32
    np.testing.assert_array_equal(s.to_dense().numpy(), DENSE)
    c = s.coalesce()
    assert c.is_coalesced() and c.indices().tolist() == [[0, 1, 1], [2, 0, 2]] and c.values().tolist() == [4, 4, 5]
    assert dg.sparse_coo_tensor([[0, 2], [1, 1]], [1.0, 2.0]).shape == (3, 2)  # size inferred
    np.testing.assert_array_equal(s.t().to_dense().numpy(), DENSE.T)
    np.testing.assert_array_equal((s * 2).to_dense().numpy(), 2 * DENSE)


def test_to_sparse_round_trip_keeps_the_graph():
    x = dg.tensor(DENSE, requires_grad=True)
    s = x.to_sparse()
    assert s.is_coalesced() and s.indices().tolist() == [[0, 1, 1], [2, 0, 2]]
    s.to_dense().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (DENSE != 0).astype(float))


@pytest.mark.parametrize("width", [None, 4])
def test_mm_values_and_gradients(width):
    rng = np.random.default_rng(0)
    d = rng.standard_normal((3,) if width is None else (3, width))
    x = dg.tensor(d, requires_grad=True)
    v = dg.tensor(np.array(VAL), requires_grad=True)
    out = S.mm(dg.sparse_coo_tensor(IDX, v, (2, 3)), x)
    np.testing.assert_allclose(out.detach().numpy(), DENSE @ d, rtol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(dg.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), DENSE.T @ g, rtol=1e-12)  # ∂dense = Sᵀ g
    g2 = g if width is not None else g[:, None]
    d2 = d if width is not None else d[:, None]
    want_v = [(g2[r] * d2[c]).sum() for r, c in zip(*IDX)]
    np.testing.assert_allclose(v.grad.numpy(), want_v, rtol=1e-12)  # ∂v = ⟨g_row, dense_col⟩
    assert dg.autograd.gradcheck(lambda a, b: S.mm(dg.sparse_coo_tensor(IDX, b, (2, 3)), a), [x, v])


def test_mm_spellings_agree():
    s = dg.sparse_coo_tensor(IDX, VAL, (2, 3))
    x = dg.ones(3, 2)
    want = S.mm(s, x).numpy()
    for got in (dg.spmm(s, x), s @ x, dg.mm(s, x), dg.matmul(s, x), S.addmm(dg.zeros(2, 2), s, x)):
        np.testing.assert_array_equal(got.numpy(), want)
    assert S.sum(s).item() == 13.0
    legacy = S.FloatTensor(dg.tensor(IDX), dg.tensor(VAL), (2, 3))
    assert legacy.dtype == np.float32 and legacy.to_dense().tolist() == DENSE.tolist()


@pytest.mark.parametrize("make,error,message", [
    (lambda: dg.sparse_coo_tensor([[0, 5]], [1.0, 2.0], (3,)), ValueError,
     "index 5 in dimension 0 is out of bounds for size 3"),
    (lambda: dg.sparse_coo_tensor([[0, -1]], [1.0, 2.0]), ValueError, "indices must be non-negative"),
    (lambda: dg.sparse_coo_tensor([[0, 1]], [1.0], (3,)), ShapeError, "indices name 2 coordinates but values has 1"),
    (lambda: dg.sparse_coo_tensor([0, 1], [1.0, 2.0]), ShapeError, r"indices must be 2-d \(ndim, nnz\)"),
    (lambda: dg.sparse_coo_tensor([[0.5, 1]], [1.0, 2.0]), TypeError, "indices must be integers"),
    (lambda: dg.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3, 3)), ShapeError, "followed by \\(\\), got \\(3, 3\\)"),
    (lambda: dg.sparse_coo_tensor([[1, 0]], [1.0, 2.0], is_coalesced=True), ValueError, "not sorted and unique"),
    (lambda: S.mm(dg.sparse_coo_tensor(IDX, VAL, (2, 3)), dg.zeros(4, 2)), ShapeError, "inner dimensions differ"),
    (lambda: S.mm(dg.sparse_coo_tensor(IDX, VAL, (2, 3)), dg.zeros(3, 2, dtype=dg.float64)), TypeError,
     "different dtypes"),
    (lambda: S.mm(dg.zeros(2, 3), dg.zeros(3, 2)), TypeError, "must be a sparse COO tensor"),
    (lambda: dg.sparse_coo_tensor(IDX, VAL, (2, 3)).indices(), RuntimeError, "not coalesced"),
])
def test_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_sparse_on_the_strict_device():
    from deepgrad.testing import strict_device

    with strict_device():
        s = dg.sparse_coo_tensor(IDX, VAL, (2, 3)).to("cuda")
        x = dg.ones(3, 2, device="cuda", requires_grad=True)
        out = S.mm(s, x)
        out.sum().backward()
        assert out.device.type == "cuda" and x.grad.device.type == "cuda"
        np.testing.assert_array_equal(out.detach().cpu().numpy(), DENSE @ np.ones((3, 2)))
        np.testing.assert_array_equal(s.coalesce().to_dense().cpu().numpy(), DENSE)
