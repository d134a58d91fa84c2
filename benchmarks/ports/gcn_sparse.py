"""A graph convolutional network (Kipf & Welling, 2017) written as a PyTorch program: the normalised adjacency
D^-1/2 (A + I) D^-1/2 as a sparse COO tensor (torch.sparse.FloatTensor / sparse_coo_tensor), torch.spmm in each
layer, legacy FloatTensor/LongTensor constructors, Adam with weight decay, node classification on a stochastic
block model (three communities).

    python benchmarks/ports/gcn_sparse.py --backend torch
    python benchmarks/ports/gcn_sparse.py --backend deepgrad
    python benchmarks/ports/gcn_sparse.py --backend deepgrad --fast   # the test's setting
"""
import argparse

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--backend", choices=["torch", "deepgrad"], default="deepgrad")
parser.add_argument("--epochs", type=int, default=200)
parser.add_argument("--root", default=None, help="unused (the common option of the ports)")
parser.add_argument("--fast", action="store_true", help="60 epochs")
args = parser.parse_args()
if args.fast:
    args.epochs = 60

if args.backend == "torch":
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
else:
    import deepgrad as torch  # noqa: I001 - line for line the block above
    import deepgrad.nn as nn
    import deepgrad.nn.functional as F
    import deepgrad.optim as optim


def stochastic_block_model(sizes=(60, 60, 60), p_in=0.12, p_out=0.01, features=32, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(sizes)), sizes)
    n = len(labels)
    p = np.where(labels[:, None] == labels[None, :], p_in, p_out)
    upper = np.triu(rng.random((n, n)) < p, 1)
    adj = (upper | upper.T).astype(np.float32) + np.eye(n, dtype=np.float32)
    d = adj.sum(1) ** -0.5
    norm = d[:, None] * adj * d[None, :]
    centers = rng.standard_normal((len(sizes), features))
    x = 0.4 * centers[labels] + rng.standard_normal((n, features))
    return norm, x.astype(np.float32), labels


class GraphConvolution(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
        self.bias = nn.Parameter(torch.FloatTensor(out_features))
        stdv = 1.0 / np.sqrt(out_features)
        self.weight.data.uniform_(-stdv, stdv)
        self.bias.data.uniform_(-stdv, stdv)

    def forward(self, x, adj):
        return torch.spmm(adj, torch.mm(x, self.weight)) + self.bias


class GCN(nn.Module):
    def __init__(self, nfeat, nhid, nclass, dropout=0.5):
        super().__init__()
        self.gc1 = GraphConvolution(nfeat, nhid)
        self.gc2 = GraphConvolution(nhid, nclass)
        self.dropout = dropout

    def forward(self, x, adj):
        x = F.relu(self.gc1(x, adj))
        x = F.dropout(x, self.dropout, training=self.training)
        return F.log_softmax(self.gc2(x, adj), dim=1)


torch.manual_seed(0)
norm, feats, labels_np = stochastic_block_model()
rows, cols = np.nonzero(norm)
adj = torch.sparse.FloatTensor(torch.LongTensor(np.stack([rows, cols])), torch.FloatTensor(norm[rows, cols]),
                               norm.shape)
features, labels = torch.FloatTensor(feats), torch.LongTensor(labels_np)
idx_train = torch.LongTensor(np.concatenate([np.arange(k * 60, k * 60 + 10) for k in range(3)]))
idx_test = torch.LongTensor(np.concatenate([np.arange(k * 60 + 10, (k + 1) * 60) for k in range(3)]))
model = GCN(features.shape[1], 16, 3)
optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
losses = []
for _ in range(args.epochs):
    model.train()
    optimizer.zero_grad()
    output = model(features, adj)
    loss = F.nll_loss(output[idx_train], labels[idx_train])
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
model.eval()
pred = model(features, adj).argmax(1)
acc = (pred[idx_test] == labels[idx_test]).float().mean().item()
print(f"first loss {losses[0]:.4f}, last loss {losses[-1]:.4f}, test accuracy {acc:.3f}")
