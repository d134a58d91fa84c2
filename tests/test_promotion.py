"""Type promotion against PyTorch's table (tests/fixtures/promotion.json, written by make_promotion_table.py)."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import deepgrad as dg
import deepgrad.nn.functional as F

TABLE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "promotion.json").read_text())
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
PAIRS = [(a, b) for a in DTYPES for b in DTYPES]
SCALARS = {"int": 3, "float": 2.5, "bool": True}


def ones(dt: str, shape=(2,)):
    return dg.ones(shape, dtype=dt) if hasattr(dg, "ones") else dg.tensor(np.ones(shape, dtype=dt))


def apply(op: str, a, b):
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "maximum":
        return dg.maximum(a, b)
    if op == "where":
        return dg.where(dg.tensor(True), a, b)
    if op == "eq_compute":
        return a == b
    raise ValueError(op)


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types_matches_pytorch(a, b):
    assert str(dg.promote_types(np.dtype(a), np.dtype(b))) == TABLE["promote_types"][f"{a},{b}"]


@pytest.mark.parametrize("op", ["add", "mul", "div", "maximum", "where", "eq_compute"])
@pytest.mark.parametrize("tier", ["tensor_tensor", "tensor_zero_dim"])
def test_binary_ops_over_every_dtype_pair(op, tier):
    wrong = []
    for a, b in PAIRS:
        x, y = ones(a), ones(b, (2,) if tier == "tensor_tensor" else ())
        got = str(apply(op, x, y).dtype)
        if got != TABLE[tier][f"{op}:{a},{b}"]:
            wrong.append(f"{a},{b}: {got} != {TABLE[tier][f'{op}:{a},{b}']}")
    assert not wrong, wrong


@pytest.mark.parametrize("op", ["add", "mul", "div", "where"])
@pytest.mark.parametrize("scalar", list(SCALARS))
def test_python_scalars_never_widen(op, scalar):
    wrong = []
    for a in DTYPES:
        got = str(apply(op, ones(a), SCALARS[scalar]).dtype)
        if got != TABLE["tensor_scalar"][f"{op}:{a},{scalar}"]:
            wrong.append(f"{a}: {got}")
    assert not wrong, wrong


def test_the_issue_examples():
    assert (dg.tensor([1, 2]) + dg.tensor([0.5, 0.5])).dtype == dg.float32  # int64 + float32
    assert (dg.tensor([1, 2]) / dg.tensor([2, 2])).dtype == dg.float32  # int / int -> default float
    assert (dg.tensor([1.0], dtype=dg.float16) * 2.5).dtype == dg.float16
    assert (dg.tensor([1]) * 2.5).dtype == dg.float32
    assert (2.5 * dg.tensor([1])).dtype == dg.float32
    assert (dg.tensor([True]) + 1).dtype == dg.int64
    assert dg.result_type(dg.tensor([1], dtype=dg.int32), 5) == dg.int32


def test_promotion_is_differentiable_and_casts_back():
    x = dg.tensor([1.0, 2.0], dtype=dg.float32, requires_grad=True)
    y = dg.tensor([3.0, 4.0], dtype=dg.float64, requires_grad=True)
    z = x * y
    assert z.dtype == dg.float64
    z.sum().backward()
    assert x.grad.dtype == dg.float32 and y.grad.dtype == dg.float64
    np.testing.assert_allclose(x.grad.numpy(), [3, 4])


def test_cat_promotes():
    out = dg.cat([dg.tensor([1, 2]), dg.tensor([0.5])])
    assert out.dtype == dg.float32
    np.testing.assert_allclose(out.numpy(), [1, 2, 0.5])


def test_reductions_of_integers():
    assert dg.tensor([1, 2], dtype=dg.uint8).sum().dtype == dg.int64
    assert dg.tensor([True, True]).sum().item() == 2
    assert dg.tensor([2, 3], dtype=dg.int32).prod().dtype == dg.int64
    with pytest.raises(TypeError, match="mean"):
        dg.tensor([1, 2]).mean()


def test_unary_float_functions_of_integers_give_the_default_float():
    assert dg.tensor([1, 2]).exp().dtype == dg.float32
    assert dg.tensor([4]).sqrt().dtype == dg.float32


@pytest.mark.parametrize("a,b", [("float32", "float64"), ("float64", "float32"), ("float16", "float32")])
def test_matmul_linear_conv_refuse_mixed_float_dtypes_with_one_sentence(a, b):
    x32, w = dg.randn(2, 3).to(a), dg.randn(4, 3).to(b)
    for call in (lambda: x32 @ w.T, lambda: dg.mm(x32, w.T), lambda: F.linear(x32, w),
                 lambda: F.conv2d(dg.randn(1, 1, 4, 4).to(a), dg.randn(1, 1, 3, 3).to(b)),
                 lambda: F.conv1d(dg.randn(1, 1, 4).to(a), dg.randn(1, 1, 3).to(b))):
        with pytest.raises(dg.DTypeError, match=f"has dtype {a} but .* has dtype {b}; they must match"):
            call()


def test_inplace_keeps_the_destination_dtype_and_refuses_a_lower_category():
    x = dg.zeros(2, dtype=dg.float32)
    x += dg.tensor([1.0, 2.0], dtype=dg.float64)
    assert x.dtype == dg.float32
    i = dg.tensor([1, 2])
    with pytest.raises(dg.DTypeError, match="add_: the result has dtype float32"):
        i += 0.5
    i += 1
    assert i.tolist() == [2, 3]


# Integer overflow: PyTorch 2.14's results (two's complement modulo 2^bits; a Python int is taken modulo 2^bits
# first for arithmetic and comparisons), written out so the test needs no PyTorch.
U8 = [1, 200]
WRAPS = [
    ("uint8 + 10", lambda u: u + 10, [11, 210]),
    ("uint8 + 60", lambda u: u + 60, [61, 4]),
    ("uint8 * 2", lambda u: u * 2, [2, 144]),
    ("uint8 - 20", lambda u: u - 20, [237, 180]),
    ("uint8 + uint8", lambda u: u + u, [2, 144]),
    ("uint8 * uint8", lambda u: u * u, [1, 64]),
    ("uint8 + 300", lambda u: u + 300, [45, 244]),
    ("uint8 - 300", lambda u: u - 300, [213, 156]),
    ("uint8 + -1", lambda u: u + (-1), [0, 199]),
    ("uint8 * 257", lambda u: u * 257, [1, 200]),
    ("uint8 + 2**63", lambda u: u + 2 ** 63, [1, 200]),
    ("maximum(uint8, 300)", lambda u: dg.maximum(u, 300), [44, 200]),
    ("uint8 == 257", lambda u: u == 257, [True, False]),
    ("uint8 < 300", lambda u: u < 300, [True, False]),
    ("uint8 / 300", lambda u: u / 300, [1 / 300, 200 / 300]),
    ("uint8 += 300", lambda u: u.add_(300), [45, 244]),
]


@pytest.mark.parametrize("name,f,want", WRAPS, ids=[w[0] for w in WRAPS])
def test_integer_arithmetic_wraps_as_pytorch(name, f, want):
    u = dg.tensor(U8, dtype=dg.uint8)
    got = f(u)
    assert got.dtype == (dg.float32 if "/" in name else dg.bool_ if isinstance(want[0], bool) else dg.uint8)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_signed_integers_wrap_as_pytorch():
    assert (dg.tensor([127], dtype=dg.int8) + 1).tolist() == [-128]
    assert (dg.tensor([1], dtype=dg.int8) + 200).tolist() == [-55]
    assert (dg.tensor([1], dtype=dg.int8) - 200).tolist() == [57]
    assert (dg.tensor([2 ** 31 - 1], dtype=dg.int32) + 1).tolist() == [-(2 ** 31)]
    assert (dg.tensor([1]) + 2 ** 63).tolist() == [-(2 ** 63) + 1]


@pytest.mark.parametrize("op,call", [
    ("where", lambda u: dg.where(dg.tensor([True, False]), u, 300)),
    ("masked_fill", lambda u: u.masked_fill(u > 0, 300)),
    ("fill_", lambda u: u.fill_(300)),
    ("pow", lambda u: u ** 300),
    ("add", lambda u: u + 2 ** 64),
])
def test_a_number_that_does_not_fit_is_refused_where_pytorch_refuses_it(op, call):
    with pytest.raises(dg.DTypeError, match=rf"{op}: the number \d+ does not fit in a tensor of dtype uint8 \(0..255\)"):
        call(dg.tensor(U8, dtype=dg.uint8))
