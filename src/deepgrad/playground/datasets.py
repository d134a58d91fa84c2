"""The playground's data sets: the TensorFlow Playground's six, more classes, classes split by a function
``x2 > f(x1)``, and the user's own points (CSV).

Every generator returns ``(X, y)`` in the playground's square ``[-6, 6]^2`` (the TensorFlow Playground's):
``X`` float32 (n, 2); ``y`` int64 (n,) class labels for classification, float32 (n,) in ``[-1, 1]`` for
regression. The classification shapes come from :mod:`deepgrad.data.synthetic` (drawn in ``[-1, 1]^2`` and
scaled by :data:`SCALE`); the regression surfaces, the function split and the CSV reader live here.
``noise`` is the playground's 0-50 slider: a Gaussian jitter of ``noise / 100`` (in units of the unit square)
for classification, and of ``noise / 100`` on the target for regression.
"""
from __future__ import annotations

import ast
import csv
import io
import math
import operator

import numpy as np

from ..data import synthetic

__all__ = ["DATASETS", "CLASSIFICATION", "REGRESSION", "SCALE", "generate", "plane", "multi_gaussian",
           "function_split", "parse_function", "parse_csv", "DataError"]

SCALE = 5.0  # the unit shapes of deepgrad.data.synthetic, scaled to the playground's [-6, 6] square
DOMAIN = 6.0
CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "split")
REGRESSION = ("plane", "multigauss")
DATASETS = CLASSIFICATION + REGRESSION + ("custom",)
MULTICLASS = ("gauss", "spiral")  # the shapes that take a number of classes


class DataError(ValueError):
    """A data set that cannot be built: an unknown name, a bad formula, an unusable CSV."""


# --------------------------------------------------------------------------------------------- regression
def plane(n_samples: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``y = (x1 + x2) / 12`` on points uniform in ``[-6, 6]^2`` (a tilted plane: a linear model fits it)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-DOMAIN, DOMAIN, size=(n_samples, 2))
    y = (x[:, 0] + x[:, 1]) / (2 * DOMAIN) + noise / 100 * rng.standard_normal(n_samples)
    return x.astype(np.float32), np.clip(y, -1, 1).astype(np.float32)


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], np.float64)


def multi_gaussian(n_samples: int, noise: float = 0.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""``y = \sum_k s_k \exp(-\lVert x - c_k \rVert^2 / 2\sigma^2)``, six bumps of sign ``s_k`` (alternating) on a
    3 x 2 grid, ``\sigma = 1.6``, clipped to ``[-1, 1]``: a surface that needs hidden units."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-DOMAIN, DOMAIN, size=(n_samples, 2))
    d2 = ((x[:, None, :] - _BUMPS[None, :, :2]) ** 2).sum(-1)
    y = (_BUMPS[:, 2] * np.exp(-d2 / (2 * 1.6**2))).sum(1) + noise / 100 * rng.standard_normal(n_samples)
    return x.astype(np.float32), np.clip(y, -1, 1).astype(np.float32)


# ------------------------------------------------------------------------------------- y > f(x) formulas
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "abs": np.abs, "sqrt": np.sqrt,
              "tanh": np.tanh, "log": np.log}
_CONSTANTS = {"pi": math.pi, "e": math.e}
MAX_FORMULA = 80


def parse_function(text: str):
    """A safe ``f(x)`` from a formula such as ``3*sin(x)`` or ``x**2/3 - 3``: numbers, ``x``, ``pi``, ``e``,
    ``+ - * / **``, and sin cos tan exp abs sqrt tanh log. Nothing else is evaluated (no names, attributes or
    calls beyond these), so a formula typed in the page cannot run code.

    Returns a function from a float64 array to a float64 array; raises :class:`DataError` naming the problem.
    """
    if not isinstance(text, str) or not text.strip():
        raise DataError("the function f(x) is empty; write a formula in x such as 3*sin(x)")
    if len(text) > MAX_FORMULA:
        raise DataError(f"the function f(x) is {len(text)} characters long; at most {MAX_FORMULA} are allowed")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise DataError(f"the function f(x) = {text!r} is not a formula (example: 3*sin(x))") from None

    def check(node) -> None:
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            check(node.left), check(node.right)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            check(node.operand)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
            if len(node.args) != 1 or node.keywords:
                raise DataError(f"in f(x) = {text!r}: {node.func.id} takes one argument")
            check(node.args[0])
        elif isinstance(node, ast.Name) and (node.id == "x" or node.id in _CONSTANTS):
            pass
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            pass
        else:
            raise DataError(f"in f(x) = {text!r}: {ast.unparse(node)!r} is not allowed; use numbers, x, pi, e, "
                            f"+ - * / ** and {', '.join(_FUNCTIONS)}")

    check(tree)

    def evaluate(node, x):
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](evaluate(node.left, x), evaluate(node.right, x))
        if isinstance(node, ast.UnaryOp):
            return _UNARY[type(node.op)](evaluate(node.operand, x))
        if isinstance(node, ast.Call):
            return _FUNCTIONS[node.func.id](evaluate(node.args[0], x))
        if isinstance(node, ast.Name):
            return x if node.id == "x" else np.float64(_CONSTANTS[node.id])
        return np.float64(node.value)  # numpy floats overflow to inf instead of building huge integers

    def f(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(evaluate(tree, np.asarray(x, np.float64)), np.float64), np.shape(x))

    return f


def function_split(n_samples: int, formula: str = "3*sin(x)", noise: float = 0.0, seed: int = 0):
    """Points uniform in ``[-6, 6]^2``, class 1 where ``x2 > f(x1)``, 0 elsewhere (``f`` from
    :func:`parse_function`); noise moves the points after labelling. Raises :class:`DataError` when ``f`` is not
    finite on the data or leaves one class empty."""
    f = parse_function(formula)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-DOMAIN, DOMAIN, size=(n_samples, 2))
    fx = f(x[:, 0])
    if not np.isfinite(fx).all():
        raise DataError(f"f(x) = {formula!r} is not finite everywhere on [-6, 6] (it gives inf or nan)")
    y = (x[:, 1] > fx).astype(np.int64)
    if y.min() == y.max():
        raise DataError(f"x2 > {formula} puts every point in class {y[0]} on [-6, 6]^2; choose a function that "
                        "crosses the square")
    x = x + SCALE * noise / 100 * rng.standard_normal(x.shape)
    return x.astype(np.float32), y


# ------------------------------------------------------------------------------------------- generation
def generate(name: str, n_samples: int, noise: float = 0.0, seed: int = 0, classes: int = 2,
             formula: str = "3*sin(x)") -> tuple[np.ndarray, np.ndarray]:
    """The named data set (one of :data:`DATASETS` except ``custom``) in the playground's square."""
    unit_noise = noise / 100
    if name == "circle":
        x, y = synthetic.circles(n_samples, unit_noise, seed)
    elif name == "xor":
        x, y = synthetic.xor(n_samples, unit_noise, seed)
    elif name == "gauss":
        x, y = synthetic.gaussians(n_samples, classes, 0.15 + unit_noise, seed)
    elif name == "spiral":
        x, y = synthetic.spirals(n_samples, classes, unit_noise, seed)
    elif name == "split":
        return function_split(n_samples, formula, noise, seed)
    elif name == "plane":
        return plane(n_samples, noise, seed)
    elif name == "multigauss":
        return multi_gaussian(n_samples, noise, seed)
    else:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS[:-1])}")
    return (x * SCALE).astype(np.float32), y


# ------------------------------------------------------------------------------------------------ CSV
MAX_CSV_BYTES = 256 * 1024
MAX_CSV_ROWS = 2000  # the most points a playground data set has
MAX_CLASSES = 6


def parse_csv(text: str) -> tuple[np.ndarray, np.ndarray, str]:
    """The user's own points from CSV text ``x1,x2,label`` (one point a line; a header line is allowed).

    Labels that are all integers ``0 .. 5`` make a classification problem (one class per value); any other
    numbers a regression problem, whose targets are scaled to ``[-1, 1]``. The points are scaled (one factor for
    both axes, keeping the origin) so that they fill ``[-6, 6]^2``. Returns ``(X, y, task)`` with ``task``
    'classification' or 'regression'; raises :class:`DataError` with the line at fault.
    """
    if not isinstance(text, str):
        raise DataError("the CSV data should be text")
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise DataError(f"the CSV data is larger than {MAX_CSV_BYTES // 1024} kB")
    rows = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise DataError(f"CSV line {lineno}: expected 3 values x1,x2,label, got {len(row)}")
        try:
            values = [float(c) for c in row]
        except ValueError:
            if not rows and lineno == 1:
                continue  # a header line
            raise DataError(f"CSV line {lineno}: {','.join(row)!r} is not three numbers") from None
        if not all(math.isfinite(v) for v in values):
            raise DataError(f"CSV line {lineno}: values must be finite numbers, got {','.join(row)!r}")
        rows.append(values)
        if len(rows) > MAX_CSV_ROWS:
            raise DataError(f"the CSV data has more than {MAX_CSV_ROWS} points")
    if len(rows) < 10:
        raise DataError(f"the CSV data has {len(rows)} points; at least 10 are needed")
    a = np.asarray(rows, np.float64)
    x, label = a[:, :2], a[:, 2]
    span = np.abs(x).max()
    x = x * (DOMAIN / span) if span > 0 else x
    ints = np.all(label == np.round(label))
    if ints and label.min() >= 0 and label.max() < MAX_CLASSES and len(np.unique(label)) >= 2:
        return x.astype(np.float32), label.astype(np.int64), "classification"
    if ints and label.min() >= 0 and label.max() < MAX_CLASSES:
        raise DataError("the CSV labels are all one class; give at least two classes (0, 1, ...)")
    lo, hi = label.min(), label.max()
    if hi == lo:
        raise DataError("the CSV targets are all equal; there is nothing to learn")
    return x.astype(np.float32), (2 * (label - lo) / (hi - lo) - 1).astype(np.float32), "regression"
