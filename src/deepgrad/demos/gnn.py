"""Graph neural networks: semi-supervised node classification on Zachary's karate club from 4 labelled members
(GCN, GAT and GraphSAGE), and on Cora (the published GCN result is 81.5 %) when its Planetoid files are present."""
from __future__ import annotations

import time

import numpy as np

import deepgrad as dg

from ..geometric import GATConv, GCNConv, KarateClub, Planetoid, SAGEConv
from ..nn import functional as F
from . import demo
from ._mlp_util import figure, pyplot, save, table


class GNN(dg.nn.Module):
    """Two graph convolutions with a ReLU (and dropout) between them."""

    def __init__(self, kind: str, in_channels: int, hidden: int, classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        if kind == "GAT":
            self.conv1 = GATConv(in_channels, hidden, heads=8, dropout=0.6)
            self.conv2 = GATConv(8 * hidden, classes, heads=1, concat=False, dropout=0.6)
        else:
            layer = {"GCN": GCNConv, "SAGE": SAGEConv}[kind]
            self.conv1, self.conv2 = layer(in_channels, hidden), layer(hidden, classes)
        self.dropout, self.kind = dropout, kind

    def forward(self, x, edge_index):
        x = F.dropout(x, self.dropout, self.training)
        h = F.elu(self.conv1(x, edge_index)) if self.kind == "GAT" else F.relu(self.conv1(x, edge_index))
        self.hidden = h
        return self.conv2(F.dropout(h, self.dropout, self.training), edge_index)


def train_node_classifier(model, data, epochs: int, lr: float = 0.01, weight_decay: float = 5e-4) -> dict:
    """Full-batch training on ``data.train_mask``; returns the loss curve and accuracies on each mask."""
    opt = dg.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    train = np.nonzero(data.train_mask.numpy())[0]
    y = data.y.numpy()
    losses, t0 = [], time.perf_counter()
    for _ in range(epochs):
        model.train()
        loss = F.cross_entropy(model(data.x, data.edge_index)[train], dg.tensor(y[train]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with dg.no_grad():
        pred = model(data.x, data.edge_index).numpy().argmax(1)
    acc = {k: float((pred[m] == y[m]).mean()) if (m := getattr(data, f"{k}_mask").numpy()).any() else None
           for k in ("train", "val", "test")}
    return {"losses": losses, "pred": pred, "seconds": time.perf_counter() - t0, **acc}


@demo("gnn", "Graph neural networks (GCN, GAT, GraphSAGE): node classification on the karate club from 4 "
             "labelled members, and on Cora when its Planetoid files are present")
def gnn(out: str, fast: bool) -> dict:
    data = KarateClub()
    epochs = 60 if fast else 200
    res, rows, emb = {"karate": {}}, [], None
    for kind in ("GCN", "GAT", "SAGE"):
        dg.manual_seed(0)
        model = GNN(kind, data.num_features, 16 if kind != "GAT" else 4, 2)
        r = train_node_classifier(model, data, epochs)
        res["karate"][kind] = {k: r[k] for k in ("losses", "train", "test")}
        rows.append([kind, r["train"], r["test"], epochs])
        if kind == "GCN":
            pred, emb = r["pred"], model.hidden.numpy()
    print(f"Zachary's karate club, {int(data.train_mask.numpy().sum())} labelled members, the other 30 predicted:")
    table(["model", "train acc", "test acc", "epochs"], rows)
    try:
        cora = Planetoid(name="Cora")
    except FileNotFoundError as e:
        print(f"(Cora skipped: {e})")
        res["cora"] = None
    else:
        dg.manual_seed(0)
        r = train_node_classifier(GNN("GCN", cora.num_features, 16, 7), cora, 50 if fast else 200)
        res["cora"] = {k: r[k] for k in ("train", "val", "test", "seconds")}
        print(f"Cora, GCN: test accuracy {r['test']:.1%} (Kipf & Welling report 81.5 %), {r['seconds']:.1f} s")

    def draw(path):
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
        ei, y, lab = data.edge_index.numpy(), data.y.numpy(), data.train_mask.numpy()
        for a, b in ei.T:
            axes[0].plot(emb[[a, b], 0], emb[[a, b], 1], color="0.8", lw=0.5, zorder=0)
        axes[0].scatter(emb[:, 0], emb[:, 1], c=pred, cmap="coolwarm", s=60, edgecolors=np.where(pred == y, "k", "r"))
        axes[0].scatter(emb[lab, 0], emb[lab, 1], marker="*", s=250, c="gold", edgecolors="k", label="labelled")
        cmap = plt.get_cmap("coolwarm")
        for f, name in ((0, "predicted faction 0"), (1, "predicted faction 1")):
            axes[0].scatter([], [], color=cmap(float(f)), s=60, edgecolors="k", label=name)
        axes[0].scatter([], [], color="w", s=60, edgecolors="r", label="wrong prediction (red edge)")
        axes[0].set_xlabel("GCN hidden feature 0")
        axes[0].set_ylabel("GCN hidden feature 1")
        axes[0].set_title("karate club: members in the GCN's hidden space")
        axes[0].legend(fontsize=8, loc="upper right")
        for kind in res["karate"]:
            axes[1].plot(res["karate"][kind]["losses"], label=kind)
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("cross-entropy on the 4 labelled nodes (nats)")
        axes[1].set_title("training loss")
        axes[1].legend()
        save(fig, path)

    res["figure"] = figure(out, "gnn.png", draw)
    return res
