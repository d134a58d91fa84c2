"""The classic baselines: hand-computed predictions, the RBF features' kernel approximation, the SVMs against
their optimality conditions, errors, and the baselines demo."""
import os

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.demos import run_demo
from deepgrad.models.baselines import DummyClassifier, KernelSVC, KNeighborsClassifier, LinearSVC, RBFSampler
from deepgrad.viz import plots


def test_dummy_classifier():
    X, y = np.zeros((6, 2)), np.array([3, 3, 3, 1, 1, 2])  # noqa: N806
    assert DummyClassifier().fit(X, y).predict(np.zeros((4, 2))).tolist() == [3] * 4
    assert DummyClassifier().fit(X, y).score(X, y) == pytest.approx(0.5)
    strat = DummyClassifier("stratified", random_state=0).fit(X, y).predict(np.zeros((6000, 2)))
    np.testing.assert_allclose(np.bincount(strat, minlength=4)[[1, 2, 3]] / 6000, [2 / 6, 1 / 6, 3 / 6], atol=0.02)
    with pytest.raises(ValueError, match="strategy must be"):
        DummyClassifier("prior")
    with pytest.raises(RuntimeError, match="call fit"):
        DummyClassifier().predict(X)


def test_knn_hand_computed():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0]])  # noqa: N806
    y = np.array([0, 0, 1, 1, 1])
    knn = KNeighborsClassifier(3, batch_size=2).fit(X, y)
    d, i = knn.kneighbors([[0.1, 0.0]])
    assert i.tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(d[0], [0.1, 0.9, np.hypot(0.1, 1.0)], rtol=1e-5)
    assert knn.predict([[0.1, 0.0], [5.5, 5.0], [0.0, 0.9]]).tolist() == [0, 1, 0]
    # distance weighting: the point next to (0, 1) follows it despite two class-0 votes
    assert KNeighborsClassifier(3, weights="distance").fit(X, y).predict([[0.0, 0.9]]).tolist() == [1]
    assert KNeighborsClassifier(1).fit(X, y).score(X, y) == 1.0
    with pytest.raises(ValueError, match="n_neighbors=9 exceeds the 5 training samples"):
        KNeighborsClassifier(9).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, the model was fitted on 2"):
        knn.predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="y must hold integer class labels"):
        KNeighborsClassifier(1).fit(X, y.astype(float))


def test_linear_svc_satisfies_its_optimality_condition():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))  # noqa: N806
    y = (X @ [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=80) > 0).astype(int)
    svm = LinearSVC(C=0.5, max_iter=500, tol=1e-10).fit(X, y)
    w, b = svm.coef_[0], svm.intercept_[0]
    t = np.where(y == 1, 1.0, -1.0)
    m = np.maximum(0, 1 - t * (X @ w + b))
    # the gradient of ½‖w‖² + C Σ max(0, 1 − t(w·x + b))² vanishes at the optimum
    np.testing.assert_allclose(w - 2 * 0.5 * (m * t) @ X, 0, atol=1e-3)
    assert abs(-2 * 0.5 * (m * t).sum()) < 1e-3
    assert svm.score(X, y) > 0.9 and svm.decision_function(X).shape == (80,)
    # three classes: one hyperplane per class, argmax of the scores
    X3 = np.concatenate([rng.normal(size=(30, 2)) + c for c in ([0, 5], [5, 0], [-5, -5])])  # noqa: N806
    y3 = np.repeat([0, 1, 2], 30)
    s3 = LinearSVC().fit(X3, y3)
    assert s3.coef_.shape == (3, 2) and s3.score(X3, y3) == 1.0
    with pytest.raises(ValueError, match="C must be positive"):
        LinearSVC(C=0)
    with pytest.raises(ValueError, match="needs at least 2 classes"):
        LinearSVC().fit(X[:3], [1, 1, 1])


def test_rbf_features_approximate_the_kernel_and_solve_a_circle():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))  # noqa: N806
    z = RBFSampler(gamma=0.5, n_components=20000, random_state=0).fit(X).transform(dg.tensor(X)).numpy()
    exact = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    np.testing.assert_allclose(z @ z.T, exact, atol=0.03)
    Xc = rng.normal(size=(300, 2))  # noqa: N806
    yc = (np.linalg.norm(Xc, axis=1) > 1.0).astype(int)
    assert LinearSVC().fit(Xc, yc).score(Xc, yc) < 0.8         # not linearly separable
    ksvm = KernelSVC(gamma=1.0, n_components=300, C=10.0, random_state=0).fit(Xc, yc)
    assert ksvm.score(Xc, yc) > 0.95
    assert KernelSVC(random_state=0, n_components=50).fit(Xc, yc).gamma_ == pytest.approx(1 / (2 * Xc.var()))
    with pytest.raises(ValueError, match="gamma must be 'scale' or a positive number"):
        KernelSVC(gamma="auto")


def test_baselines_demo(tmp_path):
    r = run_demo("baselines", out=str(tmp_path), fast=True)["results"]
    assert r["majority"]["accuracy"] < 0.2 and r["stratified"]["accuracy"] < 0.2
    assert r["kNN (k = 1)"]["accuracy"] > 0.8 and r["linear SVM"]["accuracy"] > 0.8 and r["RBF SVM"]["accuracy"] > 0.8
    assert r["MLP 784-256-10"]["accuracy"] > 0.8 and r["LeNet-5"]["accuracy"] > 0.8
    if plots.available():
        assert os.path.getsize(tmp_path / "baselines" / "baselines.png") > 1000
