"""Every remoting bean declares its properties (typed constructor keywords), with the
chapter's properties first and the one TLS set of its side where it speaks TLS."""

from __future__ import annotations

import importlib
import inspect

import pytest

from springpython.context.properties import DeclaredProperties
from springpython.errors import ConfigurationError
from springpython.remoting import RemoteProxy, ServiceExporter
from springpython.remoting.tls_properties import (
    CLIENT_TLS_PROPERTIES,
    SERVER_TLS_PROPERTIES,
    ClientTLSProperties,
    ServerTLSProperties,
)

PACKAGES = ("springpython.remoting.pyro", "springpython.remoting.hessian", "springpython.remoting.xmlrpc",
            "springpython.remoting.ha")

#: The TLS properties each public bean must declare (None: it does not speak TLS).
TLS = {
    "PyroServiceExporter": SERVER_TLS_PROPERTIES,
    "Pyro5ServiceExporter": SERVER_TLS_PROPERTIES,
    "HessianServiceExporter": SERVER_TLS_PROPERTIES,
    "XMLRPCServiceExporter": SERVER_TLS_PROPERTIES,
    "PyroProxyFactory": CLIENT_TLS_PROPERTIES,
    "Pyro5ProxyFactory": CLIENT_TLS_PROPERTIES,
    "HessianProxyFactory": CLIENT_TLS_PROPERTIES,
    "XMLRPCProxyFactory": CLIENT_TLS_PROPERTIES,
    "AsyncPyroProxyFactory": CLIENT_TLS_PROPERTIES,
    "AsyncPyro5ProxyFactory": CLIENT_TLS_PROPERTIES,
    "AsyncHessianProxyFactory": CLIENT_TLS_PROPERTIES,
    "AsyncXMLRPCProxyFactory": CLIENT_TLS_PROPERTIES,
    "AsyncPyro4ProxyFactory": None,
    "AsyncHighAvailabilityProxyFactory": None,
    "Pyro4ServiceExporter": None,  # declares the names typed None, and refuses values
    "Pyro4ProxyFactory": None,
    "HighAvailabilityProxyFactory": None,  # its members speak TLS
    "BasePyroServiceExporter": None,
    "BasePyroProxyFactory": None,
}


def _public_beans() -> dict[str, type]:
    found = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and issubclass(value, (ServiceExporter, RemoteProxy)):
                found[name] = value
    return found


BEANS = _public_beans()


def test_the_table_names_every_public_bean():
    """Every exporter and proxy factory exported by springpython.remoting.* is in the table above."""
    assert sorted(BEANS) == sorted(TLS)


@pytest.mark.parametrize("name", sorted(TLS))
def test_bean_declares_its_properties(name):
    """A bean is DeclaredProperties; its chapter properties come first (so they work by
    position); it has its side's whole TLS set, from the one mixin, all unset by default."""
    cls = BEANS[name]
    assert issubclass(cls, DeclaredProperties)
    names = cls.__sp_properties__
    chapter = ("service", "service_name", "service_host", "service_port") if issubclass(cls, ServiceExporter) \
        else ("service_url",)
    assert names[:len(chapter)] == chapter
    expected = TLS[name]
    if expected is None:
        assert not issubclass(cls, (ServerTLSProperties, ClientTLSProperties))
        return
    mixin = ServerTLSProperties if expected is SERVER_TLS_PROPERTIES else ClientTLSProperties
    assert issubclass(cls, mixin)
    assert [n for n in names if n in expected] == list(expected)
    assert all(getattr(cls, n) is None for n in expected)


@pytest.mark.parametrize("name", sorted(TLS))
def test_misspelt_property_is_refused(name):
    """A misspelt keyword is a TypeError naming the bean and suggesting the property."""
    cls = BEANS[name]
    wrong, right = ("service_prot", "service_port") if issubclass(cls, ServiceExporter) else \
        ("serivce_url", "service_url")
    with pytest.raises(TypeError, match=f"{cls.__name__} has no property '{wrong}'; did you mean '{right}'"):
        cls(**{wrong: 1})


@pytest.mark.parametrize("name", ["Pyro4ServiceExporter", "Pyro4ProxyFactory"])
def test_pyro4_beans_refuse_every_tls_property(name):
    """Each TLS property set on a Pyro4 bean fails at start, saying to use the Pyro5 beans."""
    cls = BEANS[name]
    tls = SERVER_TLS_PROPERTIES if issubclass(cls, ServiceExporter) else CLIENT_TLS_PROPERTIES
    assert set(tls) <= set(cls.__sp_properties__)
    exporter = issubclass(cls, ServiceExporter)
    for prop in tls:
        if exporter:
            bean = cls(object(), "s", "127.0.0.1", 0, **{prop: "x"})
        else:
            bean = cls("PYRO:s@127.0.0.1:7766", **{prop: "x"})
        with pytest.raises(ConfigurationError, match=f"{prop} set, but Pyro4 has no TLS; use the Pyro5 beans"):
            bean.after_properties_set()
        assert not bean.exported if exporter else bean.connections == 0
