"""End-to-end tests of the ``deepgrad`` command on the bundled MNIST sample (tiny settings, a few seconds each)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import cli

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def run_cli(*argv, timeout=120):
    """``python -m deepgrad ARGV`` in a subprocess (one BLAS thread): the CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "deepgrad", *argv], capture_output=True, text=True, env=env,
                          timeout=timeout)


def model_weights(path: str) -> dict:
    return {k: v.numpy() for k, v in dg.load(path)["model"].items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny MLP run (1 epoch) shared by the evaluate/predict tests: (output dir, printed text)."""
    out = str(tmp_path_factory.mktemp("mlp-run"))
    r = run_cli("train", "--model", "mlp", "--epochs", "1", "--batch-size", "256", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def test_train_writes_checkpoint_history_results(trained):
    out, stdout = trained
    for f in ("best.safetensors", "last.safetensors", "history.json", "history.csv", "results.json"):
        assert os.path.exists(os.path.join(out, f)), f
    assert "test accuracy" in stdout
    printed = float(stdout.split("test accuracy")[1].split("%")[0])
    res = json.load(open(os.path.join(out, "results.json")))
    assert res["model"] == "mlp" and res["epochs_run"] == 1 and res["batch_size"] == 256
    assert abs(100 * res["test_accuracy"] - printed) < 0.01
    assert res["test_accuracy"] > 0.5  # one epoch of the MLP is far above chance (10%)
    hist = json.load(open(os.path.join(out, "history.json")))
    assert len(hist["epochs"]) == 1 and "val_accuracy" in hist["history"]


def test_evaluate_json(trained, capsys):
    out, _ = trained
    assert cli.main(["evaluate", os.path.join(out, "best.safetensors"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["samples"] == 1000 and res["split"] == "test" and 0.5 < res["accuracy"] <= 1.0
    assert res["accuracy"] == pytest.approx(json.load(open(os.path.join(out, "results.json")))["test_accuracy"])


def _probabilities(text: str) -> dict:
    rows = [line.split() for line in text.strip().splitlines()]
    return {label: float(p) for label, p in rows}


def test_predict_npy_and_png(trained, tmp_path, capsys):
    out, _ = trained
    ckpt = os.path.join(out, "best.safetensors")
    ds = dg.data.get_dataset("mnist-sample", split="test")
    img = np.asarray(ds.arrays[0][0])
    np.save(tmp_path / "digit.npy", img)
    assert cli.main(["predict", ckpt, str(tmp_path / "digit.npy")]) == 0
    probs = _probabilities(capsys.readouterr().out)
    assert sorted(probs) == [str(i) for i in range(10)]
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
    model, config = cli.load_checkpoint_model(ckpt)
    n = config["normalize"]
    with dg.no_grad():
        expect = model(dg.tensor((img[None, None] / 255.0 - n["mean"]) / n["std"], dtype=dg.float32))
    expect = expect.softmax(-1).numpy()[0]
    assert [probs[str(i)] for i in range(10)] == pytest.approx(expect, abs=1e-4)
    image = pytest.importorskip("PIL.Image")
    image.fromarray(img.astype(np.uint8)).save(tmp_path / "digit.png")
    assert cli.main(["predict", ckpt, str(tmp_path / "digit.png")]) == 0
    png = _probabilities(capsys.readouterr().out)
    assert sum(png.values()) == pytest.approx(1.0, abs=1e-3)
    assert png == pytest.approx(probs, abs=1e-3)


def test_list_shows_models_and_datasets(capsys):
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    for name in ("models:", "datasets:", "mnist-cnn", "mnist-cnn-best", "mlp", "logistic", "mnist-sample"):
        assert name in text


def test_default_model_is_the_cnn():
    assert cli.default_model() == "mnist-cnn"
    model, kw = cli.build_model("mnist-cnn", (1, 28, 28), 10)
    assert kw == {"num_classes": 10, "in_channels": 1}
    assert tuple(model(dg.zeros(2, 1, 28, 28)).shape) == (2, 10)


@pytest.mark.parametrize("argv, words", [
    (["--lr", "0"], ["--lr must be positive", "0"]),
    (["--lr", "-0.1"], ["--lr must be positive"]),
    (["--batch-size", "0"], ["--batch-size must be a positive integer", "0"]),
    (["--epochs", "0"], ["--epochs must be at least 1"]),
    (["--model", "no-such-model"], ["unknown model 'no-such-model'", "valid models are:", "mlp", "mnist-cnn"]),
    (["--dataset", "no-such-set"], ["unknown dataset 'no-such-set'", "mnist-sample"]),
])
def test_invalid_arguments_give_one_line_error(argv, words, tmp_path, capsys):
    assert cli.main(["train", "--quiet", "--out", str(tmp_path), *argv]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("deepgrad train: error:") and "\n" not in err and "Traceback" not in err
    for w in words:
        assert w in err
    assert not os.path.exists(tmp_path / "last.safetensors")


def test_resume_with_a_different_model_names_the_layers(trained, tmp_path, capsys):
    out, _ = trained
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.safetensors").write_bytes(open(os.path.join(out, "last.safetensors"), "rb").read())
    assert cli.main(["train", "--model", "logistic", "--resume", "--quiet", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "does not fit model 'logistic'" in err and "Traceback" not in err
    assert "linear.weight" in err and "1.weight" in err  # the logistic layer missing, the MLP's layers unexpected


def test_resume_without_checkpoint_is_an_error(tmp_path, capsys):
    assert cli.main(["train", "--model", "logistic", "--resume", "--quiet", "--out", str(tmp_path)]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_resume_continues_to_more_epochs(tmp_path, capsys):
    out = str(tmp_path)
    base = ["train", "--model", "logistic", "--batch-size", "256", "--quiet", "--out", out]
    assert cli.main([*base, "--epochs", "1"]) == 0
    assert dg.load(os.path.join(out, "last.safetensors"))["epoch"] == 1
    assert cli.main([*base, "--epochs", "2", "--resume"]) == 0
    hist = json.load(open(os.path.join(out, "history.json")))
    assert hist["epochs"] == [1, 2]
    assert dg.load(os.path.join(out, "last.safetensors"))["epoch"] == 2
    assert json.load(open(os.path.join(out, "results.json")))["epochs_run"] == 2


def test_module_help():
    r = run_cli("--help")
    assert r.returncode == 0
    for sub in ("train", "evaluate", "predict", "list"):
        assert sub in r.stdout
    r = run_cli("train", "--help")
    assert r.returncode == 0 and "--resume" in r.stdout and "--epochs" in r.stdout


def test_sigkill_then_resume_is_bit_identical(tmp_path):
    """A run killed (SIGKILL) after its first epoch's checkpoint and resumed ends with exactly the weights of an
    uninterrupted run with the same seed (model, data order, augmentation, dropout and optimiser state)."""
    args = ["train", "--model", "mlp", "--epochs", "3", "--batch-size", "128", "--seed", "3", "--quiet"]
    full, broken = str(tmp_path / "full"), str(tmp_path / "broken")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "deepgrad", *args, "--out", broken], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    last = os.path.join(broken, "last.safetensors")
    deadline = time.monotonic() + 120
    while not os.path.exists(last) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert os.path.exists(last) and proc.returncode == -signal.SIGKILL
    assert dg.load(last)["epoch"] < 3  # really interrupted before the end
    r = run_cli(*args, "--resume", "--out", broken)
    assert r.returncode == 0, r.stderr
    r = run_cli(*args, "--out", full)
    assert r.returncode == 0, r.stderr
    for f in ("last.safetensors", "best.safetensors"):
        a, b = model_weights(os.path.join(full, f)), model_weights(os.path.join(broken, f))
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), f"{f}: {k} differs after kill + resume"
    assert json.load(open(os.path.join(full, "history.json")))["history"]["loss"] == \
        json.load(open(os.path.join(broken, "history.json")))["history"]["loss"]
