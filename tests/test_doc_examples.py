"""Every ```python block of the README and of each docs/*.md page runs as shown: a page's blocks in order, in one
fresh interpreter, in an empty folder.

A block that cannot run there starts with the line ``# not run: <why>``. A line ``print(...)  # prints X`` must
print ``X`` (the printed lines are checked in order).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
PRINTS = re.compile(r"^\s*print\(.*\)\s+# prints (.+?)\s*$")


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(first line number, source) of each runnable ```python block of ``path``."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        if not m.group(1).startswith("# not run:"):
            blocks.append((text.count("\n", 0, m.start(1)) + 1, m.group(1)))
    return blocks


def run_blocks(path: Path, tmp_path: Path) -> None:
    blocks = python_blocks(path)
    assert blocks, f"{path.name} has no runnable python block"
    script = "".join(f"# --- {path.name}, line {line}\n{src}\n" for line, src in blocks)
    expected = [m.group(1) for _, src in blocks for m in map(PRINTS.match, src.splitlines()) if m]
    (tmp_path / "examples.py").write_text(script, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
               MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "examples.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, f"{path.name}'s examples failed:\n{proc.stdout}\n{proc.stderr}"
    lines = iter(proc.stdout.splitlines())
    for want in expected:  # each expected line appears, in order
        assert any(line.strip() == want for line in lines), f"{path.name}: no printed line {want!r} in\n{proc.stdout}"


def test_readme_python_blocks_run_as_shown(tmp_path):
    run_blocks(ROOT / "README.md", tmp_path)


DOC_PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md") if python_blocks(p))


def test_docs_pages_with_examples_are_found():
    assert {"training.md", "optim.md", "models.md", "checkpoints.md"} <= {p.name for p in DOC_PAGES}


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: str(p.relative_to(ROOT / "docs")))
def test_docs_page_python_blocks_run_as_shown(page, tmp_path):
    run_blocks(page, tmp_path)


def test_python_blocks_are_found_and_marked_blocks_skipped(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nprint(1 + 1)  # prints 2\n```\n```python\n# not run: needs mpirun\n"
                    "raise SystemExit(1)\n```\n```bash\nexit 1\n```\n", encoding="utf-8")
    assert python_blocks(page) == [(3, "print(1 + 1)  # prints 2\n")]
    run_blocks(page, tmp_path)
    page.write_text("```python\nprint(1 + 1)  # prints 3\n```\n", encoding="utf-8")
    try:
        run_blocks(page, tmp_path)
    except AssertionError as e:
        assert "no printed line '3'" in str(e)
    else:
        raise AssertionError("a wrong '# prints' went unnoticed")
