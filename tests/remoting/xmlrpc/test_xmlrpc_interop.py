"""Interoperability on a real loopback socket: the standard library's client and
server, and curl, against SSLServer and SSLClient."""

from __future__ import annotations

import datetime
import ssl
import subprocess
import threading
import xmlrpc.client
from xmlrpc.server import SimpleXMLRPCServer

import pytest

from springpython.remoting import tls
from springpython.remoting.xmlrpc import SSLClient, SSLServer


class EchoServer(SSLServer):
    """Exposes pow and an echo of any XML-RPC value."""

    def register_functions(self):
        self.register_function(pow)
        self.register_function(lambda value: value, "echo")
        self.register_introspection_functions()
        self.register_multicall_functions()


@pytest.fixture
def server(pki):
    """An SSLServer requiring client certificates."""
    with EchoServer("localhost", 0, str(pki.server_key), str(pki.server_cert), str(pki.ca_chain),
                    cert_reqs=ssl.CERT_REQUIRED, log_requests=False) as srv:
        yield srv.start()


@pytest.fixture
def stdlib_server(pki):
    """The standard library's SimpleXMLRPCServer with its socket wrapped in TLS."""
    srv = SimpleXMLRPCServer(("127.0.0.1", 0), logRequests=False, allow_none=True)
    srv.register_function(pow)
    srv.register_function(lambda value: value, "echo")
    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        thread.join()
        srv.server_close()


VALUES = [
    42, -7, 3.5, True, "text with <markup> & ünïcödé", b"\x00\x01binary",
    [1, "two", [3.0]], {"key": "value", "nested": {"list": [1, 2]}},
    datetime.datetime(2026, 1, 2, 3, 4, 5),
]


def test_stdlib_server_proxy_calls_ssl_server(server, pki):
    """xmlrpc.client.ServerProxy with an ssl context (and a client certificate) calls SSLServer."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_chain))
    ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    with xmlrpc.client.ServerProxy(f"https://localhost:{server.port}/RPC2", context=ctx,
                                   use_builtin_types=True) as proxy:
        assert proxy.pow(41, 3) == 68921
        for value in VALUES:
            assert proxy.echo(value) == value
        assert "pow" in proxy.system.listMethods()
        multi = xmlrpc.client.MultiCall(proxy)
        multi.pow(2, 3)
        multi.pow(3, 2)
        assert list(multi()) == [8, 9]


def test_stdlib_client_gzip_requests(server, pki):
    """A stdlib client that gzips its requests is understood."""
    ctx = ssl.create_default_context(cafile=str(pki.ca_chain))
    ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    transport = xmlrpc.client.SafeTransport(context=ctx)
    transport.encode_threshold = 10
    with xmlrpc.client.ServerProxy(f"https://localhost:{server.port}/", transport=transport) as proxy:
        assert proxy.echo("x" * 5000) == "x" * 5000


def test_ssl_client_calls_stdlib_server(stdlib_server, pki):
    """SSLClient calls the stdlib SimpleXMLRPCServer wrapped in TLS, values intact."""
    port = stdlib_server.server_address[1]
    with SSLClient(f"https://localhost:{port}/RPC2", str(pki.ca_chain), allow_none=True,
                   use_builtin_types=True) as client:
        assert client.pow(41, 3) == 68921
        for value in VALUES + [None]:
            assert client.echo(value) == value


def test_curl_gets_a_well_formed_response(server, pki, tmp_path):
    """curl --cacert ... --data @call.xml receives a parseable methodResponse."""
    call = tmp_path / "call.xml"
    call.write_text(xmlrpc.client.dumps((41, 3), "pow"))
    out = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail", "--cacert", str(pki.ca_chain),
         "--cert", str(pki.client_cert), "--key", str(pki.client_key),
         "-H", "Content-Type: text/xml", "--data", f"@{call}", f"https://localhost:{server.port}/RPC2"],
        capture_output=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert xmlrpc.client.loads(out.stdout)[0] == (68921,)


def test_curl_without_client_cert_is_refused(server, pki, tmp_path):
    """curl without a client certificate fails against a server that requires one."""
    call = tmp_path / "call.xml"
    call.write_text(xmlrpc.client.dumps((2, 2), "pow"))
    out = subprocess.run(
        ["curl", "--silent", "--cacert", str(pki.ca_chain), "--data", f"@{call}",
         f"https://localhost:{server.port}/RPC2"],
        capture_output=True, timeout=30,
    )
    assert out.returncode != 0 and b"methodResponse" not in out.stdout
