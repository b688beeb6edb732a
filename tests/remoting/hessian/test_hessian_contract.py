"""The remoting contract over Hessian: remote exceptions by the one table, certificate
refusals that say the call did not run, and the proxy factory's settings checked at
start by the base class's ``_check``."""

from __future__ import annotations

import pytest

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
from springpython.errors import (
    ConfigurationError,
    ConnectFailedError,
    NoSuchMethodError,
    ObjectCreationError,
    RemoteFault,
)
from springpython.remoting import tls
from springpython.remoting.hessian import HessianProxyFactory, HessianServiceExporter
from springpython.remoting.http import HTTPServer, Response
from springpython.remoting.proxy import RemoteProxy


class Calculator:
    """Divides, and counts how often it ran."""

    def __init__(self) -> None:
        self.calls = 0

    def div(self, a, b):
        self.calls += 1
        return a / b


@pytest.fixture
def calculator():
    return Calculator()


@pytest.fixture
def exported(calculator):
    """Calculator exported over plain HTTP on 127.0.0.1 port 0."""
    with HessianServiceExporter(service=calculator, service_host="127.0.0.1", service_port=0,
                                path="/calc") as exporter:
        yield exporter


def test_remote_division_by_zero_is_zero_division_error(exported):
    """`except ZeroDivisionError` catches the service's division by zero; the fault code stays readable."""
    proxy = HessianProxyFactory(service_url=exported.service_url)
    try:
        with pytest.raises(ZeroDivisionError) as info:
            proxy.div(1, 0)
        assert isinstance(info.value, RemoteFault)
        assert info.value.remote_type == "builtins.ZeroDivisionError" and info.value.code == "ServiceException"
        assert str(info.value) == "division by zero"
        assert proxy.div(6, 2) == 3
    finally:
        proxy.destroy()


def test_unknown_method_is_no_such_method_error(exported):
    """A method the service lacks is NoSuchMethodError (an AttributeError) naming it."""
    proxy = HessianProxyFactory(service_url=exported.service_url)
    try:
        with pytest.raises(AttributeError) as info:
            proxy.mul(2, 3)
        assert isinstance(info.value, NoSuchMethodError) and "'mul'" in str(info.value)
        assert proxy.div(4, 2) == 2
    finally:
        proxy.destroy()


def test_refused_client_certificate_is_connect_failed_and_the_call_does_not_run(pki, calculator):
    """A server requiring a client certificate refuses a client without one: ConnectFailedError
    saying the call did not run, and it did not."""
    with HessianServiceExporter(
        service=calculator, service_host="127.0.0.1", service_port=0, path="/calc",
        certfile=str(pki.server_cert), keyfile=str(pki.server_key), ca_certs=str(pki.ca_chain),
        cert_reqs="CERT_REQUIRED",
    ) as exporter:
        bare = HessianProxyFactory(service_url=exporter.service_url.replace("127.0.0.1", "localhost"),
                                   ca_certs=str(pki.ca_chain))
        try:
            with pytest.raises(ConnectFailedError, match=tls.CLIENT_CERTIFICATE_REFUSED + r".*div\(\)"):
                bare.div(1, 1)
        finally:
            bare.destroy()
        assert calculator.calls == 0


def test_refusal_answered_with_http_403_is_connect_failed():
    """A 403 carrying the refusal header is ConnectFailedError and is not sent again."""
    hits: list[str] = []

    def refuse(request):
        hits.append(request.path)
        return Response(403, b"refused\n", headers=[(tls.REFUSED_HEADER, "client-certificate")])

    with HTTPServer("127.0.0.1", 0) as server:
        server.mount("/refuse", refuse)
        proxy = HessianProxyFactory(service_url=server.url("/refuse"))
        try:
            with pytest.raises(ConnectFailedError, match=tls.CLIENT_CERTIFICATE_REFUSED):
                proxy.div(1, 1)
        finally:
            proxy.destroy()
    assert hits == ["/refuse"]


def test_settings_are_checked_by_the_base_hook():
    """HessianProxyFactory checks its settings in _check; after_properties_set is the base class's."""
    assert "after_properties_set" not in vars(HessianProxyFactory)
    assert HessianProxyFactory.after_properties_set is RemoteProxy.after_properties_set
    for props, message in (
        ({"service_url": "htp://localhost:8080/"}, "service_url must be http://host:port/path"),
        ({"service_url": "http://localhost:8080/", "connect_timeout": "never"}, "connect_timeout"),
        ({"service_url": "http://localhost:8080/", "certfile": "/c.pem"}, "is not https://"),
        ({"service_url": "http://localhost:8080/", "cert_reqs": "maybe"}, "cert_reqs"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            HessianProxyFactory(**props).after_properties_set()


BAD_CLIENT_XML = """\
<?xml version="1.0" encoding="UTF-8"?>
<objects xmlns="http://www.springframework.org/springpython/schema/objects/1.1">
  <object id="personService" class="springpython.remoting.hessian.HessianProxyFactory">
    <property name="service_url" value="http://localhost:99999/"/>
  </object>
</objects>
"""


def test_bad_service_url_in_xml_fails_the_context_with_file_line_and_id(tmp_path):
    """A service_url with a bad port in XML fails the start, naming file, line and object."""
    path = tmp_path / "client.xml"
    path.write_text(BAD_CLIENT_XML)
    with pytest.raises(ObjectCreationError) as info:
        ApplicationContext(XMLConfig(str(path)))
    assert (info.value.file, info.value.line, info.value.object_id) == (str(path), 3, "personService")
    assert "bad port" in str(info.value)
