"""The shared HTTP/1.1 server: keep-alive, limits, bad input, TLS, stalled clients, close."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading

import pytest

from springpython.errors import ExportError, VerificationException
from springpython.remoting import tls
from springpython.remoting.http import HTTPServer, Request, Response

HTTP_LOGGER = "springpython.remoting.http"


def echo(request: Request) -> Response:
    return Response(200, request.body, headers=[("X-Peer-Port", str(request.client_address[1]))])


@pytest.fixture
def server():
    """A plain HTTP server with an echo handler at /echo."""
    with HTTPServer("127.0.0.1", 0, max_body_size=1000) as srv:
        srv.mount("/echo", echo)
        yield srv


@pytest.fixture
def tls_server(pki):
    """A TLS server with an echo handler at /echo."""
    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key))
    with HTTPServer("127.0.0.1", 0, ssl_context=ctx, handshake_timeout=30, max_workers=4) as srv:
        srv.mount("/echo", echo)
        yield srv


def post(conn: http.client.HTTPConnection, body: bytes, path: str = "/echo") -> http.client.HTTPResponse:
    conn.request("POST", path, body=body)
    response = conn.getresponse()
    response.body = response.read()
    return response


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes and read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def still_serves(port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert post(conn, b"still here").body == b"still here"
    finally:
        conn.close()


def test_start_reports_the_real_port(server):
    """Port 0 binds a free port, readable as .port, and start() returns already listening."""
    assert server.port != 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass
    assert server.url("/echo") == f"http://127.0.0.1:{server.port}/echo"


def test_keep_alive_reuses_one_connection(server):
    """Several requests travel over one TCP connection, each answered in order."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        responses = [post(conn, f"call {i}".encode()) for i in range(5)]
    finally:
        conn.close()
    assert [r.body for r in responses] == [f"call {i}".encode() for i in range(5)]
    assert len({r.getheader("X-Peer-Port") for r in responses}) == 1
    assert all(r.getheader("Connection") is None for r in responses)


def test_pipelined_requests_are_all_answered(server):
    """Two requests sent back to back in one packet get two responses."""
    one = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    two = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz"
    reply = raw_exchange(server.port, one + two)
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert reply.endswith(b"xyz")


def test_oversized_body_gets_413_and_server_keeps_serving(server):
    """A Content-Length over the limit is refused with 413 without reading the body."""
    reply = raw_exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"1001 bytes exceeds the limit of 1000" in reply
    still_serves(server.port)


def test_oversized_chunked_body_gets_413(server):
    """A chunked body growing over the limit is refused with 413 too."""
    chunk = b"%x\r\n%s\r\n" % (600, b"a" * 600)
    reply = raw_exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + chunk + chunk + b"0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 413 ")
    still_serves(server.port)


def test_chunked_body_is_decoded(server):
    """A chunked request body reaches the handler decoded."""
    reply = raw_exchange(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert reply.endswith(b"\r\n\r\nabcde")


def test_expect_continue_is_honoured(server):
    """A client that sends Expect: 100-continue gets the interim response, then the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
                     b"Connection: close\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"hello")


@pytest.mark.parametrize(
    "garbage, status",
    [
        (b"\x16\x03\x01garbage that is no http\r\n\r\n", b"400"),
        (b"GET\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nBad Header Line\r\n\r\n", b"400"),
        (b"POST /echo HTTP/2.0\r\n\r\n", b"505"),
        (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
        (b"POST /echo HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    ],
)
def test_malformed_requests_get_an_error_and_server_keeps_serving(server, garbage, status):
    """Garbage gets a 4xx/5xx and a closed connection; other clients are still served."""
    reply = raw_exchange(server.port, garbage)
    assert reply.startswith(b"HTTP/1.1 " + status + b" ")
    assert b"Connection: close" in reply
    still_serves(server.port)


def test_truncated_body_closes_only_that_connection(server):
    """A client that disconnects half-way through its body costs nobody else anything."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort")
    still_serves(server.port)


def test_unknown_path_404_and_handler_error_500(server, caplog):
    """An unmounted path is a 404; a failing handler a 500 logged at ERROR, connection kept."""

    def broken(request: Request) -> Response:
        raise RuntimeError("handler bug")

    server.mount("/broken", broken)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        assert post(conn, b"", "/nowhere").status == 404
        with caplog.at_level(logging.ERROR, logger=HTTP_LOGGER):
            assert post(conn, b"", "/broken").status == 500
        assert post(conn, b"same connection").body == b"same connection"
    finally:
        conn.close()
    assert any("handler for /broken failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_mount_rejects_duplicates_and_bad_paths(server):
    """A path can be mounted once, must start with '/', and unmount frees it."""
    with pytest.raises(ValueError, match="already mounted"):
        server.mount("/echo", echo)
    with pytest.raises(ValueError, match="must start with '/'"):
        server.mount("echo", echo)
    server.unmount("/echo")
    with pytest.raises(ValueError, match="not mounted"):
        server.unmount("/echo")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        assert post(conn, b"x").status == 404
    finally:
        conn.close()


def test_http10_connection_closes_after_response(server):
    """An HTTP/1.0 request without keep-alive gets Connection: close and EOF."""
    reply = raw_exchange(server.port, b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi")
    assert reply.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in reply and reply.endswith(b"hi")


def test_idle_keep_alive_connection_is_closed_after_idle_timeout():
    """A kept-alive connection that stays silent is closed by the server."""
    with HTTPServer("127.0.0.1", 0, idle_timeout=0.2) as srv:
        srv.mount("/echo", echo)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz")
            data = b""
            while chunk := sock.recv(4096):  # the server's close ends this loop
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 ")


def test_close_frees_the_port_and_is_idempotent():
    """close() stops listening, closes idle connections and can be called twice."""
    srv = HTTPServer("127.0.0.1", 0).start()
    srv.mount("/echo", echo)
    port = srv.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    post(conn, b"x")  # leaves an idle keep-alive connection parked
    srv.close()
    srv.close()
    assert srv.closed
    assert conn.sock.recv(1) == b""  # the parked connection was closed
    conn.close()
    with socket.socket() as probe:  # a restarted server can bind the port again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_close_without_start_and_port_in_use():
    """A port already taken raises ExportError and leaves nothing behind; close() before start is fine."""
    with HTTPServer("127.0.0.1", 0) as first:
        second = HTTPServer("127.0.0.1", first.port)
        with pytest.raises(ExportError, match=f"cannot listen on 127.0.0.1:{first.port}"):
            second.start()
        second.close()
    HTTPServer("127.0.0.1", 0).close()


def test_close_unblocks_a_worker_waiting_for_a_request(caplog):
    """A client that sent half a request does not hold close() up: its worker is joined at once."""
    srv = HTTPServer("127.0.0.1", 0, request_timeout=60).start()
    srv.mount("/echo", echo)
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        sock.sendall(b"POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"POST /echo HTTP/1.1\r\n")  # a worker waits for the rest
        with caplog.at_level(logging.WARNING, logger=HTTP_LOGGER):
            srv.close()
        try:
            assert sock.recv(4096) in (b"", )
        except ConnectionResetError:
            pass  # closed before a worker read the partial request: also a close
    finally:
        sock.close()
    assert not [r for r in caplog.records if "still busy" in r.getMessage()]


def test_tls_keep_alive_and_peer_cert_none_without_client_cert(tls_server, pki):
    """Over TLS the connection is kept alive too; no client certificate means peer_cert None."""
    seen = []
    tls_server.mount("/peer", lambda r: seen.append(r.peer_cert) or Response(200, b"ok"))
    ctx = tls.client_context(str(pki.ca_chain))
    conn = http.client.HTTPSConnection("127.0.0.1", tls_server.port, context=ctx, timeout=10)
    try:
        first, second = post(conn, b"a"), post(conn, b"b")
        post(conn, b"", "/peer")
    finally:
        conn.close()
    assert first.getheader("X-Peer-Port") == second.getheader("X-Peer-Port")
    assert seen == [None]


def test_stalled_handshakes_block_nobody(tls_server, pki):
    """Clients that connect and never handshake do not delay a well-behaved client."""
    stalled = [socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) for _ in range(3)]
    try:
        ctx = tls.client_context(str(pki.ca_chain))
        conn = http.client.HTTPSConnection("127.0.0.1", tls_server.port, context=ctx, timeout=10)
        try:
            assert post(conn, b"served").body == b"served"
        finally:
            conn.close()
    finally:
        for sock in stalled:
            sock.close()


def test_stalled_handshake_is_dropped_after_the_timeout(pki, caplog):
    """A connection that never completes its handshake is closed and logged at WARNING."""
    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key))
    with caplog.at_level(logging.WARNING, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, ssl_context=ctx, handshake_timeout=0.2) as srv:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
                assert sock.recv(1) == b""
    assert any("timed out" in r.getMessage() for r in caplog.records)


def test_tls_handshake_failure_does_not_kill_the_server(pki, caplog):
    """Plain HTTP to the TLS port, or a client not trusting the server, is dropped at DEBUG; others go on."""
    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key))
    with caplog.at_level(logging.DEBUG, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, ssl_context=ctx, max_workers=1) as srv:
            srv.mount("/echo", echo)
            try:
                reply = raw_exchange(srv.port, b"POST /echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            except ConnectionResetError:
                reply = b""
            assert not reply.startswith(b"HTTP/")  # at most a TLS alert, never an answer
            untrusting = ssl.create_default_context()  # system CAs: the sample CA is unknown
            with pytest.raises(ssl.SSLCertVerificationError):
                with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
                    untrusting.wrap_socket(sock, server_hostname="localhost")
            # One worker: this call is served only once both failures were handled and logged.
            conn = http.client.HTTPSConnection("localhost", srv.port, context=tls.client_context(str(pki.ca_chain)),
                                               timeout=10)
            try:
                assert post(conn, b"fine").body == b"fine"
            finally:
                conn.close()
    failures = [r for r in caplog.records if "TLS handshake with" in r.getMessage()]
    assert len(failures) == 2 and all(r.levelno == logging.DEBUG for r in failures), failures
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def client_certs(pki, tmp_path):
    """Client certificate files beside the sample PKI: an expired one and one from an unknown CA."""
    import datetime

    from springpython.pki import CertificateAuthority, load_cert, load_key, make_ca, write_certs, write_key

    signing = CertificateAuthority(load_key(pki.ca_signing_key), load_cert(pki.ca_signing_cert))
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=60)
    made = {
        "expired": signing.issue(subject="My Client", client=True, not_before=past,
                                 not_after=past + datetime.timedelta(days=30)),
        "unknown CA": make_ca("Untrusted CA").issue(subject="My Client", client=True),
    }
    return {name: (str(write_certs(tmp_path / f"{i}-cert.pem", cert)), str(write_key(tmp_path / f"{i}-key.pem", key)))
            for i, (name, (key, cert)) in enumerate(made.items())}


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused client")
            and r.levelno == logging.WARNING]


def tls_request(port: int, ctx: ssl.SSLContext, request: bytes) -> tuple[int, bytes]:
    """Our local port and what came back (b"" if the server cut the TLS connection)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    local_port = raw.getsockname()[1]
    reply = b""
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                reply += chunk
    except (ssl.SSLError, ConnectionError):
        pass  # refused in the handshake: the alert arrives at the first read or write
    finally:
        raw.close()
    return local_port, reply


@pytest.mark.parametrize("which, reason", [
    (None, "no client certificate (PEER_DID_NOT_RETURN_A_CERTIFICATE)"),
    ("unknown CA", "client certificate not accepted: unable to get local issuer certificate"),
    ("expired", "client certificate not accepted: certificate has expired"),
])
def test_handshake_refusal_is_logged_at_warning_with_address_and_reason(pki, client_certs, caplog, which, reason):
    """A client certificate refused in the handshake: one WARNING 'refused client HOST:PORT: reason'."""
    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key), str(pki.ca_chain), ssl.CERT_REQUIRED)
    calls = []
    with caplog.at_level(logging.DEBUG, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, ssl_context=ctx, max_workers=1) as srv:
            srv.mount("/count", lambda request: calls.append(request) or Response(200, b"ran"))
            client = tls.client_context(str(pki.ca_chain), *(client_certs[which] if which else ()))
            port, reply = tls_request(srv.port, client, b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            assert reply == b""
            good = tls.client_context(str(pki.ca_chain), str(pki.client_cert), str(pki.client_key))
            # One worker: this answer comes only after the refusal was handled and logged.
            assert tls_request(srv.port, good, b"POST /count HTTP/1.1\r\nConnection: close\r\n\r\n")[1] \
                .startswith(b"HTTP/1.1 200 ")
    assert refusals(caplog) == [f"refused client 127.0.0.1:{port}: {reason}"]
    assert len(calls) == 1


def test_verify_peer_refusal_answers_403_without_running_the_handler(pki, caplog):
    """verify_peer refusing: the request is read, never handled, answered 403 with the refusal header; WARNING says why."""
    def verify(cert, address):
        if cert is None:
            raise VerificationException("certificate has no 'organizationName' field (expected 'Secret Co')")

    calls = []
    ctx = tls.server_context(str(pki.server_cert), str(pki.server_key), str(pki.ca_chain), ssl.CERT_OPTIONAL)
    request = b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
    with caplog.at_level(logging.WARNING, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, ssl_context=ctx, verify_peer=verify) as srv:
            srv.mount("/count", lambda r: calls.append(r) or Response(200, b"ran"))
            port, reply = tls_request(srv.port, tls.client_context(str(pki.ca_chain)), request)
            assert calls == []
            with_cert = tls.client_context(str(pki.ca_chain), str(pki.client_cert), str(pki.client_key))
            assert tls_request(srv.port, with_cert, request.replace(b"Host: x", b"Connection: close"))[1] \
                .endswith(b"ran")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 403 ")
    assert f"\r\n{tls.REFUSED_HEADER}: client-certificate\r\n".encode() in head + b"\r\n"
    assert b"\r\nConnection: close" in head
    assert body == f"{tls.CLIENT_CERTIFICATE_REFUSED}\n".encode()
    assert b"Secret Co" not in reply and b"organizationName" not in reply
    assert len(calls) == 1  # only the accepted client's call ran
    assert refusals(caplog) == [
        f"refused client 127.0.0.1:{port}: certificate has no 'organizationName' field (expected 'Secret Co')"
    ]


def test_concurrent_clients_are_served_in_parallel():
    """A slow handler on one connection does not hold up another connection."""
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(10)
        return Response(200, b"slow")

    with HTTPServer("127.0.0.1", 0) as srv:
        srv.mount("/slow", slow)
        srv.mount("/echo", echo)
        result = []
        slow_conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        thread = threading.Thread(target=lambda: result.append(post(slow_conn, b"", "/slow").body))
        thread.start()
        try:
            still_serves(srv.port)
        finally:
            release.set()
            thread.join()
            slow_conn.close()
        assert result == [b"slow"]


def test_worker_threads_are_named_and_joined():
    """Server threads carry the springpython-http prefix and are gone after close()."""
    with HTTPServer("127.0.0.1", 0) as srv:
        srv.mount("/echo", echo)
        still_serves(srv.port)
        names = [t.name for t in threading.enumerate() if str(srv.port) in t.name]
        assert names and all(n.startswith("springpython-http-") for n in names)
    assert not [t for t in threading.enumerate() if str(srv.port) in t.name]


def test_constructor_rejects_bad_limits():
    """max_workers below 1 and a negative body limit are refused."""
    with pytest.raises(ValueError, match="max_workers"):
        HTTPServer("127.0.0.1", 0, max_workers=0)
    with pytest.raises(ValueError, match="max_body_size"):
        HTTPServer("127.0.0.1", 0, max_body_size=-1)


def test_close_from_inside_a_handler():
    """A handler may close its own server (an exporter destroyed by the service it exports)."""
    holder = {}

    def stop(request: Request) -> Response:
        holder["server"].close()
        return Response(200, b"bye")

    srv = HTTPServer("127.0.0.1", 0).start()
    holder["server"] = srv
    srv.mount("/stop", stop)
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    try:
        response = post(conn, b"", "/stop")
    finally:
        conn.close()
    assert response.body == b"bye" and response.getheader("Connection") == "close"
    assert srv.closed


def test_silent_plain_clients_do_not_hold_the_only_worker():
    """With one worker, clients that connect and say nothing still leave room for a real request."""
    with HTTPServer("127.0.0.1", 0, max_workers=1) as srv:
        srv.mount("/echo", echo)
        silent = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(3)]
        try:
            still_serves(srv.port)
        finally:
            for sock in silent:
                sock.close()


def test_trickling_client_is_cut_off_at_the_request_timeout():
    """A client sending its request a byte at a time must still finish within request_timeout."""
    import time

    with HTTPServer("127.0.0.1", 0, request_timeout=0.3) as srv:
        srv.mount("/echo", echo)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as sock:
            closed = False
            for byte in b"POST /echo HTTP/1.1\r\nX-Slow: " + b"a" * 200:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed = True
                    break
                time.sleep(0.01)  # the trickle itself is the behaviour under test
            assert closed, "the server kept waiting for a request trickling in for longer than its timeout"
        still_serves(srv.port)


def test_handler_raising_exit_or_interrupt_is_a_500_and_workers_survive(caplog):
    """SystemExit and KeyboardInterrupt from a handler are 500s logged at ERROR; four workers serve 40 of them, then more."""
    def leave(request: Request) -> Response:
        raise SystemExit(2) if request.body == b"exit" else KeyboardInterrupt()

    with caplog.at_level(logging.ERROR, logger=HTTP_LOGGER):
        with HTTPServer("127.0.0.1", 0, max_workers=4) as srv:
            srv.mount("/leave", leave)
            srv.mount("/echo", echo)
            for i in range(40):
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                try:
                    assert post(conn, b"exit" if i % 2 else b"interrupt", "/leave").status == 500
                finally:
                    conn.close()
            still_serves(srv.port)
    failures = [r for r in caplog.records if "handler for /leave failed" in r.getMessage()]
    assert len(failures) == 40
    assert {r.exc_info[0] for r in failures} == {SystemExit, KeyboardInterrupt}


EMFILE_SERVER = """
import logging, os, resource, sys
from springpython.remoting.http import HTTPServer, Response

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(levelname)s %(message)s")
with HTTPServer("127.0.0.1", 0, max_workers=2, linger=0) as srv:
    srv.mount("/echo", lambda request: Response(200, request.body))
    spare = int(sys.argv[1])  # descriptors left for accepted connections
    resource.setrlimit(resource.RLIMIT_NOFILE,
                       (len(os.listdir("/proc/self/fd")) + spare, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    print(srv.port, flush=True)
    sys.stdin.read()  # serve until the test closes our stdin
"""


def test_out_of_descriptors_pauses_accepting_warns_once_and_recovers(spawn, tmp_path):
    """Out of descriptors, the accept loop backs off with one WARNING per interval, then serves again."""
    import subprocess
    import time

    script = tmp_path / "emfile_server.py"
    script.write_text(EMFILE_SERVER)
    proc = spawn([script, 4], stdin=subprocess.PIPE)
    port = int(proc.stdout.readline())
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(12)]
    try:
        time.sleep(1.5)  # the overload itself is the behaviour under test: 1.5 s out of descriptors
    finally:
        for sock in held:
            sock.close()
    still_serves(port)  # the parked connections' descriptors free up and accepting resumes
    _, err = proc.communicate("", timeout=30)  # EOF on stdin stops the server
    assert proc.returncode == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "cannot accept connections" in warnings[0] and "Too many open files" in warnings[0], \
        warnings


def test_an_adopted_listener_is_served_and_left_open():
    """A listening socket handed in is served on, and still open (its owner's) after
    the server closed; a socket that is not TCP is refused."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        server = HTTPServer("127.0.0.1", listener=listener)
        server.mount("/", lambda request: Response(200, b"hello", "text/plain"))
        with server:
            assert server.port == listener.getsockname()[1]
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("GET", "/")
            assert conn.getresponse().read() == b"hello"
            conn.close()
        assert listener.fileno() >= 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass  # still listening, for its owner
    finally:
        listener.close()
    left, right = socket.socketpair(socket.AF_UNIX)
    try:
        with pytest.raises(ValueError, match="listening TCP socket"):
            HTTPServer(listener=left)
    finally:
        left.close()
        right.close()
