"""Registry entries for the tensor ops (deepgrad.ops)."""
import math
import statistics

import numpy as np

import deepgrad as dg
from harness import Spec as S
from harness import case

P = "positive"
BCAST = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (3,)), ((1,), (2, 3))]

for i, (sa, sb) in enumerate(BCAST):
    v = f"{sa}x{sb}"
    case("add", lambda a, b: a + b, [sa, sb], np.add, variant=v, gradgrad=i == 0)
    case("sub", lambda a, b: a - b, [sa, sb], np.subtract, variant=v)
    case("mul", lambda a, b: a * b, [sa, sb], np.multiply, variant=v, gradgrad=i < 2)
    case("div", lambda a, b: a / b, [sa, S(sb, P)], np.divide, variant=v, gradgrad=i == 0)
    case("pow", lambda a, b: a ** b, [S(sa, P), sb], np.power, variant=v, gradgrad=i == 0)
    case("maximum", dg.maximum, [sa, sb], np.maximum, variant=v)
    case("minimum", dg.minimum, [sa, sb], np.minimum, variant=v)

case("add", lambda a: a + 2.5, [(3, 4)], lambda a: a + 2.5, variant="scalar")
case("rsub", lambda a: 2.5 - a, [(3, 4)], lambda a: 2.5 - a, variant="scalar")
case("mul", lambda a: 3 * a, [(3, 4)], lambda a: 3 * a, variant="scalar")
case("rdiv", lambda a: 2.0 / a, [S((3, 4), P)], lambda a: 2.0 / a, variant="scalar", gradgrad=True)
case("pow", lambda a: a ** 3, [(3, 4)], lambda a: a ** 3, variant="scalar", gradgrad=True)
case("pow", lambda a: a ** 2, [S((3, 4), noncontig=True)], lambda a: a ** 2, variant="square-noncontig", gradgrad=True)
case("rpow", lambda a: 2.0 ** a, [(3, 4)], lambda a: 2.0 ** a, variant="scalar")
case("neg", lambda a: -a, [(3, 4)], np.negative)
case("reciprocal", dg.reciprocal, [S((3,), P)], np.reciprocal)
case("rsqrt", dg.rsqrt, [S((3,), P)], lambda a: 1 / np.sqrt(a))
case("square", dg.square, [(2, 3)], np.square)

UNARY = {
    "exp": (dg.exp, np.exp, "float"), "log": (dg.log, np.log, P), "log1p": (dg.log1p, np.log1p, P),
    "expm1": (dg.expm1, np.expm1, "float"), "sqrt": (dg.sqrt, np.sqrt, P), "sin": (dg.sin, np.sin, "float"),
    "cos": (dg.cos, np.cos, "float"), "tanh": (dg.tanh, np.tanh, "float"),
    "sigmoid": (dg.sigmoid, lambda a: 1 / (1 + np.exp(-a)), "float"), "relu": (dg.relu, lambda a: np.maximum(a, 0), "float"),
    "erf": (dg.erf, np.vectorize(math.erf), "float"), "abs": (dg.abs, np.abs, "float"),
    "erfinv": (dg.erfinv, np.vectorize(lambda y: statistics.NormalDist().inv_cdf((y + 1) / 2) / math.sqrt(2)), "unit"),
}
for name, (fn, ref, kind) in UNARY.items():
    case(name, fn, [S((3, 4), kind)], ref, gradgrad=name not in ("relu", "abs"))
    case(name, fn, [S((), kind)], ref, variant="0d")
    case(name, fn, [S((2, 5), kind, noncontig=True)], ref, variant="noncontig")

case("clamp", lambda a: dg.clamp(a, -0.5, 0.7), [(4, 5)], lambda a: np.clip(a, -0.5, 0.7))
case("clamp", lambda a: a.clamp(min=0.1), [(4, 5)], lambda a: np.maximum(a, 0.1), variant="min")
case("clamp", lambda a, lo: dg.clamp(a, min=lo), [(4, 5), (5,)], lambda a, lo: np.maximum(a, lo), variant="tensor")
case("where", lambda c, a, b: dg.where(c, a, b), [S((3, 4), "bool"), (3, 4), (4,)], np.where)
case("masked_fill", lambda a, m: a.masked_fill(m, -1.0), [(3, 4), S((4,), "bool")],
     lambda a, m: np.where(m, -1.0, a))

# reductions
for dims, kd in [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)]:
    v = f"dim={dims},keepdim={kd}"
    case("sum", lambda a, d=dims, k=kd: a.sum(d, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: a.sum(axis=d, keepdims=k), variant=v)
    case("mean", lambda a, d=dims, k=kd: a.mean(d, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: a.mean(axis=d, keepdims=k), variant=v)
    case("amax", lambda a, d=dims, k=kd: a.amax(d, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: a.max(axis=d, keepdims=k), variant=v)
    case("var", lambda a, d=dims, k=kd: a.var(d, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: a.var(axis=d, keepdims=k, ddof=1), variant=v, gradgrad=dims is None)
    case("std", lambda a, d=dims, k=kd: a.std(d, correction=0, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: a.std(axis=d, keepdims=k), variant=v)
    case("logsumexp", lambda a, d=dims, k=kd: a.logsumexp(d, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: np.log(np.exp(a).sum(axis=d, keepdims=k)), variant=v)
    case("norm", lambda a, d=dims, k=kd: a.norm(dim=d, keepdim=k), [(2, 3, 4)],
         lambda a, d=dims, k=kd: np.sqrt((a * a).sum(axis=d, keepdims=k)), variant=v)
case("sum", lambda a: a.sum(), [()], np.sum, variant="0d")
case("sum", lambda a: a.sum(0), [S((3, 4), noncontig=True)], lambda a: a.sum(0), variant="noncontig")
case("max", lambda a: a.max(1).values, [(3, 5)], lambda a: a.max(1), variant="dim")
case("min", lambda a: a.min(0, keepdim=True)[0], [(3, 5)], lambda a: a.min(0, keepdims=True), variant="dim")
case("max", lambda a: a.max(), [(3, 5)], np.max, variant="all")
case("prod", lambda a: a.prod(1), [S((3, 4), P)], lambda a: a.prod(1))
case("prod", lambda a: a.prod(), [S((2, 3), P)], np.prod, variant="all")
case("cumsum", lambda a: a.cumsum(1), [(3, 4)], lambda a: a.cumsum(1), gradgrad=True)
case("norm", lambda a: a.norm(p=1, dim=1), [(3, 4)], lambda a: np.abs(a).sum(1), variant="p=1")
case("norm", lambda a: a.norm(p=3, dim=1), [(3, 4)], lambda a: (np.abs(a) ** 3).sum(1) ** (1 / 3), variant="p=3")

# matmul: every case of numpy.matmul
for sa, sb in [((4,), (4,)), ((4,), (4, 3)), ((2, 4), (4,)), ((2, 4), (4, 3)), ((5, 2, 4), (4, 3)),
               ((5, 2, 4), (5, 4, 3)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,))]:
    case("matmul", lambda a, b: a @ b, [sa, sb], np.matmul, variant=f"{sa}@{sb}", gradgrad=sa == (2, 4) and sb == (4, 3))
case("matmul", lambda a, b: a @ b.T, [S((3, 4), noncontig=True), (5, 4)], lambda a, b: a @ b.T, variant="transposed")
case("einsum", lambda a, b: dg.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 5)],
     lambda a, b: np.einsum("bij,bjk->bik", a, b), gradgrad=True)
case("einsum", lambda a, b: dg.einsum("ij,k->ik", a, b), [(2, 3), (4,)], lambda a, b: np.einsum("ij,k->ik", a, b),
     variant="outer-sum")
case("einsum", lambda a, b: dg.einsum("...ij,...jk", a, b), [(2, 3, 4), (4, 5)],
     lambda a, b: np.einsum("...ij,...jk", a, b), variant="ellipsis")
case("einsum", lambda a: dg.einsum("ijk->j", a), [(2, 3, 4)], lambda a: np.einsum("ijk->j", a), variant="reduce")

# movement
case("reshape", lambda a: a.reshape(4, -1), [(2, 3, 4)], lambda a: a.reshape(4, -1))
case("reshape", lambda a: a.reshape(6), [S((2, 3), noncontig=True)], lambda a: a.reshape(6), variant="noncontig")
case("flatten", lambda a: a.flatten(1), [(2, 3, 4)], lambda a: a.reshape(2, -1))
case("permute", lambda a: a.permute(2, 0, 1), [(2, 3, 4)], lambda a: a.transpose(2, 0, 1))
case("transpose", lambda a: a.transpose(0, 2), [(2, 3, 4)], lambda a: a.swapaxes(0, 2))
case("T", lambda a: a.T, [(2, 3)], lambda a: a.T)
case("mT", lambda a: a.mT, [(2, 3, 4)], lambda a: a.swapaxes(-1, -2))
case("squeeze", lambda a: a.squeeze(), [(2, 1, 3, 1)], np.squeeze)
case("unsqueeze", lambda a: a.unsqueeze(-1), [(2, 3)], lambda a: a[..., None])
case("expand", lambda a: a.expand(2, 3, 4), [(3, 1)], lambda a: np.broadcast_to(a, (2, 3, 4)))
case("sum_to", lambda a: a.sum_to((3, 1)), [(2, 3, 4)], lambda a: a.sum(axis=(0, 2), keepdims=True)[0])
case("cat", lambda a, b: dg.cat([a, b], 1), [(2, 3), (2, 4)], lambda a, b: np.concatenate([a, b], 1))
case("stack", lambda a, b: dg.stack([a, b], -1), [(2, 3), (2, 3)], lambda a, b: np.stack([a, b], -1))
case("split", lambda a: a.split([1, 3], 1)[1], [(2, 4)], lambda a: a[:, 1:])
case("chunk", lambda a: a.chunk(3, 0)[2], [(7, 2)], lambda a: a[6:])
case("flip", lambda a: a.flip((0, 1)), [(2, 3)], lambda a: a[::-1, ::-1])
case("roll", lambda a: a.roll(2, 1), [(2, 5)], lambda a: np.roll(a, 2, 1))
case("roll", lambda a: a.roll(1), [(2, 3)], lambda a: np.roll(a, 1), variant="flat")
case("repeat", lambda a: a.repeat(2, 1, 3), [(2, 3)], lambda a: np.tile(a, (2, 1, 3)))
for mode, npmode in [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")]:
    case("pad", lambda a, m=mode: dg.pad(a, (1, 2, 2, 1), mode=m), [(2, 4, 5)],
         lambda a, m=npmode: np.pad(a, ((0, 0), (2, 1), (1, 2)), mode=m), variant=mode)

# indexing
case("getitem", lambda a: a[1:, ::2], [(3, 5)], lambda a: a[1:, ::2], variant="slice", gradgrad=True)
case("getitem", lambda a: a[..., 1, None], [(2, 3, 4)], lambda a: a[..., 1, None], variant="int-none")
case("getitem", lambda a: a[[0, 2, 0]], [(3, 4)], lambda a: a[[0, 2, 0]], variant="int-array-repeat")
case("getitem", lambda a, i: a[i, 1:], [(5, 3), S((4,), "int", 0, 5)], lambda a, i: a[i, 1:], variant="tensor-index")
case("getitem", lambda a, m: a[m], [(3, 4), S((3, 4), "bool")], lambda a, m: a[m], variant="bool-mask")
case("index_select", lambda a, i: a.index_select(1, i), [(3, 4), S((5,), "int", 0, 4)],
     lambda a, i: np.take(a, i, axis=1))
case("gather", lambda a, i: a.gather(1, i), [(3, 4), S((3, 2), "int", 0, 4)],
     lambda a, i: np.take_along_axis(a, i, 1), gradgrad=True)
case("take_along_dim", lambda a, i: dg.take_along_dim(a, i, 0), [(3, 4), S((2, 4), "int", 0, 3)],
     lambda a, i: np.take_along_axis(a, i, 0))


def _scatter_add_ref(a, i, s):
    out = a.copy()
    for r in range(i.shape[0]):
        for c in range(i.shape[1]):
            out[r, i[r, c]] += s[r, c]
    return out


case("scatter_add", lambda a, i, s: a.scatter_add(1, i, s), [(3, 4), S((3, 5), "int", 0, 4), (3, 5)], _scatter_add_ref)

# fused activations
case("softmax", lambda a: a.softmax(-1), [(3, 5)], lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True),
     gradgrad=True)
case("softmax", lambda a: a.softmax(0), [(3, 5)], lambda a: np.exp(a) / np.exp(a).sum(0, keepdims=True), variant="dim0")
case("log_softmax", lambda a: a.log_softmax(1), [(3, 5)],
     lambda a: a - np.log(np.exp(a).sum(1, keepdims=True)), gradgrad=True)
case("to", lambda a: a.to(dg.float32 if a.dtype == dg.float64 else dg.float64).to(a.dtype), [(3,)],
     lambda a: a.astype(np.float32).astype(a.dtype), grad=False)
case("clone", lambda a: a.clone(), [(3,)], lambda a: a.copy())
