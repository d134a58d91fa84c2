"""deepgrad.onnx.export: every zoo model exports, runs in onnxruntime and agrees with deepgrad within 1e-4."""
import io

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.onnx
from deepgrad import nn
from deepgrad.models.registry import get_model

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is installed in CI")

ZOO = [("mlp", {"num_classes": 10}, (2, 784)), ("lenet5", {"num_classes": 10}, (2, 1, 32, 32)),
       ("mnist-cnn", {"num_classes": 10}, (2, 1, 28, 28)), ("mnist-cnn-best", {"num_classes": 10}, (2, 1, 28, 28)),
       ("cifar_resnet20", {"num_classes": 10}, (2, 3, 32, 32)), ("cifar_vgg", {"num_classes": 10}, (2, 3, 32, 32)),
       ("resnet18", {"num_classes": 10}, (1, 3, 64, 64)), ("se_resnet18", {"num_classes": 10}, (1, 3, 64, 64)),
       ("googlenet", {"num_classes": 10}, (1, 3, 96, 96)), ("alexnet_lecture", {"num_classes": 10}, (1, 3, 227, 227)),
       ("vgg11_bn", {"num_classes": 10}, (1, 3, 64, 64)), ("unet", {}, (1, 1, 32, 32)),
       ("fcn_resnet18", {"num_classes": 3}, (1, 3, 64, 64)), ("c3d_small", {"num_classes": 5}, (1, 3, 16, 32, 32)),
       ("lstm_rows", {"num_classes": 10}, (2, 1, 28, 28)), ("gru_rows", {"num_classes": 10}, (2, 1, 28, 28)),
       ("rnn_rows", {"num_classes": 10}, (2, 1, 28, 28)), ("logistic", {}, (3, 784))]


def _run(model, *xs, **kw):
    f = io.BytesIO()
    dg.onnx.export(model, xs if len(xs) > 1 else xs[0], f, **kw)
    sess = ort.InferenceSession(f.getvalue())
    feeds = {i.name: x.numpy() for i, x in zip(sess.get_inputs(), xs)}
    return sess, sess.run(None, feeds)


def _x(shape, seed=0):
    return dg.tensor(np.random.default_rng(seed).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("name,kwargs,shape", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_model_exports_and_matches(name, kwargs, shape):
    dg.manual_seed(0)
    model = get_model(name, **kwargs).eval()
    x = _x(shape)
    _, (got,) = _run(model, x)
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-4, atol=1e-4)


def test_dynamic_batch_axis():
    dg.manual_seed(0)
    model = get_model("cifar_resnet20", num_classes=10).eval()
    sess, _ = _run(model, _x((2, 3, 32, 32)), input_names=["images"], output_names=["logits"],
                   dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    x5 = _x((5, 3, 32, 32), seed=1)
    (got,) = sess.run(None, {"images": x5.numpy()})
    np.testing.assert_allclose(got, model(x5).detach().numpy(), rtol=1e-4, atol=1e-4)
    assert sess.get_inputs()[0].shape[0] == "batch"


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
@pytest.mark.parametrize("kw", [{"num_layers": 2, "bidirectional": True, "batch_first": True}, {}],
                         ids=["stacked-bidirectional-batch_first", "plain"])
def test_recurrent_layers_export_with_their_states(cls, kw):
    model = cls(5, 7, **kw).eval()
    x = _x((3, 4, 5))
    _, outs = _run(model, x)
    out, state = model(x)
    ref = [out] + (list(state) if isinstance(state, tuple) else [state])
    for a, b in zip(outs, ref):
        np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_functional_ops_and_several_inputs():
    class Mixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(11, 4), nn.Linear(4, 3)

        def forward(self, idx, x):
            h = self.emb(idx).mean(1) * x.sigmoid() + x.clamp(-0.5, 0.5) ** 2
            h = dg.cat([h, h.flip(-1)[:, :2]], dim=1)[:, 1:5]
            return self.fc(h).log_softmax(-1), h.amax(dim=0, keepdim=True)

    model = Mixed().eval()
    idx, x = dg.tensor(np.array([[1, 2, 3], [4, 5, 10]])), _x((2, 4))
    _, (a, b) = _run(model, idx, x)
    ra, rb = model(idx, x)
    np.testing.assert_allclose(a, ra.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b, rb.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_file_path_is_written_whole(tmp_path):
    import onnx

    path = tmp_path / "mlp.onnx"
    dg.onnx.export(get_model("mlp", num_classes=10), _x((1, 784)), path)
    onnx.checker.check_model(onnx.load(str(path)))
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.onnx"]
    names = {i.name for i in onnx.load(str(path)).graph.initializer}
    assert "layers.0.weight" in names or any(n.endswith(".weight") for n in names)  # state_dict names kept


def test_unsupported_op_and_bad_arguments_say_so():
    class Rolls(nn.Module):
        def forward(self, x):
            return dg.roll(x, 1, 0)

    with pytest.raises(dg.onnx.OnnxExportError, match="Roll has no ONNX mapping"):
        dg.onnx.export(Rolls(), _x((3,)), io.BytesIO())
    with pytest.raises(TypeError, match="args must be a Tensor"):
        dg.onnx.export(nn.Linear(2, 2), [[1.0, 2.0]], io.BytesIO())
    with pytest.raises(dg.onnx.OnnxExportError, match="opset_version"):
        dg.onnx.export(nn.Linear(2, 2), _x((1, 2)), io.BytesIO(), opset_version=7)
    with pytest.raises(dg.onnx.OnnxExportError, match="dynamic_axes names"):
        dg.onnx.export(nn.Linear(2, 2), _x((1, 2)), io.BytesIO(), dynamic_axes={"nope": [0]})
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    dg.onnx.export(model, _x((1, 2)), io.BytesIO())
    assert model.training  # the mode is restored


def test_command_exports_a_trained_checkpoint(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    run = lambda *a: subprocess.run([sys.executable, "-m", "deepgrad", *a], capture_output=True, text=True,
                                    env=env, cwd=tmp_path, timeout=300)
    p = run("train", "--model", "logistic", "--epochs", "1", "--out", "run", "--quiet")
    assert p.returncode == 0, p.stderr
    p = run("export", "run/best.safetensors", "model.onnx")
    assert p.returncode == 0, p.stderr
    assert "wrote model.onnx" in p.stdout
    sess = ort.InferenceSession(str(tmp_path / "model.onnx"))
    x = np.random.default_rng(0).uniform(0, 1, (3, 1, 28, 28)).astype(np.float32)
    assert sess.run(None, {"input": x})[0].shape == (3, 10)  # dynamic batch, raw pixels in
    for args, msg in ((("export", "nope.safetensors", "m.onnx"), "no checkpoint at nope.safetensors"),
                      (("export", "run/best.safetensors", "missing/m.onnx"), "does not exist")):
        p = run(*args)
        assert p.returncode != 0 and msg in p.stderr and "Traceback" not in p.stderr


def test_transformers_and_gpt_export():
    from deepgrad.models.gpt import GPT, Seq2SeqTransformer

    dg.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True, norm_first=True, activation="gelu").eval()
    x = _x((2, 5, 16))
    _, (got,) = _run(layer, x)
    np.testing.assert_allclose(got, layer(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    full = nn.Transformer(16, 4, 2, 2, 32, batch_first=True).eval()
    src, tgt = _x((2, 5, 16)), _x((2, 3, 16), seed=1)
    _, (got,) = _run(full, src, tgt)
    np.testing.assert_allclose(got, full(src, tgt).detach().numpy(), rtol=1e-4, atol=1e-5)
    gpt = GPT(vocab_size=30, context=12, n_layer=2, n_head=2, n_embd=16).eval()
    idx = dg.tensor(np.random.default_rng(0).integers(0, 30, (2, 12)))
    _, outs = _run(gpt, idx)
    ref = gpt(idx)
    ref = ref[0] if isinstance(ref, tuple) else ref
    np.testing.assert_allclose(outs[0], ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    s2s = Seq2SeqTransformer(20, 20, d_model=16, nhead=2, dim_feedforward=32).eval()
    a, b = (dg.tensor(np.random.default_rng(s).integers(0, 20, (2, n))) for s, n in ((0, 6), (1, 4)))
    _, (got,) = _run(s2s, a, b)
    np.testing.assert_allclose(got, s2s(a, b).detach().numpy(), rtol=1e-4, atol=1e-4)
