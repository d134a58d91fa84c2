"""Callbacks for :class:`deepgrad.train.Trainer`: progress, early stopping, checkpoints, schedules, clipping,
NaN guard, logging.

A callback overrides any of ``on_train_begin(trainer)``, ``on_epoch_begin(trainer, epoch)``,
``on_after_backward(trainer)``, ``on_batch_end(trainer, batch, logs)``, ``on_epoch_end(trainer, epoch, logs)``,
``on_interrupt(trainer)`` (Ctrl-C, at a batch boundary) and ``on_train_end(trainer)``. Setting
``trainer.stop_training = True`` ends training after the current epoch; ``trainer.abort_epoch = True`` ends it at
once, and the aborted epoch is neither logged nor saved.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time

__all__ = ["Callback", "ProgressBar", "EarlyStopping", "ModelCheckpoint", "LRSchedulerCallback", "GradientClipping",
           "TerminateOnNaN", "CSVLogger", "JSONLogger", "atomic_write_text"]


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that readers see the old file or the new one, never a partial one,
    and no crash leaves a temporary behind (:func:`deepgrad.serialization.atomic_write`)."""
    from ..serialization import atomic_write

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    data = text.encode("utf-8")
    atomic_write(path, lambda f: f.write(data))


class Callback:
    def on_train_begin(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer, epoch: int) -> None: ...

    def on_after_backward(self, trainer) -> None: ...

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None: ...

    def on_interrupt(self, trainer) -> None: ...

    def on_train_end(self, trainer) -> None: ...


def _fmt(logs: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in logs.items() if isinstance(v, float))


class ProgressBar(Callback):
    """A live bar per epoch with the running loss and metrics (tqdm when installed and writing to a terminal);
    otherwise (a log file, a pipe, a batch job) a line every ``interval`` seconds with the epoch, step, running loss
    and samples/s, and one line per epoch. ``quiet=True`` prints nothing."""

    def __init__(self, quiet: bool = False, stream=None, interval: float = 5.0) -> None:
        self.quiet, self.stream, self.interval = quiet, stream or sys.stderr, interval
        self.bar = None

    def _use_tqdm(self) -> bool:
        if not (hasattr(self.stream, "isatty") and self.stream.isatty()):
            return False
        try:
            import tqdm  # noqa: F401
        except ImportError:
            return False
        return True

    def on_epoch_begin(self, trainer, epoch):
        if self.quiet:
            return
        self.t0 = self.last = time.perf_counter()
        self.loss_sum, self.batches = 0.0, 0
        if self._use_tqdm():
            from tqdm import tqdm

            total = len(trainer.train_loader) if hasattr(trainer.train_loader, "__len__") else None
            self.bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{trainer.epochs}", file=self.stream, leave=True,
                            dynamic_ncols=True)

    def on_batch_end(self, trainer, batch, logs):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(1)
            if batch % 10 == 0:
                self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
            return
        self.loss_sum, self.batches = self.loss_sum + logs.get("loss", math.nan), self.batches + 1
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            total = f"/{len(trainer.train_loader)}" if hasattr(trainer.train_loader, "__len__") else ""
            rate = trainer.epoch_samples / max(now - self.t0, 1e-9)
            print(f"epoch {trainer.epoch + 1}/{trainer.epochs}  step {batch + 1}{total}  loss "
                  f"{self.loss_sum / self.batches:.4f}  {rate:.0f} samples/s", file=self.stream, flush=True)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items() if isinstance(v, float)})
            self.bar.close()
            self.bar = None
        else:
            print(f"epoch {epoch + 1}/{trainer.epochs}  {_fmt(logs)}", file=self.stream, flush=True)

    def on_train_end(self, trainer):
        if self.bar is not None:  # an aborted or interrupted epoch
            self.bar.close()
            self.bar = None


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs; with
    ``restore_best_weights`` the model goes back to its best epoch's weights at the end."""

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True) -> None:
        if patience < 0:
            raise ValueError(f"EarlyStopping: patience must be >= 0, got {patience}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor or "error" in monitor else "max")
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, trainer):
        self.best, self.best_epoch, self.wait, self.best_state, self.stopped_epoch = None, -1, 0, None, None

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        if self.monitor not in logs:
            raise KeyError(f"EarlyStopping: monitored quantity {self.monitor!r} is not logged; available: "
                           f"{sorted(logs)} (validation metrics need a val_loader)")
        value = logs[self.monitor]
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                trainer.stop_training = True
                self.stopped_epoch = epoch

    def on_train_end(self, trainer):
        if self.restore_best_weights and self.best_state is not None and self.stopped_epoch is not None:
            trainer.model.load_state_dict(self.best_state)


def nonfinite_tensors(model) -> list[str]:
    """Names of the model's floating-point parameters and buffers holding NaN or infinite values."""
    from .. import backend

    return [name for name, t in model.state_dict().items()
            if t._data.dtype.kind == "f" and not bool(backend.array_module(t._data).isfinite(t._data).all())]


class ModelCheckpoint(Callback):
    """After each completed epoch with a finite loss and finite weights, save the full training state to
    ``dir/last.safetensors`` and, when ``monitor`` improves, to ``dir/best.safetensors`` (atomic writes: an
    interrupted save never leaves a truncated file). An epoch with a NaN/Inf loss or weights is not saved and stops
    training, so the last good checkpoint stays; ``trainer.stop_reason`` says which it is. On Ctrl-C
    (``on_interrupt``) the state is saved to ``dir/interrupt.safetensors``, removed again by the next epoch's
    save."""

    def __init__(self, dirpath: str, monitor: str = "val_loss", mode: str = "auto", save_last: bool = True,
                 save_best: bool = True) -> None:
        self.dirpath, self.monitor, self.save_last, self.save_best = dirpath, monitor, save_last, save_best
        self.mode = mode if mode != "auto" else ("min" if "loss" in monitor or "error" in monitor else "max")
        self.best = None
        self.last_saved_epoch: int | None = None  # 1-based epoch of the newest good checkpoint

    @property
    def last_path(self) -> str:
        return os.path.join(self.dirpath, "last.safetensors")

    @property
    def best_path(self) -> str:
        return os.path.join(self.dirpath, "best.safetensors")

    @property
    def interrupt_path(self) -> str:
        return os.path.join(self.dirpath, "interrupt.safetensors")

    def on_train_begin(self, trainer):
        if self.last_saved_epoch is None and trainer.start_epoch > 0 and os.path.exists(self.last_path):
            self.last_saved_epoch = trainer.start_epoch

    def _kept(self) -> str:
        if self.last_saved_epoch is None:
            return "no checkpoint was written"
        return f"the last good checkpoint {self.last_path} (epoch {self.last_saved_epoch}) is kept"

    def on_epoch_end(self, trainer, epoch, logs):
        loss = logs.get("loss")
        bad = nonfinite_tensors(trainer.model)
        if (isinstance(loss, float) and not math.isfinite(loss)) or bad:
            what = f"the weights {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}" if bad else f"loss {loss}"
            trainer.stop_training = True
            trainer.stop_reason = (f"ModelCheckpoint: epoch {epoch + 1} ended with non-finite {what}; not saved and "
                                   f"training stopped; {self._kept()}")
            return
        os.makedirs(self.dirpath, exist_ok=True)
        value = logs.get(self.monitor)
        if self.save_best and value is not None and not (isinstance(value, float) and math.isnan(value)):
            if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
                self.best = value
                trainer.save_checkpoint(self.best_path)
        if self.save_last:
            trainer.save_checkpoint(self.last_path)
            self.last_saved_epoch = epoch + 1
            if os.path.exists(self.interrupt_path):  # superseded by a completed epoch
                os.remove(self.interrupt_path)

    def on_interrupt(self, trainer):
        if nonfinite_tensors(trainer.model):
            return
        os.makedirs(self.dirpath, exist_ok=True)
        trainer.save_checkpoint(self.interrupt_path)
        trainer.interrupt_checkpoint = self.interrupt_path

    def on_train_end(self, trainer):
        if trainer.stop_reason and "ModelCheckpoint" not in trainer.stop_reason and not \
                trainer.stop_reason.startswith("interrupted"):
            trainer.stop_reason += f"; {self._kept()}"


class LRSchedulerCallback(Callback):
    """Steps a learning-rate scheduler once per epoch (``ReduceLROnPlateau`` gets the monitored value) or, with
    ``per_batch=True`` (OneCycleLR), after every optimiser step."""

    def __init__(self, scheduler, monitor: str = "val_loss", per_batch: bool = False) -> None:
        self.scheduler, self.monitor, self.per_batch = scheduler, monitor, per_batch

    def on_batch_end(self, trainer, batch, logs):
        if self.per_batch:
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.per_batch:
            return
        if type(self.scheduler).__name__ == "ReduceLROnPlateau":
            self.scheduler.step(logs.get(self.monitor, logs.get("loss")))
        else:
            self.scheduler.step()


class GradientClipping(Callback):
    """Clip gradients after each backward pass: by global norm (``max_norm``) or by value (``clip_value``)."""

    def __init__(self, max_norm: float | None = None, clip_value: float | None = None, norm_type: float = 2.0):
        if (max_norm is None) == (clip_value is None):
            raise ValueError("GradientClipping: give exactly one of max_norm and clip_value")
        self.max_norm, self.clip_value, self.norm_type = max_norm, clip_value, norm_type

    def on_after_backward(self, trainer):
        from ..nn.utils import clip_grad_norm_, clip_grad_value_

        params = [p for p in trainer.model.parameters() if p.grad is not None]
        if self.max_norm is not None:
            clip_grad_norm_(params, self.max_norm, self.norm_type)
        else:
            clip_grad_value_(params, self.clip_value)


class TerminateOnNaN(Callback):
    """Stop at once (mid-epoch) when the loss becomes NaN or infinite; the aborted epoch is not logged or saved.
    ``trainer.stop_reason`` says at which step (with a :class:`ModelCheckpoint`, also which checkpoint is kept);
    ``verbose`` prints it on stderr when training ends. The :class:`Trainer` adds one unless told not to."""

    def __init__(self, verbose: bool = True) -> None:
        self.verbose = verbose
        self.fired = False

    def on_train_begin(self, trainer):
        self.fired = False

    def on_batch_end(self, trainer, batch, logs):
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.fired = True
            trainer.stop_training = trainer.abort_epoch = True
            trainer.stop_reason = (f"TerminateOnNaN: the loss became {loss} at epoch {trainer.epoch + 1}, batch "
                                   f"{batch + 1} (global step {trainer.global_step}); try a smaller learning rate, "
                                   "gradient clipping, or check the data for NaNs")

    def on_train_end(self, trainer):
        if self.verbose and self.fired and trainer.stop_reason:
            print(trainer.stop_reason, file=sys.stderr)


class CSVLogger(Callback):
    """Writes the per-epoch logs (epoch, loss, metrics, val_*) to a CSV file, rewritten atomically each epoch."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_epoch_end(self, trainer, epoch, logs):
        rows = trainer.history.rows()
        buf = io.StringIO()
        keys = list(dict.fromkeys(k for r in rows for k in r))
        w = csv.DictWriter(buf, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(self.path, buf.getvalue())


class JSONLogger(Callback):
    """Writes the history (per-epoch logs and the health reports) to a JSON file after each epoch."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_epoch_end(self, trainer, epoch, logs):
        atomic_write_text(self.path, json.dumps(trainer.history.to_dict(), indent=1))
