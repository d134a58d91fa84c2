"""IDX, MNIST, CIFAR-10 readers and checked downloads, all offline with files written into tmp_path."""
import gzip
import hashlib
import io
import os
import struct
import tarfile

import numpy as np
import pytest

from deepgrad.data import (
    CIFAR10,
    MNIST,
    ChecksumError,
    FashionMNIST,
    IDXError,
    MNISTSample,
    data_root,
    get_dataset,
    read_cifar_binary,
    read_idx,
    write_idx,
)
from deepgrad.data import cifar as cifar_mod
from deepgrad.data import download as download_mod


def _images(n=5):
    return np.random.default_rng(0).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("name", ["a-idx3-ubyte.gz", "a-idx3-ubyte"])
def test_idx_roundtrip_gzip_and_raw(tmp_path, name):
    imgs = _images()
    write_idx(tmp_path / name, imgs)
    raw = (tmp_path / name).read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == name.endswith(".gz")
    out = read_idx(tmp_path / name, expected_magic=0x803)
    assert out.dtype == np.uint8 and out.shape == (5, 28, 28)
    np.testing.assert_array_equal(out, imgs)


def test_idx_other_dtypes_roundtrip(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    write_idx(tmp_path / "f.idx", a)
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx"), a)


def test_idx_wrong_magic(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 16)
    with pytest.raises(IDXError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(IDXError, match="expected 0x00000803"):
        read_idx(tmp_path / "labels", expected_magic=0x803)


def test_idx_truncated_names_file_and_byte_counts(tmp_path):
    payload = struct.pack(">BBBBIII", 0, 0, 8, 3, 10, 28, 28) + bytes(28 * 28 * 10 - 100)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(payload))
    with pytest.raises(IDXError) as err:
        read_idx(path)
    msg = str(err.value)
    assert str(path) in msg and "truncated" in msg and "7840" in msg and "7740" in msg


def test_idx_wrong_dims_and_trailing_bytes(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 2, 3))  # header claims 2 dims, gives 1
    with pytest.raises(IDXError, match="truncated header"):
        read_idx(path)
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes(5))
    with pytest.raises(IDXError, match="trailing bytes"):
        read_idx(path)
    path.write_bytes(gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 3) + bytes(3))[:-6])
    with pytest.raises(IDXError, match="gzip"):
        read_idx(path)


def test_bundled_sample():
    ds = MNISTSample()
    assert ds.data.shape == (7000, 28, 28) and ds.data.dtype == np.uint8
    assert np.bincount(ds.targets).tolist() == [708, 787, 693, 700, 693, 592, 720, 751, 674, 682]
    assert ds.data.max() == 255 and ds.targets.dtype == np.int64
    sizes = {s: len(get_dataset("mnist-sample", split=s)) for s in ("train", "val", "test", "train+val", "all")}
    assert sizes == {"train": 5000, "val": 1000, "test": 1000, "train+val": 6000, "all": 7000}
    test = get_dataset("mnist-sample", split="test")
    np.testing.assert_array_equal(test.targets, ds.targets[6000:])
    x, y = test[0]
    assert x.shape == (1, 28, 28) and x.dtype == np.float32 and 0 <= float(x.min()) <= float(x.max()) <= 1


def _write_mnist(root, n_train=6, n_test=4, gz=True):
    root.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", _images(n))
        write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", (np.arange(n) % 10).astype(np.uint8))


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_from_directory(tmp_path, gz):
    _write_mnist(tmp_path, gz=gz)
    train, test = MNIST(tmp_path), MNIST(tmp_path, train=False)
    assert len(train) == 6 and len(test) == 4
    assert train[1][1] == 1 and train.data.shape == (6, 28, 28)


def test_mnist_missing_files_error(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPGRAD_DATA", str(tmp_path))
    assert data_root("mnist") == tmp_path / "mnist"
    with pytest.raises(FileNotFoundError) as err:
        FashionMNIST()
    msg = str(err.value)
    assert str(tmp_path / "fashion-mnist") in msg and "train-images-idx3-ubyte.gz" in msg
    assert "mnist-sample" in msg


def test_registry_real_dataset_splits(tmp_path):
    _write_mnist(tmp_path, n_train=5010)
    assert len(get_dataset("mnist", "train", data_dir=tmp_path)) == 10
    val = get_dataset("mnist", "val", data_dir=tmp_path)
    assert len(val) == 5000 and val[0][0].shape == (1, 28, 28)


class _FakeResponse(io.BytesIO):
    pass


def _serve(monkeypatch, payload: bytes, calls: list):
    def fake_urlopen(url, timeout):
        calls.append(url)
        return _FakeResponse(payload)

    monkeypatch.setattr(download_mod, "urlopen", fake_urlopen)


def test_download_checksum_mismatch_leaves_nothing_and_keeps_user_files(tmp_path, monkeypatch):
    calls = []
    _serve(monkeypatch, b"not the real file", calls)
    # the user already has the labels (even an odd copy of them): they must survive untouched
    user = tmp_path / "train-labels-idx1-ubyte.gz"
    user.write_bytes(b"user's own bytes")
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz is already there but its md5 is"):
        MNIST(tmp_path, download=True)  # issue 11: an existing file is checked against the published MD5
    assert calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-labels-idx1-ubyte.gz"]
    assert user.read_bytes() == b"user's own bytes"
    user.unlink()
    with pytest.raises(ChecksumError, match="does not match"):
        MNIST(tmp_path, download=True)
    assert len(calls) == 2  # both mirrors tried for the missing images
    assert list(tmp_path.iterdir()) == []


def test_download_true_accepts_existing_files_with_the_published_checksum(tmp_path, monkeypatch):
    write_idx(tmp_path / "x.gz", _images(3))
    digest = hashlib.md5((tmp_path / "x.gz").read_bytes()).hexdigest()
    _serve(monkeypatch, b"never fetched", calls := [])
    assert download_mod.download_file(["https://mirror/x.gz"], tmp_path / "x.gz", digest) == tmp_path / "x.gz"
    assert calls == []


def test_download_good_bytes_are_moved_into_place(tmp_path, monkeypatch):
    write_idx(tmp_path / "src.gz", _images(3))
    payload = (tmp_path / "src.gz").read_bytes()
    os.remove(tmp_path / "src.gz")
    _serve(monkeypatch, payload, [])
    out = download_mod.download_file(["https://mirror/x.gz"], tmp_path / "x.gz", hashlib.sha256(payload).hexdigest())
    assert out.read_bytes() == payload and not list(tmp_path.glob("*.part"))


def _cifar_records(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 10).astype(np.uint8)
    pixels = rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)
    return labels, pixels, np.concatenate([labels[:, None], pixels.reshape(n, -1)], axis=1).tobytes()


def test_cifar_binary_records(tmp_path):
    labels, pixels, raw = _cifar_records(7)
    (tmp_path / "test_batch.bin").write_bytes(raw)
    imgs, lab = read_cifar_binary(tmp_path / "test_batch.bin")
    assert imgs.shape == (7, 32, 32, 3) and lab.tolist() == labels.tolist()
    np.testing.assert_array_equal(imgs[3, :, :, 1], pixels[3, 1])  # HWC: channel 1 = green plane
    ds = CIFAR10(tmp_path, train=False)
    assert len(ds) == 7 and ds[2][1] == 2
    (tmp_path / "test_batch.bin").write_bytes(raw[:-10])
    with pytest.raises(ValueError, match="3073"):
        read_cifar_binary(tmp_path / "test_batch.bin")


def _tar_with(path, members: dict[str, bytes]):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar_archive_extraction(tmp_path, monkeypatch):
    files = {f"cifar-10-batches-bin/data_batch_{i}.bin": _cifar_records(2, i)[2] for i in range(1, 6)}
    files["cifar-10-batches-bin/test_batch.bin"] = _cifar_records(3)[2]
    files["../evil.bin"] = b"x"
    archive = tmp_path / "cifar-10-binary.tar.gz"
    _tar_with(archive, files)
    monkeypatch.setattr(cifar_mod, "_ARCHIVE_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    ds = CIFAR10(tmp_path, train=True)
    assert len(ds) == 10 and not (tmp_path.parent / "evil.bin").exists()
    assert sorted(p.name for p in (tmp_path / "cifar-10-batches-bin").iterdir()) == sorted(
        n.split("/")[-1] for n in files if n.startswith("cifar"))


def test_cifar_refuses_traversal_and_bad_archives(tmp_path, monkeypatch):
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(ValueError, match="not a regular file"):
        cifar_mod.extract_cifar(archive, tmp_path / "out")
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="MD5"):
        CIFAR10(tmp_path)
    assert (tmp_path / "cifar-10-binary.tar.gz").read_bytes() == b"garbage"


def test_cifar_missing_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="mnist-sample"):
        CIFAR10(tmp_path / "none")
