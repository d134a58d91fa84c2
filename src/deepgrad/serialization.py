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

import contextlib
import errno
import json
import math
import os
import secrets
import shutil
import socket
import stat
from collections.abc import Callable
from typing import Any

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["save", "load", "save_safetensors", "load_safetensors", "CheckpointError", "atomic_write", "add_safe_globals",
           "get_safe_globals", "clear_safe_globals", "safe_globals"]

_TO_ST = {"float16": "F16", "float32": "F32", "float64": "F64", "int8": "I8", "uint8": "U8", "int16": "I16",
          "int32": "I32", "int64": "I64", "bool": "BOOL"}
_FROM_ST = {v: np.dtype(k) for k, v in _TO_ST.items()}
_TREE_KEY = "deepgrad"
_MAX_HEADER = 100 * 1024 * 1024
_MAX_DIMS = 32
_MAX_DEPTH = 100  # nesting of the structure inside a checkpoint
_NO_LINK: set[int] = set()  # file systems (st_dev) where an O_TMPFILE file cannot be linked into place
_HOST = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-_") or "host"


class CheckpointError(ValueError):
    """A file that is not a valid deepgrad/safetensors checkpoint."""


# ------------------------------------------------------------------------------------------------ raw format
def _array_bytes(a: np.ndarray) -> bytes:
    """The array's values as contiguous little-endian bytes."""
    return np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()


def _layout(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None) -> bytes:
    """The size field and the JSON header (padded so the data starts 8-byte aligned)."""
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
    head += b" " * (-len(head) % 8)
    return len(head).to_bytes(8, "little") + head


def _write_to(f, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    f.write(_layout(tensors, metadata))
    for a in tensors.values():
        f.write(_array_bytes(a))


def _write_file(path, tensors: dict[str, np.ndarray], metadata: dict[str, str] | None) -> None:
    """Write a safetensors file to a path (atomically, see :func:`atomic_write`) or to a binary file object."""
    if hasattr(path, "write"):
        _write_to(path, tensors, metadata)
        return
    atomic_write(path, lambda f: _write_to(f, tensors, metadata))


def atomic_write(path: str | os.PathLike, write: Callable[[Any], None]) -> None:
    """Create or replace the file at ``path`` with what ``write(binary_file)`` writes, atomically and durably.

    Readers see the old file or the new one, never a mix, and no crash (even SIGKILL) leaves a partial file at
    ``path``. The bytes go to an anonymous file (Linux ``O_TMPFILE``) that gets a name only once complete and
    fsynced: linked straight to ``path`` when it does not exist yet, else linked to ``.NAME.HOST.PID.RANDOM.tmp``
    and renamed over ``path`` at once. Where ``O_TMPFILE`` is missing the bytes go to such a named temporary from
    the start. A process killed between the link and the rename leaves that temporary behind, so each write first
    removes the temporaries of ``path`` left by processes of this host that no longer run (a running writer's are
    never touched). A symlink at ``path`` is followed (its target is written); a new file gets the mode
    ``0o666 & ~umask``, an existing one keeps its mode.
    """
    target = os.path.realpath(os.fspath(path))
    directory, base = os.path.split(target)
    if os.path.isdir(target):
        raise IsADirectoryError(errno.EISDIR, "is a directory, cannot write a checkpoint there", target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"the folder does not exist, cannot write {base} there", directory)
    _remove_stale_temporaries(directory, base)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp = _open_anonymous(directory, base)
    try:
        with os.fdopen(fd, "wb") as f:
            fd = -1  # the file object owns it now
            write(f)
            f.flush()
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
            if tmp is None:  # anonymous: it gets a name only now that it is complete
                tmp = _link_into_place(f.fileno(), directory, base, target, create=mode is None)
        if tmp is not None:
            os.replace(tmp, target)
            tmp = None
    except BaseException:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _temporary_name(directory: str, base: str) -> str:
    return os.path.join(directory, f".{base}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _open_anonymous(directory: str, base: str) -> tuple[int, str | None]:
    """``(fd, None)`` for an unnamed file in ``directory`` (created ``0o666 & ~umask``), or ``(fd, name)`` for a
    named temporary where the platform or the file system cannot name an anonymous file."""
    flag = getattr(os, "O_TMPFILE", 0)
    if flag and os.stat(directory).st_dev not in _NO_LINK:
        try:
            return os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, 0o666), None
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            _NO_LINK.add(os.stat(directory).st_dev)
    return _open_named(directory, base)


def _open_named(directory: str, base: str) -> tuple[int, str]:
    name = _temporary_name(directory, base)
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), name


def _link_fd(fd: int, name: str) -> None:
    """Give the open anonymous file ``fd`` the name ``name``: ``linkat`` through ``/proc/self/fd``, else with
    ``AT_EMPTY_PATH`` (which some sandboxes require). Raises FileExistsError, or OSError when neither works."""
    try:
        os.link(f"/proc/self/fd/{fd}", name, follow_symlinks=True)
        return
    except FileExistsError:
        raise
    except OSError as e:
        first = e
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    at_fdcwd, at_empty_path = -100, 0x1000
    if libc.linkat(fd, b"", at_fdcwd, os.fsencode(name), at_empty_path) == 0:
        return
    err = ctypes.get_errno()
    if err == errno.EEXIST:
        raise FileExistsError(err, os.strerror(err), name)
    raise first


def _link_into_place(fd: int, directory: str, base: str, target: str, create: bool) -> str | None:
    """Give the complete anonymous file ``fd`` a name: ``target`` itself when it is new (then None is returned),
    else a temporary name for the caller to rename over ``target``. Where the file system cannot link it, its
    bytes are copied to a named temporary once and that file system writes named temporaries from then on."""
    try:
        if create:
            try:
                _link_fd(fd, target)
                return None
            except FileExistsError:  # another writer created it meanwhile: replace it like an existing file
                pass
        while True:
            name = _temporary_name(directory, base)
            try:
                _link_fd(fd, name)
                return name
            except FileExistsError:
                continue
    except OSError as e:
        if isinstance(e, FileExistsError) or e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO):
            raise
    _NO_LINK.add(os.fstat(fd).st_dev)
    out, name = _open_named(directory, base)
    try:
        with os.fdopen(out, "wb") as f:
            os.lseek(fd, 0, os.SEEK_SET)
            with open(os.dup(fd), "rb") as src:
                shutil.copyfileobj(src, f)
            f.flush()
            os.fchmod(f.fileno(), stat.S_IMODE(os.fstat(fd).st_mode))
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return name


def _remove_stale_temporaries(directory: str, base: str) -> None:
    """Delete ``.BASE.HOST.PID.*.tmp`` files whose writer (same host, PID) is gone: what a process killed between
    linking and renaming (or, without ``O_TMPFILE``, while writing) left behind."""
    prefix = f".{base}.{_HOST}."
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for n in names:
        pid = n[len(prefix):].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(directory, n))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _fsync_directory(directory: str) -> None:
    """Make the new name durable; not possible on every platform."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _read_bytes(path) -> tuple[bytes, str]:
    """The whole file (a path to a regular file, or a binary file object) and the name errors should use."""
    if hasattr(path, "read"):
        where = str(getattr(path, "name", "<file object>"))
        data = path.read()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise CheckpointError(f"{where}: load needs a binary file object (open(..., 'rb')), got text")
        return bytes(data), where
    where = os.fspath(path)
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except IsADirectoryError:
        raise CheckpointError(f"{where}: is a directory, not a checkpoint file") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device" if
                stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
        raise CheckpointError(f"{where}: is {kind}, not a checkpoint file; deepgrad reads regular files only")
    with os.fdopen(fd, "rb") as f:
        if hasattr(os, "set_blocking"):
            os.set_blocking(f.fileno(), True)
        return f.read(), where


def _read_file(path) -> tuple[dict[str, np.ndarray], dict[str, str], str]:
    """Parse and validate a safetensors file; returns (arrays by name, metadata, the name used in errors)."""
    buf, where = _read_bytes(path)

    def bad(why: str) -> CheckpointError:
        return CheckpointError(f"{where}: {why}")

    # a pickle opens with PROTO 2..5; a safetensors header of 0x280, 0x380, ... bytes opens the same way, but its
    # JSON then starts at byte 8
    looks_safetensors = len(buf) > 8 and buf[8:9] == b"{" and 8 + int.from_bytes(buf[:8], "little") <= len(buf)
    if buf[:1] == b"\x80" and buf[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05") and not looks_safetensors:
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
    header = _parse_json(buf[8:8 + n], bad, "header")
    if not isinstance(header, dict):
        raise bad(f"has a corrupt header: expected a JSON object, got {_kind(header)}")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise bad("has a corrupt header: __metadata__ must map strings to strings")
    data = memoryview(buf)[8 + n:]
    arrays = {name: _tensor_at(name, info, data, bad) for name, info in header.items()}
    return arrays, meta, where


def _parse_json(raw: bytes, bad, what: str):
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad(f"has a corrupt {what}: not valid JSON ({e})") from None
    except RecursionError:
        raise bad(f"has a corrupt {what}: JSON nested too deeply") from None


def _kind(v) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "an integer", float: "a number with a fraction"}.get(type(v), type(v).__name__)


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _tensor_at(name: str, info, data: memoryview, bad) -> np.ndarray:
    """The array described by header entry ``info``, checked field by field."""
    what = f"has a corrupt header entry for tensor {name!r}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        keys = sorted(info) if isinstance(info, dict) else _kind(info)
        raise bad(f"{what}: expected an object with exactly dtype, shape and data_offsets, got {keys}")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str):
        raise bad(f"{what}: dtype must be a string, got {_kind(dtype)}")
    if not isinstance(shape, list) or not all(_is_index(s) for s in shape):
        raise bad(f"{what}: shape must be a list of non-negative integers, got {shape!r}")
    if len(shape) > _MAX_DIMS:
        raise bad(f"{what}: {len(shape)} dimensions, more than the {_MAX_DIMS} deepgrad supports")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_index(o) for o in offsets):
        raise bad(f"{what}: data_offsets must be two non-negative integers [begin, end], got {offsets!r}")
    if dtype == "BF16":
        dt = np.dtype("<u2")
    elif dtype in _FROM_ST:
        dt = _FROM_ST[dtype].newbyteorder("<")
    else:
        raise bad(f"tensor {name!r} has dtype {dtype!r}, which deepgrad cannot read; supported: "
                  f"{sorted(_FROM_ST)} and BF16 (read as float32)")
    begin, end = offsets
    count = math.prod(shape)
    if not begin <= end <= len(data) or end - begin != count * dt.itemsize:
        raise bad(f"tensor {name!r}: data_offsets [{begin}, {end}] do not fit shape {shape} of {dtype} in a "
                  f"data section of {len(data)} bytes (truncated or corrupt file)")
    try:
        a = np.frombuffer(data[begin:end], dtype=dt, count=count).reshape(shape)
    except ValueError as e:  # e.g. a zero-size array with a dimension beyond NumPy's limits
        raise bad(f"{what}: shape {shape} is not representable ({e})") from None
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(dt.newbyteorder("="), copy=True)


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
    arrays, _, _ = _read_file(path)
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


# ------------------------------------------------------------------------------------------- safe globals
_SAFE_GLOBALS: dict[str, type] = {}
_SCOPED: list[dict[str, type]] = []


def _import_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _as_classes(classes, where: str) -> dict[str, type]:
    from .nn.module import Module

    out = {}
    for c in classes:
        if not (isinstance(c, type) and issubclass(c, Module)):
            raise TypeError(f"{where}: expected Module classes (such as MyNet, not MyNet() or 'MyNet'), got {c!r}")
        out[_import_path(c)] = c
    return out


def add_safe_globals(classes) -> None:
    """Allow :func:`load` to rebuild whole Modules of these classes (as ``torch.serialization.add_safe_globals``).

    Rebuilding a Module runs its class's constructor with the saved arguments, so only classes named here (or in
    :func:`safe_globals`) are rebuilt; nothing is ever imported by name from a file.
    """
    _SAFE_GLOBALS.update(_as_classes(classes, "add_safe_globals"))


def get_safe_globals() -> list[type]:
    """The classes allowed by :func:`add_safe_globals`."""
    return list(_SAFE_GLOBALS.values())


def clear_safe_globals() -> None:
    """Forget every class allowed by :func:`add_safe_globals`."""
    _SAFE_GLOBALS.clear()


@contextlib.contextmanager
def safe_globals(classes):
    """``with safe_globals([MyNet]): model = load(path)``: allow these classes inside the block only."""
    _SCOPED.append(_as_classes(classes, "safe_globals"))
    try:
        yield
    finally:
        _SCOPED.pop()


def _allowed(path: str) -> type | None:
    for scope in reversed(_SCOPED):
        if path in scope:
            return scope[path]
    return _SAFE_GLOBALS.get(path)


# ------------------------------------------------------------------------------------------------ checkpoints
# JSON encoding of the structure. Plain JSON for None, bools, ints, finite floats, strings, lists and dicts with
# string keys; a one-key object tagged with one of these names for the rest (a Tensor's tag object may also say
# "device" and "requires_grad"):
_TAGS = ("__tensor__", "__ndarray__", "__tuple__", "__dict__", "__float__", "__module__", "__class__")


def _encode(obj, path: str, tensors: dict[str, np.ndarray], depth: int = 0):
    if depth > _MAX_DEPTH:
        raise ValueError(f"save: the structure is nested more than {_MAX_DEPTH} levels deep at {path}")
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, np.generic):
        return _encode(obj.item(), path, tensors, depth)
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray) or backend.is_device_array(obj):
        name = path or "tensor"
        if name in tensors:
            i = 1
            while f"{name}.{i}" in tensors:
                i += 1
            name = f"{name}.{i}"
        tensors[name] = _as_numpy(obj, name)
        if isinstance(obj, Tensor):
            tag = {"__tensor__": name, "device": str(obj.device)}
            if obj.requires_grad:
                tag["requires_grad"] = True
            return tag
        return {"__ndarray__": name}
    from .nn.module import Module

    if isinstance(obj, Module):
        return {"__module__": _encode_module(obj, path, tensors, depth, with_state=True)}
    sub = (path + ".") if path else ""
    if isinstance(obj, list):
        return [_encode(v, f"{sub}{i}", tensors, depth + 1) for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{sub}{i}", tensors, depth + 1) for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _TAGS for k in obj):
            return {k: _encode(v, sub + k, tensors, depth + 1) for k, v in obj.items()}
        for k in obj:
            if not isinstance(k, str | int | float | bool | tuple) and k is not None:
                raise TypeError(f"save: dict key {k!r} at {path or 'the top level'} is a {type(k).__name__}; keys "
                                "must be strings, numbers, bools, None or tuples of these")
        return {"__dict__": [[_encode(k, "", {}, depth + 1), _encode(v, f"{sub}{k}", tensors, depth + 1)]
                             for k, v in obj.items()]}
    raise TypeError(f"save: cannot store a {type(obj).__name__} at {path or 'the top level'}; checkpoints hold "
                    "Tensors, arrays, numbers, strings, None, bools, Modules and dicts/lists/tuples of these "
                    "(no pickle)")


def _encode_module(m, path: str, tensors: dict, depth: int, with_state: bool) -> dict:
    """A Module as its class's import path, its constructor arguments and (at the top) its state_dict. Modules
    among the arguments are stored the same way, without state: the outer state_dict covers them."""
    from .nn.module import Module

    cls = type(m)
    if "<locals>" in cls.__qualname__:
        raise TypeError(f"save: cannot store the Module {cls.__qualname__} whole: it is defined inside a function, "
                        "so it has no import path; define it at module level or save model.state_dict()")
    args, kwargs = m.__dict__.get("_init_args", ((), {}))

    def arg(v, where):
        if isinstance(v, type) and issubclass(v, Module):  # e.g. ResNet(BasicBlock, [2, 2, 2, 2])
            return {"__class__": _import_path(v)}
        if isinstance(v, Module):
            return {"__module__": _encode_module(v, where, tensors, depth + 1, with_state=False)}
        if isinstance(v, list | tuple):
            items = [arg(x, f"{where}.{i}") for i, x in enumerate(v)]
            return items if isinstance(v, list) else {"__tuple__": items}
        if isinstance(v, dict) and all(isinstance(k, str) and k not in _TAGS for k in v):
            return {k: arg(x, f"{where}.{k}") for k, x in v.items()}
        try:
            return _encode(v, where, tensors, depth + 1)
        except TypeError:
            raise TypeError(f"save: cannot store the Module {cls.__qualname__} whole: its constructor argument "
                            f"{where.rsplit(':', 1)[-1]} is a {type(v).__name__}, which a checkpoint cannot hold "
                            "without pickle; save model.state_dict() instead") from None

    prefix = f"{path or 'module'}:"
    entry = {"class": _import_path(cls), "args": [arg(v, f"{prefix}args.{i}") for i, v in enumerate(args)],
             "kwargs": {k: arg(v, f"{prefix}{k}") for k, v in kwargs.items()}}
    if with_state:
        entry["training"] = m.training
        entry["state"] = _encode(dict(m.state_dict()), (path + "." if path else ""), tensors, depth + 1)
    return entry


class _Decoder:
    """Rebuilds the structure from its JSON form; every malformed part is a :class:`CheckpointError`."""

    def __init__(self, arrays: dict[str, np.ndarray], map_location, where: str) -> None:
        self.arrays, self.map_location, self.where = arrays, map_location, where
        self.refused: list[str] = []

    def bad(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self.where}: {why}")

    def decode(self, obj, depth: int = 0):
        if depth > _MAX_DEPTH:
            raise self.bad(f"the checkpoint structure is nested more than {_MAX_DEPTH} levels deep")
        if isinstance(obj, list):
            return [self.decode(v, depth + 1) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if obj and next(iter(obj)) in _TAGS:
            return self.tagged(next(iter(obj)), obj, depth)
        return {k: self.decode(v, depth + 1) for k, v in obj.items()}

    def tagged(self, tag: str, obj: dict, depth: int):
        value = obj[tag]
        extra = set(obj) - {tag} - ({"device", "requires_grad"} if tag == "__tensor__" else set())
        if extra:
            raise self.bad(f"malformed {tag} entry in the checkpoint structure: unexpected keys {sorted(extra)}")
        if tag in ("__tensor__", "__ndarray__"):
            if not isinstance(value, str):
                raise self.bad(f"malformed {tag} entry: the tensor name must be a string, got {_kind(value)}")
            if value not in self.arrays:
                raise self.bad(f"the structure refers to tensor {value!r}, which the file lacks")
            if tag == "__ndarray__":
                return self.arrays[value]
            return self.tensor(value, obj.get("device"), obj.get("requires_grad", False))
        if tag == "__float__":
            if not isinstance(value, str):
                raise self.bad(f"malformed __float__ entry: expected a string such as 'inf', got {_kind(value)}")
            try:
                return float(value)
            except ValueError:
                raise self.bad(f"malformed __float__ entry: {value!r} is not a number") from None
        if tag == "__module__":
            return self.module(value, depth, top=True)
        if tag == "__class__":
            raise self.bad("malformed __class__ entry: a class may only appear among a Module's arguments")
        if not isinstance(value, list):
            raise self.bad(f"malformed {tag} entry: expected a list, got {_kind(value)}")
        if tag == "__tuple__":
            return tuple(self.decode(v, depth + 1) for v in value)
        out = {}
        for item in value:
            if not isinstance(item, list) or len(item) != 2:
                raise self.bad("malformed __dict__ entry: expected [key, value] pairs")
            key = _freeze(self.decode(item[0], depth + 1))
            try:
                hash(key)
            except TypeError:
                raise self.bad(f"malformed __dict__ entry: the key {key!r} is not hashable") from None
            out[key] = self.decode(item[1], depth + 1)
        return out

    def tensor(self, name: str, device, requires_grad) -> Tensor:
        if device is not None and not isinstance(device, str):
            raise self.bad(f"tensor {name!r}: the device must be a string, got {_kind(device)}")
        if not isinstance(requires_grad, bool):
            raise self.bad(f"tensor {name!r}: requires_grad must be true or false, got {_kind(requires_grad)}")
        try:
            if device is not None:
                backend.Device(device)
        except ValueError as e:
            raise self.bad(f"tensor {name!r}: {e}") from None
        dev = _map_device(self.map_location, device)
        t = _place(self.arrays[name], dev)
        if requires_grad:
            if t.dtype.kind != "f":
                raise self.bad(f"tensor {name!r}: requires_grad is set on a {t.dtype} tensor; only floating point "
                               "tensors can require gradients")
            t.requires_grad_(True)
        return t

    def module(self, entry, depth: int, top: bool):
        if not isinstance(entry, dict) or not {"class", "args", "kwargs"} <= set(entry) or not isinstance(
                entry["class"], str) or not isinstance(entry["args"], list) or not isinstance(entry["kwargs"], dict):
            raise self.bad("malformed __module__ entry: expected {class, args, kwargs[, state]}")
        cls = _allowed(entry["class"])
        if cls is None:
            self.refused.append(entry["class"])
        args = [self.module_arg(v, depth + 1) for v in entry["args"]]
        kwargs = {k: self.module_arg(v, depth + 1) for k, v in entry["kwargs"].items()}
        state = self.decode(entry["state"], depth + 1) if top and "state" in entry else None
        if not top or self.refused:
            return (cls, args, kwargs) if not top else None
        return self.build(cls, args, kwargs, state, entry.get("training", True))

    def module_arg(self, v, depth: int):
        if isinstance(v, dict) and next(iter(v), None) == "__module__" and len(v) == 1:
            return _Rebuild(*self.module(v["__module__"], depth + 1, top=False))
        if isinstance(v, dict) and next(iter(v), None) == "__class__" and len(v) == 1:
            if not isinstance(v["__class__"], str):
                raise self.bad("malformed __class__ entry: expected an import path")
            cls = _allowed(v["__class__"])
            if cls is None:
                self.refused.append(v["__class__"])
            return cls
        if isinstance(v, list):
            return [self.module_arg(x, depth + 1) for x in v]
        if isinstance(v, dict) and next(iter(v), None) == "__tuple__" and isinstance(v["__tuple__"], list):
            return tuple(self.module_arg(x, depth + 1) for x in v["__tuple__"])
        if isinstance(v, dict) and not (v and next(iter(v)) in _TAGS):
            return {k: self.module_arg(x, depth + 1) for k, x in v.items()}
        return self.decode(v, depth + 1)

    def build(self, cls, args, kwargs, state, training):
        def construct(c, a, kw):
            a = [_instantiate(x) for x in a]
            kw = {k: _instantiate(x) for k, x in kw.items()}
            return c(*a, **kw)

        def _instantiate(x):
            if isinstance(x, _Rebuild):
                return construct(x.cls, x.args, x.kwargs)
            if isinstance(x, list):
                return [_instantiate(v) for v in x]
            if isinstance(x, tuple):
                return tuple(_instantiate(v) for v in x)
            if isinstance(x, dict):
                return {k: _instantiate(v) for k, v in x.items()}
            return x

        try:
            m = construct(cls, args, kwargs)
        except Exception as e:
            raise self.bad(f"rebuilding {_import_path(cls)} with its saved arguments failed: {type(e).__name__}: "
                           f"{e}") from None
        if state is not None:
            if not isinstance(state, dict):
                raise self.bad(f"malformed __module__ entry: the state of {_import_path(cls)} is not a dict")
            try:
                m.load_state_dict(state)
            except (RuntimeError, ValueError, TypeError) as e:
                raise self.bad(f"the saved state does not fit {_import_path(cls)}: {e}") from None
        m.train(bool(training))
        return m

    def refusal(self) -> CheckpointError:
        names = sorted(set(self.refused))
        short = ", ".join(n.rsplit(".", 1)[-1] for n in names)
        return self.bad(f"holds whole Modules of classes that are not allowed: {', '.join(names)}. Rebuilding a "
                        "Module runs its constructor, so deepgrad does it only for classes you name: call "
                        f"deepgrad.serialization.add_safe_globals([{short}]) or load inside "
                        f"`with deepgrad.serialization.safe_globals([{short}]):` (or save model.state_dict() and "
                        "load that into a model you build)")


class _Rebuild:
    """A Module among another Module's constructor arguments, to be built (from allowed classes) before it."""

    def __init__(self, cls: type, args: list, kwargs: dict) -> None:
        self.cls, self.args, self.kwargs = cls, args, kwargs


def _freeze(k):
    return tuple(_freeze(v) for v in k) if isinstance(k, list | tuple) else k


def save(obj: Any, f: str | os.PathLike | Any) -> None:
    """Save a checkpoint: Tensors, NumPy arrays, numbers, strings, None, bools, Modules and dicts/lists/tuples of
    these, e.g. ``{"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}`` or ``model`` itself.

    The file is a safetensors file (tensors named by their path in ``obj``, such as ``model.fc.weight``) whose
    metadata holds the rest as JSON. ``f`` is a path, written atomically (see :func:`atomic_write`: on any error or
    crash the previous file stays intact and no partial file is left; a symlink's target is written; the mode
    follows the umask, an existing file keeps its own), or a binary file object, written in place. Tensors are
    moved to the CPU; their device and ``requires_grad`` are recorded for :func:`load`. A whole Module is stored as
    its class's import path, the arguments its constructor was called with and its state_dict (no pickle);
    :func:`load` rebuilds it only for classes allowed with :func:`add_safe_globals`.
    """
    tensors: dict[str, np.ndarray] = {}
    tree = _encode(obj, "", tensors)
    _write_file(f, tensors, {"format": "deepgrad", _TREE_KEY: json.dumps(tree, separators=(",", ":"))})


def load(f: str | os.PathLike | Any, map_location: str | backend.Device | None = None,
         weights_only: bool | None = None) -> Any:
    """Load a checkpoint written by :func:`save` (or any safetensors file, as a flat ``{name: Tensor}`` dict) from
    a path to a regular file or a binary file object.

    ``map_location``: ``'cpu'``, ``'cuda'`` or ``'cuda:N'`` puts every tensor there; ``None`` restores each tensor
    to the device it was saved from. Never executes code from the file: no pickle is involved (pickle and
    ``torch.save`` files are refused with an explanation), so every load is what PyTorch calls
    ``weights_only=True``, whatever ``weights_only`` says; whole Modules are rebuilt only for classes allowed with
    :func:`add_safe_globals` or :func:`safe_globals`. Every malformed file raises :class:`CheckpointError` naming it.
    """
    arrays, meta, where = _read_file(f)
    if _TREE_KEY not in meta:
        try:
            dev = backend.Device(map_location or "cpu")
        except ValueError as e:
            raise ValueError(f"load: {e}") from None
        return {k: _place(a, dev) for k, a in arrays.items()}
    tree = _parse_json(meta[_TREE_KEY].encode("utf-8", "surrogatepass"), lambda why: CheckpointError(
        f"{where}: {why}"), "checkpoint structure in __metadata__")
    decoder = _Decoder(arrays, map_location, where)
    out = decoder.decode(tree)
    if decoder.refused:
        raise decoder.refusal()
    return out
