"""Datasets, samplers, collation and the DataLoader: batching, order reproducibility, resumption, prefetch."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from deepgrad.data import (
    ArrayDataset,
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    transforms,
)


class ListDataset(Dataset):
    """A dataset without get_batch: forces the per-sample path."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def __len__(self):
        return len(self.x)


def _arrays(n=23):
    return np.arange(n * 3, dtype=np.float32).reshape(n, 3), (np.arange(n) % 4).astype(np.uint8)


def _collect(loader):
    return [(x.numpy().copy(), y.numpy().copy()) for x, y in loader]


def test_array_dataset_and_tensor_dataset_index():
    x, y = _arrays()
    ds = ArrayDataset(x, y)
    assert len(ds) == 23 and ds[-1][1] == y[-1]
    np.testing.assert_array_equal(ds[4][0], x[4])
    with pytest.raises(IndexError):
        ds[23]
    td = TensorDataset(dg.tensor(x), dg.tensor(y.astype(np.int64)))
    a, b = td[2]
    assert isinstance(a, dg.Tensor) and a.tolist() == x[2].tolist() and int(b) == 2
    with pytest.raises(ValueError, match="same first dimension"):
        ArrayDataset(x, y[:5])


@pytest.mark.parametrize("batch_size,drop_last,expected", [(5, False, [5, 5, 5, 5, 3]), (5, True, [5, 5, 5, 5]),
                                                          (23, False, [23]), (50, True, [])])
def test_batch_sizes_and_drop_last(batch_size, drop_last, expected):
    x, y = _arrays()
    loader = DataLoader(ArrayDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    assert [len(b[0]) for b in loader] == expected
    assert len(loader) == len(expected)


def test_fast_path_matches_per_sample_path_and_dtypes():
    x, y = _arrays()
    fast = _collect(DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, generator=3))
    slow = _collect(DataLoader(ListDataset(x, y), batch_size=4, shuffle=True, generator=3))
    assert len(fast) == len(slow) == 6
    for (xf, yf), (xs, ys) in zip(fast, slow):
        np.testing.assert_array_equal(xf, xs)
        np.testing.assert_array_equal(yf, ys)
        assert xf.dtype == np.float32 and yf.dtype == np.int64 and ys.dtype == np.int64
    seen = np.concatenate([b[1] for b in fast])
    assert sorted(np.concatenate([b[0][:, 0] for b in fast]).tolist()) == x[:, 0].tolist()
    assert len(seen) == 23


def test_sequential_order_and_tensor_dataset_fast_path():
    x, y = _arrays(10)
    batches = list(DataLoader(TensorDataset(x, y.astype(np.int64)), batch_size=4))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)


def test_shuffle_is_reproducible_and_changes_each_epoch():
    x, y = _arrays(50)
    a = DataLoader(ArrayDataset(x, y), batch_size=7, shuffle=True, generator=11)
    b = DataLoader(ArrayDataset(x, y), batch_size=7, shuffle=True, generator=11)
    e0, e1 = _collect(a), _collect(a)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(e0, _collect(b)))
    assert not all(np.array_equal(p[0], q[0]) for p, q in zip(e0, e1))


def test_default_generator_seeds_the_loader():
    x, y = _arrays(50)
    dg.manual_seed(5)
    first = _collect(DataLoader(ArrayDataset(x, y), batch_size=10, shuffle=True))
    dg.manual_seed(5)
    again = _collect(DataLoader(ArrayDataset(x, y), batch_size=10, shuffle=True))
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(first, again))


@pytest.mark.parametrize("prefetch", [0, 3])
def test_resume_mid_epoch_is_bit_identical_including_augmentation(prefetch):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(40, 6, 6), dtype=np.uint8)
    labels = np.arange(40) % 10
    tf = transforms.Compose([transforms.ToTensor(), transforms.RandomShift(1), transforms.RandomRotation(10)])

    def make():
        return DataLoader(ArrayDataset(images, labels, transform=tf), batch_size=6, shuffle=True, generator=7,
                          prefetch=prefetch)

    ref = make()
    stream = _collect(ref) + _collect(ref)  # two full epochs
    run = make()
    it = iter(run)
    got = [tuple(t.numpy().copy() for t in next(it)) for _ in range(3)]
    state = json.loads(json.dumps(run.state_dict()))
    assert state["epoch"] == 0 and state["position"] == 3
    resumed = make()
    resumed.load_state_dict(state)
    got += _collect(resumed) + _collect(resumed)
    assert len(got) == len(stream) == 14
    for (xa, ya), (xb, yb) in zip(got, stream):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


def test_state_after_full_epoch_points_to_next_epoch():
    x, y = _arrays(10)
    loader = DataLoader(ArrayDataset(x, y), batch_size=5, shuffle=True, generator=1)
    it = iter(loader)
    next(it), next(it)
    assert loader.state_dict()["epoch"] == 1 and loader.state_dict()["position"] == 0
    list(it)
    assert loader.epoch == 1
    iter(loader)  # abandoned: the next iter starts epoch 2
    next(iter(loader))
    assert loader.epoch == 2


def test_prefetch_propagates_errors():
    class Broken(ListDataset):
        def __getitem__(self, i):
            if i == 7:
                raise RuntimeError("bad sample 7")
            return super().__getitem__(i)

    x, y = _arrays(10)
    with pytest.raises(RuntimeError, match="bad sample 7"):
        list(DataLoader(Broken(x, y), batch_size=2, prefetch=2))


def test_prefetch_same_batches_as_inline():
    x, y = _arrays(30)
    a = _collect(DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, generator=2, prefetch=4))
    b = _collect(DataLoader(ArrayDataset(x, y), batch_size=4, shuffle=True, generator=2))
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b)) and len(a) == len(b)


def test_collate_nested_structures():
    samples = [{"x": np.ones(2, np.float32), "meta": (i, float(i), "s")} for i in range(3)]
    batch = default_collate(samples)
    assert batch["x"].shape == (3, 2)
    n, f, s = batch["meta"]
    assert n.dtype == np.int64 and f.dtype == np.float32 and s == ["s", "s", "s"]
    with pytest.raises(TypeError, match="cannot batch"):
        default_collate([object()])


def test_custom_collate_fn_and_batch_sampler():
    x, y = _arrays(9)
    loader = DataLoader(ArrayDataset(x, y), batch_sampler=[[0, 1], [8]], collate_fn=lambda s: len(s))
    assert list(loader) == [2, 1]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ArrayDataset(x, y), batch_size=3, batch_sampler=[[0]])
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(ArrayDataset(x, y), shuffle=True, sampler=SequentialSampler(x))


def test_subset_and_concat_fast_paths():
    x, y = _arrays(12)
    a, b = ArrayDataset(x[:5], y[:5]), ArrayDataset(x[5:], y[5:])
    cat = ConcatDataset([a, b])
    idx = np.array([11, 0, 6, 4, 5])
    xs, ys = cat.get_batch(idx)
    np.testing.assert_array_equal(xs, x[idx])
    np.testing.assert_array_equal(cat[7][0], x[7])
    sub = Subset(a + b, [3, 9, 1])
    np.testing.assert_array_equal(sub.get_batch(np.array([2, 0]))[0], x[[1, 3]])
    assert len(sub) == 3 and sub[1][1] == y[9]


def test_samplers_cover_and_resume():
    ds = range(20)
    assert list(SequentialSampler(ds)) == list(range(20))
    rs = RandomSampler(ds, generator=4)
    e0 = list(rs)
    assert sorted(e0) == list(range(20)) and list(rs) != e0
    clone = RandomSampler(ds, generator=0)
    clone.load_state_dict({"seed": rs.seed, "epoch": 0})
    assert list(clone) == e0
    assert len(list(RandomSampler(ds, replacement=True, num_samples=50, generator=1))) == 50
    sub = list(SubsetRandomSampler([3, 5, 7], generator=0))
    assert sorted(sub) == [3, 5, 7]
    w = list(WeightedRandomSampler([0, 0, 1, 0], num_samples=10, generator=0))
    assert w == [2] * 10
    with pytest.raises(ValueError):
        WeightedRandomSampler([0, 0], num_samples=3)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 17), drop_last=st.booleans(), seed=st.integers(0, 100))
def test_batch_sampler_partitions_every_index(n, batch_size, drop_last, seed):
    bs = BatchSampler(RandomSampler(range(n), generator=seed), batch_size, drop_last)
    batches = list(bs)
    assert len(batches) == len(bs)
    flat = [i for b in batches for i in b]
    assert len(set(flat)) == len(flat)
    assert all(len(b) == batch_size for b in batches[:-1])
    if drop_last:
        assert len(flat) == n - n % batch_size
    else:
        assert sorted(flat) == list(range(n))


def test_loader_device_argument_on_cpu():
    x, y = _arrays(4)
    xb, _ = next(iter(DataLoader(ArrayDataset(x, y), batch_size=2, device="cpu")))
    assert xb.device == dg.device("cpu")


@pytest.mark.cuda
def test_loader_moves_batches_to_cuda(device):
    x, y = _arrays(8)
    xb, yb = next(iter(DataLoader(ArrayDataset(x, y), batch_size=4, device=device)))
    assert str(xb.device).startswith(device) and yb.dtype == np.int64
