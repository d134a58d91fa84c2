"""The documentation site builds offline with warnings as errors (broken links and references, bad docstrings)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "optim" / "index.html").is_file()
    # read offline: the pages load MathJax and its fonts from the site itself, and no web font
    page = (tmp_path / "site" / "tutorials" / "optimisation" / "index.html").read_text(encoding="utf-8")
    assert "javascripts/mathjax/tex-chtml.js" in page and "cdn.jsdelivr" not in page
    assert "fonts.googleapis" not in page
    assert (tmp_path / "site" / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2" /
            "MathJax_Main-Regular.woff").is_file()
