"""The training loop, its callbacks and the health report."""
import csv
import io
import json
import math
import os
import re

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F
from deepgrad import nn, optim, train
from deepgrad.data import ArrayDataset, DataLoader


def blobs(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = (rng.standard_normal((n, 2)) + 2.5 * (2 * y[:, None] - 1)).astype(np.float32)
    return X, y


def loaders(batch=32):
    X, y = blobs()
    return (DataLoader(ArrayDataset(X[:160], y[:160]), batch_size=batch, shuffle=True, generator=0),
            DataLoader(ArrayDataset(X[160:], y[160:]), batch_size=64))


def make(lr=0.1):
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    return model, optim.SGD(model.parameters(), lr=lr, momentum=0.9)


def test_fit_learns_and_logs_history(tmp_path):
    model, opt = make()
    tr, va = loaders()
    t = train.Trainer(model, F.cross_entropy, opt, metrics=["accuracy"], progress=False,
                      callbacks=[train.CSVLogger(str(tmp_path / "h.csv")), train.JSONLogger(str(tmp_path / "h.json"))])
    h = t.fit(tr, va, epochs=4)
    assert h["val_accuracy"][-1] > 0.95 and h["loss"][-1] < h["loss"][0]
    rows = list(csv.DictReader(open(tmp_path / "h.csv")))
    assert len(rows) == 4 and float(rows[-1]["val_accuracy"]) == pytest.approx(h["val_accuracy"][-1])
    assert json.load(open(tmp_path / "h.json"))["epochs"] == [1, 2, 3, 4]
    assert model.training  # evaluate() restores the mode
    assert t.predict(dg.tensor(blobs(5)[0])).shape == (5, 2)


def test_early_stopping_restores_best_weights():
    model, opt = make(lr=0.0)  # nothing improves after the first epoch
    tr, va = loaders()
    es = train.EarlyStopping("val_loss", patience=2)
    h = train.Trainer(model, F.cross_entropy, opt, callbacks=[es], progress=False).fit(tr, va, epochs=10)
    assert len(h.epochs) == 3 and es.stopped_epoch == 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_names_the_step():
    model, opt = make(lr=1e30)
    tr, _ = loaders()
    t = train.Trainer(model, lambda out, y: F.cross_entropy(out, y) * 1e30, opt,
                      callbacks=[train.TerminateOnNaN()], progress=False)
    t.fit(tr, epochs=5)
    assert t.stop_reason is not None and "batch" in t.stop_reason and "epoch 1" in t.stop_reason
    assert len(t.history.epochs) == 0 and t.start_epoch == 0  # the aborted epoch is not a completed one


def test_gradient_clipping_bounds_the_norm():
    model, opt = make()
    seen = []

    class Probe(train.Callback):
        def on_after_backward(self, trainer):
            seen.append(math.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in trainer.model.parameters())))

    tr, _ = loaders()
    train.Trainer(model, lambda o, y: F.cross_entropy(o, y) * 100, opt,
                  callbacks=[train.GradientClipping(max_norm=0.5), Probe()], progress=False).fit(tr, epochs=1)
    assert max(seen) <= 0.5 + 1e-5
    with pytest.raises(ValueError, match="exactly one"):
        train.GradientClipping()


def test_checkpoint_resume_continues_identically(tmp_path):
    tr, va = loaders()
    model, opt = make()
    ck = train.ModelCheckpoint(str(tmp_path), monitor="val_loss")
    train.Trainer(model, F.cross_entropy, opt, callbacks=[ck], progress=False).fit(tr, va, epochs=4)
    straight = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    tr, va = loaders()
    model, opt = make()
    ck = train.ModelCheckpoint(str(tmp_path / "b"), monitor="val_loss")
    train.Trainer(model, F.cross_entropy, opt, callbacks=[ck], progress=False).fit(tr, va, epochs=2)
    tr, va = loaders()
    model2, opt2 = make()
    t2 = train.Trainer(model2, F.cross_entropy, opt2, progress=False)
    t2.resume(str(tmp_path / "b" / "last.safetensors"))
    assert t2.start_epoch == 2
    t2.fit(tr, va, epochs=4)
    for k, v in model2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), straight[k], err_msg=k)


def test_health_report_flags_dead_relus_and_vanishing_gradients():
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
    with dg.no_grad():
        model[0].bias.fill_(-100.0)  # every hidden unit dead
    x, y = dg.randn(32, 4), dg.randint(0, 2, (32,))
    rep = train.check_health(model, F.cross_entropy, x, y)
    assert rep["dead_relu"]["1"] == 1.0
    assert any("dying ReLU" in f for f in rep["flags"]) and any("vanishing" in f for f in rep["flags"])
    assert "WARNING" in train.format_report(rep)

    deep = nn.Sequential(*[m for _ in range(8) for m in (nn.Linear(8, 8), nn.Sigmoid())], nn.Linear(8, 2))
    rep = train.check_health(deep, F.cross_entropy, dg.randn(32, 8), y)
    norms = rep["grad_norms"]
    assert norms["0"] < norms["16"]  # the first layer learns slowest behind eight sigmoids


def test_health_report_callback_records_each_epoch():
    model, opt = make()
    tr, _ = loaders()
    t = train.Trainer(model, F.cross_entropy, opt, callbacks=[train.HealthReport(verbose=False)], progress=False)
    t.fit(tr, epochs=2)
    assert [r["epoch"] for r in t.history.health] == [1, 2]
    assert set(t.history.health[0]["grad_norms"]) == {"0", "2"} and "1" in t.history.health[0]["dead_relu"]


def test_fit_validates_epochs():
    model, opt = make()
    with pytest.raises(ValueError, match="epochs"):
        train.Trainer(model, F.cross_entropy, opt, progress=False).fit(loaders()[0], epochs=0)


# ------------------------------------------------------------------------------------------ faults (issue 11)
class NaNAt:
    """A loss that turns NaN at one global step (counted over calls), else cross-entropy."""

    def __init__(self, step):
        self.step, self.calls = step, 0

    def __call__(self, out, y):
        self.calls += 1
        loss = F.cross_entropy(out, y)
        return loss * float("nan") if self.calls == self.step else loss


def test_nan_mid_epoch_keeps_the_last_good_checkpoint(tmp_path):
    """Issue 11, item 1: the aborted epoch is not logged, not saved, and resuming does not skip it."""
    tr, va = loaders()  # 5 training batches and 1 validation batch per epoch: call 8 is batch 2 of epoch 2
    model, opt = make()
    ck = train.ModelCheckpoint(str(tmp_path), monitor="val_loss")
    t = train.Trainer(model, NaNAt(8), opt, callbacks=[ck], progress=False, terminate_on_nan=False)
    t.callbacks.append(train.TerminateOnNaN(verbose=False))
    t.fit(tr, va, epochs=4)
    assert t.history.epochs == [0] and t.start_epoch == 1
    last = dg.load(tmp_path / "last.safetensors")
    assert last["epoch"] == 1 and all(np.isfinite(v.numpy()).all() for v in last["model"].values())
    assert "epoch 2, batch 2" in t.stop_reason and "last good checkpoint" in t.stop_reason and "(epoch 1)" in \
        t.stop_reason


def test_non_finite_weights_are_never_saved(tmp_path):
    tr, va = loaders()
    model, opt = make()

    class Poison(train.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 1:
                with dg.no_grad():
                    trainer.model[0].weight.fill_(float("inf"))

    ck = train.ModelCheckpoint(str(tmp_path), monitor="val_loss")
    t = train.Trainer(model, F.cross_entropy, opt, callbacks=[Poison(), ck], progress=False)
    t.fit(tr, va, epochs=4)
    assert dg.load(tmp_path / "last.safetensors")["epoch"] == 1 and len(t.history.epochs) == 2
    assert "non-finite the weights 0.weight" in t.stop_reason


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_trainer_is_reusable_after_a_nan_stop_and_default_callbacks_stop_on_nan(capsys):
    """Issue 11, item 2: the abort flag used to stay set, so every later fit() ran one batch per epoch; and with
    the default callbacks a NaN loss trained on silently."""
    tr, _ = loaders()
    model, opt = make()
    t = train.Trainer(model, NaNAt(2), opt, progress=True, quiet=True)
    t.fit(tr, epochs=3)
    assert t.stop_reason.startswith("TerminateOnNaN") and t.global_step == 2 and t.history.epochs == []
    model2, opt2 = make()
    t2 = train.Trainer(model2, NaNAt(2), opt2, progress=True)
    t2.fit(tr, epochs=3)
    assert "TerminateOnNaN: the loss became nan" in capsys.readouterr().err  # a sentence, by default
    t.loss_fn = F.cross_entropy
    t.fit(tr, epochs=2)  # reusable: full epochs again
    assert t.stop_reason is None and t.history.epochs == [0, 1] and t.global_step == 2 + 2 * 5


def test_ctrl_c_in_fit_saves_an_interrupt_checkpoint_and_resumes_identically(tmp_path, request):
    import signal

    # Python's own Ctrl-C handler, even where the tests run in a background job (which starts with SIGINT ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))

    tr, va = loaders()
    model, opt = make()
    train.Trainer(model, F.cross_entropy, opt, progress=False).fit(tr, va, epochs=3)
    straight = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    class CtrlC(train.Callback):
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch == 1 and batch == 2:
                signal.raise_signal(signal.SIGINT)

    tr, va = loaders()
    model, opt = make()
    ck = train.ModelCheckpoint(str(tmp_path), monitor="val_loss")
    t = train.Trainer(model, F.cross_entropy, opt, callbacks=[ck, CtrlC()], progress=False)
    with pytest.raises(train.TrainingInterrupted) as e:
        t.fit(tr, va, epochs=3)
    assert e.value.checkpoint == ck.interrupt_path and isinstance(e.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    state = dg.load(ck.interrupt_path)
    assert state["epoch"] == 1 and state["global_step"] == 5 + 3 and state["loader"]["position"] == 3
    tr, va = loaders()
    model2, opt2 = make()
    ck2 = train.ModelCheckpoint(str(tmp_path), monitor="val_loss")
    t2 = train.Trainer(model2, F.cross_entropy, opt2, callbacks=[ck2], progress=False)
    t2.resume(ck.interrupt_path)
    t2.fit(tr, va, epochs=3)
    for k, v in model2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), straight[k], err_msg=k)
    assert not os.path.exists(ck.interrupt_path)  # superseded by a completed epoch


def test_progress_lines_when_not_a_terminal():
    tr, _ = loaders(batch=16)
    model, opt = make()
    stream = io.StringIO()
    train.Trainer(model, F.cross_entropy, opt, callbacks=[train.ProgressBar(stream=stream, interval=0.0)]).fit(
        tr, epochs=1)
    lines = stream.getvalue().splitlines()
    assert re.fullmatch(r"epoch 1/1  step 1/10  loss \d+\.\d{4}  \d+ samples/s", lines[0]), lines[0]
    assert len(lines) == 11 and lines[-1].startswith("epoch 1/1  loss")


def test_dataloader_state_is_validated():
    """Issue 11, item 8: garbage and an out-of-range position (which skipped an epoch) used to be accepted."""
    tr, _ = loaders()  # 5 batches
    for bad, error, words in [("garbage", TypeError, "expected a dict"), ({"epoch": 0}, TypeError, "expected a dict"),
                              ({"epoch": -1, "position": 0, "seed": 0}, ValueError, "epoch must be a non-negative"),
                              ({"epoch": 0, "position": 5, "seed": 0}, ValueError, "position 5 is outside"),
                              ({"epoch": 0, "position": 1.5, "seed": 0}, ValueError, "position must be"),
                              ({"epoch": 0, "position": 0, "seed": "x"}, ValueError, "seed must be")]:
        with pytest.raises(error, match=words):
            tr.load_state_dict(bad)
    assert tr.state_dict()["epoch"] == 0 and tr.state_dict()["position"] == 0
    tr.load_state_dict({"epoch": 1, "position": 4, "seed": 0, "sampler": None})
    assert len(list(tr)) == 1
