"""Every docstring example of the package runs as shown: doctest over each module of src/deepgrad, in a fresh
working folder (an example that writes a file writes it there), with NumPy's print options at their defaults."""
import doctest
import importlib
import os
import pkgutil

import numpy as np
import pytest

import deepgrad

# modules whose import needs an optional extra that may be missing are skipped by importorskip below
MODULES = sorted(m.name for m in pkgutil.walk_packages(deepgrad.__path__, "deepgrad.")
                 if not m.name.endswith("__main__"))
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as e:
        pytest.skip(f"{name} needs an optional dependency: {e}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    return [t for t in finder.find(module, name) if t.examples and t.name.startswith(name)]


@pytest.mark.parametrize("name", ["deepgrad", *MODULES])
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    for test in _examples(name):
        deepgrad.manual_seed(0)
        np.random.seed(0)
        with np.printoptions():
            runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def test_docstring_examples_are_found():
    assert len(MODULES) > 50
    assert _examples("deepgrad.optim.implicit_sgd")  # ImplicitSGD's example
    assert os.path.basename(deepgrad.__file__) == "__init__.py"
