"""PyroServiceExporter and PyroProxyFactory on Pyro5: export, call, share, fail cleanly."""

from __future__ import annotations

import copy
import socket
import threading

import Pyro5.api
import pytest
from helpers_pyro import (
    Service,
    ServiceError,
    exporters,
    port_is_free,
    proxy_factories,
    pyro_threads,
    wait_until,
)

from springpython.context import DisposableObject, InitializingObject
from springpython.errors import (
    CallTimeoutError,
    ConfigurationError,
    ConnectFailedError,
    ExportError,
)
from springpython.remoting.pyro import (
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
    PyroProxyFactory,
    PyroServiceExporter,
)
from springpython.remoting.pyro._pyro5 import SERVERS
from springpython.remoting.registry import live_servers

HOST = "127.0.0.1"


@pytest.fixture
def export():
    """Export services on 127.0.0.1 (port 0 unless given); all destroyed after the test."""
    yield from exporters(PyroServiceExporter, HOST)


@pytest.fixture
def proxies():
    """Proxy factories for a URL; all destroyed after the test."""
    yield from proxy_factories(PyroProxyFactory)


def test_call_through_proxy_factory(export, proxies):
    """A proxy factory calls the exported service and returns its result."""
    exporter = export()
    service = proxies(exporter.service_url)
    assert service.get_data("Hello") == "You got remote data => Hello"
    assert service.echo({"a": [1, 2.5, None, "x"]}) == {"a": [1, 2.5, None, "x"]}


def test_port_zero_reports_the_real_uri(export):
    """An exporter asked for port 0 reports the URI with the port it got."""
    exporter = export()
    port = int(exporter.service_url.rsplit(":", 1)[1])
    assert port > 0
    assert exporter.service_url == f"PYRO:ServiceName@{HOST}:{port}"
    with socket.create_connection((HOST, port)):
        pass


def test_defaults_follow_the_chapter():
    """Without properties the exporter advertises localhost:7766 and is not exported."""
    exporter = PyroServiceExporter()
    assert (exporter.service_host, exporter.service_port) == ("localhost", 7766)
    assert exporter.exported is False
    assert isinstance(exporter, InitializingObject) and isinstance(exporter, DisposableObject)
    assert PyroServiceExporter.DEFAULT_PORT == Pyro5ServiceExporter.DEFAULT_PORT == 7766


def test_constructor_injection(proxies):
    """The 8.4 constructor keywords set the properties; after_properties_set exports."""
    exporter = PyroServiceExporter(service_name="Ctor", service=Service(), service_host=HOST, service_port=0)
    assert exporter.service_name == "Ctor" and exporter.service_port == 0
    with exporter:
        assert proxies(exporter.service_url).get_data(1) == "You got remote data => 1"
    assert not exporter.exported


def test_port_as_text_from_xml(export, proxies):
    """Ports and booleans given as text (as XML sets them) are accepted."""
    exporter = export(port="0", register_with_nameserver="false")
    assert proxies(exporter.service_url).echo("x") == "x"


def test_application_exceptions_keep_type_and_message(export, proxies):
    """A service's exception listed in exception_classes reaches the caller with its own type and message."""
    service = proxies(export().service_url, exception_classes=["helpers_pyro.ServiceError"])
    with pytest.raises(ServiceError, match="^no such order 17$"):
        service.fail("no such order 17")
    with pytest.raises(ZeroDivisionError):
        service.divide(1, 0)
    assert service.get_data("after") == "You got remote data => after"


def test_service_class_is_not_modified(export, proxies):
    """Exporting leaves the service object and its class exactly as they were."""
    service = Service()
    class_before = dict(vars(Service))
    instance_before = dict(vars(service))
    export(service)
    assert dict(vars(Service)) == class_before
    assert dict(vars(service)) == instance_before
    assert not any(name.startswith("_pyro") for name in dir(service))


def test_only_public_methods_are_reachable(export):
    """A plain Pyro5 client sees only public methods/properties; private and dunder calls fail."""
    exporter = export()
    with Pyro5.api.Proxy(exporter.service_url) as raw:
        raw._pyroBind()
        assert raw._pyroMethods == {"get_data", "echo", "fail", "divide", "block"}
        assert raw._pyroAttrs == {"size"}
        for name in ("_private", "_Service__secret", "__class__", "__dict__", "__init__", "__reduce__", "release"):
            with pytest.raises(AttributeError):
                raw._pyroInvoke(name, (), {})
        assert raw.get_data("still") == "You got remote data => still"


def test_public_properties_are_reachable(export):
    """A public property can be read and set by a plain Pyro5 client."""
    service = Service()
    exporter = export(service)
    with Pyro5.api.Proxy(exporter.service_url) as raw:
        assert raw.size == 3
        raw.size = 5
    assert service.size == 5


def test_exporters_on_one_port_share_one_daemon(export, proxies):
    """Two exporters on one host:port share a daemon thread; it stops with the last one."""
    first = export(name="First")
    port = int(first.service_url.rsplit(":", 1)[1])
    second = export(name="Second", port=port)
    assert first._server is second._server
    assert SERVERS.users(first._server) == 2
    assert len(pyro_threads()) == 1
    assert proxies(second.service_url).get_data(2) == "You got remote data => 2"
    first.destroy()
    assert proxies(second.service_url).get_data(3) == "You got remote data => 3"
    second.destroy()
    assert pyro_threads() == []
    assert (("pyro5", HOST, port)) not in live_servers()


def test_port_is_free_at_once_after_destroy(export):
    """Destroying the last exporter closes the port: a plain socket binds it right away."""
    exporter = export()
    port = int(exporter.service_url.rsplit(":", 1)[1])
    assert not port_is_free(HOST, port, reuse=True)
    exporter.destroy()
    assert port_is_free(HOST, port, reuse=False)


def test_port_is_free_after_calls(export, proxies):
    """After connections were served, the port can be listened on again at once."""
    exporter = export()
    port = int(exporter.service_url.rsplit(":", 1)[1])
    assert proxies(exporter.service_url).echo(1) == 1
    exporter.destroy()
    assert port_is_free(HOST, port, reuse=True)


def test_port_taken_by_another_program(export):
    """A port in use elsewhere gives ExportError naming host:port, and nothing is left running."""
    with socket.socket() as other:
        other.bind((HOST, 0))
        other.listen(1)
        port = other.getsockname()[1]
        with pytest.raises(ExportError, match=f"{HOST}:{port}"):
            export(port=port)
    assert pyro_threads() == []
    assert SERVERS.addresses() == []


def test_same_name_twice_on_one_daemon(export):
    """A second service under a name already on that daemon is refused; the first keeps serving."""
    first = export(name="Dup")
    port = int(first.service_url.rsplit(":", 1)[1])
    with pytest.raises(ExportError, match="'Dup' is already exported"):
        export(name="Dup", port=port)
    assert SERVERS.users(first._server) == 1
    with Pyro5.api.Proxy(first.service_url) as raw:
        assert raw.echo(1) == 1


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"service": None}, "'service' property is not set"),
        ({"service_name": None}, "service_name must be a name"),
        ({"service_name": "has space"}, "service_name must be a name"),
        ({"service_port": "seventy"}, "service_port must be an integer"),
        ({"service_port": 70000}, "service_port must be between 0 and 65535"),
        ({"service_host": ""}, "'service_host' property is empty"),
    ],
)
def test_bad_exporter_properties(props, message):
    """Bad exporter properties give ConfigurationError saying what is wrong; nothing starts."""
    values = {"service": Service(), "service_name": "Svc", "service_host": HOST, "service_port": 0}
    values.update(props)
    exporter = PyroServiceExporter(**values)
    with pytest.raises(ConfigurationError, match=message):
        exporter.after_properties_set()
    assert not exporter.exported
    assert pyro_threads() == []


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"serializer": "pickle"}, "Pyro5 has no pickle"),
        ({"serializer": "yaml"}, "'yaml' is not available"),
        ({"serializer": ""}, "names no serializer"),
        ({"serializer": 42}, "must be a list of names"),
        ({"register_with_nameserver": "maybe"}, "must be true or false"),
        ({"register_with_nameserver": True, "nameserver_port": "ninety"}, "nameserver_port must be an integer"),
        ({"metadata": 5}, "metadata must be a list of names"),
        ({"keyfile": "/nonexistent.key"}, "need certfile"),
        ({"certfile": "/nonexistent.pem"}, "cannot load certificate"),
    ],
)
def test_bad_pyro_properties(props, message):
    """Bad Pyro-specific properties fail with a clear error and leave nothing running."""
    exporter = PyroServiceExporter(service=Service(), service_name="Svc", service_host=HOST, service_port=0, **props)
    with pytest.raises(ConfigurationError, match=message):
        exporter.after_properties_set()
    assert pyro_threads() == [] and SERVERS.addresses() == []


def test_unknown_property_name_is_refused():
    """A misspelt property name given to the constructor is a TypeError naming it."""
    with pytest.raises(TypeError, match="service_prot"):
        PyroServiceExporter(service_prot=1)
    with pytest.raises(TypeError, match="timout"):
        PyroProxyFactory("PYRO:x@h:1", timout=1)


def test_unknown_service_name(export, proxies):
    """Calling a name the daemon does not know fails to connect, saying so; the daemon serves on."""
    exporter = export()
    wrong = exporter.service_url.replace("ServiceName", "NoSuchService")
    with pytest.raises(ConnectFailedError, match="unknown object"):
        proxies(wrong).get_data(1)
    assert proxies(exporter.service_url).get_data(1) == "You got remote data => 1"


def test_service_withdrawn_while_connected(export, proxies):
    """A call to a service destroyed after the proxy connected (the daemon still serving others) is ConnectFailedError: it did not run."""
    first = export(name="First")
    second = export(name="Second", port=first.service_url.rsplit(":", 1)[1])
    proxy = proxies(first.service_url)
    assert proxy.get_data(1) == "You got remote data => 1"
    first.destroy()
    with pytest.raises(ConnectFailedError, match="unknown object|no service 'First' is exported there"):
        proxy.get_data(2)
    assert proxies(second.service_url).get_data(3) == "You got remote data => 3"


def test_unreachable_host(proxies):
    """Nothing listening at the address gives ConnectFailedError naming the URL."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    url = f"PYROLOC://{HOST}:{port}/ServiceName"
    with pytest.raises(ConnectFailedError, match=f"PYROLOC://{HOST}:{port}/ServiceName.*cannot connect"):
        proxies(url).get_data(1)
    with pytest.raises(ConnectFailedError):
        proxies("PYRO:ServiceName@no-such-host.invalid:7766").get_data(1)


def test_malformed_url_on_first_call(proxies):
    """A malformed service_url fails on the first call with ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match="'PYROLOC:/localhost/x'"):
        proxies("PYROLOC:/localhost/x").get_data(1)


def test_garbage_to_the_daemon_port(export, proxies):
    """A client sending garbage is dropped; the daemon keeps serving other clients."""
    exporter = export()
    port = int(exporter.service_url.rsplit(":", 1)[1])
    service = proxies(exporter.service_url)
    assert service.echo(1) == 1
    for garbage in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"PYRO" + b"\xff" * 60, b"\x00" * 3):
        with socket.create_connection((HOST, port), timeout=10) as sock:
            sock.sendall(garbage)
            try:
                sock.shutdown(socket.SHUT_WR)  # end of garbage: the daemon must not wait for more
                while sock.recv(4096):  # the daemon answers and hangs up
                    pass
            except (ConnectionResetError, OSError) as exc:
                assert not isinstance(exc, TimeoutError)
    with socket.create_connection((HOST, port)):  # one that says nothing at all
        assert service.echo(2) == 2
        assert proxies(exporter.service_url).echo(3) == 3
    wait_until(lambda: exporter.connections == 2, what="garbage connections dropped")


def test_lifecycle_handling_does_not_connect(proxies):
    """repr, isinstance, copy, the start-up check and lifecycle probes never make the proxy connect."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(5)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        proxy = proxies(f"PYROLOC://{HOST}:{port}/ServiceName")
        repr(proxy)
        str(proxy)
        assert isinstance(proxy, DisposableObject)
        assert isinstance(proxy, InitializingObject)
        proxy.after_properties_set()  # checks the settings, never connects
        clone = copy.copy(proxy)
        assert clone.service_url == proxy.service_url
        with pytest.raises(AttributeError):
            proxy._anything
        assert proxy.connections == 0
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_many_threads_share_one_proxy_factory(export, proxies):
    """Eight threads call one proxy factory at once; each thread gets its own connection."""
    exporter = export()
    service = proxies(exporter.service_url)
    results, errors = {}, []
    barrier = threading.Barrier(8)

    def worker(i):
        try:
            barrier.wait(10)
            results[i] = [service.echo((i, n)) for n in range(20)]
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(results[i] == [(i, n) for n in range(20)] for i in range(8))
    assert service.connections == 8
    service.destroy()
    assert service.connections == 0
    wait_until(lambda: exporter.connections == 0, what="daemon saw all connections closed")


def test_destroy_closes_connections(export, proxies):
    """destroy() on the proxy factory closes its connection; the daemon sees it go."""
    exporter = export()
    service = proxies(exporter.service_url)
    service.echo(1)
    assert service.connections == 1
    wait_until(lambda: exporter.connections == 1, what="daemon saw the connection")
    service.destroy()
    assert service.connections == 0
    wait_until(lambda: exporter.connections == 0, what="daemon saw the connection closed")
    assert service.echo(2) == 2  # usable again: connects anew


def test_call_timeout(export, proxies):
    """A call running longer than the timeout raises CallTimeoutError; later calls work."""
    service_object = Service()
    exporter = export(service_object)
    service = proxies(exporter.service_url, timeout="0.2")
    try:
        with pytest.raises(CallTimeoutError, match="block"):
            service.block()
        assert service_object.entered.is_set()
    finally:
        service_object.release.set()
    assert service.echo("next") == "next"


def test_reconnect_after_server_restart(export, proxies):
    """With reconnect on (the default) the proxy picks up a restarted server."""
    first = export()
    port = int(first.service_url.rsplit(":", 1)[1])
    service = proxies(first.service_url)
    assert service.echo(1) == 1
    first.destroy()
    export(port=port)
    assert service.echo(2) == 2


def test_no_reconnect_surfaces_the_failure(export, proxies):
    """With reconnect off, the call after a server restart raises ConnectFailedError."""
    first = export()
    port = int(first.service_url.rsplit(":", 1)[1])
    service = proxies(first.service_url, reconnect="false")
    assert service.echo(1) == 1
    first.destroy()
    export(port=port)
    with pytest.raises(ConnectFailedError, match="closed"):
        service.echo(2)
    assert service.echo(3) == 3  # the next call connects anew


def test_server_gone_for_good(export, proxies):
    """When the server is gone, the call fails with ConnectFailedError even with reconnect on."""
    exporter = export()
    service = proxies(exporter.service_url)
    assert service.echo(1) == 1
    exporter.destroy()
    with pytest.raises(ConnectFailedError):
        service.echo(2)


def test_serializer_must_be_accepted_by_the_exporter(export, proxies):
    """A client using a serializer the exporter did not list is refused, naming the accepted ones."""
    exporter = export()
    with pytest.raises(ConnectFailedError, match="'marshal' is not accepted.*serpent"):
        proxies(exporter.service_url, serializer="marshal").echo(1)
    assert proxies(exporter.service_url).echo(1) == 1


def test_serializers_named_on_both_ends(export, proxies):
    """An exporter accepting several serializers serves clients using any of them."""
    exporter = export(serializer="serpent, marshal,json")
    for name in ("serpent", "marshal", "json"):
        assert proxies(exporter.service_url, serializer=name).echo([1, "two"]) == [1, "two"]
    assert Pyro5.config.SERIALIZER == "serpent"  # per proxy, never process-wide
    assert Pyro5.config.SSL is False


def test_proxy_serializer_is_one_name(proxies):
    """A proxy factory names exactly one serializer; pickle is refused on Pyro5."""
    with pytest.raises(ConfigurationError, match="exactly one"):
        proxies("PYRO:x@127.0.0.1:1", serializer="serpent,json").echo(1)
    with pytest.raises(ConfigurationError, match="Pyro4"):
        proxies("PYRO:x@127.0.0.1:1", serializer="pickle").echo(1)


def test_exporters_sharing_a_port_must_agree_on_settings(export):
    """A second exporter on a shared port with other settings is refused; the first serves on."""
    first = export(name="A")
    port = int(first.service_url.rsplit(":", 1)[1])
    with pytest.raises(ExportError, match="other settings"):
        export(name="B", port=port, serializer="json")
    assert SERVERS.users(first._server) == 1


def test_pyro5_names_are_the_same_engine():
    """PyroServiceExporter/PyroProxyFactory are the Pyro5 beans under the chapter's names."""
    assert issubclass(PyroServiceExporter, Pyro5ServiceExporter)
    assert issubclass(PyroProxyFactory, Pyro5ProxyFactory)


@pytest.mark.parametrize("closer", ["peer", "this side"])
@pytest.mark.parametrize("family", ["tcp", "unix"])
def test_closed_connection_is_detected(family, closer):
    """The pre-call check sees a connection closed by the peer while idle, or on this side
    (Pyro closes it after a failure): TCP state on Linux, poll otherwise."""
    from springpython.remoting.failures import closed_by_peer

    if family == "unix":
        ours, peer = socket.socketpair(socket.AF_UNIX)
    else:
        with socket.socket() as listener:
            listener.bind((HOST, 0))
            listener.listen(1)
            ours = socket.create_connection(listener.getsockname())
            peer, _ = listener.accept()
    with ours, peer:
        check = closed_by_peer(ours)
        assert check() is False
        (peer if closer == "peer" else ours).close()
        wait_until(check, what=f"close by {closer} noticed")
