"""The training loop: ``Trainer(model, loss_fn, optimizer).fit(train_loader, val_loader, epochs)``.

One epoch is the loop the lectures write out — for each mini-batch: forward, loss, zero the gradients, backward,
step — with callbacks around it, metrics accumulated over the epoch, a no-grad evaluation in ``eval()`` mode, and a
``History``. Explicit PyTorch-style loops remain just as easy: nothing here is required to train a model.

Faults: an epoch aborted mid-way (a NaN loss under :class:`TerminateOnNaN`) is not logged and does not count as
completed, so no callback records it; every :meth:`Trainer.fit` starts with the stop flags cleared, so a Trainer is
reusable after any stop. Ctrl-C during ``fit`` (in the main thread) finishes the current batch, gives each callback
``on_interrupt`` (:class:`ModelCheckpoint` writes ``interrupt.safetensors`` there) and raises
:class:`TrainingInterrupted`; a second Ctrl-C interrupts at once.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from collections import defaultdict

from .. import backend
from ..autograd import no_grad
from ..data.dataloader import batch_to_device
from ..tensor import Tensor
from .callbacks import Callback, ProgressBar, TerminateOnNaN
from .metrics import get_metric

__all__ = ["Trainer", "History", "fit", "TrainingInterrupted"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :meth:`Trainer.fit` at a batch boundary; ``checkpoint`` is where the state was saved (or
    None when no :class:`ModelCheckpoint` callback saved it)."""

    def __init__(self, message: str, checkpoint: str | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint


class History:
    """Per-epoch logs: ``history["loss"]``, ``history["val_accuracy"]``, ...; ``health`` holds the health reports."""

    def __init__(self) -> None:
        self.epochs: list = []
        self.history: dict = defaultdict(list)
        self.health: list = []

    def append(self, epoch: int, logs: dict) -> None:
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history[k].append(v)

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def rows(self) -> list:
        keys = list(self.history)
        return [{"epoch": e + 1, **{k: self.history[k][i] for k in keys if i < len(self.history[k])}}
                for i, e in enumerate(self.epochs)]

    def to_dict(self) -> dict:
        return {"epochs": [e + 1 for e in self.epochs], "history": dict(self.history), "health": self.health}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        h = cls()
        h.epochs = [e - 1 for e in d.get("epochs", [])]
        for k, v in d.get("history", {}).items():
            h.history[k] = list(v)
        h.health = list(d.get("health", []))
        return h


class Trainer:
    """Trains ``model`` with ``loss_fn(output, target)`` and ``optimizer``.

    Args:
        metrics: names ('accuracy', 'top5', 'mse', 'mae', 'r2') or :class:`Metric` objects, computed on the
            training batches and, with a validation loader, on it (logged with a ``val_`` prefix).
        callbacks: :class:`Callback` objects; a :class:`ProgressBar` is added unless ``progress=False``, and a
            :class:`TerminateOnNaN` unless ``terminate_on_nan=False`` (a NaN loss stops training with a sentence).
        scheduler: a learning-rate scheduler stepped once per epoch (``ReduceLROnPlateau`` gets ``val_loss``).
        device: where batches are moved before the forward pass (the model is moved there too).
        extra_state: JSON-able entries stored in every checkpoint (e.g. the run configuration).
    """

    def __init__(self, model, loss_fn, optimizer, metrics=("accuracy",), callbacks=None, scheduler=None,
                 device=None, progress: bool = True, quiet: bool = False, extra_state: dict | None = None,
                 terminate_on_nan: bool = True) -> None:
        self.model, self.loss_fn, self.optimizer, self.scheduler = model, loss_fn, optimizer, scheduler
        self.metric_specs = list(metrics or ())
        self.device = backend.Device(device) if device is not None else None
        if self.device is not None:
            model.to(self.device)
        self.callbacks: list = list(callbacks or [])
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(f"Trainer: callbacks must be Callback instances, got {type(c).__name__}")
        if progress and not any(isinstance(c, ProgressBar) for c in self.callbacks):
            self.callbacks.insert(0, ProgressBar(quiet=quiet))
        if terminate_on_nan and not any(isinstance(c, TerminateOnNaN) for c in self.callbacks):
            self.callbacks.append(TerminateOnNaN(verbose=not quiet))
        self.extra_state = dict(extra_state or {})
        self.history = History()
        self.epoch, self.global_step, self.start_epoch, self.epochs = 0, 0, 0, 0
        self.stop_training = self.abort_epoch = False
        self.stop_reason = None
        self.train_loader = None
        self.epoch_samples = 0  # samples trained on so far in the current epoch
        self.interrupt_checkpoint: str | None = None  # set by a callback's on_interrupt
        self._pending_loader_state = None
        self._interrupt_requested = self._epoch_cut = False

    # ---------------------------------------------------------------------------------------------- loop
    def _call(self, hook: str, *args) -> None:
        for c in self.callbacks:
            getattr(c, hook)(self, *args)

    def train_step(self, x, y) -> tuple:
        """One optimisation step on a batch; returns (loss value, output). A NaN or infinite loss takes no step, so
        the weights stay those of the last good step (the callbacks decide whether to stop)."""
        out = self.model(x)
        loss = self.loss_fn(out, y)
        value = loss.item()
        self.global_step += 1
        if not math.isfinite(value):
            return value, out
        self.optimizer.zero_grad()
        loss.backward()
        self._call("on_after_backward")
        self.optimizer.step()
        return value, out

    def fit(self, train_loader, val_loader=None, epochs: int = 1) -> History:
        """Train for ``epochs`` epochs in total (continuing from ``start_epoch`` after a resume)."""
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive integer, got {epochs!r}")
        self.train_loader, self.val_loader, self.epochs = train_loader, val_loader, epochs
        if self._pending_loader_state is not None and hasattr(train_loader, "load_state_dict"):
            train_loader.load_state_dict(self._pending_loader_state)  # same data order as the interrupted run
        self._pending_loader_state = None
        self.stop_training = self.abort_epoch = self._interrupt_requested = False
        self.stop_reason = self.interrupt_checkpoint = None
        restore = self._catch_sigint()
        self._call("on_train_begin")
        try:
            for epoch in range(self.start_epoch, epochs):
                self.epoch = epoch
                lr = float(self.optimizer.param_groups[0]["lr"])  # the rate this epoch trains with
                logs = self._train_epoch(train_loader)
                if self._epoch_cut and self._interrupt_requested:  # resumable mid-epoch: the loader knows where
                    self._interrupted()
                if self.abort_epoch:  # an aborted epoch is not completed: nothing logs or saves it
                    break
                if val_loader is not None:
                    logs.update({f"val_{k}": v for k, v in self.evaluate(val_loader).items()})
                if self.scheduler is not None:
                    if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                        self.scheduler.step(logs.get("val_loss", logs["loss"]))
                    else:
                        self.scheduler.step()
                logs["lr"] = lr
                self.history.append(epoch, logs)
                self.start_epoch = epoch + 1
                self._call("on_epoch_end", epoch, logs)
                if self._interrupt_requested:
                    self._interrupted()
                if self.stop_training:
                    break
        finally:
            restore()
            self._call("on_train_end")
        return self.history

    def _catch_sigint(self):
        """While ``fit`` runs in the main thread, a first Ctrl-C only asks for a stop at the next batch boundary
        (so the saved state is consistent); a second one raises KeyboardInterrupt at once. Returns the undo."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.getsignal(signal.SIGINT)
        if previous is not signal.default_int_handler:  # the user (or a host like a notebook) handles it
            return lambda: None

        def handler(signum, frame):
            if self._interrupt_requested:
                raise KeyboardInterrupt
            self._interrupt_requested = True

        signal.signal(signal.SIGINT, handler)
        return lambda: signal.signal(signal.SIGINT, previous)

    def _interrupted(self) -> None:
        self.stop_reason = (f"interrupted at epoch {self.epoch + 1}, after global step {self.global_step}")
        self._call("on_interrupt")
        raise TrainingInterrupted(self.stop_reason, self.interrupt_checkpoint)

    def _train_epoch(self, loader) -> dict:
        self.model.train()
        metrics = [get_metric(m) for m in self.metric_specs]
        for m in metrics:
            m.reset()
        self._call("on_epoch_begin", self.epoch)
        total, count, t0 = 0.0, 0, time.perf_counter()
        self.epoch_samples, self._epoch_cut = 0, False
        for i, batch in enumerate(loader):
            x, y = batch_to_device(batch, self.device)
            loss, out = self.train_step(x, y)
            n = len(y) if hasattr(y, "__len__") else 1
            total += loss * n
            count += n
            self.epoch_samples = count
            for m in metrics:
                m.update(out.detach(), y)
            self._call("on_batch_end", i, {"loss": loss})
            last = hasattr(loader, "__len__") and i + 1 >= len(loader)
            if self.abort_epoch or (self._interrupt_requested and not last):
                self._epoch_cut = True
                break
        logs = {"loss": total / count if count else math.nan}
        logs.update({m.name: float(m.compute()) for m in metrics})
        logs["time"] = time.perf_counter() - t0
        return logs

    @no_grad()
    def evaluate(self, loader, metrics=None) -> dict:
        """Mean loss and metrics over ``loader`` in eval mode, without recording a graph."""
        was_training = self.model.training
        self.model.eval()
        ms = [get_metric(m) for m in (self.metric_specs if metrics is None else metrics)]
        for m in ms:
            m.reset()
        total, count = 0.0, 0
        try:
            for batch in loader:
                x, y = batch_to_device(batch, self.device)
                out = self.model(x)
                n = len(y) if hasattr(y, "__len__") else 1
                total += self.loss_fn(out, y).item() * n
                count += n
                for m in ms:
                    m.update(out, y)
        finally:
            self.model.train(was_training)
        logs = {"loss": total / count if count else math.nan}
        logs.update({m.name: m.compute() for m in ms})
        return {k: (float(v) if not hasattr(v, "shape") else v) for k, v in logs.items()}

    @no_grad()
    def predict(self, data) -> Tensor:
        """Model outputs for a Tensor or for every batch of a loader (concatenated), in eval mode."""
        from ..ops.shape import cat

        was_training = self.model.training
        self.model.eval()
        try:
            if isinstance(data, Tensor):
                return self.model(batch_to_device(data, self.device))
            outs = []
            for batch in data:
                x = batch[0] if isinstance(batch, (list, tuple)) else batch
                outs.append(self.model(batch_to_device(x, self.device)))
            return cat(outs)
        finally:
            self.model.train(was_training)

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to resume bit-identically: model, optimiser, scheduler, epoch, RNG and data order."""
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "epoch": self.start_epoch, "global_step": self.global_step,
                 "rng": backend.default_generator.get_state(), "history": self.history.to_dict(),
                 **self.extra_state}
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        loader = self.train_loader
        if loader is not None and hasattr(loader, "state_dict"):
            state["loader"] = loader.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        self.start_epoch = int(state["epoch"])
        self.global_step = int(state.get("global_step", 0))
        backend.default_generator.set_state(state["rng"])
        self.history = History.from_dict(state.get("history", {}))
        self._pending_loader_state = state.get("loader")

    def save_checkpoint(self, path: str, **extra) -> None:
        """Save the training state atomically to ``path`` (safetensors + JSON metadata; no pickle)."""
        from ..serialization import save

        save({**self.state_dict(), **extra}, path)

    def resume(self, path: str) -> None:
        """Load a checkpoint written by :meth:`save_checkpoint`; the next :meth:`fit` continues after its epoch
        with the same data order."""
        from ..serialization import load

        self.load_state_dict(load(path, map_location=str(self.device) if self.device else None))


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs: int = 1, **kwargs) -> History:
    """Shorthand for ``Trainer(model, loss_fn, optimizer, **kwargs).fit(train_loader, val_loader, epochs)``."""
    return Trainer(model, loss_fn, optimizer, **kwargs).fit(train_loader, val_loader, epochs)
