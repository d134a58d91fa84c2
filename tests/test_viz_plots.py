"""Every plot writes a real PNG (and nothing else) — skipped when matplotlib is absent."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad.train import History
from deepgrad.viz import plots

pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == PNG


def test_every_plot_writes_a_png(tmp_path):
    h = History()
    for e in range(3):
        h.append(e, {"loss": 1.0 / (e + 1), "accuracy": 0.5 + 0.1 * e, "val_loss": 1.2 / (e + 1),
                     "val_accuracy": 0.45 + 0.1 * e, "lr": 0.1})
    X = np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    paths = [
        plots.learning_curves(h, str(tmp_path / "curves.png")),
        plots.decision_boundary(lambda p: np.stack([-p[:, 0], p[:, 0]], 1), X, y, str(tmp_path / "boundary.png"),
                                resolution=30),
        plots.surface(lambda p: (p ** 2).sum(1), lambda p: (p ** 2).sum(1) + 0.1, str(tmp_path / "surface.png"),
                      resolution=10),
        plots.confusion_matrix(np.array([[5, 1], [2, 7]]), str(tmp_path / "cm.png"), classes=["a", "b"]),
        plots.first_layer_weights(dg.randn(8, 784), str(tmp_path / "weights.png")),
        plots.first_layer_weights(dg.randn(6, 1, 5, 5), str(tmp_path / "filters.png")),
        plots.image_grid(np.random.rand(5, 28, 28), str(tmp_path / "grid.png"), titles=list("abcde")),
        plots.gradient_norms([{"epoch": 1, "grad_norms": {"0": 1.0, "2": 0.1}},
                              {"epoch": 2, "grad_norms": {"0": 0.5, "2": 0.05}}], str(tmp_path / "gn.png")),
        plots.line_plot({"sgd": [3, 2, 1], "adam": [3, 1, 0.5]}, str(tmp_path / "lines.png"), logy=True),
    ]
    for p in paths:
        assert _is_png(p), p
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(p.split("/")[-1] for p in paths)  # no temp files
