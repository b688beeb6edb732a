"""One remoting contract, checked on every transport: remote exceptions, unknown
methods, private names and start-up checks mean the same on Pyro5, Pyro4, Hessian
and XML-RPC, through the blocking proxies and through their asyncio twins."""

from __future__ import annotations

import logging
import re
import textwrap
import time
from typing import Any, Callable, Iterator

import pytest
from async_support import Blocking
from contract_services import ASYNC_PROXIES, TRANSPORTS, Calc, CalcError

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import ConfigurationError, ConnectFailedError, NoSuchMethodError, RemoteFault
from springpython.remoting import tls

HOST = "127.0.0.1"
#: Where a protocol carries the server's traceback.
CARRIES_TRACEBACK = {"pyro5", "pyro4"}
#: A URL of the right scheme that is malformed, per transport.
MALFORMED_URLS = {
    "pyro5": "PYRO:Calc@127.0.0.1",
    "pyro4": "PYRO:Calc@127.0.0.1",
    "hessian": "htp://127.0.0.1:8080/",
    "xmlrpc": "htp://127.0.0.1:8000/RPC2",
}


@pytest.fixture(params=sorted(TRANSPORTS))
def transport(request) -> str:
    """Each transport in turn."""
    return request.param


@pytest.fixture(params=["sync", "async"])
def mode(request) -> str:
    """The blocking proxies, then their asyncio twins."""
    return request.param


def proxy_class(transport: str, mode: str) -> type:
    """The proxy factory of ``transport`` in ``mode``."""
    return TRANSPORTS[transport][1] if mode == "sync" else ASYNC_PROXIES[transport]


def started(transport: str, mode: str, **properties: Any) -> Any:
    """A started proxy; an async one wrapped so blocking test code can call it."""
    factory = proxy_class(transport, mode)(**properties)
    factory.after_properties_set()
    return factory if mode == "sync" else Blocking(factory)


@pytest.fixture
def served(transport, mode) -> Iterator[tuple[Calc, Callable[..., Any]]]:
    """A Calc exported on ``transport`` at 127.0.0.1 port 0, and a factory of started proxies."""
    exporter_cls, _ = TRANSPORTS[transport]
    service = Calc()
    exporter = exporter_cls(service=service, service_name="Calc", service_host=HOST, service_port=0)
    exporter.after_properties_set()
    made: list[Any] = []

    def proxy(**properties: Any) -> Any:
        factory = started(transport, mode, service_url=exporter.service_url, **properties)
        made.append(factory)
        return factory

    try:
        yield service, proxy
    finally:
        for factory in made:
            factory.destroy()
        exporter.destroy()


def test_a_builtin_exception_is_that_builtin_and_a_remote_fault(transport, served):
    """div(1, 0) raises something both ZeroDivisionError and RemoteFault, with the remote type and message."""
    _, proxy = served
    with pytest.raises(ZeroDivisionError) as caught:
        proxy().div(1, 0)
    fault = caught.value
    assert isinstance(fault, RemoteFault)
    assert fault.remote_type == "builtins.ZeroDivisionError"
    assert "division by zero" in str(fault)
    if transport in CARRIES_TRACEBACK:
        assert "ZeroDivisionError" in (fault.remote_traceback or "")
    else:
        assert fault.remote_traceback is None


def test_key_error_keeps_its_builtin_type(served):
    """A remote KeyError can be caught as KeyError (and as LookupError)."""
    _, proxy = served
    with pytest.raises(LookupError) as caught:
        proxy().lookup("nope")
    assert isinstance(caught.value, KeyError)
    assert caught.value.remote_type == "builtins.KeyError"


def test_application_exception_is_a_remote_fault_unless_listed(served):
    """An application exception is a plain RemoteFault naming its class; it is never re-created unasked."""
    _, proxy = served
    with pytest.raises(RemoteFault) as caught:
        proxy().refuse("no stock")
    assert not isinstance(caught.value, CalcError)
    assert caught.value.remote_type == "contract_services.CalcError"
    assert "no stock" in str(caught.value)


def test_listed_application_exception_is_re_created(served):
    """With exception_classes naming it, the exception is both the application class and a RemoteFault."""
    _, proxy = served
    with pytest.raises(CalcError) as caught:
        proxy(exception_classes=["contract_services.CalcError"]).refuse("no stock")
    assert isinstance(caught.value, RemoteFault)
    assert "no stock" in str(caught.value)


def test_exception_classes_from_text(served):
    """exception_classes may come as comma-separated text, as XML gives it."""
    _, proxy = served
    with pytest.raises(CalcError):
        proxy(exception_classes="contract_services.CalcError, json.JSONDecodeError").refuse("x")


def test_unknown_method_is_no_such_method_error(served):
    """An unknown method is NoSuchMethodError (a RemoteFault and an AttributeError) naming it; nothing ran."""
    service, proxy = served
    with pytest.raises(NoSuchMethodError, match="'mul'") as caught:
        proxy().mul(1, 2)
    assert isinstance(caught.value, AttributeError)
    assert isinstance(caught.value, RemoteFault)
    assert "_Adapter" not in str(caught.value)
    assert service.calls == 0


def test_private_names_are_never_sent(served):
    """A name starting with '_' is refused on the client, saying such names are never sent."""
    service, proxy = served
    with pytest.raises(AttributeError, match="never sent"):
        proxy()._secret()
    assert service.calls == 0


#: The transports that have TLS.
TLS_TRANSPORTS = ["hessian", "pyro5", "xmlrpc"]
#: Every transport in the clear, and every one that has TLS over TLS.
SECURED = [(t, "plain") for t in sorted(TRANSPORTS)] + [(t, "tls") for t in TLS_TRANSPORTS]


@pytest.mark.parametrize("method", ["leave", "interrupt"])
@pytest.mark.parametrize(("transport", "security"), SECURED)
def test_exit_and_interrupt_are_faults_and_the_server_keeps_serving(transport, security, mode, method, pki):
    """100 calls raising SystemExit or KeyboardInterrupt in the service are each a RemoteFault
    (never the exception itself), with and without TLS; then the server answers normal calls,
    on the same connection and on a new one."""
    exporter_cls, _ = TRANSPORTS[transport]
    server_tls: dict[str, Any] = {}
    client_tls: dict[str, Any] = {}
    if security == "tls":
        server_tls = {"certfile": str(pki.server_cert), "keyfile": str(pki.server_key), "ca_certs": str(pki.ca_chain)}
        client_tls = {"ca_certs": str(pki.ca_chain), "certfile": str(pki.client_cert), "keyfile": str(pki.client_key)}
    service = Calc()
    exporter = exporter_cls(service=service, service_name="Calc", service_host=HOST, service_port=0, **server_tls)
    exporter.after_properties_set()
    proxies = []
    try:
        client = started(transport, mode, service_url=exporter.service_url, **client_tls)
        proxies.append(client)
        for _ in range(100):
            with pytest.raises(RemoteFault) as caught:
                getattr(client, method)()
            assert not isinstance(caught.value, (SystemExit, KeyboardInterrupt))
            assert caught.value.remote_type in ("builtins.SystemExit", "builtins.KeyboardInterrupt")
        assert service.calls == 100
        assert client.add(2, 3) == 5
        proxies.append(started(transport, mode, service_url=exporter.service_url, **client_tls))
        assert proxies[-1].add(1, 1) == 2
    finally:
        for proxy in proxies:
            proxy.destroy()
        exporter.destroy()


def test_malformed_url_fails_at_start_with_file_line_and_id(transport, mode, tmp_path):
    """A malformed service_url fails the context start, naming file, line and object id."""
    proxy_cls = proxy_class(transport, mode)
    path = tmp_path / "client.xml"
    path.write_text(textwrap.dedent(f"""\
        <?xml version="1.0"?>
        <objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
            <object id="calc" class="{proxy_cls.__module__}.{proxy_cls.__qualname__}">
                <property name="service_url" value="{MALFORMED_URLS[transport]}"/>
            </object>
        </objects>
        """))
    with pytest.raises(ConfigurationError) as caught:
        ApplicationContext(XMLConfig(str(path)))
    error = caught.value
    assert error.file is not None and error.file.endswith("client.xml")
    assert error.line == 3
    assert error.object_id == "calc"
    assert MALFORMED_URLS[transport] in str(error)


# -- TLS refusals: the same on every transport that has TLS ------------------------

REFUSALS = {
    "no client certificate": ({}, {"certfile": None, "keyfile": None}, "no client certificate"),
    "verify_fields mismatch": ({"verify_fields": {"organizationName": "Secret Co"}}, {},
                               "'organizationName'"),
}


def _refusal_logs(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.getMessage().startswith("refused client ")]


@pytest.mark.parametrize("case", sorted(REFUSALS))
@pytest.mark.parametrize("tls_transport", TLS_TRANSPORTS)
def test_a_refused_client_certificate_is_connect_failed_and_nothing_runs(tls_transport, mode, case, pki, caplog):
    """A refused client certificate is ConnectFailedError saying the call did not run (it did not),
    the client learns no expected value, and the server logs one WARNING with address and reason."""
    exporter_cls, _ = TRANSPORTS[tls_transport]
    exporter_props, proxy_props, logged = REFUSALS[case]
    service = Calc()
    caplog.set_level(logging.WARNING, logger="springpython")
    exporter = exporter_cls(service=service, service_name="Calc", service_host=HOST, service_port=0,
                            certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
                            **exporter_props)
    exporter.after_properties_set()
    try:
        settings = {"ca_certs": str(pki.ca_chain), "certfile": str(pki.client_cert),
                    "keyfile": str(pki.client_key), **proxy_props}
        proxy = started(tls_transport, mode, service_url=exporter.service_url, **settings)
        try:
            with pytest.raises(ConnectFailedError, match=re.escape(tls.CLIENT_CERTIFICATE_REFUSED)) as caught:
                proxy.add(1, 2)
            assert "Secret Co" not in str(caught.value)
        finally:
            proxy.destroy()
        deadline = time.monotonic() + 10
        while not _refusal_logs(caplog) and time.monotonic() < deadline:
            time.sleep(0.01)
        (message,) = _refusal_logs(caplog)
        assert re.match(r"refused client 127\.0\.0\.1:\d+: ", message), message
        assert logged in message
        assert service.calls == 0
    finally:
        exporter.destroy()


@pytest.mark.parametrize("http_transport", ["hessian", "xmlrpc"])
def test_a_403_refusal_is_connect_failed_and_a_bare_403_a_remote_fault(http_transport, mode):
    """A 403 carrying the refusal header is ConnectFailedError, sent once; a bare 403 is a RemoteFault with code 403."""
    from springpython.remoting.http import HTTPServer, Response

    hits: list[str] = []

    def refuse(request):
        hits.append(request.path)
        return Response(403, b"refused\n", headers=[(tls.REFUSED_HEADER, "client-certificate")])

    with HTTPServer(HOST, 0) as server:
        server.mount("/refuse", refuse)
        server.mount("/forbidden", lambda request: Response(403, b"no\n"))
        refused = started(http_transport, mode, service_url=server.url("/refuse"))
        bare = started(http_transport, mode, service_url=server.url("/forbidden"))
        try:
            with pytest.raises(ConnectFailedError, match=re.escape(tls.CLIENT_CERTIFICATE_REFUSED) + ".*div"):
                refused.div(1, 1)
            assert hits == ["/refuse"]
            with pytest.raises(RemoteFault, match="HTTP 403 Forbidden calling div") as caught:
                bare.div(1, 1)
            assert caught.value.code == 403
        finally:
            refused.destroy()
            bare.destroy()
