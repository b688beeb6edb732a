"""Request smuggling shapes against a real server: one 400, a closed connection, no call run."""

from __future__ import annotations

import re
import socket
import threading

import pytest

from springpython.remoting.http import HTTPServer, Request, Response

SMUGGLED = b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"


def chunked(head: bytes, size_line: bytes) -> bytes:
    """A chunked request whose first chunk-size line is ``size_line``, hiding SMUGGLED."""
    return (b"POST /count HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n" + size_line + b"\r\n"
            + SMUGGLED + b"\r\n0\r\n\r\n")


SHAPES = {
    "bare LF inside the head": b"POST /count HTTP/1.1\r\nHost: x\nContent-Length: %d\r\n\r\n" % len(SMUGGLED)
    + SMUGGLED,
    "VT before chunked": chunked(b"Transfer-Encoding: \x0bchunked\r\n", b"%x" % len(SMUGGLED)),
    "chunk size -0": b"POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-0\r\n\r\n" + SMUGGLED,
    "chunk size 0x0": b"POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n" + SMUGGLED,
    "space before the colon": b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length : %d\r\n\r\n" % len(SMUGGLED)
    + SMUGGLED,
    "control character in a value": b"POST /count HTTP/1.1\r\nHost: x\x01\r\nContent-Length: %d\r\n\r\n"
    % len(SMUGGLED) + SMUGGLED,
    "Content-Length and Transfer-Encoding": b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
}


@pytest.fixture
def counted():
    """A server whose /count handler counts its calls."""
    calls = []
    lock = threading.Lock()

    def count(request: Request) -> Response:
        with lock:
            calls.append(request.path)
        return Response(200, b"counted")

    with HTTPServer("127.0.0.1", 0) as srv:
        srv.mount("/count", count)
        yield srv, calls


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes (a timeout fails the test)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


@pytest.mark.parametrize("data", SHAPES.values(), ids=SHAPES.keys())
def test_smuggling_shape_gets_one_400_and_a_closed_connection(counted, data):
    """Exactly one 400 response, then EOF; neither the outer nor the hidden request runs."""
    srv, calls = counted
    reply = exchange(srv.port, data)
    head, sep, body = reply.partition(b"\r\n\r\n")
    assert sep and head.startswith(b"HTTP/1.1 400 "), reply
    assert b"\r\nConnection: close" in head
    length = int(re.search(rb"\r\nContent-Length: (\d+)", head).group(1))
    assert len(body) == length, f"bytes after the one response: {body[length:]!r}"
    assert calls == []
    assert exchange(srv.port, SMUGGLED.replace(b"Host: x", b"Connection: close")).startswith(b"HTTP/1.1 200 ")
    assert calls == ["/count"]  # the handler does count what reaches it
