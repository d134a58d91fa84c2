"""Learning-rate schedulers with PyTorch's semantics: call ``scheduler.step()`` once per epoch (or per batch for
``OneCycleLR``), after ``optimizer.step()``.

Each scheduler writes ``group["lr"]`` of its optimiser's parameter groups. Most compute the new rate from the
current one (``StepLR`` multiplies it by ``gamma`` at its epochs), so several schedulers can act on one optimiser
(:class:`ChainedScheduler`); ``step(epoch)`` jumps to an epoch using the closed form where one exists.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from .optimizer import Optimizer, _is_real


def _integer(owner: str, name: str, value, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a sentence: ``CosineAnnealingLR: T_max must be an integer >= 1``."""
    if not _is_real(value) or int(value) != value or value < minimum:
        raise (ValueError if _is_real(value) else TypeError)(
            f"{owner}: {name} must be an integer >= {minimum}, got {type(value).__name__} {value!r}")
    return int(value)


def _number(owner: str, name: str, value) -> float:
    if not _is_real(value) or not math.isfinite(value):
        raise (ValueError if _is_real(value) else TypeError)(
            f"{owner}: {name} must be a finite number, got {type(value).__name__} {value!r}")
    return value


class LRScheduler:
    """Base class. ``last_epoch`` counts the ``step()`` calls (``-1`` for a fresh schedule: the constructor makes the
    first step, to epoch 0). ``base_lrs`` are the groups' ``initial_lr``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a deepgrad Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        else:
            for i, g in enumerate(optimizer.param_groups):
                if "initial_lr" not in g:
                    raise KeyError(f"{type(self).__name__}: param 'initial_lr' is not specified in param_groups[{i}] "
                                   "when resuming with last_epoch != -1; load the scheduler's state_dict instead")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The groups' rates for ``self.last_epoch``, from their current rates."""
        raise NotImplementedError

    def _closed_form(self) -> list[float] | None:
        """The rates for ``self.last_epoch`` computed from ``base_lrs`` alone (``None`` when there is none)."""
        return None

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``) and write the new rates into the optimiser."""
        self._step_count += 1
        if epoch is None:
            self.last_epoch += 1
            lrs = self.get_lr()
        else:
            self.last_epoch = epoch
            lrs = self._closed_form() or self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates set by the last ``step()``, one per parameter group."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimiser (which has its own state dict)."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` of the same kind of scheduler (checked: a dict with this scheduler's
        entries and an integer ``last_epoch``)."""
        self._check_state(state_dict)
        self.__dict__.update(state_dict)

    def _check_state(self, state_dict, ignore: tuple = ()) -> None:
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}: expected a dict made by state_dict(), got {type(state_dict).__name__}")
        own = set(self.__dict__) - {"optimizer", *ignore}
        foreign = sorted(str(k) for k in set(state_dict) - own - set(ignore))
        missing = sorted(own - set(state_dict))
        if foreign or missing:
            raise ValueError(f"{name}: the saved state is not from a {type(self).__name__}"
                             + (f": it has {', '.join(foreign)}" if foreign else "")
                             + (f"{';' if foreign else ':'} it lacks {', '.join(missing)}" if missing else ""))
        if "last_epoch" in state_dict:
            _integer(name, "last_epoch", state_dict["last_epoch"], -1)


class LambdaLR(LRScheduler):
    r""":math:`\gamma_t = \gamma_0 \cdot \lambda(t)`, with one function per group or one for all.

    Functions are not saved by ``state_dict`` (``None`` in their place); callable objects save their ``__dict__``.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, list | tuple):
            if len(lr_lambda) != n:
                raise ValueError(f"{type(self).__name__}: expected {n} lr_lambdas (one per group), got "
                                 f"{len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [dict(f.__dict__) if _is_object(f) and hasattr(f, "__dict__") else None
                               for f in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._check_state(state_dict, ignore=("lr_lambdas",))
        state = dict(state_dict)
        for f, saved in zip(self.lr_lambdas, state.pop("lr_lambdas", [])):
            if saved is not None:
                f.__dict__.update(saved)
        self.__dict__.update(state)


def _is_object(f) -> bool:
    """A callable instance (its state is data), as opposed to a function, lambda or method."""
    return not (hasattr(f, "__code__") or hasattr(f, "__func__"))


class MultiplicativeLR(LambdaLR):
    r""":math:`\gamma_t = \gamma_{t-1} \cdot \lambda(t)` for :math:`t > 0`."""

    def get_lr(self) -> list[float]:
        if self.last_epoch > 0:
            return [g["lr"] * f(self.last_epoch) for g, f in zip(self.optimizer.param_groups, self.lr_lambdas)]
        return [g["lr"] for g in self.optimizer.param_groups]


class StepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` every ``step_size`` epochs: :math:`\gamma_t = \gamma_0\,
    \text{gamma}^{\lfloor t / \text{step\_size} \rfloor}`."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size, self.gamma = _integer("StepLR", "step_size", step_size, 1), _number("StepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return lrs
        return [lr * self.gamma for lr in lrs]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by ``gamma`` at each milestone epoch: :math:`\gamma_t = \gamma_0\,
    \text{gamma}^{\#\{m \le t\}}` (a milestone listed twice counts twice)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones: dict[int, int] = {}
        for m in sorted(_integer("MultiStepLR", "each milestone", m, 0) for m in milestones):
            self.milestones[m] = self.milestones.get(m, 0) + 1
        self.gamma = _number("MultiStepLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** self.milestones.get(self.last_epoch, 0)
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        passed = sum(c for m, c in self.milestones.items() if m <= self.last_epoch)
        return [base * self.gamma ** passed for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    r""":math:`\gamma_t = \gamma_0\, \text{gamma}^t`."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _number("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        return lrs if self.last_epoch == 0 else [lr * self.gamma for lr in lrs]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the rate linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs (warm-up):
    :math:`\gamma_t = \gamma_0 \left(s + (e - s)\min(t, T)/T\right)`."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        _number("LinearLR", "start_factor", start_factor), _number("LinearLR", "end_factor", end_factor)
        total_iters = _integer("LinearLR", "total_iters", total_iters, 1)
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: invalid start_factor {start_factor!r} (must be in (0, 1])")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: invalid end_factor {end_factor!r} (must be in [0, 1])")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        s, e, n, t = self.start_factor, self.end_factor, self.total_iters, self.last_epoch
        if t == 0:
            return [lr * s for lr in lrs]
        if t > n:
            return lrs
        # ratio of consecutive factors (s + (e-s) t/n) / (s + (e-s)(t-1)/n)
        ratio = 1.0 + (e - s) / (n * s + (t - 1) * (e - s))
        return [lr * ratio for lr in lrs]

    def _closed_form(self) -> list[float]:
        s, e, n = self.start_factor, self.end_factor, self.total_iters
        return [base * (s + (e - s) * min(n, self.last_epoch) / n) for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing (Loshchilov & Hutter, SGDR): :math:`\gamma_t = \eta_{min} + \frac{1}{2}(\gamma_0 -
    \eta_{min})(1 + \cos(\pi t / T_{max}))`.

    Steps are computed recursively from the current rate (so the schedule composes with other schedulers); past
    :math:`T_{max}` the rate climbs back, following the cosine.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:  # noqa: N803
        self.T_max = _integer("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = _number("CosineAnnealingLR", "eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t, T, lo = self.last_epoch, self.T_max, self.eta_min  # noqa: N806
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        if t == 0:
            return lrs
        if self._step_count == 1 and t > 0:  # resumed mid-schedule
            return self._closed_form()
        if (t - 1 - T) % (2 * T) == 0:  # the bottom of the cosine, where the ratio below is 0/0
            return [lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2 for lr, base in zip(lrs, self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [lo + ratio * (lr - lo) for lr in lrs]

    def _closed_form(self) -> list[float]:
        lo = self.eta_min
        return [lo + (base - lo) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018), stepped once per *batch*.

    The rate rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of ``total_steps`` and
    then anneals to ``initial_lr / final_div_factor`` (``three_phase``: rises, falls back to the initial rate over
    as many steps, then anneals to the minimum). Between two phase ends :math:`a \to b` at fraction :math:`p` of the
    phase the value is :math:`b + (a - b)(1 + \cos \pi p)/2` (``anneal_strategy='cos'``) or :math:`a + (b - a)p`
    (``'linear'``). With ``cycle_momentum`` the momentum (or Adam's :math:`\beta_1`) moves inversely between
    ``max_momentum`` and ``base_momentum``.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1) -> None:
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = _integer("OneCycleLR", "epochs", epochs, 1) * _integer("OneCycleLR", "steps_per_epoch",
                                                                                 steps_per_epoch, 1)
        total_steps = _integer("OneCycleLR", "total_steps", total_steps, 1)
        if not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: invalid pct_start {pct_start!r} (must be in [0, 1])")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: invalid anneal_strategy {anneal_strategy!r} (must be 'cos' or 'linear')")
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (total_steps - 1.0, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (total_steps - 1.0, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        groups = optimizer.param_groups
        max_lrs = list(max_lr) if isinstance(max_lr, list | tuple) else [max_lr] * len(groups)
        max_lrs = [_number("OneCycleLR", "max_lr", m) for m in max_lrs]
        if len(max_lrs) != len(groups):
            raise ValueError(f"OneCycleLR: expected {len(groups)} max_lr values (one per group), got {len(max_lrs)}")
        if cycle_momentum and not all("momentum" in g or "betas" in g for g in groups):
            raise ValueError("OneCycleLR: cycle_momentum=True needs an optimiser with 'momentum' or 'betas'; pass "
                             "cycle_momentum=False")
        self._use_betas = "betas" in groups[0]
        if last_epoch == -1:
            for g, m in zip(groups, max_lrs):
                g["initial_lr"] = m / div_factor
                g["max_lr"], g["min_lr"] = m, g["initial_lr"] / final_div_factor
                if cycle_momentum:
                    g["max_momentum"], g["base_momentum"] = max_momentum, base_momentum
                    self._set_momentum(g, max_momentum)
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, m: float) -> None:
        if self._use_betas:
            group["betas"] = (m, *group["betas"][1:])
        else:
            group["momentum"] = m

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times; the schedule has only total_steps="
                             f"{self.total_steps} (set total_steps or epochs/steps_per_epoch large enough)")
        lrs = []
        for g in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_a, lr_b, m_a, m_b) in enumerate(self._phases):
                if t <= end or i == len(self._phases) - 1:
                    pct = (t - start) / (end - start)
                    lrs.append(self._anneal(g[lr_a], g[lr_b], pct))
                    if self.cycle_momentum:
                        self._set_momentum(g, self._anneal(g[m_a], g[m_b], pct))
                    break
                start = end
        return lrs


class ReduceLROnPlateau:
    r"""Divide the rate by ``1/factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` once per epoch. An epoch improves on the best value so far when (``mode='min'``)
    ``metric < best * (1 - threshold)`` (``threshold_mode='rel'``) or ``metric < best - threshold`` (``'abs'``);
    mirrored for ``mode='max'``. After more than ``patience`` epochs without improvement each group's rate becomes
    ``max(lr * factor, min_lr)`` (skipped when the change is below ``eps``), then ``cooldown`` epochs pass before
    bad epochs count again.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected a deepgrad Optimizer, got {type(optimizer).__name__}")
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: invalid factor {factor!r} (must be < 1.0)")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: invalid mode {mode!r} (must be 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: invalid threshold_mode {threshold_mode!r} (must be 'rel' or 'abs')")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, list | tuple):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lr values (one per group), got {len(min_lr)}")
            self.min_lrs = list(min_lr)
        else:
            self.min_lrs = [min_lr] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs, self.cooldown_counter, self.last_epoch = 0, 0, 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < best * (1 - self.threshold) if self.threshold_mode == "rel" else a < best - self.threshold
        return a > best * (1 + self.threshold) if self.threshold_mode == "rel" else a > best + self.threshold

    def step(self, metrics: float) -> None:
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for g, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(g["lr"] * self.factor, floor)
                if g["lr"] - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


class ChainedScheduler(LRScheduler):
    """Step several schedulers together on one optimiser; their (recursive) effects multiply.

    Example: warm up linearly for 5 epochs while decaying by 0.9 every epoch with
    ``ChainedScheduler([LinearLR(opt, 0.1, total_iters=5), ExponentialLR(opt, gamma=0.9)])``.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if not schedulers:
            raise ValueError("ChainedScheduler: expected at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError("ChainedScheduler: all schedulers must act on the same optimizer")
        self._schedulers, self.optimizer = list(schedulers), optimizer
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self) -> None:  # type: ignore[override]
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {"_last_lr": self._last_lr, "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for s, saved in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(saved)
        self._last_lr = state_dict["_last_lr"]


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` between ``milestones[i-1]`` and ``milestones[i]``: e.g. a ``LinearLR`` warm-up for 5
    epochs, then ``CosineAnnealingLR``. Each scheduler after the first starts from its own epoch 0 (closed form)."""

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        if len(schedulers) < 1 or len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected len(milestones) == len(schedulers) - 1, got "
                             f"{len(milestones)} milestones for {len(schedulers)} schedulers")
        if any(s.optimizer is not optimizer for s in schedulers):
            raise ValueError("SequentialLR: all schedulers must act on the given optimizer")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.optimizer, self.last_epoch = optimizer, last_epoch + 1
        # undo the initial steps the schedulers made on construction, then start the first one again
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        for s in self._schedulers:
            s.last_epoch -= 1
        self._schedulers[0]._step_count = 0
        self._schedulers[0].step()
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self) -> None:  # type: ignore[override]
        self.last_epoch += 1
        i = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            s.step(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "_last_lr": self._last_lr, "_milestones": self._milestones,
                "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        for s, saved in zip(self._schedulers, state.pop("_schedulers")):
            s.load_state_dict(saved)
        self.__dict__.update(state)
