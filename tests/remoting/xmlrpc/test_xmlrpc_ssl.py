"""SSLServer and SSLClient: the chapter's three scenarios in-process, the refusals the
issue lists (each followed by a call that still succeeds), and the server's XML handling."""

from __future__ import annotations

import datetime
import http.client
import logging
import re
import socket
import ssl
import time
import warnings
import xmlrpc.client

import pytest

from springpython.errors import ConfigurationError, ConnectFailedError, ExportError
from springpython.pki import CertificateAuthority, load_cert, load_key, make_ca, write_certs, write_key
from springpython.remoting import tls
from springpython.remoting.xmlrpc import SSLClient, SSLServer, VerificationException

FIELDS = {"commonName": "My Client", "organizationName": "My Company", "stateOrProvinceName": "My State"}


class PowServer(SSLServer):
    """The chapter's server: exposes pow."""

    def register_functions(self):
        self.register_function(pow)


class ListdirServer(SSLServer):
    """The chapter's listdir server: a private method registered under a public name."""

    def _listdir(self, path):
        import os

        return sorted(os.listdir(path))

    def register_functions(self):
        self.register_function(self._listdir, "listdir")


@pytest.fixture(scope="module")
def extra(pki, tmp_path_factory):
    """Certificates for the negative cases, beside the good sample PKI."""
    out = tmp_path_factory.mktemp("extra")
    signing = CertificateAuthority(load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert))
    stranger = make_ca("Untrusted CA")
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=60)
    made = {
        "expired": signing.issue(subject=FIELDS, client=True, not_before=past,
                                 not_after=past + datetime.timedelta(days=30)),
        "untrusted": stranger.issue(subject=FIELDS, client=True),
        "wrong_fields": signing.issue(subject={**FIELDS, "organizationName": "Other Company"}, client=True),
        "no_state": signing.issue(subject={"commonName": "My Client", "organizationName": "My Company"},
                                  client=True),
        "ip_only_server": signing.issue(subject="127.0.0.1", hosts=["127.0.0.1"]),
        "untrusted_server": stranger.issue(subject="localhost", hosts=["localhost", "127.0.0.1"]),
    }
    paths = {}
    for name, (key, cert) in made.items():
        paths[name] = (str(write_key(out / f"{name}-key.pem", key)), str(write_certs(out / f"{name}-cert.pem", cert)))
    return paths


def files(pki):
    return str(pki.server_key), str(pki.server_cert), str(pki.ca_chain)


@pytest.fixture
def open_server(pki):
    """Scenario 1: encrypted link only."""
    keyfile, certfile, _ = files(pki)
    with PowServer("localhost", 0, keyfile, certfile, log_requests=False) as server:
        yield server.start()


@pytest.fixture
def cert_server(pki):
    """Scenario 2: a client certificate is required."""
    keyfile, certfile, ca = files(pki)
    with PowServer("localhost", 0, keyfile, certfile, ca, cert_reqs=ssl.CERT_REQUIRED, log_requests=False) as server:
        yield server.start()


@pytest.fixture
def fields_server(pki):
    """Scenario 3: a client certificate with checked fields."""
    keyfile, certfile, ca = files(pki)
    with PowServer("localhost", 0, keyfile, certfile, ca, cert_reqs=ssl.CERT_REQUIRED,
                   verify_fields=FIELDS, log_requests=False, handshake_timeout=30) as server:
        yield server.start()


def url(server, host="localhost"):
    return f"https://{host}:{server.port}/RPC2"


def good_client(server, pki, **kwargs):
    return SSLClient(url(server), str(pki.ca_chain), str(pki.client_key), str(pki.client_cert), **kwargs)


def assert_still_serves(server, pki):
    with good_client(server, pki) as client:
        assert client.pow(41, 3) == 68921


def logged(caplog, predicate, level=logging.ERROR) -> list[str]:
    """The messages at ``level`` or above, once one satisfies ``predicate`` (the server logs
    from its worker thread, possibly just after the client saw the failure)."""
    deadline = time.monotonic() + 10
    while True:
        messages = [r.getMessage() for r in caplog.records if r.levelno >= level]
        if any(predicate(m) for m in messages) or time.monotonic() > deadline:
            return messages
        time.sleep(0.01)


def connection_failed(call) -> BaseException:
    """Run ``call`` and return the connection-level error it raised."""
    with pytest.raises((OSError, http.client.HTTPException)) as info:
        call()
    return info.value


# -- the chapter's scenarios -------------------------------------------------------------------
def test_scenario_encrypted_only(open_server, pki):
    """A client trusting the CA chain calls pow over TLS without a certificate of its own."""
    with SSLClient(url(open_server), str(pki.ca_chain)) as client:
        assert client.pow(41, 3) == 68921


def test_scenario_client_certificate_required(cert_server, pki):
    """With CERT_REQUIRED the client's certificate signed by the chain is accepted."""
    assert_still_serves(cert_server, pki)


def test_scenario_fields_checked(fields_server, pki):
    """Matching commonName/organizationName/stateOrProvinceName let the client in."""
    assert_still_serves(fields_server, pki)


def test_listdir_example(pki, tmp_path):
    """The chapter's listdir server exposes a private method under a public name only."""
    (tmp_path / "a.txt").write_text("x")
    keyfile, certfile, ca = files(pki)
    with ListdirServer("localhost", 0, keyfile, certfile, ca, cert_reqs=ssl.CERT_REQUIRED,
                       verify_fields=FIELDS, log_requests=False) as server:
        server.start()
        with good_client(server, pki) as client:
            assert client.listdir(str(tmp_path)) == ["a.txt"]
            with pytest.raises(xmlrpc.client.Fault, match="_listdir"):
                client._listdir(str(tmp_path))


def test_debug_logging_names_client_cert_and_address(pki, caplog):
    """At DEBUG the server logs each client's certificate and address to the subclass's logger."""
    keyfile, certfile, ca = files(pki)
    with caplog.at_level(logging.DEBUG, logger="PowServer"):
        with PowServer("localhost", 0, keyfile, certfile, ca, cert_reqs=ssl.CERT_REQUIRED,
                       verify_fields=FIELDS) as server:
            server.start()
            assert_still_serves(server, pki)
    messages = [r.getMessage() for r in caplog.records if r.name == "PowServer"]
    assert any("My Client" in m and "127.0.0.1" in m for m in messages if r"sent certificate" in m)
    assert any('"POST /RPC2 HTTP/1.1" 200' in m for m in messages)  # log_requests defaults to True


def test_serve_forever_and_shutdown_from_another_thread(pki):
    """serve_forever() blocks until shutdown(); the port is free afterwards."""
    import threading

    keyfile, certfile, _ = files(pki)
    server = PowServer("localhost", 0, keyfile, certfile)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        with SSLClient(url(server), str(pki.ca_chain)) as client:
            assert client.pow(2, 5) == 32
    finally:
        server.shutdown()
        thread.join()
    server.server_close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


# -- refusals: each followed by a good call ----------------------------------------------------------
def test_refused_without_client_certificate(cert_server, pki, caplog):
    """No client certificate when one is required: the connection fails, WARNING names the reason."""
    with caplog.at_level(logging.WARNING, logger="PowServer"):
        with SSLClient(url(cert_server), str(pki.ca_chain)) as client:
            connection_failed(lambda: client.pow(2, 2))
    messages = logged(caplog, lambda m: "no client certificate" in m, logging.WARNING)
    assert any(m.startswith("refused client 127.0.0.1:") and "no client certificate" in m for m in messages), messages
    assert_still_serves(cert_server, pki)


def test_refused_client_cert_from_untrusted_ca(cert_server, pki, extra, caplog):
    """A client certificate from an unknown CA is refused at the handshake."""
    key, cert = extra["untrusted"]
    with caplog.at_level(logging.WARNING, logger="PowServer"):
        with SSLClient(url(cert_server), str(pki.ca_chain), key, cert) as client:
            connection_failed(lambda: client.pow(2, 2))
    messages = logged(caplog, lambda m: "unable to get local issuer certificate" in m, logging.WARNING)
    assert any("unable to get local issuer certificate" in m for m in messages), messages
    assert_still_serves(cert_server, pki)


def test_refused_expired_client_cert(cert_server, pki, extra, caplog):
    """An expired client certificate is refused and the reason logged."""
    key, cert = extra["expired"]
    with caplog.at_level(logging.WARNING, logger="PowServer"):
        with SSLClient(url(cert_server), str(pki.ca_chain), key, cert) as client:
            connection_failed(lambda: client.pow(2, 2))
    messages = logged(caplog, lambda m: "certificate has expired" in m, logging.WARNING)
    assert any("certificate has expired" in m for m in messages), messages
    assert_still_serves(cert_server, pki)


def test_refused_server_from_untrusted_ca(pki, extra):
    """The client refuses a server whose certificate its ca_certs do not vouch for."""
    key, cert = extra["untrusted_server"]
    with PowServer("localhost", 0, key, cert, log_requests=False) as server:
        server.start()
        with SSLClient(url(server), str(pki.ca_chain)) as client:
            with pytest.raises(ConnectFailedError, match="certificate verify failed") as info:
                client.pow(2, 2)
            assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


def test_refused_host_name_mismatch(pki, extra):
    """A server certificate valid for 127.0.0.1 only is refused when called as localhost."""
    key, cert = extra["ip_only_server"]
    with PowServer("127.0.0.1", 0, key, cert, log_requests=False) as server:
        server.start()
        with SSLClient(url(server, "localhost"), str(pki.ca_chain)) as client:
            with pytest.raises(ConnectFailedError, match="mismatch|doesn't match"):
                client.pow(2, 2)
        with SSLClient(url(server, "127.0.0.1"), str(pki.ca_chain)) as client:
            assert client.pow(3, 3) == 27


@pytest.mark.parametrize(
    "which, reason",
    [
        ("wrong_fields", "'organizationName' is 'Other Company', expected 'My Company'"),
        ("no_state", "no 'stateOrProvinceName' field"),
    ],
)
def test_refused_field_mismatch(fields_server, pki, extra, caplog, which, reason):
    """A field that differs or is missing drops the connection; only the server learns why."""
    key, cert = extra[which]
    with caplog.at_level(logging.WARNING, logger="PowServer"):
        with SSLClient(url(fields_server), str(pki.ca_chain), key, cert) as client:
            error = connection_failed(lambda: client.pow(2, 2))
    assert "organizationName" not in str(error) and "stateOrProvinceName" not in str(error)
    assert isinstance(error, ConnectFailedError) and tls.CLIENT_CERTIFICATE_REFUSED in str(error)
    errors = logged(caplog, lambda m: reason in m, logging.WARNING)
    assert any(reason in m for m in errors), errors
    assert_still_serves(fields_server, pki)


def test_verify_peer_can_be_overridden(pki, caplog):
    """A subclass's verify_peer raising VerificationException turns clients away."""

    class Picky(PowServer):
        def verify_peer(self, cert, from_addr):
            super().verify_peer(cert, from_addr)
            raise VerificationException(f"nobody from {from_addr[0]} today")

    keyfile, certfile, ca = files(pki)
    with caplog.at_level(logging.WARNING, logger="Picky"):
        with Picky("localhost", 0, keyfile, certfile, ca, cert_reqs=ssl.CERT_REQUIRED) as server:
            server.start()
            with good_client(server, pki) as client:
                connection_failed(lambda: client.pow(2, 2))
    messages = logged(caplog, lambda m: "nobody from 127.0.0.1 today" in m, logging.WARNING)
    assert any(re.fullmatch(r"refused client 127\.0\.0\.1:\d+: nobody from 127\.0\.0\.1 today", m) for m in messages), messages


def test_refused_tls_1_1_client(cert_server, pki, caplog):
    """A client that offers at most TLS 1.1 is refused by the server (the ClientHello does reach it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(pki.ca_chain))
    ctx.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this OpenSSL actually offer TLS 1.1
    with caplog.at_level(logging.WARNING, logger="PowServer"):
        with socket.create_connection(("localhost", cert_server.port), timeout=10) as sock:
            with pytest.raises(ssl.SSLError, match="(?i)version|protocol"):
                ctx.wrap_socket(sock, server_hostname="localhost")
    server_side = logged(caplog, lambda m: "TLS version not accepted" in m, logging.WARNING)
    assert any(m.startswith("refused client 127.0.0.1:") and "TLS version not accepted" in m
               for m in server_side), server_side
    assert_still_serves(cert_server, pki)


def test_stalled_handshakes_do_not_block_others(fields_server, pki):
    """Clients that connect and never start TLS do not keep a good client waiting."""
    stalled = [socket.create_connection(("localhost", fields_server.port), timeout=10) for _ in range(4)]
    try:
        assert_still_serves(fields_server, pki)
    finally:
        for sock in stalled:
            sock.close()


def test_stalled_handshake_is_dropped(pki, caplog):
    """A connection that never finishes its handshake is closed after handshake_timeout."""
    keyfile, certfile, _ = files(pki)
    with caplog.at_level(logging.WARNING, logger="PowServer"):
        with PowServer("localhost", 0, keyfile, certfile, handshake_timeout=0.2) as server:
            server.start()
            with socket.create_connection(("localhost", server.port), timeout=10) as sock:
                assert sock.recv(1) == b""
            assert_still_serves(server, pki)
    assert any("timed out" in r.getMessage() for r in caplog.records)


def test_refused_oversized_body(pki):
    """A call larger than max_body_size gets HTTP 413; the next call succeeds."""
    keyfile, certfile, _ = files(pki)
    with PowServer("localhost", 0, keyfile, certfile, max_body_size=2000, log_requests=False) as server:
        server.start()
        server.register_function(len)
        with SSLClient(url(server), str(pki.ca_chain)) as client:
            with pytest.raises(xmlrpc.client.ProtocolError) as info:
                client.len("x" * 5000)
            assert info.value.errcode == 413
            assert client.len("x" * 100) == 100


def _post(server, pki, body: bytes, conn=None):
    conn = conn or http.client.HTTPSConnection("localhost", server.port, timeout=10,
                                               context=tls.client_context(str(pki.ca_chain)))
    conn.request("POST", "/RPC2", body=body, headers={"Content-Type": "text/xml"})
    response = conn.getresponse()
    return conn, response.status, response.read()


@pytest.mark.parametrize(
    "body, code, text",
    [
        (b"<methodCall><methodName>pow</methodName><params>", -32700, "parse error"),
        (b"this is not xml", -32700, "parse error"),
        (b"<methodCall><params/></methodCall>", -32600, "no methodName"),
        (b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
         b"<methodCall><methodName>pow</methodName><params><param><value><string>&b;</string></value>"
         b"</param></params></methodCall>", -32600, "DOCTYPE"),
        (b'<!DOCTYPE x SYSTEM "http://127.0.0.1:9/evil.dtd"><methodCall/>', -32600, "DOCTYPE"),
        ("<?xml version='1.0' encoding='utf-16'?><!DOCTYPE m []><methodCall/>".encode("utf-16"), -32600,
         "DOCTYPE"),
    ],
)
def test_malformed_or_unsafe_xml_gets_a_fault_and_connection_stays_usable(open_server, pki, body, code, text):
    """Bad or DTD-carrying XML yields an XML-RPC fault in a 200 answer; the same connection then works."""
    conn, status, reply = _post(open_server, pki, body)
    try:
        assert status == 200
        with pytest.raises(xmlrpc.client.Fault) as info:
            xmlrpc.client.loads(reply)
        assert info.value.faultCode == code and text in info.value.faultString
        conn, status, reply = _post(open_server, pki, xmlrpc.client.dumps((41, 3), "pow").encode(), conn)
        assert xmlrpc.client.loads(reply)[0] == (68921,)
    finally:
        conn.close()


def test_get_is_refused_with_405(open_server, pki):
    """Only POST carries XML-RPC calls."""
    conn = http.client.HTTPSConnection("localhost", open_server.port, timeout=10,
                                       context=tls.client_context(str(pki.ca_chain)))
    try:
        conn.request("GET", "/RPC2")
        response = conn.getresponse()
        response.read()
        assert response.status == 405 and response.getheader("Allow") == "POST"
    finally:
        conn.close()


def test_gzip_request_bodies_are_accepted(open_server, pki):
    """A gzip-encoded call (the stdlib client's encode_threshold) is decoded; a gzip bomb gets 400."""
    body = xmlrpc.client.gzip_encode(xmlrpc.client.dumps((2, 8), "pow").encode())
    conn = http.client.HTTPSConnection("localhost", open_server.port, timeout=10,
                                       context=tls.client_context(str(pki.ca_chain)))
    try:
        conn.request("POST", "/RPC2", body=body, headers={"Content-Encoding": "gzip"})
        assert xmlrpc.client.loads(conn.getresponse().read())[0] == (256,)
        conn.request("POST", "/RPC2", body=b"not gzip", headers={"Content-Encoding": "gzip"})
        response = conn.getresponse()
        response.read()
        assert response.status == 400
        bomb = xmlrpc.client.gzip_encode(b"<" + b"a" * (9 * 1024 * 1024))  # inflates past the 8 MiB limit
        conn.request("POST", "/RPC2", body=bomb, headers={"Content-Encoding": "gzip"})
        response = conn.getresponse()
        assert response.status == 400 and b"exceeded" in response.read()
        conn.request("POST", "/RPC2", body=body, headers={"Content-Encoding": "gzip"})
        assert xmlrpc.client.loads(conn.getresponse().read())[0] == (256,)
    finally:
        conn.close()


def test_application_errors_come_back_as_faults(open_server, pki):
    """An exception in a function is a Fault with module.Type:message, as from the stdlib server."""
    with SSLClient(url(open_server), str(pki.ca_chain)) as client:
        with pytest.raises(xmlrpc.client.Fault) as info:
            client.pow(0, -1)
        assert info.value.faultCode == 1 and "ZeroDivisionError" in info.value.faultString
        assert client.pow(2, 3) == 8


# -- construction --------------------------------------------------------------------------------
def test_log_requests_mirrors_log_requests_attribute(pki):
    """logRequests is the chapter's camelCase view of log_requests."""
    keyfile, certfile, _ = files(pki)
    with PowServer("localhost", 0, keyfile, certfile, log_requests=False) as server:
        assert server.logRequests is False and server.log_requests is False
        server.logRequests = True
        assert server.log_requests is True
        assert server.server_address == ("localhost", server.port)
        assert "bound" in repr(server)


def test_ssl_version_is_accepted_with_a_deprecation_warning(pki):
    """ssl.PROTOCOL_TLSv1 is accepted, warns, and still means TLS 1.2 or newer."""
    keyfile, certfile, _ = files(pki)
    with pytest.warns(DeprecationWarning, match="TLS 1.2"):
        server = PowServer("localhost", 0, keyfile, certfile, ssl_version=ssl.PROTOCOL_TLSv1, log_requests=False)
    with server:
        server.start()
        with pytest.warns(DeprecationWarning):
            client = SSLClient(url(server), str(pki.ca_chain), ssl_version=ssl.PROTOCOL_TLSv1)
        with client:
            assert client.pow(2, 2) == 4
        assert server._http.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"certfile": None}, ConfigurationError, "certfile"),
        ({"certfile": "/nonexistent/cert.pem"}, ConfigurationError, "cannot load certificate"),
        ({"verify_fields": FIELDS}, ConfigurationError, "needs client certificates"),
        ({"verify_fields": {"commonName": 1}}, ConfigurationError, "verify_fields must map"),
        ({"cert_reqs": "sometimes"}, ConfigurationError, "cert_reqs must be"),
        ({"colour": "blue"}, TypeError, "colour"),
        ({"port": 70000}, ConfigurationError, "port must be between 0 and 65535"),
        ({"host": "no-such-host.invalid"}, ExportError, "cannot resolve host"),
    ],
)
def test_bad_server_arguments_are_refused(pki, kwargs, error, message):
    """Bad constructor arguments raise a clear error and leave nothing listening."""
    keyfile, certfile, _ = files(pki)
    args = {"host": "localhost", "port": 0, "keyfile": keyfile, "certfile": certfile, **kwargs}
    with pytest.raises(error, match=message):
        PowServer(**args)


def test_port_in_use_is_reported(open_server, pki):
    """Binding an occupied port raises ExportError naming host and port."""
    keyfile, certfile, _ = files(pki)
    with pytest.raises(ExportError, match=f"localhost:{open_server.port}"):
        PowServer("localhost", open_server.port, keyfile, certfile)


def test_client_requires_https_and_a_uri(pki):
    """SSLClient refuses plain http:// and a missing URI."""
    with pytest.raises(ValueError, match="https://"):
        SSLClient("http://localhost:8000/RPC2", str(pki.ca_chain))
    with pytest.raises(ValueError, match="URI"):
        SSLClient(None, str(pki.ca_chain))


def test_client_keeps_one_connection_alive(open_server, pki, caplog):
    """Several calls from one SSLClient use one TLS connection (one handshake)."""
    with caplog.at_level(logging.DEBUG, logger="PowServer"):
        with SSLClient(url(open_server), str(pki.ca_chain)) as client:
            assert [client.pow(2, i) for i in range(5)] == [1, 2, 4, 8, 16]
    handshakes = [r for r in caplog.records if r.getMessage().startswith("TLS connection from")]
    assert len(handshakes) == 1


def test_client_verbose_prints_http_traffic(open_server, pki, capsys):
    """verbose=1 prints the request and the reply headers as the stdlib client does."""
    with SSLClient(url(open_server), str(pki.ca_chain), verbose=1) as client:
        assert client.pow(2, 2) == 4
    out = capsys.readouterr().out
    assert "send: b'POST /RPC2 HTTP/1.1" in out and "reply: 'HTTP/1.1 200 OK" in out


def test_client_timeout(pki):
    """A server that never completes the TLS handshake makes the call fail after the client's
    timeout with ConnectFailedError: nothing was sent."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = SSLClient(f"https://127.0.0.1:{silent.getsockname()[1]}/RPC2", str(pki.ca_chain), timeout=0.3)
        with client:
            with pytest.raises(ConnectFailedError, match="timed out after 0.3s; pow\\(\\) was not sent"):
                client.pow(2, 2)


def test_public_names():
    """The package exports the chapter's names; VerificationException is the one from springpython.errors."""
    import springpython.errors
    import springpython.remoting.xmlrpc as package

    assert set(package.__all__) == {"SSLServer", "SSLClient", "VerificationException",
                                    "XMLRPCServiceExporter", "XMLRPCProxyFactory", "AsyncXMLRPCProxyFactory"}
    assert package.VerificationException is springpython.errors.VerificationException
    assert issubclass(SSLClient, xmlrpc.client.ServerProxy)


def test_client_cert_none_opts_out_of_verification(pki, extra):
    """cert_reqs=CERT_NONE (asked for by name) connects to an untrusted server without checks."""
    key, cert = extra["untrusted_server"]
    with PowServer("localhost", 0, key, cert, log_requests=False) as server:
        server.start()
        with SSLClient(url(server), cert_reqs=ssl.CERT_NONE) as client:
            assert client.pow(2, 4) == 16


def test_client_survives_the_server_closing_an_idle_connection(pki, caplog):
    """After the server closes an idle kept-alive connection, the next call simply reconnects."""
    keyfile, certfile, _ = files(pki)
    with caplog.at_level(logging.DEBUG, logger="PowServer"):
        with PowServer("localhost", 0, keyfile, certfile, idle_timeout=0.1, log_requests=False) as server:
            server.start()
            with SSLClient(url(server), str(pki.ca_chain)) as client:
                assert client.pow(2, 1) == 2
                messages = logged(caplog, lambda m: m.startswith("closing idle connection"), logging.DEBUG)
                assert any(m.startswith("closing idle connection") for m in messages)
                assert client.pow(2, 2) == 4
