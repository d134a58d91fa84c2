"""The IDX file format of MNIST-family datasets: a big-endian header, then the raw array.

Header: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64),
the number of dimensions, then one big-endian uint32 per dimension. MNIST labels have magic 0x00000801 (uint8,
1-D), images 0x00000803 (uint8, 3-D). Files may be gzip-compressed (detected from their first bytes).
"""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

__all__ = ["IDXError", "read_idx", "write_idx", "IDX_LABELS_MAGIC", "IDX_IMAGES_MAGIC"]

IDX_LABELS_MAGIC = 0x00000801
IDX_IMAGES_MAGIC = 0x00000803

_TYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {dt.newbyteorder("=").str[1:]: code for code, dt in _TYPES.items()}


class IDXError(ValueError):
    """A file that is not a valid IDX file (or not the one expected)."""


def _read_bytes(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise IDXError(f"{os.fspath(path)}: corrupt or truncated gzip data ({exc})") from None
    return raw


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzip or raw), in native byte order.

    Raises:
        IDXError: the magic number is wrong (or differs from ``expected_magic``), or the payload length does not
            match the dimensions in the header; the message names the file and the byte counts.
    """
    name = os.fspath(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"{name}: too short for an IDX header ({len(raw)} bytes)")
    magic = struct.unpack(">I", raw[:4])[0]
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _TYPES or ndim == 0:
        raise IDXError(f"{name}: not an IDX file (magic number 0x{magic:08X}; expected 0x00000801 for labels or "
                       "0x00000803 for images)")
    if expected_magic is not None and magic != expected_magic:
        raise IDXError(f"{name}: magic number 0x{magic:08X}, expected 0x{expected_magic:08X}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"{name}: truncated header: expected {header} bytes for {ndim} dimensions, found {len(raw)}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = _TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(raw) - header
    if actual != expected:
        what = "truncated" if actual < expected else "has trailing bytes"
        raise IDXError(f"{name}: {what}: the header says shape {dims} of {dtype.newbyteorder('=').name}, i.e. "
                       f"{expected} payload bytes, but the file holds {actual}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``, by default when ``path`` ends in .gz)."""
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=").str[1:]
    if key not in _CODES or a.ndim == 0:
        raise IDXError(f"write_idx: cannot store a {a.ndim}-d array of {a.dtype}; IDX holds uint8, int8, int16, "
                       "int32, float32 or float64 arrays of at least one dimension")
    code = _CODES[key]
    payload = struct.pack(">BBBB", 0, 0, code, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    payload += np.ascontiguousarray(a, dtype=_TYPES[code]).tobytes()
    compress = os.fspath(path).endswith(".gz") if compress is None else compress
    with open(path, "wb") as f:
        f.write(gzip.compress(payload, mtime=0) if compress else payload)
