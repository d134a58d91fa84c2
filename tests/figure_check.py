"""Every demo run by the tests has its figures checked: each PNG it wrote decodes and is not blank.

``conftest.py`` replaces :func:`deepgrad.demos.run_demo` by :func:`checked_run_demo` before the test modules import
it, so the demos' own ``--fast`` tests do the check without running any demo a second time.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

MIN_COLOURS = 16        # a plot has axes, text and data in several colours; a blank canvas has one or two
MIN_INK = 0.01          # share of the pixels that differ from the most common (background) colour


def figure_problem(path: str | os.PathLike) -> str | None:
    """Why the PNG at ``path`` is not a usable figure (missing, undecodable, blank), or None when it is one."""
    from matplotlib import image

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return f"{path.name} was not written"
    try:
        img = image.imread(path)
    except Exception as e:  # noqa: BLE001 - any decoding failure is the finding
        return f"{path.name} does not decode as a PNG ({e})"
    pixels = np.round(np.asarray(img, dtype=np.float64).reshape(img.shape[0] * img.shape[1], -1) * 255)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    if len(colours) < MIN_COLOURS:
        return f"{path.name} is blank: {len(colours)} distinct colours (a figure has at least {MIN_COLOURS})"
    ink = 1.0 - counts.max() / len(pixels)
    if ink < MIN_INK:
        return f"{path.name} is blank: {ink:.2%} of its pixels differ from the background (want >= {MIN_INK:.0%})"
    return None


def checked_run_demo(run_demo):
    """``run_demo`` that, when matplotlib is there, asserts the demo wrote at least one PNG and that none is blank."""

    @functools.wraps(run_demo)
    def run(name, out=None, fast=False):
        out = os.path.join("runs", "demos") if out is None else out
        from deepgrad.viz import plots

        result = run_demo(name, out=out, fast=fast)
        if plots.available():
            figures = sorted(Path(out, name).rglob("*.png"))
            assert figures, f"demo {name!r} wrote no figure into {Path(out, name)}"
            problems = [p for p in map(figure_problem, figures) if p]
            assert not problems, f"demo {name!r}: " + "; ".join(problems)
        return result

    return run
