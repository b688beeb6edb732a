"""``springpython demo``: one plain service exported over every transport on
127.0.0.1 and called through configured proxy factories.

The plain-text exporters come from the bundled ``server.xml``; the TLS ones need
certificate paths, so they are configured in Python (:class:`TLSServerConfig`) with a
sample PKI written to a temporary directory. The clients are a ``PythonConfig`` that
reads each exporter's URL from the server context."""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..config import Object, PythonConfig, XMLConfig
from ..context import ApplicationContext

if TYPE_CHECKING:  # imported where used, so the demo loads only what it runs
    from ..pki import SamplePKI
    from ..remoting.hessian import HessianProxyFactory, HessianServiceExporter
    from ..remoting.pyro import PyroProxyFactory
    from ..remoting.xmlrpc import XMLRPCProxyFactory, XMLRPCServiceExporter

__all__ = ["Greeter", "run_demo", "SERVER_XML"]

SERVER_XML = Path(__file__).with_name("server.xml")
CALLS = 100


class Greeter:
    """The demo service: a plain class, unaware of any transport."""

    def greet(self, name: str) -> str:
        return f"Hello, {name}!"


class TLSServerConfig(PythonConfig):
    """Exporters over TLS: XML-RPC with a client certificate required, Hessian over HTTPS."""

    def __init__(self, pki: SamplePKI, service: Greeter) -> None:
        super().__init__()
        self.pki = pki
        self.service = service

    @Object
    def xmlrpc_tls_exporter(self) -> XMLRPCServiceExporter:
        from ..remoting.xmlrpc import XMLRPCServiceExporter

        return XMLRPCServiceExporter(
            service=self.service, service_host="127.0.0.1", service_port=0,
            certfile=str(self.pki.server_cert), keyfile=str(self.pki.server_key),
            ca_certs=str(self.pki.ca_chain), cert_reqs="CERT_REQUIRED",
            verify_fields={"commonName": "My Client"},
        )

    @Object
    def hessian_tls_exporter(self) -> HessianServiceExporter:
        from ..remoting.hessian import HessianServiceExporter

        return HessianServiceExporter(
            service=self.service, service_host="127.0.0.1", service_port=0, path="/greeter",
            certfile=str(self.pki.server_cert), keyfile=str(self.pki.server_key),
        )


class ClientConfig(PythonConfig):
    """Proxy factories pointed at the URLs the exporters report."""

    def __init__(self, server: ApplicationContext, tls: ApplicationContext, pki: SamplePKI) -> None:
        super().__init__()
        self.server = server
        self.tls = tls
        self.pki = pki

    def _url(self, context: ApplicationContext, exporter: str) -> str:
        url: str = context.get_object(exporter).service_url
        return url

    @Object
    def pyro(self) -> PyroProxyFactory:
        from ..remoting.pyro import PyroProxyFactory

        return PyroProxyFactory(service_url=self._url(self.server, "pyro_exporter"))

    @Object
    def hessian(self) -> HessianProxyFactory:
        from ..remoting.hessian import HessianProxyFactory

        return HessianProxyFactory(service_url=self._url(self.server, "hessian_exporter"))

    @Object
    def xmlrpc(self) -> XMLRPCProxyFactory:
        from ..remoting.xmlrpc import XMLRPCProxyFactory

        return XMLRPCProxyFactory(service_url=self._url(self.server, "xmlrpc_exporter"))

    @Object
    def xmlrpc_tls(self) -> XMLRPCProxyFactory:
        from ..remoting.xmlrpc import XMLRPCProxyFactory

        return XMLRPCProxyFactory(
            service_url=self._url(self.tls, "xmlrpc_tls_exporter"), ca_certs=str(self.pki.ca_chain),
            certfile=str(self.pki.client_cert), keyfile=str(self.pki.client_key),
        )

    @Object
    def hessian_tls(self) -> HessianProxyFactory:
        from ..remoting.hessian import HessianProxyFactory

        return HessianProxyFactory(
            service_url=self._url(self.tls, "hessian_tls_exporter"), ca_certs=str(self.pki.ca_chain)
        )


LABELS = {
    "pyro": "Pyro5",
    "hessian": "Hessian (HTTP)",
    "hessian_tls": "Hessian (HTTPS)",
    "xmlrpc": "XML-RPC (HTTP)",
    "xmlrpc_tls": "XML-RPC (TLS, client certificate)",
}


def _timed(call: Callable[[], Any]) -> tuple[Any, tuple[float, float]]:
    """The first answer, the first call's time, and the mean time of the next calls."""
    start = time.perf_counter()
    result = call()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(CALLS):
        call()
    return result, (first, (time.perf_counter() - start) / CALLS)


def run_demo() -> Iterator[tuple[str, bool]]:
    """Run the demo; yields ``(line to print, success)``."""
    from ..pki import write_sample_pki

    with tempfile.TemporaryDirectory(prefix="springpython-demo-") as tmp:
        pki = write_sample_pki(Path(tmp))
        with ApplicationContext(XMLConfig(SERVER_XML)) as server:
            greeter = server.get_object("greeter")
            with ApplicationContext(TLSServerConfig(pki, greeter)) as tls:
                for name in server.get_object_names() + tls.get_object_names():
                    if name.endswith("_exporter"):
                        url = (server if name in server else tls).get_object(name).service_url
                        yield f"exported {name:22} {url}", True
                with ApplicationContext(ClientConfig(server, tls, pki)) as clients:
                    for name, label in LABELS.items():
                        proxy = clients.get_object(name)
                        try:
                            answer, (first, each) = _timed(lambda: proxy.greet("World"))
                        except Exception as exc:  # the demo reports a failing transport and goes on
                            yield f"{label:34} FAILED: {type(exc).__name__}: {exc}", False
                            continue
                        ok = answer == "Hello, World!"
                        yield (f"{label:34} {answer!r:18} first call {first * 1000:7.2f} ms, "
                               f"then {each * 1000:6.3f} ms per call ({CALLS} calls)"), ok
                    yield from _pyro4_line(greeter)
    yield "all exporters stopped", True


def _pyro4_line(greeter: Greeter) -> Iterator[tuple[str, bool]]:
    label = "Pyro4"
    if importlib.util.find_spec("Pyro4") is None:
        yield f'{label:34} skipped: Pyro4 is not installed (pip install "springpython[pyro4]")', True
        return
    from ..remoting.pyro import Pyro4ProxyFactory, Pyro4ServiceExporter

    with Pyro4ServiceExporter(service=greeter, service_name="Greeter", service_host="127.0.0.1",
                              service_port=0) as exporter:
        proxy = Pyro4ProxyFactory(service_url=exporter.service_url)
        try:
            answer, (first, each) = _timed(lambda: proxy.greet("World"))
        finally:
            proxy.destroy()
    yield (f"{label:34} {answer!r:18} first call {first * 1000:7.2f} ms, "
           f"then {each * 1000:6.3f} ms per call ({CALLS} calls)"), answer == "Hello, World!"
