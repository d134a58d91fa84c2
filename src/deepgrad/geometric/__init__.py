"""Graph neural networks under PyTorch Geometric's names: message passing over an edge index (``utils``), the
convolutions ``GCNConv``, ``GATConv`` and ``SAGEConv`` (``conv``), and graph datasets (``datasets``)."""
from .conv import GATConv, GCNConv, MessagePassing, SAGEConv, gat_conv, gcn_conv, gcn_norm, sage_conv
from .datasets import Data, KarateClub, Planetoid
from .utils import add_self_loops, degree, remove_self_loops, scatter, softmax, to_undirected

__all__ = ["MessagePassing", "GCNConv", "GATConv", "SAGEConv", "gcn_norm", "gcn_conv", "gat_conv", "sage_conv",
           "Data", "KarateClub", "Planetoid", "scatter", "softmax", "degree", "add_self_loops", "remove_self_loops",
           "to_undirected"]
