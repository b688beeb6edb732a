"""Our HessianProxyFactory against our HessianServiceExporter: every type, faults,
threads, keep-alive, time-outs, HTTPS with and without client certificates, and the
configuration checks of both beans."""

from __future__ import annotations

import datetime
import socket
import threading

import pytest

from springpython.errors import (
    CallTimeoutError,
    CommunicationError,
    ConfigurationError,
    ConnectFailedError,
    ExportError,
    RemoteFault,
)
from springpython.remoting.hessian import HessianObject, HessianProxyFactory, HessianServiceExporter
from springpython.remoting.hessian._codec import Long
from springpython.pki import write_sample_pki

UTC = datetime.timezone.utc


class Service:
    """A service with public methods, a property, a private method and a slow method."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def echo(self, value):
        return value

    def add(self, a, b=0):
        return a + b

    def fail(self, message):
        raise KeyError(message)

    def bad_result(self):
        return object()

    def slow(self):
        self.release.wait(10)
        return "late"

    def thread_name(self):
        return threading.current_thread().name

    @property
    def secret_property(self):
        return "never"

    def _private(self):
        return "never"


@pytest.fixture
def service():
    """A fresh test service; its slow method is released at the end."""
    svc = Service()
    yield svc
    svc.release.set()


@pytest.fixture
def served(service):
    """The test service exported over HTTP on 127.0.0.1 port 0 at /svc."""
    with HessianServiceExporter(service=service, service_host="127.0.0.1", service_port=0, path="/svc") as exp:
        yield exp


@pytest.fixture(params=[2, 1], ids=["hessian2", "hessian1"])
def client(request, served):
    """Our client for the served test service, in Hessian 2 and Hessian 1."""
    factory = HessianProxyFactory(service_url=served.service_url, hessian_version=request.param)
    yield factory
    factory.destroy()


VALUES = [
    None, True, False, 0, -1, 2**31 - 1, 2**40, -(2**63), Long(7), 0.5, -0.0, 1e-300, float("inf"),
    "", "text", "é€😀", "😀" * 40000, b"", b"\x00\xff" * 50000,
    datetime.datetime(2020, 9, 13, 12, 26, 40, 123000, tzinfo=UTC),
    [], [1, "a", [None, [2.5]]], {}, {"k": {"n": [1, {}]}, 3: b"x"},
    HessianObject("com.example.Person", name="Ann", age=42),
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_round_trip(client, value):
    """Every type goes to the Python exporter and back unchanged, in both versions."""
    result = client.echo(value)
    assert result == value
    wide = type(value) is int and not -(2**31) <= value < 2**31  # sent as a Hessian long
    assert type(result) is (Long if wide else type(value))


def test_sharing_survives(client):
    """A list referenced twice and a list containing itself survive the round trip."""
    shared = [1]
    back = client.echo([shared, shared])
    assert back[0] is back[1]
    cyclic: list = []
    cyclic.append(cyclic)
    again = client.echo(cyclic)
    assert again[0] is again


def test_application_exception_is_a_fault(client):
    """A raised exception becomes a ServiceException fault naming the class's dotted name as detail."""
    with pytest.raises(RemoteFault) as caught:
        client.fail("no such key")
    assert caught.value.code == "ServiceException"
    assert "no such key" in str(caught.value)
    assert caught.value.detail == "builtins.KeyError"
    assert client.add(1, 2) == 3


@pytest.mark.parametrize("name", ["nothing_here", "_private", "secret_property", "__init__", "__class__"])
def test_only_public_methods_are_callable(client, name):
    """Unknown, private and property names fault with NoSuchMethodException."""
    with pytest.raises(RemoteFault) as caught:
        client._call(name, (), {})
    assert caught.value.code == "NoSuchMethodException"
    assert client.add(2, 2) == 4


def test_wrong_argument_count_is_a_fault(client):
    """Too many or too few arguments fault with NoSuchMethodException, naming the method."""
    for args in ((), (1, 2, 3)):
        with pytest.raises(RemoteFault) as caught:
            client.add(*args)
        assert caught.value.code == "NoSuchMethodException"
        assert "add()" in str(caught.value)
    assert client.add(5) == 5


def test_overload_mangled_names_are_understood(client):
    """Caucho's overload mangling name__argcount reaches the method."""
    assert client._call("add__2", (1, 2), {}) == 3
    for name in ("add__3", "add__" + "9" * 5000):
        with pytest.raises(RemoteFault) as caught:
            client._call(name, (1, 2), {})
        assert caught.value.code == "NoSuchMethodException"


def test_unencodable_result_is_a_fault(client):
    """A result Hessian cannot carry faults with ServiceException instead of breaking the reply."""
    with pytest.raises(RemoteFault, match="cannot carry"):
        client.bad_result()
    assert client.add(1, 1) == 2


def test_keyword_arguments_are_refused(client):
    """Hessian has no keyword arguments: TypeError before anything is sent."""
    with pytest.raises(TypeError, match="positional"):
        client.add(a=1)


def test_keep_alive_and_destroy(served):
    """Calls reuse one connection per thread; destroy() closes them all."""
    factory = HessianProxyFactory(service_url=served.service_url)
    for i in range(50):
        assert factory.add(i, 1) == i + 1
    assert factory.connections == 1
    factory.destroy()
    assert factory.connections == 0


def test_threads_each_get_a_connection(served):
    """Eight threads call concurrently, each on its own kept-alive connection."""
    factory = HessianProxyFactory(service_url=served.service_url)
    errors: list = []

    def work(n: int) -> None:
        try:
            for i in range(30):
                assert factory.echo([n, i]) == [n, i]
        except Exception as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert factory.connections == 8
    factory.destroy()


def test_reconnects_after_server_restart(service):
    """A kept-alive connection closed by a restarted server is replaced transparently."""
    first = HessianServiceExporter(service=service, service_host="127.0.0.1", service_port=0, path="/svc")
    first.after_properties_set()
    port = first.port
    factory = HessianProxyFactory(service_url=first.service_url)
    try:
        assert factory.add(1, 2) == 3
        first.destroy()
        with pytest.raises(ConnectFailedError):
            factory.add(1, 2)
        second = HessianServiceExporter(service=service, service_host="127.0.0.1", service_port=port, path="/svc")
        with second:
            assert factory.add(3, 4) == 7
    finally:
        first.destroy()
        factory.destroy()


def test_timeout(served, service):
    """A reply slower than timeout raises CallTimeoutError; the next call uses a new connection."""
    factory = HessianProxyFactory(service_url=served.service_url, timeout="0.3")
    try:
        with pytest.raises(CallTimeoutError):
            factory.slow()
        service.release.set()
        assert factory.add(1, 1) == 2
    finally:
        factory.destroy()


def test_connection_refused():
    """Nothing listening: ConnectFailedError naming the URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    factory = HessianProxyFactory(service_url=f"http://127.0.0.1:{port}/x")
    with pytest.raises(ConnectFailedError, match=str(port)):
        factory.add(1, 2)
    factory.destroy()


def test_wrong_path_is_http_404(served):
    """A URL path nothing is mounted at raises RemoteFault with code 404."""
    factory = HessianProxyFactory(service_url=served.service_url.replace("/svc", "/other"))
    with pytest.raises(RemoteFault) as caught:
        factory.add(1, 2)
    assert caught.value.code == 404
    factory.destroy()


def test_exporters_share_a_port(service):
    """Two exporters on one host:port share a server, each at its own path."""
    with HessianServiceExporter(service=service, service_host="127.0.0.1", service_port=0, path="/a") as a:
        with HessianServiceExporter(service=Service(), service_host="127.0.0.1", service_port=a.port, path="/b") as b:
            assert a.port == b.port
            for exp in (a, b):
                factory = HessianProxyFactory(service_url=exp.service_url)
                assert factory.add(1, 2) == 3
                factory.destroy()


# -- HTTPS ------------------------------------------------------------------------


@pytest.fixture
def tls_served(pki, service):
    """The test service over HTTPS with the sample PKI's server certificate."""
    with HessianServiceExporter(
        service=service, service_host="127.0.0.1", service_port=0, path="/svc",
        certfile=str(pki.server_cert), keyfile=str(pki.server_key),
    ) as exp:
        yield exp


def test_https_with_ca(tls_served, pki):
    """HTTPS works with the CA chain; the URL says https."""
    assert tls_served.service_url.startswith("https://127.0.0.1:")
    factory = HessianProxyFactory(service_url=tls_served.service_url, ca_certs=str(pki.ca_chain))
    try:
        assert factory.echo("é😀" * 1000) == "é😀" * 1000
        assert factory.add(1, 2) == 3
        assert factory.connections == 1
    finally:
        factory.destroy()


def test_https_refuses_unknown_ca(tls_served):
    """Without the sample CA the server certificate is refused: ConnectFailedError naming the check."""
    factory = HessianProxyFactory(service_url=tls_served.service_url)
    with pytest.raises(ConnectFailedError, match="certificate"):
        factory.add(1, 2)
    factory.destroy()


def test_https_checks_host_name(tmp_path, service):
    """A certificate for another host name is refused even from a trusted CA."""
    other = write_sample_pki(tmp_path / "pki", hosts=("elsewhere.example",))
    with HessianServiceExporter(
        service=service, service_host="127.0.0.1", service_port=0, path="/svc",
        certfile=str(other.server_cert), keyfile=str(other.server_key),
    ) as exp:
        factory = HessianProxyFactory(service_url=exp.service_url, ca_certs=str(other.ca_chain))
        with pytest.raises(ConnectFailedError, match="127.0.0.1"):
            factory.add(1, 2)
        factory.destroy()


def test_client_certificate_required(pki, service):
    """With cert_reqs CERT_REQUIRED, a client with the sample certificate gets in and one without does not."""
    with HessianServiceExporter(
        service=service, service_host="127.0.0.1", service_port=0, path="/svc",
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        cert_reqs="CERT_REQUIRED",
    ) as exp:
        good = HessianProxyFactory(service_url=exp.service_url, ca_certs=str(pki.ca_chain),
                                   certfile=str(pki.client_cert), keyfile=str(pki.client_key))
        bad = HessianProxyFactory(service_url=exp.service_url, ca_certs=str(pki.ca_chain), reconnect=False)
        try:
            assert good.add(2, 3) == 5
            with pytest.raises(ConnectFailedError, match="refused the client certificate"):
                bad.add(1, 2)
            assert good.add(3, 3) == 6
        finally:
            good.destroy()
            bad.destroy()


# -- configuration ------------------------------------------------------------------


@pytest.mark.parametrize(
    "properties, error, match",
    [
        ({"service_port": "not-a-port"}, ConfigurationError, "service_port"),
        ({"service_port": 70000}, ConfigurationError, "service_port"),
        ({"path": "no-slash"}, ConfigurationError, "path must start with '/'"),
        ({"max_body_size": "big"}, ConfigurationError, "max_body_size"),
        ({"max_body_size": -1}, ConfigurationError, "max_body_size"),
        ({"keyfile": "/nonexistent/key.pem"}, ConfigurationError, "need certfile"),
        ({"cert_reqs": "sometimes"}, ConfigurationError, "cert_reqs"),
        ({"certfile": "/nonexistent/cert.pem"}, ConfigurationError, "cannot load certificate"),
        ({"service_host": "no-such-host.invalid"}, ExportError, "no-such-host.invalid"),
        ({"service": None}, ConfigurationError, "'service' property is not set"),
    ],
)
def test_exporter_configuration_errors(properties, error, match):
    """Each bad exporter property raises an error naming it (ConfigurationError for every
    setting; ExportError only when the network refuses), and leaves nothing listening."""
    settings = {"service": Service(), "service_host": "127.0.0.1", "service_port": 0, **properties}
    exporter = HessianServiceExporter(**settings)
    with pytest.raises(error, match=match):
        exporter.after_properties_set()
    assert not exporter.exported


def test_exporter_refuses_a_taken_path(served):
    """A second exporter on the same path of the same server is refused."""
    clash = HessianServiceExporter(service=Service(), service_host="127.0.0.1", service_port=served.port, path="/svc")
    with pytest.raises(ConfigurationError, match="already mounted"):
        clash.after_properties_set()


@pytest.mark.parametrize(
    "properties, match",
    [
        ({"service_url": "ftp://host/x"}, "must be http"),
        ({"service_url": "http://"}, "must be http"),
        ({"service_url": "http://host:99999/"}, "not a valid URL"),
        ({"service_url": None}, "service_url"),
        ({"service_url": "http://127.0.0.1:1/", "timeout": "soon"}, "timeout"),
        ({"service_url": "http://127.0.0.1:1/", "timeout": "-1"}, "timeout"),
        ({"service_url": "http://127.0.0.1:1/", "hessian_version": "3"}, "hessian_version"),
        ({"service_url": "http://127.0.0.1:1/", "max_reply_size": "lots"}, "max_reply_size"),
        ({"service_url": "https://127.0.0.1:1/", "ca_certs": "/nonexistent/ca.pem"}, "cannot load CA"),
    ],
)
def test_proxy_configuration_errors(properties, match):
    """Each bad client property raises ConfigurationError naming it, at start-up and on first call."""
    factory = HessianProxyFactory(**properties)
    with pytest.raises(ConfigurationError, match=match):
        factory.after_properties_set()
    with pytest.raises(ConfigurationError, match=match):
        factory.add(1, 2)
    assert factory.connections == 0


def test_proxy_rejects_unknown_property():
    """A misspelt property name is a TypeError naming it."""
    with pytest.raises(TypeError, match="service_ulr"):
        HessianProxyFactory(service_ulr="http://x/")


def test_properties_arrive_as_text(served):
    """Properties given as text (as XML sets them) are coerced: timeout, hessian_version, max_reply_size."""
    factory = HessianProxyFactory()
    factory.service_url = served.service_url
    factory.timeout = "5"
    factory.hessian_version = "1"
    factory.max_reply_size = "1000000"
    factory.after_properties_set()
    assert factory.add(1, 2) == 3
    factory.destroy()


def test_reply_over_max_reply_size(served):
    """A reply larger than max_reply_size raises ProtocolError and the next small call works."""
    factory = HessianProxyFactory(service_url=served.service_url, max_reply_size=1000)
    try:
        with pytest.raises(CommunicationError, match="limit"):
            factory.echo("x" * 5000)
        assert factory.add(1, 2) == 3
    finally:
        factory.destroy()


def test_request_over_max_body_size_is_413(service):
    """A call larger than the exporter's max_body_size raises RemoteFault 413; the client reconnects for the next."""
    with HessianServiceExporter(
        service=service, service_host="127.0.0.1", service_port=0, path="/svc", max_body_size="2048"
    ) as exp:
        factory = HessianProxyFactory(service_url=exp.service_url)
        try:
            with pytest.raises(RemoteFault) as caught:
                factory.echo("x" * 5000)
            assert caught.value.code == 413
            assert factory.echo("small") == "small"
        finally:
            factory.destroy()


def test_hessian_and_xmlrpc_exporters_share_one_port():
    """A Hessian and an XML-RPC exporter on one host:port share the server on different paths."""
    import xmlrpc.client

    from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
    from springpython.remoting.xmlrpc import XMLRPCServiceExporter

    class Echo:
        def echo(self, value):
            return value

    with HessianServiceExporter(Echo(), service_host="127.0.0.1", service_port=0, path="/hessian") as hessian:
        with XMLRPCServiceExporter(Echo(), service_host="127.0.0.1", service_port=hessian.port, path="/xmlrpc") as rpc:
            assert rpc.service_url == f"http://127.0.0.1:{hessian.port}/xmlrpc"
            proxy = HessianProxyFactory(service_url=hessian.service_url)
            try:
                assert proxy.echo("one") == "one"
            finally:
                proxy.destroy()
            with xmlrpc.client.ServerProxy(rpc.service_url) as client:
                assert client.echo("two") == "two"


def test_keyword_only_method_is_a_clear_fault():
    """A method that needs keyword arguments faults with NoSuchMethodException saying why."""
    from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter

    class Service:
        def configure(self, *, level):
            return level

        def spread(self, *values):
            return len(values)

    with HessianServiceExporter(Service(), service_host="127.0.0.1", service_port=0) as exporter:
        with HessianProxyFactory(service_url=exporter.service_url) as proxy:
            with pytest.raises(RemoteFault, match="needs keyword arguments") as caught:
                proxy.configure(1)
            assert caught.value.code == "NoSuchMethodException"
            assert proxy.spread(1, 2, 3) == 3
