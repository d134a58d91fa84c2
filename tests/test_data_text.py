"""Language-modelling data: vocabularies, windows, splits, the offline corpus, errors."""
import numpy as np
import pytest

from deepgrad.data import LanguageModelDataset, Vocabulary, python_docs_corpus


def test_char_vocabulary_roundtrip_and_unknown():
    v = Vocabulary.from_text("hello world", level="char")
    assert v.decode(v.encode("low")) == "low" and len(v) == 8
    with pytest.raises(KeyError, match="'z' is not in the vocabulary"):
        v.encode("z")


def test_word_vocabulary_frequency_order_and_unk():
    v = Vocabulary.from_text("the cat saw the dog. The end!", level="word", max_size=4)
    assert v.itos == ["<unk>", "the", "!", "."]  # ties in alphabetical order
    assert v.encode("the cow") == [1, 0] and v.decode([1, 3]) == "the ."


def test_windows_are_shifted_by_one_and_splits_do_not_overlap():
    text = "".join(chr(97 + i % 26) for i in range(1000))
    train = LanguageModelDataset(text=text, context=10, val_fraction=0.2)
    val = LanguageModelDataset(text=text, context=10, split="val", val_fraction=0.2, vocab=train.vocab)
    x, y = train[3]
    np.testing.assert_array_equal(x.numpy()[1:], y.numpy()[:-1])
    assert len(train.ids) == 800 and len(val.ids) == 200 and len(train) == (800 - 11) // 10 + 1
    xb, yb = val.batch(5, np.random.default_rng(0))
    assert xb.shape == (5, 10) and (xb.numpy()[:, 1:] == yb.numpy()[:, :-1]).all()
    with pytest.raises(IndexError):
        train[len(train)]


def test_file_and_default_corpus(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("abcdefgh" * 20, encoding="utf-8")
    assert len(LanguageModelDataset(p, context=8).vocab) == 8
    corpus = python_docs_corpus(20_000)
    assert len(corpus) == 20_000 and "Return" in corpus
    with pytest.raises(OSError, match="cannot read"):
        LanguageModelDataset(tmp_path / "missing.txt")
    with pytest.raises(ValueError, match="fewer than one window"):
        LanguageModelDataset(text="abc", context=8)
    with pytest.raises(ValueError, match="split must be"):
        LanguageModelDataset(text="abc" * 50, split="test")
