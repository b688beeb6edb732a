"""A misbehaving server: the client turns every broken reply into a clean
CommunicationError (ProtocolError for garbage, ConnectionLostError for a cut
connection) and recovers on its next call."""

from __future__ import annotations

import socket
import threading

import pytest

from springpython.errors import ConnectionLostError, ProtocolError, RemoteFault
from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.hessian._codec import encode_reply

GOOD = encode_reply(42, 2)


def _ok(body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


class CannedServer:
    """A raw TCP server answering each request with the next canned bytes, then closing
    the connection when the canned answer says so (None: close without answering).
    A connection the client stops writing to is closed, or with ``hold=True`` left open."""

    def __init__(self, answers: list[tuple[bytes | None, bool]], hold: bool = False) -> None:
        self.answers = list(answers)
        self.hold = hold
        self.held: list[socket.socket] = []
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, name="canned-server")
        self.thread.start()

    def _read_request(self, conn: socket.socket, buffer: bytearray) -> bool:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += conn.recv(65536)
        buffer[:] = rest[length:]
        return True

    def _serve(self) -> None:
        while self.answers:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            buffer = bytearray()
            while self.answers and self._read_request(conn, buffer):
                answer, close = self.answers.pop(0)
                if answer is not None:
                    conn.sendall(answer)
                if close or answer is None:
                    break
            else:
                if self.hold:
                    self.held.append(conn)
                    continue
            conn.close()

    def close(self) -> None:
        self.answers.clear()
        self.listener.close()
        self.thread.join(10)
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize(
    "answer, close, error, match",
    [
        (None, True, ConnectionLostError, "without replying"),
        (b"SMTP ready\r\n\r\n", True, ProtocolError, "status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", True, ProtocolError, "header line"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", True, ConnectionLostError, "5 of 100"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", True, ProtocolError, "Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", True, ProtocolError, "chunk size"),
        (_ok(b"<html>not hessian</html>"), False, ProtocolError, "not a Hessian reply|Hessian"),
        (_ok(GOOD[:-1] + b"\x40"), False, ProtocolError, "unknown Hessian 2 type"),
        (b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nboom", False, RemoteFault, "HTTP 500 Oops"),
    ],
    ids=["cut", "not-http", "bad-header", "short-body", "bad-length", "bad-chunk", "html", "bad-hessian", "http-500"],
)
def test_broken_replies_are_clean_errors(answer, close, error, match):
    """Each broken reply raises the matching error; the next call (on a new connection if needed) succeeds."""
    server = CannedServer([(answer, close), (_ok(GOOD), False)])
    factory = HessianProxyFactory(service_url=f"http://127.0.0.1:{server.port}/", reconnect=False)
    try:
        with pytest.raises(error, match=match):
            factory.answer()
        assert factory.answer() == 42
    finally:
        factory.destroy()
        server.close()


def test_chunked_reply_with_extensions_and_trailers():
    """A chunked reply with chunk extensions and a trailer is read whole."""
    body = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x;ext=1\r\n" % 3 + GOOD[:3] + b"\r\n"
            + b"%x\r\n" % (len(GOOD) - 3) + GOOD[3:] + b"\r\n0\r\nX-Trailer: yes\r\n\r\n")
    server = CannedServer([(body, False), (_ok(GOOD), False)])
    factory = HessianProxyFactory(service_url=f"http://127.0.0.1:{server.port}/")
    try:
        assert factory.answer() == 42
        assert factory.answer() == 42
        assert factory.connections == 1
    finally:
        factory.destroy()
        server.close()


def test_a_call_that_could_not_be_written_goes_out_once_on_a_new_connection():
    """The kept connection fails while a call is written (the server never got it):
    the proxy sends it on a new connection, and it runs there once."""
    server = CannedServer([(_ok(GOOD), False), (_ok(GOOD), False)], hold=True)
    factory = HessianProxyFactory(service_url=f"http://127.0.0.1:{server.port}/")
    try:
        assert factory.answer() == 42
        kept = factory._connections()[0].conn
        kept.sock.shutdown(socket.SHUT_WR)  # writing on the kept connection now fails
        assert factory.answer() == 42
        assert server.connections == 2 and server.answers == []
    finally:
        factory.destroy()
        server.close()
