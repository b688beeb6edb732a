"""The remoting contract over XML-RPC, on both clients (XMLRPCProxyFactory and the
chapter's SSLClient): remote exceptions by the one table, against our exporter and
the standard library's SimpleXMLRPCServer; certificate refusals; and the proxy
factory's settings checked at start."""

from __future__ import annotations

import ssl
import threading
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer

import pytest

from springpython.errors import (
    ConfigurationError,
    ConnectFailedError,
    NoSuchMethodError,
    RemoteFault,
)
from springpython.remoting import tls
from springpython.remoting.xmlrpc import SSLClient, XMLRPCProxyFactory, XMLRPCServiceExporter


class OutOfStock(Exception):
    """An application exception a client may list in exception_classes."""


class Shop:
    """A service that divides, runs out of stock, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def div(self, a, b):
        self.calls += 1
        return a / b

    def buy(self, item):
        self.calls += 1
        raise OutOfStock(f"no {item} left")


@pytest.fixture
def shop_exporter(pki):
    """Shop exported over TLS on 127.0.0.1 port 0 (no client certificate asked for)."""
    with XMLRPCServiceExporter(Shop(), service_host="localhost", service_port=0, certfile=str(pki.server_cert),
                               keyfile=str(pki.server_key)) as exporter:
        yield exporter


@pytest.fixture
def stdlib_server():
    """The standard library's SimpleXMLRPCServer on 127.0.0.1 port 0, serving div and a plain Fault."""
    server = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    server.register_function(lambda a, b: a / b, "div")

    def refuse(reason):
        raise xmlrpc.client.Fault(42, reason)

    server.register_function(refuse, "refuse")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="stdlib-xmlrpc")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/RPC2"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def test_sslclient_fault_is_both_fault_and_the_builtin(shop_exporter, pki):
    """SSLClient's fault is an xmlrpc.client.Fault (chapter code keeps working) and a ZeroDivisionError."""
    with SSLClient(shop_exporter.service_url, str(pki.ca_chain)) as client:
        with pytest.raises(xmlrpc.client.Fault) as info:
            client.div(1, 0)
        fault = info.value
        assert isinstance(fault, ZeroDivisionError) and isinstance(fault, RemoteFault)
        assert fault.faultCode == 1 and "ZeroDivisionError" in fault.faultString
        assert fault.message == "division by zero"
        assert client.div(4, 2) == 2


def test_unknown_method_is_no_such_method_on_sslclient(shop_exporter, pki):
    """SSLClient too raises NoSuchMethodError (an AttributeError and a Fault) for a method the service lacks."""
    with SSLClient(shop_exporter.service_url, str(pki.ca_chain)) as client:
        with pytest.raises(AttributeError) as info:
            client.mul(2, 3)
        assert isinstance(info.value, NoSuchMethodError) and isinstance(info.value, xmlrpc.client.Fault)
        assert "no public method 'mul'" in info.value.message


def test_stdlib_server_faults_map_by_the_same_table(stdlib_server):
    """The standard library server's faults: ZeroDivisionError, NoSuchMethodError, and a
    plain Fault as RemoteFault with its code."""
    proxy = XMLRPCProxyFactory(stdlib_server, timeout=10)
    try:
        with pytest.raises(ZeroDivisionError) as info:
            proxy.div(1, 0)
        assert info.value.remote_type == "builtins.ZeroDivisionError" and info.value.code == 1
        with pytest.raises(NoSuchMethodError, match="'mul'"):
            proxy.mul(1, 2)
        with pytest.raises(RemoteFault) as caught:
            proxy.refuse("not today")
        assert type(caught.value) is RemoteFault
        assert (caught.value.code, caught.value.message, caught.value.remote_type) == (42, "not today", None)
        assert proxy.div(9, 3) == 3
    finally:
        proxy.destroy()


def test_sslclient_refused_client_certificate_is_connect_failed_and_the_call_does_not_run(pki):
    """SSLClient without the certificate a server requires gets ConnectFailedError saying so; nothing ran."""
    shop = Shop()
    with XMLRPCServiceExporter(shop, service_host="localhost", service_port=0, certfile=str(pki.server_cert),
                               keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
                               cert_reqs="CERT_REQUIRED") as exporter:
        with SSLClient(exporter.service_url, str(pki.ca_chain)) as client:
            with pytest.raises(ConnectFailedError, match=tls.CLIENT_CERTIFICATE_REFUSED):
                client.div(1, 1)
        assert shop.calls == 0
        good = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain),
                                  certfile=str(pki.client_cert), keyfile=str(pki.client_key))
        try:
            assert good.div(8, 2) == 4 and shop.calls == 1
        finally:
            good.destroy()


def test_server_certificate_subject_is_checked_by_verify_fields(shop_exporter, pki):
    """A proxy's verify_fields refuses a server whose certificate subject differs
    (ConnectFailedError, nothing sent) and accepts one that matches."""
    shop = shop_exporter.service
    wrong = XMLRPCProxyFactory(shop_exporter.service_url, ca_certs=str(pki.ca_chain),
                               verify_fields={"organizationName": "Someone Else"})
    right = XMLRPCProxyFactory(shop_exporter.service_url, ca_certs=str(pki.ca_chain),
                               verify_fields={"commonName": "localhost", "organizationName": "SAMPLE"})
    try:
        with pytest.raises(ConnectFailedError, match="server's certificate was refused.*organizationName.*div\\(\\) "
                                                     "was not sent"):
            wrong.div(1, 1)
        assert shop.calls == 0
        assert right.div(9, 3) == 3
    finally:
        wrong.destroy()
        right.destroy()


def test_check_hostname_false_accepts_a_certificate_for_another_name(pki, tmp_path):
    """check_hostname=false lets a proxy call a server whose certificate names another host."""
    from springpython.pki import CertificateAuthority, load_cert, load_key, write_certs, write_key

    signing = CertificateAuthority(load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert))
    key, cert = signing.issue(subject="elsewhere.example", hosts=["elsewhere.example"])
    keyfile, certfile = write_key(tmp_path / "elsewhere-key.pem", key), write_certs(tmp_path / "elsewhere.pem", cert)
    with XMLRPCServiceExporter(Shop(), service_host="127.0.0.1", service_port=0, certfile=str(certfile),
                               keyfile=str(keyfile)) as exporter:
        strict = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain))
        relaxed = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain), check_hostname="false")
        try:
            with pytest.raises(ConnectFailedError, match="mismatch|doesn't match"):
                strict.div(1, 1)
            assert relaxed.div(8, 4) == 2
        finally:
            strict.destroy()
            relaxed.destroy()


# -- settings checked at start --------------------------------------------------------------------
@pytest.mark.parametrize(
    "props, message",
    [
        ({"service_url": "htp://localhost:8000/RPC2"}, "service_url must be http://host:port/path"),
        ({"service_url": "http:///RPC2"}, "service_url .*no host"),
        ({"service_url": "http://localhost:99999/RPC2"}, "service_url .*bad port"),
        ({"service_url": None}, "service_url must be"),
        ({"timeout": "soon"}, "timeout must be a number of seconds, got 'soon'"),
        ({"timeout": "-1"}, "timeout must be positive"),
        ({"connect_timeout": "x"}, "connect_timeout must be a number"),
        ({"max_reply_size": "lots"}, "max_reply_size must be an integer"),
        ({"allow_none": "perhaps"}, "allow_none must be true or false"),
        ({"service_url": "https://localhost:8000/RPC2", "cert_reqs": "maybe"}, "cert_reqs must be"),
        ({"service_url": "https://localhost:8000/RPC2", "verify_fields": {"CN": "x"}}, "unknown certificate subject"),
        ({"ca_certs": "/x.pem"}, "ca_certs set, but service_url .* is not https://"),
        ({"verify_fields": {"commonName": "x"}}, "verify_fields set, but .* is not https://"),
        ({"service_url": "https://localhost:8000/RPC2", "ca_certs": "/nonexistent.pem"}, "cannot load CA"),
        ({"exception_classes": ["no.such.module.Error"]}, "exception_classes"),
    ],
)
def test_after_properties_set_refuses_bad_settings(props, message):
    """after_properties_set raises ConfigurationError naming the property; nothing is sent."""
    proxy = XMLRPCProxyFactory(**{"service_url": "http://localhost:8000/RPC2", **props})
    with pytest.raises(ConfigurationError, match=message) as info:
        proxy.after_properties_set()
    assert str(info.value).startswith("XMLRPCProxyFactory: ") or "exception_classes" in message
    assert proxy.connections == 0


def test_sslclient_refuses_a_tls_context_problem_at_construction(pki):
    """SSLClient checks its URI and TLS files when made, as the chapter's constructor does."""
    with pytest.raises(ValueError, match="https://"):
        SSLClient("http://localhost:8000/RPC2", str(pki.ca_chain))
    with pytest.raises(ConfigurationError, match="cannot load CA"):
        SSLClient("https://localhost:8000/RPC2", "/nonexistent.pem")
    with pytest.raises(ValueError, match="bad port"):
        SSLClient("https://localhost:99999/RPC2", str(pki.ca_chain))
    assert ssl.CERT_REQUIRED == SSLClient("https://localhost:8000/RPC2", str(pki.ca_chain)).cert_reqs


def test_sslclient_keeps_one_connection_per_thread(shop_exporter, pki):
    """An SSLClient shared by threads gives each its own kept-alive connection; close() closes them all."""
    with SSLClient(shop_exporter.service_url, str(pki.ca_chain)) as client:
        transport = client("transport")
        assert client.div(2, 1) == 2
        mine = transport.connection()
        seen = []

        def call() -> None:
            seen.append((client.div(6, 3), transport.connection()))

        threads = [threading.Thread(target=call) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [result for result, _ in seen] == [2, 2, 2]
        assert len({id(conn) for _, conn in seen} | {id(mine)}) == 4
        assert transport.connection() is mine and mine.connected
    assert not mine.connected and not any(conn.connected for _, conn in seen)
