"""One playground run: the data, the network and its optimiser, a training step, and the frames the page draws.

A :class:`Session` is plain deepgrad: an ``nn.Sequential`` of ``Linear`` layers and activations trained with a
``deepgrad.optim`` optimiser on the chosen features. Losses are the usual ones: binary cross-entropy on one
logit for two classes, cross-entropy on softmax outputs for more, mean squared error for regression. The
penalty of L1 (``rate * sum|w|``) or L2 (``rate / 2 * sum w^2``) regularisation covers the weights, not the
biases, and the losses shown leave it out (as the TensorFlow Playground does).

A *frame* is what the page needs to draw the network now: the 50 x 50 output heatmap over ``[-6, 6]^2``,
every hidden neuron's heatmap, the weights, train and test loss, and a health record per neuron from
deepgrad's health report (dead ReLUs, saturated tanh/sigmoid units, gradient norms).
"""
from __future__ import annotations

import base64
import math
from collections import OrderedDict

import numpy as np

from .. import nn, optim
from ..autograd.grad_mode import no_grad
from ..backend import Generator
from ..nn import functional as F
from ..tensor import tensor
from ..train.health import check_health
from . import datasets
from .features import feature_matrix
from .settings import Settings

__all__ = ["Session", "build_network", "GRID"]

GRID = 50  # heatmap side
SATURATED = 0.9  # a tanh/sigmoid neuron is flagged when this fraction of the training points saturate it
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity}


def build_network(n_inputs: int, hidden: tuple[int, ...], n_outputs: int, activation: str, init: str,
                  seed: int) -> nn.Sequential:
    """``Linear -> activation`` per hidden layer, then a ``Linear`` output, named ``hidden1, act1, ..., output``.

    Weights follow ``init`` (the lectures' initialisation experiment): ``zeros``; ``constant`` (every weight
    0.05: the units of a layer stay identical); ``large`` (N(0, 1)); ``xavier`` (Glorot normal, std
    sqrt(2 / (fan_in + fan_out))); ``he`` (Kaiming normal, std sqrt(2 / fan_in)). Biases start at 0.
    """
    gen = Generator(seed)
    sizes = [n_inputs, *hidden, n_outputs]
    layers: OrderedDict = OrderedDict()
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        last = i == len(sizes) - 1
        lin = nn.Linear(a, b)
        nn.init.zeros_(lin.bias)
        if init == "zeros":
            nn.init.zeros_(lin.weight)
        elif init == "constant":
            nn.init.constant_(lin.weight, 0.05)
        elif init == "large":
            nn.init.normal_(lin.weight, 0.0, 1.0, generator=gen)
        elif init == "xavier":
            nn.init.xavier_normal_(lin.weight, generator=gen)
        else:
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu", generator=gen)
        layers["output" if last else f"hidden{i}"] = lin
        if not last:
            layers[f"act{i}"] = _ACTIVATIONS[activation]()
    return nn.Sequential(layers)


def _optimizer(s: Settings, params) -> optim.Optimizer:
    if s.optimizer == "sgd":
        return optim.SGD(params, lr=s.lr)
    if s.optimizer == "momentum":
        return optim.SGD(params, lr=s.lr, momentum=0.9)
    if s.optimizer == "adam":
        return optim.Adam(params, lr=s.lr)
    return optim.BarzilaiBorwein(params, lr=s.lr, step_bounds=(1e-6, 10.0))


def _u8(a: np.ndarray) -> bytes:
    """Values in [-1, 1] (clipped) as bytes 0..255, the page's colour scale."""
    return np.rint((np.clip(a, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8).tobytes()


class Session:
    """Data, network, optimiser and step counters of one run. ``custom`` is an uploaded ``(X, y, task)``."""

    def __init__(self, settings: Settings, custom: tuple[np.ndarray, np.ndarray, str] | None = None) -> None:
        s = self.settings = settings
        if s.dataset == "custom":
            if custom is None:
                raise datasets.DataError("the custom data set needs points: upload or paste a CSV first")
            x, y, self.task = custom
        else:
            x, y = datasets.generate(s.dataset, s.points, s.noise, s.seed, s.classes, s.formula)
            self.task = "regression" if s.dataset in datasets.REGRESSION else "classification"
        order = np.random.default_rng(s.seed).permutation(len(x))
        n = min(s.n_train, len(x) - 1)
        self.train_xy, self.test_xy = x[order[:n]], x[order[n:]]
        self.train_y, self.test_y = y[order[:n]], y[order[n:]]
        self.n_classes = int(y.max()) + 1 if self.task == "classification" else 0
        n_out = self.n_classes if self.n_classes > 2 else 1
        self.model = build_network(len(s.features), s.hidden, n_out, s.activation, s.init, s.seed)
        self.optimizer = _optimizer(s, self.model.parameters())
        self._weights = [m.weight for m in self.model if isinstance(m, nn.Linear)]
        self._x_train = tensor(feature_matrix(self.train_xy, list(s.features)))
        self._x_test = tensor(feature_matrix(self.test_xy, list(s.features)))
        self._t_train, self._t_test = self._target(self.train_y), self._target(self.test_y)
        c = np.linspace(-datasets.DOMAIN, datasets.DOMAIN, GRID)
        g1, g2 = np.meshgrid(c, c[::-1])  # row 0 at the top (x2 = +6)
        self._x_grid = tensor(feature_matrix(np.stack([g1.ravel(), g2.ravel()], 1), list(s.features)))
        self._batches = np.random.default_rng(s.seed + 1)
        self._order, self._pos = self._batches.permutation(n), 0
        self.epoch, self.steps = 0, 0

    # ------------------------------------------------------------------------------------------- training
    def _target(self, y: np.ndarray):
        if self.task == "regression":
            return tensor(y.reshape(-1, 1).astype(np.float32))
        if self.n_classes > 2:
            return tensor(y.astype(np.int64))
        return tensor(y.reshape(-1, 1).astype(np.float32))

    def loss_fn(self, out, target):
        """The data loss of the task (no penalty)."""
        if self.task == "regression":
            return F.mse_loss(out, target)
        if self.n_classes > 2:
            return F.cross_entropy(out, target)
        return F.binary_cross_entropy_with_logits(out, target)

    def update(self, settings: Settings) -> None:
        """Apply a change of only :data:`~deepgrad.playground.settings.LIVE_FIELDS` without a reset."""
        self.settings = settings
        for group in self.optimizer.param_groups:
            group["lr"] = settings.lr

    def step(self) -> float:
        """One optimiser update on the next mini-batch; returns its loss (with the penalty)."""
        s = self.settings
        idx = self._order[self._pos:self._pos + s.batch_size]
        self._pos += len(idx)
        if self._pos >= len(self._order):
            self._order, self._pos = self._batches.permutation(len(self._order)), 0
            self.epoch += 1
        loss = self.loss_fn(self.model(self._x_train[idx]), self._t_train[idx])
        if s.regularization != "none" and s.reg_rate > 0:
            if s.regularization == "l1":
                penalty = sum(w.abs().sum() for w in self._weights)
            else:
                penalty = 0.5 * sum((w * w).sum() for w in self._weights)
            loss = loss + s.reg_rate * penalty
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.steps += 1
        return float(loss.item())

    def run_epoch(self) -> None:
        """Updates until the epoch counter moves on (the page's step button)."""
        epoch = self.epoch
        while self.epoch == epoch:
            self.step()

    # --------------------------------------------------------------------------------------------- frames
    def _layers(self, x) -> tuple[list[np.ndarray], object]:
        """Every hidden layer's output (NumPy) and the network's output Tensor, in one pass without autograd."""
        hidden = []
        with no_grad():
            for name, module in self.model.named_children():
                x = module(x)
                if name.startswith("act"):
                    hidden.append(x.numpy())
        return hidden, x

    def output_map(self, out) -> np.ndarray:
        """What the page colours: P(class) per class (k, n) for classification, the value (1, n) for regression."""
        if self.task == "regression":
            return out.numpy().T
        if self.n_classes > 2:
            return F.softmax(out, dim=1).numpy().T
        p = 1.0 / (1.0 + np.exp(-out.numpy()[:, 0]))
        return np.stack([1 - p, p])

    def losses(self) -> tuple[float, float]:
        with no_grad():
            return (float(self.loss_fn(self.model(self._x_train), self._t_train).item()),
                    float(self.loss_fn(self.model(self._x_test), self._t_test).item()))

    def health(self, hidden_train: list[np.ndarray]) -> dict:
        """Per neuron: the share of training points on which it is active (ReLU) or saturated (tanh, sigmoid),
        and the norm of the full-batch gradient of its incoming weights and bias; per layer, the flags of
        :func:`deepgrad.train.health.check_health`."""
        report = check_health(self.model, self.loss_fn, self._x_train, self._t_train)
        act = self.settings.activation
        neurons = []
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        for h, lin in zip(hidden_train, linears):
            g = lin.weight.grad.numpy() ** 2
            grad = np.sqrt(g.sum(1) + lin.bias.grad.numpy() ** 2)
            layer = []
            for j in range(h.shape[1]):
                col = h[:, j]
                rec = {"grad": float(grad[j])}
                if act == "relu":
                    rec["active"] = float((col > 0).mean())
                    rec["dead"] = rec["active"] == 0.0
                elif act in ("tanh", "sigmoid"):
                    sat = np.abs(col) > 0.99 if act == "tanh" else (col < 0.01) | (col > 0.99)
                    rec["saturated"] = float(sat.mean())
                    rec["dead"] = False
                else:
                    rec["dead"] = False
                rec["flag"] = "dead" if rec["dead"] else "saturated" if rec.get("saturated", 0) > SATURATED else ""
                layer.append(rec)
            neurons.append(layer)
        flags = list(report["flags"])
        if not all(math.isfinite(v) for v in report["grad_norms"].values()):
            flags.append("the gradients are not finite: lower the learning rate and reset")
        return {"neurons": neurons, "layers": {k: round(v, 6) for k, v in report["grad_norms"].items()},
                "flags": flags}

    def frame(self) -> dict:
        """Heatmaps (base64 bytes, see :func:`_u8`), weights, losses, counters and health, as JSON-ready data."""
        hidden_grid, out_grid = self._layers(self._x_grid)
        hidden_train, out_train = self._layers(self._x_train)
        with no_grad():
            train_loss = float(self.loss_fn(out_train, self._t_train).item())
            test_loss = float(self.loss_fn(self.model(self._x_test), self._t_test).item())
        maps = self.output_map(out_grid)
        output = _u8(maps * 2 - 1) if self.task == "classification" else _u8(maps)
        neurons = b"".join(_u8(h.T) for h in hidden_grid)  # layer by layer, neuron by neuron, GRID*GRID each
        linears = [m for m in self.model if isinstance(m, nn.Linear)]
        return {"type": "frame", "epoch": self.epoch, "steps": self.steps,
                "train_loss": _finite(train_loss), "test_loss": _finite(test_loss),
                "output": base64.b64encode(output).decode(), "output_maps": int(maps.shape[0]),
                "neurons": base64.b64encode(neurons).decode(),
                "weights": [np.round(m.weight.detach().numpy(), 4).tolist() for m in linears],
                "biases": [np.round(m.bias.detach().numpy(), 4).tolist() for m in linears],
                "health": self.health(hidden_train)}

    def describe(self) -> dict:
        """The data points and the shape of the problem, sent once per reset."""
        return {"type": "ready", "settings": self.settings.to_dict(), "task": self.task, "classes": self.n_classes,
                "grid": GRID, "domain": datasets.DOMAIN,
                "train": {"x": np.round(self.train_xy, 3).tolist(), "y": self.train_y.tolist()},
                "test": {"x": np.round(self.test_xy, 3).tolist(), "y": self.test_y.tolist()}}


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
