"""The training health report: per-layer gradient norms and dead ReLU units, flagged against the pitfalls the
lectures warn about — vanishing gradients, exploding gradients, dying ReLUs.

No mainstream framework reports these out of the box; here ``HealthReport`` is a callback (on by default in
``deepgrad train``) and ``check_health(model, loss_fn, x, y)`` a one-shot function.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import CPU, to_device
from .callbacks import Callback

__all__ = ["HealthReport", "gradient_norms", "check_health", "format_report"]


def gradient_norms(model) -> dict:
    """‖∂L/∂W‖₂ of each layer's weights (the first parameter of each module that owns parameters), by module name."""
    norms = {}
    for name, module in model.named_modules():
        own = list(module.named_parameters(recurse=False))
        if not own:
            continue
        sq, found = 0.0, False
        for _, p in own:
            if p.grad is not None:
                g = np.asarray(to_device(p.grad._data, CPU), dtype=np.float64)
                sq += float((g * g).sum())
                found = True
        if found:
            norms[name or type(module).__name__] = math.sqrt(sq)
    return norms


class _DeadReLUTracker:
    """Forward hooks on ReLU-like modules recording the fraction of units that output 0 for every sample."""

    def __init__(self, model) -> None:
        self.fractions: dict = {}
        self.handles = []
        for name, m in model.named_modules():
            if type(m).__name__ in ("ReLU", "ReLU6"):
                self.handles.append(m.register_forward_hook(self._hook(name)))

    def _hook(self, name):
        def hook(module, inputs, output):
            a = np.asarray(to_device(output._data, CPU))
            if a.ndim < 2:
                return
            alive = (a.reshape(a.shape[0], a.shape[1], -1) > 0).any(axis=(0, 2))  # per unit / channel
            self.fractions[name] = float(1.0 - alive.mean())

        return hook

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def _flags(norms: dict, dead: dict, vanish: float, explode: float, dead_limit: float) -> list:
    flags = []
    for name, n in norms.items():
        if not math.isfinite(n):
            flags.append(f"exploding: gradient of {name} is {n}")
        elif n > explode:
            flags.append(f"exploding: gradient norm of {name} is {n:.3g} (> {explode:g})")
    finite = [n for n in norms.values() if math.isfinite(n)]
    if finite:
        top = max(finite)
        for name, n in norms.items():
            if math.isfinite(n) and top > 0 and n < vanish * top:
                flags.append(f"vanishing: gradient norm of {name} is {n:.3g}, below {vanish:g} x the largest "
                             f"({top:.3g})")
    for name, f in dead.items():
        if f > dead_limit:
            flags.append(f"dying ReLU: {100 * f:.0f}% of the units after {name} output 0 for the whole batch")
    return flags


def format_report(report: dict) -> str:
    lines = ["layer                          grad norm   dead ReLU"]
    names = list(dict.fromkeys(list(report["grad_norms"]) + list(report["dead_relu"])))
    for n in names:
        g = report["grad_norms"].get(n)
        d = report["dead_relu"].get(n)
        lines.append(f"{n[:30]:30s} {'' if g is None else f'{g:10.3g}':>10s}   {'' if d is None else f'{100 * d:5.1f}%':>8s}")
    lines += [f"WARNING {f}" for f in report["flags"]] or ["no problem found"]
    return "\n".join(lines)


class HealthReport(Callback):
    """Records gradient norms per layer and dead-ReLU fractions on the first batch of every ``every`` epochs
    (and the last), stores them in ``trainer.history.health`` and prints warnings.

    Thresholds: a layer whose gradient norm is below ``vanish`` × the largest layer's is *vanishing*; above
    ``explode`` (or NaN/inf) *exploding*; more than ``dead_limit`` of a ReLU's units silent on a whole batch is a
    *dying ReLU*.
    """

    def __init__(self, every: int = 1, vanish: float = 1e-4, explode: float = 1e3, dead_limit: float = 0.5,
                 verbose: bool = True) -> None:
        self.every, self.vanish, self.explode, self.dead_limit, self.verbose = every, vanish, explode, dead_limit, verbose

    def on_train_begin(self, trainer):
        self.tracker = _DeadReLUTracker(trainer.model)
        self.pending = False

    def on_epoch_begin(self, trainer, epoch):
        self.pending = epoch % self.every == 0 or epoch == trainer.epochs - 1
        self.tracker.fractions = {}

    def on_after_backward(self, trainer):
        if not self.pending:
            return
        self.pending = False
        report = {"epoch": trainer.epoch + 1, "step": trainer.global_step, "grad_norms": gradient_norms(trainer.model),
                  "dead_relu": dict(self.tracker.fractions)}
        report["flags"] = _flags(report["grad_norms"], report["dead_relu"], self.vanish, self.explode, self.dead_limit)
        trainer.history.health.append(report)
        if self.verbose and report["flags"]:
            import sys

            for f in report["flags"]:
                print(f"health (epoch {report['epoch']}): {f}", file=sys.stderr)

    def on_train_end(self, trainer):
        self.tracker.remove()


def check_health(model, loss_fn, x, y, vanish: float = 1e-4, explode: float = 1e3, dead_limit: float = 0.5) -> dict:
    """One forward/backward pass on (x, y) and the health report for it (gradients are left in ``.grad``)."""
    tracker = _DeadReLUTracker(model)
    try:
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
    finally:
        tracker.remove()
    norms = gradient_norms(model)
    return {"loss": float(loss.item()), "grad_norms": norms, "dead_relu": tracker.fractions,
            "flags": _flags(norms, tracker.fractions, vanish, explode, dead_limit)}
