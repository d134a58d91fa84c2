"""Losses: the lectures' hinge example, target shape and dtype errors, stability, module forms."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn


def test_lectures_multiclass_svm_example():
    # scores of three images (cat, car, frog) for the classes cat/car/frog, one row per image
    s = dg.tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = dg.tensor([0, 1, 2])
    np.testing.assert_allclose(F.multiclass_hinge_loss(s, y, reduction="none").numpy(), [2.9, 0.0, 12.9], rtol=1e-5)
    assert round(nn.MulticlassHingeLoss()(s, y).item(), 2) == 5.27
    # PyTorch's multi_margin_loss divides each sample's sum by the number of classes
    np.testing.assert_allclose(F.multi_margin_loss(s, y, reduction="none").numpy(), [2.9 / 3, 0, 12.9 / 3], rtol=1e-5)


ELEMENTWISE = [F.mse_loss, F.l1_loss, F.huber_loss, F.smooth_l1_loss, F.half_squared_error_loss,
               F.binary_cross_entropy, F.binary_cross_entropy_with_logits, F.kl_div, F.hinge_embedding_loss,
               F.hinge_loss]


@pytest.mark.parametrize("fn", ELEMENTWISE, ids=lambda f: f.__name__)
def test_elementwise_losses_refuse_broadcasting_targets(fn):
    x = dg.full((4,), 0.5)
    t = dg.ones(4, 1)
    with pytest.raises(dg.ShapeError, match=rf"{fn.__name__}: target shape \(4, 1\) differs from input shape \(4,\)"):
        fn(x, t)


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.cross_entropy, F.nll_loss, F.multi_margin_loss,
                                F.multiclass_hinge_loss], ids=lambda f: f.__name__)
def test_bad_reduction(fn):
    x = dg.zeros(2, 3)
    t = dg.zeros(2, 3) if fn in (F.mse_loss, F.l1_loss) else dg.tensor([0, 1])
    with pytest.raises(ValueError, match="reduction must be one of"):
        fn(x, t, reduction="avg")


def test_cross_entropy_target_errors():
    x = dg.randn(4, 3)
    with pytest.raises(TypeError, match=r"class-index targets must be integers \(int64\), got dtype float32"):
        F.cross_entropy(x, dg.zeros(4))
    with pytest.raises(dg.ShapeError, match=r"target must have shape \(4,\) .* got \(4, 1\) \(squeeze the trailing 1"):
        F.cross_entropy(x, dg.zeros(4, 1, dtype=dg.int64))
    with pytest.raises(dg.ShapeError, match="fits neither class indices"):
        F.cross_entropy(x, dg.zeros(4, 5))
    with pytest.raises(IndexError, match=r"must lie in 0..2"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 3]))
    with pytest.raises(dg.ShapeError, match=r"weight must have shape \(3,\)"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 0]), weight=dg.ones(4))
    with pytest.raises(TypeError, match="target must hold integer class indices"):
        F.multiclass_hinge_loss(x, dg.zeros(4))
    with pytest.raises(dg.ShapeError, match=r"target must have shape \(4,\)"):
        F.multi_margin_loss(x, dg.zeros(4, 1, dtype=dg.int64))
    with pytest.raises(TypeError, match="floating point"):
        F.mse_loss(dg.zeros(3, dtype=dg.int64), dg.zeros(3, dtype=dg.int64))


def test_cross_entropy_is_stable_and_its_gradient_is_softmax_minus_onehot():
    x = dg.tensor([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]], requires_grad=True)
    t = dg.tensor([1, 2])
    loss = F.cross_entropy(x, t)
    assert np.isfinite(loss.item())
    np.testing.assert_allclose(loss.item(), (1000.0 + np.log(3)) / 2, rtol=1e-5)
    loss.backward()
    p = np.array([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    onehot = np.array([[0, 1, 0], [0, 0, 1]])
    np.testing.assert_allclose(x.grad.numpy(), (p - onehot) / 2, atol=1e-6)


def test_cross_entropy_one_hot_targets_equal_index_targets():
    x = dg.randn(5, 4)
    t = dg.tensor([0, 3, 1, 1, 2])
    onehot = dg.one_hot(t, 4).float()
    np.testing.assert_allclose(F.cross_entropy(x, onehot).item(), F.cross_entropy(x, t).item(), rtol=1e-6)
    np.testing.assert_allclose(F.cross_entropy(x, t).item(), F.nll_loss(F.log_softmax(x, 1), t).item(), rtol=1e-6)


def test_ignore_index_and_binary_cross_entropy_clamp():
    x = dg.randn(3, 4)
    full = F.cross_entropy(x[:2], dg.tensor([1, 2]))
    np.testing.assert_allclose(F.cross_entropy(x, dg.tensor([1, 2, -100])).item(), full.item(), rtol=1e-6)
    loss = F.binary_cross_entropy(dg.tensor([0.0, 1.0]), dg.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [100.0, 100.0])
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(dg.tensor([1.5]), dg.tensor([1.0]))
    big = F.binary_cross_entropy_with_logits(dg.tensor([200.0, -200.0]), dg.tensor([0.0, 1.0]), reduction="none")
    np.testing.assert_allclose(big.numpy(), [200.0, 200.0])


def test_hinge_loss_labels_and_penalties():
    with pytest.raises(ValueError, match="targets must be −1 or \\+1"):
        F.hinge_loss(dg.zeros(2), dg.tensor([0.0, 1.0]))
    w = [dg.tensor([1.0, -2.0]), dg.tensor([[3.0]])]
    assert F.l1_penalty(w).item() == 6.0 and F.l2_penalty(w).item() == 14.0
    assert F.elastic_net_penalty(w, 0.25).item() == 0.25 * 6 + 0.75 * 14
    with pytest.raises(ValueError, match="got no parameters"):
        F.l2_penalty([])


def test_loss_modules_and_weight_buffers():
    w = dg.tensor([1.0, 2.0, 3.0])
    ce = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    assert list(ce.state_dict()) == ["weight"] and repr(ce) == "CrossEntropyLoss()"
    x, t = dg.randn(4, 3), dg.tensor([0, 1, 2, 1])
    assert ce(x, t).item() == F.cross_entropy(x, t, weight=w, label_smoothing=0.1).item()
    assert nn.HalfSquaredErrorLoss()(dg.tensor([1.0, 3.0]), dg.zeros(2)).item() == 5.0
    assert nn.HalfSquaredErrorLoss("mean")(dg.ones(4, 2), dg.zeros(4, 2)).item() == 1.0
    assert list(nn.BCEWithLogitsLoss(pos_weight=dg.ones(3)).state_dict()) == ["pos_weight"]
    with pytest.raises(ValueError, match="KLDivLoss: reduction must be one of"):
        nn.KLDivLoss(reduction="avg")


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(2, 5), st.lists(st.integers(1, 3), max_size=2))
def test_cross_entropy_spatial_equals_flattened(n, c, spatial):
    rng = np.random.default_rng(n * 31 + c)
    x = rng.standard_normal((n, c, *spatial))
    t = rng.integers(0, c, (n, *spatial))
    got = F.cross_entropy(dg.tensor(x), dg.tensor(t), reduction="none").numpy()
    xf = np.moveaxis(x, 1, -1).reshape(-1, c)
    lp = xf - np.log(np.exp(xf).sum(1, keepdims=True))
    want = -lp[np.arange(xf.shape[0]), t.reshape(-1)]
    np.testing.assert_allclose(got.reshape(-1), want, rtol=1e-10)
    assert got.shape == t.shape


def test_binary_cross_entropy_has_finite_gradients_at_0_and_1_like_pytorch():
    x = dg.tensor([0.0, 1.0, 0.3], dtype=dg.float64, requires_grad=True)
    y = dg.tensor([1.0, 0.0, 1.0], dtype=dg.float64)
    loss = F.binary_cross_entropy(x, y)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 67.06801, rtol=1e-5)  # PyTorch 2.x: 67.0680
    np.testing.assert_allclose(x.grad.numpy(), [-3.3333e11, 3.3333e11, -1.1111], rtol=1e-4)
    x = dg.tensor([0.0, 1.0], dtype=dg.float64, requires_grad=True)
    F.binary_cross_entropy(x, dg.tensor([0.0, 1.0], dtype=dg.float64)).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 0.0])


def test_binary_cross_entropy_gradcheck_in_input_and_target():
    a = dg.tensor([0.2, 0.7, 0.5], dtype=dg.float64, requires_grad=True)
    b = dg.tensor([0.3, 0.9, 0.1], dtype=dg.float64, requires_grad=True)
    assert dg.autograd.gradcheck(lambda p, t: F.binary_cross_entropy(p, t), (a, b))
