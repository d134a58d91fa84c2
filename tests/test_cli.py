"""End-to-end tests of the ``deepgrad`` command on the bundled MNIST sample (tiny settings, a few seconds each)."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import cli

SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")


def run_cli(*argv, timeout=120, cwd=None):
    """``python -m deepgrad ARGV`` in a subprocess (one BLAS thread): the CompletedProcess."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "deepgrad", *argv], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=cwd)


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


def test_evaluate_an_ensemble_averages_the_members_softmax(trained, tmp_path, capsys):
    out, _ = trained
    ckpt = os.path.join(out, "best.safetensors")
    other = str(tmp_path / "seed1")
    r = run_cli("train", "--model", "mlp", "--epochs", "1", "--batch-size", "256", "--seed", "1", "--quiet",
                "--out", other)
    assert r.returncode == 0, r.stderr
    second = os.path.join(other, "best.safetensors")
    assert cli.main(["evaluate", ckpt, second, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["members"] == 2 and res["samples"] == 1000
    X, y, _ = cli.load_arrays("mnist-sample", "test")
    probs = []
    for c in (ckpt, second):
        model, config = cli.load_checkpoint_model(c)
        n = config["normalize"]
        with dg.no_grad():
            probs.append(model(dg.tensor((X - n["mean"]) / n["std"])).softmax(1).numpy())
    want = (np.mean(probs, 0).argmax(1) == y).mean()
    assert res["accuracy"] == pytest.approx(want)
    for change, words in ((lambda c: c["normalize"].update(mean=c["normalize"]["mean"] + 0.1),
                           "normalise inputs differently"),
                          (lambda c: c.update(input_shape=[3, 32, 32]), "their input_shape differ")):
        state = dg.load(second)
        change(state["config"])
        odd = str(tmp_path / "odd.safetensors")
        dg.save(state, odd)
        with pytest.raises(cli.UsageError, match=f"odd.safetensors and .*best.safetensors cannot form an "
                                                 f"ensemble: .*{words}"):
            cli.scoring_model([ckpt, odd])


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
    (["--lr", "0"], ["--lr", "expected a finite positive number", "0"]),
    (["--lr", "-0.1"], ["--lr", "expected a finite positive number"]),
    (["--batch-size", "0"], ["--batch-size", "expected a positive integer", "0"]),
    (["--epochs", "0"], ["--epochs", "expected a positive integer"]),
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


# ------------------------------------------------------------------------------------------ faults (issue 11)
def one_line_error(r, command: str) -> str:
    """The single stderr line of a failed command; asserts there is no traceback and nothing else."""
    err = r.stderr.strip()
    assert r.returncode not in (0, None), (r.returncode, r.stdout, err)
    assert "Traceback" not in err and "Traceback" not in r.stdout, err
    assert err.startswith(f"deepgrad {command}: error:") and "\n" not in err, err
    return err


@pytest.fixture(scope="module")
def logistic_run(tmp_path_factory):
    """One epoch of the logistic model: the run directory (a checkpoint for evaluate/predict/resume tests)."""
    out = str(tmp_path_factory.mktemp("logistic") / "run")
    r = run_cli("train", "--model", "logistic", "--epochs", "1", "--batch-size", "500", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def bad_inputs(tmp, ckpt: str) -> list:
    """(command, argv, words expected in the error) for every user mistake of issue 11, item 7 and beyond."""
    (tmp / "garbage.safetensors").write_bytes(os.urandom(64))
    (tmp / "a_dir").mkdir()
    (tmp / "plain_file").write_text("x")
    os.mkfifo(tmp / "fifo.safetensors")
    (tmp / "not_image.png").write_text("this is text, not a picture")
    np.save(tmp / "empty.npy", np.zeros((0,), np.float32))
    np.save(tmp / "object.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    np.save(tmp / "nan.npy", np.full((28, 28), np.nan, np.float32))
    np.save(tmp / "inf.npy", np.full((28, 28), np.inf, np.float32))
    image = pytest.importorskip("PIL.Image")
    image.new("L", (40, 28)).save(tmp / "wide.png")
    dg.save({"w": dg.ones(2)}, tmp / "no_config.safetensors")
    under_file = str(tmp / "plain_file" / "x.safetensors")
    return [
        ("evaluate", [str(tmp / "garbage.safetensors")], ["garbage.safetensors"]),
        ("evaluate", [str(tmp / "a_dir")], ["is a directory"]),
        ("evaluate", [under_file], ["plain_file"]),
        ("evaluate", [str(tmp / "fifo.safetensors")], ["FIFO", "regular files only"]),
        ("evaluate", [str(tmp / "missing.safetensors")], ["no checkpoint at"]),
        ("evaluate", [str(tmp / "no_config.safetensors")], ["not written by 'deepgrad train'"]),
        ("evaluate", [ckpt, "--dataset", "mnist_samples"], ["did you mean 'mnist-sample'"]),
        ("predict", [ckpt, str(tmp / "not_image.png")], ["not an image"]),
        ("predict", [ckpt, str(tmp / "empty.npy")], ["empty"]),
        ("predict", [ckpt, str(tmp / "object.npy")], ["Python objects", "never loads"]),
        ("predict", [ckpt, str(tmp / "nan.npy")], ["NaN or infinite"]),
        ("predict", [ckpt, str(tmp / "inf.npy")], ["NaN or infinite"]),
        ("predict", [ckpt, str(tmp / "wide.png")], ["40x28", "--letterbox"]),
        ("predict", [ckpt, str(tmp / "a_dir")], ["holds no images"]),
        ("predict", [str(tmp / "a_dir"), str(tmp / "nan.npy")], ["is a directory"]),
        ("train", ["--out", str(tmp / "plain_file")], ["is a file"]),
        ("train", ["--out", str(tmp / "plain_file" / "run")], ["is a file"]),
        ("train", ["--seed", "-1"], ["--seed", "-1"]),
        ("train", ["--device", "tpu"], ["'tpu' is not a device"]),
        ("train", ["--lr", "inf"], ["--lr", "finite"]),
        ("train", ["--lr", "nan"], ["--lr", "finite"]),
        ("train", ["--epochs", "two"], ["--epochs", "'two'"]),
        ("train", ["--model", "MNIST_cnnn"], ["did you mean 'mnist-cnn'"]),
        ("train", ["--resume", "--out", str(tmp / "a_dir")], ["no checkpoint in"]),
        ("train", ["--threads", "0"], ["--threads"]),
        ("summary", ["mlp", "--input-shape", "1,x"], ["--input-shape", "1,28,28"]),
        ("summary", ["lenet5", "--input-shape", "1,2,2"], ["does not run on input shape"]),
        ("summary", ["Linear_SVM", "--input-shape", "784"], []),  # accepted: '_' and '-' alike (no error expected: see the test)
        ("demo", ["mnist_mlpp"], ["did you mean 'mnist-mlp'"]),
    ]


def test_every_bad_input_is_one_clear_line(logistic_run, tmp_path):
    """Issue 11, item 7: each user mistake gives one line 'deepgrad CMD: error: ...', never a traceback."""
    ckpt = os.path.join(logistic_run, "best.safetensors")
    for command, argv, words in bad_inputs(tmp_path, ckpt):
        r = run_cli(command, *argv, timeout=60)
        if not words:
            assert r.returncode == 0, r.stderr
            continue
        err = one_line_error(r, command)
        for w in words:
            assert w in err, (argv, err)
    leftovers = [p for p in os.listdir(tmp_path) if p.startswith("run") or p.startswith("runs")]
    assert not leftovers, leftovers  # a failed command leaves no (empty) folders


def test_traceback_shown_when_asked(tmp_path):
    (tmp_path / "g.safetensors").write_bytes(b"\0" * 4)
    env_before = os.environ.get("DEEPGRAD_TRACEBACK")
    os.environ["DEEPGRAD_TRACEBACK"] = "1"
    try:
        r = run_cli("evaluate", str(tmp_path / "g.safetensors"))
    finally:
        if env_before is None:
            del os.environ["DEEPGRAD_TRACEBACK"]
        else:
            os.environ["DEEPGRAD_TRACEBACK"] = env_before
    assert r.returncode != 0 and "Traceback" in r.stderr and "CheckpointError" in r.stderr


def test_full_disk_is_one_line_and_leaves_no_litter(tmp_path):
    """A write that fails (here: the file-size limit, like a full disk) is one line; nothing partial is left."""
    import resource

    out = tmp_path / "run"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1"}
    r = subprocess.run([sys.executable, "-m", "deepgrad", "train", "--model", "logistic", "--epochs", "1",
                        "--batch-size", "500", "--quiet", "--out", str(out)], capture_output=True, text=True,
                       env=env, timeout=120, preexec_fn=limit)
    err = one_line_error(r, "train")
    assert "File too large" in err or "No space" in err, err
    assert not out.exists() or not [f for f in os.listdir(out) if f.startswith(".")], os.listdir(out)


def test_closed_pipe_is_silent(logistic_run, tmp_path):
    """`deepgrad predict ... | head -1`: the reader goes away; no traceback, no 'Exception ignored'."""
    ds = dg.data.get_dataset("mnist-sample", split="test")
    for i in range(3):
        np.save(tmp_path / f"d{i}.npy", np.asarray(ds.arrays[0][i]))
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "deepgrad", "predict", os.path.join(logistic_run,
                             "best.safetensors"), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert err == "" and proc.returncode == 141, (proc.returncode, err)


def test_version_and_help_defaults(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"deepgrad {dg.__version__}"
    parser = cli.make_parser()
    sub = next(a for a in parser._actions if isinstance(a, cli.argparse._SubParsersAction))
    for name, p in sub.choices.items():
        for action in p._actions:
            assert action.help, f"deepgrad {name} {action.dest} has no help"
            text = p.format_help()
            if action.option_strings and action.default not in (None, False, cli.argparse.SUPPRESS):
                assert f"{action.default}" in text, (name, action.dest)
    assert "(default: cpu)" in sub.choices["train"].format_help().replace("\n", " ").replace("  ", " ")


def test_names_accept_dash_and_underscore_and_suggest():
    assert cli.resolve_name("model", "cifar-resnet20", ["cifar_resnet20", "mlp"]) == "cifar_resnet20"
    assert cli.resolve_name("model", "Linear_SVM", ["linear-svm"]) == "linear-svm"
    with pytest.raises(cli.UsageError, match="did you mean 'lenet5'"):
        cli.resolve_name("model", "lenet6", ["lenet5", "mlp"])


def test_threads_option_sets_the_thread_count(capsys):
    from deepgrad import parallel

    before = parallel.get_num_threads()
    try:
        assert cli.main(["list", "--threads", "1"]) == 0
        assert parallel.get_num_threads() == 1
    finally:
        parallel.set_num_threads(before)


def test_demo_out_writes_where_the_readme_says(tmp_path, capsys):
    assert cli.main(["demo", "mcculloch_pitts", "--fast", "--out", str(tmp_path)]) == 0
    assert os.listdir(tmp_path) == ["mcculloch-pitts"] and os.listdir(tmp_path / "mcculloch-pitts")
    page = open(os.path.join(os.path.dirname(SRC), "docs", "demos.md")).read()
    assert "`--out OUT`" in page and "`OUT/NAME/`" in page


def test_predict_a_folder_and_letterbox(logistic_run, tmp_path, capsys):
    image = pytest.importorskip("PIL.Image")
    ckpt = os.path.join(logistic_run, "best.safetensors")
    ds = dg.data.get_dataset("mnist-sample", split="test")
    for i in range(3):
        image.fromarray(np.asarray(ds.arrays[0][i]).astype(np.uint8)).save(tmp_path / f"d{i}.png")
    assert cli.main(["predict", ckpt, str(tmp_path)]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [os.path.basename(r[0]) for r in rows] == ["d0.png", "d1.png", "d2.png"]
    assert all(r[1] in [str(d) for d in range(10)] and 0 < float(r[2]) <= 1 for r in rows)
    wide = np.zeros((28, 40), np.uint8)
    wide[:, 6:34] = np.asarray(ds.arrays[0][0])
    image.fromarray(wide).save(tmp_path / "wide.png")
    assert cli.main(["predict", ckpt, str(tmp_path / "wide.png"), "--letterbox"]) == 0
    captured = capsys.readouterr()
    assert "letterboxed" in captured.err and "40x28 to 40x40" in captured.err
    assert abs(sum(_probabilities(captured.out).values()) - 1) < 1e-3


def test_nan_in_a_later_epoch_keeps_the_last_good_checkpoint(logistic_run, tmp_path):
    """Issue 11, item 1: `--lr` huge on a resumed run turns the loss NaN in epoch 2; last.safetensors stays the
    completed epoch 1, the command says so in one line, and a later resume starts from epoch 1 again."""
    run = tmp_path / "run"
    shutil.copytree(logistic_run, run)
    before = (run / "last.safetensors").read_bytes()
    r = run_cli("train", "--resume", "--out", str(run), "--epochs", "3", "--lr", "1e38", "--quiet")
    err = one_line_error(r, "train")
    assert ("TerminateOnNaN" in err or "non-finite" in err) and "last good checkpoint" in err and "epoch 1" in err
    assert (run / "last.safetensors").read_bytes() == before
    assert dg.load(run / "last.safetensors")["epoch"] == 1


def test_resume_with_more_epochs_and_a_new_lr_continues_the_schedule(tmp_path):
    """Issue 11, item 3: the cosine schedule is continued over the new total from the new base rate, and
    results.json records what was used."""
    out = str(tmp_path / "run")
    base = ["train", "--model", "logistic", "--batch-size", "500", "--quiet", "--out", out]
    assert run_cli(*base, "--epochs", "2", "--lr", "0.01").returncode == 0
    r = run_cli("train", "--resume", "--out", out, "--epochs", "4", "--lr", "0.02", "--quiet")
    assert r.returncode == 0, r.stderr
    lrs = json.load(open(os.path.join(out, "history.json")))["history"]["lr"]
    assert lrs[:2] == pytest.approx([0.01, 0.01 * (1 + math.cos(math.pi / 2)) / 2])
    assert lrs[2:] == pytest.approx([0.02 * (1 + math.cos(math.pi * k / 4)) / 2 for k in (2, 3)])
    res = json.load(open(os.path.join(out, "results.json")))
    assert res["epochs"] == 4 and res["lr"] == 0.02 and res["epochs_run"] == 4
    assert res["resumed"]["epochs_before"] == 2 and res["resumed"]["lr_before"] == 0.01
    assert res["resumed"]["rule"] == cli.RESUME_RULE
    err = one_line_error(run_cli("train", "--resume", "--out", out, "--epochs", "3"), "train")
    assert "already completed 4 epoch" in err
    err = one_line_error(run_cli("train", "--resume", "--out", out, "--batch-size", "64"), "train")
    assert "--batch-size 64 differs" in err


def test_resume_without_out_takes_the_newest_run(tmp_path):
    """Issue 11, item 3: `--resume` without `--out` resumes the newest run of that model and dataset and creates
    no new folder."""
    runs = tmp_path / "runs"
    for stamp, epochs in (("20250101-000000", 1), ("20250102-000000", 1)):
        r = run_cli("train", "--model", "logistic", "--epochs", str(epochs), "--batch-size", "500", "--quiet",
                    "--out", str(runs / f"logistic-mnist-sample-{stamp}"))
        assert r.returncode == 0, r.stderr
    newest = runs / "logistic-mnist-sample-20250102-000000"
    os.utime(newest / "last.safetensors")
    r = run_cli("train", "--model", "logistic", "--resume", "--epochs", "2", "--quiet", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(runs)) == ["logistic-mnist-sample-20250101-000000", "logistic-mnist-sample-20250102-000000"]
    assert dg.load(newest / "last.safetensors")["epoch"] == 2
    assert dg.load(runs / "logistic-mnist-sample-20250101-000000" / "last.safetensors")["epoch"] == 1
    err = one_line_error(run_cli("train", "--model", "mlp", "--resume", cwd=str(tmp_path)), "train")
    assert "no run of mlp on mnist-sample" in err
    assert sorted(os.listdir(runs)) == ["logistic-mnist-sample-20250101-000000", "logistic-mnist-sample-20250102-000000"]


def test_ctrl_c_writes_an_interrupt_checkpoint_and_resumes_identically(tmp_path):
    """Ctrl-C mid-run: exit 130, one line saying how to resume, interrupt.safetensors written atomically; the
    resumed run ends with the weights of an uninterrupted one."""
    args = ["train", "--model", "mlp", "--epochs", "3", "--batch-size", "64", "--seed", "1"]
    broken, full = str(tmp_path / "broken"), str(tmp_path / "full")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    for _attempt in range(3):  # on a loaded machine the run may finish before the signal lands: start it again
        shutil.rmtree(broken, ignore_errors=True)
        # SIGINT at its default even where this test runs in a background job, which starts with Ctrl-C ignored
        proc = subprocess.Popen([sys.executable, "-m", "deepgrad", *args, "--out", broken], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120
        while not os.path.exists(os.path.join(broken, "last.safetensors")) and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)  # early in epoch 2 of 3
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            break
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted at epoch" in err and f"--resume --out {broken}" in err
    interrupt = os.path.join(broken, "interrupt.safetensors")
    assert os.path.exists(interrupt) and dg.load(interrupt)["global_step"] > 0
    assert [f for f in os.listdir(broken) if f.startswith(".")] == []
    r = run_cli(*args, "--resume", "--out", broken, "--quiet")
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(interrupt)  # superseded by the completed epochs
    r = run_cli(*args, "--out", full, "--quiet")
    assert r.returncode == 0, r.stderr
    a, b = model_weights(os.path.join(full, "last.safetensors")), model_weights(os.path.join(broken,
                                                                                              "last.safetensors"))
    for k in a:
        assert np.array_equal(a[k], b[k]), k
