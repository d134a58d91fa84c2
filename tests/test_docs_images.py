"""Every image the README and the docs pages show exists, and every figure under docs/figures is shown somewhere
(mkdocs --strict checks Markdown images but not the HTML <img> tags the demo tables use)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_IMG = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)|<img\s[^>]*src=\"([^\"]+)\"")


def _pages():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _images(page: Path):
    for m in _IMG.finditer(page.read_text(encoding="utf-8")):
        src = m.group(1) or m.group(2)
        if not re.match(r"[a-z]+://", src):
            yield src, (page.parent / src).resolve()


def test_every_shown_image_exists():
    missing = [f"{p.relative_to(ROOT)}: {src}" for p in _pages() for src, path in _images(p) if not path.is_file()]
    assert not missing, missing


def test_every_committed_figure_is_shown():
    shown = {path for p in _pages() for _, path in _images(p)}
    unused = [f.name for f in sorted((ROOT / "docs" / "figures").glob("*.png")) if f.resolve() not in shown]
    assert not unused, f"figures under docs/figures shown on no page: {unused}"
