"""gunicorn: the worker hooks that tie a context's lifetime to a worker's, and the
runner behind ``springpython run --workers N``.

The runner loads the context once in the calling process with every HTTP exporter
hosted (no port bound) to check it and learn the one address and the settings they
share, shuts it down, and hands the address to gunicorn. Its workers are
springpython's own (:class:`springpython.hosting.worker.EmbeddedWorker`): each makes
its context after the fork and serves it on springpython's HTTP server over the
socket gunicorn shares, with the exporters' own TLS (TLS 1.2 or newer, their CAs and
ciphers, ``verify_fields`` checked at each handshake) and caps, exactly as
``springpython run`` serves them; it shuts the context down when it leaves.

The hooks (:func:`post_worker_init`, :func:`worker_exit`) serve gunicorn's own
workers running :func:`springpython.hosting.wsgi_app` (see
:mod:`springpython.hosting.gunicorn_config`)."""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import ConfigurationError, MissingDependencyError
from ..remoting.tls import ServerTLS
from ._site import ConfigSource, Site
from ._wsgi import WSGIApp

__all__ = ["post_worker_init", "worker_exit", "Plan", "plan", "serve", "WORKER_CLASS"]

log = logging.getLogger(__name__)

#: The gunicorn worker class ``springpython run --workers`` runs.
WORKER_CLASS = "springpython.hosting.worker.EmbeddedWorker"
_INSTALL = 'pip install "springpython[gunicorn]"'


# The worker classes whose WSGI environ carries the client's TLS socket.
_SOCKET_WORKERS = frozenset({"SyncWorker", "ThreadWorker"})


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: start the worker's context once its application is loaded, so a
    context that cannot start fails the worker's boot rather than its first request.
    Under TLS with client certificates required or optional, on the sync and gthread
    workers, the exporters' ``verify_fields`` are checked per request."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, WSGIApp):
        cfg = worker.cfg
        if cfg.is_ssl and cfg.cert_reqs != ssl.CERT_NONE and type(worker).__name__ in _SOCKET_WORKERS:
            app.site.peer_certificates = True
        app.start()


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: shut the worker's context down (its destroy hooks run)."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, WSGIApp):
        app.close()


@dataclass(frozen=True)
class Plan:
    """What gunicorn is given: the one address and TLS settings the exporters share."""

    host: str
    port: int
    tls: ServerTLS | None


def plan(sources: Sequence[ConfigSource]) -> Plan:
    """The host, port and TLS every HTTP exporter of the context names; loads the
    context once with the exporters hosted (binding nothing) and shuts it down again.
    A context with no HTTP exporter, other exporters, or exporters on several
    addresses or with different TLS or size settings is a :class:`ConfigurationError`."""
    site = Site(sources, "springpython run --workers", http_only=True, embedded=True)
    try:
        site.start()
        addresses = {(str(e.service_host), int(e.service_port)): e for e in site.exporters}
        mounts = site.mounts
    finally:
        site.close()
    if not addresses:
        raise ConfigurationError("springpython run --workers: the context has no HTTP exporter to serve")
    if len(addresses) > 1:
        found = ", ".join(f"{type(e).__name__} {e.path} at {host}:{port}" for (host, port), e in addresses.items())
        raise ConfigurationError(
            f"springpython run --workers: the HTTP exporters name {len(addresses)} addresses ({found}); "
            "gunicorn serves one: give them the same service_host and service_port"
        )
    host, port = next(iter(addresses))
    return Plan(host, port, mounts[0].settings.tls)


def serve(sources: Sequence[ConfigSource], workers: int, *,
          on_ready: Callable[[list[str]], None] | None = None) -> int:
    """Serve the context's HTTP exporters under gunicorn with ``workers`` processes
    until SIGINT or SIGTERM; returns gunicorn's exit status. ``on_ready`` gets the
    listening URLs once gunicorn has bound them."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:
        raise MissingDependencyError(f"serving with --workers needs gunicorn: {_INSTALL}") from exc
    if workers < 1:
        raise ConfigurationError(f"--workers must be at least 1, got {workers}")
    where = plan(sources)
    host, port, tls = where.host, where.port, where.tls
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def when_ready(server: Any) -> None:
        if on_ready is not None:
            urls = [str(listener) for listener in server.LISTENERS]  # "http://host:port"
            on_ready([url.replace("http://", "https://", 1) if tls else url for url in urls])

    options: dict[str, Any] = {
        "bind": [bind], "workers": workers, "worker_class": WORKER_CLASS,
        "post_worker_init": post_worker_init, "worker_exit": worker_exit, "when_ready": when_ready,
        "control_socket_disable": True,  # gunicorn 27's runtime control socket: one per user, not per run
    }

    class Application(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
        def load_config(self) -> None:
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> WSGIApp:
            return WSGIApp(Site(sources, "gunicorn", http_only=True, server_tls=tls, embedded=True))

    arbiter = os.getpid()
    try:
        Application().run()
    except SystemExit as exc:  # the arbiter ends with sys.exit
        if os.getpid() != arbiter:
            raise  # a worker leaving: its exit must not return into the caller's code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
