"""``Function``: one node of the computational graph.

``forward`` computes on raw backend arrays (NumPy or CuPy); ``backward`` is written with Tensor ops, so that when a
graph of the backward pass is requested (``create_graph=True``) higher derivatives come for free, and when it is
not, the engine runs it under ``no_grad`` and it costs little more than array arithmetic.
"""
from __future__ import annotations

from numpy import asarray as _asarray
from numpy import generic as _generic
from numpy import ndarray as _ndarray

from . import grad_mode

_state = grad_mode.state


class Function:
    """Base class of every differentiable primitive.

    Subclasses implement ``forward(self, *arrays) -> array`` and ``backward(self, grad) -> tuple`` (one gradient
    Tensor, or ``None``, per input). Non-tensor arguments (a ``dim``, a shape) are given to ``__init__``.

    * ``self.inputs`` are the input Tensors, available in ``backward`` (they carry the graph for double backward);
    * ``saves_inputs`` lists the indices of inputs whose *values* backward reads: changing one of them in place
      between forward and backward is detected by the version counter and raises;
    * ``saves_output = True`` keeps the output array; ``self.output()`` returns it as a Tensor attached to this node;
    * ``self.needs_input_grad[i]`` says whether input ``i`` wants a gradient, ``self.next_functions[i]`` is the node
      that made it (captured when recorded: an in-place op later rebases the tensor on a new node);
    * ``accumulates = True`` with ``backward_into(acc, g) -> array`` (arrays, ``acc`` None or a buffer of the input's
      shape to add into) lets a sparse adjoint such as indexing skip materialising a full-size gradient.
    """

    saves_inputs: tuple = ()
    saves_output: bool = False
    accumulates: bool = False  # has backward_into(acc, g): adds its one input's gradient into a buffer
    is_view: bool = False  # the output shares memory with input 0 (reshape, permute, basic indexing, ...)
    inputs: tuple = ()
    needs_input_grad: tuple = ()
    next_functions: tuple = ()  # the inputs' nodes when this one was recorded (an in-place op may rebase a tensor)
    _out_modified = None  # (op, version) once an in-place op overwrote the saved output

    def __call__(self, *inputs):
        n = len(inputs)
        try:
            if n == 2:
                y = self.forward(inputs[0]._data, inputs[1]._data)
            elif n == 1:
                y = self.forward(inputs[0]._data)
            else:
                y = self.forward(*[t._data for t in inputs])
        except (ValueError, TypeError) as e:
            raise self._explain(e, inputs) from e
        if y.__class__ is not _ndarray and isinstance(y, _generic):
            y = _asarray(y)  # NumPy returns scalars for 0-d results; keep arrays throughout
        out = _new(Tensor)
        out._init(y)
        if not _state.enabled:
            return out
        if n == 2:
            a, b = inputs
            needs = (a.requires_grad, b.requires_grad)
            if needs == (False, False):
                return out
            self.next_functions = (a.grad_fn, b.grad_fn)
        else:
            needs = tuple([t.requires_grad for t in inputs])
            if True not in needs:
                return out
            self.next_functions = tuple([t.grad_fn for t in inputs])
        self.inputs = inputs
        self.needs_input_grad = needs
        if self.saves_inputs:
            self._versions = [inputs[i]._version for i in self.saves_inputs]
        if self.saves_output:
            self._out = y
        out.grad_fn = self
        out.requires_grad = True
        return out

    def _explain(self, e: Exception, inputs) -> Exception:
        """The backend's error, restated with the op's name and what it received."""
        if type(e).__module__.startswith("deepgrad"):
            return e
        from ..ops._util import ShapeError, describe

        got = ", ".join(describe(t) for t in inputs)
        op = self.name.lower()
        if "broadcast" in str(e):
            shapes = " and ".join(str(tuple(t.shape)) for t in inputs)
            return ShapeError(f"{op}: shapes {shapes} do not broadcast (each trailing dimension must be equal or 1); "
                              f"got {got}")
        return type(e)(f"{op}: {e} (got {got})")

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    @property
    def name(self) -> str:
        """The op's name in messages and reprs: the class name, less the ``Fn`` that graph nodes whose name a
        layer also has carry (``ReLUFn`` beside ``nn.ReLU``)."""
        n = type(self).__name__
        return n[:-2] if n.endswith("Fn") else n

    def output(self):
        """The output of this node as a Tensor wired to this node (for backward formulas that use ``y``)."""
        t = _new(Tensor)
        t._init(self._out)
        t.grad_fn, t.requires_grad = self, True
        return t

    def _check_versions(self) -> None:
        """Refuse to differentiate with a saved value that an in-place op has changed since it was saved."""
        if self._out_modified is not None:
            op, version = self._out_modified
            raise RuntimeError(
                f"{self.name}.backward: its output (shape {tuple(self._out.shape)}), saved for the gradient, was "
                f"modified in place by {op} (version 0 -> {version}). Use the out-of-place form (y = y * 2 instead "
                "of y.mul_(2)), or .clone() the output before changing it.")
        for i, v in zip(self.saves_inputs, self._versions if self.saves_inputs else ()):
            t = self.inputs[i]
            if t._version != v:
                raise RuntimeError(
                    f"{self.name}.backward: input {i} (shape {t.shape}) was modified in place after it was "
                    f"used by {self.name} (version {v} -> {t._version}); its saved value is needed for the "
                    "gradient. Use an out-of-place op (x = x + y instead of x += y), or .clone() it first."
                )

    def _release(self) -> None:
        """Free what was saved for backward (the graph may not be walked again)."""
        self.__dict__.clear()
        self._released = True


from ..tensor import Tensor, _new  # noqa: E402 - tensor.py imports this package first; Tensor is defined by now
