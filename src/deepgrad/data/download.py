"""Downloads that are checked before they are used.

A file is fetched into a temporary file beside its destination, its checksum (MD5 or SHA-256) compared with the
published one, and only then moved into place with ``os.replace``. A bad or failed download leaves nothing behind
and never touches a file the user already has.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

__all__ = ["DownloadError", "ChecksumError", "data_root", "file_digest", "verify_file", "download_file"]

_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """No mirror gave a file with the expected checksum."""


class ChecksumError(DownloadError):
    """A file's checksum differs from the published one."""


def urlopen(url: str, timeout: float):
    """Open ``url`` (a module-level hook so tests can serve local bytes instead of the network)."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - https/http mirrors only


def data_root(name: str, root: str | os.PathLike | None = None) -> Path:
    """Where dataset ``name`` lives: ``root`` if given, else ``$DEEPGRAD_DATA/<name>``, else
    ``~/.cache/deepgrad/<name>``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("DEEPGRAD_DATA")
    if env:
        return Path(env).expanduser() / name
    return Path.home() / ".cache" / "deepgrad" / name


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _algorithm(checksum: str) -> str:
    algorithm = {32: "md5", 64: "sha256"}.get(len(checksum))
    if algorithm is None:
        raise ValueError(f"checksum {checksum!r} is neither an MD5 (32 hex digits) nor a SHA-256 (64 hex digits)")
    return algorithm


def verify_file(path: str | os.PathLike, checksum: str) -> Path:
    """Check an existing file against its published ``checksum`` (MD5 or SHA-256): returns the path, or raises
    :class:`ChecksumError` saying what was found (the file is left untouched)."""
    algorithm = _algorithm(checksum)
    digest = file_digest(path, algorithm)
    if digest != checksum.lower():
        raise ChecksumError(f"{path} is already there but its {algorithm} is {digest}, not the published {checksum} "
                            "(a truncated or different file); it was left untouched: delete it to download it again")
    return Path(path)


def download_file(urls: Sequence[str], dest: str | os.PathLike, checksum: str, timeout: float = 60.0) -> Path:
    """Fetch ``dest`` from the first mirror in ``urls`` that serves bytes with ``checksum`` (MD5 or SHA-256).

    An existing ``dest`` is never overwritten: it is checked against ``checksum`` (:func:`verify_file`) and
    returned. Raises :class:`DownloadError` (or :class:`ChecksumError` when only bad bytes arrived, or the existing
    file differs) naming every mirror tried.
    """
    dest = Path(dest)
    if dest.exists():
        return verify_file(dest, checksum)
    algorithm = _algorithm(checksum)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures, bad_checksum = [], False
    for url in urls:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
        try:
            h = hashlib.new(algorithm)
            with os.fdopen(fd, "wb") as out, urlopen(url, timeout) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if h.hexdigest() != checksum.lower():
                bad_checksum = True
                failures.append(f"{url}: {algorithm} {h.hexdigest()} does not match the published {checksum}")
                continue
            if dest.exists():  # appeared meanwhile (another process): keep it
                return dest
            os.replace(tmp, dest)
            return dest
        except (urllib.error.URLError, OSError, ValueError) as exc:
            failures.append(f"{url}: {exc}")
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    kind = ChecksumError if bad_checksum else DownloadError
    raise kind(f"could not download {dest.name} into {dest.parent}:\n  " + "\n  ".join(failures))
