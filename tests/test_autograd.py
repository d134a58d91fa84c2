"""The autograd engine: accumulation, grad(), higher order, hooks, grad modes, memory, versions, errors."""
import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deepgrad as dg
from deepgrad.autograd import Function


def leaf(*shape, dtype=dg.float64):
    return dg.randn(*shape, dtype=dtype, requires_grad=True)


def test_fan_out_accumulates():
    x = dg.tensor([2.0, -3.0], requires_grad=True)
    y = x * x + x * 3.0 + x  # dy/dx = 2x + 4
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, -2.0])
    y2 = (x * 2.0).sum()
    y2.backward()  # a second graph accumulates into .grad
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 0.0])


def test_backward_with_gradient_vector():
    x = leaf(3)
    y = x * 2.0
    y.backward(dg.tensor([1.0, 0.5, 0.0], dtype=dg.float64))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 1.0, 0.0])


def test_grad_to_intermediate_and_leaf_does_not_touch_dot_grad():
    x = leaf(4)
    h = x.exp()
    y = (h * h).sum()
    gh, gx = dg.autograd.grad(y, [h, x])
    np.testing.assert_allclose(gh.numpy(), 2 * np.exp(x.detach().numpy()))
    np.testing.assert_allclose(gx.numpy(), 2 * np.exp(2 * x.detach().numpy()))
    assert x.grad is None


class Exploding(Function):
    def forward(self, a):
        return a * 1.0

    def backward(self, g):
        raise AssertionError("this path leads to no requested input and must not be walked")


def test_grad_walks_only_paths_to_inputs():
    x, w = leaf(3), leaf(3)
    y = (x * 2.0).sum() + Exploding()(w).sum()
    (gx,) = dg.autograd.grad(y, [x])
    np.testing.assert_allclose(gx.numpy(), 2.0)


def test_grad_unused_input():
    x, z = leaf(2), leaf(2)
    y = (x * x).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        dg.autograd.grad(y, [x, z], retain_graph=True)
    gx, gz = dg.autograd.grad(y, [x, z], allow_unused=True)
    assert gz is None and gx is not None


def test_second_derivative():
    x = dg.tensor([0.5, -1.0, 2.0], dtype=dg.float64, requires_grad=True)
    y = (x ** 3).sum()
    (g,) = dg.autograd.grad(y, x, create_graph=True)
    (h,) = dg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.detach().numpy())


def test_hessian_vector_product_of_mlp_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = dg.tensor(rng.standard_normal((8, 3)))
    t = dg.tensor(rng.integers(0, 2, 8))
    W1 = dg.tensor(rng.standard_normal((3, 5)) * 0.5, requires_grad=True)
    W2 = dg.tensor(rng.standard_normal((5, 2)) * 0.5, requires_grad=True)
    v1, v2 = rng.standard_normal((3, 5)), rng.standard_normal((5, 2))

    def loss_fn(a, b):
        logits = (X @ a).tanh() @ b
        return -logits.log_softmax(1)[np.arange(8), t._data].mean()

    loss = loss_fn(W1, W2)
    g1, g2 = dg.autograd.grad(loss, [W1, W2], create_graph=True)
    gv = (g1 * dg.tensor(v1)).sum() + (g2 * dg.tensor(v2)).sum()
    hv1, hv2 = dg.autograd.grad(gv, [W1, W2])

    eps = 1e-5

    def grads_at(s):
        a = dg.tensor(W1.detach().numpy() + s * v1, requires_grad=True)
        b = dg.tensor(W2.detach().numpy() + s * v2, requires_grad=True)
        return [g.numpy() for g in dg.autograd.grad(loss_fn(a, b), [a, b])]

    plus, minus = grads_at(eps), grads_at(-eps)
    np.testing.assert_allclose(hv1.numpy(), (plus[0] - minus[0]) / (2 * eps), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hv2.numpy(), (plus[1] - minus[1]) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_no_grad_and_enable_grad_as_context_and_decorator():
    x = leaf(2)
    with dg.no_grad():
        y = x * 2.0
        with dg.enable_grad():
            z = x * 2.0
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @dg.no_grad()
    def f(a):
        return a * 3.0

    assert not f(x).requires_grad
    assert dg.is_grad_enabled()


def test_hooks_and_retain_grad():
    x = leaf(3)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = x * 2.0
    h.retain_grad()
    handle = h.register_hook(lambda g: g * 10.0)  # a returned tensor replaces the gradient
    h.sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 1.0)  # retain_grad was registered first: sees the original
    np.testing.assert_allclose(x.grad.numpy(), 20.0)
    np.testing.assert_allclose(seen[0], 20.0)
    handle.remove()


def test_second_backward_through_freed_graph_raises_and_retain_graph_allows_it():
    x = leaf(3)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(x.detach().numpy()) * (1 + x.detach().numpy())))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_in_place_change_of_saved_tensor_is_detected():
    a = leaf(3)
    b = dg.randn(3, dtype=dg.float64)
    y = a * b
    b.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Mul\.backward: input 1 .* modified in place"):
        y.sum().backward()


def test_in_place_on_leaf_requiring_grad_is_refused_in_graph_mode():
    w = leaf(3)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    with dg.no_grad():
        w.add_(1.0)
        w -= 0.5  # in place under no_grad
    assert w.is_leaf and w.requires_grad


def test_saved_tensors_are_freed_and_memory_does_not_grow():
    w = dg.randn(64, 64, requires_grad=True)
    x = dg.randn(32, 64)

    def step():
        loss = ((x @ w).tanh() ** 2).mean()
        loss.backward()
        with dg.no_grad():
            w.sub_(w.grad * 0.01)
        w.grad = None

    for _ in range(50):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(1000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 1,000 steps"


def test_graph_is_released_after_backward():
    x = leaf(3)
    y = x.exp()
    z = y.sum()
    node = y.grad_fn
    z.backward()
    assert node.inputs == () and getattr(node, "_out", None) is None


def test_long_chain_is_iterative():
    x = dg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0


def test_backward_errors_say_what_to_do():
    x = leaf(3)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*scalar.*loss.sum\(\)"):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        dg.ones(3).sum().backward()


def test_matmul_error_names_shapes():
    with pytest.raises(ValueError) as e:
        dg.zeros(128, 784) @ dg.zeros(256, 10)
    assert str(e.value) == "matmul: (128, 784) @ (256, 10): inner dimensions differ (784 vs 256)"


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: .*\(3,\).*\(4,\)"):
        dg.zeros(3) + dg.zeros(4)


def test_grad_dtype_follows_input():
    x = dg.randn(3, requires_grad=True)  # float32
    (x.double() * 2.0).sum().backward()
    assert x.grad.dtype == dg.float32


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_broadcasting_binary_ops_grad_shapes_and_values(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    a_np = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=st.floats(0.5, 2)))
    b_np = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=st.floats(0.5, 2)))
    op = data.draw(st.sampled_from(["add", "sub", "mul", "div", "pow", "maximum"]))
    fns = {"add": (lambda a, b: a + b, np.add), "sub": (lambda a, b: a - b, np.subtract),
           "mul": (lambda a, b: a * b, np.multiply), "div": (lambda a, b: a / b, np.divide),
           "pow": (lambda a, b: a ** b, np.power), "maximum": (dg.maximum, np.maximum)}
    f, ref = fns[op]
    a, b = dg.tensor(a_np, requires_grad=True), dg.tensor(b_np, requires_grad=True)
    out = f(a, b)
    np.testing.assert_allclose(out.detach().numpy(), ref(a_np, b_np))
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


def test_indexing_consumers_accumulate_in_place_correctly():
    x = leaf(5, 3)
    y = x * 2.0  # an inner node read by many indexing consumers and one dense consumer
    h = y.exp()
    h.retain_grad()
    parts = [y[t] * float(t + 1) for t in range(5)] + [y[[0, 0, 4]].sum(0), y.sum(0)]
    total = sum(p.sum() for p in parts) + h.sum()
    total.backward()
    weights = np.arange(1, 6, dtype=float)[:, None] + 1.0
    weights[0] += 2.0
    weights[4] += 1.0
    expected = 2.0 * (weights + np.exp(2 * x.detach().numpy()))
    np.testing.assert_allclose(x.grad.numpy(), expected)
    np.testing.assert_allclose(h.grad.numpy(), 1.0)


# ------------------------------------------------------------------------------ in-place ops in a graph
def test_residual_add_in_place_is_recorded():
    x = leaf(4)
    out = x * 3.0
    identity = x * 1.0
    out += identity  # ResNet's `out += identity`
    assert out.grad_fn is not None and out.grad_fn.name == "Add"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4.0)


def test_relu_and_mul_in_place_and_masked_assignment_on_non_leaves():
    x = dg.tensor([1.0, -2.0, 3.0], dtype=dg.float64, requires_grad=True)
    h = x * 2.0
    h.relu_()
    h.mul_(2)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 0.0, 4.0])
    x.grad = None
    h = x * 2.0
    h[h < 0] = 0  # x[mask] = 0 on a non-leaf
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0, 0.0, 24.0])


def test_in_place_with_a_tensor_operand_keeps_the_old_value_for_the_gradient():
    x, c = leaf(3), leaf(3)
    a = x * 1.0
    a.mul_(c)  # d/dc needs a's old value: the node keeps a copy
    a.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), c.detach().numpy())
    np.testing.assert_allclose(c.grad.numpy(), x.detach().numpy())


def test_earlier_consumers_keep_their_edges_when_a_tensor_is_rebased():
    x = leaf(3)
    z = x + 0.0
    w = z + x  # recorded before the in-place op: its gradient must not pass through mul_
    z.mul_(2)
    (w + z).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 4.0)


def test_overwriting_a_saved_output_raises_naming_the_op_that_saved_it():
    x = leaf(3)
    z = x.exp()
    z.mul_(2)
    with pytest.raises(RuntimeError, match=r"Exp\.backward: its output .* modified in place by mul_"):
        z.sum().backward()


def test_in_place_into_a_non_graph_tensor_from_a_graph_tensor_joins_the_graph():
    w = leaf(3)
    acc = dg.zeros(3, dtype=dg.float64)
    acc += w * 2.0
    assert acc.requires_grad and not acc.is_leaf
    acc.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2.0)


def _view_cases(lib):
    """In-place changes through views of non-leaf tensors, each returning a scalar loss (one code for both
    libraries: ``lib`` is deepgrad or torch)."""

    def col_mul(x, w):
        y = x * 2
        y[:, 0].mul_(3)
        return (y * y).sum()

    def flat_add(x, w):
        y = x * 2
        y.view(-1).add_(1)
        return (y ** 2).sum()

    def transpose_mul(x, w):
        y = x.exp() * 1.0
        y.T.mul_(w[:2])
        return (y * x).sum()

    def row_setitem(x, w):
        y = x * 1.5
        y[1][0:3] = w
        return (y * y).sum()

    def chain_relu(x, w):
        y = x - 3.5
        y.view(3, 2)[1:].relu_()
        return (y * y).sum()

    def view_used_after(x, w):
        y = x * 2
        v = y[0]
        v.mul_(w)
        return v.sum() + (y * y).sum()

    def twice(x, w):
        y = x * 2
        y[0].mul_(2)
        y[:, 1].add_(w[:2])
        return (y * y).sum()

    return [col_mul, flat_add, transpose_mul, row_setitem, chain_relu, view_used_after, twice]


def _run_view_case(lib, f):
    x = lib.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    loss = f(x, w)
    loss.backward()
    return [loss.detach().numpy(), x.grad.numpy(), w.grad.numpy() if w.grad is not None else None]


def test_in_place_on_a_view_rebases_its_base_by_hand():
    x = leaf(2, 3)
    y = x * 2
    y[:, 0].mul_(3)  # y = 2x with its first column tripled
    (y * y).sum().backward()
    want = 8 * x.detach().numpy()
    want[:, 0] *= 9
    np.testing.assert_allclose(x.grad.numpy(), want)
    np.testing.assert_allclose(y.detach().numpy()[:, 0], 6 * x.detach().numpy()[:, 0])


@pytest.mark.parametrize("i", range(7), ids=[f.__name__ for f in _view_cases(dg)])
def test_in_place_on_a_view_gives_pytorchs_values_and_gradients(i):
    torch = pytest.importorskip("torch")
    ours = _run_view_case(dg, _view_cases(dg)[i])
    theirs = _run_view_case(torch, _view_cases(torch)[i])
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_in_place_on_a_view_is_differentiable_twice():
    x = dg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    y[0].mul_(3)
    g, = dg.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), [[6, 12], [6, 8]])
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[6, 6], [2, 2]])


@pytest.mark.parametrize("change,match", [
    (lambda x: x[0].mul_(2), r"mul_: a leaf tensor that requires grad \(here through a view of it\)"),
    (lambda x: (x * 1)[0].expand(2, 3).mul_(2), r"mul_: this tensor is made by Expand and several of its elements"),
])
def test_in_place_through_a_view_refuses_a_leaf_and_an_expanded_view_in_one_sentence(change, match):
    with pytest.raises(RuntimeError, match=match) as info:
        change(leaf(2, 3))
    assert str(info.value).count(". ") == 0


def test_in_place_through_a_view_of_a_saved_output_is_caught():
    y = leaf(2, 3).exp()
    y[0].mul_(2)
    with pytest.raises(RuntimeError, match="Exp.backward: its output .* modified in place by mul_"):
        y.sum().backward()


def test_in_place_on_a_reshape_that_copied_is_recorded():
    x = leaf(2, 3)
    v = (x * 2).T.reshape(-1)  # a transposed tensor reshapes by copying: no base shares the change
    v.mul_(3)
    v.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6.0)


def test_in_place_cannot_broadcast_its_target():
    a = dg.zeros(3)
    with pytest.raises(dg.ShapeError, match=r"add_: the result has shape \(2, 3\)"):
        a += dg.ones(2, 3)


def test_zero_fill_and_copy_in_a_graph_give_zero_gradient_to_the_old_values():
    x, s = leaf(3), leaf(3)
    h = x * 2.0
    h.copy_(s)
    h.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.0)
    np.testing.assert_allclose(s.grad.numpy(), 1.0)
    h = x * 2.0
    h.zero_()
    assert h.requires_grad and float(h.sum()) == 0.0


# ----------------------------------------------------------------------------------------------- hooks
def test_a_leaf_hook_gives_the_same_gradient_through_all_three_entry_points():
    def make():
        w = dg.tensor([1.0, 2.0], requires_grad=True)
        w.register_hook(lambda g: g * 10)
        return w, (w * w).sum()

    w, y = make()
    y.backward()
    np.testing.assert_allclose(w.grad.numpy(), [20.0, 40.0])
    w, y = make()
    y.backward(inputs=[w])
    np.testing.assert_allclose(w.grad.numpy(), [20.0, 40.0])
    w, y = make()
    (g,) = dg.autograd.grad(y, [w])
    np.testing.assert_allclose(g.numpy(), [20.0, 40.0])


def test_a_leaf_hook_runs_once_on_the_summed_gradient():
    x = leaf(2)
    calls = []
    x.register_hook(lambda g: calls.append(g.numpy().copy()))
    (x * 2.0 + x * 3.0).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], 5.0)


@pytest.mark.parametrize("bad,match", [
    (lambda g: g.numpy(), r"returned a ndarray; a hook must return None or a Tensor"),
    (lambda g: g.sum(), r"returned a Tensor of shape \(\), .* gradient it replaces has shape \(3,\)"),
    (lambda g: g.float(), r"dtype float32 .* dtype float64"),
])
def test_hook_results_are_validated_naming_the_tensor(bad, match):
    x = leaf(3)
    x.register_hook(bad)
    with pytest.raises((TypeError, RuntimeError), match=match):
        (x * 2.0).sum().backward()
    h = leaf(3) * 2.0
    h.register_hook(bad)
    with pytest.raises((TypeError, RuntimeError), match="registered on the output of Mul"):
        h.sum().backward()
