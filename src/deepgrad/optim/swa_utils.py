"""Weight averaging: Polyak / stochastic weight averaging (SWA) and exponential moving averages (EMA) of a model's
parameters, with PyTorch's ``torch.optim.swa_utils`` API shape, plus the ``SWALR`` schedule."""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

from ..autograd import grad_mode
from ..tensor import Tensor, tensor
from .lr_scheduler import LRScheduler
from .optimizer import Optimizer

AvgFn = Callable[[Tensor, Tensor, int], Tensor]


def get_swa_avg_fn() -> AvgFn:
    r"""The running (Polyak) average :math:`\bar\theta_{n+1} = \bar\theta_n + (\theta - \bar\theta_n)/(n + 1)`."""

    def swa(averaged: Tensor, current: Tensor, num_averaged: int) -> Tensor:
        return averaged + (current - averaged) / (num_averaged + 1)

    return swa


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    r"""The exponential moving average :math:`\bar\theta \leftarrow d\,\bar\theta + (1 - d)\,\theta`."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"get_ema_avg_fn: invalid decay {decay!r} (must be in [0, 1])")

    def ema(averaged: Tensor, current: Tensor, num_averaged: int) -> Tensor:
        return averaged * decay + current * (1 - decay)

    return ema


class AveragedModel:
    """A copy of ``model`` whose parameters are an average of ``model``'s parameters over training.

    Call :meth:`update_parameters` after each optimiser step (EMA) or each epoch of the SWA phase (SWA). The first
    call copies the parameters; later calls apply ``avg_fn(averaged, current, n_averaged)`` (default: the equal-weight
    running mean of :func:`get_swa_avg_fn`; :func:`get_ema_avg_fn` for an EMA). Buffers (e.g. batch-norm statistics)
    are averaged too with ``use_buffers=True``, otherwise copied from ``model``.

    ``model`` can be any object with ``parameters()`` (and ``buffers()``, ``state_dict()``, ``load_state_dict()``,
    ``__call__`` when used), such as a ``deepgrad.nn.Module``; it is deep-copied.

    Example:
        >>> ema = AveragedModel(model, avg_fn=get_ema_avg_fn(0.999))  # doctest: +SKIP
        >>> for x, y in loader:  # doctest: +SKIP
        ...     loss_fn(model(x), y).backward(); opt.step(); opt.zero_grad(); ema.update_parameters(model)
        >>> ema(x_test)  # doctest: +SKIP

    References: B. T. Polyak and A. B. Juditsky, "Acceleration of stochastic approximation by averaging", SIAM J.
    Control Optim. 30(4), 1992. P. Izmailov et al., "Averaging weights leads to wider optima and better
    generalization", UAI 2018.
    """

    def __init__(self, model: Any, device: str | None = None, avg_fn: AvgFn | None = None,
                 use_buffers: bool = False) -> None:
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.avg_fn = avg_fn or get_swa_avg_fn()
        self.use_buffers = use_buffers
        self.n_averaged = 0

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def parameters(self):
        return self.module.parameters()

    def _tensors(self, model: Any) -> list[Tensor]:
        ts = list(model.parameters())
        if self.use_buffers and hasattr(model, "buffers"):
            ts += list(model.buffers())
        return ts

    def update_parameters(self, model: Any) -> None:
        """Fold ``model``'s current parameters into the average."""
        mine, theirs = self._tensors(self.module), self._tensors(model)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} parameters, the averaged "
                             f"copy {len(mine)}; pass the model this AveragedModel was built from")
        with grad_mode.no_grad():
            for a, p in zip(mine, theirs):
                current = p.detach().to(a.device)
                new = current if self.n_averaged == 0 else self.avg_fn(a.detach(), current, self.n_averaged)
                a._set(new._data)
            if not self.use_buffers and hasattr(model, "buffers"):
                for a, b in zip(self.module.buffers(), model.buffers()):
                    a._set(b.detach().to(a.device)._data)
        self.n_averaged += 1

    def state_dict(self) -> dict[str, Any]:
        """``module.``-prefixed entries of the copy's state dict plus ``n_averaged`` (PyTorch's names)."""
        state = {f"module.{k}": v for k, v in self.module.state_dict().items()}
        state["n_averaged"] = tensor(self.n_averaged)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.module.load_state_dict({k[len("module."):]: v for k, v in state_dict.items() if k.startswith("module.")})
        self.n_averaged = int(state_dict["n_averaged"])


class SWALR(LRScheduler):
    r"""Anneal each group's rate to ``swa_lr`` over ``anneal_epochs`` epochs, then hold it (for the SWA phase).

    With :math:`a(t) = (1 - \cos \pi t)/2` (``'cos'``) or :math:`t` (``'linear'``) and
    :math:`t = \min(1, \text{epoch}/\text{anneal\_epochs})`:
    :math:`\gamma = a(t)\,\text{swa\_lr} + (1 - a(t))\,\gamma_{\text{start}}`.
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        swa_lrs = list(swa_lr) if isinstance(swa_lr, list | tuple) else [swa_lr] * n
        if len(swa_lrs) != n:
            raise ValueError(f"SWALR: expected {n} swa_lr values (one per group), got {len(swa_lrs)}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: invalid anneal_strategy {anneal_strategy!r} (must be 'cos' or 'linear')")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: invalid anneal_epochs {anneal_epochs!r} (must be an integer >= 0)")
        for g, s in zip(optimizer.param_groups, swa_lrs):
            g["swa_lr"] = s
        self.anneal_epochs, self.anneal_strategy = anneal_epochs, anneal_strategy
        super().__init__(optimizer, last_epoch)

    def _alpha(self, step: int) -> float:
        t = max(0.0, min(1.0, step / max(1, self.anneal_epochs)))
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev, now = self._alpha(step - 1), self._alpha(step)
        lrs = []
        for g in self.optimizer.param_groups:
            # recover the rate the annealing started from, then move to this epoch's mix
            start = g["swa_lr"] if prev == 1 else (g["lr"] - prev * g["swa_lr"]) / (1 - prev)
            lrs.append(now * g["swa_lr"] + (1 - now) * start)
        return lrs
