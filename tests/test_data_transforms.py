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
    RandomAffine,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomShift,
    ToTensor,
    inverse_affine_matrix,
    rotate,
    warp_affine,
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


def _forward_affine(center, angle, t, s, shear_x):
    """T(c + t) R(θ) Sh_x(φ) S(s) T(-c) as a 3x3 matrix, built from the factors (torchvision's convention)."""
    th, ph = np.deg2rad(angle), np.deg2rad(shear_x)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    shear = np.array([[1.0, -np.tan(ph)], [0.0, 1.0]])
    m = np.eye(3)
    m[:2, :2] = rot @ shear * s
    to, back = np.eye(3), np.eye(3)
    to[:2, 2] = np.asarray(center) + np.asarray(t)
    back[:2, 2] = -np.asarray(center)
    return to @ m @ back


def test_inverse_affine_matrix_inverts_the_composed_map():
    angle, tx, ty, s, shx = np.array([0.0, 30.0, -75.0]), [0.0, 2.0, -3.0], [0.0, -1.0, 4.0], [1.0, 0.8, 1.3], \
        [0.0, 10.0, -20.0]
    inv = inverse_affine_matrix((14.0, 14.0), angle, (tx, ty), s, (shx, 0.0))
    assert inv.shape == (3, 2, 3)
    for k in range(3):
        full = np.vstack([inv[k], [0, 0, 1]]) @ _forward_affine((14.0, 14.0), angle[k], (tx[k], ty[k]), s[k], shx[k])
        np.testing.assert_allclose(full, np.eye(3), atol=1e-12)
    # scale alone: source = c + (x - c) / s
    np.testing.assert_allclose(inverse_affine_matrix((4.0, 2.0), 0.0, (0.0, 0.0), 2.0, (0.0, 0.0))[0],
                               [[0.5, 0, 2.0], [0, 0.5, 1.0]])
    # a y-shear keeps the determinant at 1 / s**2
    m = inverse_affine_matrix((0.0, 0.0), 20.0, (0.0, 0.0), 1.5, (10.0, 15.0))[0]
    assert np.linalg.det(m[:, :2]) == pytest.approx(1 / 1.5 ** 2)
    with pytest.raises(ValueError, match="inverse_affine_matrix: scale must be positive"):
        inverse_affine_matrix((0.0, 0.0), 0.0, (0.0, 0.0), 0.0, (0.0, 0.0))


def test_random_affine_rotation_is_clockwise_rotate_and_translation_whole_pixels():
    x = np.random.default_rng(0).random((3, 2, 9, 9)).astype(np.float32)
    turned = RandomAffine((40.0, 40.0), interpolation="bilinear", generator=0).batch(x)
    np.testing.assert_allclose(turned, rotate(x, [-40.0] * 3), atol=1e-5)  # rotate() turns anticlockwise
    t = RandomAffine(0, translate=(0.3, 0.3), interpolation="nearest", fill=-1, generator=5)
    p = RandomAffine(0, translate=(0.3, 0.3), generator=5).get_params(3, (9, 9))
    out = t.batch(x)
    for k in range(3):
        tx, ty = int(p["translate"][0][k]), int(p["translate"][1][k])
        assert abs(tx) <= 3 and abs(ty) <= 3
        shift = np.array([[1.0, 0, -tx], [0, 1.0, -ty]])  # output (i, j) reads source (i - ty, j - tx)
        np.testing.assert_array_equal(out[k], warp_affine(x[k:k + 1], shift[None], "nearest", fill=-1)[0])


def test_random_affine_draws_per_sample_and_in_range():
    x = np.zeros((64, 1, 12, 12), np.float32)
    x[:, :, 3:9, 5:7] = 1.0
    t = RandomAffine(15, translate=(0.1, 0.2), scale=(0.9, 1.1), shear=(-5, 10, -3, 3), generator=1)
    p = t.get_params(500, (12, 12))
    assert np.all(np.abs(p["angle"]) <= 15) and np.all((p["scale"] >= 0.9) & (p["scale"] <= 1.1))
    assert np.all(np.abs(p["translate"][0]) <= 1) and np.all(np.abs(p["translate"][1]) <= 2)
    assert np.all((p["shear"][0] >= -5) & (p["shear"][0] <= 10)) and np.all(np.abs(p["shear"][1]) <= 3)
    assert p["angle"].std() > 5  # independent draws, not one for the batch
    out = RandomAffine(15, scale=(0.9, 1.1), interpolation="bilinear", generator=1).batch(x)
    assert out.shape == x.shape and len({o.tobytes() for o in out}) == 64
    assert out.min() >= 0 and out.max() <= 1 + 1e-6
    assert RandomAffine(10, generator=0)(x[0]).shape == x[0].shape
    u8 = np.full((2, 8, 8), 200, np.uint8)
    same = RandomAffine(20, generator=0).batch(u8)
    assert same.dtype == np.uint8 and same[:, 4, 4].tolist() == [200, 200]


@pytest.mark.parametrize("kwargs, words", [
    ({"degrees": -1}, "degrees must be non-negative"),
    ({"degrees": None}, "degrees is required"),
    ({"degrees": (5, 1)}, "low <= high"),
    ({"degrees": (1, 2, 3)}, "one number or (low, high)"),
    ({"degrees": 0, "translate": (0.5, 2)}, "translate should be two fractions"),
    ({"degrees": 0, "scale": (0, 1)}, "scale should be (low, high)"),
    ({"degrees": 0, "scale": (1.2, 1.1)}, "scale should be (low, high)"),
    ({"degrees": 0, "shear": (1, 2, 3)}, "shear should be a number or 2 or 4 numbers"),
    ({"degrees": 0, "interpolation": "bicubic"}, "interpolation must be"),
])
def test_random_affine_errors(kwargs, words):
    with pytest.raises(ValueError, match="RandomAffine") as e:
        RandomAffine(**kwargs)
    assert words in str(e.value)


def test_random_affine_rejects_a_vector():
    with pytest.raises(ValueError, match="RandomAffine: expected an HW or CHW image"):
        RandomAffine(5, generator=0).batch(np.zeros((4, 7), np.float32))


def test_remap_reads_the_given_points_and_refuses_bad_shapes():
    a = np.arange(2 * 4 * 5, dtype=np.float32).reshape(2, 1, 4, 5)
    i, j = np.meshgrid(np.arange(4, dtype=np.float32), np.arange(5, dtype=np.float32), indexing="ij")
    rows, cols = np.stack([i, i]), np.stack([j, j])
    np.testing.assert_array_equal(transforms.remap(a, rows, cols, "nearest"), a)
    half = transforms.remap(a, rows, cols + 0.5, "bilinear", fill=0)  # halfway between neighbours
    np.testing.assert_allclose(half[..., :-1], (a[..., :-1] + a[..., 1:]) / 2)
    np.testing.assert_allclose(half[..., -1], a[..., -1] / 2)  # the right neighbour is outside: fill 0
    far = transforms.remap(a, rows + 100, cols, "bilinear", fill=-3)
    assert (far == -3).all()
    with pytest.raises(ValueError, match=r"remap: row and col should both be \(N, OH, OW\)"):
        transforms.remap(a, rows[:1], cols[:1])


def test_blur_planes_is_the_separable_gaussian_with_reflected_borders():
    g = transforms.gaussian_kernel1d(5, 1.3)
    assert g.sum() == pytest.approx(1.0) and np.allclose(g, g[::-1]) and g.argmax() == 2
    f = np.random.default_rng(0).random((2, 9, 11))
    padded = np.pad(f, [(0, 0), (2, 2), (2, 2)], mode="reflect")
    want = np.einsum("nij,i,j->n", np.lib.stride_tricks.sliding_window_view(padded, (5, 5), axis=(1, 2))
                     .reshape(-1, 5, 5), g, g).reshape(2, 9, 11)
    np.testing.assert_allclose(transforms.blur_planes(f, 5, 1.3), want, rtol=1e-12)
    const = np.full((1, 6, 6), 2.5)
    np.testing.assert_allclose(transforms.blur_planes(const, 9, 3.0), const)  # reflecting keeps a constant


def test_elastic_transform_fields_per_sample_and_their_size():
    t = transforms.ElasticTransform(alpha=68.0, sigma=4.0, generator=0)
    d = t.get_params(400, (28, 28))
    assert d.shape == (400, 28, 28, 2) and d.dtype == np.float32
    # 34·(G_4 * u) pixels: u uniform in [-1, 1] has std 1/√3; the blur shrinks it about 1/(2√π σ) (about 0.07)
    assert 1.2 < d.std() < 2.2 and abs(d.mean()) < 0.05
    smooth = np.abs(np.diff(d, axis=2)).mean() / np.abs(d).mean()
    assert smooth < 0.2  # neighbours move together: a smooth field, not pixel noise
    assert len({f.tobytes() for f in d[:10]}) == 10  # one field per sample
    none = transforms.ElasticTransform(alpha=0.0, sigma=4.0, generator=0)
    x = np.random.default_rng(1).random((3, 2, 10, 12)).astype(np.float32)
    np.testing.assert_allclose(none.batch(x), x, atol=1e-6)
    out = transforms.ElasticTransform(68.0, 4.0, fill=0, generator=3).batch(x)
    assert out.shape == x.shape and not np.allclose(out, x) and out.min() >= 0 and out.max() <= 1 + 1e-6
    again = transforms.ElasticTransform(68.0, 4.0, fill=0, generator=3).batch(x)
    np.testing.assert_array_equal(out, again)  # the same generator, the same fields
    u8 = np.full((2, 12, 12), 90, np.uint8)
    moved = transforms.ElasticTransform(20.0, 3.0, fill=90, generator=0).batch(u8)
    assert moved.dtype == np.uint8 and (moved == 90).all()
    assert transforms.ElasticTransform(generator=0)(x[0]).shape == x[0].shape


def test_elastic_transform_moves_pixels_by_its_field():
    t = transforms.ElasticTransform(alpha=30.0, sigma=3.0, interpolation="nearest", fill=-1, generator=7)
    x = np.random.default_rng(2).random((2, 1, 16, 16)).astype(np.float32)
    d = transforms.ElasticTransform(alpha=30.0, sigma=3.0, generator=7).get_params(2, (16, 16))
    out = t.batch(x)
    i, j = np.meshgrid(np.arange(16), np.arange(16), indexing="ij")
    for n in range(2):
        r, c = np.rint(i + d[n, ..., 1]).astype(int), np.rint(j + d[n, ..., 0]).astype(int)
        inside = (r >= 0) & (r < 16) & (c >= 0) & (c < 16)
        np.testing.assert_array_equal(out[n, 0][inside], x[n, 0][r[inside], c[inside]])
        assert (out[n, 0][~inside] == -1).all()


@pytest.mark.parametrize("kwargs, words", [
    ({"alpha": -1.0}, "alpha should be a non-negative number or two"),
    ({"sigma": (1.0, 2.0, 3.0)}, "sigma should be a non-negative number or two"),
    ({"alpha": "big"}, "alpha should be"),
    ({"alpha": None}, "alpha should be"),
    ({"sigma": True}, "sigma should be"),
    ({"interpolation": "bicubic"}, "interpolation must be 'bilinear' or 'nearest'"),
])
def test_elastic_transform_errors(kwargs, words):
    with pytest.raises(ValueError, match="ElasticTransform") as e:
        transforms.ElasticTransform(**kwargs)
    assert words in str(e.value)
    with pytest.raises(ValueError, match="ElasticTransform: expected an HW or CHW image"):
        transforms.ElasticTransform(generator=0).batch(np.zeros((4, 7), np.float32))
