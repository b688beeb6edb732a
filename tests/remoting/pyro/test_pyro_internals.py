"""Pyro's private API stays in one adapter module, checked against pinned Pyro versions;
the Pyro4 beans are siblings of the Pyro5 beans."""

from __future__ import annotations

import re
from pathlib import Path

import Pyro4
import Pyro5
import pytest

import springpython
from springpython.remoting.pyro import (
    BasePyroProxyFactory,
    BasePyroServiceExporter,
    Pyro4ProxyFactory,
    Pyro4ServiceExporter,
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
    PyroProxyFactory,
    PyroServiceExporter,
)
from springpython.remoting.pyro import _pyro_internals

PACKAGE = Path(springpython.__file__).parent
ADAPTER = Path(_pyro_internals.__file__)
# faults.from_pyro reads the "_pyroTraceback" key of an exception as Pyro writes it
# on the wire: a field of the wire format, not a use of Pyro's API.
WIRE_FORMAT_READERS = {PACKAGE / "remoting" / "faults.py"}
# A private Pyro proxy/exception attribute, whatever its name.
PYRO_ATTRIBUTE = re.compile(r"\b_pyro[A-Z]\w*")


@pytest.mark.parametrize(("engine", "installed"), [("Pyro5", Pyro5.__version__), ("Pyro4", Pyro4.__version__)])
def test_pyro_version_is_the_one_checked(engine, installed):
    """The installed Pyro is the version the adapter module was checked against."""
    checked = _pyro_internals.CHECKED_VERSIONS[engine]
    assert installed == checked, (
        f"{engine} {installed} is installed, but {ADAPTER.relative_to(PACKAGE.parent)} was checked against "
        f"{engine} {checked}: re-check every private name its docstring lists against {engine} {installed} "
        f"(and run the Pyro tests), then set CHECKED_VERSIONS[{engine!r}] = {installed!r}"
    )


def test_adapter_docstring_lists_every_private_name():
    """Every private name the adapter declares is explained in its docstring."""
    doc = _pyro_internals.__doc__ or ""
    missing = [name for name in _pyro_internals.PRIVATE_NAMES if name not in doc]
    assert missing == []


def test_no_pyro_private_name_outside_the_adapter():
    """No module of springpython but the adapter uses a Pyro private name."""
    names = re.compile(
        "|".join(rf"(?<![\w]){re.escape(n)}\b" for n in _pyro_internals.PRIVATE_NAMES) + "|" + PYRO_ATTRIBUTE.pattern
    )
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == ADAPTER or path in WIRE_FORMAT_READERS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if names.search(line):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}")
    assert found == []


def test_the_grep_sees_private_names():
    """The pattern the check above uses matches the forms Pyro's private names take."""
    names = re.compile("|".join(rf"(?<![\w]){re.escape(n)}\b" for n in _pyro_internals.PRIVATE_NAMES))
    assert names.search("proxy._pyroConnection.sock") and PYRO_ATTRIBUTE.search("x._pyroFoo = 1")
    assert names.search("return Daemon._handshake(self, conn)")
    assert not names.search("self.pyro_handshake(conn)")


def test_pyro4_beans_are_siblings_of_the_pyro5_beans():
    """A Pyro4 bean is no Pyro5 bean (nor the other way round); both share the engine-neutral base."""
    proxy = Pyro4ProxyFactory("PYRO:Calc@127.0.0.1:1")
    assert not isinstance(proxy, Pyro5ProxyFactory)
    assert isinstance(proxy, BasePyroProxyFactory)
    assert not isinstance(Pyro5ProxyFactory("PYRO:Calc@127.0.0.1:1"), Pyro4ProxyFactory)
    assert not issubclass(Pyro4ServiceExporter, Pyro5ServiceExporter)
    assert not issubclass(Pyro5ServiceExporter, Pyro4ServiceExporter)
    assert issubclass(Pyro4ServiceExporter, BasePyroServiceExporter)
    assert issubclass(Pyro5ServiceExporter, BasePyroServiceExporter)
    assert issubclass(PyroServiceExporter, Pyro5ServiceExporter) and issubclass(PyroProxyFactory, Pyro5ProxyFactory)
