"""gunicorn settings that tie each worker's context to the worker's lifetime::

    gunicorn -c python:springpython.hosting.gunicorn_config -w 2 -b 127.0.0.1:8000 \
        'springpython.hosting:wsgi_app("server.xml")'

Without them the context starts on a worker's first request and shuts down at the
worker's interpreter exit; with them it starts as the worker boots (a context that
cannot start fails the boot) and shuts down in gunicorn's ``worker_exit``."""

from __future__ import annotations

from ._gunicorn import post_worker_init, worker_exit

__all__ = ["post_worker_init", "worker_exit"]
