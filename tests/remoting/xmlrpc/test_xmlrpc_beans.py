"""XMLRPCServiceExporter and XMLRPCProxyFactory: set up from code and from
applicationContext.xml, over plain HTTP and TLS, with bad properties refused."""

from __future__ import annotations

import socket
import threading
import xmlrpc.client

import pytest

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import (
    CallTimeoutError,
    ConfigurationError,
    ConnectFailedError,
    ExportError,
    ObjectCreationError,
    RemoteFault,
)
from springpython.remoting.xmlrpc import SSLClient, XMLRPCProxyFactory, XMLRPCServiceExporter

FIELDS = {"commonName": "My Client", "organizationName": "My Company", "stateOrProvinceName": "My State"}


class Calculator:
    """A plain service object: public methods, a property and a private method."""

    def __init__(self):
        self.calls = 0

    def add(self, a, b):
        self.calls += 1
        return a + b

    def shout(self, text):
        return text.upper()

    def nothing(self):
        return None

    def fail(self):
        raise KeyError("missing thing")

    def thread_name(self):
        return threading.current_thread().name

    @property
    def total(self):
        return self.calls

    def _internal(self):
        return "secret"


def tls_exporter(pki, **props) -> XMLRPCServiceExporter:
    props = {"service_host": "localhost", "service_port": 0, "certfile": str(pki.server_cert),
             "keyfile": str(pki.server_key), **props}
    return XMLRPCServiceExporter(Calculator(), **props)


def test_plain_http_export_and_proxy():
    """Without certfile the exporter serves plain HTTP; the proxy calls every public method."""
    with XMLRPCServiceExporter(Calculator(), service_host="127.0.0.1", service_port=0) as exporter:
        assert exporter.service_url.startswith("http://127.0.0.1:") and exporter.service_url.endswith("/RPC2")
        proxy = XMLRPCProxyFactory(exporter.service_url)
        try:
            assert proxy.add(2, 3) == 5
            assert proxy.shout("hi") == "HI"
            assert proxy.nothing() is None
        finally:
            proxy.destroy()


def test_only_public_methods_are_reachable(pki):
    """Underscore names and properties are not callable remotely; listMethods shows the rest."""
    with tls_exporter(pki) as exporter:
        with SSLClient(exporter.service_url, str(pki.ca_chain)) as client:
            methods = client.system.listMethods()
            assert {"add", "shout", "nothing", "fail", "thread_name"} <= set(methods)
            assert not [m for m in methods if m.startswith("_") or m == "total"]
            for name in ("_internal", "total", "add.__globals__", "calls", "add.__call__"):
                with pytest.raises(xmlrpc.client.Fault, match="-32601.*no method named"):
                    getattr(client, name)()


def test_faults_arrive_by_the_contract(pki):
    """An exception in the service is a RemoteFault that is also the builtin it names, with the fault code."""
    with tls_exporter(pki) as exporter:
        proxy = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain))
        try:
            with pytest.raises(KeyError) as info:
                proxy.fail()
            assert isinstance(info.value, RemoteFault) and not isinstance(info.value, xmlrpc.client.Fault)
            assert info.value.code == 1 and info.value.remote_type == "builtins.KeyError"
            assert "missing thing" in str(info.value)
            assert proxy.add(1, 1) == 2
            with pytest.raises(TypeError, match="positional arguments only"):
                proxy.add(a=1, b=2)
        finally:
            proxy.destroy()


def test_client_certificate_and_fields(pki):
    """With ca_certs, CERT_REQUIRED and verify_fields the sample client is let in, a bare client is not."""
    with tls_exporter(pki, ca_certs=str(pki.ca_chain), cert_reqs="CERT_REQUIRED", verify_fields=FIELDS) as exporter:
        good = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain),
                                  certfile=str(pki.client_cert), keyfile=str(pki.client_key))
        bare = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain))
        try:
            assert good.add(20, 22) == 42
            with pytest.raises(ConnectionError):
                bare.add(1, 2)
            assert good.add(1, 2) == 3
        finally:
            good.destroy()
            bare.destroy()


def test_one_keep_alive_connection_per_thread(pki):
    """Each calling thread gets its own connection, reused across its calls; destroy closes all."""
    with tls_exporter(pki) as exporter:
        proxy = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain))
        try:
            names = [proxy.thread_name() for _ in range(3)]
            assert len(set(names)) == 1  # one server-side connection served them all in turn
            results = []
            threads = [threading.Thread(target=lambda: results.append(proxy.add(1, 1))) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert results == [2, 2, 2]
            assert proxy.connections >= 1
        finally:
            proxy.destroy()
        assert proxy.connections == 0


def test_exporters_share_a_port_on_different_paths(pki):
    """Two exporters on one host:port share one server, each on its own path; the last one frees it."""
    first = tls_exporter(pki, path="/calc")
    first.after_properties_set()
    try:
        port = int(first.service_url.split(":")[2].split("/")[0])
        second = tls_exporter(pki, path="/other")
        second.service_port = port
        with second:
            for exporter in (first, second):
                proxy = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain))
                try:
                    assert proxy.add(1, 2) == 3
                finally:
                    proxy.destroy()
            clash = tls_exporter(pki, path="/calc", service_port=port)
            with pytest.raises(ConfigurationError, match="already mounted"):
                clash.after_properties_set()
            plain = XMLRPCServiceExporter(Calculator(), service_host="localhost", service_port=port, path="/x")
            with pytest.raises(ConfigurationError, match="other TLS or size settings"):
                plain.after_properties_set()
    finally:
        first.destroy()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("localhost", port), timeout=5).close()


def test_destroy_is_idempotent_and_frees_the_port(pki):
    """destroy() twice is fine; afterwards the port refuses connections."""
    exporter = tls_exporter(pki)
    exporter.after_properties_set()
    url = exporter.service_url
    port = int(url.split(":")[2].split("/")[0])
    exporter.destroy()
    exporter.destroy()
    assert not exporter.exported
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("localhost", port), timeout=5).close()


def test_connection_refused_is_connect_failed():
    """Calling a port where nothing listens raises ConnectFailedError (safe to retry)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = XMLRPCProxyFactory(f"http://127.0.0.1:{port}/RPC2")
    try:
        with pytest.raises(ConnectFailedError, match=f"127.0.0.1:{port}"):
            proxy.add(1, 2)
    finally:
        proxy.destroy()


def test_proxy_reconnects_after_server_restart():
    """A server restarted on the same port is picked up by the next call without an error."""
    exporter = XMLRPCServiceExporter(Calculator(), service_host="127.0.0.1", service_port=0)
    exporter.after_properties_set()
    port = exporter._shared.http.port
    proxy = XMLRPCProxyFactory(exporter.service_url)
    try:
        assert proxy.add(1, 1) == 2
        exporter.destroy()
        exporter = XMLRPCServiceExporter(Calculator(), service_host="127.0.0.1", service_port=port)
        exporter.after_properties_set()
        assert proxy.add(2, 2) == 4
    finally:
        proxy.destroy()
        exporter.destroy()


def test_proxy_survives_the_server_closing_an_idle_connection(caplog):
    """A kept-alive connection closed by the server's idle timeout is replaced transparently."""
    import logging
    import time

    exporter = XMLRPCServiceExporter(Calculator(), service_host="127.0.0.1", service_port=0)
    exporter.after_properties_set()
    proxy = XMLRPCProxyFactory(exporter.service_url)
    try:
        exporter._shared.http.idle_timeout = 0.1
        with caplog.at_level(logging.DEBUG, logger="springpython.remoting"):
            assert proxy.add(1, 1) == 2
            deadline = time.monotonic() + 10
            while not any("closing idle" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the server never closed the idle connection"
                time.sleep(0.01)
        assert proxy.add(2, 2) == 4
    finally:
        proxy.destroy()
        exporter.destroy()


def test_untrusted_server_is_refused_by_the_proxy(pki, tmp_path):
    """A proxy without the sample CA refuses the server: ConnectFailedError naming the verification."""
    with tls_exporter(pki) as exporter:
        proxy = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_root_cert).replace(
            "ca-root-cert", "server-cert"))
        try:
            with pytest.raises(ConnectFailedError, match="certificate verify failed"):
                proxy.add(1, 2)
        finally:
            proxy.destroy()


def test_http_errors_become_remote_faults(pki):
    """A wrong path (404) or an oversized call (413) raises RemoteFault with the HTTP status."""
    with tls_exporter(pki, max_body_size="3000") as exporter:
        wrong = XMLRPCProxyFactory(exporter.service_url.replace("/RPC2", "/nowhere"), ca_certs=str(pki.ca_chain))
        big = XMLRPCProxyFactory(exporter.service_url, ca_certs=str(pki.ca_chain))
        try:
            with pytest.raises(RemoteFault, match="HTTP 404") as info:
                wrong.add(1, 2)
            assert info.value.code == 404
            with pytest.raises(RemoteFault, match="HTTP 413"):
                big.shout("x" * 5000)
            assert big.shout("ok") == "OK"
        finally:
            wrong.destroy()
            big.destroy()


@pytest.mark.parametrize(
    "answer",
    [
        b"<methodResponse><params><param><value><int>1</int>",
        b'<!DOCTYPE r [<!ENTITY a "aaaa">]><methodResponse><params><param><value><string>&a;</string>'
        b"</value></param></params></methodResponse>",
        b"plain garbage",
    ],
)
def test_malformed_answers_raise_protocol_error(answer):
    """A truncated, DTD-carrying or garbage answer raises springpython's ProtocolError."""
    from springpython.errors import ProtocolError
    from springpython.remoting.http import HTTPServer, Response

    with HTTPServer("127.0.0.1", 0) as server:
        server.mount("/RPC2", lambda request: Response(200, answer, "text/xml"))
        proxy = XMLRPCProxyFactory(server.url("/RPC2"))
        try:
            with pytest.raises(ProtocolError, match="malformed answer to add"):
                proxy.add(1, 2)
        finally:
            proxy.destroy()


def test_call_timeout():
    """A server that accepts but never answers gives CallTimeoutError after timeout seconds."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        proxy = XMLRPCProxyFactory(f"http://127.0.0.1:{silent.getsockname()[1]}/RPC2", timeout="0.3")
        try:
            with pytest.raises(CallTimeoutError, match="within 0.3s"):
                proxy.add(1, 2)
        finally:
            proxy.destroy()


@pytest.mark.parametrize(
    "props, error, message",
    [
        ({"service_port": "eighty"}, ConfigurationError, "service_port must be an integer"),
        ({"service_port": "70000"}, ConfigurationError, "between 0 and 65535"),
        ({"path": "RPC2"}, ConfigurationError, "path must start with '/'"),
        ({"cert_reqs": "maybe"}, ConfigurationError, "cert_reqs must be"),
        ({"max_body_size": "big"}, ConfigurationError, "max_body_size must be an integer"),
        ({"allow_none": "perhaps"}, ConfigurationError, "allow_none must be true or false"),
        ({"verify_fields": "commonName=x"}, ConfigurationError, "verify_fields must map"),
        ({"ca_certs": "/x.pem"}, ConfigurationError, "need certfile"),
        ({"certfile": "/nonexistent.pem"}, ConfigurationError, "cannot load certificate"),
        ({"certfile": "__SERVER__", "verify_fields": FIELDS}, ConfigurationError, "needs client certificates"),
        ({"service_host": "no-such-host.invalid"}, ExportError, "cannot resolve host"),
    ],
)
def test_bad_exporter_properties_are_refused(pki, props, error, message):
    """Each bad property value raises an error naming it (ConfigurationError for every
    setting; ExportError only when the network refuses), and nothing is left listening."""
    props = {k: (str(pki.server_cert) if v == "__SERVER__" else v) for k, v in props.items()}
    if props.get("certfile") == str(pki.server_cert):
        props["keyfile"] = str(pki.server_key)
    exporter = XMLRPCServiceExporter(Calculator(), **{"service_host": "127.0.0.1", "service_port": 0, **props})
    with pytest.raises(error, match=message):
        exporter.after_properties_set()
    assert not exporter.exported


def test_missing_service_and_unknown_property():
    """No service is a ConfigurationError; an unknown property a TypeError."""
    with pytest.raises(ConfigurationError, match="'service' property is not set"):
        XMLRPCServiceExporter(service_port=0).after_properties_set()
    with pytest.raises(TypeError, match="no property 'colour'"):
        XMLRPCServiceExporter(Calculator(), colour="blue")


@pytest.mark.parametrize(
    "url, props, message",
    [
        ("ftp://localhost/x", {}, "must be http://host:port/path"),
        ("https://localhost:99999/RPC2", {}, "bad port"),
        ("http://localhost:8000/RPC2", {"ca_certs": "/x.pem"}, "is not https://"),
        ("https://localhost:8000/RPC2", {"timeout": "soon"}, "timeout must be a number"),
        ("https://localhost:8000/RPC2", {"ca_certs": "/nonexistent.pem"}, "cannot load CA certificates"),
    ],
)
def test_bad_proxy_properties_are_refused(url, props, message):
    """Bad service_url or properties raise ConfigurationError on the first call too (without a context start)."""
    proxy = XMLRPCProxyFactory(url, **props)
    try:
        with pytest.raises(ConfigurationError, match=message):
            proxy.add(1, 2)
    finally:
        proxy.destroy()


# -- from applicationContext.xml -----------------------------------------------------------------
SERVER_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
  <object id="calculator" class="test_xmlrpc_beans.Calculator"/>
  <object id="exporter" class="springpython.remoting.xmlrpc.XMLRPCServiceExporter">
    <property name="service" ref="calculator"/>
    <property name="service_host" value="localhost"/>
    <property name="service_port" value="0"/>
    <property name="path" value="/calculator"/>
    <property name="certfile" value="{pki.server_cert}"/>
    <property name="keyfile" value="{pki.server_key}"/>
    <property name="ca_certs" value="{pki.ca_chain}"/>
    <property name="cert_reqs" value="CERT_REQUIRED"/>
    <property name="verify_fields">
      <dict>
        <entry><key><value>commonName</value></key><value>My Client</value></entry>
        <entry><key><value>organizationName</value></key><value>My Company</value></entry>
        <entry><key><value>stateOrProvinceName</value></key><value>My State</value></entry>
      </dict>
    </property>
  </object>
</objects>
"""

CLIENT_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
  <object id="calculator" class="springpython.remoting.xmlrpc.XMLRPCProxyFactory">
    <property name="service_url" value="{url}"/>
    <property name="ca_certs" value="{pki.ca_chain}"/>
    <property name="certfile" value="{pki.client_cert}"/>
    <property name="keyfile" value="{pki.client_key}"/>
    <property name="timeout" value="10"/>
  </object>
</objects>
"""


def test_exporter_and_proxy_from_xml(pki, tmp_path, monkeypatch):
    """Both beans work from applicationContext.xml, verify_fields given as a <dict>."""
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    server_xml = tmp_path / "server.xml"
    server_xml.write_text(SERVER_XML.format(pki=pki))
    with ApplicationContext(XMLConfig(str(server_xml))) as server_ctx:
        exporter = server_ctx.get_object("exporter")
        assert exporter.verify_fields == FIELDS
        client_xml = tmp_path / "client.xml"
        client_xml.write_text(CLIENT_XML.format(pki=pki, url=exporter.service_url))
        with ApplicationContext(XMLConfig(str(client_xml))) as client_ctx:
            calculator = client_ctx.get_object("calculator")
            assert calculator.add(40, 2) == 42
            assert calculator.shout("xml") == "XML"
    assert not exporter.exported


def test_bad_xml_property_names_file_and_object(pki, tmp_path, monkeypatch):
    """A bad port in XML fails the context with an error naming file, line and object."""
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    server_xml = tmp_path / "bad.xml"
    server_xml.write_text(SERVER_XML.format(pki=pki).replace('name="service_port" value="0"',
                                                             'name="service_port" value="port"'))
    with pytest.raises(ObjectCreationError) as info:
        ApplicationContext(XMLConfig(str(server_xml)))
    assert info.value.object_id == "exporter" and info.value.file == str(server_xml)
    assert "service_port must be an integer, got 'port'" in str(info.value)
    assert isinstance(info.value.__cause__, ConfigurationError)


def test_connect_timeout_is_connect_failed():
    """A connection that cannot be made within the timeout is ConnectFailedError: nothing was sent."""
    import socket as _socket

    from springpython.errors import ConnectFailedError
    from springpython.remoting.xmlrpc import XMLRPCProxyFactory

    with _socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        try:
            for _ in range(4):  # fill the accept queue so further connects hang
                filler = _socket.socket()
                filler.settimeout(0.3)
                fillers.append(filler)
                try:
                    filler.connect(("127.0.0.1", port))
                except OSError:
                    break
            proxy = XMLRPCProxyFactory(service_url=f"http://127.0.0.1:{port}/RPC2", timeout=0.5)
            try:
                with pytest.raises(ConnectFailedError, match="cannot connect: timed out"):
                    proxy.echo(1)
            finally:
                proxy.destroy()
        finally:
            for filler in fillers:
                filler.close()
