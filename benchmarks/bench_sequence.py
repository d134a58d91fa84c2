"""Sequence-model training steps, ours beside PyTorch's in one run (each library in its own process, alternating).

(a) char-LSTM language-model step: vocabulary 65, embedding 64, one LSTM layer of 256, sequence 64, batch 32,
    batch-first, cross-entropy over every step, SGD with momentum 0.9 — the step of issue 13;
(b) the same with a GRU;
(c) a small GPT step: 4 layers, 4 heads, width 128, context 64, batch 32, vocabulary 65, AdamW;
(d) with ``--memory``: the peak memory of an LSTM (batch 32, input 64, hidden 256) forward + backward over 250, 500
    and 1,000 steps, as the growth of the process's peak resident set (MiB) during the step — all lengths in one
    process, each measured over the previous one's peak, so a quick look only; benchmarks/bench_lstm_memory.py
    measures one process per (library, length) and is the one the documented figures come from.

Targets (issue 13): (a), (b), (c) ≤ 1.25× PyTorch; (d) linear in the length and ≤ 1.5× PyTorch's.
Timings are the minimum over rounds in ms per step; the ratio columns are per pair of runs, then their median.

Run: python benchmarks/bench_sequence.py [--rounds 5] [--repeat 5] [--memory] [--profile]
"""
from __future__ import annotations

import cProfile
import os
import pstats
import resource
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))
import _bench  # noqa: E402, I001 - deepgrad is imported before NumPy (see deepgrad.parallel)

import deepgrad as dg  # noqa: E402
import numpy as np  # noqa: E402

VOCAB, EMBED, HIDDEN, STEPS, BATCH = 65, 64, 256, 64, 32


def tokens(seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, VOCAB, (BATCH, STEPS + 1))


class CharLM:
    """Embedding -> LSTM/GRU (batch-first) -> Linear, for either library (``lib`` is deepgrad or torch)."""

    @staticmethod
    def build(lib, cell: str):
        n = lib.nn

        class Model(n.Module):
            def __init__(self):
                super().__init__()
                self.embedding = n.Embedding(VOCAB, EMBED)
                self.rnn = (n.LSTM if cell == "lstm" else n.GRU)(EMBED, HIDDEN, batch_first=True)
                self.head = n.Linear(HIDDEN, VOCAB)

            def forward(self, x):
                out, _ = self.rnn(self.embedding(x))
                return self.head(out)

        return Model()


def char_step(lib, cell: str):
    model = CharLM.build(lib, cell)
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = tokens()
    x, y = lib.from_numpy(data[:, :-1].copy()), lib.from_numpy(data[:, 1:].reshape(-1).copy())

    def step():
        loss = lib.nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def gpt_step(lib):
    if lib is dg:
        model = dg.models.GPT(VOCAB, context=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
    else:
        model = torch_gpt(lib)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    data = tokens(1)
    x, y = lib.from_numpy(data[:, :-1].copy()), lib.from_numpy(data[:, 1:].reshape(-1).copy())

    def step():
        loss = lib.nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def torch_gpt(torch):
    """The same architecture as deepgrad.models.GPT, in PyTorch (pre-norm blocks, causal attention, tied head)."""
    n, F = torch.nn, torch.nn.functional

    class Block(n.Module):
        def __init__(self):
            super().__init__()
            self.ln_1, self.ln_2 = n.LayerNorm(128), n.LayerNorm(128)
            self.attn = n.MultiheadAttention(128, 4, batch_first=True)
            self.mlp = n.Sequential(n.Linear(128, 512), n.GELU(approximate="tanh"), n.Linear(512, 128))
            self.register_buffer("mask", torch.triu(torch.full((64, 64), float("-inf")), 1))

        def forward(self, x):
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, attn_mask=self.mask[:x.shape[1], :x.shape[1]], need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class GPT(n.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = n.Embedding(VOCAB, 128), n.Embedding(64, 128)
            self.blocks = n.Sequential(*[Block() for _ in range(4)])
            self.ln_f = n.LayerNorm(128)
            self.head = n.Linear(128, VOCAB, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, idx):
            pos = torch.arange(idx.shape[1])
            return self.head(self.ln_f(self.blocks(self.wte(idx) + self.wpe(pos))))

    del F
    return GPT()


def lstm_peak_mib(lib, steps: int) -> float:
    """Growth of the peak resident set (MiB) during one LSTM forward + backward over ``steps`` steps."""
    lstm = lib.nn.LSTM(EMBED, HIDDEN)
    x = lib.from_numpy(np.random.default_rng(0).standard_normal((steps, BATCH, EMBED)).astype(np.float32))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out, _ = lstm(x)
    out.sum().backward()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def build_rows(args, side):
    if side == "deepgrad":
        lib = dg
    else:
        import torch as lib
    lib.manual_seed(0)
    if args.memory:
        rows = []
        for steps in (250, 500, 1000):
            mib = lstm_peak_mib(lib, steps)
            rows.append((f"LSTM fwd+bwd {steps} steps: peak growth (MiB)", mib, 1))
        return rows
    lstm, gru = char_step(lib, "lstm"), char_step(lib, "gru")
    gpt = gpt_step(lib) if (lib is not dg or hasattr(dg.models, "GPT")) else None
    if side == "deepgrad" and args.profile:
        for name, fn in (("char-LSTM", lstm), ("char-GRU", gru), ("GPT", gpt)):
            if fn is None:
                continue
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(5):
                fn()
            prof.disable()
            print(f"\n--- cProfile, 5 steps of {name} (sorted by own time) ---")
            pstats.Stats(prof).sort_stats("tottime").print_stats(14)
    return [("char-LSTM step: 65/64/256, seq 64, batch 32, SGD momentum (ms)", lstm, 3),
            ("char-GRU step: the same with a GRU (ms)", gru, 3),
            ("GPT step: 4 layers, 4 heads, width 128, ctx 64, batch 32, AdamW (ms)", gpt, 3)]


if __name__ == "__main__":
    _bench.main(__file__, __doc__.splitlines()[0], build_rows,
                {"--memory": {"action": "store_true", "help": "peak memory of LSTM backward over long sequences"},
                 "--profile": {"action": "store_true", "help": "cProfile our steps"}})
