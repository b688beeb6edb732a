"""The ASGI adapter (ASGI 3, ``http`` and ``lifespan`` scopes): turns a request's
scope and body messages into the :class:`Request` the exporters' handlers take, and
their :class:`Response` into ``http.response.start``/``body`` messages.

A handler (decoding, encoding, a service's plain methods) blocks, so it runs on the
loop's default thread pool and never stalls the event loop; a service's ``async
def`` methods are awaited on the server's own loop, holding no thread
(:func:`springpython.remoting.invocation.run_steps_async`). The context starts at lifespan
startup (or on the first request, for a server without lifespan) and shuts down at
lifespan shutdown; both run off the loop too. A body is read only for a mounted path,
and never past the exporter's ``max_body_size`` (413)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from ..remoting.http import Response
from . import _site
from ._site import Mount, Site

__all__ = ["ASGIApp"]

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class ASGIApp:
    """An ASGI application serving every HTTP exporter of a context at its ``path``.
    Use :func:`springpython.hosting.asgi_app` to make one."""

    def __init__(self, site: Site) -> None:
        self.site = site

    @property
    def context(self) -> Any:
        """The running :class:`~springpython.context.ApplicationContext` (started on first use)."""
        return self.site.context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "http":
            response = await self._respond(scope, receive)
            if response is not None:
                await _send(send, response, scope.get("method") == "HEAD")
        else:  # a WebSocket: nothing here speaks it
            log.debug("%s: refused a %s connection", self.site.server, kind)
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if not await self._step(self.site.start, "start", "lifespan.startup", send):
                    return
            elif message["type"] == "lifespan.shutdown":
                await self._step(self.site.close, "shut down", "lifespan.shutdown", send)
                return

    async def _step(self, work: Callable[[], None], what: str, event: str, send: Send) -> bool:
        """Run one lifespan step off the loop and report it; whether it succeeded."""
        try:
            await asyncio.to_thread(work)
        except Exception as exc:
            log.error("%s: the application context failed to %s", self.site.server, what, exc_info=True)
            await send({"type": f"{event}.failed", "message": _site.one_line(exc)})
            return False
        await send({"type": f"{event}.complete"})
        return True

    async def _respond(self, scope: Scope, receive: Receive) -> Response | None:
        """The answer, or ``None`` when the client left before its body was complete."""
        path = scope.get("path") or "/"
        try:
            mount = self.site.route(path) if self.site.started else await asyncio.to_thread(self.site.route, path)
        except Exception:
            log.error("%s: the application context failed to start", self.site.server, exc_info=True)
            return _site.start_failed()
        if mount is None:
            return _site.not_found(path)
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            length = _site.parse_length(headers.get("content-length"))
        except ValueError as exc:
            return _site.bad_request(str(exc))
        if length is not None and length > mount.max_body_size:
            return _site.too_large(length, mount.max_body_size)
        body = await _read_body(receive, mount)
        if body is _DISCONNECTED:
            log.debug("%s: the client left before sending its whole request", self.site.server)
            return None
        if body is None:
            return _site.too_large(None, mount.max_body_size)
        client = scope.get("client")
        request = _site.request(scope.get("method", "GET"), path, scope.get("query_string", b"").decode("latin-1"),
                                f"HTTP/{scope.get('http_version', '1.1')}", headers, body,
                                tuple(client) if client else None)
        if getattr(mount.handler, "any_async", False):
            return await self.site.answer_async(mount, request)
        return await asyncio.to_thread(self.site.answer, mount, request)

    def __repr__(self) -> str:
        return f"<ASGIApp {self.site!r}>"


# What _read_body returns when the client disconnects mid-body: the call never runs.
_DISCONNECTED = b"<disconnected>"


async def _read_body(receive: Receive, mount: Mount) -> bytes | None:
    """The whole body, ``None`` once it passes the mount's limit, or
    :data:`_DISCONNECTED` (compared by identity) if the client left first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return _DISCONNECTED
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > mount.max_body_size:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Send, response: Response, head: bool) -> None:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in _site.response_headers(response)]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})
