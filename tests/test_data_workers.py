"""DataLoader worker processes: same batches as num_workers=0, seeding, errors, shutdown, iterable datasets."""
import gc
import multiprocessing
import os
import random
import subprocess
import sys
import time

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.data import (
    ArrayDataset,
    ChainDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    StackDataset,
    TensorDataset,
    get_worker_info,
    transforms,
)

METHODS = [m for m in ("fork", "spawn") if m in multiprocessing.get_all_start_methods()]


def _images(n=40):
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (n, 1, 8, 8)).astype(np.uint8), np.arange(n)


def _augmented():
    x, y = _images()
    return ArrayDataset(x, y, transform=transforms.Compose([transforms.RandomCrop(6, padding=1),
                                                            transforms.RandomHorizontalFlip()]))


def _collect(loader):
    return [tuple(t.numpy().copy() for t in batch) for batch in loader]


def _same(a, b):
    return len(a) == len(b) and all(all(np.array_equal(p, q) for p, q in zip(u, v)) for u, v in zip(a, b))


class PerSample(Dataset):
    """No get_batch (the per-sample path); sample 13 fails when ``fail`` is set."""

    def __init__(self, n=20, fail=False):
        self.n, self.fail = n, fail

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.fail and i == 13:
            raise KeyError(f"no sample {i}")
        return np.full(2, i, np.float32), i


class RandomDraws(Dataset):
    """Each sample reports the worker, Python's, NumPy's global and deepgrad's generator draws."""

    def __len__(self):
        return 8

    def __getitem__(self, i):
        info = get_worker_info()
        return (np.array([-1 if info is None else info.id, -1 if info is None else info.seed]),
                np.array([random.random(), np.random.rand(), float(dg.rand(1).item())]))


class Shard(IterableDataset):
    """0..n-1, split among the workers by get_worker_info()."""

    def __init__(self, n=23):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        first, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(first, self.n, step))

    def __len__(self):
        return self.n


class Crash(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        if get_worker_info() is not None and i == 5:
            os._exit(3)
        return i


class Sleepy(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        time.sleep(1)
        return i


def _mark_init(worker_id):
    np.random.seed(1000 + worker_id)


@pytest.mark.parametrize("method", METHODS)
def test_workers_give_the_batches_of_num_workers_0_in_order(method):
    ds = _augmented()
    inline = DataLoader(ds, batch_size=6, shuffle=True, generator=3)
    workers = DataLoader(ds, batch_size=6, shuffle=True, generator=3, num_workers=2, multiprocessing_context=method)
    for _ in range(2):  # two epochs: new order, new augmentation, still identical
        assert _same(_collect(inline), _collect(workers))


def test_per_sample_path_drop_last_and_collate_fn_through_workers():
    ds = PerSample(23)
    for kwargs in ({"drop_last": True}, {"collate_fn": lambda s: np.stack([x for x, _ in s])}):
        a = list(DataLoader(ds, batch_size=4, shuffle=True, generator=1, **kwargs))
        b = list(DataLoader(ds, batch_size=4, shuffle=True, generator=1, num_workers=3, prefetch_factor=1, **kwargs))
        flat = lambda batches: [np.asarray(v.numpy() if hasattr(v, "numpy") else v) for b in batches  # noqa: E731
                                for v in (b if isinstance(b, tuple | list) else (b,))]
        assert all(np.array_equal(p, q) for p, q in zip(flat(a), flat(b), strict=True))


def test_resume_with_workers_is_bit_identical():
    ds = _augmented()
    full = _collect(DataLoader(ds, batch_size=5, shuffle=True, generator=7))
    loader = DataLoader(ds, batch_size=5, shuffle=True, generator=7, num_workers=2)
    head = []
    for batch in loader:
        head.append(tuple(t.numpy().copy() for t in batch))
        if len(head) == 3:
            break
    state = loader.state_dict()
    resumed = DataLoader(ds, batch_size=5, shuffle=True, generator=0, num_workers=2)
    resumed.load_state_dict(state)
    assert _same(head + _collect(resumed), full)


@pytest.mark.parametrize("method", METHODS)
def test_worker_seeds_are_base_seed_plus_worker_id_for_every_generator(method):
    def draws():
        loader = DataLoader(RandomDraws(), batch_size=2, num_workers=2, generator=5, multiprocessing_context=method)
        return [(who.numpy().copy(), vals.numpy().copy()) for who, vals in loader]

    first, again = draws(), draws()
    assert _same(first, again)  # reproducible from the loader's generator
    ids = np.concatenate([who[:, 0] for who, _ in first])
    seeds = np.concatenate([who[:, 1] for who, _ in first])
    assert ids.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]  # round robin
    assert len(set(seeds[ids == 1] - seeds[ids == 0])) == 1 and (seeds[ids == 1] - seeds[ids == 0])[0] == 1
    base = int(seeds[0])
    for k in (0, 1):
        random.seed(base + k)
        np.random.seed((base + k) % 2**32)
        dg.manual_seed(base + k)
        expected = [random.random(), np.random.rand(), float(dg.rand(1).item())]
        got = np.concatenate([vals for _, vals in first])[ids == k][0]
        np.testing.assert_allclose(got, expected)


def test_worker_init_fn_runs_in_each_worker_after_seeding():
    loader = DataLoader(RandomDraws(), batch_size=4, num_workers=2, worker_init_fn=_mark_init, generator=0)
    (w0, v0), (w1, v1) = [(w.numpy(), v.numpy()) for w, v in loader]
    for worker, vals in ((0, v0), (1, v1)):
        np.random.seed(1000 + worker)
        assert vals[0, 1] == pytest.approx(np.random.rand())


def _alive(pids):
    """The pids still running (an exited process not yet reaped by its new parent counts as gone)."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state not in ("Z", "X"):
            alive.append(pid)
    return alive


def _pool_pids(loader):
    return list(loader._worker_pool.pids) if loader._worker_pool else []


def test_exception_in_worker_names_sample_and_worker_and_keeps_its_type():
    loader = DataLoader(PerSample(20, fail=True), batch_size=4, num_workers=2)
    with pytest.raises(KeyError) as info:
        list(loader)
    message = str(info.value)
    assert "DataLoader worker process 1" in message and "sample 13 of PerSample" in message
    assert "no sample 13" in message
    assert multiprocessing.active_children() == []


def test_exception_without_workers_gets_a_note_naming_the_sample():
    with pytest.raises(KeyError) as info:
        list(DataLoader(PerSample(20, fail=True), batch_size=4))
    assert any("sample 13" in note for note in getattr(info.value, "__notes__", ["sample 13"]))


def test_clean_shutdown_after_an_epoch_an_abandoned_epoch_and_a_crash():
    list(DataLoader(_augmented(), batch_size=8, num_workers=2))
    assert multiprocessing.active_children() == []
    it = iter(DataLoader(_augmented(), batch_size=2, num_workers=2))
    next(it)
    del it
    gc.collect()
    assert multiprocessing.active_children() == []
    with pytest.raises(RuntimeError, match="worker 1 .* exited unexpectedly with exit code 3"):
        list(DataLoader(Crash(), batch_size=1, num_workers=2))
    assert multiprocessing.active_children() == []


def test_persistent_workers_live_across_epochs_and_stop_with_the_loader():
    loader = DataLoader(_augmented(), batch_size=8, shuffle=True, generator=2, num_workers=2, persistent_workers=True)
    inline = DataLoader(_augmented(), batch_size=8, shuffle=True, generator=2)
    assert _same(_collect(loader), _collect(inline))
    pids = _pool_pids(loader)
    assert len(_alive(pids)) == 2
    next(iter(loader))  # an abandoned epoch 1: the workers stay, its late results are dropped
    inline.set_epoch(2)
    assert _same(_collect(loader), _collect(inline))
    assert _pool_pids(loader) == pids
    del loader
    gc.collect()
    deadline = time.monotonic() + 10
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(pids) == []


def test_timeout_raises_when_workers_are_too_slow():
    with pytest.raises(RuntimeError, match="timeout=0.3 seconds"):
        list(DataLoader(Sleepy(), batch_size=1, num_workers=1, timeout=0.3))
    assert multiprocessing.active_children() == []


@pytest.mark.parametrize("num_workers", [0, 3])
def test_iterable_dataset_sharded_with_get_worker_info(num_workers):
    loader = DataLoader(Shard(23), batch_size=4, num_workers=num_workers)
    batches = [y.tolist() for y in loader]
    assert sorted(sum(batches, [])) == list(range(23))
    if num_workers:  # round robin over the workers' own streams, as PyTorch
        assert batches[:3] == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]
    else:
        assert batches[0] == [0, 1, 2, 3]
    assert len(loader) == 6
    assert list(DataLoader(Shard(5), batch_size=None)) == [0, 1, 2, 3, 4]  # default_convert keeps ints
    assert [y.tolist() for y in DataLoader(Shard(10), batch_size=4, drop_last=True)] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_iterable_dataset_refuses_shuffle_and_samplers_and_chains():
    with pytest.raises(ValueError, match="IterableDataset sets its own order"):
        DataLoader(Shard(), shuffle=True)
    assert list(Shard(2) + Shard(3)) == [0, 1, 0, 1, 2]
    assert len(ChainDataset([Shard(2), Shard(3)])) == 5
    with pytest.raises(TypeError, match="ChainDataset"):
        ChainDataset([PerSample()])


def test_stack_dataset():
    a, b = TensorDataset(np.arange(4.0)), PerSample(4)
    assert len(StackDataset(a, b)) == 4 and set(StackDataset(x=a, y=b)[1]) == {"x", "y"}
    with pytest.raises(ValueError, match="same length"):
        StackDataset(a, PerSample(5))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_workers": -1}, "num_workers"),
    ({"prefetch_factor": 2}, "prefetch_factor needs worker processes"),
    ({"num_workers": 2, "prefetch_factor": 0}, "prefetch_factor should be a positive integer"),
    ({"persistent_workers": True}, "persistent_workers=True needs worker processes"),
    ({"num_workers": 1, "timeout": -1}, "timeout"),
    ({"num_workers": 1, "multiprocessing_context": "teleport"}, "not a start method"),
])
def test_worker_arguments_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(PerSample(), **kwargs)


def test_pin_memory_keeps_the_batches():
    ds = _augmented()
    plain = _collect(DataLoader(ds, batch_size=8, generator=0))
    assert _same(_collect(DataLoader(ds, batch_size=8, generator=0, pin_memory=True)), plain)
    assert _same(_collect(DataLoader(ds, batch_size=8, generator=0, pin_memory=True, num_workers=1)), plain)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_batch_size_none_yields_converted_single_samples(num_workers):
    loader = DataLoader(PerSample(5), batch_size=None, num_workers=num_workers)
    samples = list(loader)
    assert len(samples) == 5 and loader.batch_size is None and len(loader) == 5
    x, i = samples[3]
    assert isinstance(x, dg.Tensor) and x.shape == (2,) and i == 3
    with pytest.raises(ValueError, match="batch_size=None"):
        DataLoader(PerSample(5), batch_size=None, drop_last=True)


def test_in_order_false_gives_every_batch():
    loader = DataLoader(PerSample(30), batch_size=4, num_workers=2, in_order=False)
    got = sorted(int(i) for _, idx in loader for i in idx.tolist())
    assert got == list(range(30))


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(
        "import os, signal, sys\n"
        "import numpy as np\n"
        "from deepgrad.data import ArrayDataset, DataLoader\n"
        "loader = DataLoader(ArrayDataset(np.zeros((64, 3), np.float32)), batch_size=4, num_workers=2,\n"
        "                    persistent_workers=True)\n"
        "next(iter(loader))\n"
        "print(' '.join(str(p) for p in loader._worker_pool.pids), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 10
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive(pids) == []
