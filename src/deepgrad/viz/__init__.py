"""Pictures of what deepgrad computes: the computational graph (DOT/Graphviz) and training plots (matplotlib)."""
from . import plots
from .graph import draw_graph, to_dot
