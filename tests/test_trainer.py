"""The training loop, its callbacks and the health report."""
import csv
import json
import math

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
