"""Language-modelling data: a vocabulary, a text cut into (input, next-symbol target) windows, and an offline corpus.

A language model learns p(x_{t+1} | x_{≤t}); a window of ``context + 1`` consecutive symbols gives ``context``
inputs and their ``context`` targets (the same sequence shifted by one). The text is split once, by position, into a
training part and a validation part, so validation windows never overlap training ones.

The default corpus, :func:`python_docs_corpus`, is the documentation that ships inside Python itself: the
docstrings of a fixed list of standard-library modules and of their public classes and functions (a few hundred
kilobytes of English prose and code), so every install has it without a download.
"""
from __future__ import annotations

import importlib
import inspect
import os
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..creation import tensor
from .dataset import Dataset

__all__ = ["Vocabulary", "LanguageModelDataset", "python_docs_corpus"]

_DOC_MODULES = ("collections", "functools", "itertools", "json", "re", "string", "textwrap", "argparse", "pathlib",
                "random", "statistics", "math", "datetime", "decimal", "fractions", "heapq", "bisect", "typing",
                "dataclasses", "enum", "inspect", "threading", "shutil", "tempfile", "zipfile", "contextlib", "abc",
                "copy", "pprint", "difflib", "calendar", "struct", "io", "glob", "fnmatch", "operator", "queue",
                "urllib.parse", "codecs", "locale", "weakref", "base64", "hashlib", "html", "optparse", "gettext",
                "ipaddress", "uuid", "csv", "logging")


def python_docs_corpus(max_chars: int | None = None) -> str:
    """The docstrings of 50 standard-library modules and their public members, in a fixed order.

    Args:
        max_chars: keep only the first ``max_chars`` characters.
    """
    parts: list[str] = []
    for name in _DOC_MODULES:
        try:
            mod = importlib.import_module(name)
        except ImportError:  # a Python built without the module (e.g. no sqlite3)
            continue
        doc = inspect.getdoc(mod)
        if doc:
            parts.append(doc)
        for attr in sorted(getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")])):
            obj = getattr(mod, attr, None)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", "") == mod.__name__:
                d = inspect.getdoc(obj)
                if d and len(d) > 40:
                    parts.append(d)
        if max_chars is not None and sum(map(len, parts)) >= max_chars:
            break
    text = "\n\n".join(parts)
    return text if max_chars is None else text[:max_chars]


class Vocabulary:
    """Symbols ↔ indices. Characters, or words (with ``<unk>`` for the rare or unseen).

    Args:
        symbols: the symbols in index order.
        unk: the symbol that stands for anything unknown (word-level), or None (character-level: unknown raises).

    Example:
        >>> v = Vocabulary.from_text("hello", level="char")
        >>> v.encode("hole"), v.decode([0, 1])
        ([1, 3, 2, 0], 'eh')
    """

    def __init__(self, symbols: Sequence[str], unk: str | None = None) -> None:
        self.itos = list(symbols)
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("Vocabulary: symbols must be distinct")
        if unk is not None and unk not in self.stoi:
            raise ValueError(f"Vocabulary: the unknown symbol {unk!r} is not among the symbols")
        self.unk = unk
        self.level = "char" if all(len(s) == 1 for s in self.itos) and unk is None else "word"

    @classmethod
    def from_text(cls, text: str, level: str = "char", max_size: int | None = None,
                  min_freq: int = 1) -> Vocabulary:
        """Characters sorted, or words by decreasing frequency (ties alphabetical) after ``<unk>``."""
        if level == "char":
            return cls(sorted(set(text)))
        if level != "word":
            raise ValueError(f"Vocabulary: level must be 'char' or 'word', got {level!r}")
        counts = Counter(tokenize_words(text))
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[:max_size - 1]
        return cls(["<unk>"] + words, unk="<unk>")

    def __len__(self) -> int:
        return len(self.itos)

    def tokens(self, text: str) -> list[str]:
        return list(text) if self.level == "char" else tokenize_words(text)

    def encode(self, text: str) -> list[int]:
        out = []
        for s in self.tokens(text):
            i = self.stoi.get(s)
            if i is None:
                if self.unk is None:
                    raise KeyError(f"Vocabulary: the symbol {s!r} is not in the vocabulary of {len(self)}")
                i = self.stoi[self.unk]
            out.append(i)
        return out

    def decode(self, indices) -> str:
        idx = indices.tolist() if hasattr(indices, "tolist") else list(indices)
        return ("" if self.level == "char" else " ").join(self.itos[int(i)] for i in idx)


def tokenize_words(text: str) -> list[str]:
    """Lower-case words and single punctuation marks: "It's 3." -> ["it's", "3", "."]."""
    return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]", text.lower())


class LanguageModelDataset(Dataset):
    """Windows of a text for next-symbol prediction: item i = (x, y) with x = s[i·stride : i·stride + context],
    y = s[i·stride + 1 : i·stride + context + 1], s the encoded training (or validation) part.

    Args:
        path: a UTF-8 text file; None uses ``text``, or else :func:`python_docs_corpus`.
        text: the text itself (instead of a file). level: 'char' (default) or 'word'.
        context: window length (default 64). split: 'train' or 'val'. val_fraction: the last part of the text that
            forms the validation split (default 0.1). stride: step between windows (default ``context``).
        vocab: reuse a vocabulary (e.g. the training split's for the validation split); built from the whole text
            otherwise. max_vocab: for word level, keep the most frequent words.

    Example:
        >>> ds = LanguageModelDataset(text="abcabcabcabc" * 10, context=4)
        >>> x, y = ds[0]
        >>> x.tolist(), y.tolist(), len(ds.vocab)
        ([0, 1, 2, 0], [1, 2, 0, 1], 3)
    """

    def __init__(self, path: str | os.PathLike | None = None, text: str | None = None, level: str = "char",
                 context: int = 64, split: str = "train", val_fraction: float = 0.1, stride: int | None = None,
                 vocab: Vocabulary | None = None, max_vocab: int | None = None) -> None:
        if split not in ("train", "val"):
            raise ValueError(f"LanguageModelDataset: split must be 'train' or 'val', got {split!r}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f"LanguageModelDataset: val_fraction must be in (0, 1), got {val_fraction}")
        if isinstance(context, bool) or not isinstance(context, int) or context <= 0:
            raise ValueError(f"LanguageModelDataset: context must be a positive integer, got {context!r}")
        if path is not None:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError) as e:
                raise OSError(f"LanguageModelDataset: cannot read {os.fspath(path)!r} as UTF-8 text: {e}") from None
        elif text is None:
            text = python_docs_corpus()
        self.vocab = vocab if vocab is not None else Vocabulary.from_text(text, level, max_vocab)
        ids = np.asarray(self.vocab.encode(text), dtype=np.int64)
        cut = int(len(ids) * (1 - val_fraction))
        self.ids = ids[:cut] if split == "train" else ids[cut:]
        self.context = context
        self.stride = context if stride is None else int(stride)
        if len(self.ids) < context + 1:
            raise ValueError(f"LanguageModelDataset: the {split} split has {len(self.ids)} symbols, fewer than one "
                             f"window of context + 1 = {context + 1}; use a longer text or a smaller context")

    def __len__(self) -> int:
        return (len(self.ids) - self.context - 1) // self.stride + 1

    def __getitem__(self, i: int):
        if not -len(self) <= i < len(self):
            raise IndexError(f"LanguageModelDataset: index {i} out of range for {len(self)} windows")
        s = (i % len(self)) * self.stride
        return tensor(self.ids[s:s + self.context]), tensor(self.ids[s + 1:s + self.context + 1])

    def batch(self, batch_size: int, rng: np.random.Generator):
        """(x, y), each (batch_size, context), from random positions of the split (the usual LM sampling)."""
        starts = rng.integers(0, len(self.ids) - self.context - 1, batch_size)
        rows = starts[:, None] + np.arange(self.context + 1)
        w = self.ids[rows]
        return tensor(w[:, :-1]), tensor(w[:, 1:])
