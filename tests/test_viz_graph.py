import deepgrad as dg
from deepgrad.viz import draw_graph


def test_dot_names_ops_and_leaves(tmp_path):
    w = dg.randn(3, 2, requires_grad=True)
    x = dg.randn(4, 3)
    loss = (x @ w).relu().sum()
    dot = draw_graph(loss, params={"w": w})
    for part in ("digraph", "MatMul", "ReLU", "Sum", "w | 3×2"):
        assert part in dot
    assert dot.count("->") == 5  # x -> MatMul, w -> MatMul, MatMul -> ReLU -> Sum -> loss
    p = tmp_path / "g.dot"
    draw_graph(loss, str(p))
    assert p.read_text().startswith("digraph")
