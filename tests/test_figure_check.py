"""The figure check that every demo test goes through (tests/figure_check.py) catches blank and missing figures."""
import numpy as np
import pytest

import deepgrad.demos
from figure_check import figure_problem

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


def _save(fig, path):
    fig.savefig(path, dpi=60)
    plt.close(fig)
    return path


def test_a_plot_passes_and_blank_or_missing_figures_fail(tmp_path):
    fig, ax = plt.subplots()
    ax.plot(np.arange(10), np.arange(10) ** 2, label="x²")
    ax.set_xlabel("x")
    ax.legend()
    assert figure_problem(_save(fig, tmp_path / "plot.png")) is None
    assert "blank" in figure_problem(_save(plt.figure(), tmp_path / "blank.png"))
    fig, ax = plt.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, ".")
    assert "blank" in figure_problem(_save(fig, tmp_path / "dot.png"))
    assert "was not written" in figure_problem(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    assert "does not decode" in figure_problem(tmp_path / "junk.png")


def test_demo_tests_get_the_checked_run_demo():
    assert deepgrad.demos.run_demo.__wrapped__ is not None
