"""Graph datasets: Zachary's karate club (built in) and the Planetoid citation graphs Cora and CiteSeer.

A dataset is a :class:`Data` graph: ``x`` (N, F) node features, ``edge_index`` (2, E) with both directions of
every undirected edge, ``y`` (N,) labels, and boolean ``train_mask`` / ``val_mask`` / ``test_mask``.
"""
from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.download import DownloadError, data_root, download_file
from ..tensor import Tensor
from .utils import to_undirected

__all__ = ["Data", "KarateClub", "Planetoid"]


@dataclass
class Data:
    """One graph (PyTorch Geometric's ``Data``): tensors ``x``, ``edge_index``, ``y`` and the split masks."""

    x: Tensor
    edge_index: Tensor
    y: Tensor
    train_mask: Tensor
    val_mask: Tensor
    test_mask: Tensor
    meta: dict = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return int(self.x.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])

    @property
    def num_node_features(self) -> int:
        return int(self.x.shape[1])

    num_features = num_node_features

    def __repr__(self) -> str:
        return (f"Data(x={list(self.x.shape)}, edge_index={list(self.edge_index.shape)}, y={list(self.y.shape)}, "
                f"train={int(self.train_mask.numpy().sum())}, val={int(self.val_mask.numpy().sum())}, "
                f"test={int(self.test_mask.numpy().sum())})")


def _mask(n: int, idx) -> Tensor:
    m = np.zeros(n, bool)
    m[np.asarray(idx, np.int64)] = True
    return Tensor._wrap(m)


# Zachary (1977), "An information flow model for conflict and fission in small groups": the 78 friendships among
# 34 members of a university karate club (0-based; 0 is the instructor "Mr. Hi", 33 the officer "John A.").
_KARATE_EDGES = (
    (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (0, 7), (0, 8), (0, 10), (0, 11), (0, 12), (0, 13), (0, 17),
    (0, 19), (0, 21), (0, 31), (1, 2), (1, 3), (1, 7), (1, 13), (1, 17), (1, 19), (1, 21), (1, 30), (2, 3), (2, 7),
    (2, 8), (2, 9), (2, 13), (2, 27), (2, 28), (2, 32), (3, 7), (3, 12), (3, 13), (4, 6), (4, 10), (5, 6), (5, 10),
    (5, 16), (6, 16), (8, 30), (8, 32), (8, 33), (9, 33), (13, 33), (14, 32), (14, 33), (15, 32), (15, 33), (18, 32),
    (18, 33), (19, 33), (20, 32), (20, 33), (22, 32), (22, 33), (23, 25), (23, 27), (23, 29), (23, 32), (23, 33),
    (24, 25), (24, 27), (24, 31), (25, 31), (26, 29), (26, 33), (27, 33), (28, 31), (28, 33), (29, 32), (29, 33),
    (30, 32), (30, 33), (31, 32), (31, 33), (32, 33))
# The faction each member joined after the split: 0 = Mr. Hi's club, 1 = the officer's.
_KARATE_FACTION = (0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                   1)


def KarateClub(labelled: tuple = (0, 1, 32, 33)) -> Data:  # noqa: N802 - a dataset constructor, as PyG's class
    """Zachary's karate club: 34 nodes, 78 undirected edges (156 directed), one-hot features x = I₃₄, the two
    factions as labels; ``train_mask`` holds the ``labelled`` members (default: both leaders and one friend of
    each), the test mask all the others.

    Example:
        >>> g = KarateClub()
        >>> g.num_nodes, g.num_edges, int(g.train_mask.numpy().sum())
        (34, 156, 4)
    """
    n = 34
    ei = to_undirected(np.array(_KARATE_EDGES, np.int64).T)
    rest = [i for i in range(n) if i not in set(labelled)]
    return Data(Tensor._wrap(np.eye(n, dtype=np.float32)), Tensor._wrap(ei), Tensor._wrap(np.array(_KARATE_FACTION)),
                _mask(n, labelled), _mask(n, []), _mask(n, rest), {"name": "KarateClub", "num_classes": 2})


# ---------------------------------------------------------------------------------------------- Planetoid
_PLANETOID_COMMIT = "af6abf468a772cc055bec88c52e4d6f51b7c37e3"
_PLANETOID_URL = "https://raw.githubusercontent.com/kimiyoung/planetoid/{commit}/data/{file}"
_PLANETOID_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_PLANETOID_SHA256 = {
    "cora": ("23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
             "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
             "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
             "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
             "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
             "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
             "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
             "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875"),
    "citeseer": ("d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
                 "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
                 "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
                 "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
                 "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
                 "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
                 "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
                 "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4"),
}


class _CSR:
    """Stands in for scipy.sparse's csr_matrix while unpickling: only its state (data, indices, indptr, shape)."""

    def toarray(self) -> np.ndarray:
        d = self.__dict__
        shape = tuple(d.get("_shape") or d.get("shape"))
        out = np.zeros(shape, np.float32)
        indptr = np.asarray(d["indptr"])
        rows = np.repeat(np.arange(shape[0]), np.diff(indptr))
        out[rows, np.asarray(d["indices"])] = np.asarray(d["data"])
        return out


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    # Python 3's protocol-2 pickles store bytes as _codecs.encode(text, 'latin1'); nothing else is admitted
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"Planetoid: unexpected byte encoding {encoding!r} in a data file")
    return text.encode("latin1")


def _numpy_reconstruct(*args):
    return np.ndarray.__new__(*args)


class _PlanetoidUnpickler(pickle.Unpickler):
    """Reads the Planetoid pickles without executing anything: only NumPy arrays, csr matrices (as state),
    dicts, defaultdicts and lists are admitted; any other global is refused."""

    _ALLOWED = {
        ("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
        ("scipy.sparse.csr", "csr_matrix"): _CSR, ("scipy.sparse._csr", "csr_matrix"): _CSR,
        ("collections", "defaultdict"): __import__("collections").defaultdict,
        ("builtins", "list"): list, ("builtins", "object"): object, ("builtins", "dict"): dict,
        ("_codecs", "encode"): _latin1_bytes,
        ("copyreg", "_reconstructor"): __import__("copyreg")._reconstructor,
    }

    def find_class(self, module: str, name: str):
        module = {"__builtin__": "builtins", "copy_reg": "copyreg"}.get(module, module)  # Python 2's names
        try:
            return self._ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"Planetoid: refusing to load {module}.{name} from a data file "
                                         f"(only arrays, sparse matrices, lists and dicts are allowed)") from None


def _read_part(path: Path):
    if path.name.endswith("test.index"):
        return np.array([int(s) for s in path.read_text().split()], np.int64)
    with open(path, "rb") as f:
        try:
            obj = _PlanetoidUnpickler(f, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
            raise ValueError(f"Planetoid: {path} is not a Planetoid data file ({e})") from None
    return obj


def _dense(a, what: str) -> np.ndarray:
    out = a.toarray() if isinstance(a, _CSR) else np.asarray(a)
    if out.ndim != 2:
        raise ValueError(f"Planetoid: {what} must be a matrix, got shape {out.shape}")
    return out.astype(np.float32)


def Planetoid(root: str | os.PathLike | None = None, name: str = "Cora", download: bool = False) -> Data:  # noqa: N802
    """The Planetoid split (Yang et al., 2016) of Cora or CiteSeer, read from the eight ``ind.<name>.*`` files.

    The files are looked for in ``root`` (default ``$DEEPGRAD_DATA/planetoid`` or ``~/.cache/deepgrad/planetoid``);
    with ``download=True`` missing ones are fetched from the planetoid repository (pinned commit) and checked
    against their SHA-256. Nodes follow the graph's numbering: the ``allx`` rows first, then the test rows placed
    at ``test.index`` (CiteSeer's isolated test nodes, absent from ``tx``, get zero features and label −1, as in
    Kipf & Welling's code). Masks: the first ``len(y)`` nodes train (20 per class), the next 500 validate, the
    1000 of ``test.index`` test.
    """
    key = str(name).lower()
    if key not in _PLANETOID_SHA256:
        raise ValueError(f"Planetoid: name must be 'Cora' or 'CiteSeer', got {name!r}")
    base = data_root("planetoid", root)
    paths = {p: base / f"ind.{key}.{p}" for p in _PLANETOID_PARTS}
    missing = [p for p in _PLANETOID_PARTS if not paths[p].is_file()]
    if missing:
        if not download:
            raise FileNotFoundError(
                f"Planetoid: {', '.join(paths[p].name for p in missing)} not found in {base}. Pass download=True "
                f"to fetch them (needs a network), put them there, or set DEEPGRAD_DATA")
        for p in missing:
            try:
                download_file([_PLANETOID_URL.format(commit=_PLANETOID_COMMIT, file=paths[p].name)], paths[p],
                              _PLANETOID_SHA256[key][_PLANETOID_PARTS.index(p)])
            except DownloadError as e:
                raise DownloadError(f"Planetoid: could not download {name} (no network?): {e}") from None
    part = {p: _read_part(paths[p]) for p in _PLANETOID_PARTS}
    x, tx, allx = (_dense(part[p], f"ind.{key}.{p}") for p in ("x", "tx", "allx"))
    y, ty, ally = (_dense(part[p], f"ind.{key}.{p}") for p in ("y", "ty", "ally"))
    test_index, graph = part["test.index"], part["graph"]
    if not isinstance(graph, dict):
        raise ValueError(f"Planetoid: ind.{key}.graph must hold a dict of adjacency lists, got {type(graph).__name__}")
    if len(tx) != len(test_index) or len(ty) != len(tx) or len(ally) != len(allx) or len(y) != len(x):
        raise ValueError(f"Planetoid: inconsistent {name} files (x {len(x)}/y {len(y)}, allx {len(allx)}/ally "
                         f"{len(ally)}, tx {len(tx)}/ty {len(ty)}/test.index {len(test_index)})")
    n = max(len(allx) + len(tx), int(test_index.max()) + 1, max(graph) + 1 if graph else 0)
    feats = np.zeros((n, allx.shape[1]), np.float32)
    labels = np.full(n, -1, np.int64)
    feats[:len(allx)], labels[:len(allx)] = allx, np.where(ally.any(1), ally.argmax(1), -1)
    feats[test_index], labels[test_index] = tx, np.where(ty.any(1), ty.argmax(1), -1)
    pairs = [(int(i), int(j)) for i, nbrs in graph.items() for j in nbrs if int(i) != int(j)]
    ei = to_undirected(np.array(pairs, np.int64).T if pairs else np.zeros((2, 0), np.int64))
    return Data(Tensor._wrap(feats), Tensor._wrap(ei), Tensor._wrap(labels), _mask(n, np.arange(len(y))),
                _mask(n, np.arange(len(y), min(len(y) + 500, len(allx)))), _mask(n, test_index),
                {"name": name, "num_classes": int(ally.shape[1])})
