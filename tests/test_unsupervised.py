"""k-means (hand-computed clusterings, k-means++ seeding, the scikit-learn surface, errors), the RBM (free energy
by enumeration, the CD gradient formula, likelihood rising under training) and the kmeans / rbm demos."""
import itertools
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.demos import run_demo
from deepgrad.models.kmeans import KMeans, kmeans_plusplus
from deepgrad.models.rbm import RBM
from deepgrad.viz import plots


def test_kmeans_hand_computed():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [10.0, 0.0], [10.0, 2.0], [10.0, 4.0]])  # noqa: N806
    km = KMeans(n_clusters=2, random_state=0).fit(X)
    centers = sorted(km.cluster_centers_.tolist())
    assert centers == [[0.0, 1.0], [10.0, 2.0]]
    assert km.inertia_ == pytest.approx(1 + 1 + 4 + 0 + 4)
    assert len(set(km.labels_[:2])) == 1 and len(set(km.labels_[2:])) == 1 and km.labels_[0] != km.labels_[2]
    assert km.predict([[1.0, 1.0], [9.0, 9.0]]).tolist() == [km.labels_[0], km.labels_[2]]
    np.testing.assert_allclose(km.transform([[0.0, 1.0]]).min(), 0.0, atol=1e-6)
    assert km.score(X) == pytest.approx(-km.inertia_, rel=1e-5)
    assert (KMeans(2, random_state=1).fit_predict(X) == KMeans(2, random_state=1).fit(X).labels_).all()
    # an explicit init array: one Lloyd step lands on the same fixed point
    km2 = KMeans(2, init=np.array([[0.0, 0.0], [10.0, 0.0]]), max_iter=5).fit(X)
    np.testing.assert_allclose(km2.cluster_centers_, [[0, 1], [10, 2]])


def test_kmeans_plusplus_and_n_init():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [20, 0], [0, 20], [20, 20]], float)
    X = np.concatenate([c + rng.normal(size=(50, 2)) for c in centers])  # noqa: N806
    c, idx = kmeans_plusplus(X, 4, random_state=0)
    # D²-seeding on well separated blobs picks one seed in each blob
    assert sorted(set(idx // 50)) == [0, 1, 2, 3] and np.allclose(c.numpy(), X[idx])
    worst_pp = max(KMeans(4, random_state=s).fit(X).inertia_ for s in range(10))
    worst_rand = max(KMeans(4, init="random", n_init=1, random_state=s).fit(X).inertia_ for s in range(10))
    best_rand = KMeans(4, init="random", n_init=10, random_state=0).fit(X).inertia_
    assert worst_pp < 500 < worst_rand and best_rand == pytest.approx(worst_pp, rel=1e-4)


def test_kmeans_errors():
    with pytest.raises(ValueError, match="n_clusters must be a positive integer"):
        KMeans(0)
    with pytest.raises(ValueError, match="init must be"):
        KMeans(2, init="kmeans")
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        KMeans(3).fit(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="call fit"):
        KMeans(2).predict(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="2 features, the model was fitted on 3"):
        KMeans(1).fit(np.zeros((3, 3))).predict(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="2-d"):
        KMeans(1).fit(np.zeros(3))


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def test_rbm_free_energy_by_enumeration_and_gradcheck():
    dg.manual_seed(0)
    m = RBM(4, 3).double()
    dg.nn.init.normal_(m.weight, 0, 1.0)
    dg.nn.init.normal_(m.v_bias)
    dg.nn.init.normal_(m.h_bias)
    W, b, c = (p.detach().numpy() for p in (m.weight, m.v_bias, m.h_bias))  # noqa: N806
    v = _all_states(4)
    h = _all_states(3)
    energy = -(v @ b)[:, None] - (h @ c)[None, :] - v @ W.T @ h.T          # E(v, h) for every pair
    want = -np.log(np.exp(-energy).sum(1))
    np.testing.assert_allclose(m.free_energy(dg.tensor(v)).detach().numpy(), want, rtol=1e-10)
    x = dg.tensor(np.random.default_rng(0).random((3, 4)), requires_grad=True)
    assert dg.autograd.gradcheck(lambda t: m.free_energy(t), [x])


def test_rbm_cd_gradient_is_the_lecture_formula():
    dg.manual_seed(0)
    m = RBM(5, 3, k=2, persistent=True).double()
    v = dg.tensor((np.random.default_rng(0).random((6, 5)) > 0.5).astype(np.float64))
    m.contrastive_divergence(v).backward()
    neg = m._chain.numpy()
    W, c = m.weight.detach().numpy(), m.h_bias.detach().numpy()  # noqa: N806
    ph = lambda a: 1 / (1 + np.exp(-(a @ W.T + c)))  # noqa: E731
    vd = v.numpy()
    # −∂ log p/∂W ≈ −(⟨p(h|v) vᵀ⟩_data − ⟨p(h|v) vᵀ⟩_model)
    np.testing.assert_allclose(m.weight.grad.numpy(), -(ph(vd).T @ vd - ph(neg).T @ neg) / 6, atol=1e-12)
    np.testing.assert_allclose(m.v_bias.grad.numpy(), -(vd - neg).mean(0), atol=1e-12)
    np.testing.assert_allclose(m.h_bias.grad.numpy(), -(ph(vd) - ph(neg)).mean(0), atol=1e-12)
    with pytest.raises(ValueError, match=r"RBM.contrastive_divergence: expected visible units of shape \(N, 5\)"):
        m.contrastive_divergence(dg.zeros(2, 4))


def test_rbm_training_raises_the_exact_likelihood():
    dg.manual_seed(0)
    data = np.array([[1, 1, 0, 0], [0, 0, 1, 1]] * 8, np.float64)
    m = RBM(4, 2, k=1).double()
    opt = dg.optim.SGD(m.parameters(), lr=0.5, momentum=0.5)
    v_all = dg.tensor(_all_states(4))

    def loglik():
        f_all = m.free_energy(v_all).detach().numpy()
        log_z = np.log(np.exp(-f_all).sum())
        return float((-m.free_energy(dg.tensor(data)).detach().numpy() - log_z).mean())

    before = loglik()
    for _ in range(300):
        loss = m.contrastive_divergence(dg.tensor(data))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert before == pytest.approx(4 * np.log(0.5), abs=0.05) and loglik() > before + 1.0


def test_kmeans_and_rbm_demos(tmp_path):
    r = run_demo("kmeans", out=str(tmp_path), fast=True)
    assert r["blobs"]["k-means++"]["purity"] > 0.95
    assert r["blobs"]["k-means++"]["inertia_worst"] <= r["blobs"]["random"]["inertia_worst"]
    assert r["mnist"]["k-means++"]["purity"] > 0.45
    r = run_demo("rbm", out=str(tmp_path), fast=True)
    for k in ("CD-1", "PCD-1"):
        e = r[k]["recon_error"]
        assert e[-1] < 0.6 * e[0]
    if plots.available():
        for f in ("kmeans/kmeans.png", "rbm/rbm.png"):
            assert os.path.getsize(tmp_path / f) > 1000
