"""Checkpoints without pickle: tensors in the safetensors format, everything else as JSON inside its header.

A safetensors file is ``u64 little-endian header length N`` + ``N`` bytes of JSON header + the raw tensor bytes.
The header maps each tensor name to ``{"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}`` (offsets
into the byte buffer after the header, tensors packed back to back) and may hold ``"__metadata__"``, a map of
strings to strings. :func:`save` stores the structure around the tensors (nested dicts, lists, numbers, strings,
optimiser hyper-parameters, scheduler state, epoch, RNG state) as one JSON document in ``__metadata__["deepgrad"]``
whose tensor leaves name tensors of the file, so a checkpoint is readable by any safetensors reader and loading
never executes code.

BF16 tensors (common in files from PyTorch users) are read and converted to float32, since NumPy has no bfloat16;
deepgrad never writes BF16.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError"]

_TO_ST = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "uint8": "U8", "int16": "I16",
          "int32": "I32", "int64": "I64", "bool": "BOOL"}
_FROM_ST = {v: np.dtype(k) for k, v in _TO_ST.items()}
_TREE_KEY = "deepgrad"
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(ValueError):
    """A file that is not a valid deepgrad/safetensors checkpoint."""


# ------------------------------------------------------------------------------------------------ raw format
def _array_bytes(a: np.ndarray) -> bytes:
    """The array's values as contiguous little-endian bytes."""
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()


def _write_file(path: str, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    """Write a safetensors file atomically: a temporary file in the same directory, fsync, then ``os.replace``."""
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, a in tensors.items():
        if a.dtype.name not in _TO_ST:
            raise TypeError(f"save: tensor {name!r} has dtype {a.dtype}, which deepgrad cannot store; supported: "
                            f"{sorted(_TO_ST)}")
        header[name] = {"dtype": _TO_ST[a.dtype.name], "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # pad so the data starts 8-byte aligned
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(len(head).to_bytes(8, "little"))
            f.write(head)
            for a in tensors.values():
                f.write(_array_bytes(a))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable; not possible on every platform
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _read_file(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Parse and validate a safetensors file; returns (arrays by name, metadata)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        buf = f.read()

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"{path}: {why}")

    if buf[:1] == b"\x80" and buf[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise bad("is not a deepgrad/safetensors checkpoint (it looks like a Python pickle, which deepgrad never "
                  "loads because unpickling can execute code)")
    if buf[:4] == b"PK\x03\x04":
        raise bad("is not a deepgrad/safetensors checkpoint (it is a zip archive, like a torch.save file, which "
                  "holds a pickle that deepgrad never loads because unpickling can execute code); convert it "
                  "with safetensors.torch.save_file(state_dict, path)")
    if len(buf) < 8:
        raise bad(f"is truncated or not a safetensors file ({len(buf)} bytes, shorter than the 8-byte header size)")
    n = int.from_bytes(buf[:8], "little")
    if n > min(len(buf) - 8, _MAX_HEADER):
        raise bad(f"is truncated or not a safetensors file (header size {n} bytes, but the file has "
                  f"{len(buf) - 8} bytes after the size field)")
    try:
        header = json.loads(buf[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"has a corrupt header: not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("has a corrupt header: expected a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise bad("has a corrupt header: __metadata__ must map strings to strings")
    data = memoryview(buf)[8 + n:]
    arrays = {}
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], [int(s) for s in info["shape"]], info["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise bad(f"has a corrupt header entry for tensor {name!r}: {info!r}") from None
        if dtype == "BF16":
            dt = np.dtype("<u2")
        elif dtype in _FROM_ST:
            dt = _FROM_ST[dtype].newbyteorder("<")
        else:
            raise bad(f"tensor {name!r} has dtype {dtype!r}, which deepgrad cannot read; supported: "
                      f"{sorted(_FROM_ST)} and BF16 (read as float32)")
        count = math.prod(shape)
        if not 0 <= begin <= end <= len(data) or end - begin != count * dt.itemsize:
            raise bad(f"tensor {name!r}: data_offsets [{begin}, {end}] do not fit shape {shape} of {dtype} in a "
                      f"data section of {len(data)} bytes (truncated or corrupt file)")
        a = np.frombuffer(data[begin:end], dtype=dt, count=count).reshape(shape)
        if dtype == "BF16":  # bfloat16 is the top half of a float32
            arrays[name] = (a.astype(np.uint32) << 16).view(np.float32)
        else:
            arrays[name] = a.astype(dt.newbyteorder("="), copy=True)
    return arrays, meta


def _place(a: np.ndarray, device: backend.Device) -> Tensor:
    return Tensor._wrap(backend.to_device(a, device) if device.type != "cpu" else a)


def _map_device(map_location, saved: str | None) -> backend.Device:
    if map_location is None:
        dev = backend.Device(saved or "cpu")
        if dev.type == "cuda" and not backend.cuda_available():
            raise RuntimeError(f"load: the checkpoint holds tensors saved on {dev}, but CUDA is not available; pass "
                               "map_location='cpu'")
        return dev
    return backend.Device(map_location)


# ------------------------------------------------------------------------------------------- flat state dicts
def save_safetensors(tensors: dict[str, Any], path: str | os.PathLike, metadata: dict[str, str] | None = None) -> None:
    """Write a flat ``{name: Tensor | ndarray}`` dict as a plain safetensors file (readable by
    ``safetensors.torch.load_file``), atomically. ``metadata`` is an optional map of strings to strings."""
    arrays = {}
    for k, v in tensors.items():
        if not isinstance(k, str):
            raise TypeError(f"save_safetensors: tensor names must be strings, got {k!r}")
        arrays[k] = _as_numpy(v, k)
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("save_safetensors: metadata must map strings to strings")
    _write_file(path, arrays, metadata)


def load_safetensors(path: str | os.PathLike, device: str | None = "cpu") -> dict[str, Tensor]:
    """Read a safetensors file (e.g. from ``safetensors.torch.save_file(model.state_dict(), path)``) as a flat
    ``{name: Tensor}`` dict on ``device``; ``model.load_state_dict(...)`` takes it directly."""
    arrays, _ = _read_file(path)
    dev = backend.Device(device or "cpu")
    return {k: _place(a, dev) for k, a in arrays.items()}


def _as_numpy(v, name: str) -> np.ndarray:
    if isinstance(v, Tensor):
        return np.asarray(backend.to_device(v._data, backend.CPU))
    if isinstance(v, np.ndarray):
        return v
    if backend.is_device_array(v):
        return backend.to_numpy(v)
    raise TypeError(f"save_safetensors: value for {name!r} is a {type(v).__name__}, expected a Tensor or an array")


# ------------------------------------------------------------------------------------------------ checkpoints
# JSON encoding of the structure. Plain JSON for None, bools, ints, finite floats, strings, lists and dicts with
# string keys; a one-key object tagged with one of these names for the rest:
_TAGS = ("__tensor__", "__ndarray__", "__tuple__", "__dict__", "__float__")


def _encode(obj, path: str, tensors: dict[str, np.ndarray]):
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), path, tensors)
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray) or backend.is_device_array(obj):
        name = path or "tensor"
        if name in tensors:
            i = 1
            while f"{name}.{i}" in tensors:
                i += 1
            name = f"{name}.{i}"
        if isinstance(obj, Tensor):
            tensors[name] = _as_numpy(obj, name)
            return {"__tensor__": name, "device": str(obj.device)}
        tensors[name] = _as_numpy(obj, name)
        return {"__ndarray__": name}
    sub = (path + ".") if path else ""
    if isinstance(obj, list):
        return [_encode(v, f"{sub}{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{sub}{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _TAGS for k in obj):
            return {k: _encode(v, sub + k, tensors) for k, v in obj.items()}
        for k in obj:
            if not isinstance(k, str | int | float | bool | tuple) and k is not None:
                raise TypeError(f"save: dict key {k!r} at {path or 'the top level'} is a {type(k).__name__}; keys "
                                "must be strings, numbers, bools, None or tuples of these")
        return {"__dict__": [[_encode(k, "", {}), _encode(v, f"{sub}{k}", tensors)] for k, v in obj.items()]}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'the top level'}; checkpoints hold "
                    "Tensors, arrays, numbers, strings, None, bools and dicts/lists/tuples of these (no pickle)")


def _decode(obj, arrays: dict[str, np.ndarray], map_location, where: str):
    if isinstance(obj, list):
        return [_decode(v, arrays, map_location, where) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) >= 1 and next(iter(obj)) in _TAGS:
        tag, value = next(iter(obj.items()))
        if tag in ("__tensor__", "__ndarray__"):
            if value not in arrays:
                raise CheckpointError(f"{where}: the structure refers to tensor {value!r}, which the file lacks")
            if tag == "__ndarray__":
                return arrays[value]
            return _place(arrays[value], _map_device(map_location, obj.get("device")))
        if tag == "__tuple__":
            return tuple(_decode(v, arrays, map_location, where) for v in value)
        if tag == "__float__":
            return float(value)
        return {_freeze(_decode(k, arrays, map_location, where)): _decode(v, arrays, map_location, where)
                for k, v in value}
    return {k: _decode(v, arrays, map_location, where) for k, v in obj.items()}


def _freeze(k):
    return tuple(_freeze(v) for v in k) if isinstance(k, list | tuple) else k


def save(obj: Any, path: str | os.PathLike) -> None:
    """Save a checkpoint: Tensors, NumPy arrays, numbers, strings, None, bools and dicts/lists/tuples of these,
    e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}``.

    The file is a safetensors file (tensors named by their path in ``obj``, such as ``model.fc.weight``) whose
    metadata holds the rest as JSON. It is written atomically: on any error the previous file at ``path`` stays
    intact and no partial file is left. Tensors are moved to the CPU; their device is recorded for :func:`load`.
    """
    tensors: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", tensors)
    _write_file(path, tensors, {"format": "deepgrad", _TREE_KEY: json.dumps(tree, separators=(",", ":"))})


def load(path: str | os.PathLike, map_location: str | backend.Device | None = None) -> Any:
    """Load a checkpoint written by :func:`save` (or any safetensors file, as a flat ``{name: Tensor}`` dict).

    ``map_location``: ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` puts every tensor there; ``None`` restores each tensor
    to the device it was saved from. Never executes code from the file: no pickle is involved, and pickle or
    ``torch.save`` files are refused with an explanation.
    """
    where = os.fspath(path)
    arrays, meta = _read_file(where)
    if _TREE_KEY not in meta:
        dev = backend.Device(map_location or "cpu")
        return {k: _place(a, dev) for k, a in arrays.items()}
    try:
        tree = json.loads(meta[_TREE_KEY])
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{where}: the checkpoint structure in __metadata__ is not valid JSON ({e})") from None
    return _decode(tree, arrays, map_location, where)
