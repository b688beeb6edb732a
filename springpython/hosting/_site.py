"""The hosted side of an application context: its HTTP exporters mounted by path,
for the WSGI and ASGI adapters, and the context's lifetime in one server process.

Rules of this file:

* The context is created at most once per :class:`Site`, by :meth:`Site.start`
  (the server's worker hook, the ASGI lifespan, or the first request), never at
  construction: a server that imports the application before forking its workers
  (gunicorn ``--preload``) must not start services in the parent.
* A hosted HTTP exporter binds no port: a post-processor created before every other
  object hands each one this site (:meth:`HTTPServiceExporter.host_on`), and its
  ``after_properties_set`` mounts the exporter's own request handler here. Other
  exporters (Pyro) start as they would in any process, once per worker.
* The TLS of a hosted exporter is the server's or the proxy's: an exporter's
  ``certfile`` is not used (WARNING) unless the server was set up with the
  exporters' own TLS settings (``server_tls``) or serves them itself (``embedded``:
  springpython's gunicorn worker, behind ``springpython run --workers``, runs the
  embedded HTTP server in each worker process, so every exporter must then have the
  same TLS and size settings, as exporters sharing a port embedded must).
  ``verify_fields`` needs the client certificate in the application: it refuses to
  start unless the server hands it over (``peer_certificates``: gunicorn's sync and
  gthread workers under TLS, through ``environ["gunicorn.socket"]``) or checks it
  itself (``embedded``); no ASGI server we know does.
* Everything the adapters answer without a handler (403, 404, 413, 500) is built here,
  so WSGI and ASGI answer alike, and as the embedded server does."""

from __future__ import annotations

import asyncio
import atexit
import functools
import http
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, Union

from ..config import Config, ObjectDefinition, XMLConfig
from ..context import ApplicationContext, ObjectPostProcessor
from ..context.container import validate_configs
from ..errors import ConfigurationError
from ..remoting.exporter import ServiceExporter
from ..remoting.http import Handler, Request, Response
from ..remoting.http_exporter import HTTPServiceExporter, HTTPSettings
from ..remoting.invocation import run_steps_async
from ..remoting.tls import CLIENT_CERTIFICATE_REFUSED, REFUSED_HEADER, ServerTLS

__all__ = ["Site", "Mount", "ConfigSource"]

log = logging.getLogger(__name__)

#: What ``wsgi_app``/``asgi_app`` accept: XML files, or configurations already made.
ConfigSource = Union[str, "os.PathLike[str]", Config]

_PROCESSOR_ID = "springpython.hosting.mount-exporters"


@dataclass(frozen=True)
class Mount:
    """One hosted exporter: its handler, its settings (the largest request body it
    takes, its TLS), its name for messages and its path."""

    handler: Handler
    settings: HTTPSettings
    owner: str
    path: str = "/"

    @property
    def max_body_size(self) -> int:
        return self.settings.max_body_size

    @property
    def verifier(self) -> ServerTLS | None:
        """The TLS settings whose ``verify_fields`` each request's client certificate
        must pass, or ``None`` when there are none."""
        tls = self.settings.tls
        return tls if tls is not None and tls.verify_fields else None


class Site:
    """The HTTP exporters of one context, served through ``server`` (a WSGI or ASGI
    application, named in messages); owns the context in this process.

    ``http_only`` refuses every other exporter (``springpython run --workers``, where
    a Pyro exporter would start once per worker on the same port). ``server_tls`` is
    the TLS the server was set up with from the exporters' own settings (each TLS
    exporter must then have exactly those); ``peer_certificates`` says the adapter
    can read each client's certificate, so ``verify_fields`` is checked per request.
    ``embedded`` says the server serves the mounted handlers on springpython's own
    HTTP server with the exporters' own settings (which must then agree).
    These may be set until the context starts."""

    def __init__(self, sources: Sequence[ConfigSource], server: str, *, http_only: bool = False,
                 server_tls: ServerTLS | None = None, peer_certificates: bool = False,
                 embedded: bool = False) -> None:
        if not sources:
            raise ConfigurationError(f"{server}: no configuration given (expected XML files or Config objects)")
        self.server = server
        self.http_only = http_only
        self.server_tls = server_tls
        self.peer_certificates = peer_certificates
        self.embedded = embedded
        self.configs = [_config(source) for source in sources]
        errors = validate_configs(self.configs).errors  # what 'springpython validate' checks
        if errors:
            raise errors[0]
        self._lock = threading.Lock()  # guards the mounts
        self._start_lock = threading.Lock()  # one start at a time (exporters mount while it is held)
        self._context: ApplicationContext | None = None
        self._mounts: dict[str, Mount] = {}
        self._exporters: list[HTTPServiceExporter] = []
        self._closed = False
        self._failure: BaseException | None = None

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        """Create the context (once; later calls return at once). Raises what the
        context's start raised, every time it is asked again."""
        with self._start_lock:
            if self._closed:
                raise ConfigurationError(f"{self.server} is closed")
            if self._context is not None:
                return
            if self._failure is not None:
                raise self._failure
            log.debug("%s: starting the context in process %s", self.server, os.getpid())
            processor = ObjectDefinition(id=_PROCESSOR_ID, factory=functools.partial(_processor, self))
            try:
                self._context = ApplicationContext([*self.configs, _Definitions([processor])])
            except BaseException as exc:
                self._failure = exc
                raise
            atexit.register(self.close)  # after the exporters' own exit hooks: runs before them
            if not self._mounts:
                log.warning("%s: the context has no HTTP exporter: every request gets 404", self.server)

    def close(self) -> None:
        """Shut the context down (destroy hooks run); idempotent."""
        with self._start_lock:
            context, self._context = self._context, None
            self._closed = True
        atexit.unregister(self.close)
        if context is not None:
            log.debug("%s: shutting the context down in process %s", self.server, os.getpid())
            context.shutdown()

    @property
    def started(self) -> bool:
        """Whether the context is running."""
        return self._context is not None

    @property
    def context(self) -> ApplicationContext:
        """The running context (started on first use)."""
        self.start()
        assert self._context is not None
        return self._context

    @property
    def mounts(self) -> list[Mount]:
        """The mounted exporters' handlers and settings."""
        with self._lock:
            return list(self._mounts.values())

    @property
    def exporters(self) -> list[HTTPServiceExporter]:
        """The hosted exporters, in the order they were mounted."""
        return list(self._exporters)

    # -- the Host protocol of http_exporter -------------------------------------
    def mount(self, exporter: HTTPServiceExporter, handler: Handler, settings: HTTPSettings) -> None:
        """Serve ``handler`` at ``exporter.path``; called by the exporter's start."""
        owner = exporter.service_name or type(exporter.service).__name__
        where = f"{type(exporter).__name__} {owner!r} at {exporter.path}"
        if self.embedded:
            with self._lock:
                first = next(iter(self._mounts.values()), None)
            if first is not None and first.settings != settings:
                raise ConfigurationError(
                    f"{where}: its settings ({settings}) differ from those of {first.owner!r} ({first.settings}); "
                    f"{self.server} serves every HTTP exporter on one socket: give them the same TLS and size settings"
                )
        elif settings.tls is not None and settings.tls.verify_fields and not self.peer_certificates:
            raise ConfigurationError(
                f"{where}: verify_fields {dict(settings.tls.verify_fields)!r} cannot be checked under "
                f"{self.server}: the server does not hand the client certificate to the application; "
                "serve it with 'springpython run --workers' (gunicorn with the exporter's own TLS), check "
                "the certificate where TLS ends (the proxy), or serve this exporter embedded"
            )
        if self.server_tls is not None:
            if settings.tls != self.server_tls:
                raise ConfigurationError(
                    f"{where}: its TLS settings ({settings.tls or 'plain HTTP'}) differ from those the server "
                    f"was set up with ({self.server_tls}); give every HTTP exporter the same TLS settings"
                )
        elif settings.tls is not None and not self.embedded:
            log.warning("%s: certfile is not used under %s: TLS is set up by the server (gunicorn "
                        "--certfile, uvicorn --ssl-certfile) or by the proxy in front of it", where, self.server)
        with self._lock:
            if exporter.path in self._mounts:
                raise ConfigurationError(
                    f"{where}: path {exporter.path!r} is already served by {self._mounts[exporter.path].owner!r}; "
                    "give each HTTP exporter its own path"
                )
            self._mounts[exporter.path] = Mount(handler, settings, owner, exporter.path)
            self._exporters.append(exporter)

    def unmount(self, exporter: HTTPServiceExporter) -> None:
        """Stop serving ``exporter.path``."""
        with self._lock:
            self._mounts.pop(exporter.path, None)
            if exporter in self._exporters:
                self._exporters.remove(exporter)

    # -- answering ----------------------------------------------------------------
    def route(self, path: str) -> Mount | None:
        """The mount serving ``path`` (the context is started first if it is not yet)."""
        if self._context is None:
            self.start()
        return self._mounts.get(path)

    def answer(self, mount: Mount, request: Request) -> Response:
        """Run the exporter's handler; whatever it raises is a logged 500, as on the
        embedded server."""
        try:
            return mount.handler(request)
        except BaseException:  # a service's SystemExit must not take the worker down either
            return _handler_failed(request)

    async def answer_async(self, mount: Mount, request: Request) -> Response:
        """:meth:`answer` for a handler whose service has ``async def`` methods: its steps
        (decoding, encoding, plain methods) run on the loop's thread pool, so a large
        request never stalls the loop; its coroutines are awaited on the running loop. Whatever it raises is a
        logged 500, as in :meth:`answer`."""
        try:
            return await run_steps_async(mount.handler.steps(request))  # type: ignore[attr-defined]
        except asyncio.CancelledError:  # the server cancelled this request (the client left, or shutdown)
            raise
        except BaseException:  # a service's SystemExit must not take the server down either
            return _handler_failed(request)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._context is not None else "not started")
        return f"<Site {self.server} {sorted(self._mounts)} {state}>"


def _handler_failed(request: Request) -> Response:
    log.error("handler for %s failed on a request from %s", request.path, _peer(request.client_address),
              exc_info=True)
    return Response(500, b"internal server error\n")


def not_found(path: str) -> Response:
    """The answer for a path no exporter serves (the embedded server's words)."""
    return Response(404, f"nothing is mounted at {path}\n".encode())


def too_large(length: int | None, limit: int) -> Response:
    """The answer for a body over ``max_body_size``."""
    size = "more" if length is None else str(length)
    return Response(413, f"413 {phrase(413)}: request body of {size} bytes exceeds the limit of {limit}\n".encode())


def bad_request(message: str) -> Response:
    """The answer for a request the adapter cannot read."""
    return Response(400, f"400 {phrase(400)}: {message}\n".encode())


def refused() -> Response:
    """The answer to a client whose certificate ``verify_fields`` refused (the embedded
    server's: the call did not run; what was expected is never said)."""
    return Response(403, f"{CLIENT_CERTIFICATE_REFUSED}\n".encode(), headers=[(REFUSED_HEADER, "client-certificate")])


def start_failed() -> Response:
    """The answer while the context cannot start (the log says why)."""
    return Response(500, b"the application context failed to start\n")


def phrase(status: int) -> str:
    """The reason phrase of ``status``."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def response_headers(response: Response) -> list[tuple[str, str]]:
    """The headers to send with ``response`` (hop-by-hop ones are the server's)."""
    return [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
            *response.headers]


def parse_length(value: str | None) -> int | None:
    """A Content-Length value, ``None`` when absent; ``ValueError`` when malformed."""
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise ValueError(f"malformed Content-Length {value!r}")
    return int(value)


def request(method: str, path: str, query: str, version: str, headers: Mapping[str, str], body: bytes,
            client: tuple[Any, ...] | None, peer_cert: dict[str, Any] | None = None) -> Request:
    """A :class:`Request` as the embedded server makes it."""
    return Request(method, path, query, version, headers, body, client or ("", 0), peer_cert)


def _peer(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def _config(source: ConfigSource) -> Config:
    if isinstance(source, Config):
        return source
    path = Path(source)
    if not path.is_file():
        raise ConfigurationError(f"no such context file: {path} (expected an XML context file)")
    return XMLConfig(str(path))


class _Definitions(Config):
    """A configuration holding definitions made in code."""

    def __init__(self, definitions: list[ObjectDefinition]) -> None:
        self._definitions = definitions

    def read_object_defs(self) -> list[ObjectDefinition]:
        return list(self._definitions)


class _HostExporters(ObjectPostProcessor):
    """Hands every HTTP exporter the site before it starts (and refuses other
    exporters when the site serves HTTP only)."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def post_process_before_initialization(self, obj: Any, obj_name: str) -> Any:
        if isinstance(obj, HTTPServiceExporter):
            obj.host_on(self.site)
        elif self.site.http_only and isinstance(obj, ServiceExporter):
            raise ConfigurationError(
                f"object {obj_name!r}: {type(obj).__name__} cannot be served by {self.site.server}, which "
                "serves HTTP exporters only (each worker would start it again on the same port); run it "
                "in its own process with 'springpython run'"
            )
        return obj


def _processor(site: Site) -> _HostExporters:
    """The factory of the post-processor (its return annotation makes the context
    create it before every other object)."""
    return _HostExporters(site)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (for lifespan failure messages)."""
    return " ".join(str(exc).split()) or type(exc).__name__
