"""Pyro remoting: exporters put a local object on a Pyro daemon, proxy factories
make a Pyro service look local.

``PyroServiceExporter``/``PyroProxyFactory`` (the chapter's names) run on Pyro5,
as do ``Pyro5ServiceExporter``/``Pyro5ProxyFactory``. ``Pyro4ServiceExporter``/
``Pyro4ProxyFactory`` run on Pyro4, an optional extra
(``pip install "springpython[pyro4]"``): this package imports without it, and the
Pyro4 classes say what to install when it is missing. The Pyro5 and Pyro4 beans
are siblings: both derive from ``BasePyroServiceExporter``/``BasePyroProxyFactory``.
``AsyncPyroProxyFactory``, ``AsyncPyro5ProxyFactory`` and ``AsyncPyro4ProxyFactory``
are their asyncio faces (each call on a bounded thread pool: Pyro has no asyncio)."""

from __future__ import annotations

from ..async_proxy import ThreadedAsyncProxy
from ._base import BasePyroProxyFactory, BasePyroServiceExporter
from ._pyro4 import Pyro4ProxyFactory, Pyro4ServiceExporter
from ._pyro5 import Pyro5ProxyFactory, Pyro5ServiceExporter
from ._urls import PyroURL, parse_service_url

__all__ = [
    "PyroServiceExporter",
    "PyroProxyFactory",
    "Pyro5ServiceExporter",
    "Pyro5ProxyFactory",
    "Pyro4ServiceExporter",
    "Pyro4ProxyFactory",
    "AsyncPyroProxyFactory",
    "AsyncPyro5ProxyFactory",
    "AsyncPyro4ProxyFactory",
    "BasePyroServiceExporter",
    "BasePyroProxyFactory",
    "PyroURL",
    "parse_service_url",
]


class PyroServiceExporter(Pyro5ServiceExporter):
    """The chapter's exporter name; runs on Pyro5."""


class PyroProxyFactory(Pyro5ProxyFactory):
    """The chapter's proxy factory name; runs on Pyro5."""


class AsyncPyroProxyFactory(ThreadedAsyncProxy, PyroProxyFactory):
    """:class:`PyroProxyFactory` for asyncio (Pyro5): ``await proxy.method(...)``.
    Pyro has no asyncio, so each call runs on a thread pool of at most
    ``max_threads`` threads owned by the proxy
    (:class:`~springpython.remoting.async_proxy.ThreadedAsyncProxy`)."""


class AsyncPyro5ProxyFactory(ThreadedAsyncProxy, Pyro5ProxyFactory):
    """:class:`Pyro5ProxyFactory` for asyncio, on a bounded thread pool (see :class:`AsyncPyroProxyFactory`)."""


class AsyncPyro4ProxyFactory(ThreadedAsyncProxy, Pyro4ProxyFactory):
    """:class:`Pyro4ProxyFactory` for asyncio, on a bounded thread pool (see :class:`AsyncPyroProxyFactory`)."""
