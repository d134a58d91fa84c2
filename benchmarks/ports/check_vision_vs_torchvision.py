"""Compare deepgrad.vision.transforms.functional and vision.utils with torchvision on the same inputs.

Run: python benchmarks/ports/check_vision_vs_torchvision.py  (needs torch, torchvision, Pillow). Prints the
largest difference per operation, for PIL images (exact pixel agreement expected: both call Pillow) and for
Tensors (float within 1e-5; uint8 within 1 level).
"""
from __future__ import annotations

import sys

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import InterpolationMode as TIM

import deepgrad as dg
from deepgrad.vision.transforms import InterpolationMode as DIM
from deepgrad.vision.transforms import functional as DF

rng = np.random.default_rng(0)
RGB = rng.integers(0, 256, (23, 31, 3)).astype(np.uint8)
GREY = rng.integers(0, 256, (19, 16)).astype(np.uint8)
# Odd sizes: with one odd and one even side a 90-degree nearest rotation samples exactly between two pixels, and
# which one wins then depends on the last bit of float32 arithmetic (torchvision's grid and ours differ there).
FLOAT = rng.random((3, 21, 17)).astype(np.float32)
failures = []


def as_np(x):
    if isinstance(x, Image.Image):
        return np.asarray(x).astype(np.float64)
    if isinstance(x, torch.Tensor):
        return x.numpy().astype(np.float64)
    return x.numpy().astype(np.float64)


checked = []


def check(name, ours, theirs, tol):
    checked.append(name)
    a, b = as_np(ours), as_np(theirs)
    if a.shape != b.shape:
        failures.append(name)
        print(f"FAIL {name}: shape {a.shape} vs torchvision {b.shape}")
        return
    err = float(np.abs(a - b).max()) if a.size else 0.0
    ok = err <= tol
    if not ok:
        failures.append(name)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |diff| {err:.3g}")


CASES = [
    ("resize 12", lambda F, M, x: F.resize(x, 12)),
    ("resize (9, 40) bilinear", lambda F, M, x: F.resize(x, [9, 40])),
    ("resize (40, 50) bilinear up", lambda F, M, x: F.resize(x, [40, 50])),
    ("resize (10, 7) nearest", lambda F, M, x: F.resize(x, [10, 7], M.NEAREST)),
    ("resize (11, 13) bicubic", lambda F, M, x: F.resize(x, [11, 13], M.BICUBIC)),
    ("resize 10 no antialias", lambda F, M, x: F.resize(x, [10, 9], antialias=False)),
    ("resize 14 max_size 20", lambda F, M, x: F.resize(x, 14, max_size=20)),
    ("center_crop 10", lambda F, M, x: F.center_crop(x, 10)),
    ("center_crop (30, 40) pads", lambda F, M, x: F.center_crop(x, [30, 40])),
    ("crop", lambda F, M, x: F.crop(x, 2, 3, 7, 9)),
    ("resized_crop", lambda F, M, x: F.resized_crop(x, 1, 2, 12, 10, [8, 8])),
    ("pad 2 constant 7", lambda F, M, x: F.pad(x, 2, fill=7)),
    ("pad (1, 2, 3, 4) reflect", lambda F, M, x: F.pad(x, [1, 2, 3, 4], padding_mode="reflect")),
    ("pad (3, 1) edge", lambda F, M, x: F.pad(x, [3, 1], padding_mode="edge")),
    ("pad 2 symmetric", lambda F, M, x: F.pad(x, 2, padding_mode="symmetric")),
    ("hflip", lambda F, M, x: F.hflip(x)),
    ("vflip", lambda F, M, x: F.vflip(x)),
    ("rotate 90", lambda F, M, x: F.rotate(x, 90.0)),
    ("rotate 30 bilinear", lambda F, M, x: F.rotate(x, 30.0, M.BILINEAR)),
    ("rotate -17 expand", lambda F, M, x: F.rotate(x, -17.0, expand=True)),
    ("affine", lambda F, M, x: F.affine(x, 15.0, [2, -1], 1.1, [5.0, 3.0])),
    ("affine bilinear", lambda F, M, x: F.affine(x, -25.0, [0, 3], 0.9, 10.0, M.BILINEAR)),
    ("grayscale", lambda F, M, x: F.rgb_to_grayscale(x)),
    ("grayscale 3", lambda F, M, x: F.rgb_to_grayscale(x, 3)),
    ("brightness 1.4", lambda F, M, x: F.adjust_brightness(x, 1.4)),
    ("contrast 0.6", lambda F, M, x: F.adjust_contrast(x, 0.6)),
    ("saturation 1.7", lambda F, M, x: F.adjust_saturation(x, 1.7)),
    ("hue 0.2", lambda F, M, x: F.adjust_hue(x, 0.2)),
    ("hue -0.35", lambda F, M, x: F.adjust_hue(x, -0.35)),
    ("gaussian_blur 5", lambda F, M, x: F.gaussian_blur(x, [5, 5], [1.3, 1.3])),
    ("gaussian_blur (3, 7) default sigma", lambda F, M, x: F.gaussian_blur(x, [3, 7])),
]
COLOUR = ("grayscale", "saturation", "hue")
# uint8 tensors: colour blends and resampling may round a level differently (torchvision's own PIL and tensor
# paths differ by as much); rotations/affines may differ where a sample point falls on a pixel boundary.
TOL = {"pil": 0, "float": 1e-5, "uint8": 1}
ROUNDING = ("rotate", "affine", "resize")


def run(kind, ours, theirs):
    for name, fn in CASES:
        if kind == "pil-grey" and name.startswith(COLOUR):
            continue
        try:
            o = fn(DF, DIM, ours)
        except Exception as exc:  # noqa: BLE001 - report and continue
            failures.append(f"{kind} {name}")
            print(f"FAIL {kind} {name}: {type(exc).__name__}: {exc}")
            continue
        t = fn(TF, TIM, theirs)
        tol = TOL["pil" if kind.startswith("pil") else kind]
        if kind == "pil-rgb" and (name.startswith("hue") or name == "affine bilinear"):
            tol = 1  # Pillow's rounding of the same turn / of an interpolated level from a float matrix
        if kind != "pil-rgb" and kind != "pil-grey" and name.startswith(ROUNDING):
            tol = {"float": 2e-3, "uint8": 2}[kind]
        check(f"{kind} {name}", o, t, tol)


run("pil-rgb", Image.fromarray(RGB), Image.fromarray(RGB))
run("pil-grey", Image.fromarray(GREY), Image.fromarray(GREY))
run("float", dg.tensor(FLOAT), torch.tensor(FLOAT))
run("uint8", dg.tensor(np.moveaxis(RGB, -1, 0).copy()), torch.tensor(np.moveaxis(RGB, -1, 0).copy()))

check("to_tensor pil", DF.to_tensor(Image.fromarray(RGB)), TF.to_tensor(Image.fromarray(RGB)), 1e-7)  # x*(1/255)
check("pil_to_tensor", DF.pil_to_tensor(Image.fromarray(GREY)), TF.pil_to_tensor(Image.fromarray(GREY)), 0)
check("to_pil_image float", DF.to_pil_image(dg.tensor(FLOAT)), TF.to_pil_image(torch.tensor(FLOAT)), 0)
check("normalize", DF.normalize(dg.tensor(FLOAT), [0.4, 0.5, 0.6], [0.2, 0.3, 0.25]),
      TF.normalize(torch.tensor(FLOAT), [0.4, 0.5, 0.6], [0.2, 0.3, 0.25]), 1e-6)

import io  # noqa: E402

import torchvision.utils as TU  # noqa: E402

from deepgrad.vision import utils as DU  # noqa: E402

for shape in [(10, 1, 5, 7), (3, 3, 4, 4), (1, 3, 4, 5), (3, 4, 4), (4, 4), (7, 2, 3, 3)]:
    for kw in [{}, {"nrow": 3, "padding": 1, "pad_value": 0.5}, {"normalize": True},
               {"normalize": True, "value_range": (0.2, 0.7)}, {"normalize": True, "scale_each": True, "padding": 0}]:
        x = rng.normal(size=shape).astype(np.float32)
        check(f"make_grid {shape} {kw}", DU.make_grid(dg.tensor(x), **kw), TU.make_grid(torch.tensor(x), **kw), 1e-6)
x = rng.random((6, 3, 5, 5)).astype(np.float32)
ours, theirs = io.BytesIO(), io.BytesIO()
DU.save_image(dg.tensor(x), ours, format="png", nrow=4)
TU.save_image(torch.tensor(x), theirs, format="png", nrow=4)
check("save_image", Image.open(ours), Image.open(theirs), 0)
print(f"\n{len(checked)} cases, {len(failures)} failure(s)" + (": " + ", ".join(failures) if failures else ""))
sys.exit(1 if failures else 0)
