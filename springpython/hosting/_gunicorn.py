"""gunicorn: the worker hooks that tie a context's lifetime to a worker's, and the
runner behind ``springpython run --workers N``.

The runner loads the context once in the calling process with every HTTP exporter
hosted (no port bound) to check it and learn the one address they share, shuts it
down, and hands that address to gunicorn; each worker then makes its own context
after the fork (``post_worker_init``) and shuts it down on exit (``worker_exit``).
Workers are gunicorn's ``gthread`` kind (:data:`DEFAULT_THREADS` threads each), so a
slow call does not hold up a worker's other clients and keep-alive works."""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Sequence

from ..errors import ConfigurationError, MissingDependencyError
from ._site import ConfigSource, Site
from ._wsgi import WSGIApp

__all__ = ["post_worker_init", "worker_exit", "bind_address", "serve", "DEFAULT_THREADS"]

log = logging.getLogger(__name__)

DEFAULT_THREADS = 8
_INSTALL = 'pip install "springpython[gunicorn]"'


def post_worker_init(worker: Any) -> None:
    """gunicorn hook: start the worker's context once its application is loaded, so a
    context that cannot start fails the worker's boot rather than its first request."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, WSGIApp):
        app.start()


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook: shut the worker's context down (its destroy hooks run)."""
    app = getattr(worker, "wsgi", None)
    if isinstance(app, WSGIApp):
        app.close()


def bind_address(sources: Sequence[ConfigSource]) -> tuple[str, int]:
    """The host and port every HTTP exporter of the context names; loads the context
    once with the exporters hosted (binding nothing) and shuts it down again. A
    context with no HTTP exporter, other exporters, or exporters on several addresses
    is a :class:`ConfigurationError`."""
    site = Site(sources, "springpython run --workers", http_only=True)
    try:
        site.start()
        addresses = {(str(e.service_host), int(e.service_port)): e for e in site.exporters}
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
    return next(iter(addresses))


def serve(sources: Sequence[ConfigSource], workers: int, *, threads: int = DEFAULT_THREADS,
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
    host, port = bind_address(sources)
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def when_ready(server: Any) -> None:
        if on_ready is not None:
            on_ready([str(listener) for listener in server.LISTENERS])  # "http://host:port"

    options: dict[str, Any] = {
        "bind": [bind], "workers": workers, "worker_class": "gthread", "threads": threads,
        "post_worker_init": post_worker_init, "worker_exit": worker_exit, "when_ready": when_ready,
        "control_socket_disable": True,  # gunicorn 27's runtime control socket: one per user, not per run
    }

    class Application(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
        def load_config(self) -> None:
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> WSGIApp:
            return WSGIApp(Site(sources, "gunicorn", http_only=True))

    arbiter = os.getpid()
    try:
        Application().run()
    except SystemExit as exc:  # the arbiter ends with sys.exit
        if os.getpid() != arbiter:
            raise  # a worker leaving: its exit must not return into the caller's code
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
