"""Gradient clipping and parameter vectors, against norms computed by hand."""
import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters

G1 = np.array([[3.0, -4.0], [0.0, 1.0]])
G2 = np.array([2.0, -2.0, 1.0])


def params_with_grads():
    ps = [dg.zeros(2, 2, dtype=dg.float64, requires_grad=True), dg.zeros(3, dtype=dg.float64, requires_grad=True),
          dg.zeros(1, requires_grad=True)]  # the last one has no gradient and is ignored
    ps[0].grad, ps[1].grad = dg.tensor(G1.copy()), dg.tensor(G2.copy())
    return ps


@pytest.mark.parametrize("norm_type,total", [
    (2.0, math.sqrt(9 + 16 + 1 + 4 + 4 + 1)),
    (1.0, 3 + 4 + 1 + 2 + 2 + 1),
    (math.inf, 4.0),
    (3.0, (27 + 64 + 1 + 8 + 8 + 1) ** (1 / 3)),
])
def test_clip_grad_norm_values(norm_type, total):
    ps = params_with_grads()
    got = clip_grad_norm_(ps, max_norm=1.0, norm_type=norm_type)
    assert isinstance(got, dg.Tensor) and got.item() == pytest.approx(total)
    coef = 1.0 / (total + 1e-6)
    np.testing.assert_allclose(ps[0].grad.numpy(), G1 * coef)
    np.testing.assert_allclose(ps[1].grad.numpy(), G2 * coef)


def test_clip_grad_norm_below_max_leaves_gradients():
    ps = params_with_grads()
    assert clip_grad_norm_(ps, max_norm=100.0).item() == pytest.approx(math.sqrt(35))
    np.testing.assert_array_equal(ps[0].grad.numpy(), G1)


def test_clip_grad_norm_single_tensor_no_grads_and_nonfinite():
    w = dg.zeros(2, requires_grad=True)
    assert clip_grad_norm_(w, 1.0).item() == 0.0
    w.grad = dg.tensor([math.inf, 1.0])
    with pytest.raises(RuntimeError, match="total 2.0-norm of the gradients is inf"):
        clip_grad_norm_(w, 1.0, error_if_nonfinite=True)


def test_clipping_works_on_read_only_broadcast_gradients():
    w = dg.zeros(4, requires_grad=True)
    (w * 3.0).sum().backward()  # the gradient may be a read-only broadcast view
    assert clip_grad_norm_([w], 1.0).item() == pytest.approx(6.0)
    np.testing.assert_allclose(w.grad.numpy(), [0.5] * 4, rtol=1e-5)
    clip_grad_value_([w], 0.1)
    np.testing.assert_allclose(w.grad.numpy(), [0.1] * 4)


def test_clip_grad_value():
    ps = params_with_grads()
    clip_grad_value_(ps, 1.5)
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.clip(G1, -1.5, 1.5))
    np.testing.assert_array_equal(ps[1].grad.numpy(), np.clip(G2, -1.5, 1.5))


def test_parameters_vector_round_trip():
    a, b = dg.randn(2, 3, requires_grad=True), dg.randn(4, requires_grad=True)
    v = parameters_to_vector([a, b])
    assert v.shape == (10,)
    np.testing.assert_array_equal(v.detach().numpy()[:6], a.detach().numpy().ravel())
    v.sum().backward()  # differentiable
    assert np.all(a.grad.numpy() == 1)
    version = a._version
    vector_to_parameters(dg.arange(10, dtype=dg.float32), [a, b])
    np.testing.assert_array_equal(a.detach().numpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(b.detach().numpy(), np.arange(6, 10))
    assert a._version == version + 1
    with pytest.raises(ValueError, match="10 elements"):
        vector_to_parameters(dg.zeros(10), [a])
