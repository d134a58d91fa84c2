"""nn.init: gains, fan computation, sample statistics, seeding, orthogonality."""
import math

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.nn import init


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("fn,std", [
    (lambda t: init.xavier_uniform_(t), math.sqrt(2 / (300 + 200))),
    (lambda t: init.xavier_normal_(t, gain=2.0), 2 * math.sqrt(2 / (300 + 200))),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2) / math.sqrt(300)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2) / math.sqrt(200)),
    (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
    (lambda t: init.uniform_(t, -1.0, 1.0), 1 / math.sqrt(3)),
    (lambda t: init.trunc_normal_(t, std=0.02), 0.02),  # a, b are absolute bounds (as in PyTorch): no effect here
    (lambda t: init.trunc_normal_(t, std=1.0), 0.8796),  # std of N(0, 1) truncated at ±2
])
def test_init_statistics(fn, std):
    t = dg.empty(200, 300)
    out = fn(t)
    assert out is t
    assert abs(t.numpy().std() - std) < 0.03 * std


def test_fans_use_receptive_field_and_bounds():
    w = dg.empty(8, 4, 3, 3)  # conv weight: fan_in = 4*9, fan_out = 8*9
    init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / (36 + 72))
    t = init.trunc_normal_(dg.empty(10000), mean=0.0, std=1.0, a=-0.5, b=0.5).numpy()
    assert t.min() >= -0.5 and t.max() <= 0.5
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(dg.empty(5))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(dg.empty(3, 3), mode="fan")


def test_constant_eye_orthogonal():
    assert init.zeros_(dg.empty(3)).tolist() == [0, 0, 0]
    assert init.ones_(dg.empty(2)).tolist() == [1, 1]
    assert init.constant_(dg.empty(2), 0.5).tolist() == [0.5, 0.5]
    np.testing.assert_array_equal(init.eye_(dg.empty(2, 3)).numpy(), np.eye(2, 3))
    for shape in [(4, 6), (6, 4), (3, 2, 2)]:
        q = init.orthogonal_(dg.empty(*shape, dtype=dg.float64), gain=2.0).numpy().reshape(shape[0], -1)
        small = q @ q.T if q.shape[0] <= q.shape[1] else q.T @ q
        np.testing.assert_allclose(small, 4 * np.eye(min(q.shape)), atol=1e-10)


def test_init_is_seeded_and_leaves_no_graph():
    p = dg.nn.Parameter(dg.empty(4, 4))
    dg.manual_seed(3)
    a = init.kaiming_normal_(p).detach().numpy().copy()
    dg.manual_seed(3)
    b = init.kaiming_normal_(p).detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert p.is_leaf and p.requires_grad
    dg.manual_seed(5)
    l1 = dg.nn.Linear(3, 3).weight.detach().numpy()
    dg.manual_seed(5)
    np.testing.assert_array_equal(dg.nn.Linear(3, 3).weight.detach().numpy(), l1)
