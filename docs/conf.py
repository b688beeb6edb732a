"""Sphinx configuration of the springpython documentation.

Built by the test suite with warnings as errors, so every page, diagram and
docstring is checked on each run. Only built-in Sphinx extensions are used, plus
the local ``cliref`` extension (``_ext/cliref.py``) that renders the command's
reference from its argument parser."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))

import springpython  # noqa: E402  (needs the checkout on sys.path first)
from springpython.config import XMLConfig  # noqa: E402
from springpython.graph import to_dot  # noqa: E402

project = "springpython"
author = "the springpython authors"
copyright = "the springpython authors; Apache License 2.0"
release = springpython.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.graphviz",
    "sphinx.ext.viewcode",
    "cliref",
]

root_doc = "index"
exclude_patterns = ["_build", "_generated"]
templates_path: list[str] = []
nitpicky = False

html_theme = "alabaster"
html_title = f"springpython {release}"
html_theme_options = {
    "description": "local objects made remote by configuration",
    "fixed_sidebar": True,
    "show_relbars": True,
}

graphviz_output_format = "svg"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}
autoclass_content = "both"

# -- doctests: run against the files in docs/examples, which the pages include ----------
doctest_global_setup = f"""
import os as _os, sys as _sys
EXAMPLES = {str(DOCS / "examples")!r}
if EXAMPLES not in _sys.path:
    _sys.path.insert(0, EXAMPLES)
_previous_cwd = _os.getcwd()
_os.chdir(EXAMPLES)
"""
doctest_global_cleanup = """
_os.chdir(_previous_cwd)
"""

# -- the wiring diagram: drawn from a sample context at build time ------------------------
GENERATED = DOCS / "_generated"


def _wiring_sources() -> list[Path]:
    """The sample context the wiring diagram is drawn from: the chapter's Pyro
    example (service, exporter and proxy in one file) when it is in the tree, else
    the local one."""
    pyro = ROOT / "samples" / "pyro" / "applicationContext.xml"
    return [pyro if pyro.is_file() else ROOT / "samples" / "local" / "applicationContext.xml"]


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _generate(app: object) -> None:
    """Write ``_generated/wiring.dot`` (what ``springpython graph`` prints for the
    sample) and ``_generated/wiring.inc`` (the command line that prints it)."""
    GENERATED.mkdir(exist_ok=True)
    sources = _wiring_sources()
    _write_if_changed(GENERATED / "wiring.dot", to_dot([XMLConfig(str(p)) for p in sources]))
    files = " ".join(p.relative_to(ROOT).as_posix() for p in sources)
    _write_if_changed(GENERATED / "wiring.inc", f".. code-block:: console\n\n   $ springpython graph {files}\n")


def setup(app: object) -> None:
    app.connect("builder-inited", _generate)  # type: ignore[attr-defined]
