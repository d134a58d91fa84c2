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
        plots.episode_returns({"a": [10, 20, 200, 210], "b": [15, 30]}, str(tmp_path / "returns.png"), window=2,
                              target=195, solved_at={"a": 4, "b": None}),
    ]
    for p in paths:
        assert _is_png(p), p
    assert sorted(f.name for f in tmp_path.iterdir()) == sorted(p.split("/")[-1] for p in paths)  # no temp files


def test_gradient_norm_legend_names_each_layer_with_its_type_and_sizes():
    net = dg.nn.Sequential(dg.nn.Conv2d(1, 16, 5), dg.nn.ReLU(), dg.nn.Flatten(), dg.nn.Linear(784, 256),
                           dg.nn.BatchNorm1d(256))
    mods = dict(net.named_modules())
    assert plots._layer_label("0", mods["0"]) == "0: Conv2d(1→16, 5×5)"
    assert plots._layer_label("3", mods["3"]) == "3: Linear(784→256)"
    assert plots._layer_label("4", mods["4"]) == "4: BatchNorm1d"


def test_image_grid_shared_scale_keeps_a_zero_image_blank(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    from matplotlib import image as mpimg

    imgs = np.stack([np.linspace(-1, 1, 64).reshape(8, 8), np.zeros((8, 8)), 1e-9 * np.ones((8, 8))])
    path = plots.image_grid(imgs, str(tmp_path / "g.png"), cmap="RdBu_r", shared=True)
    ink = mpimg.imread(path)[..., :3].min(-1) < 0.7
    # the two (near-)zero images are drawn in the map's middle colour (white for RdBu_r), not stretched to full
    # scale: one panel of three has colour (each scaled on its own, the 1e-9 image would be solid red: 46 % ink)
    assert 0.1 < ink.mean() < 0.3
