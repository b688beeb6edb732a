"""Misuses of bean constructors that a type checker must flag (checked by
tests/test_typing.py). Each flagged line names the mypy error code it must get;
the unmarked lines are correct uses and must not be flagged."""

from __future__ import annotations

import ssl

from springpython.remoting.ha import HighAvailabilityProxyFactory
from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
from springpython.remoting.pyro import Pyro4ProxyFactory, PyroProxyFactory, PyroServiceExporter
from springpython.remoting.xmlrpc import XMLRPCServiceExporter

PyroProxyFactory(serivce_url="x")  # expect: call-arg
HessianProxyFactory(timeout="soon")  # expect: arg-type
HessianServiceExporter(service_prot=1)  # expect: call-arg
HighAvailabilityProxyFactory(strategy="random")  # expect: arg-type
HighAvailabilityProxyFactory(service_pool=[PyroProxyFactory("PYRO:a@h:1")], retry_intervall=2.0)  # expect: call-arg
PyroServiceExporter(object(), "calc", "localhost", "7766")  # expect: arg-type
PyroProxyFactory("PYRO:a@h:1", verify_fields={"commonName": 1})  # expect: dict-item
Pyro4ProxyFactory("PYRO:a@h:1", ca_certs="ca.pem")  # expect: arg-type
XMLRPCServiceExporter(cert_reqs="CERT_MAYBE")  # expect: arg-type

PyroServiceExporter(object(), "calc", "localhost", 7766, certfile="server.pem", cert_reqs=ssl.CERT_REQUIRED)
PyroProxyFactory("PYRO:a@h:1", timeout=2.5, cert_reqs="CERT_REQUIRED", verify_fields={"commonName": "server"})
HighAvailabilityProxyFactory(service_pool=[PyroProxyFactory("PYRO:a@h:1")], strategy="failover")
