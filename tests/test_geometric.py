"""deepgrad.geometric: the karate club's published facts, the layers against dense formulas, errors, the
Planetoid reader on small files in the Planetoid format (and its refusal of anything but data), the gnn demo."""
import collections
import os
import pickle
import sys
import types

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.demos import run_demo
from deepgrad.geometric import GATConv, GCNConv, KarateClub, MessagePassing, Planetoid, SAGEConv, scatter
from deepgrad.geometric.utils import add_self_loops, to_undirected
from deepgrad.viz import plots
from registry.graph import EI, N, dense_adj


def test_karate_club_facts():
    g = KarateClub()
    ei = g.edge_index.numpy()
    assert g.num_nodes == 34 and g.num_edges == 156 and (ei[0] < ei[1]).sum() == 78
    deg = np.bincount(ei[1], minlength=34)
    # Zachary 1977: the instructor (node 0) has 16 friends, the officer (33) 17; member 11 only the instructor
    assert deg[0] == 16 and deg[33] == 17 and deg[11] == 1 and deg.sum() == 156
    y = g.y.numpy()
    assert (y == 0).sum() == 17 and (y == 1).sum() == 17 and y[0] == 0 and y[33] == 1
    assert g.train_mask.numpy().sum() == 4 and not (g.train_mask.numpy() & g.test_mask.numpy()).any()


def test_gcnconv_matches_dense_formula():
    dg.manual_seed(0)
    conv = GCNConv(3, 4)
    dg.nn.init.normal_(conv.bias)
    x = np.random.default_rng(0).normal(size=(N, 3)).astype(np.float32)
    a = dense_adj()
    d = a.sum(1) ** -0.5
    want = (d[:, None] * a * d[None]) @ x @ conv.lin.weight.detach().numpy().T + conv.bias.detach().numpy()
    np.testing.assert_allclose(conv(dg.tensor(x), EI).detach().numpy(), want, atol=1e-5)
    # improved: Â = A + 2I; weights given as a tensor are differentiable
    imp = GCNConv(3, 4, improved=True)
    a2 = dense_adj(loops=False) + 2 * np.eye(N)
    d2 = a2.sum(1) ** -0.5
    want2 = (d2[:, None] * a2 * d2[None]) @ x @ imp.lin.weight.detach().numpy().T
    np.testing.assert_allclose(imp(dg.tensor(x), EI).detach().numpy(), want2, atol=1e-5)
    w = dg.ones(EI.shape[1], requires_grad=True)
    np.testing.assert_allclose(conv(dg.tensor(x), EI, w).detach().numpy(), conv(dg.tensor(x), EI).detach().numpy(), atol=1e-5)
    conv(dg.tensor(x), EI, w).sum().backward()
    assert w.grad is not None and np.isfinite(w.grad.detach().numpy()).all()
    assert list(conv.state_dict()) == ["bias", "lin.weight"]


def test_gatconv_attention_is_a_softmax_over_each_neighbourhood():
    dg.manual_seed(0)
    gat = GATConv(3, 2, heads=4)
    x = dg.randn(N, 3)
    out, (ei, alpha) = gat(x, EI, return_attention_weights=True)
    assert out.shape == (N, 8) and alpha.shape == (EI.shape[1] + N, 4)
    sums = np.zeros((N, 4))
    np.add.at(sums, ei.numpy()[1] if isinstance(ei, dg.Tensor) else ei[1], alpha.detach().numpy())
    np.testing.assert_allclose(sums, 1.0, atol=1e-6)
    # the isolated node 4 attends only to itself: its output is its own projected features plus the bias
    z = (x.numpy() @ gat.lin.weight.detach().numpy().T)[4]
    np.testing.assert_allclose(out.detach().numpy()[4], z + gat.bias.detach().numpy(), atol=1e-5)
    assert GATConv(3, 2, heads=4, concat=False)(x, EI).shape == (N, 2)
    assert set(gat.state_dict()) == {"att_src", "att_dst", "bias", "lin.weight"}


def test_sageconv_mean_and_normalize():
    dg.manual_seed(0)
    x = dg.randn(N, 3)
    sage = SAGEConv(3, 4, normalize=True)
    out = sage(x, EI).detach().numpy()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert set(SAGEConv(3, 4).state_dict()) == {"lin_l.weight", "lin_l.bias", "lin_r.weight"}


def test_message_passing_base_and_utils():
    class Sum(MessagePassing):
        def message(self, x_j):
            return x_j

    x = dg.tensor([[1.0], [2.0], [4.0]])
    assert Sum().propagate(np.array([[0, 1, 2], [1, 2, 0]]), x=x).tolist() == [[4.0], [1.0], [2.0]]
    assert Sum("mean").propagate(np.array([[0, 1], [2, 2]]), x=x).tolist() == [[0.0], [0.0], [1.5]]
    ei, w = add_self_loops(np.array([[0, 1, 1], [1, 1, 0]]), dg.tensor([2.0, 3.0, 4.0]), num_nodes=3)
    assert ei.tolist() == [[0, 1, 0, 1, 2], [1, 0, 0, 1, 2]] and w.tolist() == [2.0, 4.0, 1.0, 1.0, 1.0]
    assert to_undirected(np.array([[0, 2], [1, 1]])).tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]


def test_errors():
    x = dg.randn(3, 2)
    with pytest.raises(ValueError, match=r"GCNConv: x must be a \(num_nodes, 3\)"):
        GCNConv(3, 2)(x, np.array([[0], [1]]))
    with pytest.raises(ValueError, match="refers to node 5 but the graph has 3 nodes"):
        GCNConv(2, 2)(x, np.array([[0], [5]]))
    with pytest.raises(ValueError, match=r"must have shape \(2, E\)"):
        SAGEConv(2, 2)(x, np.array([0, 1]))
    with pytest.raises(TypeError, match="must hold integers"):
        GATConv(2, 2)(x, np.array([[0.0], [1.0]]))
    with pytest.raises(ValueError, match="heads must be a positive integer"):
        GATConv(2, 2, heads=0)
    with pytest.raises(ValueError, match="reduce must be"):
        scatter(x, [0, 1, 2], 3, "max")


def _write_planetoid(root, name="toy"):
    """Eight ind.<name>.* files as Planetoid writes them: scipy csr matrices (a stand-in module records the same
    class path), NumPy label arrays, a defaultdict graph and a text test index."""
    fake = types.ModuleType("scipy.sparse.csr")

    class csr_matrix:  # noqa: N801 - the recorded class name
        def __init__(self, dense):
            nz = np.nonzero(dense)
            self.data, self.indices = dense[nz].astype(np.float32), nz[1].astype(np.int32)
            self.indptr = np.concatenate([[0], np.cumsum(np.bincount(nz[0], minlength=len(dense)))]).astype(np.int32)
            self._shape = dense.shape

    csr_matrix.__module__, csr_matrix.__qualname__ = "scipy.sparse.csr", "csr_matrix"
    fake.csr_matrix = csr_matrix
    saved = {k: sys.modules.get(k) for k in ("scipy", "scipy.sparse", "scipy.sparse.csr")}
    sys.modules.update({"scipy": types.ModuleType("scipy"), "scipy.sparse": types.ModuleType("scipy.sparse"),
                        "scipy.sparse.csr": fake})
    rng = np.random.default_rng(0)
    feats = (rng.random((8, 5)) < 0.4).astype(np.float32)
    labels = np.eye(3)[[0, 1, 2, 0, 1, 2, 0, 1]]
    test_index = [7, 6]                     # test nodes in the file's (unsorted) order
    graph = collections.defaultdict(list, {0: [1, 2], 1: [0, 3], 2: [0], 3: [1, 4], 4: [3, 5], 5: [4, 6], 6: [5, 7],
                                           7: [6]})
    parts = {"x": csr_matrix(feats[:2]), "tx": csr_matrix(feats[test_index]), "allx": csr_matrix(feats[:6]),
             "y": labels[:2], "ty": labels[test_index], "ally": labels[:6], "graph": graph}
    try:
        for k, v in parts.items():
            with open(os.path.join(root, f"ind.{name}.{k}"), "wb") as f:
                pickle.dump(v, f, protocol=2)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    with open(os.path.join(root, f"ind.{name}.test.index"), "w") as f:
        f.write("\n".join(map(str, test_index)) + "\n")
    return feats, labels.argmax(1)


def test_planetoid_reader(tmp_path, monkeypatch):
    from deepgrad.geometric import datasets

    feats, labels = _write_planetoid(tmp_path)
    monkeypatch.setitem(datasets._PLANETOID_SHA256, "toy", ("0" * 64,) * 8)
    g = Planetoid(tmp_path, "toy")
    np.testing.assert_array_equal(g.x.numpy(), feats)
    np.testing.assert_array_equal(g.y.numpy(), labels)
    assert g.num_edges == 14 and g.meta["num_classes"] == 3
    assert g.train_mask.numpy().tolist() == [True, True] + [False] * 6
    assert g.val_mask.numpy().tolist() == [False, False, True, True, True, True, False, False]
    assert g.test_mask.numpy().tolist() == [False] * 6 + [True, True]
    assert GCNConv(5, 3)(g.x, g.edge_index).shape == (8, 3)


def test_planetoid_refuses_code_and_names_missing_files(tmp_path, monkeypatch):
    from deepgrad.geometric import datasets

    with pytest.raises(FileNotFoundError, match=r"ind.cora.x, .*not found in .*download=True"):
        Planetoid(tmp_path, "Cora")
    with pytest.raises(ValueError, match="'Cora' or 'CiteSeer'"):
        Planetoid(tmp_path, "PubMed")
    _write_planetoid(tmp_path)
    monkeypatch.setitem(datasets._PLANETOID_SHA256, "toy", ("0" * 64,) * 8)
    with open(tmp_path / "ind.toy.graph", "wb") as f:
        pickle.dump(os.getcwd, f)   # a callable global: must be refused, never resolved
    with pytest.raises(ValueError, match="refusing to load posix.getcwd|refusing to load os.getcwd"):
        Planetoid(tmp_path, "toy")


def test_planetoid_download_is_checked(tmp_path, monkeypatch):
    from deepgrad.data import download

    class Resp:
        def __init__(self, data):
            self.data = [data, b""]

        def read(self, n):
            return self.data.pop(0)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    monkeypatch.setattr(download, "urlopen", lambda url, timeout: Resp(b"not the published bytes"))
    with pytest.raises(download.DownloadError, match="does not match the published"):
        Planetoid(tmp_path, "CiteSeer", download=True)
    assert os.listdir(tmp_path) == []


def test_gnn_demo(tmp_path):
    r = run_demo("gnn", out=str(tmp_path), fast=True)
    for kind in ("GCN", "GAT", "SAGE"):
        k = r["karate"][kind]
        assert k["train"] == 1.0 and k["test"] >= 0.8 and k["losses"][-1] < k["losses"][0]
    if plots.available():
        assert os.path.getsize(tmp_path / "gnn" / "gnn.png") > 1000
