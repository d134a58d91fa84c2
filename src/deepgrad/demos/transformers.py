"""Transformer demos: a character-level GPT against an LSTM of the same size and time budget on Python's own
documentation, and an encoder-decoder that learns to reverse sequences, with its attention maps."""
from __future__ import annotations

import time

import numpy as np

import deepgrad as dg

from ..data.text import LanguageModelDataset, python_docs_corpus
from ..models import GPT, CharRNN, Seq2SeqTransformer
from ..nn import functional as F
from . import demo
from ._mlp_util import figure, pyplot, save


def _n_params(model) -> int:
    return sum(int(np.prod(p.shape)) for p in model.parameters())


def _lstm_hidden_for(params: int, vocab: int, embed: int) -> int:
    """The hidden size H whose CharRNN (embedding, one LSTM layer, head) has about ``params`` parameters:
    V·E + 4H(E + H + 2) + H·V + V = params, solved for H."""
    a, b, c = 4.0, 4.0 * (embed + 2) + vocab, vocab * embed + vocab - params
    return max(8, int((-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)))


def _val_loss(model, val: LanguageModelDataset, batches, kind: str) -> float:
    model.eval()
    with dg.no_grad():
        losses = []
        for x, y in batches:
            logits = model(x) if kind == "gpt" else model(x)[0]
            losses.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item())
    model.train()
    return float(np.mean(losses))


def _train_for(model, kind: str, train: LanguageModelDataset, val_batches, val, seconds: float, lr: float,
               batch: int, seed: int, min_steps: int = 0) -> dict:
    """AdamW on random windows until ``seconds`` of CPU time (this process's, all threads) have been spent on
    training steps — robust to other programs sharing the machine — and at least ``min_steps`` steps; val loss
    every tenth of the budget."""
    rng = np.random.default_rng(seed)
    opt = dg.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    curve = [(0.0, _val_loss(model, val, val_batches, kind))]
    train_losses, steps, start, spent, next_eval = [], 0, time.process_time(), 0.0, seconds / 10
    while spent < seconds or steps < min_steps:
        x, y = train.batch(batch, rng)
        t0 = time.process_time()
        logits = model(x) if kind == "gpt" else model(x)[0]
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        dg.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        spent += time.process_time() - t0  # evaluation time is not charged to the budget
        train_losses.append(loss.item())
        steps += 1
        if spent >= next_eval:
            curve.append((spent, _val_loss(model, val, val_batches, kind)))
            next_eval += seconds / 10
    if curve[-1][0] < spent:
        curve.append((spent, _val_loss(model, val, val_batches, kind)))
    return {"curve": curve, "steps": steps, "train_loss": float(np.mean(train_losses[-20:])),
            "val_loss": curve[-1][1], "cpu_seconds": time.process_time() - start}


@demo("char-gpt", "a character-level GPT on Python's bundled documentation vs an LSTM of the same size and time "
                  "budget: train/val loss, samples")
def char_gpt(out: str, fast: bool) -> dict:
    context, layers, width, seconds, chars = (32, 2, 64, 4.0, 40_000) if fast else (64, 4, 128, 75.0, None)
    text = python_docs_corpus(chars)
    train = LanguageModelDataset(text=text, context=context, split="train")
    val = LanguageModelDataset(text=text, context=context, split="val", vocab=train.vocab)
    vocab = len(train.vocab)
    vrng = np.random.default_rng(1)
    val_batches = [val.batch(32, vrng) for _ in range(2 if fast else 8)]
    dg.manual_seed(0)
    gpt = GPT(vocab, context=context, n_layer=layers, n_head=4, n_embd=width, dropout=0.0 if fast else 0.1)
    embed = 32 if fast else 64
    hidden = _lstm_hidden_for(_n_params(gpt), vocab, embed)
    dg.manual_seed(0)
    lstm = CharRNN(vocab, embedding_dim=embed, hidden_size=hidden)
    print(f"corpus: {len(text):,} characters of Python's own documentation, {vocab} symbols; context {context}")
    print(f"GPT  {layers} layers, 4 heads, width {width}: {_n_params(gpt):,} parameters")
    print(f"LSTM embedding {embed}, hidden {hidden}: {_n_params(lstm):,} parameters; {seconds:.0f} CPU s of training each")
    results = {}
    for name, model, kind, lr in (("GPT", gpt, "gpt", 3e-3 if fast else 1e-3), ("LSTM", lstm, "lstm", 3e-3)):
        r = _train_for(model, kind, train, val_batches, val, seconds, lr, 32, seed=0, min_steps=15 if fast else 0)
        results[name] = r
        print(f"{name:>4}: {r['steps']} steps, train loss {r['train_loss']:.3f}, val loss {r['val_loss']:.3f} "
              f"nats/char (from {r['curve'][0][1]:.3f})")
    prompt = train.vocab.encode("def ")
    samples = {"GPT": train.vocab.decode(gpt.generate([prompt], 120 if not fast else 40, temperature=0.8, top_k=10,
                                                      seed=0).numpy()[0]),
               "LSTM": train.vocab.decode(lstm.sample(prompt, 116 if not fast else 36, temperature=0.8, seed=0))}
    for name, s in samples.items():
        print(f"{name} sample: {s!r}")
    g, lv = results["GPT"]["val_loss"], results["LSTM"]["val_loss"]
    winner, loser = ("GPT", "LSTM") if g < lv else ("LSTM", "GPT")
    margin = abs(g - lv)
    print(f"same parameters and time: {winner} wins by {margin:.3f} nats/char on validation "
          f"({results[winner]['val_loss']:.3f} vs {results[loser]['val_loss']:.3f})")

    def draw(path):
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for name, r in results.items():
            t, v = zip(*r["curve"])
            ax.plot(t, v, marker="o", label=f"{name} ({_n_params(gpt if name == 'GPT' else lstm):,} params)")
        ax.set_xlabel("training CPU seconds (2-core CPU)")
        ax.set_ylabel("validation cross-entropy (nats/char)")
        ax.set_title("character-level LM on Python's documentation")
        ax.legend()
        save(fig, path)

    return {"params": {"GPT": _n_params(gpt), "LSTM": _n_params(lstm)}, "vocab": vocab,
            "results": results, "samples": samples, "winner": winner, "margin": margin,
            "figure": figure(out, "char_gpt.png", draw)}


def _reverse_batch(rng: np.random.Generator, n: int, length: int, vocab: int):
    """src: random symbols 2..vocab-1; tgt: src reversed; decoder input: BOS (1) then tgt without its last."""
    src = rng.integers(2, vocab, (n, length))
    tgt = src[:, ::-1].copy()
    tgt_in = np.concatenate([np.ones((n, 1), np.int64), tgt[:, :-1]], 1)
    return src, tgt_in, tgt


@demo("attention", "an encoder-decoder Transformer learns to reverse sequences; its cross-attention maps show "
                   "where each output looks")
def attention(out: str, fast: bool) -> dict:
    length, vocab, d, layers, iters = (6, 8, 32, 1, 200) if fast else (10, 12, 64, 2, 800)
    dg.manual_seed(0)
    model = Seq2SeqTransformer(vocab, vocab, d_model=d, nhead=4, num_encoder_layers=layers,
                               num_decoder_layers=layers, dim_feedforward=2 * d, dropout=0.0, max_len=32)
    opt = dg.optim.Adam(model.parameters(), lr=2e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(iters):
        src, tgt_in, tgt = _reverse_batch(rng, 64, length, vocab)
        logits = model(dg.tensor(src), dg.tensor(tgt_in))
        loss = F.cross_entropy(logits.reshape(-1, vocab), dg.tensor(tgt.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    src, tgt_in, tgt = _reverse_batch(np.random.default_rng(99), 200, length, vocab)
    pred = model.greedy_decode(dg.tensor(src), length, bos=1).numpy()
    token_acc = float((pred == tgt).mean())
    seq_acc = float((pred == tgt).all(1).mean())
    maps = model.cross_attention(dg.tensor(src[:1]), dg.tensor(tgt_in[:1]))
    last = maps[-1][0]  # (T, S)
    mirror = float(np.mean([last[t, length - 1 - t] for t in range(length)]))
    print(f"reverse {length} symbols: loss {np.mean(losses[:10]):.3f} → {np.mean(losses[-10:]):.3f}; greedy "
          f"decoding: {token_acc:.1%} of symbols, {seq_acc:.1%} of whole sequences right")
    print(f"attention of output t on input {length}−1−t (the one it must copy), last decoder layer: {mirror:.2f} "
          f"on average (uniform would be {1 / length:.2f})")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, len(maps) + 1, figsize=(4.2 * (len(maps) + 1), 3.8))
        for i, m in enumerate(maps):
            axes[i].imshow(m[0], cmap="viridis", vmin=0, vmax=1)
            axes[i].set_xticks(range(length), [str(s) for s in src[0]])
            axes[i].set_yticks(range(length), [str(s) for s in tgt[0]])
            axes[i].set_xlabel("input symbol")
            axes[i].set_ylabel("output symbol")
            axes[i].set_title(f"decoder layer {i + 1}: cross-attention")
        axes[-1].plot(losses)
        axes[-1].set_xlabel("iteration")
        axes[-1].set_ylabel("cross-entropy")
        axes[-1].set_title(f"training (token accuracy {token_acc:.0%})")
        save(fig, path)

    return {"losses": losses, "token_accuracy": token_acc, "sequence_accuracy": seq_acc, "mirror_attention": mirror,
            "length": length, "figure": figure(out, "attention.png", draw)}
