"""The WSGI adapter (PEP 3333): turns an ``environ`` into the :class:`Request` the
exporters' handlers take, and their :class:`Response` into ``start_response``.

The request body is read only when the path is mounted and its declared length is
within the exporter's ``max_body_size`` (413 otherwise, as the embedded server
answers); a chunked body (no Content-Length) is read up to one byte past the limit.
Under gunicorn with TLS (sync and gthread workers), ``environ["gunicorn.socket"]``
is the client's ``ssl.SSLSocket``: its certificate goes into the :class:`Request`,
and an exporter's ``verify_fields`` is checked before its body is read (403 with
``tls.REFUSED_HEADER`` when refused, as on the embedded server)."""

from __future__ import annotations

import logging
import ssl
from typing import Any, Callable, Iterable

from ..errors import VerificationException
from ..remoting import tls
from ..remoting.http import Request, Response
from . import _site
from ._site import Site

__all__ = ["WSGIApp"]

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

# WSGI environ keys that are headers without the HTTP_ prefix.
_UNPREFIXED = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


class WSGIApp:
    """A WSGI application serving every HTTP exporter of a context at its ``path``.

    The context starts on the first request or on :meth:`start` (a server's
    post-fork hook), and stops on :meth:`close` (a worker-exit hook) or at interpreter
    exit. Use :func:`springpython.hosting.wsgi_app` to make one."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def start(self) -> None:
        """Start the context now (in this worker process), not on the first request."""
        self.site.start()

    def close(self) -> None:
        """Shut the context down; idempotent."""
        self.site.close()

    @property
    def context(self) -> Any:
        """The running :class:`~springpython.context.ApplicationContext` (started on first use)."""
        return self.site.context

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = self._respond(environ)
        status = f"{response.status} {_site.phrase(response.status)}"
        start_response(status, _site.response_headers(response))
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    def _respond(self, environ: dict[str, Any]) -> Response:
        path = environ.get("PATH_INFO") or "/"
        try:
            mount = self.site.route(path)
        except Exception:
            log.error("%s: the application context failed to start", self.site.server, exc_info=True)
            return _site.start_failed()
        if mount is None:
            return _site.not_found(path)
        peer_cert = _peer_certificate(environ)
        verifier = mount.verifier
        if verifier is not None:
            try:
                verifier.verify(peer_cert)
            except VerificationException as exc:
                tls.log_refusal(log, f"{environ.get('REMOTE_ADDR', '')}:{environ.get('REMOTE_PORT', '')}", exc)
                return _site.refused()
        try:
            length = _site.parse_length(environ.get("CONTENT_LENGTH"))
        except ValueError as exc:
            return _site.bad_request(str(exc))
        limit = mount.max_body_size
        if length is not None and length > limit:
            return _site.too_large(length, limit)
        stream = environ["wsgi.input"]
        body = stream.read(length) if length is not None else stream.read(limit + 1)
        if length is None and len(body) > limit:
            return _site.too_large(None, limit)
        if length is not None and len(body) < length:
            return _site.bad_request(f"request body ended after {len(body)} of {length} bytes")
        return self.site.answer(mount, _request(environ, path, bytes(body), peer_cert))

    def __repr__(self) -> str:
        return f"<WSGIApp {self.site!r}>"


def _peer_certificate(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The client's decoded certificate where the server exposes its TLS socket."""
    sock = environ.get("gunicorn.socket")
    if isinstance(sock, ssl.SSLSocket):
        return sock.getpeercert() or None
    return None


def _request(environ: dict[str, Any], path: str, body: bytes, peer_cert: dict[str, Any] | None) -> Request:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
        elif key in _UNPREFIXED and value:
            headers[_UNPREFIXED[key]] = value
    try:
        client: tuple[Any, ...] | None = (environ.get("REMOTE_ADDR", ""), int(environ.get("REMOTE_PORT") or 0))
    except ValueError:
        client = (environ.get("REMOTE_ADDR", ""), 0)
    return _site.request(environ.get("REQUEST_METHOD", "GET"), path, environ.get("QUERY_STRING", ""),
                         environ.get("SERVER_PROTOCOL", "HTTP/1.1"), headers, body, client, peer_cert)
