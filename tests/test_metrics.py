import numpy as np
import pytest

import deepgrad as dg
from deepgrad.train import metrics as M


def test_accuracy_topk_confusion():
    scores = dg.tensor([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    y = dg.tensor([1, 0, 1, 2])
    assert M.accuracy(scores, y) == 0.5
    assert M.top_k_accuracy(scores, y, k=2) == 0.75
    assert M.top_k_error(scores, y, k=3) == 0.0
    cm = M.confusion_matrix(scores, y, 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [1, 0, 0]])


def test_precision_recall_f1_macro_micro():
    pred = np.array([0, 0, 1, 1, 2, 2])
    true = np.array([0, 1, 1, 1, 2, 0])
    p, r, f = M.precision_recall_f1(pred, true, 3, average=None)
    np.testing.assert_allclose(p, [0.5, 1.0, 0.5])
    np.testing.assert_allclose(r, [0.5, 2 / 3, 1.0])
    pm, rm, fm = M.precision_recall_f1(pred, true, 3, average="macro")
    assert pm == pytest.approx(2 / 3) and rm == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert fm == pytest.approx(np.mean(2 * p * r / (p + r)))
    assert M.precision_recall_f1(pred, true, 3, average="micro")[2] == pytest.approx(4 / 6)


def test_regression_metrics():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    o = np.array([1.5, 2.0, 2.5, 4.0])
    assert M.mse(o, y) == pytest.approx(0.125)
    assert M.mae(o, y) == pytest.approx(0.25)
    assert M.r2_score(o, y) == pytest.approx(1 - 0.5 / 5.0)
    with pytest.raises(ValueError, match="shape"):
        M.mse(o[:, None], y)


def test_streaming_metrics_match_batch_versions():
    rng = np.random.default_rng(0)
    scores, y = rng.standard_normal((50, 4)), rng.integers(0, 4, 50)
    acc, top2, f1 = M.Accuracy(), M.TopKAccuracy(2), M.F1Score(4)
    for m in (acc, top2, f1):
        m.reset()
        for i in range(0, 50, 16):
            m.update(scores[i:i + 16], y[i:i + 16])
    assert acc.compute() == pytest.approx(M.accuracy(scores, y))
    assert top2.compute() == pytest.approx(M.top_k_accuracy(scores, y, 2))
    assert f1.compute() == pytest.approx(M.precision_recall_f1(scores, y, 4)[2])
    with pytest.raises(ValueError, match="unknown metric"):
        M.get_metric("accuracyy")


def test_binary_scores_are_thresholded_logits_at_0_and_probabilities_at_half():
    from deepgrad.train.metrics import accuracy, precision_recall_f1

    target = [1, 0, 1, 0]
    assert accuracy(np.array([2.3, -1.7, 0.4, -0.2]), target) == 1.0  # logits
    assert accuracy(np.array([0.9, 0.2, 0.6, 0.4]), target) == 1.0  # probabilities
    assert accuracy(np.array([[0.9], [0.2], [0.6], [0.4]]), target) == 1.0  # (N, 1)
    assert accuracy(np.array([0.9, 0.2, 0.6, 0.4]), target, threshold=0.65) == 0.75
    p, r, f = precision_recall_f1(np.array([2.3, -1.7, 0.4, -0.2]), target)
    assert (p, r, f) == (1.0, 1.0, 1.0)


def test_a_fractional_1d_output_against_multiclass_labels_is_refused():
    from deepgrad.train.metrics import accuracy

    with pytest.raises(ValueError, match="accuracy: cannot read a 1-d float output with fractional values"):
        accuracy(np.array([0.5, 1.5, 2.2]), [0, 1, 2])
    assert accuracy(np.array([0.0, 1.0, 2.0]), [0, 1, 2]) == 1.0  # whole numbers are labels
