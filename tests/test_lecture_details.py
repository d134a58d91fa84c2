"""The decks' small definitions: heaviside(x, values) as torch.heaviside, a step that can be 0 at 0, and the
third-order Gaussian-derivative kernel."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad.nn import functional as F
from deepgrad.nn import kernels


def test_heaviside_as_pytorch():
    x = dg.tensor([-1.5, 0.0, 2.0])
    assert dg.heaviside(x, dg.tensor([0.5])).tolist() == [0.0, 0.5, 1.0]
    assert x.heaviside(dg.tensor(0.0)).tolist() == [0.0, 0.0, 1.0]
    # values broadcast (torch.heaviside(tensor([-1.5, 0., 2.]), tensor([[0.], [1.]])))
    assert dg.heaviside(x, dg.tensor([[0.0], [1.0]])).tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    v = dg.tensor([0.3, 0.3, 0.3], requires_grad=True)
    dg.heaviside(x, v).sum().backward()
    assert v.grad.tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(TypeError, match="heaviside: values must have the input's dtype float32, got float64"):
        dg.heaviside(x, dg.tensor([0.5], dtype=dg.float64))
    with pytest.raises(TypeError, match="values must be a Tensor or a number"):
        dg.heaviside(x, "half")


def test_step_at_zero():
    x = dg.tensor([-1.0, 0.0, 2.0])
    assert dg.nn.Step()(x).tolist() == [0.0, 1.0, 1.0]
    assert dg.nn.Step(value_at_zero=0.0)(x).tolist() == [0.0, 0.0, 1.0]
    assert F.step(x, 0.0).tolist() == [0.0, 0.0, 1.0] and repr(dg.nn.Step(0.0)) == "Step(value_at_zero=0.0)"


def test_gaussian_third_derivative():
    sigma, w = 1.5, 0.3
    k = kernels.gaussian_derivative(3, 0, sigma, dtype=dg.float64)
    assert k.shape == (17, 17)                                  # 2⌈5σ⌉ + 1 for an order 3
    np.testing.assert_allclose(k.numpy(), kernels.gaussian_derivative(0, 3, sigma, dtype=dg.float64).numpy().T)
    # d³/dx³ of the Gaussian-smoothed sin(ωx) is −ω³ cos(ωx) e^{−ω²σ²/2}
    x = np.arange(61.0)
    out = F.convolve2d(dg.tensor(np.tile(np.sin(w * x), (17, 1))), k).numpy()[0]
    want = -w ** 3 * np.cos(w * x[8:-8]) * np.exp(-w ** 2 * sigma ** 2 / 2)
    np.testing.assert_allclose(out, want, atol=1e-4 * np.abs(want).max())
    # the 1-d factor is (3x/σ⁴ − x³/σ⁶) g
    row = kernels.gaussian_derivative(3, 0, 1.0, size=7, dtype=dg.float64).numpy()[3]
    t = np.arange(7) - 3.0
    g = np.exp(-t ** 2 / 2)
    np.testing.assert_allclose(row, (3 * t - t ** 3) * g / g.sum() * (g[3] / g.sum()), rtol=1e-12)
