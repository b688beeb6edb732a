"""The admin address of ``springpython run --admin [HOST:]PORT``: ``GET /`` is the
live status page (:mod:`springpython.status_page`: exporters, calls per method,
high-availability pools), ``GET /status.json`` its data, ``GET /metrics`` the call
metrics (:mod:`springpython.remoting.call_metrics`) in Prometheus text format.

The metrics go through OpenTelemetry's own Prometheus reader
(``opentelemetry-exporter-prometheus``, with ``prometheus-client`` writing the text),
kept libraries rather than a formatter of ours; they and ``opentelemetry-sdk`` are
the ``admin`` extra. The status page reads its per-method figures from the same
registry, so ``/`` and ``/metrics`` always agree.

Where it listens: loopback (``127.0.0.1``) unless a host is given. On any other
address it shows the service's inner workings to the network, so it serves HTTPS
with the TLS settings exporters take (:class:`~springpython.remoting.tls.ServerTLS`:
``certfile``, ``keyfile``, ``ca_certs`` to require client certificates,
``verify_fields``), and refuses to start without them unless plain HTTP is allowed
by name (``allow_plain_http``, the command's ``--admin-plain-http``). The server
is the one every HTTP exporter runs on (:class:`~springpython.remoting.http.HTTPServer`),
on its own port."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from . import status_page
from .errors import ConfigurationError, MissingDependencyError
from .remoting.http import HTTPServer, Request, Response
from .remoting.tls import ServerTLS

__all__ = [
    "AdminServer",
    "MetricsRegistry",
    "parse_address",
    "is_loopback",
    "loopback_host_header",
    "check_exposure",
    "DEFAULT_HOST",
    "INSTALL_HINT",
]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
INSTALL_HINT = 'pip install "springpython[metrics]"'

Sample = tuple[str, Mapping[str, str], float]


def parse_address(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (``[v6]:PORT``); the host defaults to loopback."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise ConfigurationError(f"--admin must be PORT or HOST:PORT (a port 0-65535), got {text!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) means only this machine: every address
    it resolves to is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).partition("%")[0]).is_loopback for info in infos)


def loopback_host_header(value: str | None, port: int) -> bool:
    """Whether a request's ``Host`` header names this loopback address: ``localhost``
    or a loopback IP literal (``[::1]`` for IPv6), with no port or this ``port``."""
    try:
        parts = urlsplit("//" + (value or "").strip())
        name, given = parts.hostname, parts.port
    except ValueError:
        return False
    if not name or (given is not None and given != port) or parts.path or parts.query or parts.username:
        return False
    name = name.rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, port: int, tls: ServerTLS | None, allow_plain_http: bool) -> None:
    """Refuse plain HTTP on a host that is not loopback unless it is allowed by name
    (a :class:`ConfigurationError` saying how to fix it)."""
    if tls is None and not allow_plain_http and not is_loopback(host):
        raise ConfigurationError(
            f"--admin {host}:{port} is not a loopback address: serve it over TLS (--admin-certfile and "
            "--admin-keyfile, --admin-ca-certs to require client certificates) or allow plain HTTP "
            "there with --admin-plain-http"
        )


class MetricsRegistry:
    """The call metrics as the admin address shows them: a meter provider (installed
    by :meth:`install`) read by a Prometheus reader into its own registry, rendered as
    Prometheus text (:meth:`prometheus`) and read as samples for the status page
    (:meth:`samples`)."""

    def __init__(self, registry: Any, render: Callable[[], tuple[bytes, str]]) -> None:
        self._registry = registry
        self._render = render

    @classmethod
    def install(cls) -> "MetricsRegistry":
        """Install a meter provider whose metrics this registry reads."""
        try:
            from opentelemetry import metrics
            from opentelemetry.exporter.prometheus import PrometheusMetricReader
            from opentelemetry.sdk.metrics import MeterProvider
            from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
        except ImportError as exc:
            raise MissingDependencyError(
                f"--admin needs the OpenTelemetry SDK and Prometheus reader: {INSTALL_HINT}") from exc
        registry = CollectorRegistry()
        metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)]))
        return cls(registry, lambda: (generate_latest(registry), CONTENT_TYPE_LATEST))

    def prometheus(self) -> tuple[bytes, str]:
        """The metrics in Prometheus text format, and its content type."""
        return self._render()

    def samples(self) -> Iterable[Sample]:
        """Every sample of the registry as ``(name, labels, value)``."""
        for family in self._registry.collect():
            for sample in family.samples:
                yield sample.name, sample.labels, float(sample.value)


class AdminServer:
    """Serves the status page, its JSON and ``/metrics`` at ``host:port`` (port 0: a
    free one, read back from :attr:`port`); listening when constructed, stopped by
    :meth:`close` (idempotent), a context manager. :meth:`show` names the exporters
    and pools the page lists.

    ``tls`` (:class:`ServerTLS`) makes it HTTPS (with client certificates checked when
    its ``ca_certs`` and ``verify_fields`` say so). A host that is not loopback needs
    ``tls`` unless ``allow_plain_http`` is true: otherwise a :class:`ConfigurationError`,
    before anything listens."""

    def __init__(self, host: str, port: int, metrics: MetricsRegistry, *, tls: ServerTLS | None = None,
                 allow_plain_http: bool = False, title: str = "springpython") -> None:
        check_exposure(host, port, tls, allow_plain_http)
        self._metrics = metrics
        self._title = title
        self._lock = threading.Lock()
        self._exporters: dict[str, Any] = {}
        self._pools: dict[str, Any] = {}
        self._tls = tls
        self._loopback = is_loopback(host)
        self._http = HTTPServer(
            host, port, logger=log, ssl_context=tls.context() if tls else None,
            verify_peer=(lambda cert, address: tls.verify(cert)) if tls and tls.verify_fields else None,
        )
        self._http.mount("/", self._page)
        self._http.mount(status_page.JSON_PATH, self._json)
        self._http.mount("/metrics", self._prometheus)
        try:
            self._http.start()
        except BaseException:
            self._http.close()
            raise
        log.info("admin address %s", self.url)

    def show(self, exporters: Mapping[str, Any], pools: Mapping[str, Any] = {}) -> None:
        """List these exporters (by id) and high-availability pools on the page."""
        with self._lock:
            self._exporters = dict(exporters)
            self._pools = dict(pools)

    def status(self) -> status_page.Status:
        """What the page shows now."""
        with self._lock:
            exporters, pools = list(self._exporters.items()), list(self._pools.items())
        pool_rows = []
        for name, pool in pools:
            try:
                states = pool.endpoint_states()
            except Exception:  # a pool whose settings fail shows with no endpoints
                log.debug("pool %s has no endpoint states", name, exc_info=True)
                states = []
            pool_rows.append(status_page.pool_status(name, states))
        return status_page.Status(
            tuple(status_page.exporter_status(name, e) for name, e in exporters),
            status_page.method_stats(self._metrics.samples()),
            tuple(pool_rows),
            time.time(),
        )

    def _refuse(self, request: Request) -> Response | None:
        if request.method not in ("GET", "HEAD"):
            return Response(405, f"GET {request.path}\n".encode(), headers=[("Allow", "GET, HEAD")])
        if self._loopback and not loopback_host_header(request.header("host"), self.port):
            # a page elsewhere whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name
            return Response(403, b"the admin address answers requests for a loopback host name only\n")
        return None

    def _page(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        body = status_page.render_html(self.status(), self._title).encode("utf-8")
        return Response(200, body, "text/html; charset=utf-8", headers=[
            ("Content-Security-Policy", status_page.CONTENT_SECURITY_POLICY), ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ])

    def _json(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        return Response(200, status_page.render_json(self.status()), "application/json",
                        headers=[("Cache-Control", "no-store")])

    def _prometheus(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        body, content_type = self._metrics.prometheus()
        return Response(200, body, content_type)

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        host = self._http.host
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "AdminServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AdminServer {self.url}>"
