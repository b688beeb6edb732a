"""Calls the sample's service over Hessian and XML-RPC, however it is hosted."""

from springpython.remoting.hessian import HessianProxyFactory
from springpython.remoting.xmlrpc import XMLRPCProxyFactory

BASE = "http://127.0.0.1:8000"

hessian = HessianProxyFactory(service_url=f"{BASE}/hessian")
xmlrpc = XMLRPCProxyFactory(service_url=f"{BASE}/RPC2")
try:
    print("CLIENT: Hessian add(20, 22) =", hessian.add(20, 22))
    print("CLIENT: XML-RPC add(1.5, 2) =", xmlrpc.add(1.5, 2))
    try:
        hessian.div(1, 0)
    except ZeroDivisionError as exc:
        print("CLIENT: div(1, 0) raised ZeroDivisionError:", exc)
    print("CLIENT: answered by process", xmlrpc.pid())
finally:
    hessian.destroy()
    xmlrpc.destroy()
