"""The client's HTTP/1.1 messages as bytes: the request it sends (:class:`RequestHead`)
and the reply it reads (:class:`ResponseReader`). No sockets here; the connection
that owns one is :mod:`springpython.remoting.http_client`.

Why httptools parses replies (decided by measurement on the benchmark machine: one
~170-byte ``200`` reply with a 5-byte body, parsed in memory, best of 5 x 20,000,
ranges over runs on the shared machine):

==============================  ============  ===========================================
parser                          per reply     note
==============================  ============  ===========================================
httptools 0.6 (llhttp), bare    0.7-1.2 µs    kept by the uvicorn project; C
minimal split on CRLF           1.3-3.7 µs    no checks at all: a floor for own code
h11 0.16                        25-47 µs      one request/response cycle
http.client                     17-40 µs      ``HTTPResponse.begin()`` + ``read()``
:class:`ResponseReader`         2.7 µs        httptools + our limits, as the client uses it
old Hessian client parser       3.3 µs        our own, ``readline`` over a buffered reader
==============================  ============  ===========================================

A short Hessian call over kept-alive HTTP takes 40-60 µs in all (17,000-23,000
calls/s in ``python3 -m benchmarks hessian``), so h11 or http.client would cost a
third to a half of the call rate; httptools is both faster than our own parser was and
a kept library, so it replaced it (and ``http.client`` under XML-RPC). The request is
written here (a constant head computed once per URL, then the length and the body):
nothing to parse, nothing to gain from a library.

Rules of this file:

* A reply is complete when its framing says so (``Content-Length``, chunked) or, when
  it has neither, at the end of the stream (:meth:`ResponseReader.eof`).
* Interim ``1xx`` replies are skipped; bytes after the final reply make the
  connection unusable (:attr:`Response.keep_alive` is false), never a second reply.
* Limits are checked while bytes arrive: a header block over
  :data:`MAX_HEADER_BYTES` or :data:`MAX_HEADERS` fields, or a body over the reader's
  ``max_body``, is a :class:`~springpython.errors.ProtocolError` before it is buffered.
* Every error raised is a ``ProtocolError`` that says what was wrong, without the
  URL: the connection, which knows it, adds it."""

from __future__ import annotations

import base64
from typing import Mapping

import httptools

from ..errors import ProtocolError

__all__ = ["RequestHead", "Response", "ResponseReader", "MAX_HEADER_BYTES", "MAX_HEADERS"]

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
_NO_BODY = (204, 304)
_SCAN_LIMIT = 8


class RequestHead:
    """The constant part of every POST a client sends to one URL; :meth:`request`
    adds the length and the body, so a whole request is one ``bytes`` for one
    ``sendall``."""

    __slots__ = ("_head", "_prefix")

    def __init__(
        self,
        host: str,
        port: int | None,
        path: str,
        content_type: str,
        user_agent: str,
        *,
        credentials: tuple[str, str] | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] = (),  # type: ignore[assignment]
    ) -> None:
        host_header = f"[{host}]" if ":" in host else host
        if port is not None:
            host_header += f":{port}"
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: {host_header}",
            f"Content-Type: {content_type}",
            f"User-Agent: {user_agent}",
        ]
        if credentials is not None:
            token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode("utf-8")).decode("ascii")
            lines.append(f"Authorization: Basic {token}")
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value or ":" in name:
                raise ValueError(f"HTTP header {name!r}: {value!r} must be one line without ':' in the name")
            lines.append(f"{name}: {value}")
        self._head = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._prefix = self._head + b"Content-Length: "

    def request(self, body: bytes, headers: bytes = b"") -> bytes:
        """The whole request carrying ``body``; ``headers``: more header lines for this
        request only, each ending in CRLF (the trace context)."""
        if headers:
            return self._head + headers + b"Content-Length: %d\r\n\r\n" % len(body) + body
        return self._prefix + b"%d\r\n\r\n" % len(body) + body


class Response:
    """A complete reply. ``headers`` has lower-case names, repeated headers joined with
    ``", "`` (decoded on first use). ``keep_alive``: the connection may carry the next
    request."""

    __slots__ = ("status", "reason", "version", "body", "keep_alive", "_raw", "_headers")

    def __init__(self, status: int, reason: str, version: str, raw_headers: list[tuple[bytes, bytes]],
                 body: bytes, keep_alive: bool) -> None:
        self.status = status
        self.reason = reason
        self.version = version
        self.body = body
        self.keep_alive = keep_alive
        self._raw = raw_headers
        self._headers: dict[str, str] | None = None

    @property
    def headers(self) -> Mapping[str, str]:
        headers = self._headers
        if headers is None:
            headers = self._headers = _decode_headers(self._raw)
        return headers

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default``."""
        if self._headers is None and len(self._raw) <= _SCAN_LIMIT:  # cheaper than decoding them all
            wanted = name.lower().encode("latin-1")
            found = [value.decode("latin-1").strip() for key, value in self._raw if key.lower() == wanted]
            return ", ".join(found) if found else default
        return self.headers.get(name.lower(), default)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} {len(self.body)} bytes keep_alive={self.keep_alive}>"


def _decode_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1").strip()
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class _TooLarge(Exception):
    """Raised inside a parser callback; becomes a ProtocolError in :meth:`ResponseReader.feed`."""


class ResponseReader:
    """Reads the replies on one connection, one at a time: :meth:`start` before each
    reply, then :meth:`feed` the bytes received (and :meth:`eof` when the peer closed)
    until one of them returns true, then take :meth:`response`. After an error or an
    incomplete reply the connection is done for, and so is its reader."""

    __slots__ = (
        "_parser", "_max_body", "_reason", "_raw", "_parts", "_size", "_head_size", "_framed",
        "_head_done", "_status", "_keep_alive", "_complete", "_extra", "received",
    )

    def __init__(self, max_body: int) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._max_body = max_body
        self.start()

    def start(self) -> None:
        """Get ready for the next reply."""
        self._reason = b""
        self._raw: list[tuple[bytes, bytes]] = []
        self._parts: list[bytes] = []
        self._size = 0
        self._head_size = 0
        self._framed = False
        self._head_done = False
        self._status = 0
        self._keep_alive = False
        self._complete = False
        self._extra = False
        #: Bytes fed for this reply so far (zero: the peer sent nothing at all).
        self.received = 0

    # -- httptools callbacks -------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._complete:
            self._extra = True  # more bytes after the reply: never read as a second one

    def on_status(self, reason: bytes) -> None:
        if not self._complete:
            self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._complete:
            return
        raw = self._raw
        raw.append((name, value))
        if len(raw) > MAX_HEADERS:
            raise _TooLarge(f"more than {MAX_HEADERS} header fields")
        key = name.lower()
        if key == b"content-length":
            self._framed = True
            text = value.strip()
            if text.isdigit() and int(text) > self._max_body:
                raise _TooLarge(f"a reply of {text.decode()} bytes is over the limit of {self._max_body}")
        elif key == b"transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        if self._complete:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim reply: the real one follows
            self._reason = b""
            self._raw = []
            self._head_size = 0
            return
        self._head_done = True
        self._status = status
        if status in _NO_BODY:
            self._framed = True

    def on_body(self, chunk: bytes) -> None:
        if self._extra:
            return
        self._size += len(chunk)
        if self._size > self._max_body:
            raise _TooLarge(f"a reply over the limit of {self._max_body} bytes")
        self._parts.append(chunk)

    def on_message_complete(self) -> None:
        if self._head_done and not self._complete:
            self._complete = True
            self._keep_alive = self._parser.should_keep_alive()

    # -- feeding ---------------------------------------------------------------------
    def feed(self, data: bytes | memoryview) -> bool:
        """Parse ``data``; true once the reply is complete."""
        self.received += len(data)
        if not self._head_done:
            self._head_size += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            cause = exc.__context__
            if isinstance(cause, _TooLarge):
                raise ProtocolError(str(cause)) from None
            raise ProtocolError(f"malformed HTTP reply: {exc}") from exc
        except httptools.HttpParserError as exc:
            if self._complete:
                self._extra = True  # garbage after a complete reply
                return True
            if self._head_done:
                where = "reply body"
            else:
                where = "status line" if self._parser.get_status_code() == 0 else "header line"
            raise ProtocolError(f"malformed HTTP {where}: {exc}") from None
        if self._complete:
            return True
        if not self._head_done and self._head_size > MAX_HEADER_BYTES:
            raise ProtocolError(f"an HTTP reply head longer than {MAX_HEADER_BYTES} bytes")
        return False

    def eof(self) -> bool:
        """The peer closed the connection: true if that ends the reply (a reply framed
        by the end of the stream), false if the reply is incomplete."""
        if self._complete:
            return True
        if self._head_done and not self._framed:
            self._complete = True
            self._keep_alive = False
            return True
        return False

    def header(self, name: bytes) -> bytes | None:
        """A header of the reply read so far (lower-case ``name``)."""
        for key, value in self._raw:
            if key.lower() == name:
                return value.strip()
        return None

    @property
    def head_done(self) -> bool:
        """Whether the status line and headers have arrived."""
        return self._head_done

    @property
    def body_size(self) -> int:
        """Body bytes read so far."""
        return self._size

    def response(self) -> Response:
        """The complete reply (call once :meth:`feed` or :meth:`eof` returned true)."""
        if not self._complete:
            raise RuntimeError("the reply is not complete")
        parts = self._parts
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        return Response(self._status, self._reason.decode("latin-1").strip(), self._parser.get_http_version(),
                        self._raw, body, self._keep_alive and not self._extra)
