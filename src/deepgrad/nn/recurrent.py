"""Recurrent layers: ``RNNCell``, ``LSTMCell``, ``GRUCell`` (one time step) and ``RNN``, ``LSTM``, ``GRU`` (whole
sequences, stacked and optionally bidirectional, variable-length batches as ``PackedSequence``).

A recurrent layer applies one cell at every step, h_t = cell(x_t, h_{t−1}); backpropagation through time is
backprop through the unrolled loop. The step equations live in :mod:`deepgrad.ops.recurrence`, which also holds the
fused layer (one graph node per layer and direction, with a hand-written backward through time) that ``RNN``,
``LSTM`` and ``GRU`` run on. Truncated BPTT is ``h = h.detach()`` between chunks.

Parameter names, shapes, gate order and initialisation are PyTorch's, so state dicts are interchangeable.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from .. import ops
from ..creation import empty, zeros
from ..ops._util import ShapeError
from ..ops.recurrence import gru_step, lstm_step, recurrent_layer, reference_layer, rnn_step
from ..tensor import Tensor
from . import functional as F
from . import init
from ._validate import positive_int, probability
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU", "multi_layer_rnn"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ------------------------------------------------------------------------------------------- one time step
def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,  # noqa: A002
                  b_hh: Tensor | None = None) -> Tensor:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh)."""
    return rnn_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh, "tanh")


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,  # noqa: A002
                  b_hh: Tensor | None = None) -> Tensor:
    """h' = relu(W_ih x + b_ih + W_hh h + b_hh)."""
    return rnn_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh, "relu")


def lstm_cell(input: Tensor, hx: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,  # noqa: A002
              b_ih: Tensor | None = None, b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(i, f, g, o) = (σ, σ, tanh, σ)(W_ih x + b_ih + W_hh h + b_hh); c' = f ⊙ c + i ⊙ g; h' = o ⊙ tanh(c').

    Returns (h', c').
    """
    return lstm_step(F.linear(input, w_ih, b_ih), hx[0], hx[1], w_hh, b_hh)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,  # noqa: A002
             b_hh: Tensor | None = None) -> Tensor:
    """r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h."""
    return gru_step(F.linear(input, w_ih, b_ih), hx, w_hh, b_hh)


# ------------------------------------------------------------------------------------------- whole sequences
def multi_layer_rnn(mode: str, input: Tensor, hx, weights: Sequence[Tensor], num_layers: int = 1,  # noqa: A002
                    bias: bool = True, batch_first: bool = False, dropout: float = 0.0, training: bool = False,
                    bidirectional: bool = False, proj_size: int = 0, lengths=None, fused: bool = True):
    """The computation of ``RNN``/``LSTM``/``GRU`` as a function of its weights (the modules call it).

    Args:
        mode: 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.
        input: (L, N, I), or (N, L, I) with ``batch_first``, batched only.
        hx: h_0 (D·num_layers, N, P), or (h_0, c_0) for LSTM with c_0 (D·num_layers, N, H); P = proj_size or H.
        weights: per layer and direction (reverse after forward): ``w_ih, w_hh[, b_ih, b_hh][, w_hr]`` — PyTorch's order.
        lengths: NumPy ints (N,): sequence b is valid for its first lengths[b] steps (see ``PackedSequence``).
        fused: one fused node per layer and direction (default), or the reference unrolled step by step.

    Returns:
        (output (L, N, D·P) (or batch-first), h_n) with h_n (D·num_layers, N, P), or (h_n, c_n) for LSTM.
    """
    layer_fn = recurrent_layer if fused else reference_layer
    per = (4 if bias else 2) + (1 if proj_size else 0)
    dirs = 2 if bidirectional else 1
    h0, c0 = (hx[0], hx[1]) if mode == "LSTM" else (hx, None)
    x = input
    hs, cs = [], []
    for layer in range(num_layers):
        if layer > 0 and dropout > 0 and training:
            x = F.dropout(x, dropout, training=True)
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            w = list(weights[k * per:(k + 1) * per])
            w_ih, w_hh = w[0], w[1]
            b_ih, b_hh = (w[2], w[3]) if bias else (None, None)
            w_hr = w[-1] if proj_size else None
            out, h, c = layer_fn(mode, x, h0[k], None if c0 is None else c0[k], w_ih, w_hh, b_ih, b_hh, w_hr,
                                 reverse=d == 1, batch_first=batch_first, lengths=lengths)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = outs[0] if dirs == 1 else ops.cat(outs, -1)
    h_n = ops.stack(hs, 0)
    return (x, (h_n, ops.stack(cs, 0))) if mode == "LSTM" else (x, h_n)


# ------------------------------------------------------------------------------------------- modules
def _uniform_init(module: Module) -> None:
    bound = 1.0 / math.sqrt(module.hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _check_input(layer: str, x: Tensor, size: int, batched_ndim: int) -> None:
    if x.ndim not in (batched_ndim - 1, batched_ndim) or x.shape[-1] != size:
        raise ShapeError(f"{layer}: expected input of shape ({'L, ' if batched_ndim == 3 else ''}N, {size}) or "
                         f"({'L, ' if batched_ndim == 3 else ''}{size}) (unbatched), got {tuple(x.shape)}")


def _check_state(layer: str, what: str, h: Tensor, shape: tuple) -> None:
    if tuple(h.shape) != shape:
        raise ShapeError(f"{layer}: expected {what} of shape {shape}, got {tuple(h.shape)}")


class RNNCellBase(Module):
    """Shared parameters of the cells: weight_ih (G·H, I), weight_hh (G·H, H), bias_ih, bias_hh (G·H,), all
    initialised U(−1/√H, 1/√H), where G is the number of gates (1 RNN, 3 GRU, 4 LSTM)."""

    _gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        name = type(self).__name__
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.bias = bool(bias)
        g = self._gates * hidden_size
        self.weight_ih = Parameter(empty(g, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(g, hidden_size, dtype=dtype, device=device))
        if bias:
            self.bias_ih = Parameter(empty(g, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(g, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self)

    def _prepare(self, input: Tensor, hx: Tensor | None) -> tuple[Tensor, Tensor, bool]:  # noqa: A002
        name = type(self).__name__
        _check_input(name, input, self.input_size, 2)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if hx is None:
            return x, zeros(x.shape[0], self.hidden_size, dtype=input.dtype, device=input.device), batched
        _check_state(name, "hx", hx, tuple(x.shape[:1] if batched else ()) + (self.hidden_size,))
        return x, hx if batched else hx.unsqueeze(0), batched

    def _weights(self) -> tuple:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity!r}"
        return s


class RNNCell(RNNCellBase):
    """Elman cell: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu with ``nonlinearity='relu'``).

    Args:
        input_size: features of x. hidden_size: features of h. bias: learn b_ih and b_hh (default True).
        nonlinearity: 'tanh' (default) or 'relu'.

    Shape:
        input (N, I) or (I,); hx (N, H) or (H,), zeros when omitted -> h' (N, H) or (H,).

    Attributes:
        weight_ih (H, I), weight_hh (H, H), bias_ih (H,), bias_hh (H,): U(−1/√H, 1/√H).

    Example:
        >>> import deepgrad as dg
        >>> cell = dg.nn.RNNCell(3, 5)
        >>> h = cell(dg.randn(2, 3))
        >>> cell(dg.randn(2, 3), h).shape
        (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        x, h, batched = self._prepare(input, hx)
        cell = rnn_tanh_cell if self.nonlinearity == "tanh" else rnn_relu_cell
        h = cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """Long short-term memory cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000):

        i = σ(W_ii x + b_ii + W_hi h + b_hi)        input gate
        f = σ(W_if x + b_if + W_hf h + b_hf)        forget gate
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)     candidate cell
        o = σ(W_io x + b_io + W_ho h + b_ho)        output gate
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    The additive cell update c' = f ⊙ c + … lets gradients flow across many steps (∂c'/∂c = f), the remedy for
    the vanishing gradients of a plain RNN.

    Args:
        input_size, hidden_size, bias: as ``RNNCell``.

    Shape:
        input (N, I) or (I,); hx = (h, c), each (N, H) or (H,), zeros when omitted -> (h', c').

    Weights:
        weight_ih (4H, I), weight_hh (4H, H), bias_ih, bias_hh (4H,), gate blocks in the order i, f, g, o;
        U(−1/√H, 1/√H).

    Example:
        >>> import deepgrad as dg
        >>> h, c = dg.nn.LSTMCell(3, 5)(dg.randn(2, 3))
        >>> h.shape, c.shape
        ((2, 5), (2, 5))
    """

    _gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:  # noqa: A002
        x, h, batched = self._prepare(input, None if hx is None else hx[0])
        if hx is None:
            c = h
        else:
            _check_state("LSTMCell", "c", hx[1], tuple(hx[0].shape))
            c = hx[1] if batched else hx[1].unsqueeze(0)
        h, c = lstm_cell(x, (h, c), *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """Gated recurrent unit (Cho et al., 2014):

        r = σ(W_ir x + b_ir + W_hr h + b_hr)              reset gate
        z = σ(W_iz x + b_iz + W_hz h + b_hz)              update gate
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     candidate
        h' = (1 − z) ⊙ n + z ⊙ h

    Args:
        input_size, hidden_size, bias: as ``RNNCell``.

    Shape:
        input (N, I) or (I,); hx (N, H) or (H,), zeros when omitted -> h' (N, H) or (H,).

    Weights:
        weight_ih (3H, I), weight_hh (3H, H), bias_ih, bias_hh (3H,), gate blocks in the order r, z, n;
        U(−1/√H, 1/√H).

    Example:
        >>> import deepgrad as dg
        >>> dg.nn.GRUCell(3, 5)(dg.randn(2, 3)).shape
        (2, 5)
    """

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        x, h, batched = self._prepare(input, hx)
        h = gru_cell(x, h, *self._weights())
        return h if batched else h.squeeze(0)


class RNNBase(Module):
    """Stacked, optionally bidirectional recurrent layers; see ``RNN``, ``LSTM`` and ``GRU``.

    Parameters per layer k and direction (suffix '' forward, '_reverse' backward), registered in PyTorch's order:
    weight_ih_l{k} (G·H, I_k), weight_hh_l{k} (G·H, P), bias_ih_l{k}, bias_hh_l{k} (G·H,) and, for an LSTM with
    ``proj_size`` P > 0, weight_hr_l{k} (P, H); I_0 = input_size and I_k = D·P above (P = H without projection);
    all U(−1/√H, 1/√H).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        self.mode = mode
        self.input_size = positive_int(name, "input_size", input_size)
        self.hidden_size = positive_int(name, "hidden_size", hidden_size)
        self.num_layers = positive_int(name, "num_layers", num_layers)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = probability(name, "dropout", dropout)
        self.bidirectional = bool(bidirectional)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size must be a non-negative integer, got {proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size is only supported by LSTM, got proj_size={proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size must be smaller than hidden_size, got proj_size={proj_size} and "
                             f"hidden_size={hidden_size}")
        self.proj_size = proj_size
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout={dropout} acts between recurrent layers only, and num_layers=1 has none",
                          stacklevel=3)
        g = _GATES[mode] * hidden_size
        out = proj_size or hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else out * dirs
            for suffix in ("", "_reverse")[:dirs]:
                shapes = {"weight_ih": (g, in_size), "weight_hh": (g, out)}
                if bias:
                    shapes.update(bias_ih=(g,), bias_hh=(g,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for kind, shape in shapes.items():
                    pname = f"{kind}_l{layer}{suffix}"
                    setattr(self, pname, Parameter(empty(*shape, dtype=dtype, device=device)))
                    self._flat_weights_names.append(pname)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self)

    def flatten_parameters(self) -> None:
        """Accepted for PyTorch programs. PyTorch copies the weights into one buffer for cuDNN; the fused layers
        here read each weight where it is, so there is nothing to compact and the call leaves the module as it is."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction, in PyTorch's order."""
        per = len(self._flat_weights_names) // (self.num_layers * (2 if self.bidirectional else 1))
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _zeros_state(self, x: Tensor, batch: int, size: int) -> Tensor:
        d = 2 if self.bidirectional else 1
        return zeros(d * self.num_layers, batch, size, dtype=x.dtype, device=x.device)

    def _run(self, input, states: list):  # noqa: A002
        """Validate shapes, add the batch axis to unbatched input (or unpack a PackedSequence), call
        :func:`multi_layer_rnn`, and undo the same on the way out."""
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            from .utils.rnn import pad_packed_sequence

            sorted_idx, unsorted_idx = input.sorted_indices, input.unsorted_indices
            lengths = input.lengths()
            x, _ = pad_packed_sequence(input._replace(unsorted_indices=None))  # (L, N, I) in sorted order
            _check_input(self._name, x, self.input_size, 3)
            batched, batch_first = True, False
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{self._name}: expected input as a Tensor or a PackedSequence, got "
                                f"{type(input).__name__}")
            _check_input(self._name, input, self.input_size, 3)
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(1)
            batch_first = self.batch_first and batched
        batch = x.shape[0] if batch_first else x.shape[1]
        d = 2 if self.bidirectional else 1
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)
        full = []
        for what, s, size in zip(("h_0", "c_0"), states, sizes):
            want = (d * self.num_layers, batch, size) if batched else (d * self.num_layers, size)
            if s is None:
                full.append(self._zeros_state(x, batch, size))
            else:
                _check_state(self._name, what, s, want)
                s = s if batched else s.unsqueeze(1)
                full.append(s[:, sorted_idx] if packed and sorted_idx is not None else s)
        hx = tuple(full) if self.mode == "LSTM" else full[0]
        out, hn = multi_layer_rnn(self.mode, x, hx, [getattr(self, n) for n in self._flat_weights_names],
                                  self.num_layers, self.bias, batch_first, self.dropout, self.training,
                                  self.bidirectional, self.proj_size, lengths)
        if packed:
            from .utils.rnn import pack_padded_sequence

            p = pack_padded_sequence(out, lengths)
            out = PackedSequence(p.data, p.batch_sizes, sorted_idx, unsorted_idx)
            if unsorted_idx is not None:
                hn = (hn[0][:, unsorted_idx], hn[1][:, unsorted_idx]) if self.mode == "LSTM" else hn[:, unsorted_idx]
            return out, hn
        if batched:
            return out, hn
        if self.mode == "LSTM":
            return out.squeeze(1), (hn[0].squeeze(1), hn[1].squeeze(1))
        return out.squeeze(1), hn.squeeze(1)

    def forward(self, input, hx: Tensor | None = None):  # noqa: A002
        return self._run(input, [hx])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN over a sequence: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) (relu with
    ``nonlinearity='relu'``), stacked ``num_layers`` deep (layer k > 0 reads layer k − 1's outputs, with dropout in
    training when ``dropout`` > 0); ``bidirectional`` adds a second pass from the last step to the first whose
    outputs are concatenated with the forward ones.

    Args:
        input_size: I, the features of x_t.
        hidden_size: H, the features of h_t.
        num_layers: the depth of the stack (default 1).
        nonlinearity: 'tanh' (default) or 'relu'.
        bias: learn b_ih and b_hh (default True).
        batch_first: input and output (N, L, ·) instead of (L, N, ·).
        dropout: the dropout probability between layers, in training (default 0).
        bidirectional: add the pass from the last step to the first (default False).

    Shape:
        input (L, N, I) (or (N, L, I) batch-first, or (L, I) unbatched); h_0 (D·num_layers, N, H), zeros when
        omitted -> output (L, N, D·H): the last layer's h_t for every t; h_n (D·num_layers, N, H): the last state of
        every layer and direction. D = 2 if bidirectional else 1.

    Weights:
        weight_ih_l{k}[_reverse] (H, I or D·H), weight_hh_l{k}[_reverse] (H, H), bias_ih_l{k}[_reverse],
        bias_hh_l{k}[_reverse] (H,): U(−1/√H, 1/√H).

    Example:
        >>> import deepgrad as dg
        >>> rnn = dg.nn.RNN(10, 20, num_layers=2)
        >>> out, h_n = rnn(dg.randn(5, 3, 10))
        >>> out.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory over a sequence; at every step and layer (gate order i, f, g, o):

        i_t = σ(W_ii x_t + b_ii + W_hi h_{t−1} + b_hi),   f_t = σ(W_if x_t + b_if + W_hf h_{t−1} + b_hf)
        g_t = tanh(W_ig x_t + b_ig + W_hg h_{t−1} + b_hg), o_t = σ(W_io x_t + b_io + W_ho h_{t−1} + b_ho)
        c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,                    h_t = o_t ⊙ tanh(c_t)   (then W_hr h_t with proj_size)

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as ``RNN``.
        proj_size: when > 0, h_t = W_hr (o_t ⊙ tanh(c_t)) has proj_size P < H features (Sak et al., 2014).

    Shape:
        input (L, N, I) (or (N, L, I) batch-first, or (L, I) unbatched, or a ``PackedSequence``); hx = (h_0, c_0),
        h_0 (D·num_layers, N, P), c_0 (D·num_layers, N, H), zeros when omitted -> (output (L, N, D·P), (h_n, c_n)).
        P = proj_size or H.

    Weights:
        weight_ih_l{k}[_reverse] (4H, I or D·P), weight_hh_l{k}[_reverse] (4H, P), bias_ih_l{k}[_reverse],
        bias_hh_l{k}[_reverse] (4H,), weight_hr_l{k}[_reverse] (P, H) with proj_size: U(−1/√H, 1/√H).

    Example:
        >>> import deepgrad as dg
        >>> lstm = dg.nn.LSTM(10, 20, num_layers=2, bidirectional=True, batch_first=True)
        >>> out, (h_n, c_n) = lstm(dg.randn(3, 5, 10))
        >>> out.shape, h_n.shape, c_n.shape
        ((3, 5, 40), (4, 3, 20), (4, 3, 20))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)

    def forward(self, input, hx: tuple[Tensor, Tensor] | None = None):  # noqa: A002
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTM: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
        return self._run(input, [None, None] if hx is None else list(hx))


class GRU(RNNBase):
    """Gated recurrent units over a sequence; at every step and layer (gate order r, z, n):

        r_t = σ(W_ir x_t + b_ir + W_hr h_{t−1} + b_hr),   z_t = σ(W_iz x_t + b_iz + W_hz h_{t−1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn)),   h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional: as ``RNN``.

    Shape:
        as ``RNN``: input (L, N, I), h_0 (D·num_layers, N, H) -> (output (L, N, D·H), h_n (D·num_layers, N, H)).

    Weights:
        weight_ih_l{k}[_reverse] (3H, I or D·H), weight_hh_l{k}[_reverse] (3H, H), bias_ih_l{k}[_reverse],
        bias_hh_l{k}[_reverse] (3H,): U(−1/√H, 1/√H).

    Example:
        >>> import deepgrad as dg
        >>> out, h_n = dg.nn.GRU(4, 6)(dg.randn(7, 2, 4))
        >>> out.shape, h_n.shape
        ((7, 2, 6), (1, 2, 6))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)
