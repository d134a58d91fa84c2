"""Graph convolutions by message passing (Gilmer et al., 2017) under PyTorch Geometric's names.

Each layer computes, for every node i with incoming edges j -> i,

    x_i' = γ(x_i, ⊕_{j ∈ N(i)} φ(x_i, x_j, e_ji))

with φ the message, ⊕ a segment sum or mean over the edge index (``utils.scatter``) and γ the update. Costs are
O(E · F), never O(N²).
"""
from __future__ import annotations

import inspect
import math

import numpy as np

from ..creation import zeros
from ..nn import functional as F
from ..nn import init
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..tensor import Tensor
from .utils import add_self_loops, check_edge_index, gather_rows, scatter, softmax

__all__ = ["MessagePassing", "gcn_norm", "gcn_conv", "gat_conv", "sage_conv", "GCNConv", "GATConv", "SAGEConv"]


def _positive(name: str, layer: str, v) -> int:
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {v!r}")
    return int(v)


def _check_x(x: Tensor, in_channels: int, layer: str) -> None:
    if not isinstance(x, Tensor) or x.ndim != 2 or x.shape[1] != in_channels:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{layer}: x must be a (num_nodes, {in_channels}) tensor, got {got}")


class MessagePassing(Module):
    """Base class: ``propagate(edge_index, x=..., **kw)`` gathers x_j = x[source] and x_i = x[target], calls
    ``message`` with the arguments it names (``x_j``, ``x_i`` and any per-edge keyword), aggregates the messages
    at the targets with ``aggr`` ('add', 'sum' or 'mean') and returns ``update(aggregated)``.

    Example:
        >>> import deepgrad as dg
        >>> class Sum(MessagePassing):
        ...     def message(self, x_j):
        ...         return x_j
        >>> ei = dg.tensor([[0, 1, 2], [1, 2, 0]])
        >>> Sum().propagate(ei, x=dg.tensor([[1.0], [2.0], [4.0]])).tolist()
        [[4.0], [1.0], [2.0]]
    """

    def __init__(self, aggr: str = "add") -> None:
        super().__init__()
        if aggr not in ("add", "sum", "mean"):
            raise ValueError(f"{type(self).__name__}: aggr must be 'add', 'sum' or 'mean', got {aggr!r}")
        self.aggr = aggr

    def propagate(self, edge_index, size: int | None = None, **kwargs) -> Tensor:
        x = kwargs.get("x")
        n = int(size) if size is not None else int(x.shape[0])
        ei = check_edge_index(edge_index, n, f"{type(self).__name__}.propagate")
        src, dst = ei[0], ei[1]
        args = {}
        for name in inspect.signature(self.message).parameters:
            if name == "x_j":
                args[name] = gather_rows(x, src)
            elif name == "x_i":
                args[name] = gather_rows(x, dst)
            elif name == "index":
                args[name] = dst
            elif name in kwargs:
                args[name] = kwargs[name]
        msg = self.message(**args)
        return self.update(scatter(msg, dst, n, "mean" if self.aggr == "mean" else "sum"))

    def message(self, x_j: Tensor) -> Tensor:
        return x_j

    def update(self, aggr_out: Tensor) -> Tensor:
        return aggr_out


def gcn_norm(edge_index, num_nodes: int, edge_weight: Tensor | None = None, add_loops: bool = True,
             improved: bool = False):
    """The edges of D̂^{-1/2} Â D̂^{-1/2} with Â = A + I (self-loops weighted 2 when ``improved``): returns
    (edge_index, w) with w_ji = â_ji / √(d̂_j d̂_i), d̂_i = Σ_j â_ji."""
    ei = check_edge_index(edge_index, num_nodes, "gcn_norm")
    if add_loops:
        ei, edge_weight = add_self_loops(ei, edge_weight, 2.0 if improved else 1.0, num_nodes)
        if edge_weight is None:
            w = np.ones(ei.shape[1], np.float32)
            w[-num_nodes:] = 2.0 if improved else 1.0
    if edge_weight is None:
        if not add_loops:
            w = np.ones(ei.shape[1], np.float32)
        deg = np.bincount(ei[1], weights=w, minlength=num_nodes)
        inv = np.where(deg > 0, 1.0 / np.sqrt(np.maximum(deg, 1e-300)), 0.0)
        return ei, Tensor._wrap((inv[ei[0]] * w * inv[ei[1]]).astype(np.float32))
    deg = scatter(edge_weight.unsqueeze(1), ei[1], num_nodes).squeeze(1)
    inv = deg.clamp(min=1e-12).rsqrt() * (deg > 0).to(deg.dtype)
    return ei, gather_rows(inv, ei[0]) * edge_weight * gather_rows(inv, ei[1])


def gcn_conv(x: Tensor, edge_index, edge_weight: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x_i' = Σ_{e = (j -> i)} w_e · x_j Wᵀ + b: the GCN propagation with edge weights ``w`` (from :func:`gcn_norm`)."""
    ei = check_edge_index(edge_index, x.shape[0], "gcn_conv")
    h = F.linear(x, weight)
    w = edge_weight.to(h)
    out = scatter(gather_rows(h, ei[0]) * w.unsqueeze(1), ei[1], x.shape[0])
    return out + bias if bias is not None else out


def gat_conv(x: Tensor, edge_index, weight: Tensor, att_src: Tensor, att_dst: Tensor, bias: Tensor | None = None,
             concat: bool = True, negative_slope: float = 0.2, dropout: float = 0.0) -> tuple[Tensor, Tensor]:
    """Graph attention over the given edges (add self-loops first for GAT's N(i) ∪ {i}); returns (out, α).

    z = x Wᵀ split into H = att_src.shape[1] heads; e_ji = LeakyReLU(⟨a_src, z_j⟩ + ⟨a_dst, z_i⟩) per head;
    α = the softmax of e over each target's incoming edges; out_i = Σ_j α_ji z_j (heads concatenated or averaged).
    """
    n = x.shape[0]
    ei = check_edge_index(edge_index, n, "gat_conv")
    h, c = att_src.shape[1], att_src.shape[2]
    z = F.linear(x, weight).reshape(n, h, c)
    src, dst = ei[0], ei[1]
    a_src, a_dst = (z * att_src).sum(-1), (z * att_dst).sum(-1)          # (N, H)
    e = F.leaky_relu(gather_rows(a_src, src) + gather_rows(a_dst, dst), negative_slope)
    alpha = softmax(e, dst, n)                                            # (E, H)
    weights = F.dropout(alpha, dropout) if dropout else alpha
    out = scatter(gather_rows(z, src) * weights.unsqueeze(-1), dst, n)  # (N, H, C)
    out = out.reshape(n, h * c) if concat else out.mean(1)
    return (out + bias if bias is not None else out), alpha


def sage_conv(x: Tensor, edge_index, weight_l: Tensor, bias_l: Tensor | None, weight_r: Tensor | None,
              aggr: str = "mean", normalize: bool = False) -> Tensor:
    """x_i' = W_l · aggr_{j ∈ N(i)} x_j + b_l + W_r x_i, each row divided by its L2 norm when ``normalize``."""
    ei = check_edge_index(edge_index, x.shape[0], "sage_conv")
    out = F.linear(scatter(gather_rows(x, ei[0]), ei[1], x.shape[0], "mean" if aggr == "mean" else "sum"),
                   weight_l, bias_l)
    if weight_r is not None:
        out = out + F.linear(x, weight_r)
    if normalize:
        out = out / (out * out).sum(-1, keepdim=True).clamp(min=1e-24).sqrt()
    return out


class GCNConv(MessagePassing):
    """Kipf & Welling's graph convolution: X' = D̂^{-1/2} Â D̂^{-1/2} X W + b, Â = A + I, D̂_ii = Σ_j Â_ij;
    node-wise, x_i' = Σ_{j ∈ N(i) ∪ {i}} x_j W / √(d̂_j d̂_i) + b.

    Args:
        in_channels: features per input node. out_channels: features per output node.
        improved: weight the self-loops 2 (Â = A + 2I). add_self_loops: add the loops (default True).
        normalize: apply the symmetric normalisation (default True). bias: learn b (default True).

    Shape:
        x (N, in_channels), edge_index (2, E) int, edge_weight (E,) optional -> (N, out_channels).

    Attributes:
        lin.weight: (out_channels, in_channels), Glorot-uniform. bias: (out_channels,), zeros.

    Example:
        >>> import deepgrad as dg
        >>> conv = GCNConv(3, 2)
        >>> conv(dg.ones(4, 3), dg.tensor([[0, 1, 2], [1, 2, 3]])).shape
        (4, 2)
    """

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False, cached: bool = False,
                 add_self_loops: bool = True, normalize: bool = True, bias: bool = True) -> None:
        super().__init__("add")
        self.in_channels = _positive("in_channels", "GCNConv", in_channels)
        self.out_channels = _positive("out_channels", "GCNConv", out_channels)
        self.improved, self.cached, self.add_self_loops, self.normalize = improved, cached, add_self_loops, normalize
        self.lin = Linear(in_channels, out_channels, bias=False)
        self.bias = Parameter(zeros(out_channels)) if bias else None
        self._cache = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.xavier_uniform_(self.lin.weight)
        if self.bias is not None:
            init.zeros_(self.bias)
        self._cache = None

    def forward(self, x: Tensor, edge_index, edge_weight: Tensor | None = None) -> Tensor:
        _check_x(x, self.in_channels, "GCNConv")
        n = x.shape[0]
        if self.normalize:
            if self.cached and self._cache is not None:
                ei, w = self._cache
            else:
                ei, w = gcn_norm(edge_index, n, edge_weight, self.add_self_loops, self.improved)
                if self.cached:
                    self._cache = (ei, w)
        else:
            ei = check_edge_index(edge_index, n, "GCNConv")
            w = edge_weight if edge_weight is not None else Tensor._wrap(np.ones(ei.shape[1], np.float32))
        return gcn_conv(x, ei, w, self.lin.weight, self.bias)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}"


class GATConv(MessagePassing):
    """Graph attention (Veličković et al., 2018), H heads: with z_j = W x_j split into heads z_j^h,

        e_ji^h = LeakyReLU(a_src^h · z_j^h + a_dst^h · z_i^h),   α_ji^h = softmax over j ∈ N(i) ∪ {i} of e_ji^h,
        x_i'^h = Σ_j α_ji^h z_j^h,

    then the heads are concatenated (H · out_channels features) or averaged (``concat=False``), plus a bias.

    Args:
        in_channels, out_channels: features per node in and per head out. heads: H (default 1).
        concat: concatenate (default) or average the heads. negative_slope: of the LeakyReLU (0.2).
        dropout: dropout probability on the attention coefficients during training.
        add_self_loops: attend to the node itself too (default True). bias: learn a bias.

    Shape:
        x (N, in_channels), edge_index (2, E) -> (N, heads · out_channels) or (N, out_channels).
        With ``return_attention_weights=True``: (out, (edge_index with loops, α of shape (E', heads))).

    Attributes:
        lin.weight: (heads · out_channels, in_channels), Glorot-uniform.
        att_src: (1, heads, out_channels), Glorot-uniform; ``att_dst`` likewise.
        bias: zeros.

    Example:
        >>> import deepgrad as dg
        >>> gat = GATConv(3, 4, heads=2)
        >>> gat(dg.ones(5, 3), dg.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])).shape
        (5, 8)
    """

    def __init__(self, in_channels: int, out_channels: int, heads: int = 1, concat: bool = True,
                 negative_slope: float = 0.2, dropout: float = 0.0, add_self_loops: bool = True,
                 bias: bool = True) -> None:
        super().__init__("add")
        self.in_channels = _positive("in_channels", "GATConv", in_channels)
        self.out_channels = _positive("out_channels", "GATConv", out_channels)
        self.heads = _positive("heads", "GATConv", heads)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"GATConv: dropout must lie in [0, 1), got {dropout!r}")
        self.concat, self.negative_slope, self.dropout, self.add_self_loops = concat, negative_slope, dropout, \
            add_self_loops
        self.lin = Linear(in_channels, heads * out_channels, bias=False)
        self.att_src = Parameter(zeros(1, heads, out_channels))
        self.att_dst = Parameter(zeros(1, heads, out_channels))
        self.bias = Parameter(zeros(heads * out_channels if concat else out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.xavier_uniform_(self.lin.weight)
        for a in (self.att_src, self.att_dst):
            bound = math.sqrt(6.0 / (a.shape[-2] + a.shape[-1]))
            init.uniform_(a, -bound, bound)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x: Tensor, edge_index, return_attention_weights: bool = False):
        _check_x(x, self.in_channels, "GATConv")
        ei = check_edge_index(edge_index, x.shape[0], "GATConv")
        if self.add_self_loops:
            ei, _ = add_self_loops(ei, num_nodes=x.shape[0])
        out, alpha = gat_conv(x, ei, self.lin.weight, self.att_src, self.att_dst, self.bias, self.concat,
                              self.negative_slope, self.dropout if self.training else 0.0)
        return (out, (ei, alpha)) if return_attention_weights else out

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, heads={self.heads}"


class SAGEConv(MessagePassing):
    """GraphSAGE (Hamilton et al., 2017) with mean aggregation: x_i' = W_l · mean_{j ∈ N(i)} x_j + b + W_r x_i
    (the root term only when ``root_weight``), optionally L2-normalised.

    Args:
        in_channels, out_channels: features per node. aggr: 'mean' (default), 'add' or 'sum'.
        normalize: divide each output row by its L2 norm. root_weight: add W_r x_i (default True).
        bias: learn b (in ``lin_l``, as PyTorch Geometric).

    Shape:
        x (N, in_channels), edge_index (2, E) -> (N, out_channels).

    Attributes:
        lin_l: the neighbours' map (``weight`` and ``bias``).
        lin_r: the root's map (``weight``, no bias).

    Example:
        >>> import deepgrad as dg
        >>> SAGEConv(3, 2)(dg.ones(4, 3), dg.tensor([[0, 1], [1, 2]])).shape
        (4, 2)
    """

    def __init__(self, in_channels: int, out_channels: int, aggr: str = "mean", normalize: bool = False,
                 root_weight: bool = True, bias: bool = True) -> None:
        super().__init__(aggr)
        self.in_channels = _positive("in_channels", "SAGEConv", in_channels)
        self.out_channels = _positive("out_channels", "SAGEConv", out_channels)
        self.normalize, self.root_weight = normalize, root_weight
        self.lin_l = Linear(in_channels, out_channels, bias=bias)
        self.lin_r = Linear(in_channels, out_channels, bias=False) if root_weight else None

    def forward(self, x: Tensor, edge_index) -> Tensor:
        _check_x(x, self.in_channels, "SAGEConv")
        return sage_conv(x, edge_index, self.lin_l.weight, self.lin_l.bias,
                         None if self.lin_r is None else self.lin_r.weight, self.aggr, self.normalize)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, aggr={self.aggr!r}"
