"""SummaryWriter: events written with the tensorboard package, read back with its EventAccumulator."""
import os

import numpy as np
import pytest

import deepgrad as dg

pytest.importorskip("tensorboard")  # the optional extra (installed in CI)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from deepgrad.utils.tensorboard import SummaryWriter  # noqa: E402


def _read(path):
    acc = EventAccumulator(str(path), size_guidance={"tensors": 0, "scalars": 0, "images": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_scalars_histograms_images_text_round_trip(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar("loss", dg.tensor(1.0 / (step + 1)), step)
            w.add_scalars("acc", {"train": 0.5 + step, "val": 0.25 + step}, step)
        w.add_histogram("weights", dg.tensor(np.arange(100.0)), 7)
        w.add_histogram("weights_auto", np.arange(10.0), 7, bins="auto")
        w.add_image("chw", dg.ones(3, 4, 5) * 0.5, 1)
        w.add_image("hwc", np.zeros((4, 5, 1), dtype=np.uint8), 1, dataformats="HWC")
        w.add_text("notes", "hello **world**", 2)
    acc = _read(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    h = acc.Histograms("weights")[0]
    assert h.step == 7 and h.histogram_value.num == 100 and h.histogram_value.max == 99.0
    assert sum(h.histogram_value.bucket) == 100
    assert sum(acc.Histograms("weights_auto")[0].histogram_value.bucket) == 10
    img = acc.Images("chw")[0]
    assert (img.width, img.height) == (5, 4)
    assert acc.Tensors("notes/text_summary")[0].tensor_proto.string_val == [b"hello **world**"]
    val = _read(tmp_path / "acc_val")
    assert [e.value for e in val.Scalars("acc")] == [0.25, 1.25, 2.25]


def test_default_log_dir_is_under_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    w.add_scalar("x", 1.0, 0)
    w.close()
    assert w.get_logdir().startswith("runs" + os.sep) and w.get_logdir().endswith("_exp")
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(w.get_logdir()))


def test_flush_writes_before_close(tmp_path):
    w = SummaryWriter(tmp_path, flush_secs=1000)
    w.add_scalar("x", 2.0, 5)
    w.flush()
    assert [e.value for e in _read(tmp_path).Scalars("x")] == [2.0]
    w.close()
    with pytest.raises(RuntimeError, match="is closed"):
        w.add_scalar("x", 1.0, 6)


def test_bad_inputs_raise_sentences(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="expected a single number"):
            w.add_scalar("x", dg.ones(3))
        with pytest.raises(ValueError, match="dataformats 'CHW' does not describe"):
            w.add_image("i", dg.ones(4, 4))
        with pytest.raises(ValueError, match="nan or inf"):
            w.add_histogram("h", np.array([1.0, np.nan]))
