"""Remoting: exporters put a local object on the network, proxy factories make a
remote one look local. Each transport lives in its own subpackage
(``pyro``, ``xmlrpc``, ``hessian``) and is imported only when used."""

from .exporter import ServiceExporter
from .proxy import RemoteProxy

__all__ = ["ServiceExporter", "RemoteProxy"]
