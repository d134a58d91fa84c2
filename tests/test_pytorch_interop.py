"""A state dict written the way a PyTorch user writes one (safetensors, PyTorch's names, weights (out, in)) loads
into the same deepgrad architecture and gives the same outputs as a NumPy forward pass with those weights."""
import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn
from deepgrad.serialization import load_safetensors


def torch_style_state_dict(rng):
    """Names, shapes and dtypes exactly as torch's `Sequential(Conv2d(1, 4, 3), BatchNorm2d(4), ReLU(), Flatten(),
    Linear(4 * 6 * 6, 5))` produces them (`num_batches_tracked` is int64)."""
    return {
        "0.weight": rng.standard_normal((4, 1, 3, 3)).astype(np.float32),
        "0.bias": rng.standard_normal(4).astype(np.float32),
        "1.weight": rng.uniform(0.5, 1.5, 4).astype(np.float32),
        "1.bias": rng.standard_normal(4).astype(np.float32),
        "1.running_mean": rng.standard_normal(4).astype(np.float32),
        "1.running_var": rng.uniform(0.5, 2.0, 4).astype(np.float32),
        "1.num_batches_tracked": np.array(17, dtype=np.int64),
        "4.weight": rng.standard_normal((5, 144)).astype(np.float32),
        "4.bias": rng.standard_normal(5).astype(np.float32),
    }


def numpy_forward(sd, x):
    n = x.shape[0]
    w = sd["0.weight"]
    conv = np.zeros((n, 4, 6, 6), np.float64)
    for i in range(6):
        for j in range(6):
            conv[:, :, i, j] = np.einsum("nchw,ochw->no", x[:, :, i:i + 3, j:j + 3], w)
    conv += sd["0.bias"][None, :, None, None]
    bn = (conv - sd["1.running_mean"][None, :, None, None]) / np.sqrt(sd["1.running_var"][None, :, None, None] + 1e-5)
    bn = bn * sd["1.weight"][None, :, None, None] + sd["1.bias"][None, :, None, None]
    h = np.maximum(bn, 0).reshape(n, -1)
    return h @ sd["4.weight"].T + sd["4.bias"]


@pytest.mark.parametrize("writer", ["safetensors-library", "deepgrad"])
def test_pytorch_layout_state_dict_loads_and_matches(tmp_path, writer):
    rng = np.random.default_rng(0)
    sd = torch_style_state_dict(rng)
    path = str(tmp_path / "model.safetensors")
    if writer == "safetensors-library":
        st = pytest.importorskip("safetensors.numpy")
        st.save_file(sd, path)
    else:
        dg.serialization.save_safetensors({k: dg.tensor(v) for k, v in sd.items()}, path)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 5))
    assert set(model.state_dict()) == set(sd)  # deepgrad's names are PyTorch's
    model.load_state_dict(load_safetensors(path))
    model.eval()
    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    with dg.no_grad():
        got = model(dg.tensor(x)).numpy()
    np.testing.assert_allclose(got, numpy_forward(sd, x.astype(np.float64)), rtol=1e-4, atol=1e-4)
    assert model[1].num_batches_tracked.item() == 17


def test_wrong_architecture_says_which_keys_differ(tmp_path):
    sd = torch_style_state_dict(np.random.default_rng(1))
    path = str(tmp_path / "model.safetensors")
    dg.serialization.save_safetensors({k: dg.tensor(v) for k, v in sd.items()}, path)
    other = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(288, 5))
    with pytest.raises(RuntimeError, match=r"0\.weight.*\(4, 1, 3, 3\).*\(8, 1, 3, 3\)|size mismatch"):
        other.load_state_dict(load_safetensors(path))
