"""Hybrid sparse COO tensors (dense trailing dimensions) and sparse @ sparse, against torch 2.14 (skipped without
it): construction, to_dense, coalesce, to_sparse(sparse_dim), products and their gradients."""
import numpy as np
import pytest

import deepgrad as dg
import deepgrad.sparse as S
from deepgrad.ops._util import ShapeError

torch = pytest.importorskip("torch")

IDX = [[0, 2, 0, 1], [1, 0, 1, 3]]  # (0, 1) twice: duplicates sum


def _hybrid_values(rng, nnz, dense):
    return rng.standard_normal((nnz, *dense))


@pytest.mark.parametrize("dense", [(2,), (2, 3)])
def test_hybrid_construct_to_dense_and_coalesce_match_torch(dense):
    vals = _hybrid_values(np.random.default_rng(0), 4, dense)
    ours = dg.sparse_coo_tensor(IDX, dg.tensor(vals), (3, 4, *dense))
    theirs = torch.sparse_coo_tensor(torch.tensor(IDX), torch.tensor(vals), (3, 4, *dense))
    assert (ours.sparse_dim(), ours.dense_dim(), ours.shape) == (2, len(dense), tuple(theirs.shape))
    np.testing.assert_array_equal(ours.to_dense().numpy(), theirs.to_dense().numpy())
    oc, tc = ours.coalesce(), theirs.coalesce()
    assert oc.is_coalesced() and oc._nnz() == tc._nnz() == 3
    np.testing.assert_array_equal(oc.indices().numpy(), tc.indices().numpy())
    np.testing.assert_allclose(oc.values().numpy(), tc.values().numpy(), rtol=1e-15)
    inferred = dg.sparse_coo_tensor(IDX, dg.tensor(vals))
    assert inferred.shape == tuple(torch.sparse_coo_tensor(torch.tensor(IDX), torch.tensor(vals)).shape)


def test_hybrid_gradients_reach_the_blocks():
    vals = dg.tensor(_hybrid_values(np.random.default_rng(1), 4, (2,)), requires_grad=True)
    weight = dg.tensor(np.random.default_rng(2).standard_normal((3, 4, 2)))
    (dg.sparse_coo_tensor(IDX, vals, (3, 4, 2)).coalesce().to_dense() * weight).sum().backward()
    tv = torch.tensor(vals.detach().numpy(), requires_grad=True)
    (torch.sparse_coo_tensor(torch.tensor(IDX), tv, (3, 4, 2)).coalesce().to_dense()
     * torch.tensor(weight.numpy())).sum().backward()
    np.testing.assert_allclose(vals.grad.numpy(), tv.grad.numpy(), rtol=1e-15)
    assert dg.autograd.gradcheck(lambda v: dg.sparse_coo_tensor(IDX, v, (3, 4, 2)).coalesce().to_dense(),
                                 [dg.tensor(vals.detach().numpy(), requires_grad=True)])


@pytest.mark.parametrize("sparse_dim", [1, 2, 3])
def test_to_sparse_with_sparse_dim_matches_torch(sparse_dim):
    x = np.zeros((3, 4, 2))
    x[0, 1, 1], x[2, 3, 0], x[2, 0, 1] = 1.5, -2.0, 3.0
    ours, theirs = dg.tensor(x).to_sparse(sparse_dim), torch.tensor(x).to_sparse(sparse_dim)
    assert (ours.sparse_dim(), ours.dense_dim()) == (theirs.sparse_dim(), theirs.dense_dim())
    np.testing.assert_array_equal(ours.indices().numpy(), theirs.indices().numpy())
    np.testing.assert_array_equal(ours.values().numpy(), theirs.values().numpy())
    np.testing.assert_array_equal(ours.to_dense().numpy(), x)


def test_hybrid_refusals():
    vals = dg.ones(4, 2)
    with pytest.raises(ShapeError, match="so size must be 2 sparse sizes followed by \\(2,\\), got \\(3, 4, 5\\)"):
        dg.sparse_coo_tensor(IDX, vals, (3, 4, 5))
    h = dg.sparse_coo_tensor(IDX, vals, (3, 4, 2))
    with pytest.raises(ShapeError, match="hybrid sparse tensors"):
        S.mm(dg.sparse_coo_tensor([[0, 1]], dg.ones(2, 2), (2, 2)), dg.ones(2, 2))
    with pytest.raises(ShapeError, match="t\\(\\): expected a 2-d sparse tensor with no dense dimensions"):
        dg.sparse_coo_tensor([[0, 1]], dg.ones(2, 2), (2, 2)).t()
    with pytest.raises(ShapeError, match="only sparse dimensions can be swapped"):
        h.transpose(0, 2)
    assert h.transpose(0, 1).shape == (4, 3, 2)
    np.testing.assert_array_equal(h.transpose(0, 1).to_dense().numpy(), h.to_dense().numpy().transpose(1, 0, 2))
    with pytest.raises(ValueError, match="to_sparse: sparse_dim must be an integer in \\[1, 2\\]"):
        dg.ones(2, 2).to_sparse(3)


def _random_sparse(rng, shape, nnz):
    idx = np.stack([rng.integers(0, s, nnz) for s in shape])
    return idx, rng.standard_normal(nnz)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sparse_times_sparse_is_sparse_with_torch_values_and_gradients(seed):
    rng = np.random.default_rng(seed)
    (ia, va), (ib, vb) = _random_sparse(rng, (5, 6), 9), _random_sparse(rng, (6, 4), 8)  # duplicates likely
    g = rng.standard_normal((5, 4))
    a = dg.sparse_coo_tensor(ia, dg.tensor(va), (5, 6)).coalesce().requires_grad_()
    b = dg.sparse_coo_tensor(ib, dg.tensor(vb), (6, 4)).coalesce().requires_grad_()
    c = S.mm(a, b)
    ta = torch.sparse_coo_tensor(torch.tensor(ia), torch.tensor(va), (5, 6)).coalesce().requires_grad_()
    tb = torch.sparse_coo_tensor(torch.tensor(ib), torch.tensor(vb), (6, 4)).coalesce().requires_grad_()
    tc = torch.sparse.mm(ta, tb)
    assert c.is_sparse and c.is_coalesced() and tc.is_sparse
    # torch may keep explicit zeros where products cancel; compare the dense forms and the coordinates kept
    np.testing.assert_allclose(c.to_dense().detach().numpy(), tc.to_dense().detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(c.indices().numpy(), tc.coalesce().indices().numpy())
    (c.to_dense() * dg.tensor(g)).sum().backward()
    (tc.to_dense() * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(a.grad.to_dense().numpy(), ta.grad.to_dense().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(b.grad.to_dense().numpy(), tb.grad.to_dense().numpy(), rtol=1e-13, atol=1e-15)
    assert (a @ b).is_sparse and dg.mm(a, b).is_sparse
    assert dg.autograd.gradcheck(
        lambda x, y: S.mm(dg.sparse_coo_tensor(ia, x, (5, 6)), dg.sparse_coo_tensor(ib, y, (6, 4))).to_dense(),
        [dg.tensor(va, requires_grad=True), dg.tensor(vb, requires_grad=True)])


def test_sparse_times_sparse_edge_cases_and_strict_device():
    from deepgrad.testing import strict_device

    empty = dg.sparse_coo_tensor(np.zeros((2, 0), np.int64), dg.zeros(0), (3, 2))
    other = dg.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))
    assert S.mm(empty, other)._nnz() == 0 and S.mm(empty, other).shape == (3, 2)
    with pytest.raises(ShapeError, match="inner dimensions differ"):
        S.mm(other, empty)
    with strict_device():
        a = dg.sparse_coo_tensor([[0, 1, 1], [1, 0, 1]], dg.tensor([1.0, 2.0, 3.0], device="cuda"), (2, 2))
        c = S.mm(a, a)
        assert c.device.type == "cuda"
        expected = a.to_dense().cpu().numpy() @ a.to_dense().cpu().numpy()
        np.testing.assert_allclose(c.to_dense().cpu().numpy(), expected)
