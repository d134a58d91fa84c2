"""Transforms: shapes, values, single-sample vs batch agreement, reproducibility."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deepgrad as dg
from deepgrad.data import augmentation_rng, transforms
from deepgrad.data.transforms import (
    Compose,
    Lambda,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
    ToTensor,
    rotate,
)


def test_to_tensor_layouts_and_scaling():
    hw = np.full((4, 5), 255, np.uint8)
    t = ToTensor()(hw)
    assert isinstance(t, dg.Tensor) and t.shape == (1, 4, 5) and t.dtype == np.float32
    assert float(t.max()) == 1.0
    hwc = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    chw = ToTensor()(hwc).numpy()
    np.testing.assert_allclose(chw[1], hwc[:, :, 1] / 255, rtol=1e-6)
    batch = ToTensor().batch(np.zeros((7, 4, 5, 3), np.uint8))
    assert batch.shape == (7, 3, 4, 5)
    assert ToTensor().batch(np.zeros((7, 4, 5), np.uint8)).shape == (7, 1, 4, 5)
    assert float(ToTensor()(np.full((2, 2), 0.5, np.float64)).max()) == 0.5
    with pytest.raises(ValueError, match="HW or HWC"):
        ToTensor()(np.zeros(3))


def test_normalize_values_and_channels():
    x = np.stack([np.full((2, 2), 1.0), np.full((2, 2), 3.0)]).astype(np.float32)
    out = Normalize((1.0, 1.0), (1.0, 2.0))(x)
    assert out.dtype == np.float32 and out[0].max() == 0 and out[1].min() == 1.0
    assert isinstance(Normalize(0.5, 0.5)(dg.tensor(x)), dg.Tensor)
    with pytest.raises(ValueError, match="channels"):
        Normalize((0, 0, 0), (1, 1, 1))(x)
    with pytest.raises(ValueError, match="positive"):
        Normalize(0, 0)


def test_random_crop_padding_and_shift_are_translations():
    img = np.arange(1, 26, dtype=np.float32).reshape(1, 5, 5)
    out = RandomCrop(3, padding=1, generator=0)(img)
    assert out.shape == (1, 3, 3)
    shifted = RandomShift(2, generator=1).batch(np.repeat(img[None], 20, axis=0))
    assert shifted.shape == (20, 1, 5, 5)
    for s in shifted:  # each is img translated by some (dy, dx) with |d| <= 2, zeros elsewhere
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = np.zeros((5, 5), np.float32)
                src = img[0][max(0, -dy):5 - max(0, dy), max(0, -dx):5 - max(0, dx)]
                ref[max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
                found |= np.array_equal(ref, s[0])
        assert found
    assert len({s.tobytes() for s in shifted}) > 3  # independent draws per sample


def test_horizontal_flip():
    img = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(RandomHorizontalFlip(1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(0.0)(img), img)
    flips = RandomHorizontalFlip(0.5, generator=0).batch(np.repeat(img[None], 50, 0))
    n = sum(np.array_equal(f, img[:, ::-1]) for f in flips)
    assert 10 < n < 40


def test_rotation_exact_quarter_turn_and_identity():
    img = np.zeros((5, 5), np.float32)
    img[2, 4] = 1.0  # right of centre
    up = rotate(img[None], [90.0])[0]
    assert up[0, 2] == pytest.approx(1.0, abs=1e-5) and up.sum() == pytest.approx(1.0, abs=1e-5)
    same = rotate(img[None], [0.0], "nearest")[0]
    np.testing.assert_array_equal(same, img)
    u8 = np.full((3, 8, 8), 200, np.uint8)
    out = RandomRotation(15, generator=0).batch(u8)
    assert out.dtype == np.uint8 and out.shape == (3, 8, 8) and out[:, 4, 4].tolist() == [200, 200, 200]


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 3), h=st.integers(4, 12), w=st.integers(4, 12),
       degrees=st.floats(0, 45))
def test_geometric_shapes(n, c, h, w, degrees):
    x = np.random.default_rng(0).random((n, c, h, w)).astype(np.float32)
    for t in (RandomShift(2, generator=0), RandomHorizontalFlip(generator=0), RandomRotation(degrees, generator=0)):
        assert t.batch(x).shape == x.shape
        assert t(x[0]).shape == x[0].shape
    assert RandomCrop((3, 4), padding=1, generator=0).batch(x).shape == (n, c, 3, 4)


def test_compose_batch_matches_types_and_lambda():
    imgs = np.random.default_rng(1).integers(0, 255, (4, 6, 6), np.uint8)
    t = Compose([ToTensor(), Normalize(0.5, 0.5), Lambda(lambda v: v * 2)])
    out = t.batch(imgs)
    assert isinstance(out, dg.Tensor) and out.shape == (4, 1, 6, 6)
    np.testing.assert_allclose(out.numpy()[2], t(imgs[2]).numpy(), rtol=1e-6)
    flat = Lambda(lambda v: v.reshape(len(v), -1), batched=True)
    assert flat.batch(np.zeros((3, 2, 2))).shape == (3, 4)


def test_random_transforms_reproducible_from_seed_and_context():
    x = np.random.default_rng(0).random((8, 1, 9, 9)).astype(np.float32)
    dg.manual_seed(3)
    a = RandomRotation(30).batch(x)
    dg.manual_seed(3)
    b = RandomRotation(30).batch(x)
    np.testing.assert_array_equal(a, b)
    t = RandomShift(3, generator=0)
    with augmentation_rng(np.random.default_rng(9)):
        c = t.batch(x)
    with augmentation_rng(np.random.default_rng(9)):
        d = t.batch(x)
    np.testing.assert_array_equal(c, d)


def test_module_exports():
    assert set(transforms.__all__) >= {"Compose", "ToTensor", "Normalize", "RandomCrop", "RandomShift",
                                       "RandomHorizontalFlip", "RandomRotation", "Lambda"}


@pytest.mark.cuda
def test_batch_transforms_on_gpu(device):
    x = dg.tensor(np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32), device=device)
    for t in (RandomShift(2, generator=0), RandomHorizontalFlip(generator=0), RandomRotation(20, generator=0),
              RandomCrop(6, padding=1, generator=0), Normalize(0.5, 0.2)):
        out = t.batch(x)
        assert out.device == x.device and out.shape[:2] == (4, 1)


def test_warp_affine_identity_translation_and_size():
    from deepgrad.data.transforms import warp_affine

    a = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 5, 6)
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    np.testing.assert_allclose(warp_affine(a, identity[None]), a)
    shift = np.array([[1.0, 0, -2], [0, 1.0, -1]])  # output (i, j) reads source (i - 1, j - 2)
    out = warp_affine(a, np.stack([shift, identity]), "nearest", fill=-1)
    assert np.array_equal(out[0, :, 1:, 2:], a[0, :, :-1, :-2]) and (out[0, :, 0] == -1).all()
    assert np.array_equal(out[1], a[1])
    assert warp_affine(a, identity[None], size=(3, 4)).shape == (2, 3, 3, 4)
