"""Synthetic datasets, splitting helpers and the dataset registry."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepgrad.data import (
    KFold,
    StratifiedKFold,
    dataset_info,
    get_dataset,
    list_datasets,
    random_split,
    synthetic,
    train_val_test_split,
)

CLASSIFIERS = [synthetic.xor, synthetic.circles, synthetic.gaussians, synthetic.spirals, synthetic.moons]


@pytest.mark.parametrize("fn", CLASSIFIERS)
def test_classification_sets_shapes_labels_determinism(fn):
    x, y = fn(n_samples=101, noise=0.05, seed=4)
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.shape == (101,) and y.dtype == np.int64
    assert set(y.tolist()) == {0, 1} and abs(np.bincount(y)[0] - np.bincount(y)[1]) <= 1
    x2, y2 = fn(n_samples=101, noise=0.05, seed=4)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(x, fn(n_samples=101, noise=0.05, seed=5)[0])
    assert np.abs(x).max() < 2


@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 300), k=st.integers(2, 6))
def test_multiclass_sets_are_balanced(n, k):
    for fn in (synthetic.gaussians, synthetic.spirals):
        _, y = fn(n_samples=n, n_classes=k, seed=0)
        counts = np.bincount(y, minlength=k)
        assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_xor_and_circles_labels_follow_geometry_without_noise():
    x, y = synthetic.xor(200, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] > 0).astype(np.int64))
    x, y = synthetic.circles(200, seed=0)
    r = np.hypot(x[:, 0], x[:, 1])
    assert r[y == 0].max() <= 0.5 + 1e-6 and r[y == 1].min() >= 0.7 - 1e-6


def test_regression_sets():
    x, y = synthetic.rosenbrock(100, grid=True)
    assert x.shape == (100, 2) and y.shape == (100, 1) and y.dtype == np.float32
    i = np.argmin(np.abs(x[:, 0] - 1) + np.abs(x[:, 1] - 1))
    f = 100 * (x[i, 1] - x[i, 0] ** 2) ** 2 + (1 - x[i, 0]) ** 2
    assert y[i, 0] == pytest.approx(f, rel=1e-5)
    x, y = synthetic.rosenbrock(50, seed=1)
    assert x[:, 0].min() >= -2 and x[:, 1].max() <= 3
    x, y = synthetic.sine(64, seed=0)
    np.testing.assert_allclose(y[:, 0], np.sin(x[:, 0]), atol=1e-6)
    img = synthetic.surface_image(32)
    assert img.shape == (32, 32) and img.min() == 0 and img.max() == 1
    np.testing.assert_array_equal(img, synthetic.surface_image(32))
    x, y = synthetic.image_surface(size=16)
    assert x.shape == (256, 2) and y.shape == (256, 1) and x.min() == -1 and x.max() == 1
    assert y[0, 0] == synthetic.surface_image(16)[0, 0]  # row-major from the top-left pixel
    x, y = synthetic.image_surface(image=np.full((4, 4), 255, np.uint8), n_samples=10, seed=2)
    assert x.shape == (10, 2) and np.all(y == 1)


def test_random_split_counts_fractions_disjoint():
    parts = random_split(range(10), [3, 7], generator=1)
    idx = np.concatenate([p.indices for p in parts])
    assert sorted(idx.tolist()) == list(range(10))
    assert [len(p) for p in random_split(range(11), [0.5, 0.5], generator=0)] == [6, 5]
    a = random_split(range(10), [5, 5], generator=3)[0].indices
    np.testing.assert_array_equal(a, random_split(range(10), [5, 5], generator=3)[0].indices)
    with pytest.raises(ValueError, match="sum"):
        random_split(range(10), [3, 3])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 80), k=st.integers(2, 8), shuffle=st.booleans())
def test_kfold_partitions(n, k, shuffle):
    if n < k:
        with pytest.raises(ValueError):
            list(KFold(k).split(n))
        return
    folds = list(KFold(k, shuffle=shuffle, seed=0).split(np.zeros((n, 2))))
    assert len(folds) == k
    vals = np.concatenate([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(n))
    sizes = [len(v) for _, v in folds]
    assert sizes == sorted(sizes, reverse=True) and max(sizes) - min(sizes) <= 1
    for tr, v in folds:
        assert len(np.intersect1d(tr, v)) == 0 and len(tr) + len(v) == n


def test_kfold_like_sklearn_and_stratified():
    assert [v.tolist() for _, v in KFold(3).split(8)] == [[0, 1, 2], [3, 4, 5], [6, 7]]
    y = np.array([0] * 10 + [1] * 20)
    for tr, v in StratifiedKFold(5, shuffle=True, seed=1).split(y, y):
        assert np.bincount(y[v]).tolist() == [2, 4]
        assert len(tr) == 24
    with pytest.raises(ValueError, match="labels"):
        list(StratifiedKFold(3).split(10))


def test_train_val_test_split_plain_and_stratified():
    tr, va, te = train_val_test_split(100, seed=0)
    assert (len(tr), len(va), len(te)) == (80, 10, 10)
    assert len(np.unique(np.concatenate([tr, va, te]))) == 100
    labels = np.repeat(np.arange(4), 25)
    parts = train_val_test_split(list(range(100)), (0.6, 0.2, 0.2), seed=1, stratify=labels)
    for p, share in zip(parts, (15, 5, 5)):
        assert np.bincount(labels[p.indices]).tolist() == [share] * 4
    again = train_val_test_split(100, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


def test_registry():
    names = list_datasets()
    assert names == ["mnist-sample", "mnist", "fashion-mnist", "cifar10", "xor", "circles", "gaussians", "spirals",
                     "moons", "rosenbrock", "sine", "image-surface"]
    with pytest.raises(KeyError, match="mnist-sample"):
        get_dataset("imagenet")
    with pytest.raises(ValueError, match="no split"):
        get_dataset("mnist-sample", split="dev")
    tr = get_dataset("spirals", "train", n_samples=200, n_classes=3, seed=2)
    va, te = get_dataset("spirals", "val", n_samples=200, n_classes=3, seed=2), get_dataset("spirals", "test",
                                                                                            n_samples=200,
                                                                                            n_classes=3, seed=2)
    assert (len(tr), len(va), len(te)) == (160, 20, 20)
    full = get_dataset("spirals", "all", n_samples=200, n_classes=3, seed=2)
    rows = {r.tobytes() for r in full.arrays[0]}
    assert all(r.tobytes() in rows for ds in (tr, va, te) for r in ds.arrays[0])
    assert dataset_info("mnist-sample").input_shape == (1, 28, 28)
    assert dataset_info("rosenbrock").task == "regression"
    assert get_dataset("image-surface", "all", size=8).arrays[1].shape == (64, 1)
