"""Model ensembles and online hard example mining.

* ``Ensemble``: the members' averaged prediction, either of probabilities p̄ = (1/M) Σ_m softmax(f_m(x)) (or its
  logarithm, for a loss or ``argmax``) or of logits f̄ = (1/M) Σ_m f_m(x) (optionally weighted) — the lectures'
  "7 CNN ensemble: 18.2 % → 15.4 %".
* Snapshot ensembles (Huang et al., 2017): one training run whose learning rate follows M cosine cycles,
  lr(t) = lr₀/2 · (1 + cos(π · (t mod c)/c)), c = ⌈T/M⌉ (``snapshot_cosine``, a LambdaLR factor); the model at the
  end of every cycle is one member (``Ensemble.add``).
* Online hard example mining (Shrivastava et al., 2016): ``ohem_cross_entropy`` back-propagates only the
  ``keep`` highest per-example losses of each batch; ``HardExampleSampler`` draws the next epoch's examples with
  probability rising with their last seen loss.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import numpy as np

from .. import nn
from ..data.sampler import Sampler
from ..nn import functional as F
from ..ops.reduce import logsumexp
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["Ensemble", "snapshot_cosine", "ohem_cross_entropy", "OHEMCrossEntropyLoss", "HardExampleSampler"]


class Ensemble(nn.Module):
    """The average of several classifiers' outputs.

    Args:
        models: the members (each maps x to logits of the same classes); kept as ``members`` (a ModuleList).
        mode: 'probs' (default): returns p̄ = Σ_m w_m softmax(f_m(x)), probabilities; 'log_probs': log p̄, computed
            as logsumexp_m(log w_m + log_softmax(f_m(x))), which ``cross_entropy`` and ``Trainer.evaluate`` take as
            logits (a member that already returns log-probabilities, such as ``train.ShiftTTA`` in eval mode, is
            averaged the same way); 'logits': Σ_m w_m f_m(x).
        weights: member weights w_m (normalised to sum 1; default equal).

    Shape:
        input as the members' -> (N, classes).

    Example:
        >>> import deepgrad as dg
        >>> ens = Ensemble([dg.nn.Linear(4, 3) for _ in range(5)])
        >>> p = ens(dg.randn(2, 4))
        >>> p.shape, bool(abs(p.sum(1) - 1).max() < 1e-5)
        ((2, 3), True)
    """

    def __init__(self, models: Sequence[nn.Module] = (), mode: str = "probs", weights: Sequence[float] | None = None
                 ) -> None:
        super().__init__()
        if mode not in ("probs", "log_probs", "logits"):
            raise ValueError(f"Ensemble: mode must be 'probs', 'log_probs' or 'logits', got {mode!r}")
        self.mode = mode
        self.members = nn.ModuleList(list(models))
        self._weights = None if weights is None else [float(w) for w in weights]
        if self._weights is not None:
            if len(self._weights) != len(self.members) or min(self._weights) < 0 or sum(self._weights) <= 0:
                raise ValueError(f"Ensemble: weights must be {len(self.members)} non-negative numbers, not all 0, "
                                 f"got {weights!r}")

    def add(self, model: nn.Module, copy_model: bool = True) -> Ensemble:
        """Append a member (a deep copy by default, so a snapshot does not follow later training)."""
        if self._weights is not None:
            raise ValueError("Ensemble.add: a weighted ensemble cannot grow; build a new one with all weights")
        self.members.append(copy.deepcopy(model) if copy_model else model)
        return self

    def forward(self, *args, **kwargs) -> Tensor:
        if len(self.members) == 0:
            raise RuntimeError("Ensemble: no members yet (pass models or call add())")
        m = len(self.members)
        w = self._weights or [1.0] * m
        total = sum(w)
        outs = [member(*args, **kwargs) for member in self.members]
        if len({tuple(o.shape) for o in outs}) != 1:
            raise ValueError(f"Ensemble: the members' outputs differ in shape: {[tuple(o.shape) for o in outs]}")
        if self.mode == "log_probs":
            return logsumexp(stack([F.log_softmax(y, -1) + math.log(wi / total) for wi, y in zip(w, outs) if wi > 0]),
                             0)
        out = None
        for wi, y in zip(w, outs):
            y = F.softmax(y, -1) if self.mode == "probs" else y
            out = y * (wi / total) if out is None else out + y * (wi / total)
        return out


def snapshot_cosine(total_steps: int, cycles: int):
    """The factor lr(t)/lr₀ = ½ (1 + cos(π (t mod c) / c)), c = ⌈total_steps / cycles⌉, for ``LambdaLR``: the
    learning rate restarts at lr₀ every c steps and anneals towards 0 at each cycle's end (take a snapshot there).

    Example:
        >>> f = snapshot_cosine(100, 4)
        >>> f(0), round(f(12), 3), round(f(24), 4), f(25)
        (1.0, 0.531, 0.0039, 1.0)
    """
    if not isinstance(total_steps, int) or not isinstance(cycles, int) or not 1 <= cycles <= total_steps:
        raise ValueError(f"snapshot_cosine: need integers 1 <= cycles <= total_steps, got {total_steps!r}, "
                         f"{cycles!r}")
    c = math.ceil(total_steps / cycles)
    return lambda t: 0.5 * (1.0 + math.cos(math.pi * (t % c) / c))


def ohem_cross_entropy(input: Tensor, target: Tensor, keep: float | int = 0.25, min_kept: int = 1  # noqa: A002
                       ) -> Tensor:
    """Online hard example mining: the mean of the k largest per-example cross-entropies of the batch,
    k = max(min_kept, ⌈keep · N⌉) for a fraction ``keep`` in (0, 1], or k = keep for an integer; the easy examples
    get no gradient.

    Example:
        >>> import deepgrad as dg
        >>> logits = dg.tensor([[4.0, 0.0], [0.0, 4.0], [0.0, 0.0], [-4.0, 4.0]])
        >>> y = dg.tensor([0, 1, 0, 0])
        >>> round(ohem_cross_entropy(logits, y, keep=1).item(), 4)   # only the worst: the last row
        8.0003
    """
    n = input.shape[0]
    if isinstance(keep, bool) or not isinstance(keep, (int, float)):
        raise TypeError(f"ohem_cross_entropy: keep must be a fraction in (0, 1] or an integer count, got {keep!r}")
    if isinstance(keep, int):
        if not 1 <= keep:
            raise ValueError(f"ohem_cross_entropy: keep must be at least 1, got {keep}")
        k = min(keep, n)
    else:
        if not 0 < keep <= 1:
            raise ValueError(f"ohem_cross_entropy: a fractional keep must lie in (0, 1], got {keep}")
        k = min(n, max(int(min_kept), math.ceil(keep * n)))
    losses = F.cross_entropy(input, target, reduction="none")
    hard = np.argsort(-losses.detach().cpu().numpy(), kind="stable")[:k]
    return losses[hard].mean()


class OHEMCrossEntropyLoss(nn.Module):
    """Module form of :func:`ohem_cross_entropy`."""

    def __init__(self, keep: float | int = 0.25, min_kept: int = 1) -> None:
        super().__init__()
        self.keep, self.min_kept = keep, min_kept

    def forward(self, input: Tensor, target: Tensor) -> Tensor:  # noqa: A002
        return ohem_cross_entropy(input, target, self.keep, self.min_kept)


class HardExampleSampler(Sampler):
    """Draws ``num_samples`` indices per epoch with probability ∝ (1 − mix) · ℓ_i^power / Σ ℓ^power + mix / n,
    ℓ_i the last loss recorded for example i by :meth:`update` (examples never seen count as the largest loss);
    the uniform share ``mix`` keeps every example in play.

    Args:
        n: dataset size. num_samples: indices per epoch (default n). power: sharpening of the loss weights (1).
        mix: uniform share in [0, 1] (0.5). generator: seed.
    """

    def __init__(self, n: int, num_samples: int | None = None, power: float = 1.0, mix: float = 0.5,
                 generator: int | None = None) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"HardExampleSampler: n must be a positive integer, got {n!r}")
        if not 0.0 <= mix <= 1.0 or power < 0:
            raise ValueError(f"HardExampleSampler: mix must lie in [0, 1] and power be >= 0, got {mix!r}, {power!r}")
        self.n, self.num_samples, self.power, self.mix = n, int(num_samples or n), float(power), float(mix)
        self.losses = np.full(n, np.nan)
        self.seed = 0 if generator is None else int(generator)

    def update(self, indices, losses) -> None:
        """Record the per-example losses of ``indices`` (e.g. from ``cross_entropy(..., reduction='none')``)."""
        v = losses.detach().cpu().numpy() if isinstance(losses, Tensor) else np.asarray(losses, np.float64)
        idx = np.asarray(indices, np.int64)
        if v.shape != idx.shape:
            raise ValueError(f"HardExampleSampler.update: {idx.shape[0]} indices but losses of shape {v.shape}")
        self.losses[idx] = v

    def probabilities(self) -> np.ndarray:
        seen = ~np.isnan(self.losses)
        ell = np.where(seen, self.losses, np.nanmax(self.losses) if seen.any() else 1.0) ** self.power
        return (1 - self.mix) * ell / ell.sum() + self.mix / self.n if ell.sum() > 0 else np.full(self.n, 1 / self.n)

    def epoch_indices(self, epoch: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, epoch])
        return rng.choice(self.n, self.num_samples, p=self.probabilities()).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples
