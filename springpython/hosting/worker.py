"""A gunicorn worker that serves a context's HTTP exporters on springpython's own HTTP
server, one per worker process, on the socket gunicorn shares among them::

    gunicorn -k springpython.hosting.worker.EmbeddedWorker -w 2 -b 127.0.0.1:8000 \\
        'springpython.hosting:wsgi_app("server.xml")'

``springpython run --workers N`` runs this worker. gunicorn keeps what it is good
at (forking, restarting a dead worker, signals, graceful reloads); each worker
serves requests as ``springpython run`` does: httptools parsing, keep-alive, the
exporters' own TLS and ``verify_fields`` checked at the handshake, their size and
connection caps. On the 2-core benchmark machine, where 8 client processes share
the cores, two such workers answer 0.9 to 1.1 times the calls of one embedded
server, and two ``gthread`` workers 0.4 to 0.5 times (``python3 -m benchmarks
hosting``): there the cores, not the server, are the limit.

Rules of this file:

* The application must be :func:`springpython.hosting.wsgi_app`'s: the worker
  serves its context's mounted handlers, not a WSGI callable.
* TLS is the exporters' own (their ``certfile``, CAs and policy); gunicorn's
  ``--certfile`` options are refused, since the worker would not use them.
* Every exporter must have the same TLS and size settings (one socket, one server),
  as exporters that share a port on the embedded server must.
* The context starts as the worker boots and shuts down when it leaves, whatever
  signals come meanwhile; the requests in flight finish first, within gunicorn's
  ``graceful_timeout``, while the worker goes on telling the arbiter it is alive."""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import threading

from ..errors import ConfigurationError, MissingDependencyError
from ..remoting.http import DEFAULT_MAX_BODY_SIZE, HTTPServer
from ..remoting.http_exporter import HTTPSettings, server_for
from ._wsgi import WSGIApp

try:
    from gunicorn.workers.base import Worker
except ImportError as exc:
    raise MissingDependencyError('the springpython worker needs gunicorn: pip install "springpython[gunicorn]"') from exc

__all__ = ["EmbeddedWorker"]

log = logging.getLogger(__name__)

#: How often, at most, the worker tells gunicorn's arbiter it is alive (seconds).
_HEARTBEAT = 1.0
#: What the wait for the requests in flight leaves of gunicorn's ``graceful_timeout``
#: for the context's shutdown, before the arbiter kills the worker (seconds).
_SHUTDOWN_MARGIN = 1.0


class EmbeddedWorker(Worker):  # type: ignore[misc]  # gunicorn is untyped
    """A gunicorn worker process serving the HTTP exporters of a
    :func:`~springpython.hosting.wsgi_app` context on springpython's HTTP server
    (see the rules of this file)."""

    def load_wsgi(self) -> None:
        """Load the application, set its site up to be served here and start its
        context, so that a context that cannot start fails the worker's boot."""
        super().load_wsgi()
        app = self.wsgi
        if not isinstance(app, WSGIApp):
            raise ConfigurationError(
                f"{type(self).__name__} serves springpython.hosting:wsgi_app(...) applications, not {app!r}"
            )
        if self.cfg.is_ssl:
            raise ConfigurationError(
                f"{type(self).__name__} serves the exporters' own TLS (their certfile, keyfile and ca_certs): "
                "drop gunicorn's --certfile/--keyfile options"
            )
        for listener in self.sockets:
            if listener.sock.family not in (socket.AF_INET, socket.AF_INET6):
                raise ConfigurationError(f"{type(self).__name__} serves TCP addresses, not {listener}")
        app.site.embedded = True
        if self.cfg.max_requests > 0:
            # gunicorn's error log: gunicorn leaves springpython's loggers without handlers
            self.log.warning("%s: max_requests (%s) is not applied: this worker is not restarted after a "
                             "number of requests", type(self).__name__, self.cfg.max_requests)
        app.start()  # a context that cannot start fails the worker's boot, which stops gunicorn

    def run(self) -> None:
        """Serve until gunicorn asks this worker to stop (SIGTERM, SIGINT or SIGQUIT)
        or its arbiter is gone; then stop accepting, let the requests in flight finish
        (within ``graceful_timeout``) and shut the context down."""
        app: WSGIApp = self.wsgi
        servers: list[HTTPServer] = []
        try:
            for listener in self.sockets:
                drain = max(0.0, float(self.cfg.graceful_timeout) - _SHUTDOWN_MARGIN)
                servers.append(self._server(listener.sock, app, drain))
                servers[-1].start()
            log.debug("worker %s serving %s", os.getpid(), ", ".join(server.url() for server in servers))
            self._wait()
        finally:
            self._drain(servers)
            app.close()

    def init_signals(self) -> None:
        """gunicorn's signal handling, and SIGHUP stops the worker as SIGTERM does (a
        closed terminal sends it to every process; the arbiter's reload replaces the
        workers anyway) rather than end it with no shutdown of its context."""
        super().init_signals()
        signal.signal(signal.SIGHUP, self.handle_exit)
        signal.siginterrupt(signal.SIGHUP, False)

    def handle_quit(self, sig: int, frame: object) -> None:
        """SIGINT or SIGQUIT (Ctrl-C reaches the workers and the arbiter alike): stop as
        on SIGTERM. Unlike gunicorn's own workers this raises no ``SystemExit`` from the
        handler, which would cut short whatever runs at that moment, such as the
        context's shutdown; the arbiter's ``graceful_timeout`` still bounds the wait."""
        self.alive = False
        self.cfg.worker_int(self)

    def _drain(self, servers: list[HTTPServer]) -> None:
        """Close ``servers`` (the requests in flight finish) in a thread of their own, while
        this one goes on telling the arbiter the worker is alive (a drain longer than
        gunicorn's ``timeout`` is not a hung worker)."""
        def close() -> None:
            for server in servers:
                server.close()

        closer = threading.Thread(target=close, name="springpython-worker-close", daemon=True)
        closer.start()
        while closer.is_alive():
            self.notify()
            closer.join(self._heartbeat())

    @staticmethod
    def _server(listener: socket.socket, app: WSGIApp, close_timeout: float) -> HTTPServer:
        """The server of the context's mounts on ``listener``, with their settings."""
        mounts = app.site.mounts
        settings = mounts[0].settings if mounts else HTTPSettings(None, DEFAULT_MAX_BODY_SIZE)
        host, port = listener.getsockname()[:2]
        server = server_for(settings, host, port, listener=listener, close_timeout=close_timeout)
        for mount in mounts:
            server.mount(mount.path, mount.handler)
        return server

    def _wait(self) -> None:
        """Tell the arbiter this worker is alive, until a signal ends it (each signal
        also wakes this wait through gunicorn's wake-up pipe) or the arbiter is gone."""
        wake = self.PIPE[0]
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                log.info("worker %s: the gunicorn arbiter is gone; stopping", os.getpid())
                return
            try:
                ready, _, _ = select.select([wake], [], [], self._heartbeat())
            except InterruptedError:
                continue
            if ready:
                try:
                    while os.read(wake, 4096):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass

    def _heartbeat(self) -> float:
        """How long the worker may go without telling the arbiter it is alive."""
        return min(_HEARTBEAT, self.timeout / 2) if self.timeout else _HEARTBEAT
