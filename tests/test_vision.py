"""deepgrad.vision: utils (make_grid, save_image), transforms on PIL images and Tensors, datasets, models."""
import gzip
import os
import shutil
from importlib import resources

import numpy as np
import pytest
from PIL import Image

import deepgrad as dg
from deepgrad.data import DataLoader, write_idx
from deepgrad.vision import datasets, models, transforms, utils
from deepgrad.vision.transforms import InterpolationMode
from deepgrad.vision.transforms import functional as F

rng = np.random.default_rng(0)
RGB = rng.integers(0, 256, (13, 17, 3)).astype(np.uint8)


# ------------------------------------------------------------------------------------------------ utils
def test_make_grid_places_images_with_padding():
    x = np.stack([np.full((1, 2, 3), k, np.float32) for k in range(1, 6)])
    grid = utils.make_grid(dg.tensor(x), nrow=3, padding=1, pad_value=-1).numpy()
    assert grid.shape == (3, 2 * 3 + 1, 3 * 4 + 1)
    assert np.array_equal(grid[0], grid[2])  # one channel became three
    assert grid[0, 1, 1] == 1 and grid[0, 1, 5] == 2 and grid[0, 4, 1] == 4 and grid[0, 4, 5] == 5
    assert grid[0, 4, 9] == -1 and grid[0, 0].tolist() == [-1] * 13  # the missing sixth cell and the border
    assert utils.make_grid(dg.tensor(x[:1])).shape == (3, 2, 3)  # one image: no padding


def test_make_grid_normalize_value_range_and_scale_each():
    x = np.stack([np.linspace(0, 1, 4, dtype=np.float32).reshape(1, 2, 2), np.full((1, 2, 2), 3, np.float32)])
    g = utils.make_grid(dg.tensor(x), padding=0, normalize=True).numpy()[0]
    np.testing.assert_allclose(g[:, :2].reshape(-1), np.linspace(0, 1, 4) / 3, rtol=1e-6)
    each = utils.make_grid(dg.tensor(x), padding=0, normalize=True, scale_each=True).numpy()[0]
    np.testing.assert_allclose(each[:, :2].reshape(-1), np.linspace(0, 1, 4), rtol=1e-6)
    ranged = utils.make_grid(dg.tensor(x), padding=0, normalize=True, value_range=(0, 2)).numpy()[0]
    assert ranged[:, 2:].max() == 1.0  # 3 is clipped to the top of the range
    with pytest.raises(ValueError, match="nrow"):
        utils.make_grid(dg.tensor(x), nrow=0)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        utils.make_grid(dg.zeros(1, 1, 1, 2, 2))


def test_save_image_writes_rounded_bytes_atomically(tmp_path):
    x = np.array([[[0.0, 0.5], [1.0, 2.0]]], np.float32)
    path = tmp_path / "one.png"
    utils.save_image(dg.tensor(x), path)
    assert np.asarray(Image.open(path))[..., 0].tolist() == [[0, 128], [255, 255]]
    utils.save_image(dg.rand(5, 3, 4, 4), tmp_path / "grid.jpg", nrow=2)
    assert Image.open(tmp_path / "grid.jpg").size == (2 * 6 + 2, 3 * 6 + 2)
    with pytest.raises(ValueError, match="format"):
        utils.save_image(dg.rand(1, 4, 4), tmp_path / "noext")
    assert sorted(os.listdir(tmp_path)) == ["grid.jpg", "one.png"]  # no temporary files left


# ------------------------------------------------------------------------------------------------ transforms
def _chw(a):
    return dg.tensor(np.moveaxis(a, -1, 0).copy())


def test_to_tensor_to_pil_image_round_trip():
    t = transforms.ToTensor()(Image.fromarray(RGB))
    assert t.shape == (3, 13, 17) and t.dtype == dg.float32
    np.testing.assert_allclose(t.numpy(), np.moveaxis(RGB, -1, 0) / 255, rtol=1e-6)
    back = transforms.ToPILImage()(dg.tensor(np.moveaxis(RGB, -1, 0) / 255 + 1e-4))
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), RGB)
    assert transforms.ToPILImage()(dg.rand(1, 4, 4)).mode == "L"
    assert transforms.PILToTensor()(Image.fromarray(RGB)).dtype == dg.uint8


def test_resize_shorter_edge_and_tensor_matches_pillow():
    img = Image.fromarray(RGB)
    assert transforms.Resize(8)(img).size == (10, 8)  # shorter edge 8, aspect kept (int(8 * 17 / 13) = 10)
    assert transforms.Resize((5, 9))(img).size == (9, 5)
    assert transforms.Resize(8, max_size=9)(img).size == (9, 7)  # long edge 10 > 9: 9 and int(9 * 8 / 10)
    plane = rng.random((13, 17)).astype(np.float32)
    for size, mode, pil in (((6, 7), InterpolationMode.BILINEAR, Image.BILINEAR),
                            ((20, 30), InterpolationMode.BILINEAR, Image.BILINEAR),
                            ((5, 11), InterpolationMode.BICUBIC, Image.BICUBIC)):
        ours = F.resize(dg.tensor(plane[None]), list(size), mode).numpy()[0]
        ref = np.asarray(Image.fromarray(plane, mode="F").resize(size[::-1], pil))
        np.testing.assert_allclose(ours, ref, atol=2e-5)
    const = F.resize(dg.full((2, 5, 5), 0.25), [9, 3]).numpy()
    np.testing.assert_allclose(const, 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="interpolation"):
        F.resize(dg.zeros(1, 4, 4), [2, 2], "sideways")


def test_crops_pad_and_flips_agree_between_pil_and_tensor():
    img, t = Image.fromarray(RGB), _chw(RGB)
    for op in (lambda x: F.center_crop(x, 7), lambda x: F.center_crop(x, [15, 20]), lambda x: F.crop(x, 2, 3, 5, 6),
               lambda x: F.pad(x, [1, 2, 3, 4], fill=9), lambda x: F.pad(x, 2, padding_mode="reflect"),
               lambda x: F.pad(x, [3, 1], padding_mode="edge"), lambda x: F.pad(x, 1, padding_mode="symmetric"),
               F.hflip, F.vflip, lambda x: F.rotate(x, 90.0)):
        assert np.array_equal(np.asarray(op(img)), np.moveaxis(op(t).numpy(), 0, -1))
    big = F.center_crop(t, [15, 20]).numpy()
    assert big[:, 0].max() == 0 and np.array_equal(big[:, 1:14, 1:18], t.numpy())
    reflect = F.pad(t, 2, padding_mode="reflect").numpy()
    assert np.array_equal(reflect, np.pad(t.numpy(), [(0, 0), (2, 2), (2, 2)], mode="reflect"))


def test_rotate_and_affine_on_tensors():
    square = rng.random((1, 9, 9)).astype(np.float32)
    assert np.allclose(F.rotate(dg.tensor(square), 90.0).numpy()[0], np.rot90(square[0]))
    assert np.allclose(F.affine(dg.tensor(square), 0.0, [0, 0], 1.0, 0.0).numpy(), square)
    shifted = F.affine(dg.tensor(square), 0.0, [2, 1], 1.0, 0.0).numpy()[0]
    assert np.allclose(shifted[1:, 2:], square[0, :-1, :-2]) and shifted[0].max() == 0
    assert F.rotate(dg.zeros(1, 10, 20), 90.0, expand=True).shape == (1, 20, 10)
    # inside the image a tensor rotation agrees with Pillow's within one level (at the border Pillow does not blend
    # with the fill, torchvision's tensors and ours do)
    grey = rng.integers(0, 256, (11, 15)).astype(np.uint8)
    pil = np.asarray(F.rotate(Image.fromarray(grey), 33.0, InterpolationMode.BILINEAR)).astype(int)
    ours = F.rotate(dg.tensor(grey[None]), 33.0, InterpolationMode.BILINEAR).numpy()[0].astype(int)
    assert np.abs(pil - ours)[3:-3, 3:-3].max() <= 1


def test_elastic_transform_on_tensors_and_images():
    square = rng.random((2, 9, 11)).astype(np.float32)
    zero = dg.zeros(1, 9, 11, 2)
    np.testing.assert_allclose(F.elastic_transform(dg.tensor(square), zero).numpy(), square, atol=1e-6)
    # a displacement of 2/W in grid units is one pixel to the right: output (i, j) reads (i, j + 1)
    right = np.zeros((1, 9, 11, 2), np.float32)
    right[..., 0] = 2 / 11
    moved = F.elastic_transform(dg.tensor(square), dg.tensor(right), InterpolationMode.NEAREST).numpy()
    assert np.array_equal(moved[:, :, :-1], square[:, :, 1:]) and moved[:, :, -1].max() == 0
    dg.manual_seed(0)
    d = transforms.ElasticTransform.get_params([50.0, 50.0], [5.0, 5.0], [9, 11])
    assert tuple(d.shape) == (1, 9, 11, 2)
    t = transforms.ElasticTransform(alpha=40.0, sigma=4.0)
    assert tuple(t(dg.tensor(square)).shape) == (2, 9, 11)
    grey = Image.fromarray(rng.integers(0, 256, (12, 10)).astype(np.uint8))
    out = t(grey)
    assert out.size == grey.size and out.mode == "L"
    with pytest.raises(ValueError, match=r"elastic_transform: displacement should be \(1, 9, 11, 2\)"):
        F.elastic_transform(dg.tensor(square), dg.zeros(1, 5, 5, 2))
    with pytest.raises(ValueError, match="ElasticTransform: sigma should be a non-negative number"):
        transforms.ElasticTransform(sigma=-1)


def test_grayscale_and_colour_adjustments():
    img, t = Image.fromarray(RGB), _chw(RGB).to(dg.float32) / 255
    assert transforms.Grayscale()(img).mode == "L" and transforms.Grayscale(3)(img).mode == "RGB"
    g = F.rgb_to_grayscale(t).numpy()[0]
    np.testing.assert_allclose(g, (RGB @ [0.2989, 0.587, 0.114]) / 255, rtol=1e-5)
    np.testing.assert_allclose(F.adjust_brightness(t, 0.5).numpy(), t.numpy() * 0.5, rtol=1e-6)
    assert np.allclose(F.adjust_saturation(t, 0.0).numpy(), np.broadcast_to(g, t.shape), atol=1e-6)
    assert np.allclose(F.adjust_contrast(t, 0.0).numpy(), g.mean(), atol=1e-6)
    np.testing.assert_allclose(F.adjust_hue(t, 0.0).numpy(), t.numpy(), atol=1e-6)
    np.testing.assert_allclose(F.adjust_hue(F.adjust_hue(t, 0.3), -0.3).numpy(), t.numpy(), atol=1e-5)
    red = dg.tensor(np.array([1.0, 0.0, 0.0], np.float32).reshape(3, 1, 1))
    np.testing.assert_allclose(F.adjust_hue(red, 1 / 3).numpy().ravel(), [0, 1, 0], atol=1e-6)  # red -> green
    assert np.asarray(F.adjust_brightness(img, 1.0)).tolist() == RGB.tolist()
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(t, 0.7)
    with pytest.raises(ValueError, match="brightness"):
        transforms.ColorJitter(brightness=-1)


def test_random_transforms_follow_manual_seed_and_keep_shapes():
    img = Image.fromarray(RGB)
    pipeline = transforms.Compose([
        transforms.RandomResizedCrop(8), transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(),
        transforms.ColorJitter(0.4, 0.4, 0.4, 0.1), transforms.RandomRotation(20), transforms.RandomGrayscale(0.5),
        transforms.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5),
        transforms.RandomApply([transforms.Pad(1)], p=0.5), transforms.RandomCrop(8, pad_if_needed=True),
        transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    dg.manual_seed(3)
    first = [pipeline(img).numpy() for _ in range(4)]
    dg.manual_seed(3)
    again = [pipeline(img).numpy() for _ in range(4)]
    assert all(a.shape == (3, 8, 8) and np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(first[0], f) for f in first[1:])
    t = _chw(RGB)
    assert transforms.RandomCrop(5, padding=2, padding_mode="edge")(t).shape == (3, 5, 5)
    assert transforms.RandomResizedCrop((4, 6))(t).shape == (3, 4, 6)
    with pytest.raises(ValueError, match="larger than the image"):
        transforms.RandomCrop(40)(img)


def test_gaussian_blur_and_random_erasing():
    x = rng.random((2, 9, 11)).astype(np.float32)
    blurred = F.gaussian_blur(dg.tensor(x), [3, 5], [0.8, 1.1]).numpy()
    kx, ky = (np.exp(-0.5 * (np.arange(-r, r + 1) / s) ** 2) for r, s in ((1, 0.8), (2, 1.1)))
    padded = np.pad(x, [(0, 0), (2, 2), (1, 1)], mode="reflect")
    ref = sum(kx[b] * ky[a] * padded[:, a: a + 9, b: b + 11] for a in range(5) for b in range(3)) / kx.sum() / ky.sum()
    np.testing.assert_allclose(blurred, ref, atol=1e-6)
    img = Image.fromarray(RGB)
    assert np.array_equal(np.asarray(F.gaussian_blur(img, 3, 1.0)),
                          np.moveaxis(F.gaussian_blur(_chw(RGB), 3, 1.0).numpy(), 0, -1))
    assert transforms.GaussianBlur(5, (0.5, 1.5))(img).size == img.size
    with pytest.raises(ValueError, match="odd"):
        transforms.GaussianBlur(4)
    t = dg.rand(3, 20, 20) + 1
    dg.manual_seed(0)
    erased = transforms.RandomErasing(p=1.0, value=(0, 0.5, 0))(t).numpy()
    hole = erased[0] == 0
    assert hole.any() and (erased[1][hole] == 0.5).all() and (t.numpy() >= 1).all()
    rows, cols = np.nonzero(hole)
    assert hole[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1].all()  # one rectangle
    assert transforms.RandomErasing(p=0.0)(t) is t
    with pytest.raises(TypeError, match="Tensor image"):
        transforms.RandomErasing(p=1.0)(img)


def test_normalize_and_lambda():
    x = dg.rand(2, 3, 4, 4)
    out = transforms.Normalize([0.5, 0.4, 0.3], [0.2, 0.2, 0.1])(x).numpy()
    ref = (x.numpy() - np.array([0.5, 0.4, 0.3]).reshape(3, 1, 1)) / np.array([0.2, 0.2, 0.1]).reshape(3, 1, 1)
    np.testing.assert_allclose(out, ref, atol=1e-6)
    y = x.clone()
    assert transforms.Normalize([0.5] * 3, [0.5] * 3, inplace=True)(y) is y
    with pytest.raises(TypeError, match="float Tensor"):
        F.normalize(dg.zeros(3, 2, 2, dtype=dg.uint8), [0.5], [0.5])
    assert transforms.Lambda(lambda v: v * 2)(3) == 6 and transforms.Lambda(abs).lambd is abs


# ------------------------------------------------------------------------------------------------ datasets
def _mnist_root(tmp_path, name="MNIST"):
    raw = tmp_path / name / "raw"
    raw.mkdir(parents=True)
    files = resources.files("deepgrad.data") / "files"
    with resources.as_file(files / "mnist-sample-images-idx3-ubyte.gz") as p:
        with gzip.open(p) as f:
            images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 28, 28)[:300]
    with resources.as_file(files / "mnist-sample-labels-idx1-ubyte.gz") as p:
        with gzip.open(p) as f:
            labels = np.frombuffer(f.read()[8:], np.uint8)[:300]
    for prefix, sl in (("train", slice(0, 200)), ("t10k", slice(200, 300))):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images[sl])
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels[sl])
    return images, labels


def test_mnist_layout_attributes_and_samples(tmp_path):
    images, labels = _mnist_root(tmp_path)
    train = datasets.MNIST(tmp_path, train=True)
    test = datasets.MNIST(str(tmp_path), train=False, transform=transforms.ToTensor())
    assert len(train) == 200 and len(test) == 100
    assert isinstance(train.data, dg.Tensor) and train.data.dtype == dg.uint8 and train.data.shape == (200, 28, 28)
    assert train.targets.dtype == dg.int64 and train.targets.tolist() == labels[:200].tolist()
    image, target = train[3]
    assert isinstance(image, Image.Image) and image.mode == "L" and target == int(labels[3])
    assert np.array_equal(np.asarray(image), images[3])
    assert test[0][0].shape == (1, 28, 28) and train.class_to_idx["3 - three"] == 3
    train.data, train.targets = train.data[:50], train.targets[:50]
    assert len(train) == 50
    with pytest.raises(FileNotFoundError, match="download=True"):
        datasets.MNIST(tmp_path / "elsewhere")


def test_mnist_loader_batch_path_equals_the_pil_path(tmp_path):
    _mnist_root(tmp_path, "FashionMNIST")
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    fast = datasets.FashionMNIST(tmp_path, transform=tf)
    slow = datasets.FashionMNIST(tmp_path, transform=transforms.Compose([tf, transforms.Lambda(lambda x: x)]))
    assert fast.batchable and not slow.batchable
    for (xa, ya), (xb, yb) in zip(DataLoader(fast, batch_size=64, shuffle=True, generator=0),
                                  DataLoader(slow, batch_size=64, shuffle=True, generator=0, num_workers=2)):
        np.testing.assert_allclose(xa.numpy(), xb.numpy(), rtol=1e-6)
        assert ya.dtype == yb.dtype == dg.int64 and np.array_equal(ya.numpy(), yb.numpy())


def test_cifar10_binary_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    records = {}
    for k, name in enumerate([f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]):
        rec = rng.integers(0, 256, (3, 3073)).astype(np.uint8)
        rec[:, 0] = [k % 10, (k + 1) % 10, (k + 2) % 10]
        rec.tofile(folder / name)
        records[name] = rec
    train = datasets.CIFAR10(tmp_path, train=True)
    assert isinstance(train.data, np.ndarray) and train.data.shape == (15, 32, 32, 3) and train.data.dtype == np.uint8
    assert isinstance(train.targets, list) and train.targets[:3] == [0, 1, 2]
    image, target = datasets.CIFAR10(tmp_path, train=False)[1]
    assert image.mode == "RGB" and target == 6
    assert np.array_equal(np.asarray(image), records["test_batch.bin"][1, 1:].reshape(3, 32, 32).transpose(1, 2, 0))
    shutil.rmtree(folder)
    (tmp_path / "cifar-10-batches-py").mkdir()
    with pytest.raises(FileNotFoundError, match="never unpickles"):
        datasets.CIFAR10(tmp_path)


def test_image_folder(tmp_path):
    for cls, n in (("cat", 2), ("dog", 3)):
        (tmp_path / cls).mkdir()
        for k in range(n):
            Image.fromarray(np.full((5, 6, 3), 40 * k, np.uint8)).save(tmp_path / cls / f"{k}.png")
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = datasets.ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.targets == [0, 0, 1, 1, 1] and len(ds.imgs) == 5
    x, y = ds[4]
    assert x.shape == (3, 5, 6) and y == 1 and float(x.max()) == pytest.approx(80 / 255)
    batch, labels = next(iter(DataLoader(ds, batch_size=5)))
    assert batch.shape == (5, 3, 5, 6) and labels.tolist() == [0, 0, 1, 1, 1]
    only = datasets.ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith("0.png"))
    assert len(only) == 2
    augment = transforms.Compose([transforms.RandomResizedCrop(4), transforms.RandomHorizontalFlip(),
                                  transforms.ColorJitter(0.3, 0.3, 0.3, 0.1), transforms.ToTensor()])
    random_ds = datasets.ImageFolder(tmp_path, transform=augment)
    inline = [x.numpy() for x, _ in DataLoader(random_ds, batch_size=2, shuffle=True, generator=4)]
    workers = [x.numpy() for x, _ in DataLoader(random_ds, batch_size=2, shuffle=True, generator=4, num_workers=2)]
    assert all(np.array_equal(a, b) for a, b in zip(inline, workers, strict=True))  # same augmentations
    txt = datasets.DatasetFolder(tmp_path, loader=lambda p: open(p).read(), extensions=(".txt",), allow_empty=True)
    assert txt[0] == ("not an image", 1)
    with pytest.raises(FileNotFoundError, match="cat"):
        datasets.DatasetFolder(tmp_path, loader=open, extensions=(".txt",))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        datasets.ImageFolder(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------ models
def test_models_under_torchvision_names():
    net = models.resnet18(weights=None, num_classes=10).eval()
    keys = set(net.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer4.1.bn2.bias", "fc.weight"} <= keys
    assert net(dg.rand(1, 3, 32, 32)).shape == (1, 10)
    assert set(models.list_models()) >= {"resnet18", "resnet50", "vgg11", "vgg16", "alexnet", "googlenet"}
    with pytest.raises(RuntimeError, match="pretrained weights"):
        models.vgg16(weights="IMAGENET1K_V1")
    with pytest.raises(RuntimeError, match="pretrained weights"):
        models.alexnet(pretrained=True)
    with pytest.raises(TypeError, match="unexpected keyword"):
        models.googlenet(num_clases=3)
    with pytest.raises(ValueError, match="unknown model"):
        models.get_model("resnet9")
