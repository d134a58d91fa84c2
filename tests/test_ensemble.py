"""Ensembles (averages of probabilities and logits, weights, snapshots), the snapshot schedule, online hard
example mining (loss and sampler) and their demos."""
import math
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.demos import run_demo
from deepgrad.tools.ensemble import Ensemble, HardExampleSampler, OHEMCrossEntropyLoss, ohem_cross_entropy, snapshot_cosine
from deepgrad.viz import plots


class Const(dg.nn.Module):
    def __init__(self, row):
        super().__init__()
        self.row = np.asarray(row, np.float64)

    def forward(self, x):
        return dg.tensor(np.tile(self.row, (x.shape[0], 1)))


def _softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def test_ensemble_averages():
    a, b = [2.0, 0.0, 0.0], [0.0, 3.0, -1.0]
    x = dg.zeros(2, 1)
    p = Ensemble([Const(a), Const(b)])(x).numpy()
    np.testing.assert_allclose(p[0], (_softmax(np.array(a)) + _softmax(np.array(b))) / 2)
    np.testing.assert_allclose(Ensemble([Const(a), Const(b)], "logits")(x).numpy()[1], [1.0, 1.5, -0.5])
    np.testing.assert_allclose(Ensemble([Const(a), Const(b)], "logits", weights=[3, 1])(x).numpy()[0],
                               [1.5, 0.75, -0.25])
    # probability averaging and logit averaging can disagree
    c = [0.0, 0.0, 10.0]
    assert Ensemble([Const(a), Const(a), Const(c)])(x).numpy()[0].argmax() == 0
    assert Ensemble([Const(a), Const(a), Const(c)], "logits")(x).numpy()[0].argmax() == 2
    net = dg.nn.Linear(2, 2)
    snaps = Ensemble().add(net)
    with dg.no_grad():
        net.weight.fill_(5.0)
    assert not np.allclose(snaps.members[0].weight.detach().numpy(), 5.0)   # a snapshot, not a live reference
    assert list(Ensemble([dg.nn.Linear(2, 2)]).state_dict()) == ["members.0.weight", "members.0.bias"]
    with pytest.raises(ValueError, match="mode must be 'probs', 'log_probs' or 'logits'"):
        Ensemble([], "vote")
    with pytest.raises(ValueError, match="weights must be 2 non-negative"):
        Ensemble([Const(a), Const(b)], weights=[1.0])
    with pytest.raises(RuntimeError, match="no members yet"):
        Ensemble()(x)


@dg.no_grad()
def test_log_probs_ensemble_is_the_log_of_the_members_mean_softmax():
    from deepgrad.train import ShiftTTA

    dg.manual_seed(0)
    members = [dg.nn.Linear(6, 4) for _ in range(3)]
    x = dg.randn(5, 6)
    out = Ensemble(members, "log_probs")(x).numpy()
    p = np.mean([m(x).softmax(1).numpy() for m in members], 0)
    np.testing.assert_allclose(np.exp(out), p, rtol=1e-5)
    np.testing.assert_allclose(np.exp(out), Ensemble(members)(x).numpy(), rtol=1e-5)
    weighted = Ensemble(members, "log_probs", weights=[3, 1, 0])(x).numpy()
    pw = (3 * members[0](x).softmax(1).numpy() + members[1](x).softmax(1).numpy()) / 4
    np.testing.assert_allclose(np.exp(weighted), pw, rtol=1e-5)
    np.testing.assert_allclose(Ensemble(members[:1], "log_probs")(x).numpy(), members[0](x).log_softmax(1).numpy(),
                               rtol=1e-5)
    # a member returning log-probabilities (test-time shifts in eval mode) is averaged as itself
    tta = ShiftTTA(dg.nn.Sequential(dg.nn.Flatten(), dg.nn.Linear(16, 3))).eval()
    img = dg.randn(2, 1, 4, 4)
    np.testing.assert_allclose(Ensemble([tta], "log_probs").eval()(img).numpy(), tta(img).numpy(), rtol=1e-5,
                               atol=1e-6)
    assert len(list(Ensemble(members, "log_probs").parameters())) == 6


def test_ensemble_refuses_members_of_different_output_shapes():
    x = dg.randn(5, 6)
    for mode in ("probs", "log_probs", "logits"):
        with pytest.raises(ValueError, match=r"Ensemble: the members' outputs differ in shape: \[\(5, 4\), \(5, 1\)\]"):
            Ensemble([dg.nn.Linear(6, 4), dg.nn.Linear(6, 1)], mode)(x)


def test_snapshot_cosine():
    f = snapshot_cosine(100, 4)
    assert [f(t) for t in (0, 25, 50, 75)] == [1.0] * 4
    assert f(24) == pytest.approx(0.5 * (1 + math.cos(math.pi * 24 / 25)))
    with pytest.raises(ValueError, match="1 <= cycles <= total_steps"):
        snapshot_cosine(3, 4)


def test_ohem_keeps_the_hardest_and_only_they_get_gradient():
    rng = np.random.default_rng(0)
    logits = dg.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    y = dg.tensor(rng.integers(0, 3, 8))
    a = logits.detach().numpy()
    per = -np.log(np.exp(a[np.arange(8), y.numpy()]) / np.exp(a).sum(1))
    hard = np.argsort(-per)[:2]
    loss = ohem_cross_entropy(logits, y, keep=0.25)
    assert loss.item() == pytest.approx(per[hard].mean(), rel=1e-10)
    loss.backward()
    g = np.abs(logits.grad.numpy()).sum(1)
    assert set(np.nonzero(g)[0]) == set(hard)
    assert ohem_cross_entropy(logits, y, keep=3).item() == pytest.approx(np.sort(per)[-3:].mean(), rel=1e-10)
    assert ohem_cross_entropy(logits, y, keep=1.0).item() == pytest.approx(per.mean(), rel=1e-10)
    assert OHEMCrossEntropyLoss(keep=0.01, min_kept=2)(logits, y).item() == pytest.approx(per[hard].mean())
    with pytest.raises(ValueError, match=r"fractional keep must lie in \(0, 1\]"):
        ohem_cross_entropy(logits, y, keep=1.5)
    with pytest.raises(TypeError, match="keep must be a fraction"):
        ohem_cross_entropy(logits, y, keep="all")


def test_hard_example_sampler():
    s = HardExampleSampler(4, num_samples=8, power=1.0, mix=0.5, generator=0)
    np.testing.assert_allclose(s.probabilities(), 0.25)
    s.update([0, 1, 2, 3], [1.0, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(s.probabilities(), 0.5 * np.array([1, 1, 2, 4]) / 8 + 0.125)
    s2 = HardExampleSampler(4, mix=0.0)
    s2.update([0], [2.0])
    np.testing.assert_allclose(s2.probabilities(), 0.25)     # unseen examples count as the hardest seen
    draws = np.concatenate([s.epoch_indices(e) for e in range(2000)])
    np.testing.assert_allclose(np.bincount(draws) / len(draws), s.probabilities(), atol=0.01)
    assert len(list(iter(s))) == 8 == len(s)
    with pytest.raises(ValueError, match="2 indices but losses of shape"):
        s.update([0, 1], [1.0])
    with pytest.raises(ValueError, match="mix must lie in"):
        HardExampleSampler(4, mix=2.0)


def test_ensemble_and_ohem_demos(tmp_path):
    r = run_demo("ensemble", out=str(tmp_path), fast=True)
    assert r["probs"] <= np.mean(r["single"]) and r["logits"] <= np.mean(r["single"])
    assert len(r["snapshots"]) == 3 and r["snapshot_ensemble"] < 0.2
    r = run_demo("ohem", out=str(tmp_path), fast=True)
    assert all(v["test_error"] < 0.25 for k, v in r.items() if k != "figure")
    if plots.available():
        for f in ("ensemble/ensemble.png", "ohem/ohem.png"):
            assert os.path.getsize(tmp_path / f) > 1000
