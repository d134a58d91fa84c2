"""Sequence models from the lectures: a character-level language model and a sequence classifier.

* ``CharRNN``: embedding → LSTM/GRU/RNN → Linear over the vocabulary at every step, p(c_{t+1} | c_{≤t}); sampling
  feeds each drawn character back in as the next input (the lecture's "hello" example).
* ``SequenceClassifier``: (embedding →) LSTM/GRU/RNN → Linear on the last hidden state (both directions'
  concatenated when bidirectional); reads images row by row as sequences, e.g. MNIST as 28 steps of 28 pixels.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..creation import tensor
from ..tensor import Tensor
from .registry import register_model

__all__ = ["CharRNN", "SequenceClassifier", "lstm_rows", "gru_rows", "rnn_rows"]

_CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def _recurrent(cell: str, who: str, *args, **kwargs) -> nn.RNNBase:
    if cell not in _CELLS:
        raise ValueError(f"{who}: cell must be one of {sorted(_CELLS)}, got {cell!r}")
    return _CELLS[cell](*args, batch_first=True, **kwargs)


class CharRNN(nn.Module):
    """Character-level language model: logits_t = W_o h_t + b_o, h_t = LSTM(E[c_t], h_{t−1}).

    Args:
        vocab_size: number of symbols. embedding_dim: size of E's rows (default 32). hidden_size: default 128.
        num_layers: default 1. cell: 'lstm' (default), 'gru' or 'rnn'. dropout: between recurrent layers.

    Shape:
        input (N, L) integer symbols -> (logits (N, L, vocab_size), state), state as returned by the recurrent
        layer (pass it back in to continue a sequence; detach it between chunks for truncated BPTT).

    Example:
        >>> import deepgrad as dg
        >>> m = dg.models.CharRNN(4, hidden_size=16)
        >>> logits, state = m(dg.tensor([[0, 1, 2, 2]]))
        >>> logits.shape
        (1, 4, 4)
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 32, hidden_size: int = 128, num_layers: int = 1,
                 cell: str = "lstm", dropout: float = 0.0) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = _recurrent(cell, "CharRNN", embedding_dim, hidden_size, num_layers, dropout=dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, input: Tensor, state=None):  # noqa: A002
        out, state = self.rnn(self.embedding(input), state)
        return self.head(out), state

    def sample(self, prefix: list[int], length: int, temperature: float = 1.0, seed: int | None = None) -> list[int]:
        """``prefix`` followed by ``length`` symbols drawn one at a time from softmax(logits / temperature), each fed
        back as the next input (temperature → 0 is greedy decoding)."""
        if not prefix:
            raise ValueError("CharRNN.sample: prefix must hold at least one symbol")
        rng = np.random.default_rng(seed)
        was = self.training
        self.eval()
        out = list(prefix)
        with no_grad():
            logits, state = self(tensor([prefix]))
            for _ in range(length):
                z = logits.numpy()[0, -1].astype(np.float64)
                if temperature <= 0:
                    nxt = int(z.argmax())
                else:
                    p = np.exp((z - z.max()) / temperature)
                    nxt = int(rng.choice(len(p), p=p / p.sum()))
                out.append(nxt)
                logits, state = self(tensor([[nxt]]), state)
        self.train(was)
        return out


class SequenceClassifier(nn.Module):
    """y = W h_L + b, h_L the recurrent layer's last state after reading the whole sequence.

    Args:
        input_size: features per step (ignored when ``vocab_size`` is given). num_classes: outputs.
        hidden_size: default 128. num_layers: default 1. cell: 'lstm' (default), 'gru' or 'rnn'.
        bidirectional: read the sequence both ways and concatenate both last states.
        vocab_size, embedding_dim: when given, the input holds integer symbols embedded first.

    Shape:
        input (N, L, input_size) floats, (N, L) symbols with ``vocab_size``, or (N, C, H, W) images read as H steps
        of C·W features -> logits (N, num_classes).

    Example:
        >>> import deepgrad as dg
        >>> dg.models.SequenceClassifier(28, 10, hidden_size=32)(dg.randn(4, 1, 28, 28)).shape
        (4, 10)
    """

    def __init__(self, input_size: int, num_classes: int, hidden_size: int = 128, num_layers: int = 1,
                 cell: str = "lstm", bidirectional: bool = False, vocab_size: int | None = None,
                 embedding_dim: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        if vocab_size is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            input_size = embedding_dim
        else:
            self.embedding = None
        self.rnn = _recurrent(cell, "SequenceClassifier", input_size, hidden_size, num_layers, dropout=dropout,
                              bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        x = input
        if self.embedding is not None:
            x = self.embedding(x)
        elif x.ndim == 4:  # images: one step per row
            n, c, h, w = x.shape
            x = x.permute(0, 2, 1, 3).reshape(n, h, c * w)
        _, state = self.rnn(x)
        h = state[0] if isinstance(state, tuple) else state
        last = h[-2:].permute(1, 0, 2).reshape(h.shape[1], -1) if self.rnn.bidirectional else h[-1]
        return self.fc(last)


_ROWS_RECIPE = {"optimizer": "adam", "lr": 2e-3, "epochs": 10, "batch_size": 64, "cosine": True}


def _rows(cell: str, num_classes: int, in_channels: int, width: int, hidden_size: int) -> SequenceClassifier:
    return SequenceClassifier(in_channels * width, num_classes, hidden_size=hidden_size, cell=cell)


@register_model("lstm_rows", description="LSTM reading an image row by row (28 steps of 28 pixels) → Linear",
                default_recipe=_ROWS_RECIPE)
def lstm_rows(num_classes: int = 10, in_channels: int = 1, width: int = 28, hidden_size: int = 128) -> SequenceClassifier:
    return _rows("lstm", num_classes, in_channels, width, hidden_size)


@register_model("gru_rows", description="GRU reading an image row by row (28 steps of 28 pixels) → Linear",
                default_recipe=_ROWS_RECIPE)
def gru_rows(num_classes: int = 10, in_channels: int = 1, width: int = 28, hidden_size: int = 128) -> SequenceClassifier:
    return _rows("gru", num_classes, in_channels, width, hidden_size)


@register_model("rnn_rows", description="Elman RNN reading an image row by row (28 steps of 28 pixels) → Linear",
                default_recipe=_ROWS_RECIPE)
def rnn_rows(num_classes: int = 10, in_channels: int = 1, width: int = 28, hidden_size: int = 128) -> SequenceClassifier:
    return _rows("rnn", num_classes, in_channels, width, hidden_size)
