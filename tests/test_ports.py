"""The PyTorch-idiom programs of benchmarks/ports (vision, data, distributions, sparse, optimisers) run under
deepgrad with only their imports renamed."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORTS = os.path.join(ROOT, "benchmarks", "ports")


def _run(script, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.join(PORTS, script), "--backend", "deepgrad", "--fast",
                           "--root", str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.timeout(300)
def test_mnist_classifier_port_learns_and_saves_a_grid(tmp_path):
    out = _run("mnist_classifier.py", tmp_path)
    first, last, accuracy = map(float, re.search(r"first loss ([\d.]+), last loss ([\d.]+), accuracy ([\d.]+)",
                                                 out).groups())
    assert last < first - 0.3 and accuracy > 0.4, out
    grid = np.asarray(Image.open(tmp_path / "first-test-batch-deepgrad.png"))
    assert grid.shape == (242, 242, 3) and grid.max() > 200


@pytest.mark.timeout(300)
def test_imagefolder_pipeline_port_learns(tmp_path):
    out = _run("imagefolder_pipeline.py", tmp_path)
    assert "classes ['disc', 'square']" in out and "batch (16, 3, 32, 32)" in out
    assert float(re.search(r"final val accuracy ([\d.]+)", out).group(1)) >= 0.8, out
    assert Image.open(tmp_path / "augmented-deepgrad.png").size == (274, 70)


@pytest.mark.timeout(300)
def test_gcn_port_classifies_the_communities(tmp_path):
    out = _run("gcn_sparse.py", tmp_path)
    first, last, acc = map(float, re.search(r"first loss ([\d.]+), last loss ([\d.]+), test accuracy ([\d.]+)",
                                            out).groups())
    assert last < first / 2 and acc > 0.9, out


@pytest.mark.timeout(300)
def test_vae_port_loss_falls_and_logs_to_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    out = _run("vae_normal_kl.py", tmp_path)
    first, last = map(float, re.search(r"first loss ([\d.]+), last loss ([\d.]+)", out).groups())
    assert last < first - 50, out
    runs = tmp_path / "runs-vae-deepgrad"
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(runs))


@pytest.mark.timeout(300)
def test_optimizers_port_each_learns(tmp_path):
    out = _run("optimizers_mnist.py", tmp_path)
    for name in ("Adadelta", "Adamax", "NAdam", "ASGD"):
        first, last = map(float, re.search(rf"{name}: first loss ([\d.]+), last loss ([\d.]+)", out).groups())
        assert last < first - 0.5, out
    assert "RAdam: first loss" in out  # RAdam's warm-up (ρ_t ≤ 5) keeps its first dozen steps small, as in PyTorch


@pytest.mark.timeout(300)
def test_reinforce_port_runs(tmp_path):
    out = _run("reinforce_cartpole.py", tmp_path)
    assert re.search(r"first 20 mean length [\d.]+, last 20 mean length [\d.]+", out), out
