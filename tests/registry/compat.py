"""Registry entries for the PyTorch-compatibility ops: pixel (un)shuffle and sparse products."""
import numpy as np

import deepgrad as dg
import deepgrad.nn.functional as F
from harness import case

IDX = np.array([[0, 1, 1, 2, 0], [2, 0, 2, 1, 2]])


def _dense(v):
    d = np.zeros((3, 3))
    np.add.at(d, tuple(IDX), v)
    return d


def _shuffle_ref(x, r):
    *lead, c, h, w = x.shape
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    return y.transpose(*range(n), n, n + 3, n + 1, n + 4, n + 2).reshape(*lead, c // (r * r), h * r, w * r)


case("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), [(2, 8, 2, 3)], lambda x: _shuffle_ref(x, 2), gradgrad=True)
case("pixel_shuffle", lambda x: dg.nn.PixelShuffle(3)(x), [(9, 2, 1)], lambda x: _shuffle_ref(x, 3), variant="3d,r=3")
case("pixel_unshuffle", lambda x: F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), [(1, 4, 2, 2)], lambda x: x,
     variant="inverse")
case("sparse.mm", lambda v, x: dg.sparse.mm(dg.sparse_coo_tensor(IDX, v, (3, 3)), x), [(5,), (3, 4)],
     lambda v, x: _dense(v) @ x, gradgrad=True)
case("sparse.mm", lambda v, x: dg.sparse.mm(dg.sparse_coo_tensor(IDX, v, (3, 3)), x), [(5,), (3,)],
     lambda v, x: _dense(v) @ x, variant="vector")
case("sparse.to_dense", lambda v: dg.sparse_coo_tensor(IDX, v, (3, 3)).to_dense(), [(5,)], _dense)
case("sparse.coalesce", lambda v: dg.sparse_coo_tensor(IDX, v, (3, 3)).coalesce().values(), [(5,)],
     lambda v: _dense(v)[(np.array([0, 1, 1, 2]), np.array([2, 0, 2, 1]))])
case("to_sparse", lambda x: (x * x).to_sparse().values(), [(2, 3)], lambda x: (x * x).ravel())
