"""Serve a context's HTTP exporters (Hessian, XML-RPC) on a WSGI or ASGI server.

``wsgi_app("server.xml")`` and ``asgi_app("server.xml")`` return one application
serving every HTTP exporter of the context at its ``path``, with the same handlers,
faults and HTTP errors as the embedded server, without binding the exporters' own
ports::

    gunicorn -w 2 -b 127.0.0.1:8000 'springpython.hosting:wsgi_app("server.xml")'
    uvicorn app:app          # app.py: app = asgi_app("server.xml")

The context is created in each worker process after the fork and shut down when the
worker stops (:mod:`._site` has the rules; docs/hosting.rst the recipes). Under
gunicorn, springpython's own worker (:mod:`springpython.hosting.worker`, what
``springpython run --workers`` runs) serves that context on the embedded HTTP server
in each worker process instead of through WSGI."""

from __future__ import annotations

from ._asgi import ASGIApp
from ._site import ConfigSource, Site
from ._wsgi import WSGIApp

__all__ = ["wsgi_app", "asgi_app", "WSGIApp", "ASGIApp"]


def wsgi_app(*config_files: ConfigSource) -> WSGIApp:
    """A WSGI application for the HTTP exporters of the context in ``config_files``
    (XML files, or :class:`~springpython.config.Config` objects). The files are
    checked now; the context starts on the first request or on ``app.start()``."""
    return WSGIApp(Site(config_files, "a WSGI server"))


def asgi_app(*config_files: ConfigSource) -> ASGIApp:
    """An ASGI application for the HTTP exporters of the context in ``config_files``;
    the context starts at lifespan startup (or on the first request) and shuts down at
    lifespan shutdown."""
    return ASGIApp(Site(config_files, "an ASGI server"))
