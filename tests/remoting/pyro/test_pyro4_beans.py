"""Pyro4ServiceExporter and Pyro4ProxyFactory (chapter 8.2.5), interop with plain Pyro4,
and the missing-dependency message when Pyro4 is not installed."""

from __future__ import annotations

import threading

import Pyro4
import pytest
from helpers_pyro import Service, ServiceError, exporters, port_is_free, proxy_factories, pyro_threads

from springpython.errors import ConfigurationError, ConnectFailedError, ExportError
from springpython.remoting.pyro import Pyro4ProxyFactory, Pyro4ServiceExporter
from springpython.remoting.pyro._pyro4 import SERVERS

HOST = "127.0.0.1"


class Point:
    """A plain class that only pickle can carry."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


@pytest.fixture
def export4():
    """Pyro4 exporters on 127.0.0.1:0, destroyed after the test."""
    yield from exporters(Pyro4ServiceExporter, HOST)


@pytest.fixture
def proxies4():
    """Pyro4 proxy factories, destroyed after the test."""
    yield from proxy_factories(Pyro4ProxyFactory)


def test_pyro4_call(export4, proxies4):
    """A Pyro4 proxy factory calls a service exported on Pyro4."""
    exporter = export4()
    assert exporter.service_url.startswith(f"PYRO:ServiceName@{HOST}:")
    service = proxies4(exporter.service_url, exception_classes=["helpers_pyro.ServiceError"])
    assert service.get_data("Hello") == "You got remote data => Hello"
    with pytest.raises(ServiceError, match="^broken$"):
        service.fail("broken")


def test_pyro4_accepts_pyroloc(export4, proxies4):
    """The chapter's PYROLOC URL works with the Pyro4 proxy factory too."""
    exporter = export4()
    location = exporter.service_url.split("@", 1)[1]
    assert proxies4(f"PYROLOC://{location}/ServiceName").echo(5) == 5


def test_plain_pyro4_proxy_calls_exported_service(export4):
    """A plain Pyro4.Proxy calls the exported service; private names are refused."""
    exporter = export4()
    with Pyro4.Proxy(exporter.service_url) as raw:
        assert raw.get_data("raw4") == "You got remote data => raw4"
        assert raw.size == 3
        for name in ("_private", "__class__", "__dict__", "release"):
            with pytest.raises(AttributeError):
                raw._pyroInvoke(name, (), {})
        assert raw.echo("alive") == "alive"


def test_proxy_factory_calls_plain_pyro4_daemon():
    """A Pyro4ProxyFactory calls an object registered on a plain Pyro4 daemon."""

    @Pyro4.expose
    class Plain:
        def hello(self, who):
            return "plain Pyro4 => %s" % who

    daemon = Pyro4.Daemon(host=HOST, port=0)
    uri = daemon.register(Plain(), "Plain4")
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    proxy = Pyro4ProxyFactory(service_url=str(uri))
    try:
        assert proxy.hello("x") == "plain Pyro4 => x"
    finally:
        proxy.destroy()
        daemon.shutdown()
        thread.join(10)


def test_pickle_only_when_named_on_both_ends(export4, proxies4):
    """pickle works when the exporter and the proxy name it; serpent-only exporters refuse it."""
    accepted_before = set(Pyro4.config.SERIALIZERS_ACCEPTED)
    pickling = export4(name="Pickling", serializer="pickle")
    assert proxies4(pickling.service_url, serializer="pickle").echo(Point(1, 2)) == Point(1, 2)
    plain = export4(name="Plain")
    with pytest.raises(ConnectFailedError, match="not accepted"):
        proxies4(plain.service_url, serializer="pickle").echo(1)
    assert proxies4(plain.service_url).echo([1]) == [1]
    assert set(Pyro4.config.SERIALIZERS_ACCEPTED) == accepted_before


def test_pyro4_garbage_to_the_daemon_port(export4, proxies4):
    """A client sending garbage to a Pyro4 daemon is dropped; the daemon keeps serving."""
    import socket

    exporter = export4()
    port = int(exporter.service_url.rsplit(":", 1)[1])
    with socket.create_connection((HOST, port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.0\r\n\r\n" + b"\xff" * 64)
        try:
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(4096):
                pass
        except (ConnectionResetError, OSError) as exc:
            assert not isinstance(exc, TimeoutError)
    assert proxies4(exporter.service_url).echo("still serving") == "still serving"


def test_pyro4_port_free_after_destroy(export4):
    """The last Pyro4 exporter's destroy frees the port at once."""
    exporter = export4()
    port = int(exporter.service_url.rsplit(":", 1)[1])
    exporter.destroy()
    assert port_is_free(HOST, port, reuse=False)
    assert pyro_threads() == []


def test_pyro4_reconnects_after_restart(export4, proxies4):
    """A Pyro4 proxy factory picks up a restarted server."""
    first = export4()
    port = int(first.service_url.rsplit(":", 1)[1])
    service = proxies4(first.service_url)
    assert service.echo(1) == 1
    first.destroy()
    export4(port=port)
    assert service.echo(2) == 2


def test_pyro4_port_taken(export4):
    """A taken port gives ExportError naming it; nothing is left running."""
    import socket

    with socket.socket() as other:
        other.bind((HOST, 0))
        other.listen(1)
        port = other.getsockname()[1]
        with pytest.raises(ExportError, match=f"{HOST}:{port}"):
            export4(port=port)
    assert SERVERS.addresses() == [] and pyro_threads() == []


def test_pyro4_refuses_tls_properties():
    """TLS properties on the Pyro4 beans are a configuration error (TLS is Pyro5's)."""
    exporter = Pyro4ServiceExporter(service=Service(), service_name="s", service_host=HOST, service_port=0,
                                    certfile="server.pem")
    with pytest.raises(ConfigurationError, match="certfile set, but Pyro4 has no TLS; use the Pyro5 beans"):
        exporter.after_properties_set()
    with pytest.raises(ConfigurationError, match="ca_certs set, but Pyro4 has no TLS; use the Pyro5 beans"):
        Pyro4ProxyFactory("PYRO:x@127.0.0.1:1", ca_certs="ca.pem").echo(1)


MISSING_PYRO4 = """
import sys
sys.modules["Pyro4"] = None  # as if Pyro4 were not installed
import springpython.remoting.pyro as pyro
from springpython.errors import MissingDependencyError
print("imported", sorted(pyro.__all__))
for cls in (pyro.Pyro4ServiceExporter, pyro.Pyro4ProxyFactory, pyro.AsyncPyro4ProxyFactory):
    try:
        cls()
    except MissingDependencyError as exc:
        print("missing:", exc)
print("pyro5 still works:", pyro.PyroServiceExporter().service_port)
"""


def test_missing_pyro4_is_explained(spawn):
    """Without Pyro4 the package imports and the Pyro4 beans (the async one too) say which extra to install."""
    proc = spawn(["-c", MISSING_PYRO4])
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "imported" in out and "Pyro4ServiceExporter" in out
    assert out.count('missing: the Pyro4 beans need Pyro4, which is not installed: pip install "springpython[pyro4]"') == 3
    assert "pyro5 still works: 7766" in out
