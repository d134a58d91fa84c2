"""McCulloch-Pitts neuron and Rosenblatt's perceptron (lecture 003)."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad.models import McCullochPitts, Perceptron

BITS2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)


@pytest.mark.parametrize("unit, expected", [
    (McCullochPitts.and_(), [0, 0, 0, 1]),
    (McCullochPitts.or_(), [0, 1, 1, 1]),
    (McCullochPitts.not_(), [1, 0]),
    (McCullochPitts.and_not(), [0, 0, 1, 0]),
    (McCullochPitts.or_(3), [0, 1, 1, 1, 1, 1, 1, 1]),
    (McCullochPitts.and_(3), [0, 0, 0, 0, 0, 0, 0, 1]),
])
def test_mcculloch_pitts_truth_tables_and_hyperplanes(unit, expected):
    x, y = unit.truth_table()
    assert y.tolist() == expected
    w, b = unit.hyperplane()
    assert ((x @ w + b >= 0).astype(int) == y).all()  # the line/plane separates the firing inputs


def test_mcculloch_pitts_inhibition_and_forward():
    unit = McCullochPitts(3, threshold=1, inhibitory=[2])
    out = unit(dg.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]))
    assert out.tolist() == [1.0, 0.0, 0.0]  # any active inhibitory input silences the unit
    assert McCullochPitts.or_()(dg.tensor([1.0, 0.0])).item() == 1.0
    assert McCullochPitts.and_().hyperplane()[1] == -2.0


def test_mcculloch_pitts_errors():
    with pytest.raises(ValueError, match="binary"):
        McCullochPitts.and_()(dg.tensor([[0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"\(\*, 2\)"):
        McCullochPitts.and_()(dg.tensor([[1.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="inhibitory"):
        McCullochPitts(2, 1, inhibitory=[5])
    with pytest.raises(ValueError, match="threshold"):
        McCullochPitts(2, -1)


def test_perceptron_learns_and_with_the_rule():
    p = Perceptron(2)
    res = p.fit(BITS2, [0, 0, 0, 1], lr=1.0, max_epochs=50)
    assert res.converged and res.errors[-1] == 0 and res.epochs == len(res.errors)
    assert p(dg.tensor(BITS2)).tolist() == [0.0, 0.0, 0.0, 1.0]
    w, b = p.hyperplane()
    assert ((BITS2 @ w + b > 0) == np.array([0, 0, 0, 1], bool)).all()


def test_perceptron_first_update_follows_the_formula():
    p = Perceptron(2)
    res = p.fit(np.array([[1.0, 2.0]], np.float32), [1], lr=0.5, max_epochs=1)
    # y = H(0) = 0, d = 1: w = 0 + 0.5 (1 − 0) (1, 2) = (0.5, 1), b = 0.5
    assert p.weight.tolist() == [0.5, 1.0] and p.bias.item() == 0.5
    assert res.errors == [1] and not res.converged


def test_perceptron_does_not_converge_on_xor():
    p = Perceptron(2, init="random", generator=dg.Generator(0))
    res = p.fit(BITS2, [0, 1, 1, 0], lr=0.1, max_epochs=30, shuffle=True)
    assert not res.converged and res.epochs == 30 and min(res.errors) > 0


def test_perceptron_separable_random_set_converges():
    x, y = dg.data.synthetic.gaussians(200, noise=0.1, seed=1)
    res = Perceptron(2).fit(x, y, max_epochs=100)
    assert res.converged


def test_perceptron_errors():
    p = Perceptron(2)
    with pytest.raises(ValueError, match="0 or 1"):
        p.fit(BITS2, [-1, 1, 1, -1])
    with pytest.raises(ValueError, match="4 samples but 3"):
        p.fit(BITS2, [0, 1, 1])
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        p.fit(np.zeros((4, 3)), [0, 1, 1, 0])
    with pytest.raises(ValueError, match="init"):
        Perceptron(2, init="ones")
