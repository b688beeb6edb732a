"""The client's HTTP/1.1 messages as bytes: the request it sends (:class:`RequestHead`)
and the reply it reads (:class:`ResponseReader`). No sockets here; the connection
that owns one is :mod:`springpython.remoting.http_client`.

Why httptools parses replies (measured on the benchmark machine, one ~170-byte 200
reply with a 5-byte body, parsed in memory, best of 5 x 20,000):

=====================  ===============  ======================================
parser                 per reply        note
=====================  ===============  ======================================
httptools (llhttp)     0.8-1.2 µs       kept by the uvicorn project; C
own (split on CRLF)    1.7-3.7 µs       what the Hessian client had
h11 0.16               47 µs            one request/response cycle
http.client            40 µs            ``HTTPResponse.begin()`` + ``read()``
=====================  ===============  ======================================

A short Hessian call over kept-alive HTTP takes about 43 µs in all (23,000 calls/s in
``python3 -m benchmarks hessian``), so h11 or http.client would roughly halve the
call rate; httptools is both the fastest and a kept library, so it replaces our own
parser. The request is written here (a constant head computed once per target, then
the length and the body): nothing to parse, nothing to gain from a library.

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
from dataclasses import dataclass
from typing import Mapping

import httptools

from ..errors import ProtocolError

__all__ = ["RequestHead", "Response", "ResponseReader", "MAX_HEADER_BYTES", "MAX_HEADERS"]

MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
_NO_BODY = (204, 304)


class RequestHead:
    """The constant part of every POST a client sends to one URL; :meth:`request`
    adds the length and the body, so a whole request is one ``bytes`` for one
    ``sendall``."""

    __slots__ = ("_prefix",)

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
        self._prefix = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")

    def request(self, body: bytes) -> bytes:
        """The whole request carrying ``body``."""
        return self._prefix + b"%d\r\n\r\n" % len(body) + body


@dataclass(frozen=True, slots=True)
class Response:
    """A complete reply. Header names are lower case; repeated headers are joined
    with ``", "``. ``keep_alive``: the connection may carry the next request."""

    status: int
    reason: str
    version: str
    headers: Mapping[str, str]
    body: bytes
    keep_alive: bool

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name`` (any case), or ``default``."""
        return self.headers.get(name.lower(), default)


class _TooLarge(Exception):
    """Raised inside a parser callback; becomes a ProtocolError in :meth:`ResponseReader.feed`."""


class ResponseReader:
    """Reads one reply from the bytes fed to it (:meth:`feed`, then :meth:`eof` when
    the peer closed). Make a new reader for each reply."""

    __slots__ = (
        "_parser", "_max_body", "_reason", "_headers", "_name", "_parts", "_size", "_head_size",
        "_fields", "_head_done", "_framed", "_status", "_keep_alive", "_complete", "_extra", "received",
    )

    def __init__(self, max_body: int) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._max_body = max_body
        self._reason = b""
        self._headers: dict[str, str] = {}
        self._name = b""
        self._parts: list[bytes] = []
        self._size = 0
        self._head_size = 0
        self._fields = 0
        self._head_done = False
        self._framed = False
        self._status = 0
        self._keep_alive = False
        self._complete = False
        self._extra = False
        #: Bytes fed so far (zero: the peer sent nothing at all).
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
        self._fields += 1
        if self._fields > MAX_HEADERS:
            raise _TooLarge(f"more than {MAX_HEADERS} header fields")
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1").strip()
        if key in self._headers:  # (llhttp itself refuses a repeated Content-Length)
            self._headers[key] = self._headers[key] + ", " + text
        else:
            self._headers[key] = text
        if key == "content-length":
            if text.isdigit() and int(text) > self._max_body:
                raise _TooLarge(f"a reply of {text} bytes is over the limit of {self._max_body}")
            self._framed = True
        elif key == "transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        if self._complete:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim reply: the real one follows
            self._reason = b""
            self._headers = {}
            self._head_size = 0
            self._fields = 0
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

    @property
    def head_done(self) -> bool:
        """Whether the status line and headers have arrived."""
        return self._head_done

    def header(self, name: str) -> str | None:
        """A header of the reply read so far (lower-case ``name``)."""
        return self._headers.get(name)

    @property
    def body_size(self) -> int:
        """Body bytes read so far."""
        return self._size

    def response(self) -> Response:
        """The complete reply (call once :meth:`feed` or :meth:`eof` returned true)."""
        if not self._complete:
            raise RuntimeError("the reply is not complete")
        major_minor = self._parser.get_http_version()
        return Response(
            status=self._status,
            reason=self._reason.decode("latin-1").strip(),
            version=major_minor,
            headers=self._headers,
            body=b"".join(self._parts),
            keep_alive=self._keep_alive and not self._extra,
        )
