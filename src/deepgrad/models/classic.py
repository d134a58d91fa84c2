"""The first artificial neurons of lecture 003: McCulloch and Pitts' threshold unit (1943) and Rosenblatt's
perceptron (1958) with its learning rule.

* ``McCullochPitts``: binary inputs, g(x) = Σ x_i over the excitatory inputs, y = 1 if g(x) ≥ θ and no inhibitory
  input is active, else 0. Ready-made units: ``and_``, ``or_``, ``not_``, ``and_not`` (x₁ AND NOT x₂).
* ``Perceptron``: y = H(w·x + b) (1 if w·x + b > 0, else 0), trained sample by sample with
  w ← w + r (d − y) x, b ← b + r (d − y), until an epoch makes no mistake or the epoch limit is reached.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..backend import CPU, to_device
from ..creation import from_numpy, zeros
from ..nn import functional as F
from ..tensor import Tensor

__all__ = ["McCullochPitts", "Perceptron", "PerceptronFit"]


def _host(x) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach()._data
    return np.asarray(to_device(x, CPU))


class McCullochPitts(nn.Module):
    """The McCulloch-Pitts neuron: g(x) = Σ_{i ∉ I} x_i, y = 1 if g(x) ≥ θ and x_i = 0 for every inhibitory i ∈ I,
    else 0.

    Inputs are binary (0/1). There is nothing to learn: the threshold θ and the choice of inhibitory inputs define
    the unit.

    Args:
        n_inputs: number of inputs n.
        threshold: θ (a non-negative number).
        inhibitory: indices of the inhibitory inputs (any of them at 1 forces the output to 0).

    Shape:
        input (*, n_inputs) of 0/1 values -> output (*) of 0/1 values (float32).

    Example:
        >>> import deepgrad as dg
        >>> unit = McCullochPitts.and_not()
        >>> unit(dg.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])).tolist()
        [0.0, 0.0, 1.0, 0.0]
    """

    def __init__(self, n_inputs: int, threshold: float, inhibitory=()) -> None:
        super().__init__()
        if not isinstance(n_inputs, int | np.integer) or n_inputs < 1:
            raise ValueError(f"McCullochPitts: n_inputs must be a positive integer, got {n_inputs!r}")
        if threshold < 0:
            raise ValueError(f"McCullochPitts: threshold θ must be non-negative, got {threshold}")
        inhibitory = tuple(sorted(set(int(i) for i in inhibitory)))
        if any(not 0 <= i < n_inputs for i in inhibitory):
            raise ValueError(f"McCullochPitts: inhibitory indices must lie in 0..{n_inputs - 1}, got {inhibitory}")
        self.n_inputs, self.threshold, self.inhibitory = int(n_inputs), float(threshold), inhibitory
        self.excitatory = tuple(i for i in range(n_inputs) if i not in inhibitory)

    @classmethod
    def and_(cls, n_inputs: int = 2) -> McCullochPitts:
        """x₁ AND ... AND xₙ: θ = n."""
        return cls(n_inputs, n_inputs)

    @classmethod
    def or_(cls, n_inputs: int = 2) -> McCullochPitts:
        """x₁ OR ... OR xₙ: θ = 1."""
        return cls(n_inputs, 1)

    @classmethod
    def not_(cls) -> McCullochPitts:
        """NOT x: one inhibitory input and θ = 0 (fires unless inhibited)."""
        return cls(1, 0, inhibitory=(0,))

    @classmethod
    def and_not(cls) -> McCullochPitts:
        """x₁ AND NOT x₂: x₁ excitatory, x₂ inhibitory, θ = 1."""
        return cls(2, 1, inhibitory=(1,))

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"McCullochPitts: expected a Tensor, got {type(x).__name__}")
        if x.ndim < 1 or x.shape[-1] != self.n_inputs:
            raise ValueError(f"McCullochPitts: expected input (*, {self.n_inputs}), got shape {tuple(x.shape)}")
        a = _host(x)
        if not np.all((a == 0) | (a == 1)):
            raise ValueError("McCullochPitts: inputs must be binary (0 or 1)")
        g = a[..., list(self.excitatory)].sum(-1)
        inhibited = a[..., list(self.inhibitory)].any(-1) if self.inhibitory else np.zeros(g.shape, bool)
        y = ((g >= self.threshold) & ~inhibited).astype(np.float32)
        return from_numpy(np.ascontiguousarray(y)).to(x.device)

    def truth_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Every binary input (2ⁿ rows, x₁ the most significant bit) and the unit's output for it."""
        n = self.n_inputs
        rows = ((np.arange(2 ** n)[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.float32)
        return rows, _host(self(from_numpy(rows))).astype(np.int64)

    def hyperplane(self) -> tuple[np.ndarray, float]:
        """The geometric interpretation: weights w and offset b such that the unit fires exactly on the binary
        inputs with w·x + b ≥ 0, i.e. w·x + b = 0 is its separating line (plane for n = 3).

        Excitatory inputs weigh 1 and b = −θ; an inhibitory input weighs −max(1, n_exc − θ + 1), enough to pull
        even the largest excitatory sum below θ.
        """
        w = np.ones(self.n_inputs)
        w[list(self.inhibitory)] = -max(1.0, len(self.excitatory) - self.threshold + 1)
        return w, -self.threshold

    def extra_repr(self) -> str:
        return f"n_inputs={self.n_inputs}, threshold={self.threshold:g}, inhibitory={self.inhibitory}"


@dataclass
class PerceptronFit:
    """What :meth:`Perceptron.fit` did: ``converged`` (an epoch without mistakes was reached), the number of
    ``epochs`` run, and the number of misclassified samples (= updates) in each epoch."""

    converged: bool
    epochs: int
    errors: list = field(default_factory=list)


class Perceptron(nn.Module):
    """Rosenblatt's perceptron: y = H(w·x + b) = 1 if w·x + b > 0, else 0.

    Trained by :meth:`fit` with the perceptron rule, one sample at a time:
    w ← w + r (d − y) x,  b ← b + r (d − y)  (d the target in {0, 1}, y the prediction, r the learning rate).
    The rule stops at the first epoch without a mistake, which happens (after finitely many updates) exactly
    when the data are linearly separable; otherwise (XOR) it runs until ``max_epochs``.

    Args:
        in_features: input size N.
        init: 'zeros' (the lectures' default) or 'random' (small values N(0, ``init_std``²)).
        init_std: standard deviation of the random initialisation.
        generator: a ``deepgrad.Generator`` for the random initialisation (default: the global one).

    Attributes:
        weight: (in_features,). bias: (). Parameters with ``requires_grad=False``: the rule, not gradients,
            trains them.

    Example:
        >>> import deepgrad as dg
        >>> p = Perceptron(2)
        >>> x = dg.tensor([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])
        >>> p.fit(x, dg.tensor([0, 0, 0, 1]), lr=1.0).converged
        True
        >>> p(x).tolist()
        [0.0, 0.0, 0.0, 1.0]
    """

    def __init__(self, in_features: int, init: str = "zeros", init_std: float = 0.01, generator=None) -> None:
        super().__init__()
        if not isinstance(in_features, int | np.integer) or in_features < 1:
            raise ValueError(f"Perceptron: in_features must be a positive integer, got {in_features!r}")
        if init not in ("zeros", "random"):
            raise ValueError(f"Perceptron: init must be 'zeros' or 'random', got {init!r}")
        self.in_features = int(in_features)
        self.weight = nn.Parameter(zeros(in_features), requires_grad=False)  # the step has no useful gradient
        self.bias = nn.Parameter(zeros(()), requires_grad=False)
        if init == "random":
            nn.init.normal_(self.weight, 0.0, init_std, generator=generator)
            nn.init.normal_(self.bias, 0.0, init_std, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"Perceptron: expected input (*, {self.in_features}), got shape {tuple(x.shape)}")
        return F.heaviside(x @ self.weight + self.bias, 0.0)

    def fit(self, x, d, lr: float = 1.0, max_epochs: int = 100, shuffle: bool = False, seed: int = 0) -> PerceptronFit:
        """Run the perceptron rule over (x, d) for at most ``max_epochs`` epochs (sample by sample, in order or
        shuffled each epoch); returns a :class:`PerceptronFit`. ``d`` holds 0/1 targets."""
        xs = _host(x).astype(np.float64)
        ds = _host(d).astype(np.float64).reshape(-1)
        if xs.ndim != 2 or xs.shape[1] != self.in_features:
            raise ValueError(f"Perceptron.fit: expected x of shape (N, {self.in_features}), got {xs.shape}")
        if len(ds) != len(xs):
            raise ValueError(f"Perceptron.fit: {len(xs)} samples but {len(ds)} targets")
        if not np.all((ds == 0) | (ds == 1)):
            raise ValueError("Perceptron.fit: targets must be 0 or 1 (map ±1 labels with (d + 1) / 2)")
        if lr <= 0:
            raise ValueError(f"Perceptron.fit: learning rate r must be positive, got {lr}")
        if not isinstance(max_epochs, int) or max_epochs < 1:
            raise ValueError(f"Perceptron.fit: max_epochs must be a positive integer, got {max_epochs!r}")
        w, b = _host(self.weight).astype(np.float64), float(_host(self.bias))
        rng = np.random.default_rng(seed)
        result = PerceptronFit(converged=False, epochs=0)
        for _ in range(max_epochs):
            order = rng.permutation(len(xs)) if shuffle else range(len(xs))
            mistakes = 0
            for j in order:
                y = 1.0 if xs[j] @ w + b > 0 else 0.0
                if y != ds[j]:
                    w += lr * (ds[j] - y) * xs[j]
                    b += lr * (ds[j] - y)
                    mistakes += 1
            result.epochs += 1
            result.errors.append(mistakes)
            if mistakes == 0:
                result.converged = True
                break
        self.weight.copy_(from_numpy(w.astype(np.float32)))
        self.bias.copy_(from_numpy(np.asarray(b, np.float32)))
        return result

    def hyperplane(self) -> tuple[np.ndarray, float]:
        """(w, b): the separating line (plane) w·x + b = 0."""
        return _host(self.weight).astype(np.float64), float(_host(self.bias))

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}"
