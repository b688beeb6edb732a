"""The documentation: it builds with warnings as errors, its doctests pass, and the
pages say what the code does (every subcommand, property and public name)."""

from __future__ import annotations

import html
import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT, python_env

DOCS = ROOT / "docs"
BUILD_TIMEOUT = 300


def _sphinx(builder: str, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sphinx", *options, "-b", builder, str(DOCS), str(out)],
        cwd=ROOT, env=python_env(), capture_output=True, text=True, timeout=BUILD_TIMEOUT,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The HTML site, built once for this module with ``-W --keep-going``."""
    out = tmp_path_factory.mktemp("html")
    result = _sphinx("html", out, "-W", "--keep-going")
    assert result.returncode == 0, f"the docs build failed:\n{result.stdout}\n{result.stderr}"
    return out


def _text(site: Path, page: str) -> str:
    """The visible text of a rendered page, tags stripped, entities decoded."""
    raw = (site / f"{page}.html").read_text(encoding="utf-8")
    body = raw.split('<div class="body" role="main">', 1)[-1]
    return html.unescape(re.sub(r"<[^>]+>", "", body))


def _literals(site: Path, page: str) -> set[str]:
    """Every inline literal (``name``) of a rendered page, as text; a literal holding
    several names separated by commas counts for each of them."""
    raw = (site / f"{page}.html").read_text(encoding="utf-8")
    found = set()
    for code in re.findall(r'<code class="docutils literal notranslate">(.*?)</code>', raw, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", code))
        found.add(text)
        found.update(part.strip() for part in text.split(","))
    return found


def _ids(site: Path, page: str) -> set[str]:
    return set(re.findall(r'id="([^"]+)"', (site / f"{page}.html").read_text(encoding="utf-8")))


def test_html_build_has_no_warnings(site):
    """`sphinx -W --keep-going -b html docs` exits 0 and writes every top-level page."""
    for page in ("index", "getting-started", "security", "command", "changelog", "remoting/choosing"):
        assert (site / f"{page}.html").is_file(), page


def test_doctests_pass(tmp_path):
    """Every doctest block of the docs runs green (`sphinx -b doctest`), and there are many."""
    result = _sphinx("doctest", tmp_path)
    assert result.returncode == 0, f"doctests failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    summary = (tmp_path / "output.txt").read_text(encoding="utf-8")
    ran = int(re.search(r"^\s*(\d+) tests$", summary, re.M).group(1))
    assert ran >= 50 and "0 failures in tests" in summary, summary[-2000:]


def test_getting_started_quotes_the_readme_commands(site):
    """The getting-started page shows the README's two Quick start commands verbatim."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```\n(.+?)\n```", quick, re.S)
    assert len(commands) == 2, commands
    text = _text(site, "getting-started")
    for command in commands:
        assert command.strip() in text, command


def test_command_reference_is_generated_from_the_parser(site):
    """The command page lists every subcommand of build_parser() with all its options."""
    from springpython.cli import build_parser

    text = _text(site, "command")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(subparsers.choices) >= {"run", "validate", "certs", "graph", "demo"}
    for name, sub in subparsers.choices.items():
        assert f"springpython {name}" in text, name
        assert sub.description in text, name
        for action in sub._actions:
            for option in action.option_strings:
                assert option in text, (name, option)
    for option in ("--verbose", "--quiet", "--version"):
        assert option in text


def _properties(cls: type) -> set[str]:
    """The configurable properties of a bean class: public, non-callable class attributes
    declared by springpython's remoting classes (constants in capitals left out)."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("springpython.remoting"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name.isupper() or callable(value) or isinstance(value, property):
                continue
            names.add(name)
        names.update(n for n in getattr(klass, "__annotations__", {}) if not n.startswith("_") and not n.isupper())
    return names


BEAN_PAGES = {
    "remoting/xmlrpc": ("springpython.remoting.xmlrpc", ["XMLRPCServiceExporter", "XMLRPCProxyFactory"]),
    "remoting/pyro": ("springpython.remoting.pyro", ["PyroServiceExporter", "PyroProxyFactory"]),
    "remoting/hessian": ("springpython.remoting.hessian", ["HessianServiceExporter", "HessianProxyFactory"]),
    "remoting/ha": ("springpython.remoting.ha", ["HighAvailabilityProxyFactory"]),
    "remoting/discovery": ("springpython.remoting.discovery", ["EtcdRegistry"]),
}


@pytest.mark.parametrize("page", sorted(BEAN_PAGES))
def test_transport_page_documents_every_property(site, page):
    """Each transport page names every property its exporter and proxy factory accept."""
    module_name, class_names = BEAN_PAGES[page]
    module = importlib.import_module(module_name)
    literals = _literals(site, page) | _literals(site, "remoting/index")
    for class_name in class_names:
        properties = _properties(getattr(module, class_name))
        assert properties, class_name
        missing = sorted(p for p in properties if p not in literals)
        assert not missing, f"{page} does not document {class_name} properties {missing}"


API_PAGES = {
    "springpython.context": "api/context",
    "springpython.config": "api/config",
    "springpython.errors": "api/errors",
    "springpython.remoting": "api/remoting",
    "springpython.remoting.pyro": "api/pyro",
    "springpython.remoting.xmlrpc": "api/xmlrpc",
    "springpython.remoting.hessian": "api/hessian",
    "springpython.remoting.ha": "api/ha",
    "springpython.remoting.discovery": "api/discovery",
    "springpython.hosting": "api/hosting",
}


@pytest.mark.parametrize("package", sorted(API_PAGES))
def test_api_reference_covers_public_classes_and_functions(site, package):
    """Every public class and function a package exports has an entry in the API reference."""
    module = importlib.import_module(package)
    ids = set().union(*(_ids(site, page) for page in API_PAGES.values()))
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        where = {f"{package}.{name}", f"{obj.__module__}.{obj.__qualname__}"}
        assert where & ids, f"{package}.{name} is not in the API reference"


def test_diagrams_are_rendered(site):
    """The Graphviz diagrams (request paths, chain of trust, wiring) are built into the pages."""
    for page in ("getting-started", "security", "remoting/index", "remoting/pyro", "remoting/xmlrpc",
                 "remoting/hessian", "remoting/ha"):
        raw = (site / f"{page}.html").read_text(encoding="utf-8")
        assert 'class="graphviz' in raw, page
    assert list((site / "_images").glob("graphviz-*.svg"))


def test_wiring_diagram_is_what_the_command_prints(site):
    """The wiring diagram is springpython graph's DOT for the Pyro sample, drawn at build time."""
    from springpython.config import XMLConfig
    from springpython.graph import to_dot

    sample = ROOT / "samples" / "pyro" / "applicationContext.xml"
    generated = (DOCS / "_generated" / "wiring.dot").read_text(encoding="utf-8")
    assert generated == to_dot(XMLConfig(str(sample)))
    assert "springpython graph samples/pyro/applicationContext.xml" in _text(site, "getting-started")
    assert "service_exporter" in generated and "exporter:" in generated and "proxy:" in generated


def test_changelog_names_the_current_version(site):
    """The changelog has an entry for the package's version."""
    import springpython

    assert springpython.__version__ in _text(site, "changelog")


def test_security_page_states_the_tls_minimum(site):
    """The security page states the TLS minimum the code enforces."""
    from springpython.remoting.tls import MINIMUM_VERSION

    text = _text(site, "security")
    assert MINIMUM_VERSION.name.replace("TLSv1_2", "TLS 1.2") in text
    assert "verify_fields" in text and "pickle" in text
