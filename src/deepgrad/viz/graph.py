"""Draw the computational graph behind a tensor, as the lectures draw them: values as boxes, ops as ellipses.

``to_dot`` always works (Graphviz DOT text, no dependency); ``draw_graph(..., path="g.png")`` also renders an image
when the ``graphviz`` Python package and the ``dot`` program are installed (``pip install "deepgrad[graph]"``).
"""
from __future__ import annotations

import os

from ..tensor import Tensor


def _label(t: Tensor, names: dict) -> str:
    name = names.get(id(t))
    shape = "×".join(str(s) for s in t.shape) or "scalar"
    head = f"{name} | " if name else ""
    if t.numel() == 1:
        return f"{head}{shape} | {t.detach().cpu().numpy().reshape(-1)[0]:.4g}"
    return f"{head}{shape} | {t.dtype}"


def to_dot(output: Tensor, params: dict | None = None, show_grad: bool = True) -> str:
    """The graph that produced ``output`` in Graphviz DOT.

    ``params`` maps names to tensors (e.g. ``dict(model.named_parameters())``) to label the leaves; leaves that
    require grad are drawn in blue, the output in green, and, with ``show_grad``, ``.grad`` shapes are noted.
    """
    names = {id(t): n for n, t in (params or {}).items()}
    lines = ["digraph G {", '  rankdir=LR; node [fontname="Helvetica", fontsize=10];']
    seen_nodes, seen_tensors = set(), set()

    def tensor_node(t: Tensor, is_out: bool = False) -> str:
        tid = f"t{id(t)}"
        if id(t) not in seen_tensors:
            seen_tensors.add(id(t))
            color = "palegreen" if is_out else "lightblue" if (t.is_leaf and t.requires_grad) else "white"
            label = _label(t, names).replace('"', "'")
            if show_grad and t.grad is not None:
                label += f" | grad {'×'.join(str(s) for s in t.grad.shape) or 'scalar'}"
            lines.append(f'  {tid} [shape=record, style=filled, fillcolor={color}, label="{{{label}}}"];')
        return tid

    out_id = tensor_node(output, True)
    stack = [(output.grad_fn, out_id)] if output.grad_fn is not None else []
    while stack:
        fn, consumer = stack.pop()
        fid = f"f{id(fn)}"
        if id(fn) not in seen_nodes:
            seen_nodes.add(id(fn))
            lines.append(f'  {fid} [shape=ellipse, style=filled, fillcolor=lightyellow, label="{fn.name}"];')
            for t in fn.inputs:
                if t.grad_fn is None:
                    lines.append(f"  {tensor_node(t)} -> {fid};")
                else:
                    stack.append((t.grad_fn, fid))
        lines.append(f"  {fid} -> {consumer};")
    lines.append("}")
    # an edge can be listed twice when a node feeds the same consumer twice (x * x): keep both, they are real
    return "\n".join(lines)


def draw_graph(output: Tensor, path: str | None = None, params: dict | None = None, fmt: str | None = None) -> str:
    """Return the DOT source of ``output``'s graph; with ``path``, also write it (``.dot``/``.gv``) or render it
    (``.png``, ``.svg``, ``.pdf``) through Graphviz."""
    dot = to_dot(output, params)
    if path is None:
        return dot
    ext = (fmt or os.path.splitext(path)[1].lstrip(".") or "dot").lower()
    if ext in ("dot", "gv"):
        with open(path, "w", encoding="utf-8") as f:
            f.write(dot)
        return dot
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"draw_graph: rendering to .{ext} needs the graphviz package and program "
                          "(pip install graphviz; apt install graphviz); save as .dot to get the text") from None
    src = graphviz.Source(dot)
    base = os.path.splitext(path)[0]
    src.render(base, format=ext, cleanup=True)
    return dot
