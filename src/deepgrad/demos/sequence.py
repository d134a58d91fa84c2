"""Sequence learning demo: a plain RNN, an LSTM and a GRU on a long-range memory task (loss curves and gradient
norms through time: vanishing gradients), and a character-level LSTM trained with truncated BPTT."""
from __future__ import annotations

import numpy as np

import deepgrad as dg

from .. import nn
from ..models import CharRNN
from ..nn import functional as F
from . import demo
from ._mlp_util import figure, pyplot, save

_TEXT = ("hello world. a recurrent network reads one character at a time and keeps a memory of what it has seen. "
         "the long short-term memory adds a cell whose forget gate lets information flow across many steps. ")


def _recall_batch(rng: np.random.Generator, n: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """x: (steps, n, 2): channel 0 a random sign ±1 at every step (distractors alike the signal), channel 1 a marker
    set at the first step only; the target is the sign seen at the marked step, so the network must store it and
    ignore everything after."""
    x = np.zeros((steps, n, 2), np.float32)
    x[..., 0] = np.where(rng.random((steps, n)) < 0.5, -1.0, 1.0)
    x[0, :, 1] = 1.0
    return x, x[0, :, :1].copy()


class _Recall(nn.Module):
    def __init__(self, cell: type, hidden: int) -> None:
        super().__init__()
        self.rnn, self.head = cell(2, hidden), nn.Linear(hidden, 1)
        if cell is nn.LSTM:  # forget-gate bias 1 (Jozefowicz et al., 2015): start by remembering
            b = self.rnn.bias_ih_l0.detach().numpy().copy()
            b[hidden:2 * hidden] = 1.0
            self.rnn.bias_ih_l0.data = dg.tensor(b)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def _grad_through_time(model: _Recall, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """‖∂L/∂x_t‖ averaged over the batch, t = 0 … T−1: how much of the loss at the last step reaches step t."""
    xt = dg.tensor(x, requires_grad=True)
    F.mse_loss(model(xt), dg.tensor(y)).backward()
    g = np.linalg.norm(xt.grad.numpy().reshape(len(x), -1), axis=1)
    model.zero_grad()
    return g / len(y)


def _char_rnn(fast: bool) -> dict:
    """Truncated BPTT: the text is cut into chunks; the state is carried from chunk to chunk but detached, so
    gradients flow back at most one chunk while the memory itself spans the whole text."""
    chars = sorted(set(_TEXT))
    idx = np.array([chars.index(c) for c in _TEXT])
    dg.manual_seed(0)
    model = CharRNN(len(chars), embedding_dim=16, hidden_size=64 if not fast else 32)
    opt = dg.optim.Adam(model.parameters(), lr=1e-2)
    chunk, batch = 24, 4
    lanes = len(idx) // batch  # the text as 4 parallel streams
    stream = idx[:lanes * batch].reshape(batch, lanes)
    losses = []
    for _ in range(12 if fast else 60):
        state, total, count = None, 0.0, 0
        for s in range(0, lanes - 1, chunk):
            e = min(s + chunk, lanes - 1)
            logits, state = model(dg.tensor(stream[:, s:e]), state)
            state = tuple(h.detach() for h in state)  # truncate backpropagation here
            loss = F.cross_entropy(logits.reshape(-1, len(chars)), dg.tensor(stream[:, s + 1:e + 1].reshape(-1)))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total, count = total + loss.item(), count + 1
        losses.append(total / count)
    text = "".join(chars[i] for i in model.sample([chars.index(c) for c in "hello"], 80, temperature=0.5, seed=0))
    print(f"char-LSTM (truncated BPTT, chunks of {chunk}): loss {losses[0]:.3f} → {losses[-1]:.3f} nats/char; "
          f"sample: {text!r}")
    return {"losses": losses, "sample": text, "vocab": len(chars), "chunk": chunk}


@demo("rnn", "RNN vs LSTM vs GRU on a long-range recall task (loss curves, gradient norm through time) and a "
             "character-level LSTM trained with truncated BPTT")
def rnn(out: str, fast: bool) -> dict:
    steps, hidden, iters, batch = (8, 16, 150, 32) if fast else (16, 32, 400, 64)
    rng = np.random.default_rng(0)
    x_eval, y_eval = _recall_batch(np.random.default_rng(123), 256, steps)
    curves, acc, grads_init, grads_trained = {}, {}, {}, {}
    for name, cell in (("RNN", nn.RNN), ("LSTM", nn.LSTM), ("GRU", nn.GRU)):
        dg.manual_seed(0)
        model = _Recall(cell, hidden)
        grads_init[name] = _grad_through_time(model, x_eval[:, :64], y_eval[:64])
        opt = dg.optim.Adam(model.parameters(), lr=1e-2)
        hist = []
        for _ in range(iters):
            x, y = _recall_batch(rng, batch, steps)
            loss = F.mse_loss(model(dg.tensor(x)), dg.tensor(y))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            hist.append(loss.item())
        curves[name] = hist
        with dg.no_grad():
            pred = model(dg.tensor(x_eval)).numpy()
        acc[name] = float((np.sign(pred) == y_eval).mean())
        grads_trained[name] = _grad_through_time(model, x_eval[:, :64], y_eval[:64])
        print(f"{name:>4}: final loss {np.mean(hist[-20:]):.3f}, sign accuracy {acc[name]:.3f}, "
              f"‖∂L/∂x_0‖ / ‖∂L/∂x_T‖ at init {grads_init[name][0] / grads_init[name][-1]:.2e}")
    char = _char_rnn(fast)

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
        k = 10
        colour = {}
        for name, hist in curves.items():
            line, = axes[0].plot(np.convolve(hist, np.ones(k) / k, mode="valid"), label=f"{name} (acc {acc[name]:.2f})")
            colour[name] = line.get_color()
        axes[0].set_xlabel("iteration")
        axes[0].set_ylabel("MSE (moving average)")
        axes[0].set_title(f"recall the first of {steps} inputs")
        axes[0].legend()
        for name in curves:
            axes[1].semilogy(grads_init[name], color=colour[name], label=f"{name}, init")
            axes[1].semilogy(grads_trained[name], "--", color=colour[name], label=f"{name}, trained")
        axes[1].set_xlabel("time step t")
        axes[1].set_ylabel("‖∂L/∂x_t‖")
        axes[1].set_title("gradient reaching step t from the loss at the end")
        axes[1].legend(fontsize=7)
        axes[2].plot(char["losses"])
        axes[2].set_xlabel("epoch")
        axes[2].set_ylabel("cross-entropy (nats/char)")
        axes[2].set_title(f"char-LSTM, truncated BPTT ({char['chunk']} steps)")
        save(fig, path)

    return {"steps": steps, "final_loss": {k: float(np.mean(v[-20:])) for k, v in curves.items()}, "accuracy": acc,
            "grad_ratio_init": {k: float(v[0] / v[-1]) for k, v in grads_init.items()},
            "grad_ratio_trained": {k: float(v[0] / v[-1]) for k, v in grads_trained.items()},
            "char_rnn": char, "figure": figure(out, "rnn.png", draw)}
