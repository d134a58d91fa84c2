"""Checkpoints: round trips, atomic writes, corrupt-file errors, pickle refusal and safetensors interop."""
import json
import math
import os
import pickle

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import serialization
from deepgrad.serialization import CheckpointError, load_safetensors, save_safetensors

DTYPES = ["float16", "float32", "float64", "int8", "uint8", "int16", "int32", "int64", "bool"]


def sample(dtype, shape=(2, 3)):
    return (np.arange(math.prod(shape)).reshape(shape) % 3 - 1).astype(dtype)


def test_nested_checkpoint_round_trip(tmp_path):
    w = dg.randn(3, 4, requires_grad=True)
    opt = dg.optim.Adam([w], lr=0.01)
    (w * w).sum().backward()
    opt.step()
    ck = {"model": {"fc.weight": w, "fc.bias": dg.zeros(4)}, "optimizer": opt.state_dict(), "epoch": 3,
          "rng": dg.backend.default_generator.get_state(), "extra": [1, 2.5, "s", None, True, (1, (2, 3))],
          "nonfinite": [float("inf"), float("nan")], "int_keys": {0: "a", (1, 2): "b"},
          "looks_tagged": {"__tensor__": "not a tensor"}, "array": np.arange(4, dtype=np.int16),
          "scalar": np.float32(1.5), "empty": dg.zeros(0, 3)}
    path = tmp_path / "ck.safetensors"
    dg.save(ck, path)
    back = dg.load(path)
    np.testing.assert_array_equal(back["model"]["fc.weight"].detach().numpy(), w.detach().numpy())
    assert back["model"]["fc.weight"].dtype == dg.float32 and back["model"]["fc.weight"].requires_grad  # fault 6
    assert back["model"]["fc.weight"].is_leaf and not back["model"]["fc.bias"].requires_grad
    assert back["epoch"] == 3 and back["extra"] == [1, 2.5, "s", None, True, (1, (2, 3))]
    assert back["rng"] == dg.backend.default_generator.get_state()
    assert back["nonfinite"][0] == math.inf and math.isnan(back["nonfinite"][1])
    assert back["int_keys"] == {0: "a", (1, 2): "b"} and back["looks_tagged"] == {"__tensor__": "not a tensor"}
    assert back["array"].dtype == np.int16 and isinstance(back["array"], np.ndarray)
    assert back["scalar"] == 1.5 and back["empty"].shape == (0, 3)
    opt_sd = back["optimizer"]
    assert opt_sd["param_groups"][0]["betas"] == (0.9, 0.999) and opt_sd["state"][0]["step"] == 1
    np.testing.assert_array_equal(opt_sd["state"][0]["exp_avg"].numpy(), opt.state[w]["exp_avg"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_round_trips(tmp_path, dtype):
    a = sample(dtype)
    dg.save({"t": dg.tensor(a), "scalar": dg.tensor(a[0, 0])}, tmp_path / "d.safetensors")
    back = dg.load(tmp_path / "d.safetensors")
    assert back["t"].dtype == np.dtype(dtype) and back["scalar"].shape == ()
    np.testing.assert_array_equal(back["t"].numpy(), a)


def test_file_layout_is_safetensors(tmp_path):
    dg.save({"w": dg.ones(2, 2), "epoch": 7}, tmp_path / "f.safetensors")
    raw = (tmp_path / "f.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    assert n % 8 == 0
    assert header["w"] == {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    tree = json.loads(header["__metadata__"]["deepgrad"])
    assert tree["epoch"] == 7 and tree["w"]["__tensor__"] == "w"
    assert np.frombuffer(raw[8 + n:], "<f4").tolist() == [1.0] * 4


def test_atomic_write_keeps_old_checkpoint_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    dg.save({"a": dg.ones(3), "b": dg.ones(3), "epoch": 1}, path)
    before = path.read_bytes()
    calls = []
    real = serialization._array_bytes

    def failing(a):
        calls.append(1)
        if len(calls) == 2:  # the header and the first tensor are already written
            raise OSError("disk full")
        return real(a)

    monkeypatch.setattr(serialization, "_array_bytes", failing)
    with pytest.raises(OSError, match="disk full"):
        dg.save({"a": dg.zeros(3), "b": dg.zeros(3), "epoch": 2}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.safetensors"]  # no temporary file left behind
    monkeypatch.undo()
    assert dg.load(path)["epoch"] == 1


def test_unsaveable_objects_fail_before_writing(tmp_path):
    with pytest.raises(TypeError, match="cannot store a object"):
        dg.save({"x": object()}, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


def test_pickle_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    with open(path, "wb") as f:
        pickle.dump({"w": [1.0, 2.0]}, f)
    with pytest.raises(CheckpointError, match="it looks like a Python pickle, which deepgrad never loads because "
                                             "unpickling can execute code"):
        dg.load(path)
    with pytest.raises(CheckpointError, match=str(path)):
        dg.load(path)


def test_zip_archive_is_refused(tmp_path):
    path = tmp_path / "torch.pt"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(CheckpointError, match="zip archive"):
        dg.load(path)


def write_raw(path, header: dict, data: bytes = b"", n=None):
    head = json.dumps(header).encode() if isinstance(header, dict) else header
    path.write_bytes((len(head) if n is None else n).to_bytes(8, "little") + head + data)


@pytest.mark.parametrize("header,data,n,message", [
    ({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, None, "data_offsets"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, None, "do not fit shape"),
    ({"w": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", None, "dtype 'F8_E4M3'"),
    ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, None, "corrupt header entry"),
    (b"{not json", b"", None, "not valid JSON"),
    ({}, b"", 10 ** 6, "truncated"),
])
def test_corrupt_files_give_clear_errors(tmp_path, header, data, n, message):
    path = tmp_path / "bad.safetensors"
    write_raw(path, header, data, n)
    with pytest.raises(CheckpointError) as e:
        dg.load(path)
    assert message in str(e.value) and str(path) in str(e.value)


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / "ck.safetensors"
    dg.save({"w": dg.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        dg.load(path)
    path.write_bytes(b"abc")
    with pytest.raises(CheckpointError, match="shorter than the 8-byte header size"):
        dg.load(path)


def test_map_location(tmp_path):
    dg.save({"w": dg.ones(2)}, tmp_path / "c.safetensors")
    assert dg.load(tmp_path / "c.safetensors", map_location="cpu")["w"].device == "cpu"
    if dg.cuda.is_available():
        assert dg.load(tmp_path / "c.safetensors", map_location="cuda")["w"].device.type == "cuda"


def test_flat_state_dict_helpers(tmp_path):
    sd = {"fc.weight": dg.randn(2, 3), "fc.bias": dg.zeros(2), "steps": dg.tensor([1, 2])}
    save_safetensors(sd, tmp_path / "m.safetensors", metadata={"format": "pt"})
    back = load_safetensors(tmp_path / "m.safetensors")
    assert list(back) == list(sd)
    for k in sd:
        np.testing.assert_array_equal(back[k].numpy(), sd[k].numpy())
    assert dg.load(tmp_path / "m.safetensors").keys() == sd.keys()  # a plain file loads as a flat dict
    with pytest.raises(TypeError, match="metadata must map strings to strings"):
        save_safetensors(sd, tmp_path / "x.safetensors", metadata={"epoch": 3})


def test_interop_with_safetensors_library(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = {f"t_{d}": sample(d, (3, 2)) for d in DTYPES}
    # ours -> library
    dg.save({"model": {k: dg.tensor(v) for k, v in arrays.items()}, "epoch": 4}, tmp_path / "ours.safetensors")
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    assert set(theirs) == {f"model.{k}" for k in arrays}
    for k, v in arrays.items():
        assert theirs[f"model.{k}"].dtype == v.dtype
        np.testing.assert_array_equal(theirs[f"model.{k}"], v)
    # library -> ours (it orders and aligns tensors its own way)
    st.save_file(arrays, str(tmp_path / "lib.safetensors"), metadata={"format": "pt"})
    back = load_safetensors(tmp_path / "lib.safetensors")
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k].numpy(), v)


def test_bf16_is_read_as_float32(tmp_path):
    # bfloat16 bit patterns of 1.5, -2.0, 3.25 (the upper halves of their float32 patterns)
    bits = (np.array([1.5, -2.0, 3.25], np.float32).view(np.uint32) >> 16).astype("<u2")
    write_raw(tmp_path / "bf.safetensors", {"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}},
              bits.tobytes() + b"")
    x = load_safetensors(tmp_path / "bf.safetensors")["x"]
    assert x.dtype == dg.float32 and x.tolist() == [1.5, -2.0, 3.25]
