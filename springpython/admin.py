"""The admin address of ``springpython run --admin [HOST:]PORT``: ``GET /metrics``
answers the call metrics (:mod:`springpython.remoting.call_metrics`) in Prometheus
text format.

The metrics go through OpenTelemetry's own Prometheus reader
(``opentelemetry-exporter-prometheus``, with ``prometheus-client`` writing the text),
kept libraries rather than a formatter of ours; they and ``opentelemetry-sdk`` are
the ``admin`` extra. The address is loopback unless a host is given. The server is
the one every HTTP exporter runs on (:class:`~springpython.remoting.http.HTTPServer`),
on its own port."""

from __future__ import annotations

import logging
from typing import Any, Callable

from .errors import ConfigurationError, MissingDependencyError
from .remoting.http import HTTPServer, Request, Response

__all__ = ["AdminServer", "parse_address", "DEFAULT_HOST", "INSTALL_HINT"]

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
INSTALL_HINT = 'pip install "springpython[admin]"'


def parse_address(text: str) -> tuple[str, int]:
    """``PORT`` or ``HOST:PORT`` (``[v6]:PORT``); the host defaults to loopback."""
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else DEFAULT_HOST
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (sep and not host):
        raise ConfigurationError(f"--admin must be PORT or HOST:PORT (a port 0-65535), got {text!r}")
    return host, int(port)


def prometheus_metrics() -> Callable[[], tuple[bytes, str]]:
    """Install a meter provider read by a Prometheus reader of its own registry; a
    function rendering that registry (body, content type)."""
    try:
        from opentelemetry import metrics
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    except ImportError as exc:
        raise MissingDependencyError(f"--admin needs the OpenTelemetry SDK and Prometheus reader: {INSTALL_HINT}") from exc
    registry = CollectorRegistry()
    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)]))
    return lambda: (generate_latest(registry), CONTENT_TYPE_LATEST)


class AdminServer:
    """Serves ``/metrics`` at ``host:port`` (port 0: a free one, read back from
    :attr:`port`); listening when constructed, stopped by :meth:`close`
    (idempotent), a context manager."""

    def __init__(self, host: str, port: int, render_metrics: Callable[[], tuple[bytes, str]]) -> None:
        self._render = render_metrics
        self._http = HTTPServer(host, port, logger=log)
        self._http.mount("/metrics", self._metrics)
        try:
            self._http.start()
        except BaseException:
            self._http.close()
            raise
        log.info("admin address http://%s:%s/metrics", host, self.port)

    def _metrics(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response(405, b"GET /metrics\n", headers=[("Allow", "GET, HEAD")])
        body, content_type = self._render()
        return Response(200, body, content_type)

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        host = self._http.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}/"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "AdminServer":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AdminServer {self.url}>"
