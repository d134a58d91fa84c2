"""The sequence, generative and reinforcement-learning demos with fast=True: their numbers and figures."""
import os

import numpy as np

from deepgrad.demos import list_demos, run_demo
from deepgrad.viz import plots

HAVE_MPL = plots.available()


def _run(name, tmp_path, *figures):
    res = run_demo(name, out=str(tmp_path), fast=True)
    if HAVE_MPL:
        for f in figures:
            assert os.path.getsize(tmp_path / name / f) > 1000, f
    return res


def test_registered():
    assert {"rnn", "autoencoder", "vae", "gan", "dqn", "reinforce"} <= set(list_demos())


def test_rnn(tmp_path):
    r = _run("rnn", tmp_path, "rnn.png")
    assert all(r["accuracy"][k] > 0.9 for k in ("RNN", "LSTM", "GRU"))
    # at initialisation the plain RNN's gradient fades across the sequence far more than the LSTM's
    assert r["grad_ratio_init"]["RNN"] < r["grad_ratio_init"]["LSTM"] / 2
    losses = r["char_rnn"]["losses"]
    assert losses[-1] < 0.8 * losses[0] and r["char_rnn"]["sample"].startswith("hello")


def test_autoencoder(tmp_path):
    r = _run("autoencoder", tmp_path, "autoencoder_reconstructions.png", "autoencoder_codes.png")
    for k in ("code32", "code2", "denoising32"):
        hist = r[k]["train_loss"]
        assert hist[-1] < hist[0] and 0 < r[k]["test_mse"] < 0.12
    assert 0 < r["pca32_mse"] < r["pca2_mse"] < 0.1


def test_vae(tmp_path):
    r = _run("vae", tmp_path, "vae.png", "vae_samples.png")
    assert r["elbo"][-1] > r["elbo"][0] and r["test_neg_elbo"] < 300 and r["test_kl"] > 0
    assert r["mse_objective"][-1] < r["mse_objective"][0] and 0 < r["recon_mse"]["mse"] < 0.1


def test_gan(tmp_path):
    r = _run("gan", tmp_path, "gan.png")
    assert r["steps"] == 150 and r["d_steps"] == r["g_steps"] == 150 and 0 <= r["modes_covered"] <= 8
    assert 0 <= r["quality"] <= 1 and r["spread"]["radius_mean"] > 0
    assert {k: (v["d_steps"], v["g_steps"]) for k, v in r["compare"].items()} == {"1,1": (30, 30), "3,1": (90, 30),
                                                                                   "1,3": (30, 90)}
    assert all(np.isfinite(v) for v in r["final"].values()) and 0 < r["final"]["d_real"] < 1


def test_dqn_mechanics(tmp_path):
    r = _run("dqn", tmp_path, "dqn.png")
    assert r["steps"] == 600 and r["train_steps"] == 400 and r["target_updates"] == 4
    assert r["buffer_size"] == 600 and abs(r["final_epsilon"] - 0.05) < 1e-9 and r["losses_finite"]
    assert len(r["returns"]) >= 5 and sum(r["returns"]) <= 600


def test_reinforce_fast(tmp_path):
    r = _run("reinforce", tmp_path, "reinforce.png")
    assert r["seeds"] == [0] and r["backend"] in ("gymnasium", "deepgrad")
    rf, a2c = r["REINFORCE"][0], r["A2C"][0]
    assert rf["episodes"] == rf["updates"] == 40 and rf["steps"] == sum(rf["returns"])
    assert rf["solved_at"] is None and a2c["solved_at"] is None  # 100 episodes are needed to judge
    # REINFORCE's episodes already lengthen; A2C (8 environments, 5 steps per update) has made its updates
    assert np.mean(rf["returns"][-10:]) > 1.5 * np.mean(rf["returns"][:10])
    assert a2c["episodes"] >= 120 and a2c["steps"] == 8 * 5 * a2c["updates"]
    assert all(np.isfinite(v).all() for v in a2c["losses"].values())
