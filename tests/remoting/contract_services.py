"""The service every transport exports in the contract tests, its exception, and
the transports' exporter and proxy factory classes."""

from __future__ import annotations

from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
from springpython.remoting.pyro import (
    Pyro4ProxyFactory,
    Pyro4ServiceExporter,
    Pyro5ProxyFactory,
    Pyro5ServiceExporter,
)
from springpython.remoting.xmlrpc import XMLRPCProxyFactory, XMLRPCServiceExporter

#: Exporter and proxy factory class of each transport, by the transport's name.
TRANSPORTS = {
    "pyro5": (Pyro5ServiceExporter, Pyro5ProxyFactory),
    "pyro4": (Pyro4ServiceExporter, Pyro4ProxyFactory),
    "hessian": (HessianServiceExporter, HessianProxyFactory),
    "xmlrpc": (XMLRPCServiceExporter, XMLRPCProxyFactory),
}


class CalcError(Exception):
    """An application exception with a constructor the client cannot guess."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(f"{code}: {text}")
        self.code_number = code


class Calc:
    """Public methods that answer, raise, or try to stop the process; a private one."""

    def __init__(self) -> None:
        self.calls = 0

    def add(self, a, b):
        self.calls += 1
        return a + b

    def div(self, a, b):
        self.calls += 1
        return a / b

    def lookup(self, key):
        self.calls += 1
        return {}[key]

    def refuse(self, text):
        self.calls += 1
        raise CalcError(42, text)

    def leave(self):
        self.calls += 1
        raise SystemExit(2)

    def interrupt(self):
        self.calls += 1
        raise KeyboardInterrupt()

    def _secret(self):
        return "never"
