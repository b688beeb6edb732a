"""Interop with plain Pyro5 on both ends, and the Pyro5 name server."""

from __future__ import annotations

import threading

import Pyro5.api
import Pyro5.nameserver
import Pyro5.server
import pytest
from helpers_pyro import Service, pyro_threads

from springpython.errors import ConnectFailedError, ExportError
from springpython.remoting.pyro import PyroProxyFactory, PyroServiceExporter
from springpython.remoting.pyro._pyro5 import SERVERS

HOST = "127.0.0.1"


@Pyro5.server.expose
class PlainPyroService:
    """A service written for Pyro5 directly."""

    def get_data(self, param):
        return "plain Pyro5 => %s" % param

    def fail(self):
        raise KeyError("missing")


class _Served:
    """A plain Pyro5 daemon (or name server) serving in a thread."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.thread = threading.Thread(target=daemon.requestLoop, name="plain-pyro5", daemon=True)
        self.thread.start()

    def close(self):
        self.daemon.shutdown()
        self.thread.join(10)


@pytest.fixture
def plain_daemon():
    """A plain Pyro5 daemon on 127.0.0.1:0 serving PlainPyroService as 'Plain'."""
    daemon = Pyro5.server.Daemon(host=HOST, port=0)
    uri = daemon.register(PlainPyroService(), "Plain")
    served = _Served(daemon)
    yield str(uri)
    served.close()


@pytest.fixture
def nameserver():
    """A Pyro5 name server on 127.0.0.1:0 (no broadcast); yields (host, port, proxy uri)."""
    uri, daemon, broadcast = Pyro5.nameserver.start_ns(host=HOST, port=0, enableBroadcast=False)
    assert broadcast is None
    served = _Served(daemon)
    yield HOST, uri.port, uri
    served.close()


def test_plain_pyro5_proxy_calls_an_exported_service():
    """A plain Pyro5.api.Proxy calls a service exported by PyroServiceExporter."""
    with PyroServiceExporter(service=Service(), service_name="Interop", service_host=HOST, service_port=0) as exp:
        with Pyro5.api.Proxy(exp.service_url) as raw:
            assert raw.get_data("raw") == "You got remote data => raw"
            with pytest.raises(ZeroDivisionError):
                raw.divide(1, 0)


def test_proxy_factory_calls_a_plain_pyro5_daemon(plain_daemon):
    """A PyroProxyFactory calls an object registered on a plain Pyro5 daemon."""
    proxy = PyroProxyFactory(service_url=plain_daemon)
    try:
        assert proxy.get_data("x") == "plain Pyro5 => x"
        with pytest.raises(KeyError, match="missing"):
            proxy.fail()
    finally:
        proxy.destroy()


def test_pyroloc_reaches_a_plain_pyro5_daemon(plain_daemon):
    """The chapter's PYROLOC form addresses an object on a plain Pyro5 daemon."""
    location = plain_daemon.split("@", 1)[1]
    proxy = PyroProxyFactory(service_url=f"PYROLOC://{location}/Plain")
    try:
        assert proxy.get_data(7) == "plain Pyro5 => 7"
    finally:
        proxy.destroy()


def test_register_with_nameserver_and_look_up(nameserver):
    """An exporter registers its URI and tags; PYRONAME and PYROMETA proxies find it; destroy removes it."""
    ns_host, ns_port, ns_uri = nameserver
    exporter = PyroServiceExporter(
        service=Service(),
        service_name="example.service",
        service_host=HOST,
        service_port=0,
        register_with_nameserver="true",
        nameserver_host=ns_host,
        nameserver_port=str(ns_port),
        metadata="tier.gold, region.eu",
    )
    exporter.after_properties_set()
    proxies = [
        PyroProxyFactory(service_url=f"PYRONAME:example.service@{ns_host}:{ns_port}"),
        PyroProxyFactory(service_url="PYRONAME:example.service", nameserver_host=ns_host, nameserver_port=ns_port),
        PyroProxyFactory(service_url=f"PYROMETA:tier.gold@{ns_host}:{ns_port}"),
    ]
    try:
        with Pyro5.api.Proxy(ns_uri) as ns:
            uri, tags = ns.lookup("example.service", return_metadata=True)
            assert str(uri) == exporter.service_url
            assert tags == {"tier.gold", "region.eu"}
        for proxy in proxies:
            assert proxy.get_data("ns") == "You got remote data => ns"
    finally:
        for proxy in proxies:
            proxy.destroy()
        exporter.destroy()
    with Pyro5.api.Proxy(ns_uri) as ns:
        assert "example.service" not in ns.list()


def test_lookup_of_unknown_name(nameserver):
    """A PYRONAME the name server does not know fails with ConnectFailedError naming the URL."""
    ns_host, ns_port, _ = nameserver
    proxy = PyroProxyFactory(service_url=f"PYRONAME:no.such.service@{ns_host}:{ns_port}")
    with pytest.raises(ConnectFailedError, match="cannot resolve PYRONAME:no.such.service"):
        proxy.get_data(1)
    proxy.destroy()


def test_nameserver_unreachable_rolls_back():
    """If the name server cannot be reached, export fails with ExportError and nothing keeps running."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        free = probe.getsockname()[1]
    exporter = PyroServiceExporter(
        service=Service(), service_name="svc", service_host=HOST, service_port=0,
        register_with_nameserver=True, nameserver_host=HOST, nameserver_port=free,
    )
    with pytest.raises(ExportError, match=f"no Pyro5 name server found {HOST}:{free}"):
        exporter.after_properties_set()
    assert not exporter.exported
    assert pyro_threads() == [] and SERVERS.addresses() == []
