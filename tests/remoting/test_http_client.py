"""The shared HTTP client: the sans-IO reply reader (bytes in memory), the failure
mapping (the contract's three errors by stage), and the connection — blocking and
asyncio — against real peers on 127.0.0.1 (our HTTPServer, raw sockets that
misbehave on cue)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import pytest

from springpython.errors import (
    CallTimeoutError,
    ConfigurationError,
    ConnectFailedError,
    ConnectionLostError,
    ProtocolError,
    RemoteFault,
)
from springpython.remoting import failures, tls
from springpython.remoting.failures import Stage
from springpython.remoting.http import HTTPServer, Response
from springpython.remoting.async_http_client import AsyncHTTPConnection
from springpython.remoting.http_client import HTTPConnection, HTTPEndpoint, parse_url
from springpython.remoting.http_wire import MAX_HEADERS, RequestHead, ResponseReader

URL = "http://127.0.0.1:1/x"


def read(chunks: list[bytes], *, eof: bool = False, max_body: int = 1000):
    """Feed ``chunks`` to a new reader; the reply, or None while it is incomplete."""
    reader = ResponseReader(max_body)
    for chunk in chunks:
        if reader.feed(chunk):
            return reader.response()
    if eof and reader.eof():
        return reader.response()
    return None


# -- the reply reader ----------------------------------------------------------------------------
def test_reader_assembles_a_reply_split_anywhere():
    """A reply fed one byte at a time is the same reply as fed whole."""
    data = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 5\r\n\r\nhello"
    whole = read([data])
    assert whole is not None and (whole.status, whole.reason, whole.body, whole.keep_alive) == (200, "OK", b"hello", True)
    split = read([data[i:i + 1] for i in range(len(data))])
    assert (split.status, split.reason, split.body, split.keep_alive, dict(split.headers)) == (
        200, "OK", b"hello", True, {"content-type": "text/xml", "content-length": "5"})
    assert whole.header("Content-Type") == "text/xml" and whole.header("X-None", "-") == "-"


def test_reader_skips_interim_replies_and_reads_chunks_with_trailers():
    """A 100 Continue is skipped; a chunked body with extensions and trailers is joined."""
    reply = read([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: yes\r\n\r\n"])
    assert reply is not None and reply.status == 200 and reply.body == b"abcde" and reply.keep_alive


def test_reader_ends_an_unframed_reply_at_end_of_stream():
    """Without Content-Length or chunking the body runs to the end of the stream; the
    connection is then not reusable."""
    assert read([b"HTTP/1.0 200 OK\r\n\r\nhello"]) is None
    reply = read([b"HTTP/1.0 200 OK\r\n\r\nhello"], eof=True)
    assert reply is not None and reply.body == b"hello" and not reply.keep_alive
    assert read([b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"], eof=True) is None


def test_reader_never_reads_bytes_after_the_reply_as_a_second_one():
    """Bytes after a complete reply leave it intact but mark the connection unusable."""
    for extra in (b"HTTP/1.1 200 OK\r\nX-Evil: 1\r\n", b"garbage"):
        reply = read([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + extra])
        assert reply is not None and reply.body == b"ok" and "x-evil" not in reply.headers
        assert not reply.keep_alive


def test_reader_honours_connection_close():
    """Connection: close (or HTTP/1.0 without keep-alive) makes the reply the last on its connection."""
    assert not read([b"HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"]).keep_alive
    assert read([b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"]).keep_alive


@pytest.mark.parametrize(
    "data, match",
    [
        (b"SMTP ready\r\n\r\n", "status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", "2000 bytes is over the limit of 1000"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + b"a" * 1024, "over the limit of 1000"),
        (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X%d: y\r\n" % i for i in range(MAX_HEADERS + 2)), "header fields"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000, "head longer than"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "Duplicate Content-Length"),
    ],
    ids=["not-http", "bad-header", "bad-length", "bad-chunk", "declared-too-big", "chunks-too-big",
         "too-many-headers", "head-too-long", "two-lengths"],
)
def test_reader_refuses_broken_or_oversized_replies(data, match):
    """Each broken or oversized reply is a ProtocolError saying what was wrong, raised before it is buffered."""
    with pytest.raises(ProtocolError, match=match):
        read([data])


def test_request_head_is_one_buffer_with_the_length():
    """The request is the constant head, the body length and the body; IPv6 hosts are bracketed."""
    head = RequestHead("::1", 8080, "/RPC2", "text/xml", "test", credentials=("ann", "pw"))
    assert head.request(b"abc") == (b"POST /RPC2 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Type: text/xml\r\n"
                                     b"User-Agent: test\r\nAuthorization: Basic YW5uOnB3\r\n"
                                     b"Content-Length: 3\r\n\r\nabc")
    with pytest.raises(ValueError, match="one line"):
        RequestHead("h", None, "/", "text/xml", "t", headers=[("X-Bad", "a\r\nInjected: 1")])


# -- URLs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, match",
    [
        ("htp://localhost/RPC2", "must be http://host:port/path"),
        ("http:///RPC2", "no host"),
        ("http://localhost:99999/RPC2", "bad port"),
        ("http://localhost:0/RPC2", "bad port 0"),
        ("http://localhost:eighty/RPC2", "bad port"),
        ("", "must be http://"),
        (None, "must be http://"),
    ],
)
def test_parse_url_refuses_malformed_urls(url, match):
    """A malformed URL is a ConfigurationError naming the property and the value."""
    with pytest.raises(ConfigurationError, match=match) as info:
        parse_url(url, "service_url")
    assert str(info.value).startswith("service_url")


def test_parse_url_takes_credentials_and_default_ports():
    """User and password come out unquoted; the port defaults by scheme."""
    parsed = parse_url("https://ann:p%40ss@example.com/svc?x=1")
    assert (parsed.host, parsed.effective_port, parsed.path) == ("example.com", 443, "/svc?x=1")
    assert (parsed.username, parsed.password) == ("ann", "p@ss")


# -- the failure mapping ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "exc, stage, error, match",
    [
        (ConnectionRefusedError(111, "Connection refused"), Stage.CONNECT, ConnectFailedError,
         "cannot connect: .*refused; add\\(\\) was not sent"),
        (TimeoutError("timed out"), Stage.CONNECT, ConnectFailedError, "cannot connect: timed out after 2s"),
        (BrokenPipeError(32, "Broken pipe"), Stage.SEND, ConnectFailedError, "sending add\\(\\) failed.*not delivered"),
        (TimeoutError("timed out"), Stage.REPLY, CallTimeoutError, "no reply to add\\(\\) within 2s; it may have run"),
        (ConnectionResetError(104, "reset"), Stage.REPLY, ConnectionLostError, "waiting for the reply to add\\(\\)"),
    ],
)
def test_failures_map_by_stage(exc, stage, error, match):
    """Before the request went out in full: ConnectFailedError; after: ConnectionLostError or
    CallTimeoutError; every message names the URL and the method."""
    mapped = failures.for_exception(exc, url=URL, method="add", stage=stage, timeout=2.0)
    assert type(mapped) is error and str(mapped).startswith(URL)
    with pytest.raises(error, match=match):
        raise mapped


def test_certificate_refusal_is_connect_failed_at_any_stage():
    """A refusal alert, even on the first read after the request was written (TLS 1.3), says the call did not run."""
    alert = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")
    alert.reason = "TLSV13_ALERT_CERTIFICATE_REQUIRED"
    for stage in Stage:
        mapped = failures.for_exception(alert, url=URL, method="add", stage=stage)
        assert type(mapped) is ConnectFailedError and tls.CLIENT_CERTIFICATE_REFUSED in str(mapped)


def test_http_status_maps_refusal_and_errors():
    """A 403 with the refusal header is ConnectFailedError; any other error status a RemoteFault with the code."""
    refused = failures.http_status(URL, "add", read([b"HTTP/1.1 403 Forbidden\r\n%s: client-certificate\r\n"
                                                     b"Content-Length: 2\r\n\r\nno" % tls.REFUSED_HEADER.encode()]))
    assert isinstance(refused, ConnectFailedError) and tls.CLIENT_CERTIFICATE_REFUSED in str(refused)
    plain = failures.http_status(URL, "add", read([b"HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\ngo away"]))
    assert isinstance(plain, RemoteFault) and plain.code == 403 and "HTTP 403 Forbidden calling add(): go away" in str(plain)


def test_closed_by_peer_sees_a_close_and_not_an_idle_connection():
    """The stale check is false on an idle open connection and true once the peer closed it."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        try:
            check = failures.closed_by_peer(client)
            assert not check()
            server.close()
            client.settimeout(5)
            _wait_until(check)
        finally:
            client.close()
            server.close()


def _wait_until(predicate) -> None:
    import time

    deadline = time.monotonic() + 5
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


# -- the connection against real peers -------------------------------------------------------------
def endpoint(url: str, **kwargs) -> HTTPEndpoint:
    return HTTPEndpoint(parse_url(url), content_type="text/plain", user_agent="test", **kwargs)


class BlockingAsyncConnection:
    """An :class:`AsyncHTTPConnection` driven from blocking test code on its own loop."""

    def __init__(self, endpoint: HTTPEndpoint) -> None:
        self.conn = AsyncHTTPConnection(endpoint)
        self.loop = asyncio.new_event_loop()

    @property
    def connected(self) -> bool:
        return self.conn.connected

    def exchange(self, body: bytes, method: str | None = None):
        return self.loop.run_until_complete(self.conn.exchange(body, method))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.conn.close()
        self.loop.run_until_complete(asyncio.sleep(0))  # the transport closes on its loop
        self.loop.close()


@pytest.fixture(params=["sync", "async"])
def connection(request):
    """Makes a connection to an endpoint: the blocking one, then the asyncio one."""
    return HTTPConnection if request.param == "sync" else BlockingAsyncConnection


def test_connection_keeps_alive_and_replaces_a_connection_the_server_closed():
    """Calls share one connection; after the server closes it while idle, the next call reconnects first."""
    with HTTPServer("127.0.0.1", 0, idle_timeout=0.2) as server:
        server.mount("/echo", lambda request: Response(200, request.body))
        with HTTPConnection(endpoint(server.url("/echo"), timeout=5)) as conn:
            assert conn.exchange(b"one").body == b"one"
            first = conn.sock
            assert conn.exchange(b"two").body == b"two" and conn.sock is first
            _wait_until(failures.closed_by_peer(first))  # the server's idle timeout closed it
            assert conn.exchange(b"three").body == b"three"
            assert conn.sock is not first and first.fileno() == -1


def test_connection_limits_the_reply_size(connection):
    """A reply over max_reply_size is a ProtocolError naming the URL; the next call uses a new connection."""
    with HTTPServer("127.0.0.1", 0) as server:
        server.mount("/big", lambda request: Response(200, b"x" * int(request.body)))
        with connection(endpoint(server.url("/big"), timeout=5, max_reply_size=1000)) as conn:
            with pytest.raises(ProtocolError, match=f"{server.url('/big')}: bad reply to get\\(\\).*limit of 1000"):
                conn.exchange(b"5000", "get")
            assert not conn.connected
            assert conn.exchange(b"10").body == b"x" * 10


class RawPeer:
    """Accepts connections and hands each to ``behave(sock)`` in a thread."""

    def __init__(self, behave) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.behave = behave
        self.thread = threading.Thread(target=self._serve, name="raw-peer")
        self.thread.start()

    def _serve(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        with sock:
            self.behave(sock)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_request_arrives_in_one_segment_with_nodelay():
    """The whole request (head and body) is one write on a TCP_NODELAY socket."""
    seen: list[bytes] = []

    def behave(sock: socket.socket) -> None:
        seen.append(_read_request(sock))
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    peer = RawPeer(behave)
    try:
        with HTTPConnection(endpoint(f"http://127.0.0.1:{peer.port}/p", timeout=5)) as conn:
            assert conn.exchange(b"body").body == b"ok"
            assert conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        peer.close()
    assert seen[0].startswith(b"POST /p HTTP/1.1\r\nHost: 127.0.0.1:") and seen[0].endswith(b"\r\n\r\nbody")


def test_silent_server_is_a_call_timeout_and_a_closed_one_is_connection_lost(connection):
    """No reply within the timeout is CallTimeoutError; a close without reply ConnectionLostError."""
    release = threading.Event()

    def silent(sock: socket.socket) -> None:
        _read_request(sock)
        release.wait(10)

    peer = RawPeer(silent)
    try:
        with connection(endpoint(f"http://127.0.0.1:{peer.port}/p", timeout=0.2)) as conn:
            with pytest.raises(CallTimeoutError, match="no reply to ping\\(\\) within 0.2s"):
                conn.exchange(b"x", "ping")
    finally:
        release.set()
        peer.close()
    peer = RawPeer(lambda sock: _read_request(sock))
    try:
        with connection(endpoint(f"http://127.0.0.1:{peer.port}/p", timeout=5)) as conn:
            with pytest.raises(ConnectionLostError, match="without replying to ping\\(\\); it may have run"):
                conn.exchange(b"x", "ping")
    finally:
        peer.close()


def test_nothing_listening_is_connect_failed(connection):
    """A refused connection is ConnectFailedError naming URL and method."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with connection(endpoint(f"http://127.0.0.1:{port}/p", timeout=5)) as conn:
        with pytest.raises(ConnectFailedError, match=f"127.0.0.1:{port}/p: cannot connect: .*ping\\(\\) was not sent"):
            conn.exchange(b"x", "ping")


def test_async_connection_replaces_a_connection_the_server_closed_while_idle():
    """A kept asyncio connection the server closed while idle is replaced before the next call is written."""
    with HTTPServer("127.0.0.1", 0, idle_timeout=0.2) as server:
        server.mount("/echo", lambda request: Response(200, request.body))
        with BlockingAsyncConnection(endpoint(server.url("/echo"), timeout=5)) as blocking:
            assert blocking.exchange(b"one").body == b"one"
            first = blocking.conn._protocol
            assert blocking.exchange(b"two").body == b"two" and blocking.conn._protocol is first
            blocking.loop.run_until_complete(asyncio.sleep(0.5))  # the server's idle timeout closes it
            assert not blocking.conn.usable()
            assert blocking.exchange(b"three").body == b"three"
            assert blocking.conn._protocol is not first
