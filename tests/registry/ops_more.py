"""Registry entries for ops the first registry missed: pools and unpools in 1-d/3-d, channel dropout, convolve2d,
matrix products, narrow/unbind/movedim/unflatten, index_add and scatter."""
import numpy as np

import deepgrad as dg
import deepgrad.nn.functional as F
from harness import case
from registry.conv import conv_ref
from registry.modules import _unpool_ref, pool_ref

IDX = np.array([2, 0, 2])
SCATTER_IDX = np.array([[1], [0]])

for n in (1, 3):
    size = (4, 4, 2)[:n]
    half = tuple(s // 2 for s in size)
    k = (2,) * n
    case(f"adaptive_avg_pool{n}d", lambda x, n=n, o=half: getattr(F, f"adaptive_avg_pool{n}d")(x, o), [(1, 2) + size],
         lambda x, k=k: pool_ref(x, k, np.mean))
    case(f"adaptive_max_pool{n}d", lambda x, n=n, o=half: getattr(F, f"adaptive_max_pool{n}d")(x, o), [(1, 2) + size],
         lambda x, k=k: pool_ref(x, k, np.max))
case("avg_pool3d", lambda x: F.avg_pool3d(x, 2), [(1, 2, 4, 2, 4)], lambda x: pool_ref(x, (2, 2, 2), np.mean))
for n in (1, 2, 3):
    def unpool(x, n=n):
        y, idx = getattr(F, f"max_pool{n}d")(x, 2, return_indices=True)
        return getattr(F, f"max_unpool{n}d")(y, idx, 2)

    case(f"max_unpool{n}d", unpool, [(1, 2) + (4, 4, 2)[:n]], lambda x, n=n: _unpool_ref(x, (2,) * n))


def _channel_dropout(fn):
    # a fixed generator per call keeps the mask the same for every gradcheck evaluation
    return lambda x: fn(x, 0.5, training=True, generator=dg.Generator(3))


for n, shape in ((2, (2, 4, 3, 3)), (3, (2, 4, 2, 2, 2))):
    case(f"dropout{n}d", _channel_dropout(getattr(F, f"dropout{n}d")), [shape])
case("convolve2d", lambda x, k: F.convolve2d(x, k), [(2, 5, 6), (2, 3)],
     lambda x, k: conv_ref(x[:, None], k[::-1, ::-1][None, None].copy())[:, 0])
case("mm", dg.mm, [(3, 4), (4, 2)], lambda a, b: a @ b)
case("bmm", dg.bmm, [(2, 3, 4), (2, 4, 2)], lambda a, b: a @ b)
case("dot", dg.dot, [(4,), (4,)], lambda a, b: a @ b)
case("narrow", lambda x: dg.narrow(x, 1, 1, 2), [(3, 4)], lambda a: a[:, 1:3])
case("unbind", lambda x: dg.unbind(x, 1), [(3, 2)], lambda a: [a[:, 0], a[:, 1]])
case("movedim", lambda x: dg.movedim(x, 0, 2), [(2, 3, 4)], lambda a: np.moveaxis(a, 0, 2))
case("unflatten", lambda x: dg.unflatten(x, 1, (2, 3)), [(4, 6)], lambda a: a.reshape(4, 2, 3))


def _index_add_ref(x, s):
    out = x.copy()
    np.add.at(out, IDX, s)
    return out


case("index_add", lambda x, s: dg.index_add(x, 0, dg.tensor(IDX, device=x.device), s), [(4, 3), (3, 3)], _index_add_ref)


def _scatter_ref(x, s):
    out = x.copy()
    out[np.arange(2)[:, None], SCATTER_IDX] = s
    return out


case("scatter", lambda x, s: dg.scatter(x, 1, dg.tensor(SCATTER_IDX, device=x.device), s), [(2, 3), (2, 1)], _scatter_ref)
case("index_put", lambda x, v: dg.index_put(x, (slice(None), 1), v), [(3, 4), (3,)],
     lambda x, v: np.concatenate([x[:, :1], v[:, None], x[:, 2:]], 1))
case("setitem_in_graph", lambda x: _set_row(x), [(3, 4)], lambda x: np.where(np.arange(3)[:, None] == 1, 0.0, x * 2))


def _set_row(x):
    h = x * 2.0
    h[1] = 0.0  # an in-place write into a non-leaf, recorded
    return h
